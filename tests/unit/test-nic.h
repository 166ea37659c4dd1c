/* test-nic.h: a fake NIC for the network backends' unit tests (socket, tap, user): it keeps the
 * frames a backend gives it (the first NIC_FRAMES, whole, with their flags), refuses them while
 * told to, and counts the completions of the frames it sent; and the helpers those tests share
 * (refusal, settle). Included by one test file each. */
#ifndef TESTS_UNIT_TEST_NIC_H
#define TESTS_UNIT_TEST_NIC_H

#include "hw/core/device.h"
#include "net/net.h"
#include "util/iov.h"
#include "util/main-loop.h"
#include "util/osdep.h"
#include "tests/unit/tap.h"

#define NIC_FRAMES 512

struct test_nic {
    struct device dev;
    struct netdev *netdev;
    struct mac_addr mac;
    struct net_client nc;
    bool refuse;                /* can_receive says no, receive takes nothing */
    int got;                    /* frames kept: frame[0..got) (at most NIC_FRAMES) */
    uint8_t *frame[NIC_FRAMES];
    size_t len[NIC_FRAMES];
    unsigned flags[NIC_FRAMES];
    int sent;                   /* completions of frames the backend held (nic_sent) */
};

static ssize_t nic_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct test_nic *n = container_of(nc, struct test_nic, nc);
    size_t len = iov_size(iov, niov);

    if (n->refuse)
        return 0;
    if (n->got < NIC_FRAMES) {
        n->frame[n->got] = xmalloc(len ? len : 1);
        n->len[n->got] = len;
        n->flags[n->got] = flags;
        iov_to_buf(iov, niov, 0, n->frame[n->got], len);
        n->got++;
    }
    return len;
}

/* Forget the frames kept so far */
static void nic_forget(struct test_nic *n)
{
    for (int i = 0; i < n->got; i++)
        free(n->frame[i]);
    n->got = 0;
}

static bool nic_can_receive(struct net_client *nc)
{
    return !container_of(nc, struct test_nic, nc)->refuse;
}

/* The completion for nic_send: the backend took a frame it had held */
UNUSED static void nic_sent(struct net_client *nc, ssize_t ret)
{
    (void)ret;
    container_of(nc, struct test_nic, nc)->sent++;
}

/* Frame I's first and last bytes; whether every byte is its first */
UNUSED static uint8_t nic_first(const struct test_nic *n, int i)
{
    return i < n->got && n->len[i] ? n->frame[i][0] : 0;
}

UNUSED static uint8_t nic_last(const struct test_nic *n, int i)
{
    return i < n->got && n->len[i] ? n->frame[i][n->len[i] - 1] : 0;
}

UNUSED static bool nic_intact(const struct test_nic *n, int i)
{
    if (i >= n->got || !n->len[i])
        return false;
    for (size_t k = 1; k < n->len[i]; k++)
        if (n->frame[i][k] != n->frame[i][0])
            return false;
    return true;
}

static const struct net_client_ops nic_ops = { .type = "nic", .receive = nic_receive, .can_receive = nic_can_receive };

static int nic_realize(struct device *dev, char **err)
{
    struct test_nic *n = (struct test_nic *)dev;

    return nic_init(&n->nc, &nic_ops, dev, n->netdev, &n->mac, err);
}

static void nic_unrealize(struct device *dev)
{
    struct test_nic *n = (struct test_nic *)dev;

    nic_forget(n);
    nic_cleanup(&n->nc);
}

static const struct prop_desc nic_props[] = {
    DEFINE_PROP("netdev", struct test_nic, netdev, PROP_NETDEV, NULL, "its backend"),
    DEFINE_PROP("mac", struct test_nic, mac, PROP_MACADDR, NULL, "its address"),
    DEFINE_PROP_END,
};

static struct device_type test_nic_type = {
    .name = "test-nic", .desc = "a NIC for the test", .bus = BUS_SYSTEM,
    .instance_size = sizeof(struct test_nic), .props = nic_props, .user_creatable = true,
    .realize = nic_realize, .unrealize = nic_unrealize,
};
DEVICE_TYPE_REGISTER(test_nic_type)

/* -netdev SPEC (it names its id=) and a NIC on it; NULL, said why, when it cannot be made */
UNUSED static struct test_nic *nic_on(const char *spec)
{
    char *err = NULL, *id = strstr(spec, "id="), *name;
    struct device *d;

    if (netdev_add(spec, &err) < 0) {
        tap_note("-netdev %s: %s", spec, err);
        free(err);
        return NULL;
    }
    d = device_new("test-nic");
    name = id ? xstrndup(id + 3, strcspn(id + 3, ",")) : xstrdup("");
    if (device_set_prop(d, "netdev", name, &err) < 0 || device_realize(d, &err) < 0) {
        tap_note("test-nic: %s", err);
        device_free(d);
        d = NULL;
    }
    free(name);
    free(err);
    return (struct test_nic *)d;
}

/* ---- what the backends' tests share beside the NIC ---- */

/* -netdev's error for a spec that must be refused, or NULL when it was taken */
static inline char *refusal(const char *spec)
{
    char *err = NULL;

    if (netdev_add(spec, &err) == 0) {
        net_cleanup();
        return NULL;
    }
    return err ? err : xstrdup("(no message)");
}

/* Run the main loop for ms */
static inline void settle(int ms)
{
    int64_t end = clock_monotonic_ns() + ms * 1000000LL;

    while (clock_monotonic_ns() < end) {
        loop_iterate(false);
        usleep(300);
    }
}

/* Run the main loop until cond(arg) holds (true) or ms pass (false) */
static inline bool until(bool (*cond)(void *), void *arg, int ms)
{
    int64_t end = clock_monotonic_ns() + ms * 1000000LL;

    while (!cond(arg)) {
        if (clock_monotonic_ns() > end)
            return false;
        loop_iterate(false);
        usleep(500);
    }
    return true;
}

static inline bool nic_has(void *arg)
{
    struct test_nic *n = ((struct test_nic **)arg)[0];
    intptr_t want = (intptr_t)((void **)arg)[1];

    return n->got >= want;
}

/* Run the main loop until the NIC has want frames, 3 s at most: whether it has */
static inline bool wait_got(struct test_nic *n, int want)
{
    void *arg[2] = { n, (void *)(intptr_t)want };

    return until(nic_has, arg, 3000);
}

#endif
