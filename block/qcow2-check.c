/* qcow2-check.c: consistency check and repair: references counted from the tables against the stored refcounts, OFLAG_COPIED */
#define LOG_PREFIX "qcow2: "
#include "block/qcow2.h"
#include "util/log.h"

#include <stdarg.h>

struct check {
    struct qcow2 *s;
    struct qcow2_check_result *res;
    FILE *out;
    uint32_t *refs;             /* references per cluster, from the tables */
    uint64_t nb;                /* clusters in the file */
};

static void say(struct check *c, const char *fmt, ...) PRINTF_FMT(2, 3);
static void say(struct check *c, const char *fmt, ...)
{
    va_list ap;

    if (!c->out)
        return;
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
}

static void inc_refs(struct check *c, uint64_t off, uint64_t len)
{
    uint64_t cb = c->s->cluster_bits;

    if (!len)
        return;
    for (uint64_t i = off >> cb; i <= (off + len - 1) >> cb; i++) {
        if (i >= c->nb) {
            say(c, "ERROR: counting reference for region exceeding the end of the file by one cluster or more: "
                "offset 0x%" PRIx64 " size 0x%" PRIx64 "\n", off, len);
            c->res->corruptions++;
            return;
        }
        if (c->refs[i] < UINT32_MAX)
            c->refs[i]++;
    }
}

static int check_l2(struct check *c, uint64_t l2off, bool active, int fix)
{
    uint64_t contig = 0, *next_contig = &contig;
    struct qcow2 *s = c->s;
    uint64_t n = s->cluster_size / 8;
    uint8_t *l2 = xmalloc(s->cluster_size);
    int ret = bfile_pread(s->bs->file, l2off, l2, s->cluster_size);

    if (ret < 0) {
        say(c, "ERROR: I/O error in check_refcounts_l2\n");
        c->res->check_errors++;
        free(l2);
        return ret;
    }
    for (uint64_t j = 0; j < n; j++) {
        uint64_t e = ldq_be(l2 + 8 * j), off;

        switch (qcow2_l2e_type(s, e)) {
        case QCOW2_COMPRESSED: {
            uint64_t ns = ((e >> s->csize_shift) & s->csize_mask) + 1;

            off = e & s->coffset_mask;
            if (e & QCOW2_OFLAG_COPIED) {
                say(c, "ERROR: coffset=0x%" PRIx64 ": Compressed cluster entry has OFLAG_COPIED set\n", off);
                c->res->corruptions++;
            }
            if (active) {
                c->res->allocated_clusters++;
                c->res->compressed_clusters++;
                c->res->fragmented_clusters++;     /* compressed clusters are fragmented by nature */
            }
            inc_refs(c, off & ~511ULL, ns * 512);
            break;
        }
        case QCOW2_NORMAL:
        case QCOW2_ZERO_ALLOC:
            off = e & QCOW2_L2E_OFFSET_MASK;
            if ((fix & QCOW2_FIX_ERRORS) && off >= c->nb << s->cluster_bits) {
                /* its data never reached the file: the guest sees the cluster unallocated instead (QEMU keeps it) */
                uint8_t zero[8] = { 0 };

                say(c, "Repairing L2 entry %" PRIu64 " of the table at 0x%" PRIx64 ": it pointed past the end of "
                    "the file (0x%" PRIx64 ")\n", j, l2off, off);
                if (bfile_pwrite(s->bs->file, l2off + 8 * j, zero, 8) == 0) {
                    qcow2_cache_discard(&s->l2c, l2off);
                    c->res->corruptions_fixed++;
                    break;
                }
            }
            if (active) {
                c->res->allocated_clusters++;
                if (*next_contig && off != *next_contig)
                    c->res->fragmented_clusters++;
                *next_contig = off + s->cluster_size;
            }
            if (!IS_ALIGNED(off, s->cluster_size)) {
                /* counted all the same, as QEMU does: the range it covers is what a repair must keep */
                say(c, "ERROR offset=%" PRIx64 ": %s cluster is not properly aligned; L2 entry corrupted.\n", off,
                    qcow2_l2e_type(s, e) == QCOW2_ZERO_ALLOC ? "Preallocated" : "Data");
                c->res->corruptions++;
            }
            inc_refs(c, off, s->cluster_size);
            break;
        default:
            break;
        }
    }
    free(l2);
    return 0;
}

static int check_l1(struct check *c, uint64_t l1off, uint32_t l1size, bool active, int fix)
{
    struct qcow2 *s = c->s;
    uint8_t *buf;
    int ret;

    inc_refs(c, l1off, (uint64_t)l1size * 8);
    if (!l1size)
        return 0;
    if ((uint64_t)l1size * 8 > QCOW2_MAX_L1_BYTES || l1off + (uint64_t)l1size * 8 > c->nb << s->cluster_bits)
        return 0;   /* counted as past the end of the file above */
    buf = xmalloc((size_t)l1size * 8);
    ret = bfile_pread(s->bs->file, l1off, buf, (size_t)l1size * 8);
    if (ret < 0) {
        say(c, "ERROR: I/O error in check_refcounts_l1\n");
        c->res->check_errors++;
        free(buf);
        return ret;
    }
    for (uint32_t i = 0; i < l1size; i++) {
        uint64_t l2off = ldq_be(buf + 8 * i) & QCOW2_L1E_OFFSET_MASK;

        if (!l2off)
            continue;
        if (!IS_ALIGNED(l2off, s->cluster_size)) {
            say(c, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 entry corrupted\n", l2off);
            c->res->corruptions++;
            continue;
        }
        inc_refs(c, l2off, s->cluster_size);
        if (l2off >= c->nb << s->cluster_bits)
            continue;
        ret = check_l2(c, l2off, active, fix);
        if (ret < 0)
            break;
    }
    free(buf);
    return ret;
}

/* OFLAG_COPIED must be set exactly where the refcount is 1 (active tables only). */
static int check_copied(struct check *c, int fix)
{
    struct qcow2 *s = c->s;
    uint64_t errors = 0;
    int ret = 0;

    for (uint32_t i = 0; i < s->l1_size && ret == 0; i++) {
        uint64_t l1e = s->l1[i], l2off = l1e & QCOW2_L1E_OFFSET_MASK, rc;
        uint8_t *l2;

        if (!l2off || !IS_ALIGNED(l2off, s->cluster_size))
            continue;
        if (qcow2_get_refcount(s, l2off >> s->cluster_bits, &rc) < 0)
            continue;       /* counted as an internal error already */
        if ((rc == 1) != !!(l1e & QCOW2_OFLAG_COPIED)) {
            say(c, "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
                fix & QCOW2_FIX_ERRORS ? "Repairing" : "ERROR", i, l1e, rc);
            errors++;
        }
        if (l2off >= c->nb << s->cluster_bits)
            continue;
        ret = qcow2_cache_get(s, &s->l2c, l2off, false, &l2);
        if (ret < 0)
            break;
        for (uint64_t j = 0; j < s->cluster_size / 8 && ret == 0; j++) {
            uint64_t e = ldq_be(l2 + 8 * j);
            enum qcow2_ctype t = qcow2_l2e_type(s, e);

            if ((t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC) || !IS_ALIGNED(e & QCOW2_L2E_OFFSET_MASK, s->cluster_size))
                continue;
            if (qcow2_get_refcount(s, (e & QCOW2_L2E_OFFSET_MASK) >> s->cluster_bits, &rc) < 0)
                continue;
            if ((rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
                say(c, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
                    fix & QCOW2_FIX_ERRORS ? "Repairing" : "ERROR", e, rc);
                errors++;
            }
        }
        qcow2_cache_put(&s->l2c, l2);
    }
    if (errors && (fix & QCOW2_FIX_ERRORS) && ret == 0) {
        ret = qcow2_fix_copied(s);
        if (ret == 0)
            ret = qcow2_flush_metadata(s);
        if (ret == 0)
            c->res->corruptions_fixed += errors;
    } else {
        c->res->corruptions += errors;
    }
    return ret;
}

static int check_pass(struct block_state *bs, int fix, struct qcow2_check_result *res, FILE *out)
{
    struct qcow2 *s = bs->opaque;
    struct check c = { .s = s, .res = res, .out = out };
    int64_t flen = bfile_length(bs->file);
    uint64_t highest = 0, per_rb = 1ULL << s->rb_bits;
    int ret;

    memset(res, 0, sizeof(*res));
    if (flen < 0)
        return (int)flen;
    c.nb = DIV_ROUND_UP((uint64_t)flen, s->cluster_size);
    c.refs = xcalloc(c.nb ? c.nb : 1, sizeof(uint32_t));
    res->total_clusters = DIV_ROUND_UP(bs->size, s->cluster_size);

    inc_refs(&c, 0, s->cluster_size);
    ret = check_l1(&c, s->l1_offset, s->l1_size, true, fix);
    for (int i = 0; i < s->nb_snapshots && ret == 0; i++)
        ret = check_l1(&c, s->snaps[i].l1_offset, s->snaps[i].l1_size, false, fix);
    if (ret < 0)
        goto out;
    inc_refs(&c, s->snapshots_offset, s->snapshots_size);
    inc_refs(&c, s->reftable_offset, (uint64_t)s->reftable_clusters << s->cluster_bits);
    for (uint64_t i = 0; i < s->reftable_size; i++) {
        uint64_t off = s->reftable[i] & QCOW2_REFT_OFFSET_MASK;

        if (!off)
            continue;
        if (!IS_ALIGNED(off, s->cluster_size)) {
            say(&c, "ERROR refcount block %" PRIu64 " is not cluster aligned; refcount table entry corrupted\n", i);
            res->corruptions++;
            continue;
        }
        if (off >= c.nb << s->cluster_bits || qcow2_overlaps_metadata(s, off, s->cluster_size)) {
            if (off >= c.nb << s->cluster_bits)
                say(&c, "ERROR refcount block %" PRIu64 " is outside image\n", i);
            else
                say(&c, "ERROR refcount block %" PRIu64 " overlaps %s\n", i,
                    qcow2_overlaps_metadata(s, off, s->cluster_size));
            res->corruptions++;
            if (fix & QCOW2_FIX_ERRORS) {
                uint8_t zero[8] = { 0 };

                /* forget it: its clusters get counted anew below */
                s->reftable[i] = 0;
                bfile_pwrite(bs->file, s->reftable_offset + 8 * i, zero, 8);
                qcow2_cache_discard(&s->rbc, off);
                res->corruptions_fixed++;
                res->corruptions--;
            }
            continue;
        }
        inc_refs(&c, off, s->cluster_size);
    }
    if (fix & QCOW2_FIX_ERRORS) {
        /* refcount blocks made while repairing go past everything in use */
        s->free_cluster_index = MAX(s->free_cluster_index, c.nb);
    }
    /* compare, cluster by cluster; past the end of the file only leaks are possible */
    for (uint64_t i = 0; ret == 0 && i < MAX(c.nb, s->reftable_size * per_rb); i++) {
        uint64_t rc, want = i < c.nb ? c.refs[i] : 0;

        if (i >= c.nb && (s->reftable[i / per_rb] & QCOW2_REFT_OFFSET_MASK) == 0) {
            i = (i / per_rb + 1) * per_rb - 1;     /* no block: nothing counted there */
            continue;
        }
        if (i >= c.nb && !IS_ALIGNED(s->reftable[i / per_rb] & QCOW2_REFT_OFFSET_MASK, s->cluster_size))
            continue;
        ret = qcow2_get_refcount(s, i, &rc);
        if (ret < 0) {
            res->check_errors++;
            say(&c, "Can't get refcount for cluster %" PRIu64 ": %s\n", i, strerror(-ret));
            ret = 0;
            continue;
        }
        if (rc || want)
            highest = i;
        if (rc == want)
            continue;
        if ((rc > want && (fix & QCOW2_FIX_LEAKS)) || (rc < want && (fix & QCOW2_FIX_ERRORS))) {
            say(&c, "Repairing cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n", i, rc, want);
            ret = qcow2_set_refcount(s, i, MIN(want, s->refcount_max));
            if (ret == 0) {
                if (rc > want)
                    res->leaks_fixed++;
                else
                    res->corruptions_fixed++;
                continue;
            }
            res->check_errors++;
            ret = 0;
        }
        say(&c, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
            rc < want ? "ERROR" : "Leaked", i, rc, want);
        if (rc < want)
            res->corruptions++;
        else
            res->leaks++;
    }
    if (ret == 0 && fix)
        ret = qcow2_flush_metadata(s);
    if (ret == 0)
        ret = check_copied(&c, fix);
    res->image_end_offset = (highest + 1) << s->cluster_bits;
out:
    free(c.refs);
    return ret;
}

int qcow2_check(struct block_state *bs, int fix, struct qcow2_check_result *res, FILE *out)
{
    struct qcow2 *s = qcow2_of(bs);
    struct qcow2_check_result first;
    bool was = s ? s->check_mode : false;
    int ret;

    if (!s)
        return -ENOTSUP;
    if (bs->read_only)
        fix = 0;
    if (fix && (s->reftable_offset + ((uint64_t)s->reftable_clusters << s->cluster_bits) > s->file_end ||
                s->l1_offset + (uint64_t)s->l1_size * 8 > s->file_end)) {
        /* a repair would write the tables far past the end of the file */
        if (out)
            fprintf(out, "Cannot repair: the %s table lies past the end of the file\n",
                    s->l1_offset + (uint64_t)s->l1_size * 8 > s->file_end ? "L1" : "refcount");
        fix = 0;
    }
    s->check_mode = true;
    pthread_mutex_lock(&s->lock);
    ret = bs->read_only ? 0 : qcow2_flush_metadata(s);
    if (ret == 0)
        ret = check_pass(bs, fix, res, out);
    if (ret == 0 && fix && (res->leaks_fixed || res->corruptions_fixed)) {
        /* a second pass counts what the repair allocated */
        first = *res;
        ret = check_pass(bs, fix, res, NULL);
        if (ret == 0 && (res->leaks_fixed || res->corruptions_fixed))
            ret = check_pass(bs, fix, res, NULL);
        res->leaks_fixed = first.leaks_fixed;
        res->corruptions_fixed = first.corruptions_fixed;
        if (ret == 0 && (res->corruptions || res->leaks) == 0 && (s->incompat & QCOW2_INCOMPAT_CORRUPT)) {
            s->incompat &= ~QCOW2_INCOMPAT_CORRUPT;
            ret = qcow2_update_header(s);
        }
    }
    if (ret == 0 && fix && !bs->read_only)
        ret = bfile_flush(bs->file);
    pthread_mutex_unlock(&s->lock);
    s->check_mode = was;
    if (ret == 0 && fix && !res->corruptions)
        s->corrupt = false;
    return ret;
}
