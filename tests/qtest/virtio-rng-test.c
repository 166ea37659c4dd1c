/* virtio-rng-test.c: the virtio-rng-pci device driven by a test driver (libqos-virtio): its identity, random bytes through both interfaces, the backend named by rng= (rng-random,filename=), buffers split over descriptors, a buffer with nothing to write into, the max-bytes/period rate limit, and a reset with a request pending */
#include "tests/qtest/libqos-virtio-blk.h" // start_logged, end_logged, MEM_START

#define VIRTIO_ID_RNG   4

struct rng {
    struct qtest *q;
    struct qpci_bus *bus;
    struct qvirtio_dev *vd;
    struct qalloc *alloc;
    struct qvirtqueue *vq;
};

static bool rng_setup(struct rng *r)
{
    if (r->vq)
        qvirtqueue_free(r->vq);
    r->vq = NULL;
    if (!qvirtio_negotiate(r->vd, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) | QVIRTIO_BIT(QVIRTIO_F_INDIRECT_DESC)))
        return false;
    r->vq = qvirtqueue_setup(r->vd, r->alloc, 0, 0);
    if (!r->vq)
        return false;
    qvirtio_driver_ok(r->vd);
    return true;
}

static bool rng_init(struct rng *r, struct qtest *q, enum qvirtio_mode mode)
{
    memset(r, 0, sizeof(*r));
    r->q = q;
    r->bus = qpci_bus_new(q);
    r->alloc = qalloc_new(MEM_START, MEM_END);
    r->vd = qvirtio_pci_new(r->bus, VIRTIO_ID_RNG, 0, mode);
    if (!r->vd)
        return false;
    qtest_irq_intercept(q);
    qvirtio_msix_enable(r->vd);
    return rng_setup(r);
}

static void rng_end(struct rng *r)
{
    if (r->vq)
        qvirtqueue_free(r->vq);
    if (r->vd)
        qvirtio_free(r->vd);
    qalloc_destroy(r->alloc);
    free(r->bus);
}

/* Ask for len bytes into out (the buffer pre-filled with 0xee); the used length, or -1 when none came. */
static int rng_read(struct rng *r, uint8_t *out, uint32_t len, int timeout_ms)
{
    uint64_t buf = qalloc(r->alloc, len);
    uint16_t head, used;
    uint32_t got;
    int ret = -1;

    memset(out, 0xee, len);
    qtest_memwrite(r->q, buf, out, len);
    head = qvirtqueue_submit(r->vq, (struct qvirtio_buf[]){ { buf, len, true } }, 1, false);
    if (qvirtqueue_wait_used(r->vq, &used, &got, timeout_ms) && used == head) {
        qtest_memread(r->q, buf, out, len);
        ret = (int)got;
    }
    qfree(r->alloc, buf);
    return ret;
}

static bool all_of(const uint8_t *b, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return false;
    return true;
}

static void check_builtin(enum qvirtio_mode mode)
{
    const char *m = mode == QVIRTIO_LEGACY ? "legacy" : "modern";
    char *log;
    struct qtest *q = start_logged(&log, "-m 128 -device virtio-rng-pci");
    uint8_t a[64], b2[64];
    struct rng r;

    if (!CHECK(rng_init(&r, q, mode), "rng-builtin, %s: the device (1af4:%s) is found and set up", m,
               mode == QVIRTIO_LEGACY ? "1005" : "1044"))
        goto out;
    CHECK(rng_read(&r, a, sizeof(a), WAIT_MS) == 64 && rng_read(&r, b2, sizeof(b2), WAIT_MS) == 64,
          "rng-builtin, %s: two reads of 64 bytes each get 64", m);
    CHECK(memcmp(a, b2, sizeof(a)) && !all_of(a, sizeof(a), 0xee) && !all_of(a, sizeof(a), 0),
          "rng-builtin, %s: and the bytes differ between them (random, not the buffer's old contents)", m);
out:
    rng_end(&r);
    end_logged(q, log, "rng-builtin");
}

static void check_backend(void)
{
    char *log;
    struct qtest *q = start_logged(&log, "-m 128 -object rng-random,id=rng0,filename=/dev/zero "
                                   "-device virtio-rng-pci,rng=rng0");
    uint8_t a[300], two[2][100];
    uint64_t bufs[2];
    uint16_t head, used;
    uint32_t got;
    struct rng r;

    if (!CHECK(rng_init(&r, q, QVIRTIO_MODERN), "rng-random: the device is set up"))
        goto out;
    CHECK(rng_read(&r, a, sizeof(a), WAIT_MS) == 300 && all_of(a, sizeof(a), 0),
          "rng-random,filename=/dev/zero: a read of 300 bytes gets the file's bytes (zeros)");

    /* a buffer in two pieces (an indirect table) is filled across both */
    bufs[0] = qalloc(r.alloc, 100);
    bufs[1] = qalloc(r.alloc, 100);
    memset(two, 0xee, sizeof(two));
    qtest_memwrite(q, bufs[0], two[0], 100);
    qtest_memwrite(q, bufs[1], two[1], 100);
    head = qvirtqueue_submit(r.vq, (struct qvirtio_buf[]){ { bufs[0], 100, true }, { bufs[1], 100, true } }, 2, true);
    CHECK(qvirtqueue_wait_used(r.vq, &used, &got, WAIT_MS) && used == head && got == 200,
          "rng-random: a request of two 100-byte pieces behind an indirect table gets 200 bytes");
    qtest_memread(q, bufs[0], two[0], 100);
    qtest_memread(q, bufs[1], two[1], 100);
    CHECK(all_of(two[0], 100, 0) && all_of(two[1], 100, 0), "rng-random: both pieces are filled");

    /* a buffer the device may only read: nothing to write into, done with nothing, the queue goes on */
    head = qvirtqueue_submit(r.vq, (struct qvirtio_buf[]){ { bufs[0], 100, false } }, 1, false);
    CHECK(qvirtqueue_wait_used(r.vq, &used, &got, WAIT_MS) && used == head && got == 0,
          "rng-random: a buffer with nothing device-writable is done with 0 bytes");
    CHECK(rng_read(&r, a, 16, WAIT_MS) == 16, "rng-random: and the next request is served");
    qfree(r.alloc, bufs[0]);
    qfree(r.alloc, bufs[1]);
out:
    rng_end(&r);
    end_logged(q, log, "rng-random");
}

static void check_rate_limit(void)
{
    char *log;
    struct qtest *q = start_logged(&log, "-m 128 -device virtio-rng-pci,max-bytes=100,period=1000");
    uint8_t a[64];
    uint64_t buf;
    uint16_t head, used;
    uint32_t got;
    struct rng r;

    if (!CHECK(rng_init(&r, q, QVIRTIO_MODERN), "max-bytes=100,period=1000: the device is set up"))
        goto out;
    CHECK(rng_read(&r, a, 64, WAIT_MS) == 64, "max-bytes=100: a read of 64 bytes gets 64");
    CHECK(rng_read(&r, a, 64, WAIT_MS) == 36, "max-bytes=100: the next gets the 36 left in the period");
    buf = qalloc(r.alloc, 64);
    head = qvirtqueue_submit(r.vq, (struct qvirtio_buf[]){ { buf, 64, true } }, 1, false);
    CHECK(!qvirtqueue_wait_used(r.vq, &used, &got, 300), "max-bytes=100: a third waits while the period lasts");
    qtest_clock_step(q, 1000 * 1000000LL);
    CHECK(qvirtqueue_wait_used(r.vq, &used, &got, WAIT_MS) && used == head && got == 64,
          "period=1000: once the next second begins, it gets its 64 bytes");

    /* a request left waiting across a reset is dropped, and the device serves again after it */
    CHECK(rng_read(&r, a, 64, WAIT_MS) == 36, "max-bytes=100: the rest of that period is 36 bytes");
    qvirtqueue_submit(r.vq, (struct qvirtio_buf[]){ { buf, 64, true } }, 1, false);
    usleep(100000);
    CHECK(rng_setup(&r) && rng_read(&r, a, 64, WAIT_MS) == 64,
          "a reset with a request waiting for the period: the device serves afresh (a new period's quota)");
    qfree(r.alloc, buf);
out:
    rng_end(&r);
    end_logged(q, log, "rate limit");
}

int main(void)
{
    check_builtin(QVIRTIO_LEGACY);
    check_builtin(QVIRTIO_MODERN);
    check_backend();
    check_rate_limit();
    return tap_done();
}
