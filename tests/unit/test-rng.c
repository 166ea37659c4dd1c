/* test-rng.c: the rng backends a virtio-rng device will read: rng-builtin and rng-random (a pipe, a file, a missing file), completions in the requester's loop, order, cancelling */
#include "rng/rng.h"
#include "util/iothread.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

/* budget: 60 */

static char *dir;

struct got {
    atomic_int n;
    int ret;
    struct event_loop *loop;
};

static void on_entropy(void *opaque, int ret)
{
    struct got *g = opaque;

    g->ret = ret;
    g->loop = event_loop_current();
    atomic_fetch_add(&g->n, 1);
}

/* Run the main loop until g has its answer, for up to 5 s (other threads may give it). */
static bool wait_got(struct got *g)
{
    int64_t until = clock_monotonic_ns() + 5000000000LL;

    while (!atomic_load(&g->n) && clock_monotonic_ns() < until) {
        loop_iterate(false);
        usleep(1000);
    }
    return atomic_load(&g->n) == 1;
}

/* A few passes of the main loop, for what should not happen. */
static void spin(void)
{
    for (int i = 0; i < 20; i++) {
        loop_iterate(false);
        usleep(1000);
    }
}

static bool all_zero(const uint8_t *p, size_t n)
{
    while (n--)
        if (*p++)
            return false;
    return true;
}

struct in_thread {
    struct rng_backend *r;
    uint8_t *buf;
    size_t len;
    struct got *g;
};

static void request_here(void *opaque)
{
    struct in_thread *it = opaque;

    if (rng_request(it->r, it->buf, it->len, on_entropy, it->g) < 0)
        abort();
}

static void test_builtin(struct iothread *t)
{
    struct rng_backend *r, *r2;
    struct got g = { 0 }, g2 = { 0 }, g3 = { 0 };
    static uint8_t buf[100 * 1024];
    char *err = NULL;
    int ret;

    CHECK(rng_builtin_new(&r, "b0", &err) == 0 && rng_find("b0") == r && !strcmp(rng_type(r), "rng-builtin"),
          "rng-builtin is made and found by its id");
    ret = rng_builtin_new(&r2, "b0", &err);
    CHECK(ret == -EEXIST && err && strstr(err, "'b0'"), "a second backend with its id is refused: %s", err ? err : "");
    free(err);
    CHECK(rng_request(r, buf, 0, on_entropy, &g) == -EINVAL, "a request for nothing is refused");

    CHECK(rng_request(r, buf, 64, on_entropy, &g) == 0 && atomic_load(&g.n) == 0,
          "a request is taken, and its callback does not run inside the call");
    CHECK(wait_got(&g) && g.ret == 64 && !all_zero(buf, 64) && g.loop == event_loop_main(),
          "rng-builtin fills 64 bytes, answered in the requester's loop, the main one");
    rng_request(r, buf, sizeof(buf), on_entropy, &g2);
    CHECK(wait_got(&g2) && g2.ret == RNG_REQUEST_MAX, "a request longer than %u bytes gets that many", (unsigned)RNG_REQUEST_MAX);

    memset(buf, 0, 64);
    iothread_run(t, request_here, &(struct in_thread){ r, buf, 64, &g3 });
    CHECK(wait_got(&g3) && g3.ret == 64 && g3.loop == iothread_loop(t) && !all_zero(buf, 64),
          "asked from an I/O thread, rng-builtin answers in that thread's loop");

    atomic_store(&g.n, 0);
    rng_request(r, buf, 16, on_entropy, &g);
    rng_cancel(r, &g);
    spin();
    CHECK(atomic_load(&g.n) == 0, "a request cancelled after it was served, before its callback ran, never calls back");
    rng_free(r);
    CHECK(!rng_find("b0"), "a freed backend is no longer found");
}

static void test_random(struct iothread *t)
{
    struct rng_backend *r;
    struct got a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 };
    uint8_t ba[4], bb[4], bc[4], bd[8];
    char *err = NULL, *path;
    int p[2], ret;

    ret = rng_random_new(&r, "bad", "/nonexistent/rng", &err);
    CHECK(ret == -ENOENT && err && strstr(err, "'/nonexistent/rng'") && strstr(err, "No such file"),
          "rng-random on a missing file is refused at once, naming it: %s", err ? err : "");
    free(err);
    err = NULL;

    /* a pipe the test writes: entropy that comes later, and whose bytes are known */
    if (pipe(p) < 0)
        abort();
    path = xasprintf("/proc/self/fd/%d", p[0]);
    CHECK(rng_random_new(&r, "r0", path, &err) == 0 && !strcmp(rng_type(r), "rng-random"), "rng-random opens a pipe");
    rng_request(r, ba, sizeof(ba), on_entropy, &a);
    rng_request(r, bb, sizeof(bb), on_entropy, &b);
    spin();
    CHECK(atomic_load(&a.n) == 0 && atomic_load(&b.n) == 0, "with nothing to read, requests wait");
    if (write(p[1], "12345678", 8) != 8)
        abort();
    CHECK(wait_got(&a) && wait_got(&b) && a.ret == 4 && b.ret == 4 && !memcmp(ba, "1234", 4) && !memcmp(bb, "5678", 4),
          "when bytes come, the main loop hears of it and serves the requests in the order made");

    rng_request(r, bc, sizeof(bc), on_entropy, &c);
    rng_cancel(r, &c);
    rng_request(r, bd, sizeof(bd), on_entropy, &d);
    if (write(p[1], "abcd", 4) != 4)
        abort();
    CHECK(wait_got(&d) && d.ret == 4 && !memcmp(bd, "abcd", 4) && atomic_load(&c.n) == 0,
          "a waiting request that was cancelled never calls back, and the next one gets the bytes");

    iothread_run(t, request_here, &(struct in_thread){ r, bd, sizeof(bd), &e });
    spin();
    if (write(p[1], "wxyz", 4) != 4)
        abort();
    CHECK(wait_got(&e) && e.ret == 4 && !memcmp(bd, "wxyz", 4) && e.loop == iothread_loop(t),
          "asked from an I/O thread, rng-random answers in that thread's loop when bytes come");

    /* cancelled from the main thread: the drop happens in the I/O thread, and waits for it */
    atomic_store(&e.n, 0);
    iothread_run(t, request_here, &(struct in_thread){ r, bd, sizeof(bd), &e });
    rng_cancel(r, &e);
    if (write(p[1], "more", 4) != 4)
        abort();
    spin();
    CHECK(atomic_load(&e.n) == 0, "an I/O thread's waiting request cancelled from the main thread never calls back");
    atomic_store(&d.n, 0);
    rng_request(r, bd, sizeof(bd), on_entropy, &d);
    CHECK(wait_got(&d) && d.ret == 4 && !memcmp(bd, "more", 4), "and the bytes go to the next request");

    atomic_store(&a.n, 0);
    rng_request(r, ba, sizeof(ba), on_entropy, &a);
    rng_free(r);
    if (write(p[1], "late", 4) != 4)
        abort();
    spin();
    CHECK(atomic_load(&a.n) == 0, "freeing a backend drops its waiting requests without a callback");
    close(p[0]);
    close(p[1]);
    free(path);

    /* a regular file: read to its end, then an error rather than a wait */
    path = xasprintf("%s/entropy", dir);
    {
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

        if (fd < 0 || write(fd, "hello", 5) != 5)
            abort();
        close(fd);
    }
    atomic_store(&a.n, 0);
    atomic_store(&b.n, 0);
    CHECK(rng_random_new(&r, "r1", path, &err) == 0, "rng-random opens a regular file");
    rng_request(r, bd, sizeof(bd), on_entropy, &a);
    CHECK(wait_got(&a) && a.ret == 5 && !memcmp(bd, "hello", 5), "a file's bytes are read");
    rng_request(r, bd, sizeof(bd), on_entropy, &b);
    CHECK(wait_got(&b) && b.ret == -EIO, "at its end, a request fails with EIO instead of waiting forever");
    rng_free(r);
    unlink(path);
    free(path);
}

int main(void)
{
    struct iothread *t;
    char *err = NULL;

    dir = tap_tmp_path("skiff-test-rng.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    loop_init();
    devlock_lock();
    if (iothread_new(&t, "rng-requester", &err) < 0) {
        tap_note("%s", err);
        return 1;
    }
    test_builtin(t);
    test_random(t);
    iothread_free(t);
    loop_cleanup();
    devlock_unlock();
    rmdir(dir);
    free(dir);
    return tap_done();
}
