/* qcow2-refcount.c: refcount tables and blocks of every width, cluster allocation, deferred frees */
#define LOG_PREFIX "qcow2: "
#include "block/qcow2.h"
#include "util/log.h"

/* "Refcount blocks": entries of 1..64 bits; below a byte the lowest bits come first, above it big-endian */
uint64_t qcow2_refblock_get(struct qcow2 *s, const uint8_t *rb, uint64_t i)
{
    switch (s->refcount_order) {
    case 0: return (rb[i / 8] >> (i % 8)) & 1;
    case 1: return (rb[i / 4] >> (2 * (i % 4))) & 3;
    case 2: return (rb[i / 2] >> (4 * (i % 2))) & 15;
    case 3: return rb[i];
    case 4: return lduw_be(rb + 2 * i);
    case 5: return ldl_be(rb + 4 * i);
    default: return ldq_be(rb + 8 * i);
    }
}

void qcow2_refblock_set(struct qcow2 *s, uint8_t *rb, uint64_t i, uint64_t v)
{
    switch (s->refcount_order) {
    case 0: rb[i / 8] = (rb[i / 8] & ~(1 << (i % 8))) | (v << (i % 8)); break;
    case 1: rb[i / 4] = (rb[i / 4] & ~(3 << (2 * (i % 4)))) | (v << (2 * (i % 4))); break;
    case 2: rb[i / 2] = (rb[i / 2] & ~(15 << (4 * (i % 2)))) | (v << (4 * (i % 2))); break;
    case 3: rb[i] = v; break;
    case 4: stw_be(rb + 2 * i, v); break;
    case 5: stl_be(rb + 4 * i, v); break;
    default: stq_be(rb + 8 * i, v); break;
    }
}

/* A refcount block offset from the table, checked: 0 when none. */
static int refblock_offset(struct qcow2 *s, uint64_t rti, uint64_t *off)
{
    uint64_t e;

    *off = 0;
    if (rti >= s->reftable_size)
        return 0;
    e = s->reftable[rti] & QCOW2_REFT_OFFSET_MASK;
    if (!e)
        return 0;
    if (!IS_ALIGNED(e, s->cluster_size))
        return qcow2_mark_corrupt(s, "refcount block %" PRIu64 " at 0x%" PRIx64 " is not cluster aligned", rti, e);
    if (e >= s->file_end && !s->check_mode)     /* check reads it as zeros, as QEMU does */
        return qcow2_mark_corrupt(s, "refcount block %" PRIu64 " at 0x%" PRIx64 " lies past the end of the file",
                                  rti, e);
    if (qcow2_overlaps_metadata(s, e, s->cluster_size))
        return qcow2_mark_corrupt(s, "refcount block %" PRIu64 " at 0x%" PRIx64 " overlaps %s", rti, e,
                                  qcow2_overlaps_metadata(s, e, s->cluster_size));
    *off = e;
    return 0;
}

int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc)
{
    uint64_t rti = cluster >> s->rb_bits, off;
    uint8_t *rb;
    int ret;

    *rc = 0;
    ret = refblock_offset(s, rti, &off);
    if (ret < 0 || !off)
        return ret;
    ret = qcow2_cache_get(s, &s->rbc, off, false, &rb);
    if (ret < 0)
        return ret;
    *rc = qcow2_refblock_get(s, rb, cluster & ((1ULL << s->rb_bits) - 1));
    qcow2_cache_put(&s->rbc, rb);
    return 0;
}

/*
 * Grow the refcount table to hold index `rti`. The new table and the refcount
 * blocks that count it go past every cluster the old table covers, so nothing
 * there can be in use; the header switches to the new table only once it is on disk.
 */
static int reftable_grow(struct qcow2 *s, uint64_t rti)
{
    uint64_t per_rb = 1ULL << s->rb_bits, per_cl = s->cluster_size / 8;
    uint64_t start = s->reftable_size << s->rb_bits;   /* first cluster index not covered */
    uint64_t nblocks = 0, tclusters, entries, old_off = s->reftable_offset;
    uint32_t old_clusters = s->reftable_clusters;
    uint64_t *nt;
    uint8_t *rb;
    int ret;

    start = MAX(start, DIV_ROUND_UP(s->file_end, s->cluster_size));
    /* blocks and table go at [start, start + nblocks + tclusters): find a fixed point */
    nblocks = 1;
    for (;;) {
        uint64_t end, need;

        entries = MAX(rti + 1, s->reftable_size + s->reftable_size / 2 + 1);
        entries = MAX(entries, start / per_rb + nblocks + 1);
        tclusters = DIV_ROUND_UP(entries, per_cl);
        end = start + nblocks + tclusters;
        need = DIV_ROUND_UP(end, per_rb) - start / per_rb;
        if (need <= nblocks && entries * per_rb >= end)
            break;
        nblocks = MAX(need, nblocks + 1);
    }
    entries = tclusters * per_cl;
    if (tclusters * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
        log_error("'%s': the refcount table would exceed %" PRIu64 " MiB", s->bs->filename,
                  QCOW2_MAX_REFTABLE_BYTES / MiB);
        return -EFBIG;
    }
    /* refcount blocks: zeroed, counting the new metadata itself */
    rb = bfile_memalign(s->cluster_size);
    nt = xcalloc(entries, 8);
    memcpy(nt, s->reftable, s->reftable_size * 8);
    ret = 0;
    for (uint64_t b = 0; b < nblocks && ret == 0; b++) {
        uint64_t bi = start / per_rb + b;   /* reftable index of this block */
        uint64_t first = bi * per_rb;

        memset(rb, 0, s->cluster_size);
        for (uint64_t c = MAX(first, start); c < MIN(first + per_rb, start + nblocks + tclusters); c++)
            qcow2_refblock_set(s, rb, c - first, 1);
        nt[bi] = (start + b) << s->cluster_bits;
        ret = bfile_pwrite(s->bs->file, (start + b) << s->cluster_bits, rb, s->cluster_size);
    }
    free(rb);
    if (ret == 0) {
        uint8_t *buf = bfile_memalign(tclusters * s->cluster_size);

        for (uint64_t i = 0; i < entries; i++)
            stq_be(buf + 8 * i, nt[i]);
        ret = bfile_pwrite(s->bs->file, (start + nblocks) << s->cluster_bits, buf, tclusters * s->cluster_size);
        free(buf);
    }
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    if (ret < 0) {
        free(nt);
        return ret;
    }
    free(s->reftable);
    s->reftable = nt;
    s->reftable_size = entries;
    s->reftable_used = MAX(s->reftable_used, start / per_rb + nblocks);
    s->reftable_offset = (start + nblocks) << s->cluster_bits;
    s->reftable_clusters = tclusters;
    s->file_end = MAX(s->file_end, (start + nblocks + tclusters) << s->cluster_bits);
    ret = qcow2_update_header(s);
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    if (ret == 0 && old_off)
        ret = qcow2_update_refcount(s, old_off, (uint64_t)old_clusters << s->cluster_bits, -1);
    return ret;
}

/*
 * A place for a new refcount block, as QEMU chooses one: the lowest free cluster that an
 * existing block covers (and counts), so that new blocks land below a run being allocated
 * rather than inside it. *cluster is UINT64_MAX when every covered cluster is in use.
 */
static int refblock_find_place(struct qcow2 *s, uint64_t *cluster)
{
    uint64_t per_rb = 1ULL << s->rb_bits, end = s->reftable_used << s->rb_bits, rc;
    int ret;

    *cluster = UINT64_MAX;
    for (uint64_t c = s->free_cluster_index; c < end; c++) {
        if (!(s->reftable[c >> s->rb_bits] & QCOW2_REFT_OFFSET_MASK)) {
            c = ALIGN_UP(c + 1, per_rb) - 1;    /* no block: nothing counted there */
            continue;
        }
        ret = qcow2_get_refcount(s, c, &rc);
        if (ret < 0)
            return ret;
        if (rc == 0) {
            *cluster = c;
            return 0;
        }
    }
    return 0;
}

/*
 * Make sure a refcount block covers `cluster`. A new block goes to a free cluster that an
 * existing block counts, else it counts itself, taking the first cluster it covers. Placing
 * every block that way cut each run of clusters past the end of the file short of what one
 * block covers, so an allocation of more (a large L1 table with small clusters: resize,
 * snapshot -a) retried until it gave up and called the image corrupt.
 */
static int refblock_ensure(struct qcow2 *s, uint64_t cluster, bool *placed)
{
    uint64_t rti = cluster >> s->rb_bits, off, rb_off = 0, first, self, other = UINT64_MAX;
    const char *what;
    uint8_t *rb, be[8];
    int ret;

    if (placed)
        *placed = false;
    if (rti >= s->reftable_size) {
        ret = reftable_grow(s, rti);
        if (ret < 0)
            return ret;
        if (placed)
            *placed = true;
    }
    ret = refblock_offset(s, rti, &off);
    if (ret < 0 || off)
        return ret;
    /*
     * Uncounted clusters are free, so the block can take the first one it
     * covers. Not while repairing: refcounts are wrong then, so it goes past
     * the end of the file instead.
     */
    first = rti << s->rb_bits;
    self = first;
    if (s->check_mode) {
        self = MAX(first, DIV_ROUND_UP(s->file_end, s->cluster_size));
        if (self >= first + (1ULL << s->rb_bits)) {
            ret = qcow2_alloc_clusters(s, 1, &rb_off);
            if (ret < 0)
                return ret;
            self = UINT64_MAX;
        }
    } else {
        ret = refblock_find_place(s, &other);
        if (ret < 0)
            return ret;
        if (other != UINT64_MAX) {
            rb_off = other << s->cluster_bits;
            self = UINT64_MAX;
        }
    }
    if (self != UINT64_MAX)
        rb_off = self << s->cluster_bits;
    what = qcow2_overlaps_metadata(s, rb_off, s->cluster_size);
    if (!what)
        what = qcow2_overlaps_tables(s, rb_off, s->cluster_size);
    if (what)
        return qcow2_mark_corrupt(s, "clusters of %s are not counted in any refcount block", what);
    ret = qcow2_cache_get(s, &s->rbc, rb_off, true, &rb);
    if (ret < 0)
        return ret;
    if (self != UINT64_MAX)
        qcow2_refblock_set(s, rb, self - first, 1);
    /* the block must be on disk before the table entry that names it */
    ret = bfile_pwrite(s->bs->file, rb_off, rb, s->cluster_size);
    qcow2_cache_put(&s->rbc, rb);
    if (ret == 0 && other != UINT64_MAX)
        ret = qcow2_set_refcount(s, other, 1);
    /* and so must the count of a block placed elsewhere */
    if (ret == 0 && self == UINT64_MAX)
        ret = qcow2_cache_write(s, &s->rbc);
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    if (ret < 0)
        return ret;
    s->reftable[rti] = rb_off;
    s->reftable_used = MAX(s->reftable_used, rti + 1);
    stq_be(be, rb_off);
    ret = bfile_pwrite(s->bs->file, s->reftable_offset + rti * 8, be, 8);
    s->file_end = MAX(s->file_end, rb_off + s->cluster_size);
    if (placed)
        *placed = true;
    return ret;
}

int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t rc)
{
    uint64_t off;
    uint8_t *rb;
    int ret;

    ret = refblock_ensure(s, cluster, NULL);
    if (ret == 0)
        ret = refblock_offset(s, cluster >> s->rb_bits, &off);
    if (ret < 0)
        return ret;
    ret = qcow2_cache_get(s, &s->rbc, off, false, &rb);
    if (ret < 0)
        return ret;
    qcow2_refblock_set(s, rb, cluster & ((1ULL << s->rb_bits) - 1), rc);
    qcow2_cache_mark_dirty(&s->rbc, rb);
    qcow2_cache_put(&s->rbc, rb);
    if (rc == 0 && cluster < s->free_cluster_index)
        s->free_cluster_index = cluster;
    return 0;
}

int qcow2_update_refcount(struct qcow2 *s, uint64_t offset, uint64_t len, int64_t addend)
{
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + len - 1) >> s->cluster_bits;

    if (!len)
        return 0;
    for (uint64_t c = first; c <= last; c++) {
        uint64_t rc;
        int ret = qcow2_get_refcount(s, c, &rc);

        if (ret < 0)
            return ret;
        if ((addend < 0 && rc < (uint64_t)-addend) || (addend > 0 && s->refcount_max - rc < (uint64_t)addend)) {
            return qcow2_mark_corrupt(s, "refcount of cluster %" PRIu64 " would %s (refcount %" PRIu64 ")", c,
                                      addend < 0 ? "drop below zero" : "overflow", rc);
        }
        ret = qcow2_set_refcount(s, c, rc + addend);
        if (ret < 0)
            return ret;
        if (rc + addend == 0 && s->bs->file && !s->bs->read_only) {
            /* give the space back; a failure only costs space */
            qcow2_cache_discard(&s->l2c, c << s->cluster_bits);
            qcow2_cache_discard(&s->rbc, c << s->cluster_bits);
        }
    }
    return 0;
}

int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *offset)
{
    uint64_t start, c, rc;
    int ret, tries = 0;
    bool placed, any;

retry:
    if (++tries > 64)
        return qcow2_mark_corrupt(s, "cannot find free clusters: the refcount structure is inconsistent");
    start = s->free_cluster_index;
    for (c = start; c < start + n; c++) {
        ret = qcow2_get_refcount(s, c, &rc);
        if (ret < 0)
            return ret;
        /* past the end of the file nothing is in use, whatever a damaged refcount block says */
        if (rc && c < DIV_ROUND_UP(s->file_end, s->cluster_size)) {
            start = c + 1;
            continue;
        }
        if ((c + 1) << s->cluster_bits > (1ULL << 56))
            return -EFBIG;
    }
    /* the clusters are free; their refcount blocks may have to be made first (all at once: a
     * long run needs many), and a new block may have taken one of them: look again then */
    any = false;
    for (c = start; c < start + n; c++) {
        ret = refblock_ensure(s, c, &placed);
        if (ret < 0)
            return ret;
        any |= placed;
    }
    if (any)
        goto retry;
    for (c = start; c < start + n; c++) {
        ret = qcow2_set_refcount(s, c, 1);
        if (ret < 0)
            return ret;
    }
    /* everything from the old hint up to here is in use now */
    s->free_cluster_index = start + n;
    *offset = start << s->cluster_bits;
    s->file_end = MAX(s->file_end, (start + n) << s->cluster_bits);
    return 0;
}

/* Space for a compressed cluster: packed after the previous one, as QEMU does. */
int qcow2_alloc_bytes(struct qcow2 *s, uint64_t size, uint64_t *offset)
{
    uint64_t off = s->free_byte_offset, newc;
    int ret;

    if (off && (off & (s->cluster_size - 1)) && size <= s->cluster_size - (off & (s->cluster_size - 1))) {
        ret = qcow2_update_refcount(s, off, 1, 1);
        if (ret < 0)
            return ret;
        *offset = off;
        s->free_byte_offset = off + size;
        return 0;
    }
    ret = qcow2_alloc_clusters(s, 1, &newc);
    if (ret < 0)
        return ret;
    if (off && (off & (s->cluster_size - 1)) && newc == ALIGN_UP(off, s->cluster_size)) {
        /* contiguous: the data may straddle both clusters */
        ret = qcow2_update_refcount(s, off, 1, 1);
        if (ret < 0)
            return ret;
    } else {
        off = newc;
    }
    *offset = off;
    s->free_byte_offset = off + size;
    return 0;
}

void qcow2_free_deferred(struct qcow2 *s, uint64_t offset, uint64_t len)
{
    uint64_t first = offset >> s->cluster_bits, last = (offset + len - 1) >> s->cluster_bits;

    for (uint64_t c = first; c <= last; c++) {
        if (s->npending == s->pending_alloc) {
            s->pending_alloc = s->pending_alloc ? s->pending_alloc * 2 : 64;
            s->pending_free = xrealloc(s->pending_free, s->pending_alloc * 8);
        }
        s->pending_free[s->npending++] = c;
    }
}

void qcow2_free_l2_entry(struct qcow2 *s, uint64_t e)
{
    switch (qcow2_l2e_type(s, e)) {
    case QCOW2_NORMAL:
    case QCOW2_ZERO_ALLOC:
        qcow2_free_deferred(s, e & QCOW2_L2E_OFFSET_MASK, s->cluster_size);
        break;
    case QCOW2_COMPRESSED: {
        uint64_t off = e & s->coffset_mask;
        uint64_t n = ((e >> s->csize_shift) & s->csize_mask) + 1;

        qcow2_free_deferred(s, off & ~511ULL, n * 512);
        break;
    }
    default:
        break;
    }
}

int qcow2_apply_pending_frees(struct qcow2 *s)
{
    int ret = 0;

    for (size_t i = 0; i < s->npending && ret == 0; i++) {
        uint64_t c = s->pending_free[i], rc;

        ret = qcow2_update_refcount(s, c << s->cluster_bits, 1, -1);
        if (ret == 0 && qcow2_get_refcount(s, c, &rc) == 0 && rc == 0 && !s->bs->read_only)
            bfile_discard(s->bs->file, c << s->cluster_bits, s->cluster_size);
    }
    s->npending = 0;
    return ret;
}
