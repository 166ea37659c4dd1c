/* test-qcow2.c: qcow2 through the block API: many requests in flight on every engine, reopen, snapshots, relative backing files, check */
#include "block/qcow2.h"
#include "util/main-loop.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static int done_count, first_error;

static void on_done(void *opaque, int ret)
{
    done_count++;
    if (ret < 0 && !first_error)
        first_error = ret;
}

static void wait_for(int n)
{
    while (done_count < n)
        loop_iterate(true);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 31 + i * 13 + (i >> 11));
}

static bool clean(const char *path)
{
    struct block_open_opts o = { .format = "qcow2", .read_only = true, .check = true, .no_backing = true };
    struct qcow2_check_result r;
    struct block_dev *bd;
    bool ok;

    if (block_open(&bd, path, &o, NULL) < 0)
        return false;
    ok = qcow2_check(block_dev_state(bd), 0, &r, NULL) == 0 && !r.corruptions && !r.leaks && !r.check_errors;
    block_close(bd);
    return ok;
}

/* 96 writes in flight at once over distinct ranges (some unaligned, some spanning clusters), then reads */
static void test_concurrent(enum block_cache cache, enum block_aio aio, uint64_t cluster, const char *what)
{
    struct qcow2_create_opts co = { .size = 32 * MiB, .cluster_size = cluster };
    struct block_open_opts o = { .cache = cache, .aio = aio };
    char *path = xasprintf("%s/c.qcow2", dir), *err = NULL;
    uint64_t size = co.size;
    uint8_t *model = xzalloc(size), *back = xzalloc(size);
    struct block_dev *bd;
    int n = 0, ret;

    CHECK(qcow2_create(path, &co, &err) == 0, "%s: qcow2_create makes an image (%s)", what, err ? err : "");
    ret = block_open(&bd, path, &o, &err);
    if (ret == -EINVAL && cache == BLOCK_CACHE_NONE) {
        tap_skip("this file system refuses O_DIRECT", "%s", what);
        goto out;
    }
    CHECK(ret == 0 && !strcmp(block_format(bd), "qcow2"), "%s: the image probes as qcow2", what);
    if (ret < 0)
        goto out;
    done_count = first_error = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 96; i++) {
            uint64_t slot = size / 96, off = (uint64_t)i * slot + (i % 4 ? (uint64_t)(i * 4097 + round * 512) % 65536 : 0);
            size_t len = (i % 3 == 0) ? 4096 : (size_t)(slot / 2 - (uint64_t)(i % 7) * 512);
            struct iovec v = { model + off, len };

            fill(model + off, len, i + round * 100);
            block_aio_writev(bd, off, &v, 1, on_done, NULL);
            n++;
        }
        wait_for(n);
    }
    CHECK(first_error == 0, "%s: 192 writes, 96 at a time, all succeed", what);
    block_aio_flush(bd, on_done, NULL);
    wait_for(++n);
    for (uint64_t off = 0; off < size; off += 4 * MiB) {
        struct iovec v = { back + off, 4 * MiB };

        block_aio_readv(bd, off, &v, 1, on_done, NULL);
        n++;
    }
    wait_for(n);
    CHECK(first_error == 0 && memcmp(model, back, size) == 0, "%s: everything reads back, concurrently", what);
    block_close(bd);
    CHECK(clean(path), "%s: check finds neither leaks nor corruption", what);
    ret = block_open(&bd, path, &o, NULL);
    memset(back, 0, size);
    CHECK(ret == 0 && block_pread(bd, 0, back, size) == 0 && memcmp(model, back, size) == 0,
          "%s: after closing and reopening, the content is there", what);
    if (ret == 0)
        block_close(bd);
out:
    free(err);
    unlink(path);
    free(path);
    free(model);
    free(back);
}

/*
 * A slow disk on demand: this program's fdatasync (which the block layer's calls reach, the
 * program's own definition coming before the C library's) holds the first call after
 * sync_hold_arm() until sync_release(), so a test can look at what waits on a flush.
 */
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static bool sync_armed, sync_entered, sync_released;

int fdatasync(int fd)
{
    pthread_mutex_lock(&sync_mu);
    if (sync_armed) {
        sync_armed = false;
        sync_entered = true;
        pthread_cond_broadcast(&sync_cv);
        while (!sync_released)
            pthread_cond_wait(&sync_cv, &sync_mu);
    }
    pthread_mutex_unlock(&sync_mu);
    return (int)syscall(SYS_fdatasync, fd);
}

static void sync_hold_arm(void)
{
    pthread_mutex_lock(&sync_mu);
    sync_armed = true;
    sync_entered = sync_released = false;
    pthread_mutex_unlock(&sync_mu);
}

/* Wait up to `secs` for a held fdatasync to begin; true when one did. */
static bool sync_wait_entered(int secs)
{
    struct timespec until;
    bool in;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += secs;
    pthread_mutex_lock(&sync_mu);
    while (!sync_entered && pthread_cond_timedwait(&sync_cv, &sync_mu, &until) == 0)
        ;
    in = sync_entered;
    pthread_mutex_unlock(&sync_mu);
    return in;
}

static void sync_release(void)
{
    pthread_mutex_lock(&sync_mu);
    sync_armed = false;
    sync_released = true;
    pthread_cond_broadcast(&sync_cv);
    pthread_mutex_unlock(&sync_mu);
}

static bool sync_was_released(void)
{
    bool r;

    pthread_mutex_lock(&sync_mu);
    r = sync_released;
    pthread_mutex_unlock(&sync_mu);
    return r;
}

/* The way out when a submission does wait on the flush: let the disk go after a while. */
static void *sync_watchdog(void *arg)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += *(int *)arg;
    pthread_mutex_lock(&sync_mu);
    while (!sync_released && pthread_cond_timedwait(&sync_cv, &sync_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&sync_mu);
    sync_release();
    return NULL;
}

/*
 * A guest's request is submitted by a vCPU thread holding the device lock, which every other
 * exit, the monitor and the timers need. It must not wait while a worker flushes the image to
 * the disk (issue #11, 8): here the disk holds a flush's fdatasync until released, and a read
 * submitted meanwhile must come back from its submission before that, and complete afterwards.
 */
static void test_flush_does_not_block_submission(void)
{
    struct qcow2_create_opts co = { .size = 4 * MiB };
    char *path = xasprintf("%s/f.qcow2", dir), *err = NULL;
    static uint8_t a[65536], b[65536], r[65536];
    int n = 0, secs = 30;
    struct block_dev *bd;
    pthread_t dog;
    bool held;

    fill(a, sizeof(a), 3);
    fill(b, sizeof(b), 4);
    qcow2_create(path, &co, &err);
    if (block_open(&bd, path, NULL, &err) < 0) {
        CHECK(false, "flush: the image opens (%s)", err ? err : "");
        goto out;
    }
    block_pwrite(bd, 0, a, sizeof(a));
    block_flush(bd);
    /* an allocating write leaves refcount blocks and an L2 table dirty for the flush to write */
    block_pwrite(bd, MiB, b, sizeof(b));
    done_count = first_error = 0;
    sync_hold_arm();
    block_aio_flush(bd, on_done, NULL);
    n++;
    held = sync_wait_entered(secs);
    CHECK(held, "flush: the flush reaches the disk's fdatasync");
    if (!held) {
        sync_release();
        wait_for(n);
        block_close(bd);
        goto out;
    }
    pthread_create(&dog, NULL, sync_watchdog, &secs);
    /* what a vCPU does on a guest's read of a cluster whose mapping is cached */
    block_aio_readv(bd, 0, &(struct iovec){ r, sizeof(r) }, 1, on_done, NULL);
    n++;
    CHECK(!sync_was_released(), "flush: a read submitted while the flush waits on the disk is not held up by it");
    sync_release();
    pthread_join(dog, NULL);
    wait_for(n);
    CHECK(first_error == 0 && !memcmp(r, a, sizeof(r)), "flush: the flush and the read both complete, the read with the data");
    block_close(bd);
    if (block_open(&bd, path, NULL, &err) == 0) {
        block_pread(bd, MiB, r, sizeof(r));
        CHECK(!memcmp(r, b, sizeof(r)), "flush: the data flushed reads back after reopening");
        block_close(bd);
    }
    CHECK(clean(path), "flush: the image checks clean");
out:
    unlink(path);
    free(path);
    free(err);
}

/*
 * A read that finds damage marks the image corrupt: the header is rewritten with the corrupt
 * bit and synced. That must happen under the image lock like every other header update (issue
 * #11, 10), or it races with a writer's (a grown L1 or refcount table). The read meets a
 * compressed cluster whose L2 entry points into the header; while its header sync is held,
 * the image lock must be taken.
 */
static void test_corrupt_from_read_is_locked(void)
{
    struct qcow2_create_opts co = { .size = 4 * MiB };
    char *path = xasprintf("%s/k.qcow2", dir), *err = NULL;
    static uint8_t buf[65536], r[4096];
    struct block_open_opts ro = { .read_only = true };
    struct block_dev *bd;
    struct qcow2 *s;
    uint64_t l2off = 0;
    uint8_t be[8];
    int fd, busy = 0, n = 0;
    bool held;

    memset(buf, 0x11, sizeof(buf));
    qcow2_create(path, &co, &err);
    if (block_open(&bd, path, NULL, &err) < 0) {
        CHECK(false, "corrupt: the image opens (%s)", err ? err : "");
        goto out;
    }
    qcow2_write_compressed(block_dev_state(bd), 0, buf, sizeof(buf));
    block_flush(bd);
    l2off = qcow2_of(block_dev_state(bd))->l1[0] & QCOW2_L1E_OFFSET_MASK;
    block_close(bd);
    /* the compressed cluster's L2 entry now says its data lies at byte 512 of the header */
    stq_be(be, QCOW2_OFLAG_COMPRESSED | 512);
    fd = open(path, O_RDWR);
    CHECK(l2off && fd >= 0 && pwrite(fd, be, 8, l2off) == 8, "corrupt: the L2 entry is damaged");
    close(fd);
    if (block_open(&bd, path, NULL, &err) < 0) {
        CHECK(false, "corrupt: the damaged image opens (%s)", err ? err : "");
        goto out;
    }
    s = qcow2_of(block_dev_state(bd));
    done_count = first_error = 0;
    sync_hold_arm();
    block_aio_readv(bd, 0, &(struct iovec){ r, sizeof(r) }, 1, on_done, NULL);
    n++;
    held = sync_wait_entered(30);
    CHECK(held, "corrupt: the read marks the image corrupt and syncs its header");
    if (held) {
        busy = pthread_mutex_trylock(&s->lock);
        if (busy == 0)
            pthread_mutex_unlock(&s->lock);
    }
    CHECK(busy == EBUSY, "corrupt: the image lock is held while the header is written and synced");
    sync_release();
    wait_for(n);
    CHECK(first_error == -EIO, "corrupt: the read fails with EIO");
    block_close(bd);
    if (block_open(&bd, path, &ro, &err) == 0) {
        CHECK(qcow2_of(block_dev_state(bd))->incompat & QCOW2_INCOMPAT_CORRUPT, "corrupt: the corrupt bit is on the disk");
        block_close(bd);
    }
out:
    unlink(path);
    free(path);
    free(err);
}

static void test_snapshots_and_backing(void)
{
    char *sub = xasprintf("%s/sub", dir), *base = xasprintf("%s/sub/base.qcow2", dir);
    char *top = xasprintf("%s/top.qcow2", dir), *err = NULL;
    struct qcow2_create_opts co = { .size = 4 * MiB };
    struct block_dev *bd;
    uint8_t a[65536], b[65536], r[65536];
    int ret;

    mkdir(sub, 0755);
    fill(a, sizeof(a), 1);
    fill(b, sizeof(b), 2);
    qcow2_create(base, &co, &err);
    block_open(&bd, base, NULL, &err);
    block_pwrite(bd, 0, a, sizeof(a));
    ret = qcow2_snapshot_create(block_dev_state(bd), "one", &err);
    CHECK(ret == 0, "a snapshot is taken");
    block_pwrite(bd, 0, b, sizeof(b));
    block_pread(bd, 0, r, sizeof(r));
    CHECK(!memcmp(r, b, sizeof(r)), "writes after the snapshot are seen");
    ret = qcow2_snapshot_apply(block_dev_state(bd), "one", &err);
    block_pread(bd, 0, r, sizeof(r));
    CHECK(ret == 0 && !memcmp(r, a, sizeof(r)), "applying the snapshot brings the old content back");
    ret = qcow2_snapshot_delete(block_dev_state(bd), "one", &err);
    CHECK(ret == 0, "the snapshot is deleted");
    block_close(bd);
    CHECK(clean(base), "after snapshot create, apply and delete, check is clean");

    /* the overlay names its backing file relative to its own folder */
    co.backing_file = "sub/base.qcow2";
    co.backing_format = "qcow2";
    ret = qcow2_create(top, &co, &err);
    CHECK(ret == 0, "an overlay with a relative backing file is made");
    ret = chdir("/");
    ret = block_open(&bd, top, NULL, &err);
    CHECK(ret == 0, "it opens from another working folder (%s)", err ? err : "");
    if (ret == 0) {
        block_pread(bd, 0, r, sizeof(r));
        CHECK(!memcmp(r, a, sizeof(r)), "reads fall through to the backing file");
        block_pwrite(bd, 4096, b, 4096);
        block_pread(bd, 0, r, sizeof(r));
        CHECK(!memcmp(r, a, 4096) && !memcmp(r + 4096, b, 4096) && !memcmp(r + 8192, a + 8192, sizeof(r) - 8192),
              "a partial write copies the rest of the cluster from the backing file");
        block_close(bd);
    }
    CHECK(clean(top), "the overlay checks clean");
    free(err);
    unlink(top);
    unlink(base);
    rmdir(sub);
    free(sub);
    free(base);
    free(top);
}

int main(void)
{
    dir = tap_tmp_path("skiff-test-qcow2.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    loop_init();
    devlock_lock();
    test_concurrent(BLOCK_CACHE_WRITEBACK, BLOCK_AIO_THREADS, 65536, "writeback, threads, 64k clusters");
    test_concurrent(BLOCK_CACHE_WRITEBACK, BLOCK_AIO_THREADS, 512, "writeback, threads, 512-byte clusters");
    test_concurrent(BLOCK_CACHE_NONE, BLOCK_AIO_THREADS, 4096, "cache=none, threads, 4k clusters");
    test_concurrent(BLOCK_CACHE_NONE, BLOCK_AIO_NATIVE, 65536, "cache=none, native, 64k clusters");
    test_concurrent(BLOCK_CACHE_NONE, BLOCK_AIO_NATIVE, 2 * MiB, "cache=none, native, 2M clusters");
    test_snapshots_and_backing();
    test_flush_does_not_block_submission();
    test_corrupt_from_read_is_locked();
    rmdir(dir);
    free(dir);
    return tap_done();
}
