/* qcow2-snapshot.c: internal snapshots: the snapshot table, create, apply (revert), delete */
#define LOG_PREFIX "qcow2: "
#include "block/qcow2.h"
#include "util/log.h"

#include <time.h>

#define SNAP_MAX_EXTRA 1024
#define SNAP_EXTRA_OURS 24      /* vm_state_size_large, disk_size, icount */

void qcow2_free_snapshots(struct qcow2 *s)
{
    for (int i = 0; i < s->nb_snapshots && s->snaps; i++) {
        free(s->snaps[i].id);
        free(s->snaps[i].name);
        free(s->snaps[i].extra);
    }
    free(s->snaps);
    s->snaps = NULL;
}

/* "Snapshot table": entries of 40 bytes + extra data + id + name, each padded to 8 */
int qcow2_read_snapshots(struct qcow2 *s, char **err)
{
    struct block_state *bs = s->bs;
    uint64_t off = s->snapshots_offset, flen = s->file_end;
    uint8_t hdr[40];
    int ret = 0;

    s->snapshots_size = 0;
    if (!s->nb_snapshots)
        return 0;
    /* the header field is unsigned: a count that reads negative is as damaged as a huge one,
     * and every entry takes at least 40 bytes of the file */
    if (s->nb_snapshots < 0 || s->nb_snapshots > QCOW2_MAX_SNAPSHOTS ||
        !IS_ALIGNED(off, s->cluster_size) || off >= flen || !off ||
        (uint64_t)s->nb_snapshots * 40 > flen - off) {
        if (err)
            *err = xasprintf("'%s': the snapshot table (%d entries at 0x%" PRIx64 ") is invalid: the image is damaged",
                             bs->filename, s->nb_snapshots, off);
        return -EINVAL;
    }
    s->snaps = xcalloc(s->nb_snapshots, sizeof(*s->snaps));
    for (int i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snaps[i];
        uint32_t idl, namel, extra;
        uint8_t *ex;

        if (off + 40 > flen)
            goto damaged;
        ret = bfile_pread(bs->file, off, hdr, 40);
        if (ret < 0)
            goto io;
        sn->l1_offset = ldq_be(hdr);
        sn->l1_size = ldl_be(hdr + 8);
        idl = lduw_be(hdr + 12);
        namel = lduw_be(hdr + 14);
        sn->date_sec = ldl_be(hdr + 16);
        sn->date_nsec = ldl_be(hdr + 20);
        sn->vm_clock_nsec = ldq_be(hdr + 24);
        sn->vm_state_size = ldl_be(hdr + 32);
        extra = ldl_be(hdr + 36);
        sn->icount = UINT64_MAX;
        if (extra > SNAP_MAX_EXTRA || off + 40 + extra + idl + namel > flen)
            goto damaged;
        ex = xzalloc(extra + 1);
        ret = bfile_pread(bs->file, off + 40, ex, extra);
        if (ret == 0) {
            if (extra >= 8)
                sn->vm_state_size = ldq_be(ex);
            if (extra >= 16)
                sn->disk_size = ldq_be(ex + 8);
            else
                sn->disk_size = bs->size;
            if (extra >= 24)
                sn->icount = ldq_be(ex + 16);
            if (extra > SNAP_EXTRA_OURS) {
                sn->extra_size = extra - SNAP_EXTRA_OURS;
                sn->extra = xmalloc(sn->extra_size);
                memcpy(sn->extra, ex + SNAP_EXTRA_OURS, sn->extra_size);
            }
        }
        free(ex);
        if (ret < 0)
            goto io;
        sn->id = xzalloc(idl + 1);
        sn->name = xzalloc(namel + 1);
        ret = bfile_pread(bs->file, off + 40 + extra, sn->id, idl);
        if (ret == 0)
            ret = bfile_pread(bs->file, off + 40 + extra + idl, sn->name, namel);
        if (ret < 0)
            goto io;
        /* (the end is not summed: a crafted offset near 2^64 would wrap past the bound) */
        if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES || !IS_ALIGNED(sn->l1_offset, s->cluster_size) ||
            sn->l1_offset > flen || (uint64_t)sn->l1_size * 8 > flen - sn->l1_offset)
            goto damaged;
        off = ALIGN_UP(off + 40 + extra + idl + namel, 8);
    }
    s->snapshots_size = off - s->snapshots_offset;
    return 0;
damaged:
    if (err)
        *err = xasprintf("'%s': the snapshot table is damaged (entry out of range)", bs->filename);
    return -EINVAL;
io:
    if (err)
        *err = xasprintf("'%s': cannot read the snapshot table: %s", bs->filename, strerror(-ret));
    return ret;
}

/* Write the table to new clusters, point the header at it, then free the old one. Lock held. */
static int write_snapshots(struct qcow2 *s)
{
    uint64_t size = 0, off = 0, old_off = s->snapshots_offset, old_size = s->snapshots_size;
    uint8_t *buf = NULL;
    size_t p = 0;
    int ret;

    for (int i = 0; i < s->nb_snapshots; i++)
        size = ALIGN_UP(size + 40 + SNAP_EXTRA_OURS + s->snaps[i].extra_size + strlen(s->snaps[i].id) +
                        strlen(s->snaps[i].name), 8);
    if (size) {
        ret = qcow2_alloc_clusters(s, DIV_ROUND_UP(size, s->cluster_size), &off);
        if (ret < 0)
            return ret;
        buf = xzalloc(size);
        for (int i = 0; i < s->nb_snapshots; i++) {
            struct qcow2_snapshot *sn = &s->snaps[i];
            size_t idl = strlen(sn->id), namel = strlen(sn->name);

            stq_be(buf + p, sn->l1_offset);
            stl_be(buf + p + 8, sn->l1_size);
            stw_be(buf + p + 12, idl);
            stw_be(buf + p + 14, namel);
            stl_be(buf + p + 16, sn->date_sec);
            stl_be(buf + p + 20, sn->date_nsec);
            stq_be(buf + p + 24, sn->vm_clock_nsec);
            stl_be(buf + p + 32, MIN(sn->vm_state_size, UINT32_MAX));
            stl_be(buf + p + 36, SNAP_EXTRA_OURS + sn->extra_size);
            stq_be(buf + p + 40, sn->vm_state_size);
            stq_be(buf + p + 48, sn->disk_size);
            stq_be(buf + p + 56, sn->icount);
            p += 40 + SNAP_EXTRA_OURS;
            if (sn->extra_size)
                memcpy(buf + p, sn->extra, sn->extra_size);
            p += sn->extra_size;
            memcpy(buf + p, sn->id, idl);
            memcpy(buf + p + idl, sn->name, namel);
            p = ALIGN_UP(p + idl + namel, 8);
        }
        ret = qcow2_cache_write(s, &s->rbc);
        if (ret == 0)
            ret = bfile_pwrite(s->bs->file, off, buf, size);
        free(buf);
        if (ret == 0)
            ret = bfile_flush(s->bs->file);
        if (ret < 0)
            return ret;
    }
    s->snapshots_offset = off;
    s->snapshots_size = size;
    ret = qcow2_update_header(s);
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    if (ret == 0 && old_size)
        ret = qcow2_update_refcount(s, old_off, old_size, -1);
    return ret;
}

/* Add `addend` to the refcount of every cluster an L1 table reaches (L2 tables and data). Lock held. */
static int update_tree(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, int addend)
{
    uint64_t n = s->cluster_size / 8;
    int ret = 0;

    for (uint32_t i = 0; i < l1_size && ret == 0; i++) {
        uint64_t l2off = l1[i] & QCOW2_L1E_OFFSET_MASK;
        uint8_t *l2;

        if (!l2off)
            continue;
        if (!IS_ALIGNED(l2off, s->cluster_size) || l2off >= s->file_end)
            return qcow2_mark_corrupt(s, "an L2 table at 0x%" PRIx64 " is misplaced", l2off);
        ret = qcow2_cache_get(s, &s->l2c, l2off, false, &l2);
        if (ret < 0)
            return ret;
        for (uint64_t j = 0; j < n && ret == 0; j++) {
            uint64_t e = ldq_be(l2 + 8 * j);

            switch (qcow2_l2e_type(s, e)) {
            case QCOW2_NORMAL:
            case QCOW2_ZERO_ALLOC:
                ret = qcow2_update_refcount(s, e & QCOW2_L2E_OFFSET_MASK, s->cluster_size, addend);
                break;
            case QCOW2_COMPRESSED: {
                uint64_t off = e & s->coffset_mask, ns = ((e >> s->csize_shift) & s->csize_mask) + 1;

                ret = qcow2_update_refcount(s, off & ~511ULL, ns * 512, addend);
                break;
            }
            default:
                break;
            }
        }
        qcow2_cache_put(&s->l2c, l2);
        if (ret == 0)
            ret = qcow2_update_refcount(s, l2off, s->cluster_size, addend);
    }
    return ret;
}

int qcow2_snapshot_find(struct qcow2 *s, const char *name)
{
    for (int i = 0; i < s->nb_snapshots; i++)
        if (!strcmp(s->snaps[i].id, name))
            return i;
    for (int i = 0; i < s->nb_snapshots; i++)
        if (!strcmp(s->snaps[i].name, name))
            return i;
    return -1;
}

static int read_l1(struct qcow2 *s, uint64_t off, uint32_t n, uint64_t **out)
{
    uint8_t *buf = xmalloc((size_t)n * 8 + 1);
    int ret = bfile_pread(s->bs->file, off, buf, (size_t)n * 8);

    *out = xcalloc(n + 1, 8);
    for (uint32_t i = 0; i < n && ret == 0; i++)
        (*out)[i] = ldq_be(buf + 8 * i);
    free(buf);
    return ret;
}

int qcow2_snapshot_create(struct block_state *bs, const char *name, char **err)
{
    struct qcow2 *s = qcow2_of(bs);
    struct qcow2_snapshot sn = { 0 };
    uint64_t l1off = 0, maxid = 0, bytes;
    struct timespec ts;
    uint8_t *buf;
    int ret;

    if (!s || bs->read_only)
        return -EROFS;
    if (qcow2_snapshot_find(s, name) >= 0) {
        *err = xasprintf("'%s': a snapshot named '%s' already exists", bs->filename, name);
        return -EEXIST;
    }
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        *err = xasprintf("'%s': too many snapshots", bs->filename);
        return -EFBIG;
    }
    pthread_mutex_lock(&s->lock);
    ret = qcow2_flush_metadata(s);
    if (ret == 0)
        ret = update_tree(s, s->l1, s->l1_size, 1);
    if (ret == 0)
        ret = qcow2_fix_copied(s);
    bytes = ALIGN_UP((uint64_t)s->l1_size * 8, s->cluster_size);
    if (ret == 0 && s->l1_size)
        ret = qcow2_alloc_clusters(s, bytes >> s->cluster_bits, &l1off);
    if (ret == 0)
        ret = qcow2_flush_metadata(s);
    if (ret == 0 && s->l1_size) {
        buf = xzalloc(bytes);
        for (uint32_t i = 0; i < s->l1_size; i++)
            stq_be(buf + 8 * i, s->l1[i]);
        ret = bfile_pwrite(bs->file, l1off, buf, bytes);
        free(buf);
    }
    if (ret < 0)
        goto out;
    for (int i = 0; i < s->nb_snapshots; i++) {
        uint64_t v;

        if (parse_uint(s->snaps[i].id, &v) == 0)
            maxid = MAX(maxid, v);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    sn.l1_offset = l1off;
    sn.l1_size = s->l1_size;
    sn.id = xasprintf("%" PRIu64, maxid + 1);
    sn.name = xstrdup(name);
    sn.date_sec = ts.tv_sec;
    sn.date_nsec = ts.tv_nsec;
    sn.disk_size = bs->size;
    sn.icount = 0;      /* what qemu-img records for a snapshot taken outside a VM */
    s->snaps = xrealloc(s->snaps, (s->nb_snapshots + 1) * sizeof(*s->snaps));
    s->snaps[s->nb_snapshots++] = sn;
    ret = write_snapshots(s);
out:
    pthread_mutex_unlock(&s->lock);
    if (ret < 0 && err && !*err)
        *err = xasprintf("'%s': could not create snapshot '%s': %s", bs->filename, name, strerror(-ret));
    return ret;
}

/* The index of a snapshot to change, or -errno with *err set. */
static int snapshot_lookup(struct block_state *bs, const char *name, char **err)
{
    struct qcow2 *s = qcow2_of(bs);
    int i;

    if (!s || bs->read_only)
        return -EROFS;
    i = qcow2_snapshot_find(s, name);
    if (i < 0) {
        *err = xasprintf("'%s': no snapshot '%s' (see 'skiff-img snapshot -l')", bs->filename, name);
        return -ENOENT;
    }
    return i;
}

int qcow2_snapshot_apply(struct block_state *bs, const char *name, char **err)
{
    struct qcow2 *s = qcow2_of(bs);
    uint64_t *snap_l1 = NULL, *old_l1 = NULL, l1_need = 0;
    uint32_t old_size;
    struct qcow2_snapshot *sn;
    int i, ret;

    i = snapshot_lookup(bs, name, err);
    if (i < 0)
        return i;
    sn = &s->snaps[i];
    /* the disk size the snapshot recorded becomes the image's, and the L1 table grows to cover it */
    if (!qcow2_size_fits(s->cluster_size, sn->disk_size)) {
        *err = xasprintf("'%s': snapshot '%s' records a disk size of %" PRIu64 " bytes, which is out of range: "
                         "the snapshot table is damaged", bs->filename, name, sn->disk_size);
        return -EFBIG;
    }
    l1_need = DIV_ROUND_UP(sn->disk_size, s->cluster_size << s->l2_bits);
    pthread_mutex_lock(&s->lock);
    ret = qcow2_flush_metadata(s);
    if (ret == 0)
        ret = read_l1(s, sn->l1_offset, sn->l1_size, &snap_l1);
    if (ret == 0 && MAX(sn->l1_size, l1_need) > s->l1_size)
        ret = qcow2_grow_l1(s, MAX(sn->l1_size, l1_need));
    /* the snapshot's clusters gain the active table's reference before the switch */
    if (ret == 0)
        ret = update_tree(s, snap_l1, sn->l1_size, 1);
    if (ret == 0)
        ret = qcow2_flush_metadata(s);
    if (ret < 0)
        goto out;
    old_size = s->l1_size;
    old_l1 = xmalloc((size_t)old_size * 8 + 8);
    memcpy(old_l1, s->l1, (size_t)old_size * 8);
    memset(s->l1, 0, (size_t)s->l1_size * 8);
    memcpy(s->l1, snap_l1, (size_t)sn->l1_size * 8);
    ret = qcow2_write_l1(s);
    if (ret == 0)
        ret = bfile_flush(bs->file);
    if (ret == 0)
        ret = update_tree(s, old_l1, old_size, -1);
    if (ret == 0) {
        bs->size = sn->disk_size;
        ret = qcow2_fix_copied(s);
    }
    if (ret == 0)
        ret = qcow2_flush_metadata(s);
    if (ret == 0)
        ret = qcow2_update_header(s);
out:
    pthread_mutex_unlock(&s->lock);
    free(snap_l1);
    free(old_l1);
    if (ret < 0 && err && !*err)
        *err = xasprintf("'%s': could not apply snapshot '%s': %s", bs->filename, name, strerror(-ret));
    return ret;
}

int qcow2_snapshot_delete(struct block_state *bs, const char *name, char **err)
{
    struct qcow2 *s = qcow2_of(bs);
    struct qcow2_snapshot sn;
    uint64_t *l1 = NULL;
    int i, ret;

    i = snapshot_lookup(bs, name, err);
    if (i < 0)
        return i;
    pthread_mutex_lock(&s->lock);
    sn = s->snaps[i];
    ret = qcow2_flush_metadata(s);
    if (ret == 0)
        ret = read_l1(s, sn.l1_offset, sn.l1_size, &l1);
    if (ret < 0)
        goto out;
    memmove(&s->snaps[i], &s->snaps[i + 1], (s->nb_snapshots - i - 1) * sizeof(*s->snaps));
    s->nb_snapshots--;
    /* the table forgets the snapshot first: a crash after this only leaks */
    ret = write_snapshots(s);
    if (ret == 0)
        ret = update_tree(s, l1, sn.l1_size, -1);
    if (ret == 0 && sn.l1_size)
        ret = qcow2_update_refcount(s, sn.l1_offset, ALIGN_UP((uint64_t)sn.l1_size * 8, s->cluster_size), -1);
    if (ret == 0)
        ret = qcow2_fix_copied(s);
    if (ret == 0)
        ret = qcow2_flush_metadata(s);
    /* `name` may be the deleted entry's own id or name: report before freeing them */
    if (ret < 0 && err && !*err)
        *err = xasprintf("'%s': could not delete snapshot '%s': %s", bs->filename, name, strerror(-ret));
    free(sn.id);
    free(sn.name);
    free(sn.extra);
out:
    pthread_mutex_unlock(&s->lock);
    free(l1);
    if (ret < 0 && err && !*err)
        *err = xasprintf("'%s': could not delete snapshot '%s': %s", bs->filename, name, strerror(-ret));
    return ret;
}
