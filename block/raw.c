/* raw.c: the raw format: the virtual disk is the file (or host block device) itself, holes read as zeros */
#define LOG_PREFIX "raw: "
#include "block/block-int.h"
#include "util/log.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
    return 1;   /* anything is raw, at the lowest confidence */
}

static int raw_open(struct block_state *bs, const struct block_open_opts *o, char **err)
{
    int64_t len = bfile_length(bs->file);

    if (len < 0) {
        if (err)
            *err = xasprintf("'%s': cannot get its size: %s", bs->filename, strerror((int)-len));
        return (int)len;
    }
    bs->size = len;
    return 0;
}

static void raw_close(struct block_state *bs)
{
}

/*
 * A probed raw image must never turn into another format by a guest's write to
 * its first sector: the next probe would then trust guest-controlled metadata
 * (the qemu-img rule). Refuse such a write with -EPERM.
 */
static int raw_check_probed_write(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    uint8_t buf[512];
    const struct block_driver *d = &block_driver_qcow2;

    if (!bs->probed || off >= sizeof(buf))
        return 0;
    memset(buf, 0, sizeof(buf));
    if (bfile_pread(bs->file, 0, buf, sizeof(buf)) < 0)
        return 0;
    qiov_to_buf(q, 0, buf + off, MIN(q->size, sizeof(buf) - off));
    if (d->probe(buf, sizeof(buf)) > 1) {
        log_guest_error("'%s': refusing a write that would make this probed raw image look like %s",
                        bs->filename, d->name);
        return -EPERM;
    }
    return 0;
}

static int raw_preadv(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    return bfile_preadv(bs->file, off, q);
}

static int raw_pwritev(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    int ret = raw_check_probed_write(bs, off, q);

    if (ret < 0)
        return ret;
    if (bs->probed && off < 512)
        block_debug_event("raw-sector0-probed");
    ret = bfile_pwritev(bs->file, off, q);
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
