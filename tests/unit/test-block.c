/* test-block.c: the block API on raw images: both engines, every cache mode, odd alignments, errors, statistics */
#include "block/block.h"
#include "util/main-loop.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <unistd.h>

static char dir[] = "/tmp/skiff-test-block.XXXXXX";

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

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    loop_init();
    devlock_lock();
    test_engine(BLOCK_CACHE_WRITEBACK, BLOCK_AIO_THREADS, "cache=writeback,aio=threads");
    test_engine(BLOCK_CACHE_NONE, BLOCK_AIO_THREADS, "cache=none,aio=threads");
    test_engine(BLOCK_CACHE_NONE, BLOCK_AIO_NATIVE, "cache=none,aio=native");
    test_engine(BLOCK_CACHE_UNSAFE, BLOCK_AIO_THREADS, "cache=unsafe");
    test_errors();
    rmdir(dir);
    return tap_done();
}
