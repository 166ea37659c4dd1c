/* test-block.c: the block API on raw images: both engines, every cache mode, odd alignments, errors, statistics, and drives bound to an I/O thread */
#include "block/block.h"
#include "util/iothread.h"
#include "util/main-loop.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

static char *dir;

struct wait { int done, ret; };

static void on_done(void *opaque, int ret)
{
    struct wait *w = opaque;

    w->done++;
    if (ret < 0)
        w->ret = ret;
}

static void wait_for(struct wait *w, int n)
{
    while (w->done < n)
        loop_iterate(true);
}

static char *mkfile(const char *name, uint64_t size)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);

    if (fd < 0 || ftruncate(fd, size) < 0)
        abort();
    close(fd);
    return path;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* Many overlapping-free async writes then reads, checked against a model. */
static void test_engine(enum block_cache cache, enum block_aio aio, const char *what)
{
    struct block_open_opts o = { .format = "raw", .cache = cache, .aio = aio };
    uint64_t size = 4 * MiB;
    char *path = mkfile("engine.raw", size);
    uint8_t *model = xzalloc(size), *back = xzalloc(size);
    struct block_dev *bd;
    struct wait w = { 0 };
    char *err = NULL;
    int n = 0, ret;

    ret = block_open(&bd, path, &o, &err);
    if (ret == -EINVAL && cache == BLOCK_CACHE_NONE) {
        tap_skip("this file system refuses O_DIRECT", "%s", what);
        free(err);
        goto out;
    }
    CHECK(ret == 0, "%s: a raw image opens (%s)", what, err ? err : "");
    if (ret < 0)
        goto out;
    /* 64 requests in flight at once, aligned and unaligned, some vectored */
    for (int i = 0; i < 64; i++) {
        uint64_t off = (uint64_t)i * 65536 + (i % 3 == 0 ? 0 : (uint64_t)(i * 37) % 4096);
        size_t len = i % 2 ? 4096 : 65536 - (off % 65536) - (i % 5);
        struct iovec v[2];

        fill(model + off, len, i);
        v[0] = (struct iovec){ model + off, len / 2 };
        v[1] = (struct iovec){ model + off + len / 2, len - len / 2 };
        block_aio_writev(bd, off, v, 2, on_done, &w);
        n++;
    }
    CHECK(block_in_flight(bd) > 0, "%s: requests complete later, in the event loop", what);
    wait_for(&w, n);
    CHECK(w.ret == 0, "%s: 64 concurrent writes succeed", what);
    block_aio_flush(bd, on_done, &w);
    wait_for(&w, ++n);
    CHECK(w.ret == 0, "%s: flush succeeds", what);
    for (uint64_t off = 0; off < size; off += MiB) {
        struct iovec v = { back + off, MiB };

        block_aio_readv(bd, off, &v, 1, on_done, &w);
        n++;
    }
    wait_for(&w, n);
    CHECK(w.ret == 0 && memcmp(model, back, size) == 0, "%s: what was written reads back", what);
    /* an odd-sized read at an odd offset */
    {
        uint8_t buf[1000];
        struct iovec v = { buf, sizeof(buf) };

        block_aio_readv(bd, 12345, &v, 1, on_done, &w);
        wait_for(&w, ++n);
        CHECK(w.ret == 0 && memcmp(buf, model + 12345, sizeof(buf)) == 0,
              "%s: an unaligned read returns the right bytes", what);
    }
    /* write zeroes and discard */
    block_aio_write_zeroes(bd, 65536, 131072, 0, on_done, &w);
    block_aio_discard(bd, 1 * MiB, 1 * MiB, on_done, &w);
    n += 2;
    wait_for(&w, n);
    memset(model + 65536, 0, 131072);
    CHECK(w.ret == 0, "%s: write-zeroes and discard succeed", what);
    ret = block_pread(bd, 0, back, size);
    CHECK(ret == 0 && memcmp(back, model, 1 * MiB) == 0, "%s: zeroed range reads as zeros", what);
    {
        struct block_stats st;

        block_get_stats(bd, &st);
        CHECK(st.wr_ops == 64 && st.rd_ops == 6 && st.flush_ops == 1 && st.rd_bytes == size + 1000 + size,
              "%s: statistics count requests and bytes", what);
    }
    block_close(bd);
out:
    free(model);
    free(back);
    unlink(path);
    free(path);
}

static void test_errors(void)
{
    struct block_open_opts ro = { .format = "raw", .read_only = true };
    char *path = mkfile("err.raw", 1 * MiB);
    struct block_dev *bd;
    struct wait w = { 0 };
    uint8_t buf[512] = { 0 };
    struct iovec v = { buf, sizeof(buf) };
    char *err = NULL;
    int ret;

    ret = block_open(&bd, "/nonexistent/disk.raw", NULL, &err);
    CHECK(ret == -ENOENT && err && strstr(err, "/nonexistent/disk.raw") && strstr(err, "no such file"),
          "a missing file gets an error naming it: %s", err ? err : "(none)");
    free(err);
    err = NULL;
    ret = block_open(&bd, path, &(struct block_open_opts){ .format = "vmdk" }, &err);
    CHECK(ret == -EINVAL && err && strstr(err, "unknown format"), "an unknown format is refused: %s", err ? err : "");
    free(err);
    err = NULL;

    ret = block_open(&bd, path, &ro, &err);
    CHECK(ret == 0, "a read-only open works");
    block_aio_writev(bd, 0, &v, 1, on_done, &w);
    wait_for(&w, 1);
    CHECK(w.ret == -EROFS, "a write to a read-only device fails with EROFS");
    w.ret = 0;
    block_aio_readv(bd, 1 * MiB - 256, &v, 1, on_done, &w);
    wait_for(&w, 2);
    CHECK(w.ret == -EIO, "a read past the end fails with EIO");
    block_close(bd);

    /* a probed raw image may not become a qcow2 header by a guest write */
    ret = block_open(&bd, path, NULL, &err);
    CHECK(ret == 0 && !strcmp(block_format(bd), "raw"), "a zero-filled file probes as raw");
    memcpy(buf, "QFI\xfb\0\0\0\3", 8);
    ret = block_pwrite(bd, 0, buf, sizeof(buf));
    CHECK(ret == -EPERM, "writing a qcow2 magic into sector 0 of a probed raw image is refused");
    block_close(bd);
    ret = block_open(&bd, path, &(struct block_open_opts){ .format = "raw" }, &err);
    CHECK(ret == 0 && block_pwrite(bd, 0, buf, sizeof(buf)) == 0,
          "with format=raw given, any content may be written");
    block_close(bd);
    unlink(path);
    free(path);
}

/* ---- a drive bound to an I/O thread ---- */

#define IOT_REQS 32
#define IOT_LEN (64 * KiB)

struct iot {
    struct block_dev *bd;
    struct iothread *t;
    uint8_t *buf;
    struct iot_req { struct iot *c; int ret; } req[IOT_REQS + 1];
    atomic_int done, elsewhere;
    unsigned in_flight;         /* right after submitting */
};

static void iot_done(void *opaque, int ret)
{
    struct iot_req *q = opaque;
    struct iot *c = q->c;

    if (event_loop_current() != iothread_loop(c->t))
        atomic_fetch_add(&c->elsewhere, 1);
    q->ret = ret;
    /* a slow completion: a drain that does not wait for every callback to return is seen */
    usleep(5000);
    atomic_fetch_add(&c->done, 1);
}

/* In the I/O thread: writes the drive's engine serves, and one it refuses at once. */
static void iot_submit(void *opaque)
{
    struct iot *c = opaque;

    for (int i = 0; i < IOT_REQS; i++) {
        struct iovec v = { c->buf + i * IOT_LEN, IOT_LEN };

        c->req[i] = (struct iot_req){ c, 1 };
        block_aio_writev(c->bd, (uint64_t)i * IOT_LEN, &v, 1, iot_done, &c->req[i]);
    }
    {
        struct iovec v = { c->buf, 512 };

        c->req[IOT_REQS] = (struct iot_req){ c, 1 };
        block_aio_readv(c->bd, block_size(c->bd), &v, 1, iot_done, &c->req[IOT_REQS]);
    }
    c->in_flight = block_in_flight(c->bd);
}

/* Larger than what is served from the page cache in place, so that it reaches an engine. */
static void iot_read_one(void *opaque)
{
    struct iot *c = opaque;
    struct iovec v = { c->buf, 8 * IOT_LEN };

    c->req[0] = (struct iot_req){ c, 1 };
    block_aio_readv(c->bd, 0, &v, 1, iot_done, &c->req[0]);
}

static void main_done(void *opaque, int ret)
{
    struct wait *w = opaque;

    w->ret = event_loop_current() == event_loop_main() && pthread_equal(pthread_self(), *(pthread_t *)(w + 1)) ? ret : -EXDEV;
    w->done++;
}

static void test_iothread_engine(enum block_cache cache, enum block_aio aio, const char *what)
{
    struct block_open_opts o = { .format = "raw", .cache = cache, .aio = aio };
    char *path = mkfile("iothread.raw", IOT_REQS * IOT_LEN);
    struct iot c = { 0 };
    uint8_t *back = NULL;
    char *err = NULL;
    bool ok = true;
    int ret;

    if (block_open(&c.bd, path, &o, &err) < 0 || iothread_new(&c.t, "blk", &err) < 0) {
        CHECK(false, "%s: a drive and an I/O thread for it (%s)", what, err ? err : "");
        free(err);
        goto out;
    }
    if (posix_memalign((void **)&c.buf, 4096, IOT_REQS * IOT_LEN) || posix_memalign((void **)&back, 4096, IOT_LEN))
        abort();
    for (int i = 0; i < IOT_REQS; i++)
        fill(c.buf + i * IOT_LEN, IOT_LEN, i + 1);
    block_set_loop(c.bd, iothread_loop(c.t));
    CHECK(block_get_loop(c.bd) == iothread_loop(c.t), "%s: the drive is bound to the I/O thread's loop", what);

    iothread_run(c.t, iot_submit, &c);
    block_drain(c.bd);
    CHECK(c.in_flight == IOT_REQS + 1 && atomic_load(&c.done) == IOT_REQS + 1 && block_in_flight(c.bd) == 0,
          "%s: a drain from the main thread returns once every completion has run (%u in flight, %d done)",
          what, c.in_flight, atomic_load(&c.done));
    CHECK(atomic_load(&c.elsewhere) == 0, "%s: every completion ran in the I/O thread, the refused read's too", what);
    for (int i = 0; i < IOT_REQS; i++)
        ok &= c.req[i].ret == 0;
    CHECK(ok && c.req[IOT_REQS].ret == -EIO, "%s: the writes succeed and the read past the end fails with EIO", what);
    for (int i = 0; i < IOT_REQS && ok; i++)
        ok = block_pread(c.bd, (uint64_t)i * IOT_LEN, back, IOT_LEN) == 0 && !memcmp(back, c.buf + i * IOT_LEN, IOT_LEN);
    CHECK(ok, "%s: what the I/O thread wrote reads back", what);

    /* which engine served it: only the thread pool's workers pass the "request" point */
    block_debug_break("request");
    iothread_run(c.t, iot_read_one, &c);
    ret = block_debug_wait(aio == BLOCK_AIO_NATIVE ? 300 : 5000);
    block_debug_resume();
    block_drain(c.bd);
    if (aio == BLOCK_AIO_NATIVE)
        CHECK(ret == -ETIMEDOUT && c.req[0].ret == 0, "%s: native AIO serves the drive in the I/O thread, no worker", what);
    else
        CHECK(ret == 0 && c.req[0].ret == 0, "%s: a worker serves the drive in the I/O thread", what);

    /* and back to the main loop */
    block_set_loop(c.bd, NULL);
    {
        struct { struct wait w; pthread_t self; } m = { { 0, 0 }, pthread_self() };
        struct iovec v = { back, IOT_LEN };

        block_aio_readv(c.bd, 0, &v, 1, main_done, &m);
        wait_for(&m.w, 1);
        CHECK(block_get_loop(c.bd) == event_loop_main() && m.w.ret == 0 && !memcmp(back, c.buf, IOT_LEN),
              "%s: moved back, the drive completes in the main loop again", what);
    }
    /* closed while bound: the drain and the engine's teardown wait for the I/O thread */
    block_set_loop(c.bd, iothread_loop(c.t));
    atomic_store(&c.done, 0);
    iothread_run(c.t, iot_submit, &c);
    block_close(c.bd);
    c.bd = NULL;
    CHECK(atomic_load(&c.done) == IOT_REQS + 1, "%s: closing a drive bound to the I/O thread waits for its requests", what);
out:
    block_close(c.bd);
    iothread_free(c.t);
    free(c.buf);
    free(back);
    unlink(path);
    free(path);
}

int main(void)
{
    dir = tap_tmp_path("skiff-test-block.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    loop_init();
    devlock_lock();
    test_engine(BLOCK_CACHE_WRITEBACK, BLOCK_AIO_THREADS, "cache=writeback,aio=threads");
    test_engine(BLOCK_CACHE_NONE, BLOCK_AIO_THREADS, "cache=none,aio=threads");
    test_engine(BLOCK_CACHE_NONE, BLOCK_AIO_NATIVE, "cache=none,aio=native");
    test_engine(BLOCK_CACHE_UNSAFE, BLOCK_AIO_THREADS, "cache=unsafe");
    test_errors();
    test_iothread_engine(BLOCK_CACHE_WRITEBACK, BLOCK_AIO_THREADS, "in an I/O thread, aio=threads");
    test_iothread_engine(BLOCK_CACHE_NONE, BLOCK_AIO_NATIVE, "in an I/O thread, cache=none,aio=native");
    rmdir(dir);
    free(dir);
    return tap_done();
}
