/* block.c: block devices: opening images (probe, backing chains), request dispatch to the engines, completions, statistics */
#define LOG_PREFIX "block: "
#include "block/block-int.h"
#include "block/qcow2.h" // qcow2_create
#include "util/log.h"
#include "util/main-loop.h" // bh_new_in, event_loop_iterate, event_loop_main

#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_MAX_CHAIN 64

static const struct block_driver *const block_drivers[] = {
    &block_driver_qcow2,
    &block_driver_raw,
};

const struct block_driver *block_driver_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(block_drivers); i++)
        if (!strcmp(block_drivers[i]->name, name))
            return block_drivers[i];
    return NULL;
}

int block_parse_cache(const char *s, enum block_cache *out)
{
    if (!strcmp(s, "writeback") || !strcmp(s, "writethrough"))
        *out = BLOCK_CACHE_WRITEBACK;
    else if (!strcmp(s, "none") || !strcmp(s, "directsync"))
        *out = BLOCK_CACHE_NONE;
    else if (!strcmp(s, "unsafe"))
        *out = BLOCK_CACHE_UNSAFE;
    else
        return -EINVAL;
    return 0;
}

int block_parse_aio(const char *s, enum block_aio *out)
{
    if (!strcmp(s, "threads"))
        *out = BLOCK_AIO_THREADS;
    else if (!strcmp(s, "native"))
        *out = BLOCK_AIO_NATIVE;
    else
        return -EINVAL;
    return 0;
}

char *bstate_backing_path(const char *image, const char *backing)
{
    char *copy, *dir, *path;

    if (backing[0] == '/' || !strchr(image, '/'))
        return xstrdup(backing);
    copy = xstrdup(image);
    dir = dirname(copy);
    path = xasprintf("%s/%s", dir, backing);
    free(copy);
    return path;
}

static const struct block_driver *bstate_probe(const uint8_t *buf, size_t len)
{
    const struct block_driver *best = &block_driver_raw;
    int score = 0;

    for (size_t i = 0; i < ARRAY_SIZE(block_drivers); i++) {
        int s = block_drivers[i]->probe(buf, len);

        if (s > score) {
            score = s;
            best = block_drivers[i];
        }
    }
    return best;
}

int bstate_open(struct block_state **out, const char *filename, const struct block_open_opts *o,
                struct block_state *overlay, char **err)
{
    struct block_state *bs;
    uint8_t head[512];
    struct stat st;
    int depth = 0, ret;

    for (struct block_state *p = overlay; p; p = p->overlay)
        depth++;
    if (depth >= BLOCK_MAX_CHAIN) {
        if (err)
            *err = xasprintf("'%s': backing chain longer than %d images", filename, BLOCK_MAX_CHAIN);
        return -ELOOP;
    }
    bs = xnew(struct block_state);
    bs->filename = xstrdup(filename);
    bs->read_only = o->read_only;
    bs->cache = o->cache;
    bs->aio = o->aio;
    bs->overlay = overlay;
    ret = bfile_open(&bs->file, filename, !o->read_only, o->cache, err);
    if (ret < 0)
        goto fail;
    if (fstat(bs->file->fd, &st) == 0) {
        bs->dev = st.st_dev;
        bs->ino = st.st_ino;
    }
    for (struct block_state *p = overlay; p; p = p->overlay) {
        if (p->dev == bs->dev && p->ino == bs->ino) {
            if (err) {
                struct block_state *top = overlay;

                while (top->overlay)
                    top = top->overlay;
                *err = xasprintf("'%s': backing chain loops: '%s' names '%s' as its backing file, which is "
                                 "already in the chain", top->filename, overlay->filename, filename);
            }
            ret = -ELOOP;
            goto fail;
        }
    }
    if (o->format) {
        bs->drv = block_driver_find(o->format);
        if (!bs->drv) {
            if (err)
                *err = xasprintf("'%s': unknown format '%s' (skiff knows raw and qcow2)", filename, o->format);
            ret = -EINVAL;
            goto fail;
        }
    } else {
        memset(head, 0, sizeof(head));
        ret = bfile_pread(bs->file, 0, head, sizeof(head));
        if (ret < 0 && ret != -EIO) {
            if (err)
                *err = xasprintf("'%s': cannot read: %s", filename, strerror(-ret));
            goto fail;
        }
        bs->drv = bstate_probe(head, sizeof(head));
        bs->probed = true;
    }
    ret = bs->drv->open(bs, o, err);
    if (ret < 0) {
        bs->drv = NULL;
        goto fail;
    }
    *out = bs;
    return 0;
fail:
    bstate_close(bs);
    return ret;
}

void bstate_close(struct block_state *bs)
{
    if (!bs)
        return;
    if (bs->drv)
        bs->drv->close(bs);
    if (bs->backing)
        bstate_close(bs->backing);
    bfile_close(bs->file);
    free(bs->backing_file);
    free(bs->backing_format);
    free(bs->filename);
    free(bs);
}

int bstate_preadv(struct block_state *bs, uint64_t off, const struct qiov *q)
{
    struct qiov part;
    size_t n;
    int ret;

    if (off + q->size <= bs->size)
        return bs->drv->preadv(bs, off, q);
    /* a backing file shorter than its overlay reads as zeros past its end */
    n = off < bs->size ? bs->size - off : 0;
    qiov_memset(q, n, 0, q->size - n);
    if (!n)
        return 0;
    qiov_init(&part, q->niov);
    qiov_concat(&part, q, 0, n);
    ret = bs->drv->preadv(bs, off, &part);
    qiov_destroy(&part);
    return ret;
}

int bstate_pread(struct block_state *bs, uint64_t off, void *buf, size_t len)
{
    struct iovec v = { buf, len };
    struct qiov q = { &v, 1, 1, len };

    return bstate_preadv(bs, off, &q);
}

int bstate_block_status(struct block_state *bs, uint64_t off, uint64_t len, uint64_t *pnum, uint64_t *map)
{
    if (off >= bs->size) {
        *pnum = len;
        *map = 0;
        return BSTAT_ZERO;
    }
    len = MIN(len, bs->size - off);
    return bs->drv->block_status(bs, off, len, pnum, map);
}

/* ---- devices and requests ---- */

enum block_req_type { REQ_READ, REQ_WRITE, REQ_FLUSH, REQ_DISCARD, REQ_ZEROES };

struct block_req {
    struct block_dev *bd;
    enum block_req_type type;
    uint64_t off, len;
    unsigned flags;
    struct qiov q;
    block_cb *cb;
    void *opaque;
    int64_t start;
    int ret;
    struct block_req *next;     /* on the device's early-completion list */
};

/*
 * Requests are submitted and completed in the drive's loop: the main loop (with the device
 * lock) unless a device bound the drive to its I/O thread. Only in_flight is read from
 * other threads (block_drain, block_in_flight).
 */
struct block_dev {
    struct block_state *bs;
    struct block_stats stats;
    unsigned in_flight;         /* atomic */
    struct event_loop *loop;
    struct laio_ctx *laio;      /* the data path through libaio where the driver can map it */
    bool discard_ignore;
    bool write_through;
    struct bh *bh;              /* completes requests refused at submission */
    struct block_req *early;
};

static void block_early_bh(void *opaque);

/*
 * -snapshot, as QEMU's: a qcow2 overlay in $TMPDIR (or /var/tmp) with the image as its backing
 * file takes the guest's writes; it is unlinked once open, so it goes when skiff does.
 */
static int block_open_snapshot(struct block_dev **out, const char *filename,
                               const struct block_open_opts *o, char **err)
{
    struct block_open_opts ro = *o, ov = *o;
    const char *dir = getenv("TMPDIR");
    struct block_dev *base;
    char path[PATH_MAX], real[PATH_MAX], *fmt;
    uint64_t size;
    int fd, r;

    /* the image's size and format, read-only */
    ro.snapshot = false;
    ro.read_only = true;
    if ((r = block_open(&base, filename, &ro, err)) < 0)
        return r;
    size = block_size(base);
    fmt = xstrdup(block_format(base));
    block_close(base);
    dir = dir && *dir ? dir : "/var/tmp";
    snprintf(path, sizeof(path), "%s/skiff-snapshot.XXXXXX", dir);
    if (!realpath(filename, real) || (fd = mkstemp(path)) < 0) {
        r = -errno;
        if (err)
            *err = xasprintf("-snapshot: no overlay for '%s' in %s: %s (TMPDIR names where it goes)",
                             filename, dir, strerror(-r));
        free(fmt);
        return r;
    }
    close(fd);
    r = qcow2_create(path, &(struct qcow2_create_opts){ .size = size, .backing_file = real,
                                                         .backing_format = fmt }, err);
    if (r == 0) {
        ov.snapshot = false;
        ov.format = "qcow2";
        r = block_open(out, path, &ov, err);
    }
    /* open, the overlay needs no name: it goes when skiff closes it */
    unlink(path);
    free(fmt);
    return r;
}

int block_open(struct block_dev **out, const char *filename, const struct block_open_opts *o, char **err)
{
    struct block_open_opts def = { 0 };
    struct block_dev *bd;
    int ret;

    if (!o)
        o = &def;
    if (o->snapshot && !o->read_only)
        return block_open_snapshot(out, filename, o, err);
    bd = xnew(struct block_dev);
    ret = bstate_open(&bd->bs, filename, o, NULL, err);
    if (ret < 0) {
        free(bd);
        return ret;
    }
    bd->loop = event_loop_main();
    if (o->aio == BLOCK_AIO_NATIVE && bd->bs->file->direct)
        bd->laio = laio_new(bd->loop);
    bd->discard_ignore = o->discard_ignore;
    bd->write_through = o->write_through;
    *out = bd;
    return 0;
}

void block_close(struct block_dev *bd)
{
    if (!bd)
        return;
    block_drain(bd);
    if (bd->bh)
        bh_free(bd->bh);
    laio_free(bd->laio);
    bstate_close(bd->bs);
    free(bd);
}

uint64_t block_size(struct block_dev *bd) { return bd->bs->size; }
const char *block_filename(struct block_dev *bd) { return bd->bs->filename; }
const char *block_format(struct block_dev *bd) { return bd->bs->drv->name; }
bool block_is_read_only(struct block_dev *bd) { return bd->bs->read_only; }

bool block_write_through(struct block_dev *bd)
{
    return bd->write_through;
}

void block_get_cache_info(struct block_dev *bd, struct block_cache_info *ci)
{
    ci->writeback = !bd->write_through;
    ci->direct = bd->bs->cache == BLOCK_CACHE_NONE;
    ci->no_flush = bd->bs->cache == BLOCK_CACHE_UNSAFE;
}
struct block_state *block_dev_state(struct block_dev *bd) { return bd->bs; }
unsigned block_in_flight(struct block_dev *bd) { return __atomic_load_n(&bd->in_flight, __ATOMIC_SEQ_CST); }
struct event_loop *block_get_loop(struct block_dev *bd) { return bd->loop; }

void block_get_stats(struct block_dev *bd, struct block_stats *st)
{
    *st = bd->stats;
}

int block_resize(struct block_dev *bd, uint64_t size)
{
    if (bd->bs->read_only)
        return -EROFS;
    if (!bd->bs->drv->truncate)
        return -ENOTSUP;
    return bd->bs->drv->truncate(bd->bs, size);
}

/* The checks every request passes before it reaches a driver. */
static int block_req_check(struct block_dev *bd, enum block_req_type type, uint64_t off, uint64_t len)
{
    if (type != REQ_READ && bd->bs->read_only)
        return -EROFS;
    if (type == REQ_FLUSH)
        return 0;
    if (off > bd->bs->size || len > bd->bs->size - off)
        return -EIO;
    return 0;
}

static int block_req_run(struct block_state *bs, enum block_req_type type, uint64_t off, uint64_t len,
                         unsigned flags, const struct qiov *q)
{
    switch (type) {
    case REQ_READ:
        return bs->drv->preadv(bs, off, q);
    case REQ_WRITE:
        return bs->drv->pwritev(bs, off, q);
    case REQ_FLUSH:
        return bs->drv->flush(bs);
    case REQ_DISCARD:
        return bs->drv->discard(bs, off, len);
    case REQ_ZEROES:
        return bs->drv->write_zeroes(bs, off, len, flags);
    }
    return -EINVAL;
}

static void block_account(struct block_dev *bd, enum block_req_type type, uint64_t len, int64_t ns, int ret)
{
    struct block_stats *s = &bd->stats;

/* the synchronous calls may come from several threads at once (convert -c) */
#define STAT_ADD(field, v) __atomic_fetch_add(&(field), (uint64_t)(v), __ATOMIC_RELAXED)

    if (ret < 0) {
        STAT_ADD(s->failed_ops, 1);
        return;
    }
    switch (type) {
    case REQ_READ: STAT_ADD(s->rd_ops, 1); STAT_ADD(s->rd_bytes, len); STAT_ADD(s->rd_ns, ns); break;
    case REQ_WRITE: STAT_ADD(s->wr_ops, 1); STAT_ADD(s->wr_bytes, len); STAT_ADD(s->wr_ns, ns); break;
    case REQ_FLUSH: STAT_ADD(s->flush_ops, 1); STAT_ADD(s->flush_ns, ns); break;
    case REQ_DISCARD: STAT_ADD(s->discard_ops, 1); STAT_ADD(s->discard_bytes, len); break;
    case REQ_ZEROES: STAT_ADD(s->zero_ops, 1); STAT_ADD(s->zero_bytes, len); break;
    }
}

void block_account_merged(struct block_dev *bd, bool write, unsigned n)
{
    struct block_stats *s = &bd->stats;

    if (write) {
        STAT_ADD(s->wr_merged, n);
        STAT_ADD(s->wr_ops, n);
    } else {
        STAT_ADD(s->rd_merged, n);
        STAT_ADD(s->rd_ops, n);
    }
}

/* A drain in another thread than the drive's loop waits here for the last completion. */
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_cond = PTHREAD_COND_INITIALIZER;
static int drain_waiters;

static void block_req_complete(struct block_req *r, int ret)
{
    struct block_dev *bd = r->bd;

    block_account(bd, r->type, r->len, clock_monotonic_ns() - r->start, ret);
    r->cb(r->opaque, ret);
    qiov_destroy(&r->q);
    free(r);
    /*
     * Counted out after the callback: a drain that sees none left knows no callback is
     * still running, and a request the callback submits keeps the count from touching 0.
     * Past this point bd may be gone (the drainer closes it).
     */
    if (__atomic_sub_fetch(&bd->in_flight, 1, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_load_n(&drain_waiters, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&drain_lock);
        pthread_cond_broadcast(&drain_cond);
        pthread_mutex_unlock(&drain_lock);
    }
}

static int block_req_work(void *arg)
{
    struct block_req *r = arg;

    block_debug_event("request");
    return block_req_run(r->bd->bs, r->type, r->off, r->len, r->flags, &r->q);
}

static void block_req_pool_done(void *arg, int ret)
{
    block_req_complete(arg, ret);
}

static void block_req_laio_done(void *arg, int ret)
{
    struct block_req *r = arg;

    if (ret == -EAGAIN) {       /* a short read at the end of the file: finish it in a worker */
        pool_submit(r->bd->loop, block_req_work, block_req_pool_done, r, r->bd->bs->file->direct);
        return;
    }
    block_req_complete(r, ret);
}

static void block_early_bh(void *opaque)
{
    struct block_dev *bd = opaque;
    struct block_req *list = bd->early, *next;

    bd->early = NULL;
    for (; list; list = next) {
        next = list->next;
        block_req_complete(list, list->ret);
    }
}

#define BLOCK_INLINE_MAX (256 * KiB)

/* One non-blocking attempt at the whole request; true when it all went through. */
static bool block_try_nowait(struct bfile *f, bool write, uint64_t off, const struct qiov *q)
{
    ssize_t n;

    if (q->niov > IOV_MAX || (write && f->read_only) || f->no_nowait[write])
        return false;
    if (write)
        n = pwritev2(f->fd, q->iov, q->niov, off, RWF_NOWAIT);
    else
        n = preadv2(f->fd, q->iov, q->niov, off, RWF_NOWAIT);
    if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS))
        f->no_nowait[write] = true;     /* don't ask again */
    /* a short transfer is simply redone whole by a worker */
    return n == (ssize_t)q->size;
}

/* Complete a request that needed no I/O from the drive's loop, never from inside its submission. */
static void block_complete_later(struct block_dev *bd, struct block_req *r, int ret)
{
    if (!bd->bh)
        bd->bh = bh_new_in(bd->loop, block_early_bh, bd);
    r->ret = ret;
    r->next = bd->early;
    bd->early = r;
    bh_schedule_soon(bd->bh);
}

/*
 * A request on a drive with no medium (an empty or just ejected CD-ROM): as QEMU's, it fails with
 * ENOMEDIUM, from the main loop like every completion, instead of reaching a driver.
 */
static struct {
    struct bh *bh;
    struct nomedium_req { block_cb *cb; void *opaque; struct nomedium_req *next; } *list;
} nomedium;

static void block_nomedium_bh(void *unused)
{
    struct nomedium_req *list = nomedium.list, *next;

    nomedium.list = NULL;
    for (; list; list = next) {
        next = list->next;
        list->cb(list->opaque, -ENOMEDIUM);
        free(list);
    }
}

static void block_submit_nomedium(block_cb *cb, void *opaque)
{
    struct nomedium_req *r = xnew(struct nomedium_req);

    log_guest_error("a request reached a drive with no medium");
    if (!nomedium.bh)
        nomedium.bh = bh_new(block_nomedium_bh, NULL);
    r->cb = cb;
    r->opaque = opaque;
    r->next = nomedium.list;
    nomedium.list = r;
    bh_schedule_soon(nomedium.bh);
}

static void block_submit(struct block_dev *bd, enum block_req_type type, uint64_t off, uint64_t len,
                         unsigned flags, const struct iovec *iov, int niov, block_cb *cb, void *opaque)
{
    struct block_req *r;
    int ret;

    if (!bd) {
        block_submit_nomedium(cb, opaque);
        return;
    }
    r = xnew(struct block_req);

    r->bd = bd;
    r->type = type;
    r->off = off;
    r->flags = flags;
    r->cb = cb;
    r->opaque = opaque;
    r->start = clock_monotonic_ns();
    qiov_init(&r->q, niov);
    for (int i = 0; i < niov; i++)
        qiov_add(&r->q, iov[i].iov_base, iov[i].iov_len);
    r->len = iov ? r->q.size : len;
    __atomic_add_fetch(&bd->in_flight, 1, __ATOMIC_SEQ_CST);

    ret = block_req_check(bd, type, off, r->len);
    if (ret < 0 || (type != REQ_FLUSH && r->len == 0) || (type == REQ_DISCARD && bd->discard_ignore)) {
        block_complete_later(bd, r, ret);
        return;
    }
    if ((type == REQ_READ || type == REQ_WRITE) && bd->bs->drv->map_direct) {
        uint64_t host;
        int m = bd->bs->drv->map_direct(bd->bs, off, r->len, type == REQ_WRITE, &host);

        if (m == MAP_ZERO) {
            /* nothing to read: zeros, completed from the main loop */
            qiov_memset(&r->q, 0, 0, r->len);
            block_complete_later(bd, r, 0);
            return;
        }
        /*
         * Small requests the page cache can serve are done right here without
         * blocking (RWF_NOWAIT): no worker, no thread switch. Anything else
         * (data not cached, a file system without NOWAIT) goes on below.
         */
        if (m == MAP_HOST && !bd->bs->file->direct && r->len <= BLOCK_INLINE_MAX &&
            block_try_nowait(bd->bs->file, type == REQ_WRITE, host, &r->q)) {
            block_complete_later(bd, r, 0);
            return;
        }
        /* straight to the file when the format knows where, without waiting */
        if (m == MAP_HOST && bd->laio && IS_ALIGNED(host, bd->bs->file->align) &&
            qiov_is_aligned(&r->q, bd->bs->file->align) &&
            laio_submit(bd->laio, bd->bs->file->fd, type == REQ_WRITE, host, &r->q, block_req_laio_done, r) == 0)
            return;
    }
    pool_submit(bd->loop, block_req_work, block_req_pool_done, r, bd->bs->file->direct);
}

void block_aio_readv(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int niov,
                     block_cb *cb, void *opaque)
{
    block_submit(bd, REQ_READ, offset, 0, 0, iov, niov, cb, opaque);
}

void block_aio_writev(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int niov,
                      block_cb *cb, void *opaque)
{
    block_submit(bd, REQ_WRITE, offset, 0, 0, iov, niov, cb, opaque);
}

void block_aio_flush(struct block_dev *bd, block_cb *cb, void *opaque)
{
    block_submit(bd, REQ_FLUSH, 0, 0, 0, NULL, 0, cb, opaque);
}

void block_aio_discard(struct block_dev *bd, uint64_t offset, uint64_t bytes, block_cb *cb, void *opaque)
{
    block_submit(bd, REQ_DISCARD, offset, bytes, 0, NULL, 0, cb, opaque);
}

void block_aio_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t bytes, unsigned flags,
                            block_cb *cb, void *opaque)
{
    block_submit(bd, REQ_ZEROES, offset, bytes, flags, NULL, 0, cb, opaque);
}

void block_drain(struct block_dev *bd)
{
    if (!block_in_flight(bd))
        return;
    block_debug_resume();       /* a request held at a test breakpoint would never end */
    if (bd->loop == event_loop_main() || bd->loop == event_loop_current()) {
        while (block_in_flight(bd))
            event_loop_iterate(bd->loop, true);
        return;
    }
    /* the completions run in the drive's I/O thread: wait for them, run no loop here */
    __atomic_add_fetch(&drain_waiters, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&drain_lock);
    while (block_in_flight(bd))
        pthread_cond_wait(&drain_cond, &drain_lock);
    pthread_mutex_unlock(&drain_lock);
    __atomic_sub_fetch(&drain_waiters, 1, __ATOMIC_SEQ_CST);
}

void block_set_loop(struct block_dev *bd, struct event_loop *l)
{
    if (!l)
        l = event_loop_main();
    if (l == bd->loop)
        return;
    block_drain(bd);
    /* made again in the new loop when next needed */
    if (bd->bh) {
        bh_free(bd->bh);
        bd->bh = NULL;
    }
    if (bd->laio && laio_set_loop(bd->laio, l) < 0) {
        log_warn("'%s': native AIO cannot follow the drive to its new loop; using threads",
                 bd->bs->filename);
        laio_free(bd->laio);
        bd->laio = NULL;
    }
    bd->loop = l;
}

/* ---- synchronous ---- */

static int block_sync(struct block_dev *bd, enum block_req_type type, uint64_t off, uint64_t len,
                      unsigned flags, void *buf)
{
    struct iovec v = { buf, len };
    struct qiov q = { &v, 1, 1, len };
    int64_t start = clock_monotonic_ns();
    int ret;

    ret = block_req_check(bd, type, off, len);
    if (ret == 0 && (len || type == REQ_FLUSH))
        ret = block_req_run(bd->bs, type, off, len, flags, &q);
    block_account(bd, type, len, clock_monotonic_ns() - start, ret);
    return ret;
}

int block_pread(struct block_dev *bd, uint64_t offset, void *buf, size_t len)
{
    return block_sync(bd, REQ_READ, offset, len, 0, buf);
}

int block_pwrite(struct block_dev *bd, uint64_t offset, const void *buf, size_t len)
{
    return block_sync(bd, REQ_WRITE, offset, len, 0, (void *)buf);
}

int block_flush(struct block_dev *bd)
{
    return block_sync(bd, REQ_FLUSH, 0, 0, 0, NULL);
}

int block_discard(struct block_dev *bd, uint64_t offset, uint64_t bytes)
{
    return block_sync(bd, REQ_DISCARD, offset, bytes, 0, NULL);
}

int block_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t bytes, unsigned flags)
{
    return block_sync(bd, REQ_ZEROES, offset, bytes, flags, NULL);
}
