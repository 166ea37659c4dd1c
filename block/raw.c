/* raw.c: the raw format: the virtual disk is the file (or host block device) itself, holes read as zeros */
#define LOG_PREFIX "raw: "
#include "block/block-int.h"
#include "util/log.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
    return 1;   /* anything is raw, at the lowest confidence */
}

/* A probed raw image's writes to sector 0 are checked one at a time (see raw_pwritev). */
struct raw_state {
    pthread_mutex_t probe_lock;
};

static int raw_open(struct block_state *bs, const struct block_open_opts *o, char **err)
{
    int64_t len = bfile_length(bs->file);
    struct raw_state *s;

    if (len < 0) {
        if (err)
            *err = xasprintf("'%s': cannot get its size: %s", bs->filename, strerror((int)-len));
        return (int)len;
    }
    bs->size = len;
    s = xnew(struct raw_state);
    pthread_mutex_init(&s->probe_lock, NULL);
    bs->opaque = s;
    /* QEMU's warning, in its words, so that users and scripts meet the same advice */
    if (bs->probed && !bs->read_only)
        log_msg(LOG_WARN, "", "Image format was not specified for '%s' and probing guessed raw. "
                "Automatically detecting the format is dangerous for raw images, write operations on "
                "block 0 will be restricted. Specify the 'raw' format explicitly to remove the "
                "restrictions.", bs->filename);
    return 0;
}

static void raw_close(struct block_state *bs)
{
    struct raw_state *s = bs->opaque;

    if (s) {
        pthread_mutex_destroy(&s->probe_lock);
        free(s);
        bs->opaque = NULL;
    }
}

/*
 * A probed raw image must never turn into another format by a write to its first sector: the
 * next probe would then trust guest-controlled metadata (a qcow2 header naming any host file as
 * its backing file: CVE-2008-2004). The bytes that are checked are the bytes that are written:
 * the guest's part of sector 0 is copied once into `sector0`, probed there together with the
 * rest of the sector as the file holds it, and written from there, so a guest that changes its
 * buffer while the DMA runs cannot slip a header past the check. Writes to sector 0 are
 * serialized, so two partial writes cannot each pass against the other's old bytes.
 * Returns the number of bytes of q that the caller must take from sector0 (0: no check needed),
 * or -EPERM.
 */
static int raw_probe_sector0(struct block_state *bs, uint64_t off, const struct qiov *q,
                             uint8_t sector0[512])
{
    const struct block_driver *d = &block_driver_qcow2;
    size_t n;
    int ret;

    memset(sector0, 0, 512);
    n = MIN(q->size, 512 - off);
    ret = bfile_pread(bs->file, 0, sector0, 512);
    if (ret < 0 && (off > 0 || n < 512))
        return ret;     /* the bytes the write leaves alone are unknown */
    qiov_to_buf(q, 0, sector0 + off, n);
    if (d->probe(sector0, 512) > 1) {
        log_guest_error("'%s': refusing a write that would make this probed raw image look like %s",
                        bs->filename, d->name);
        return -EPERM;
    }
    return (int)n;
}

static int raw_preadv(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    return bfile_preadv(bs->file, off, q);
}

static int raw_pwritev(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    struct raw_state *s = bs->opaque;
    uint8_t sector0[512];
    struct qiov safe;
    int ret, n;

    if (!bs->probed || off >= sizeof(sector0) || !q->size) {
        ret = bfile_pwritev(bs->file, off, q);
        goto out;
    }
    pthread_mutex_lock(&s->probe_lock);
    n = raw_probe_sector0(bs, off, q, sector0);
    if (n < 0) {
        pthread_mutex_unlock(&s->probe_lock);
        return n;
    }
    block_debug_event("raw-sector0-probed");
    /* the checked copy for sector 0's part, the caller's buffers for the rest */
    qiov_init(&safe, q->niov + 1);
    qiov_add(&safe, sector0 + off, n);
    qiov_concat(&safe, q, n, q->size - n);
    ret = bfile_pwritev(bs->file, off, &safe);
    qiov_destroy(&safe);
    pthread_mutex_unlock(&s->probe_lock);
out:
    if (ret == 0 && off + q->size > bs->size)
        bs->size = off + q->size;
    return ret;
}

static int raw_flush(struct block_state *bs)
{
    return bfile_flush(bs->file);
}

static int raw_discard(struct block_state *bs, uint64_t off, uint64_t len)
{
    int ret = bfile_discard(bs->file, off, len);

    /* discard is a hint: a file system without hole punching just keeps the data */
    return ret == -EOPNOTSUPP || ret == -ENOTTY ? 0 : ret;
}

static int raw_write_zeroes(struct block_state *bs, uint64_t off, uint64_t len, unsigned flags)
{
    return bfile_write_zeroes(bs->file, off, len, flags & BLOCK_ZERO_MAY_UNMAP);
}

static int raw_truncate(struct block_state *bs, uint64_t size)
{
    int ret = bfile_truncate(bs->file, size);

    if (ret == 0)
        bs->size = size;
    return ret;
}

static int raw_map_direct(struct block_state *bs, uint64_t off, uint64_t len, bool write, uint64_t *host)
{
    if (write && bs->probed && off < 512)
        return -EAGAIN;     /* the probed-image check above */
    *host = off;
    return 0;
}

static int raw_block_status(struct block_state *bs, uint64_t off, uint64_t len, uint64_t *pnum, uint64_t *map)
{
    bool data;

    bfile_is_data(bs->file, off, len, pnum, &data);
    *map = off;
    return BSTAT_ALLOCATED | BSTAT_OFFSET | (data ? BSTAT_DATA : BSTAT_ZERO);
}

const struct block_driver block_driver_raw = {
    .name = "raw",
    .probe = raw_probe,
    .open = raw_open,
    .close = raw_close,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .truncate = raw_truncate,
    .map_direct = raw_map_direct,
    .block_status = raw_block_status,
};
