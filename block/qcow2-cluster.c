/* qcow2-cluster.c: the qcow2 data path: L1/L2 lookup, cluster allocation with copy-on-write, compressed and zero clusters, discard */
#define LOG_PREFIX "qcow2: "
#include "block/qcow2.h"
#include "util/log.h"

#include <zlib.h>

enum qcow2_ctype qcow2_l2e_type(struct qcow2 *s, uint64_t e)
{
    if (e & QCOW2_OFLAG_COMPRESSED)
        return QCOW2_COMPRESSED;
    if ((e & QCOW2_OFLAG_ZERO) && s->version >= 3)
        return (e & QCOW2_L2E_OFFSET_MASK) ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
    return (e & QCOW2_L2E_OFFSET_MASK) ? QCOW2_NORMAL : QCOW2_UNALLOCATED;
}

static uint64_t l2_entries(struct qcow2 *s)
{
    return 1ULL << s->l2_bits;
}

/* The L2 table for L1 index l1i: NULL in *l2 when none is allocated and alloc is false. */
int qcow2_get_l2(struct qcow2 *s, uint64_t l1i, bool alloc, uint8_t **l2)
{
    uint64_t e, off, newoff;
    uint8_t *old, *fresh;
    int ret;

    *l2 = NULL;
    if (l1i >= s->l1_size) {
        if (!alloc)
            return 0;
        ret = qcow2_grow_l1(s, l1i + 1);
        if (ret < 0)
            return ret;
    }
    e = s->l1[l1i];
    off = e & QCOW2_L1E_OFFSET_MASK;
    if (off && (!IS_ALIGNED(off, s->cluster_size) || off >= s->file_end))
        return qcow2_mark_corrupt(s, "L1 entry %" PRIu64 " points to an L2 table at 0x%" PRIx64 " that is %s", l1i,
                                  off, off >= s->file_end ? "past the end of the file" : "not cluster aligned");
    if (off && (!alloc || (e & QCOW2_OFLAG_COPIED)))
        return qcow2_cache_get(s, &s->l2c, off, false, l2);
    if (!alloc)
        return 0;
    /* a new table, or a private copy of one shared with a snapshot */
    ret = qcow2_alloc_clusters(s, 1, &newoff);
    if (ret < 0)
        return ret;
    ret = qcow2_cache_get(s, &s->l2c, newoff, true, &fresh);
    if (ret < 0)
        return ret;
    if (off) {
        ret = qcow2_cache_get(s, &s->l2c, off, false, &old);
        if (ret < 0) {
            qcow2_cache_put(&s->l2c, fresh);
            return ret;
        }
        memcpy(fresh, old, s->cluster_size);
        qcow2_cache_put(&s->l2c, old);
        qcow2_free_deferred(s, off, s->cluster_size);
    }
    qcow2_cache_mark_dirty(&s->l2c, fresh);
    s->l1[l1i] = newoff | QCOW2_OFLAG_COPIED;
    s->l1_dirty = true;
    *l2 = fresh;
    return 0;
}

/* Check a data cluster's host offset before any I/O touches it. */
static int check_host_offset(struct qcow2 *s, uint64_t guest, uint64_t host)
{
    if (!IS_ALIGNED(host, s->cluster_size))
        return qcow2_mark_corrupt(s, "the L2 entry for guest offset 0x%" PRIx64 " points to unaligned 0x%" PRIx64,
                                  guest, host);
    if (host >= s->file_end)
        return qcow2_mark_corrupt(s, "the L2 entry for guest offset 0x%" PRIx64 " points to 0x%" PRIx64
                                  ", past the end of the file", guest, host);
    if (host < s->cluster_size)
        return qcow2_mark_corrupt(s, "the L2 entry for guest offset 0x%" PRIx64 " points into the header", guest);
    return 0;
}

/* Check a compressed cluster's place before it is read (lock held, as marking corrupt needs). */
static int check_compressed(struct qcow2 *s, uint64_t guest, uint64_t e)
{
    uint64_t coff = e & s->coffset_mask;

    if (coff < s->cluster_size || coff >= s->file_end)
        return qcow2_mark_corrupt(s, "the L2 entry for guest offset 0x%" PRIx64 " points to a compressed cluster "
                                  "at 0x%" PRIx64 " that lies %s", guest, coff,
                                  coff >= s->file_end ? "past the end of the file" : "in the header");
    return 0;
}

/*
 * Map guest [off, off+len) to a run of one kind: sets *type, *entry (of the
 * first cluster) and *n (bytes in the run, within one L2 table). Lock held.
 */
static int qcow2_map(struct qcow2 *s, uint64_t off, uint64_t len, enum qcow2_ctype *type, uint64_t *entry,
                     uint64_t *n)
{
    uint64_t cs = s->cluster_size, l1i = off >> (s->cluster_bits + s->l2_bits);
    uint64_t l2i = (off >> s->cluster_bits) & (l2_entries(s) - 1);
    uint64_t in_cluster = off & (cs - 1), maxn, e, i;
    uint8_t *l2;
    int ret;

    maxn = MIN(len, ((l2_entries(s) - l2i) << s->cluster_bits) - in_cluster);
    ret = qcow2_get_l2(s, l1i, false, &l2);
    if (ret < 0)
        return ret;
    if (!l2) {
        *type = QCOW2_UNALLOCATED;
        *entry = 0;
        *n = maxn;
        return 0;
    }
    e = ldq_be(l2 + 8 * l2i);
    *entry = e;
    *type = qcow2_l2e_type(s, e);
    *n = MIN(maxn, cs - in_cluster);
    if (*type == QCOW2_NORMAL || *type == QCOW2_ZERO_ALLOC) {
        ret = check_host_offset(s, off, e & QCOW2_L2E_OFFSET_MASK);
        if (ret < 0)
            goto out;
    }
    if (*type == QCOW2_COMPRESSED) {
        ret = check_compressed(s, off, e);
        goto out;
    }
    for (i = 1; *n < maxn; i++) {
        uint64_t f = ldq_be(l2 + 8 * (l2i + i));

        if (qcow2_l2e_type(s, f) != *type)
            break;
        if (*type == QCOW2_NORMAL &&
            ((f & QCOW2_L2E_OFFSET_MASK) != (e & QCOW2_L2E_OFFSET_MASK) + (i << s->cluster_bits) ||
             (f & QCOW2_OFLAG_COPIED) != (e & QCOW2_OFLAG_COPIED) ||
             check_host_offset(s, off, f & QCOW2_L2E_OFFSET_MASK) < 0))
            break;
        *n = MIN(maxn, *n + cs);
    }
out:
    qcow2_cache_put(&s->l2c, l2);
    return ret;
}

/*
 * "Compressed clusters descriptor": inflate one cluster (raw deflate, 4 KiB window). The entry
 * was checked with the lock held (check_compressed): this runs without it on the read path, so
 * it neither marks the image corrupt nor looks at the file's length (the end of a compressed
 * cluster may lie past the end of the file: that part reads as zeros).
 */
int qcow2_read_compressed(struct qcow2 *s, uint64_t e, uint8_t *out)
{
    uint64_t coff = e & s->coffset_mask;
    uint64_t nsec = ((e >> s->csize_shift) & s->csize_mask) + 1;
    size_t csize = nsec * 512 - (coff & 511);
    uint8_t *in;
    z_stream z;
    int ret, zr;

    if (coff < s->cluster_size)
        return -EIO;
    in = xmalloc(csize);
    memset(in, 0, csize);
    ret = bfile_pread(s->bs->file, coff, in, csize);
    if (ret < 0)
        goto out;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -12) != Z_OK) {
        ret = -ENOMEM;
        goto out;
    }
    z.next_in = in;
    z.avail_in = csize;
    z.next_out = out;
    z.avail_out = s->cluster_size;
    zr = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || z.avail_out != 0) {
        log_guest_error("'%s': a compressed cluster at 0x%" PRIx64 " does not decompress", s->bs->filename, coff);
        ret = -EIO;
    }
out:
    free(in);
    return ret;
}

int qcow2_drv_preadv(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    struct qcow2 *s = bs->opaque;
    struct qiov part;
    uint64_t done = 0;
    uint8_t *cbuf = NULL;
    int ret = 0;

    qiov_init(&part, q->niov);
    while (done < q->size && ret == 0) {
        enum qcow2_ctype type;
        uint64_t e, n, cur = off + done;

        pthread_mutex_lock(&s->lock);
        ret = qcow2_map(s, cur, q->size - done, &type, &e, &n);
        pthread_mutex_unlock(&s->lock);
        if (ret < 0)
            break;
        qiov_reset(&part);
        qiov_concat(&part, q, done, n);
        switch (type) {
        case QCOW2_UNALLOCATED:
            if (bs->backing) {
                ret = bstate_preadv(bs->backing, cur, &part);
                break;
            }
            /* fall through */
        case QCOW2_ZERO_PLAIN:
        case QCOW2_ZERO_ALLOC:
            qiov_memset(&part, 0, 0, n);
            break;
        case QCOW2_NORMAL:
            ret = bfile_preadv(bs->file, (e & QCOW2_L2E_OFFSET_MASK) + (cur & (s->cluster_size - 1)), &part);
            break;
        case QCOW2_COMPRESSED:
            if (!cbuf)
                cbuf = xmalloc(s->cluster_size);
            ret = qcow2_read_compressed(s, e, cbuf);
            if (ret == 0)
                qiov_from_buf(&part, 0, cbuf + (cur & (s->cluster_size - 1)), n);
            break;
        }
        done += n;
    }
    free(cbuf);
    qiov_destroy(&part);
    return ret;
}

/* What the guest saw in one cluster before this write: into buf (cluster_size bytes). Lock not needed. */
static int cluster_old_content(struct block_state *bs, uint64_t guest_cluster, uint64_t e, uint8_t *buf,
                               uint64_t from, uint64_t to)
{
    struct qcow2 *s = bs->opaque;

    if (from >= to)
        return 0;
    switch (qcow2_l2e_type(s, e)) {
    case QCOW2_UNALLOCATED:
        if (bs->backing)
            return bstate_pread(bs->backing, guest_cluster + from, buf + from, to - from);
        /* fall through */
    case QCOW2_ZERO_PLAIN:
    case QCOW2_ZERO_ALLOC:
        memset(buf + from, 0, to - from);
        return 0;
    case QCOW2_NORMAL:
        return bfile_pread(bs->file, (e & QCOW2_L2E_OFFSET_MASK) + from, buf + from, to - from);
    case QCOW2_COMPRESSED: {
        int ret = qcow2_read_compressed(s, e, buf);

        return ret;
    }
    }
    return -EIO;
}

const char *qcow2_overlaps_metadata(struct qcow2 *s, uint64_t host, uint64_t len)
{
    uint64_t end = host + len;

    if (host < s->cluster_size)
        return "the header";
    if (host < s->l1_offset + (uint64_t)s->l1_size * 8 && end > s->l1_offset)
        return "the L1 table";
    if (host < s->reftable_offset + ((uint64_t)s->reftable_clusters << s->cluster_bits) && end > s->reftable_offset)
        return "the refcount table";
    if (s->snapshots_size && host < s->snapshots_offset + s->snapshots_size && end > s->snapshots_offset)
        return "the snapshot table";
    return NULL;
}

/* Does any entry of t[0..n), masked, name a cluster-sized range that starts in [lo, end)? */
static bool table_hits(const uint64_t *t, uint64_t n, uint64_t mask, uint64_t lo, uint64_t end)
{
    uint64_t span = end - lo;
    bool hit = false;

    /* no early exit: one subtraction and comparison per entry, which the compiler vectorizes */
    for (uint64_t i = 0; i < n; i++)
        hit |= (t[i] & mask) - lo < span;
    return hit;
}

/*
 * The tables the fixed ones point at, as QEMU's default ("cached") overlap check has them:
 * found from the L1 table, the refcount table and the snapshot list in memory, so a write
 * costs a pass over those arrays and no I/O. Entries are taken as they are (a damaged one
 * that is unaligned still covers the cluster-sized range it names).
 */
const char *qcow2_overlaps_tables(struct qcow2 *s, uint64_t host, uint64_t len)
{
    uint64_t end = host + len, cs = s->cluster_size;
    /* a table at o overlaps [host, end) when host - cs < o < end; o = 0 is no table */
    uint64_t lo = host >= cs ? host - cs + 1 : 1;

    if (!len)
        return NULL;
    if (table_hits(s->l1, s->l1_size, QCOW2_L1E_OFFSET_MASK, lo, end))
        return "an active L2 table";
    if (table_hits(s->reftable, s->reftable_used, QCOW2_REFT_OFFSET_MASK, lo, end))
        return "a refcount block";
    for (int i = 0; i < s->nb_snapshots; i++) {
        const struct qcow2_snapshot *sn = &s->snaps[i];

        /* each bounded where the snapshot table was read */
        if (sn->l1_size && sn->l1_offset < end && sn->l1_offset + (uint64_t)sn->l1_size * 8 > host)
            return "an inactive L1 table";
    }
    return NULL;
}

/* Do the parts of the first and last cluster that the write leaves alone read as zeros? */
static bool cow_is_zero(struct block_state *bs, uint64_t e_first, uint64_t e_last)
{
    struct qcow2 *s = bs->opaque;
    uint64_t e[2] = { e_first, e_last };

    for (int i = 0; i < 2; i++) {
        enum qcow2_ctype t = qcow2_l2e_type(s, e[i]);

        if (t != QCOW2_ZERO_PLAIN && t != QCOW2_ZERO_ALLOC && (t != QCOW2_UNALLOCATED || bs->backing))
            return false;
    }
    return s->cluster_size >= 4096;     /* below a page, one write is cheaper than two calls */
}

/* Wait (lock held) until no allocating write is in flight over guest [off, off+len). */
static void inflight_wait(struct qcow2 *s, uint64_t off, uint64_t len)
{
    uint64_t first = off >> s->cluster_bits, last = (off + len - 1) >> s->cluster_bits;

    for (;;) {
        struct qcow2_inflight *f;

        for (f = s->inflight; f; f = f->next)
            if (f->first <= last && first < f->first + f->n)
                break;
        if (!f)
            return;
        pthread_cond_wait(&s->inflight_done, &s->lock);
    }
}

/* Data must never land on metadata: a damaged L2 entry or refcount could point there. */
static int check_overlap(struct qcow2 *s, uint64_t host, uint64_t len)
{
    const char *what = qcow2_overlaps_metadata(s, host, len);

    if (!what)
        what = qcow2_overlaps_tables(s, host, len);

    if (what)
        return qcow2_mark_corrupt(s, "a data write to 0x%" PRIx64 " would overwrite %s", host, what);
    return 0;
}

/*
 * Write [off, off+len) of q (at q_off) into clusters that need allocation: at
 * most one L2 table's worth. Called and returns with the lock held, but drops it
 * for the data I/O: the new clusters are chosen and marked in flight, filled with
 * the old content around the written range (copy-on-write) and the data, and
 * only then linked into the L2 table. Writers to those clusters wait meanwhile.
 */
static int write_alloc(struct block_state *bs, uint64_t off, const struct qiov *q, size_t q_off, uint64_t len,
                       uint64_t *written)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, l1i = off >> (s->cluster_bits + s->l2_bits);
    uint64_t l2i = (off >> s->cluster_bits) & (l2_entries(s) - 1);
    uint64_t head = off & (cs - 1), nclusters, newoff, first_guest = off - head, tail_end, total, last;
    uint64_t e_first, e_last;
    struct qcow2_inflight me, **pp;
    uint8_t *l2, *hbuf = NULL, *tbuf = NULL;
    bool zero_cow;
    struct qiov w;
    int ret;

    ret = qcow2_get_l2(s, l1i, true, &l2);
    if (ret < 0)
        return ret;
    /* how many clusters: those in this table that are not writable in place, contiguous */
    nclusters = 0;
    total = MIN(len, ((l2_entries(s) - l2i) << s->cluster_bits) - head);
    while (nclusters << s->cluster_bits < head + total) {
        uint64_t e = ldq_be(l2 + 8 * (l2i + nclusters));

        if (nclusters && qcow2_l2e_type(s, e) == QCOW2_NORMAL && (e & QCOW2_OFLAG_COPIED))
            break;
        nclusters++;
        if (nclusters >= 1024)
            break;
    }
    total = MIN(total, (nclusters << s->cluster_bits) - head);
    tail_end = nclusters << s->cluster_bits;
    last = (head + total - 1) >> s->cluster_bits;      /* cluster index in the run */
    e_first = ldq_be(l2 + 8 * l2i);
    e_last = ldq_be(l2 + 8 * (l2i + last));
    qcow2_cache_put(&s->l2c, l2);
    /* the old content of a compressed first or last cluster is read below: check where it lies */
    if (qcow2_l2e_type(s, e_first) == QCOW2_COMPRESSED)
        ret = check_compressed(s, first_guest, e_first);
    if (ret == 0 && qcow2_l2e_type(s, e_last) == QCOW2_COMPRESSED)
        ret = check_compressed(s, first_guest + (last << s->cluster_bits), e_last);
    if (ret < 0)
        return ret;
    zero_cow = (head || head + total < tail_end) && cow_is_zero(bs, e_first, e_last);
    ret = qcow2_alloc_clusters(s, nclusters, &newoff);
    if (ret == 0)
        ret = check_overlap(s, newoff, tail_end);
    if (ret < 0)
        return ret;
    me = (struct qcow2_inflight){ first_guest >> s->cluster_bits, nclusters, s->inflight };
    s->inflight = &me;
    pthread_mutex_unlock(&s->lock);

    qiov_init(&w, q->niov + 2);
    if (zero_cow) {
        /* nothing to copy: zero the new clusters cheaply (fallocate), then write just the data */
        ret = bfile_write_zeroes(bs->file, newoff, tail_end, false);
        qiov_concat(&w, q, q_off, total);
        if (ret == 0)
            ret = bfile_pwritev(bs->file, newoff + head, &w);
    } else {
        if (head) {
            hbuf = bfile_memalign(cs);
            ret = cluster_old_content(bs, first_guest, e_first, hbuf, 0, head);
            qiov_add(&w, hbuf, head);
        }
        qiov_concat(&w, q, q_off, total);
        if (ret == 0 && head + total < tail_end) {
            uint64_t from = (head + total) & (cs - 1);

            tbuf = bfile_memalign(cs);
            ret = cluster_old_content(bs, first_guest + (last << s->cluster_bits), e_last, tbuf, from, cs);
            qiov_add(&w, tbuf + from, cs - from);
        }
        if (ret == 0)
            ret = bfile_pwritev(bs->file, newoff, &w);
    }
    qiov_destroy(&w);
    free(hbuf);
    free(tbuf);

    pthread_mutex_lock(&s->lock);
    for (pp = &s->inflight; *pp != &me; pp = &(*pp)->next)
        ;
    *pp = me.next;
    pthread_cond_broadcast(&s->inflight_done);
    if (ret == 0)
        ret = qcow2_get_l2(s, l1i, true, &l2);
    if (ret < 0) {
        /* nothing points at the new clusters: give them back */
        qcow2_update_refcount(s, newoff, tail_end, -1);
        return ret;
    }
    for (uint64_t i = 0; i < nclusters; i++) {
        qcow2_free_l2_entry(s, ldq_be(l2 + 8 * (l2i + i)));
        stq_be(l2 + 8 * (l2i + i), (newoff + (i << s->cluster_bits)) | QCOW2_OFLAG_COPIED);
    }
    qcow2_cache_mark_dirty(&s->l2c, l2);
    qcow2_cache_put(&s->l2c, l2);
    *written = total;
    return 0;
}

int qcow2_drv_pwritev(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    struct qcow2 *s = bs->opaque;
    struct qiov part;
    uint64_t done = 0;
    int ret = 0;

    if (s->corrupt)
        return -EIO;
    qiov_init(&part, q->niov);
    while (done < q->size && ret == 0) {
        enum qcow2_ctype type;
        uint64_t e, n = 0, cur = off + done;

        pthread_mutex_lock(&s->lock);
        inflight_wait(s, cur, q->size - done);
        if (s->lazy && !s->dirty_on_disk)
            ret = qcow2_set_dirty(s, true);
        if (ret == 0)
            ret = qcow2_map(s, cur, q->size - done, &type, &e, &n);
        if (ret == 0 && type == QCOW2_NORMAL && (e & QCOW2_OFLAG_COPIED)) {
            uint64_t host = (e & QCOW2_L2E_OFFSET_MASK) + (cur & (s->cluster_size - 1));

            ret = check_overlap(s, host, n);
            pthread_mutex_unlock(&s->lock);
            if (ret < 0)
                break;
            /* in place: the cluster is ours alone */
            qiov_reset(&part);
            qiov_concat(&part, q, done, n);
            ret = bfile_pwritev(bs->file, host, &part);
        } else {
            if (ret == 0)
                ret = write_alloc(bs, cur, q, done, q->size - done, &n);
            pthread_mutex_unlock(&s->lock);
        }
        done += n;
    }
    qiov_destroy(&part);
    return ret;
}

/*
 * One deflate stream per thread, reset between clusters: setting one up costs
 * more than compressing a small cluster. Raw deflate with a 4 KiB window, as
 * "Compressed Clusters" requires; freed when the thread exits.
 */
static pthread_key_t deflate_key;
static pthread_once_t deflate_once = PTHREAD_ONCE_INIT;

static void deflate_free(void *p)
{
    deflateEnd(p);
    free(p);
}

static void deflate_key_init(void)
{
    pthread_key_create(&deflate_key, deflate_free);
}

static z_stream *deflate_stream(void)
{
    z_stream *z;

    pthread_once(&deflate_once, deflate_key_init);
    z = pthread_getspecific(deflate_key);
    if (z)
        return z;
    z = xzalloc(sizeof(*z));
    if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(z);
        return NULL;
    }
    pthread_setspecific(deflate_key, z);
    return z;
}

/* Write one whole cluster compressed (convert -c); falls back to a plain write when it does not shrink. */
int qcow2_write_compressed(struct block_state *bs, uint64_t off, const uint8_t *buf, size_t len)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, l1i, l2i, hoff, nsec, e;
    uint8_t *out, *l2;
    z_stream *z;
    size_t clen;
    int ret;

    if (!IS_ALIGNED(off, cs) || (len != cs && off + len != bs->size) || len > cs)
        return -EINVAL;
    out = xmalloc(cs);
    z = deflate_stream();
    if (!z) {
        free(out);
        return -ENOMEM;
    }
    {
        uint8_t *full = NULL;
        const uint8_t *src = buf;

        if (len < cs) {         /* the last, partial cluster compresses as a zero-padded whole */
            full = xzalloc(cs);
            memcpy(full, buf, len);
            src = full;
        }
        z->next_in = (uint8_t *)src;
        z->avail_in = cs;
        z->next_out = out;
        z->avail_out = cs - 512;
        ret = deflate(z, Z_FINISH);
        clen = cs - 512 - z->avail_out;
        deflateReset(z);
        free(full);
    }
    if (ret != Z_STREAM_END) {
        struct iovec v = { (void *)buf, len };
        struct qiov q = { &v, 1, 1, len };

        free(out);
        return qcow2_drv_pwritev(bs, off, &q);
    }
    pthread_mutex_lock(&s->lock);
    l1i = off >> (s->cluster_bits + s->l2_bits);
    l2i = (off >> s->cluster_bits) & (l2_entries(s) - 1);
    ret = qcow2_get_l2(s, l1i, true, &l2);
    if (ret < 0)
        goto unlock;
    ret = qcow2_alloc_bytes(s, clen, &hoff);
    if (ret == 0)
        ret = check_overlap(s, hoff, clen);
    if (ret == 0)
        ret = bfile_pwrite(bs->file, hoff, out, clen);
    if (ret == 0) {
        nsec = ((hoff + clen - 1) >> 9) - (hoff >> 9);     /* sectors beyond the first */
        e = QCOW2_OFLAG_COMPRESSED | (nsec << s->csize_shift) | hoff;
        qcow2_free_l2_entry(s, ldq_be(l2 + 8 * l2i));
        stq_be(l2 + 8 * l2i, e);
        qcow2_cache_mark_dirty(&s->l2c, l2);
    }
    qcow2_cache_put(&s->l2c, l2);
unlock:
    pthread_mutex_unlock(&s->lock);
    free(out);
    return ret;
}

/* Set whole clusters of [off, off+len) to `newe` (0 or the zero flag), dropping what they held. Lock held. */
static int clusters_set(struct block_state *bs, uint64_t off, uint64_t len, uint64_t newe)
{
    struct qcow2 *s = bs->opaque;

    while (len) {
        uint64_t l1i = off >> (s->cluster_bits + s->l2_bits);
        uint64_t l2i = (off >> s->cluster_bits) & (l2_entries(s) - 1);
        uint64_t n = MIN(len >> s->cluster_bits, l2_entries(s) - l2i);
        uint8_t *l2;
        int ret;

        ret = qcow2_get_l2(s, l1i, newe != 0 || (l1i < s->l1_size && s->l1[l1i]), &l2);
        if (ret < 0)
            return ret;
        if (l2) {
            for (uint64_t i = 0; i < n; i++) {
                uint64_t e = ldq_be(l2 + 8 * (l2i + i));

                if (e == newe)
                    continue;
                qcow2_free_l2_entry(s, e);
                stq_be(l2 + 8 * (l2i + i), newe);
                qcow2_cache_mark_dirty(&s->l2c, l2);
            }
            qcow2_cache_put(&s->l2c, l2);
        }
        off += n << s->cluster_bits;
        len -= n << s->cluster_bits;
    }
    return 0;
}

int qcow2_drv_discard(struct block_state *bs, uint64_t off, uint64_t len)
{
    struct qcow2 *s = bs->opaque;
    uint64_t start = ALIGN_UP(off, s->cluster_size), end = ALIGN_DOWN(off + len, s->cluster_size);
    int ret = 0;

    if (off + len == bs->size)
        end = ALIGN_UP(bs->size, s->cluster_size);
    if (s->corrupt)
        return -EIO;
    /* a discard is a hint: partial clusters keep their data; with a backing file v2 cannot say "zero" */
    if (start >= end || (bs->backing && s->version < 3))
        return 0;
    pthread_mutex_lock(&s->lock);
    inflight_wait(s, start, end - start);
    if (s->lazy && !s->dirty_on_disk)
        ret = qcow2_set_dirty(s, true);
    if (ret == 0)
        ret = clusters_set(bs, start, end - start, bs->backing ? QCOW2_OFLAG_ZERO : 0);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_drv_write_zeroes(struct block_state *bs, uint64_t off, uint64_t len, unsigned flags)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t start = ALIGN_UP(off, cs), end = ALIGN_DOWN(off + len, cs);
    uint8_t *zeros;
    int ret = 0;

    if (s->corrupt)
        return -EIO;
    if (off + len == bs->size)
        end = ALIGN_UP(bs->size, cs);
    if (start > end) {
        start = off;
        end = off;
    }
    if (start < end && (s->version >= 3 || !bs->backing)) {
        pthread_mutex_lock(&s->lock);
        inflight_wait(s, start, end - start);
        if (s->lazy && !s->dirty_on_disk)
            ret = qcow2_set_dirty(s, true);
        if (ret == 0)
            ret = clusters_set(bs, start, end - start, s->version >= 3 ? QCOW2_OFLAG_ZERO : 0);
        pthread_mutex_unlock(&s->lock);
    } else {
        start = end = off;
    }
    /* the partial clusters at either end get real zeros */
    zeros = xzalloc(cs);
    for (uint64_t p = off; ret == 0 && p < off + len;) {
        uint64_t n;

        if (p >= start && p < end) {
            p = end;
            continue;
        }
        n = MIN(off + len, p < start ? start : ALIGN_UP(p + 1, cs)) - p;
        n = MIN(n, cs - (p & (cs - 1)));
        {
            struct iovec v = { zeros, n };
            struct qiov q = { &v, 1, 1, n };

            ret = qcow2_drv_pwritev(bs, p, &q);
        }
        p += n;
    }
    free(zeros);
    return ret;
}

int qcow2_drv_map_direct(struct block_state *bs, uint64_t off, uint64_t len, bool write, uint64_t *host)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, l1i = off >> (s->cluster_bits + s->l2_bits);
    uint64_t l2i = (off >> s->cluster_bits) & (l2_entries(s) - 1);
    uint64_t n = ((off & (cs - 1)) + len + cs - 1) >> s->cluster_bits, first = 0, l2off;
    bool zero = true, data = true;
    uint8_t *l2;
    int ret = -EAGAIN;

    if (l2i + n > l2_entries(s) || !len)
        return -EAGAIN;
    /*
     * The caller is a vCPU or the main loop with the device lock held, so it must never wait
     * here: a worker may hold the image lock across a read of a table or an fdatasync (the
     * metadata flush orders refcount blocks, L2 and L1 tables with syncs between them), and
     * every exit, the monitor and the timers would stall behind it. Busy: the worker's way.
     */
    if (pthread_mutex_trylock(&s->lock))
        return -EAGAIN;
    if (s->corrupt || (write && s->lazy && !s->dirty_on_disk))
        goto out;
    l2off = l1i < s->l1_size ? s->l1[l1i] & QCOW2_L1E_OFFSET_MASK : 0;
    if (!l2off) {
        /* no L2 table: all unallocated */
        if (!write && !bs->backing && off + len <= bs->size)
            ret = MAP_ZERO;
        goto out;
    }
    if (!(l2 = qcow2_cache_peek(&s->l2c, l2off)))
        goto out;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t e = ldq_be(l2 + 8 * (l2i + i)), h = e & QCOW2_L2E_OFFSET_MASK;
        enum qcow2_ctype t = qcow2_l2e_type(s, e);

        if (t != QCOW2_ZERO_PLAIN && t != QCOW2_ZERO_ALLOC && (t != QCOW2_UNALLOCATED || bs->backing))
            zero = false;
        if (t != QCOW2_NORMAL || (write && !(e & QCOW2_OFLAG_COPIED)) || !IS_ALIGNED(h, cs) || h < cs ||
            h >= s->file_end || (i && h != first + (i << s->cluster_bits)))
            data = false;
        if (!i)
            first = h;
        if (!zero && !data)
            goto out;
    }
    if (zero && !write) {
        ret = MAP_ZERO;
    } else if (data && !(write && (qcow2_overlaps_metadata(s, first, n << s->cluster_bits) ||
                                   qcow2_overlaps_tables(s, first, n << s->cluster_bits)))) {
        *host = first + (off & (cs - 1));
        ret = MAP_HOST;
    }
out:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_drv_block_status(struct block_state *bs, uint64_t off, uint64_t len, uint64_t *pnum, uint64_t *map)
{
    struct qcow2 *s = bs->opaque;
    enum qcow2_ctype type;
    uint64_t e, n;
    int ret;

    pthread_mutex_lock(&s->lock);
    ret = qcow2_map(s, off, len, &type, &e, &n);
    pthread_mutex_unlock(&s->lock);
    if (ret < 0)
        return ret;
    *pnum = n;
    *map = 0;
    switch (type) {
    case QCOW2_UNALLOCATED:
        return bs->backing ? 0 : BSTAT_ZERO;
    case QCOW2_ZERO_PLAIN:
        return BSTAT_ALLOCATED | BSTAT_ZERO;
    case QCOW2_ZERO_ALLOC:
        *map = (e & QCOW2_L2E_OFFSET_MASK) + (off & (s->cluster_size - 1));
        return BSTAT_ALLOCATED | BSTAT_ZERO | BSTAT_OFFSET;
    case QCOW2_NORMAL:
        *map = (e & QCOW2_L2E_OFFSET_MASK) + (off & (s->cluster_size - 1));
        return BSTAT_ALLOCATED | BSTAT_DATA | BSTAT_OFFSET;
    case QCOW2_COMPRESSED:
        return BSTAT_ALLOCATED | BSTAT_DATA | BSTAT_COMPRESSED;
    }
    return 0;
}

/* Grow the L1 table to at least min_size entries: new clusters, then the header points there. Lock held. */
int qcow2_grow_l1(struct qcow2 *s, uint32_t min_size)
{
    uint64_t new_size = MAX((uint64_t)min_size, (uint64_t)s->l1_size), bytes, newoff;
    uint64_t old_off = s->l1_offset, old_bytes = (uint64_t)s->l1_size * 8;
    uint8_t *buf;
    int ret;

    if (new_size * 8 > QCOW2_MAX_L1_BYTES)
        return -EFBIG;
    if (new_size <= s->l1_size)
        return 0;
    bytes = ALIGN_UP(new_size * 8, s->cluster_size);
    /* the tables and refcounts the new L1 will point at must be on disk first */
    ret = qcow2_flush_metadata(s);
    if (ret < 0)
        return ret;
    ret = qcow2_alloc_clusters(s, bytes >> s->cluster_bits, &newoff);
    if (ret < 0)
        return ret;
    buf = bfile_memalign(bytes);
    memset(buf, 0, bytes);
    for (uint32_t i = 0; i < s->l1_size; i++)
        stq_be(buf + 8 * i, s->l1[i]);
    ret = qcow2_cache_write(s, &s->rbc);
    if (ret == 0)
        ret = bfile_pwrite(s->bs->file, newoff, buf, bytes);
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    free(buf);
    if (ret < 0)
        return ret;
    s->l1 = xrealloc(s->l1, new_size * 8);
    memset(s->l1 + s->l1_size, 0, (new_size - s->l1_size) * 8);
    s->l1_offset = newoff;
    s->l1_size = new_size;
    ret = qcow2_update_header(s);
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    if (ret == 0 && old_off && old_bytes)
        ret = qcow2_update_refcount(s, old_off, ALIGN_UP(old_bytes, s->cluster_size), -1);
    return ret;
}

int qcow2_fix_copied(struct qcow2 *s)
{
    int ret = 0;

    for (uint32_t i = 0; i < s->l1_size && ret == 0; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_L1E_OFFSET_MASK, rc;
        uint8_t *l2;

        if (!l2off)
            continue;
        ret = qcow2_get_refcount(s, l2off >> s->cluster_bits, &rc);
        if (ret < 0)
            break;
        if ((rc == 1) != !!(s->l1[i] & QCOW2_OFLAG_COPIED)) {
            s->l1[i] = rc == 1 ? s->l1[i] | QCOW2_OFLAG_COPIED : s->l1[i] & ~QCOW2_OFLAG_COPIED;
            s->l1_dirty = true;
        }
        ret = qcow2_cache_get(s, &s->l2c, l2off, false, &l2);
        if (ret < 0)
            break;
        for (uint64_t j = 0; j < l2_entries(s) && ret == 0; j++) {
            uint64_t e = ldq_be(l2 + 8 * j), ne;
            enum qcow2_ctype t = qcow2_l2e_type(s, e);

            if (t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC)
                continue;
            ret = qcow2_get_refcount(s, (e & QCOW2_L2E_OFFSET_MASK) >> s->cluster_bits, &rc);
            ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
            if (ret == 0 && ne != e) {
                stq_be(l2 + 8 * j, ne);
                qcow2_cache_mark_dirty(&s->l2c, l2);
            }
        }
        qcow2_cache_put(&s->l2c, l2);
    }
    return ret;
}

/* Drop every cluster of the active table, so the image reads through to its backing file (commit). */
int qcow2_make_empty(struct block_state *bs)
{
    struct qcow2 *s = bs->opaque;
    int ret;

    pthread_mutex_lock(&s->lock);
    ret = clusters_set(bs, 0, ALIGN_UP(bs->size, s->cluster_size), 0);
    if (ret == 0)
        ret = qcow2_flush_metadata(s);
    pthread_mutex_unlock(&s->lock);
    return ret;
}
