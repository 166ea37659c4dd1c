/* test-net.c: the network core with fake NICs and backends: delivery, queues and their order, sent callbacks, bounds, hubs, link state, purge, a stopped machine, names and MACs, -netdev/-nic/-net, info network and filter-dump's pcap */
#include "hw/core/device.h"
#include "hw/core/machine.h"
#include "net/dump.h"
#include "net/net-internal.h"
#include "util/iov.h"
#include "util/main-loop.h"
#include "util/opts.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* budget: 60 */

/* ---- a fake client: what it received, whether it takes frames, what it heard ---- */

#define FAKE_MAX 32

struct fake {
    bool refuse;            /* can_receive says no */
    bool no_can_receive;    /* ... or it has none, and its receive answers 0 instead */
    ssize_t answer;         /* receive's answer when not 0 (0: the frame's length) */
    int got;                /* frames received */
    uint8_t first[FAKE_MAX];    /* each frame's first byte, in order */
    size_t len[FAKE_MAX];
    int link_changes;
    int sent;               /* sent callbacks heard */
    ssize_t sent_ret[FAKE_MAX];
};

static struct fake *fake_of(struct net_client *nc);

static ssize_t fake_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct fake *f = fake_of(nc);
    size_t len = iov_size(iov, niov);

    if (f->refuse)
        return 0;
    if (f->answer < 0)
        return f->answer;
    if (f->got < FAKE_MAX) {
        f->first[f->got] = len ? ((uint8_t *)iov[0].iov_base)[0] : 0;
        f->len[f->got] = len;
    }
    f->got++;
    return len;
}

static bool fake_can_receive(struct net_client *nc)
{
    struct fake *f = fake_of(nc);

    return f->no_can_receive || !f->refuse;
}

static void fake_link_changed(struct net_client *nc)
{
    fake_of(nc)->link_changes++;
}

static void fake_sent(struct net_client *nc, ssize_t ret)
{
    struct fake *f = fake_of(nc);

    if (f->sent < FAKE_MAX)
        f->sent_ret[f->sent] = ret;
    f->sent++;
}

/* A fake NIC device: "test-nic", with netdev= and mac= as a NIC has them */
struct test_nic {
    struct device dev;
    struct netdev *netdev;
    struct mac_addr mac;
    struct net_client nc;
    struct fake f;
};

/* A fake backend: "-netdev test-be,id=ID" */
struct test_be {
    struct netdev nd;
    struct fake f;
    bool cleaned;
};

static const struct net_client_ops nic_ops = {
    .type = "nic", .receive = fake_receive, .can_receive = fake_can_receive, .link_changed = fake_link_changed,
};

static void be_info(struct net_client *nc, char *buf, size_t len)
{
    snprintf(buf, len, "test=yes");
}

static int be_cleanups;

static void be_cleanup(struct net_client *nc)
{
    be_cleanups++;
}

static const struct net_client_ops be_ops = {
    .type = "test-be", .receive = fake_receive, .can_receive = fake_can_receive,
    .link_changed = fake_link_changed, .info = be_info, .cleanup = be_cleanup,
};

static struct fake *fake_of(struct net_client *nc)
{
    if (nc->kind == NET_CLIENT_NIC)
        return &container_of(nc, struct test_nic, nc)->f;
    return &((struct test_be *)container_of(nc, struct netdev, nc))->f;
}

static int nic_realize(struct device *dev, char **err)
{
    struct test_nic *n = (struct test_nic *)dev;

    return nic_init(&n->nc, &nic_ops, dev, n->netdev, &n->mac, err);
}

static void nic_unrealize(struct device *dev)
{
    nic_cleanup(&((struct test_nic *)dev)->nc);
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

static int be_init(struct opts *o, const char *id, struct netdev **out, char **err)
{
    struct test_be *b = xnew(struct test_be);
    int r;

    opts_get(o, "colour");      /* the one option it has */
    snprintf(b->nd.id, sizeof(b->nd.id), "%s", id);
    b->nd.type = "test-be";
    b->nd.nc.ops = &be_ops;
    if ((r = netdev_register(&b->nd, err)) < 0) {
        free(b);
        return r;
    }
    *out = &b->nd;
    return 0;
}

static struct netdev_type test_be_type = { .name = "test-be", .init = be_init, .help = "colour=C: nothing" };
NETDEV_TYPE_REGISTER(test_be_type)

static struct test_nic *nic_new(const char *props)
{
    char *err = NULL, *spec = xasprintf("test-nic%s%s", *props ? "," : "", props);
    struct opts *o = opts_parse(spec, "driver", &err);
    struct device *d = o ? device_create_from_opts(o, &err) : NULL;

    if (!d)
        tap_note("test-nic %s: %s", props, err);
    opts_free(o);
    free(spec);
    free(err);
    return (struct test_nic *)d;
}

static struct test_be *be_new(const char *spec)
{
    char *err = NULL;
    struct netdev *n;

    if (netdev_add(spec, &err) < 0) {
        tap_note("-netdev %s: %s", spec, err);
        free(err);
        return NULL;
    }
    n = netdev_find(strstr(spec, "id=") + 3);
    return (struct test_be *)n;
}

static ssize_t send_byte(struct net_client *nc, uint8_t b, size_t len, net_sent_fn *cb)
{
    uint8_t buf[1600];

    memset(buf, b, sizeof(buf));
    return net_send_buf(nc, buf, len, cb);
}

static char *info_text(void)
{
    size_t len = net_info(NULL, 0);
    char *t = xmalloc(len + 1);

    net_info(t, len + 1);
    return t;
}

/* Everything made is taken down, as at exit: the devices, then the backends. */
static void teardown(void)
{
    device_destroy_all();
    net_cleanup();
}

/* ---- the tests ---- */

static void test_pair(void)
{
    struct test_be *b = be_new("test-be,id=b0");
    struct test_nic *n = nic_new("netdev=b0");
    ssize_t r;

    if (!CHECK(b && n && n->nc.peer == &b->nd.nc && b->nd.nc.peer == &n->nc && b->nd.nic == &n->dev,
               "a NIC naming a backend (netdev=b0) becomes its peer"))
        return;
    r = send_byte(&b->nd.nc, 0xaa, 60, fake_sent);
    CHECK(r == 60 && n->f.got == 1 && n->f.first[0] == 0xaa && n->f.len[0] == 60,
          "a frame the backend sends reaches the NIC whole, and the backend hears its length back (%zd)", r);
    r = send_byte(&n->nc, 0x55, 1514, fake_sent);
    CHECK(r == 1514 && b->f.got == 1 && b->f.first[0] == 0x55 && b->f.len[0] == 1514,
          "and one the NIC sends reaches the backend");
    CHECK(b->f.sent == 0 && n->f.sent == 0, "frames taken at once run no sent callback");
    teardown();
}

static void test_queue_and_flush(void)
{
    struct test_be *b = be_new("test-be,id=b0");
    struct test_nic *n = nic_new("netdev=b0");
    ssize_t r1, r2, r3;

    n->f.refuse = true;
    CHECK(!net_can_send(&b->nd.nc), "net_can_send says no while the NIC cannot take a frame");
    r1 = send_byte(&b->nd.nc, 1, 60, fake_sent);
    r2 = send_byte(&b->nd.nc, 2, 61, fake_sent);
    r3 = send_byte(&b->nd.nc, 3, 62, NULL);
    CHECK(r1 == 0 && r2 == 0 && r3 == 0 && n->f.got == 0 && n->nc.queue_len == 3,
          "frames for a NIC that cannot take them are queued: the sender gets 0, the NIC nothing yet");
    net_client_flush(&n->nc);
    CHECK(n->f.got == 0 && n->nc.queue_len == 3, "a flush while it still cannot take them delivers nothing");
    n->f.refuse = false;
    CHECK(n->nc.queue_len == 3 && !net_can_send(&b->nd.nc),
          "a NIC that could take frames again still has the queue ahead of new frames until it flushes");
    r1 = send_byte(&b->nd.nc, 4, 63, NULL);
    CHECK(r1 == 0 && n->f.got == 0, "so a new frame waits behind the queue rather than overtake it");
    net_client_flush(&n->nc);
    CHECK(n->f.got == 4 && n->f.first[0] == 1 && n->f.first[1] == 2 && n->f.first[2] == 3 && n->f.first[3] == 4 &&
          n->f.len[2] == 62, "net_client_flush delivers the queue in the order sent");
    CHECK(b->f.sent == 2 && b->f.sent_ret[0] == 60 && b->f.sent_ret[1] == 61,
          "and the sender's callbacks run once per frame that had one, with the length taken");

    /* a receiver without can_receive that answers 0 */
    n->f.no_can_receive = true;
    n->f.refuse = true;
    r1 = send_byte(&b->nd.nc, 5, 60, fake_sent);
    n->f.refuse = false;
    r2 = send_byte(&b->nd.nc, 6, 60, fake_sent);
    CHECK(r1 == 0 && r2 == 0 && n->nc.queue_len == 2 && n->f.got == 4,
          "a receive that answers 0 has the frame queued, and the next one queued behind it");
    net_client_flush(&n->nc);
    CHECK(n->f.got == 6 && n->f.first[4] == 5 && n->f.first[5] == 6 && b->f.sent == 4,
          "both arrive in order at the flush");

    /* a frame longer than any (a NIC's bug): refused before it is copied anywhere */
    {
        struct iovec big[2] = { { NULL, NET_FRAME_MAX }, { NULL, 1 } };
        uint8_t *buf = xzalloc(NET_FRAME_MAX + 1);

        big[0].iov_base = buf;
        big[1].iov_base = buf;
        n->f.refuse = true;
        r1 = net_send(&b->nd.nc, big, 2, 0, fake_sent);
        CHECK(r1 == -EMSGSIZE && n->nc.queue_len == 0 && n->nc.rx_dropped == 1,
              "a frame longer than %d bytes is dropped and counted (-EMSGSIZE), not queued", NET_FRAME_MAX);
        n->f.refuse = false;
        free(buf);
    }
    /* a receiver's error drops the frame, counted */
    n->f.answer = -EIO;
    r1 = send_byte(&b->nd.nc, 7, 60, fake_sent);
    CHECK(r1 == -EIO && n->nc.rx_dropped == 2, "a frame the receiver refuses with an error is dropped and counted");
    teardown();
}

static void test_bounds(void)
{
    struct test_be *b = be_new("test-be,id=b0");
    struct test_nic *n = nic_new("netdev=b0");
    bool all = true;
    ssize_t r;

    n->f.refuse = true;
    for (int i = 0; i < NET_QUEUE_MAX; i++)
        all &= send_byte(&b->nd.nc, 1, 60, NULL) == 0;
    r = send_byte(&b->nd.nc, 2, 60, NULL);
    CHECK(all && r == -ENOBUFS && n->nc.queue_len == NET_QUEUE_MAX && n->nc.rx_dropped == 1,
          "without a sent callback a queue holds %d frames, as QEMU's; the next is dropped and counted",
          NET_QUEUE_MAX);
    r = send_byte(&b->nd.nc, 3, 60, fake_sent);
    CHECK(r == 0 && n->nc.queue_len == NET_QUEUE_MAX + 1,
          "a frame with a sent callback is still queued: the guest was told it would go");
    for (int i = 0; i < NET_QUEUE_MAX; i++)
        send_byte(&b->nd.nc, 4, 60, fake_sent);
    CHECK(n->nc.queue_len == 2 * NET_QUEUE_MAX && send_byte(&b->nd.nc, 5, 60, fake_sent) == -ENOBUFS,
          "a sender that ignores its 0s is stopped at twice that (-ENOBUFS): memory stays bounded");
    n->f.refuse = false;
    net_client_flush(&n->nc);
    CHECK(n->f.got == 2 * NET_QUEUE_MAX && n->f.first[0] == 1 && n->nc.queue_len == 0 && n->nc.queue_bytes == 0 &&
          b->f.sent == NET_QUEUE_MAX, "a flush delivers them all and runs every callback");
    teardown();
}

static void test_link(void)
{
    struct test_be *b = be_new("test-be,id=b0");
    struct test_nic *n = nic_new("netdev=b0,id=eth0");
    char *err = NULL;
    ssize_t r;

    CHECK(!strcmp(n->nc.name, "eth0"), "a NIC with id= has that name");
    CHECK(net_set_link("b0", false, &err) == 0 && b->nd.nc.link_down && n->nc.link_down &&
          n->f.link_changes == 1 && b->f.link_changes == 1,
          "set_link b0 off: the backend's link and its NIC's go down, and the NIC hears of it (QEMU's rule)");
    r = send_byte(&b->nd.nc, 1, 60, fake_sent);
    CHECK(r == 60 && n->f.got == 0 && b->f.sent == 0, "a frame sent while the link is down is gone, as on a pulled cable");
    r = send_byte(&n->nc, 2, 60, fake_sent);
    CHECK(r == 60 && b->f.got == 0, "both ways");
    CHECK(net_set_link("b0", true, &err) == 0 && !n->nc.link_down && send_byte(&b->nd.nc, 3, 60, NULL) == 60 &&
          n->f.got == 1, "set_link b0 on: frames pass again");
    CHECK(net_set_link("eth0", false, &err) == 0 && n->nc.link_down && !b->nd.nc.link_down && b->f.link_changes == 3 &&
          !net_peer_link_down(&n->nc) && net_peer_link_down(&b->nd.nc),
          "set_link on the NIC: its link goes down, its backend's does not (but hears of it)");
    n->f.refuse = true;
    r = send_byte(&b->nd.nc, 4, 60, fake_sent);
    CHECK(r == 60 && n->f.got == 1 && n->nc.queue_len == 0 && b->f.sent == 0,
          "a frame for a NIC whose link is down is gone too, not queued for a NIC that cannot take it");
    n->f.refuse = false;
    net_set_link("eth0", true, &err);
    CHECK(net_set_link("eth9", false, &err) == -ENODEV && err && !strcmp(err, "Device 'eth9' not found"),
          "set_link of a name no client has: QEMU's \"Device 'eth9' not found\"");
    free(err);
    teardown();
}

static void test_purge(void)
{
    struct test_be *b = be_new("test-be,id=b0");
    struct test_nic *n = nic_new("netdev=b0");

    n->f.refuse = b->f.refuse = true;
    send_byte(&b->nd.nc, 1, 60, fake_sent);
    send_byte(&b->nd.nc, 2, 60, fake_sent);
    send_byte(&n->nc, 3, 60, fake_sent);
    send_byte(&b->nd.nc, 4, 60, fake_sent);
    CHECK(n->nc.queue_len == 3 && b->nd.nc.queue_len == 1, "(frames queued both ways)");
    net_client_purge(&n->nc);
    CHECK(n->nc.queue_len == 0 && b->nd.nc.queue_len == 0, "a NIC's reset (purge) empties its queue and drops its frames at the backend");
    CHECK(b->f.sent == 3 && b->f.sent_ret[0] == -ECANCELED && b->f.sent_ret[2] == -ECANCELED,
          "the backend hears of each of its frames dropped (so it reads on), -ECANCELED");
    CHECK(n->f.sent == 0, "the resetting NIC's own callback does not run");
    n->f.refuse = b->f.refuse = false;
    net_client_flush(&n->nc);
    net_client_flush(&b->nd.nc);
    CHECK(n->f.got == 0 && b->f.got == 0, "nothing purged arrives later");
    teardown();
}

static void test_stopped_machine(void)
{
    struct test_be *b = be_new("test-be,id=b0");
    struct test_nic *n = nic_new("netdev=b0");
    ssize_t r;

    machine_stop();
    r = send_byte(&b->nd.nc, 1, 60, fake_sent);
    CHECK(r == 0 && n->f.got == 0, "while the machine is stopped, a frame for a NIC waits (no device changes under it)");
    net_client_flush(&n->nc);
    CHECK(n->f.got == 0, "even when the NIC flushes");
    CHECK(machine_cont(NULL) == 0 && n->f.got == 1 && b->f.sent == 1, "cont delivers it, and its sender hears so");
    teardown();
}

static void test_hub(void)
{
    struct test_nic *a, *c;
    struct test_be *b;
    char *err = NULL;
    bool made;
    ssize_t r;

    made = net_add_legacy("nic,model=test-nic,id=A", &err) == 0 &&
           net_add_legacy("test-be,id=B", &err) == 0 &&
           net_add_legacy("nic,model=test-nic,id=C", &err) == 0 && net_create_nics(&err) == 0;
    if (!CHECK(made, "-net nic, -net test-be, -net nic: three ports of hub 0 (%s)", err ? err : "made"))
        return;
    a = (struct test_nic *)device_find_by_id("A");
    c = (struct test_nic *)device_find_by_id("C");
    b = (struct test_be *)netdev_find("B");
    CHECK(a && c && b && a->nc.peer && a->nc.peer->kind == NET_CLIENT_HUBPORT && !strcmp(a->nc.peer->name, "hub0port0") &&
          !strcmp(b->nd.nc.peer->name, "hub0port1") && !strcmp(c->nc.peer->name, "hub0port2"),
          "each is on its own port, hub0port0 to hub0port2 in the order given");
    r = send_byte(&b->nd.nc, 1, 60, fake_sent);
    CHECK(r == 60 && a->f.got == 1 && c->f.got == 1 && b->f.got == 0, "a frame from the backend reaches both NICs, not itself");
    send_byte(&a->nc, 2, 60, fake_sent);
    CHECK(c->f.got == 2 && b->f.got == 1 && a->f.got == 1, "a frame from one NIC reaches the other NIC and the backend");

    c->f.refuse = true;
    r = send_byte(&b->nd.nc, 3, 60, fake_sent);
    CHECK(r == 60 && a->f.got == 2 && c->f.got == 2 && c->nc.queue_len == 1,
          "a NIC that cannot take a frame has it queued; the other gets it; the sender is done");
    a->f.refuse = true;
    CHECK(!net_can_send(&b->nd.nc), "when no port can take a frame the hub cannot either (QEMU's back-pressure)");
    r = send_byte(&b->nd.nc, 4, 60, fake_sent);
    CHECK(r == 0 && b->nd.nc.peer->queue_len == 1, "so the backend's frame waits at its hub port, its callback pending");
    a->f.refuse = false;
    net_client_flush(&a->nc);
    CHECK(a->f.got == 3 && a->f.first[2] == 4 && b->f.sent == 1 && b->f.sent_ret[0] == 60,
          "NIC A's flush lets the held frame through the hub to A, and the backend hears it went");
    CHECK(c->nc.queue_len == 2, "NIC C, still full, holds both its frames queued");
    c->f.refuse = false;
    net_client_flush(&c->nc);
    CHECK(c->f.got == 4 && c->f.first[2] == 3 && c->f.first[3] == 4, "and gets them in order at its flush");
    free(err);
    teardown();
}

static void test_names_macs(void)
{
    struct test_nic *n1, *n2, *n3, *n4;
    char *err = NULL;
    bool made;

    made = net_add_nic_shorthand("test-be,model=test-nic", &err) == 0 &&
           net_add_legacy("nic,model=test-nic", &err) == 0 && net_create_nics(&err) == 0;
    if (!CHECK(made, "-nic test-be,model=test-nic and -net nic,model=test-nic are made (%s)", err ? err : "yes"))
        return;
    n1 = (struct test_nic *)device_first();
    n2 = (struct test_nic *)n1->dev.next;
    CHECK(!strcmp(n1->nc.name, "test-nic.0") && !strcmp(n2->nc.name, "test-nic.1"),
          "NICs without an id are named as QEMU's: test-nic.0, test-nic.1");
    CHECK(!memcmp(n1->nc.macaddr, "\x52\x54\x00\x12\x34\x56", 6) && !memcmp(n2->nc.macaddr, "\x52\x54\x00\x12\x34\x57", 6) &&
          n1->mac.set && n1->mac.a[5] == 0x56, "and get QEMU's MACs 52:54:00:12:34:56 and :57 in order, -nic's first");
    CHECK(n1->nc.peer && n1->nc.peer->name[0] == '#' && n1->nc.peer->kind == NET_CLIENT_BACKEND &&
          n2->nc.peer->kind == NET_CLIENT_HUBPORT, "-nic's backend is its NIC's peer (named #net..), -net's NIC is on hub 0");
    n3 = nic_new("mac=52:54:00:12:34:58");
    n4 = nic_new("");
    CHECK(n3 && n4 && n4->nc.macaddr[5] == 0x59, "a NIC given :58 holds it: the next default is :59");
    device_destroy_all();
    n1 = nic_new("");
    CHECK(n1 && n1->nc.macaddr[5] == 0x56 && !strcmp(n1->nc.name, "test-nic.0"),
          "once the NICs are gone their addresses are free again: :56");
    free(err);
    teardown();
}

/* What went to stderr while fn ran */
static char *stderr_of(void (*fn)(void))
{
    char *path = tap_tmp_path("skiff-test-net.XXXXXX");
    int fd = mkstemp(path), saved = dup(2);
    uint8_t *text = NULL;
    size_t len;

    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    if (file_read_all(path, &text, &len) < 0)
        text = (uint8_t *)xstrdup("");
    else
        text = xrealloc(text, len + 1), text[len] = 0;
    unlink(path);
    free(path);
    return (char *)text;
}

static void run_machine_done(void)
{
    machine_done();
}

static void test_info_and_warnings(void)
{
    struct test_be *lone = be_new("test-be,id=lone");
    struct test_nic *n;
    char *err = NULL, *text, *warn, *expect, *pcap = tap_tmp_path("skiff-test-net.pcap");
    struct net_dump *d = NULL;
    bool made;

    made = net_add_nic_shorthand("test-be,id=pair,model=test-nic,mac=52:54:00:aa:bb:cc", &err) == 0 &&
           net_add_legacy("nic,model=test-nic", &err) == 0 && net_add_legacy("test-be,id=up", &err) == 0 &&
           net_create_nics(&err) == 0;
    n = nic_new("");
    made &= net_dump_new(&d, "f0", "lone", pcap, 100, "all", true, &err) == 0;
    if (!CHECK(made && lone && n, "(a -nic pair, hub 0 with a NIC and a backend, a lone backend with a filter, a NIC alone)")) {
        free(pcap);
        return;
    }
    text = info_text();
    expect = xasprintf("hub 0\n"
                       " \\ hub0port1: up: index=0,type=test-be,test=yes\n"
                       " \\ hub0port0: test-nic.1: index=0,type=nic,model=test-nic,macaddr=52:54:00:12:34:56\n"
                       "lone: index=0,type=test-be,test=yes\n"
                       "filters:\n"
                       "  - f0: type=filter-dump,file=%s,maxlen=100,position=tail,status=on,insert=behind,"
                       "netdev=lone,queue=all\n"
                       "test-nic.0: index=0,type=nic,model=test-nic,macaddr=52:54:00:aa:bb:cc\n"
                       " \\ pair: index=0,type=test-be,test=yes\n"
                       "test-nic.2: index=0,type=nic,model=test-nic,macaddr=52:54:00:12:34:57\n",
                       pcap);
    if (!CHECK(!strcmp(text, expect), "info network in QEMU's layout: hub 0 newest port first, each NIC with its backend "
               "under it, the lone backend with its filter, the NIC alone"))
        tap_note("got:\n%s", text);
    CHECK(net_info(text, 10) == strlen(expect) && strlen(text) == 9, "net_info says the whole length when cut short");
    CHECK(send_byte(&n->nc, 1, 60, fake_sent) == 60 && n->f.sent == 0,
          "a NIC with no backend sends into nothing: its frames are taken and gone");
    free(text);
    free(expect);
    warn = stderr_of(run_machine_done);
    CHECK(strstr(warn, "warning: netdev lone has no peer") && strstr(warn, "warning: nic test-nic.2 has no peer") &&
          !strstr(warn, "pair"), "at machine-done QEMU's warnings name the backend no NIC uses and the NIC with no backend");
    free(warn);
    net_dump_free(d);
    unlink(pcap);
    free(pcap);
    free(err);
    teardown();
}

static int client_count(void)
{
    int n = 0;

    for (struct net_client *nc = net_clients(); nc; nc = nc->next)
        n++;
    return n;
}

static void test_options(void)
{
    char *err = NULL;
    int before;

#define REFUSED(call, text, what)                                                           \
    do {                                                                                    \
        int r_ = (call);                                                                    \
        CHECK(r_ < 0 && err && strstr(err, text), what ": \"%s\"", err ? err : "accepted"); \
        free(err);                                                                          \
        err = NULL;                                                                         \
    } while (0)
    REFUSED(netdev_add("test-be", &err), "a netdev needs an id", "-netdev without id=");
    REFUSED(netdev_add("test-be,id=1a", &err), "starting with a letter", "-netdev id=1a, not an identifier");
    REFUSED(netdev_add("warp,id=w", &err), "no network backend type 'warp'", "an unknown backend type");
    be_cleanups = 0;
    REFUSED(netdev_add("test-be,id=x,flavour=mint", &err), "unknown parameter 'flavour'", "an option the type does not have");
    CHECK(!netdev_find("x") && be_cleanups == 1, "and the backend made for it is taken down again");
    CHECK(netdev_add("test-be,id=x,colour=red", &err) == 0 && netdev_find("x"), "-netdev test-be,id=x,colour=red is made");
    REFUSED(netdev_add("test-be,id=x", &err), "already a netdev with id 'x'", "a second netdev x");
    REFUSED(net_add_legacy("nic,model=e1000", &err), "skiff has no NIC model 'e1000'", "-net nic,model=e1000");
    REFUSED(net_add_legacy("nic,model=test-nic,macaddr=01:00:5e:00:00:01", &err), "multicast", "a multicast macaddr=");
    REFUSED(net_add_legacy("nic,model=test-nic,macaddr=zz", &err), "52:54:00:12:34:56", "a macaddr= that is no address");
    REFUSED(net_add_legacy("nic,model=test-nic,netdev=nope", &err), "netdev 'nope' not found", "-net nic,netdev= of nothing");
    REFUSED(net_add_legacy("hubport,hubid=1", &err), "-netdev hubport", "-net hubport");
    before = client_count();
    REFUSED(net_add_nic_shorthand("test-be,model=test-nic,mac=ff:ff:ff:ff:ff:ff", &err), "multicast", "-nic mac= broadcast");
    REFUSED(net_add_nic_shorthand("test-be,model=test-nic,flavour=mint", &err), "unknown parameter 'flavour'",
            "-nic with an option its backend does not have");
    CHECK(client_count() == before, "a refused -nic leaves no backend behind");
    CHECK(net_add_legacy("none", &err) == 0 && net_add_nic_shorthand("none", &err) == 0 && net_create_nics(&err) == 0 &&
          !device_first(), "-net none and -nic none are taken, and make nothing");
    for (int i = 0; i < 8; i++)
        net_add_legacy("nic,model=test-nic", &err);
    REFUSED(net_add_legacy("nic,model=test-nic", &err), "at most 8 NICs", "a ninth -net nic (QEMU's MAX_NICS)");
    CHECK(net_create_nics(&err) == 0, "the eight are made");
    REFUSED(netdev_add("hubport,id=h", &err), "hubid=N", "-netdev hubport without hubid=");
    CHECK(netdev_add("hubport,id=h,hubid=3,netdev=x", &err) == 0 && netdev_find("h")->nc.peer == &netdev_find("x")->nc,
          "-netdev hubport,hubid=3,netdev=x: the port's peer is backend x");
    teardown();
#undef REFUSED
}

/* A pcap file: its header, then records; the frames dump wrote, checked field by field */
static void test_dump(void)
{
    char *path = tap_tmp_path("skiff-test-net-dump.pcap");
    struct test_be *b = be_new("test-be,id=b0");
    struct test_nic *n = nic_new("netdev=b0");
    struct net_dump *d = NULL, *rx = NULL;
    char *err = NULL;
    uint8_t *p = NULL;
    size_t len = 0;

    int r;

    CHECK(net_dump_new(&d, "f0", "b0", path, 64, "all", true, &err) == 0, "filter-dump on b0 opens its file");
    r = net_dump_new(&rx, "f1", "nope", path, 64, "all", true, &err);
    CHECK(r == -ENOENT && strstr(err, "no netdev 'nope'"), "a filter-dump naming no netdev is refused: \"%s\"", err);
    free(err);
    err = NULL;
    send_byte(&b->nd.nc, 0x11, 60, NULL);
    send_byte(&n->nc, 0x22, 100, NULL);
    net_set_link("b0", false, &err);
    send_byte(&b->nd.nc, 0x33, 60, NULL);
    net_set_link("b0", true, &err);
    net_dump_free(d);
    r = file_read_all(path, &p, &len);
    if (!CHECK(r == 0 && len == 24 + 16 + 60 + 16 + 64, "the file holds a header and two "
               "records, the second cut to maxlen=64; the frame sent while the link was down is not there (%zu bytes)", len)) {
        free(p);
        return;
    }
    CHECK(ldl_le(p) == 0xa1b2c3d4 && lduw_le(p + 4) == 2 && lduw_le(p + 6) == 4 && ldl_le(p + 16) == 64 &&
          ldl_le(p + 20) == 1, "a pcap 2.4 header: snaplen 64, Ethernet");
    CHECK(ldl_le(p + 24 + 8) == 60 && ldl_le(p + 24 + 12) == 60 && p[24 + 16] == 0x11 && p[24 + 16 + 59] == 0x11,
          "the backend's frame (tx) first, whole");
    CHECK(ldl_le(p + 100 + 8) == 64 && ldl_le(p + 100 + 12) == 100 && p[100 + 16] == 0x22,
          "then the NIC's (rx), 64 of its 100 bytes kept");
    free(p);
    /* tcpdump, if there, reads it as a capture of two frames */
    if (access("/usr/bin/tcpdump", X_OK) == 0 || access("/usr/sbin/tcpdump", X_OK) == 0) {
        char cmd[256], line[256];
        FILE *f;
        int lines = 0;
        bool truncated_seen = false;

        snprintf(cmd, sizeof(cmd), "PATH=/usr/sbin:/usr/bin:$PATH tcpdump -r %s -nn -e 2>&1", path);
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f)) {
            if (strstr(line, "length 60") || strstr(line, "length 100"))
                lines++;
            truncated_seen |= strstr(line, "22:22:22:22:22:22") != NULL;
        }
        CHECK(f && pclose(f) == 0 && lines == 2 && truncated_seen,
              "Debian's tcpdump -r reads both frames, with their lengths and addresses");
    } else {
        tap_skip("tcpdump is not installed (scripts/install-deps)", "Debian's tcpdump -r reads the file");
    }
    unlink(path);
    free(path);
    free(err);
    teardown();
}

int main(void)
{
    loop_init();
    devlock_lock();
    machine_init_requests();
    test_pair();
    test_queue_and_flush();
    test_bounds();
    test_link();
    test_purge();
    test_stopped_machine();
    test_hub();
    test_names_macs();
    test_info_and_warnings();
    test_options();
    test_dump();
    machine_cleanup_requests();
    loop_cleanup();
    devlock_unlock();
    return tap_done();
}
