/* virtio-net-test.c: virtio-net-pci driven as a guest's driver would, through the legacy and the modern interface: its identity, the features it offers and refuses, its configuration (address, link status, queue pairs), the control queue's commands, what a driver that breaks the rules gets, the boot order and ROM, and its state across a save and load */
/* budget: 120 */
#include "tests/qtest/libqos-virtio.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h> // PACKET_VNET_HDR
#include <net/if.h>
#include <sched.h> // unshare
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define VIRTIO_ID_NET       1
#define MEM_START           0x100000
#define MEM_END             0x4000000
#define WAIT_MS             5000
/* guest memory the tests lay out by hand, out of the driver's way */
#define SCRATCH             (MEM_END - 0x100000)

/* Network features (virtio 1.2 5.1.3) */
#define NET_F_CSUM          0
#define NET_F_GUEST_CSUM    1
#define NET_F_GUEST_OFFLOADS 2
#define NET_F_MAC           5
#define NET_F_GUEST_TSO4    7
#define NET_F_GUEST_TSO6    8
#define NET_F_GUEST_ECN     9
#define NET_F_GUEST_UFO     10
#define NET_F_HOST_TSO4     11
#define NET_F_HOST_TSO6     12
#define NET_F_HOST_ECN      13
#define NET_F_HOST_UFO      14
#define NET_F_MRG_RXBUF     15
#define NET_F_STATUS        16
#define NET_F_CTRL_VQ       17
#define NET_F_CTRL_RX       18
#define NET_F_CTRL_VLAN     19
#define NET_F_CTRL_RX_EXTRA 20
#define NET_F_GUEST_ANNOUNCE 21
#define NET_F_MQ            22
#define NET_F_CTRL_MAC_ADDR 23
#define B(f)                QVIRTIO_BIT(f)
#define OFFLOADS            (B(NET_F_CSUM) | B(NET_F_GUEST_CSUM) | B(NET_F_GUEST_TSO4) | B(NET_F_GUEST_TSO6) | \
                             B(NET_F_GUEST_ECN) | B(NET_F_GUEST_UFO) | B(NET_F_HOST_TSO4) | B(NET_F_HOST_TSO6) | \
                             B(NET_F_HOST_ECN) | B(NET_F_HOST_UFO))
#define CTRL_FEATURES       (B(NET_F_CTRL_RX) | B(NET_F_CTRL_VLAN) | B(NET_F_CTRL_RX_EXTRA) | \
                             B(NET_F_GUEST_ANNOUNCE) | B(NET_F_CTRL_MAC_ADDR) | B(NET_F_GUEST_OFFLOADS))
#define ALL_FEATURES        (~0ULL)

/* struct virtio_net_config (5.1.4) */
#define CFG_MAC             0
#define CFG_STATUS          6
#define CFG_MAX_PAIRS       8
#define S_LINK_UP           1
#define S_ANNOUNCE          2

/* The control queue (5.1.6.5) */
#define OK                  0
#define ERR                 1
#define C_RX                0
#define C_MAC               1
#define C_VLAN              2
#define C_ANNOUNCE          3
#define C_MQ                4
#define C_OFFLOADS          5

static const uint8_t default_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A driver's view of the device: its queues set up and running. */
struct vnet {
    struct qtest *q;
    struct qpci_bus *bus;
    struct qvirtio_dev *vd;
    struct qalloc *alloc;
    struct qvirtqueue *rx, *tx, *ctrl;
    int pairs;
};

static struct qvirtio_dev *find(struct qtest *q, struct qpci_bus **bus, enum qvirtio_mode mode)
{
    *bus = qpci_bus_new(q);
    return qvirtio_pci_new(*bus, VIRTIO_ID_NET, 0, mode);
}

/* Negotiate what the device offers of `wanted`, set up the first pair and the control queue, DRIVER_OK. */
static bool vnet_open(struct vnet *n, struct qtest *q, enum qvirtio_mode mode, uint64_t wanted)
{
    memset(n, 0, sizeof(*n));
    n->q = q;
    n->vd = find(q, &n->bus, mode);
    if (!n->vd)
        return false;
    n->alloc = qalloc_new(MEM_START, SCRATCH);
    qvirtio_msix_enable(n->vd);
    if (!qvirtio_negotiate(n->vd, wanted))
        return false;
    n->pairs = n->vd->features & B(NET_F_MQ) ? qvirtio_config_readw(n->vd, CFG_MAX_PAIRS) : 1;
    n->rx = qvirtqueue_setup(n->vd, n->alloc, 0, 0);
    n->tx = qvirtqueue_setup(n->vd, n->alloc, 1, 0);
    n->ctrl = qvirtqueue_setup(n->vd, n->alloc, 2 * n->pairs, 0);
    if (!n->rx || !n->tx || !n->ctrl)
        return false;
    qvirtio_driver_ok(n->vd);
    return true;
}

static void vnet_close(struct vnet *n)
{
    qvirtqueue_free(n->rx);
    qvirtqueue_free(n->tx);
    qvirtqueue_free(n->ctrl);
    if (n->alloc)
        qalloc_destroy(n->alloc);
    if (n->vd)
        qvirtio_free(n->vd);
    free(n->bus);
    memset(n, 0, sizeof(*n));
}

static void read_mac(struct qvirtio_dev *vd, uint8_t *mac)
{
    for (int i = 0; i < 6; i++)
        mac[i] = qvirtio_config_readb(vd, CFG_MAC + i);
}

static const char *mac_str(const uint8_t *m)
{
    static char s[4][18];
    static int k;

    k = (k + 1) % 4;
    snprintf(s[k], sizeof(s[k]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return s[k];
}

/*
 * A control command: the class and command in one buffer, the data in another (as Linux lays
 * them out), the ack in a device-writable byte. The ack, or -1 when the device never answered.
 */
static int ctrl(struct vnet *n, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
    uint64_t hdr = qalloc(n->alloc, 2), buf = len ? qalloc(n->alloc, len) : 0, ack = qalloc(n->alloc, 1);
    uint8_t h[2] = { cls, cmd };
    struct qvirtio_buf b[3];
    unsigned k = 0;
    uint32_t used;
    int r = -1;

    qtest_memwrite(n->q, hdr, h, 2);
    b[k++] = (struct qvirtio_buf){ hdr, 2, false };
    if (len) {
        qtest_memwrite(n->q, buf, data, len);
        b[k++] = (struct qvirtio_buf){ buf, len, false };
    }
    qtest_writeb(n->q, ack, 0xee);
    b[k++] = (struct qvirtio_buf){ ack, 1, true };
    qvirtqueue_submit(n->ctrl, b, k, false);
    if (qvirtqueue_wait_used(n->ctrl, NULL, &used, WAIT_MS))
        r = used == 1 ? qtest_readb(n->q, ack) : 0x100 | used;
    qfree(n->alloc, hdr);
    if (buf)
        qfree(n->alloc, buf);
    qfree(n->alloc, ack);
    return r;
}

static int ctrl_u8(struct vnet *n, uint8_t cls, uint8_t cmd, uint8_t v)
{
    return ctrl(n, cls, cmd, &v, 1);
}

static int ctrl_u16(struct vnet *n, uint8_t cls, uint8_t cmd, uint16_t v)
{
    uint8_t d[2] = { v, v >> 8 };

    return ctrl(n, cls, cmd, d, 2);
}

/* skiff ARGS fails at start-up: exit status 1 and one line with `want` */
static void refused(const char *what, const char *want, const char *args)
{
    const char *bin = getenv("SKIFF");
    char cmd[4096], out[1024] = "";
    FILE *p;
    size_t len;
    int st;

    snprintf(cmd, sizeof(cmd), "timeout 20 %s -accel qtest -qtest unix:/nonexistent/sock -nodefaults "
             "-display none %s 2>&1 </dev/null", bin ? bin : "./skiff", args);
    p = popen(cmd, "r");
    if (!p)
        exit(2);
    len = fread(out, 1, sizeof(out) - 1, p);
    out[len] = 0;
    st = pclose(p);
    if (len && out[len - 1] == '\n')
        out[len - 1] = 0;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(out, want) && !strchr(out, '\n'),
          "%s: \"%s\"", what, out);
}

/* ---- the function, its features and its configuration ---- */

static void test_identity(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile=,addr=04.0");
    struct qpci_bus *bus = qpci_bus_new(q);
    struct qpci_dev *d = qpci_at(bus, PCI_DEVFN(4, 0));

    CHECK(d && d->vendor == 0x1af4 && d->device == 0x1000 && d->class_code >> 8 == 0x0200 &&
          pci_cfg_readw(q, d->devfn, 0x2e) == 1 && pci_cfg_readb(q, d->devfn, 0x3d) == 1,
          "a transitional virtio-net is 1af4:1000, an Ethernet controller (0200), subsystem 1, on INTA#");
    free(bus);
    qtest_quit(q);

    q = qtest_start("-m 64 -device virtio-net-pci,romfile=,addr=04.0,disable-legacy=on");
    bus = qpci_bus_new(q);
    d = qpci_at(bus, PCI_DEVFN(4, 0));
    CHECK(d && d->vendor == 0x1af4 && d->device == 0x1041 && d->class_code >> 8 == 0x0200,
          "a modern-only one is 1af4:1041");
    free(bus);
    qtest_quit(q);
}

static void test_features(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile=");
    struct qpci_bus *bus;
    struct qvirtio_dev *vd = find(q, &bus, QVIRTIO_MODERN);
    uint64_t want = B(NET_F_MAC) | B(NET_F_MRG_RXBUF) | B(NET_F_STATUS) | B(NET_F_CTRL_VQ) | CTRL_FEATURES |
                    B(QVIRTIO_F_VERSION_1) | B(QVIRTIO_F_INDIRECT_DESC) | B(QVIRTIO_F_EVENT_IDX), f;

    f = qvirtio_host_features(vd);
    CHECK(f == want, "without a backend it offers QEMU's set: MAC, MRG_RXBUF, STATUS, the control queue and its "
          "commands, VERSION_1, and no legacy-only ring bits (0x%llx, wanted 0x%llx)", (unsigned long long)f, (unsigned long long)want);
    CHECK(!(f & OFFLOADS), "and no checksum or segmentation offload, with no tap to do them");
    CHECK(!(f & B(NET_F_MQ)), "and one queue pair without mq=on");
    qvirtio_free(vd);
    free(bus);
    qtest_quit(q);

    q = qtest_start("-m 64 -device virtio-net-pci,romfile=,ctrl_vq=off,mrg_rxbuf=off,status=off");
    vd = find(q, &bus, QVIRTIO_LEGACY);
    f = qvirtio_host_features(vd);
    CHECK(!(f & (CTRL_FEATURES | B(NET_F_CTRL_VQ) | B(NET_F_MRG_RXBUF) | B(NET_F_STATUS))) && (f & B(NET_F_MAC)),
          "ctrl_vq=off takes every control command with it; mrg_rxbuf=off and status=off take theirs (0x%llx)",
          (unsigned long long)f);
    qvirtio_free(vd);
    free(bus);
    qtest_quit(q);

    q = qtest_start("-m 64 -device virtio-net-pci,romfile=,ctrl_rx=off");
    vd = find(q, &bus, QVIRTIO_LEGACY);
    f = qvirtio_host_features(vd);
    CHECK(!(f & (B(NET_F_CTRL_RX) | B(NET_F_CTRL_RX_EXTRA))) && (f & B(NET_F_CTRL_VLAN)),
          "ctrl_rx=off takes CTRL_RX_EXTRA, which needs it, and leaves CTRL_VLAN");
    qvirtio_free(vd);
    free(bus);
    qtest_quit(q);

    /* 5.1.3.1: a driver that takes a feature without the one it needs is refused */
    q = qtest_start("-m 64 -device virtio-net-pci,romfile=");
    vd = find(q, &bus, QVIRTIO_MODERN);
    CHECK(!qvirtio_negotiate(vd, B(QVIRTIO_F_VERSION_1) | B(NET_F_CTRL_RX)),
          "FEATURES_OK stays clear for CTRL_RX without CTRL_VQ");
    CHECK(!qvirtio_negotiate(vd, B(QVIRTIO_F_VERSION_1) | B(NET_F_CTRL_VQ) | B(NET_F_CTRL_RX_EXTRA)),
          "and for CTRL_RX_EXTRA without CTRL_RX");
    CHECK(qvirtio_negotiate(vd, B(QVIRTIO_F_VERSION_1) | B(NET_F_CTRL_VQ) | B(NET_F_CTRL_RX) |
                            B(NET_F_CTRL_RX_EXTRA)),
          "and is set for them together");
    qvirtio_free(vd);
    free(bus);
    qtest_quit(q);
}

static void test_config(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile= -device virtio-net-pci,romfile= "
                                  "-device virtio-net-pci,romfile=,mac=02:aa:bb:cc:dd:0e");
    struct qpci_bus *bus = qpci_bus_new(q);
    uint8_t m[3][6], want1[6], want2[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e };
    struct qvirtio_dev *vd[3];

    memcpy(want1, default_mac, 6);
    want1[5]++;
    for (int i = 0; i < 3; i++) {
        vd[i] = qvirtio_pci_new(bus, VIRTIO_ID_NET, i, i == 1 ? QVIRTIO_LEGACY : QVIRTIO_MODERN);
        read_mac(vd[i], m[i]);
    }
    CHECK(!memcmp(m[0], default_mac, 6) && !memcmp(m[1], want1, 6),
          "the NICs get QEMU's addresses in order: %s, then %s (read through the legacy interface)",
          mac_str(m[0]), mac_str(m[1]));
    CHECK(!memcmp(m[2], want2, 6), "mac= gives %s", mac_str(m[2]));
    CHECK(qvirtio_config_readw(vd[0], CFG_STATUS) == S_LINK_UP && qvirtio_config_readw(vd[1], CFG_STATUS) == S_LINK_UP,
          "the link status reads up in both interfaces");
    CHECK(qvirtio_config_readw(vd[0], CFG_MAX_PAIRS) == 1, "max_virtqueue_pairs reads 1");
    CHECK(qvirtio_common_read(vd[0], QVIRTIO_C_NUMQ, 2) == 3, "three queues: receive, transmit, control");
    for (int i = 0; i < 3; i++)
        qvirtio_free(vd[i]);
    free(bus);
    qtest_quit(q);

    q = qtest_start("-m 64 -smp 4 -device virtio-net-pci,romfile=,mq=on");
    vd[0] = find(q, &bus, QVIRTIO_MODERN);
    CHECK((qvirtio_host_features(vd[0]) & B(NET_F_MQ)) && qvirtio_config_readw(vd[0], CFG_MAX_PAIRS) == 4 &&
          qvirtio_common_read(vd[0], QVIRTIO_C_NUMQ, 2) == 9 && vd[0]->msix_size == 10,
          "mq=on with 4 vCPUs: MQ, 4 queue pairs, 9 queues and 10 MSI-X vectors (%u pairs, %u queues, %u vectors)",
          qvirtio_config_readw(vd[0], CFG_MAX_PAIRS), qvirtio_common_read(vd[0], QVIRTIO_C_NUMQ, 2),
          vd[0]->msix_size);
    qvirtio_free(vd[0]);
    free(bus);
    qtest_quit(q);
}

static uint16_t legacy_queue_size(struct qvirtio_dev *vd, unsigned i)
{
    qtest_outw(vd->q, vd->io + QVIRTIO_L_QUEUE_SEL, i);
    return qtest_inw(vd->q, vd->io + QVIRTIO_L_QUEUE_NUM);
}

static void test_queue_sizes(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile= "
                                  "-device virtio-net-pci,romfile=,rx_queue_size=1024,tx_queue_size=512");
    struct qpci_bus *bus = qpci_bus_new(q);
    struct qvirtio_dev *a = qvirtio_pci_new(bus, VIRTIO_ID_NET, 0, QVIRTIO_LEGACY);
    struct qvirtio_dev *b = qvirtio_pci_new(bus, VIRTIO_ID_NET, 1, QVIRTIO_LEGACY);

    CHECK(legacy_queue_size(a, 0) == 256 && legacy_queue_size(a, 1) == 256 && legacy_queue_size(a, 2) == 64,
          "the queues hold 256, 256 and 64 (the control queue) entries by default");
    CHECK(legacy_queue_size(b, 0) == 1024 && legacy_queue_size(b, 1) == 512 && legacy_queue_size(b, 2) == 64,
          "rx_queue_size=1024 and tx_queue_size=512 size theirs");
    qvirtio_free(a);
    qvirtio_free(b);
    free(bus);
    qtest_quit(q);
    refused("rx_queue_size=100", "a power of 2 from 256 to 1024", "-device virtio-net-pci,romfile=,rx_queue_size=100");
    refused("tx_queue_size=2048", "a power of 2 from 256 to 1024", "-device virtio-net-pci,romfile=,tx_queue_size=2048");
}

/* A legacy driver sets the address by writing the configuration; a modern one cannot. */
static void test_mac_write(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile=");
    uint8_t want[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }, m[6];
    struct vnet n;

    CHECK(vnet_open(&n, q, QVIRTIO_LEGACY, B(NET_F_MAC) | B(NET_F_CTRL_VQ)), "a legacy driver starts the device");
    for (int i = 0; i < 6; i++)
        qvirtio_config_writeb(n.vd, CFG_MAC + i, want[i]);
    read_mac(n.vd, m);
    CHECK(!memcmp(m, want, 6), "it writes %s into the configuration and reads it back (%s)", mac_str(want), mac_str(m));
    qvirtio_reset(n.vd);
    read_mac(n.vd, m);
    CHECK(!memcmp(m, default_mac, 6), "a reset gives the device its own address again (%s)", mac_str(m));
    vnet_close(&n);

    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, B(QVIRTIO_F_VERSION_1) | B(NET_F_MAC)), "a modern driver starts it");
    qvirtio_config_writeb(n.vd, CFG_MAC, 0x0a);
    read_mac(n.vd, m);
    CHECK(!memcmp(m, default_mac, 6), "its write to the address is ignored (5.1.4.2)");
    vnet_close(&n);
    qtest_quit(q);
}

/* ---- the control queue ---- */

static void test_ctrl(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile=");
    uint8_t table[4 + 6 + 4 + 12] = { 1, 0, 0, 0, 0x02, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0x01, 0, 0x5e, 0, 0, 1,
                                      0x01, 0, 0x5e, 0, 0, 2 };
    uint8_t mac[6] = { 0x02, 0xde, 0xad, 0xbe, 0xef, 0x01 }, m[6], big[4 + 65 * 6 + 4] = { 65 };
    uint8_t off64[8] = { 0 };
    struct vnet n;

    qtest_irq_intercept(q);
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a modern driver takes every feature offered");
    CHECK(ctrl_u8(&n, C_RX, 0, 0) == OK && ctrl_u8(&n, C_RX, 0, 1) == OK && ctrl_u8(&n, C_RX, 1, 1) == OK,
          "RX PROMISC off and on, ALLMULTI on: OK");
    CHECK(ctrl_u8(&n, C_RX, 2, 1) == OK && ctrl_u8(&n, C_RX, 3, 0) == OK && ctrl_u8(&n, C_RX, 4, 0) == OK &&
          ctrl_u8(&n, C_RX, 5, 0) == OK, "ALLUNI, NOMULTI, NOUNI, NOBCAST (CTRL_RX_EXTRA): OK");
    CHECK(ctrl_u8(&n, C_RX, 6, 1) == ERR, "an unknown RX command: ERR");
    CHECK(ctrl(&n, C_RX, 0, NULL, 0) == ERR, "PROMISC without its byte: ERR");
    CHECK(ctrl(&n, C_MAC, 0, table, sizeof(table)) == OK, "MAC_TABLE_SET with one unicast and two multicast: OK");
    CHECK(ctrl(&n, C_MAC, 0, table, sizeof(table) - 1) == ERR, "the same one byte short: ERR");
    CHECK(ctrl(&n, C_MAC, 0, table, 4) == ERR, "a unicast count with no addresses after it: ERR");
    memcpy(big + 4 + 65 * 6, (uint8_t[4]){ 0 }, 4);
    CHECK(ctrl(&n, C_MAC, 0, big, sizeof(big)) == OK, "65 unicast addresses (more than the table holds): OK");
    big[0] = 0xff, big[1] = 0xff, big[2] = 0xff, big[3] = 0xff;
    CHECK(ctrl(&n, C_MAC, 0, big, sizeof(big)) == ERR, "a count of 0xffffffff: ERR");
    CHECK(ctrl(&n, C_MAC, 1, mac, 6) == OK, "MAC_ADDR_SET: OK");
    read_mac(n.vd, m);
    CHECK(!memcmp(m, mac, 6), "and the configuration reads the new address (%s)", mac_str(m));
    CHECK(ctrl(&n, C_MAC, 1, mac, 5) == ERR, "MAC_ADDR_SET with 5 bytes: ERR");
    CHECK(ctrl_u16(&n, C_VLAN, 0, 4095) == OK && ctrl_u16(&n, C_VLAN, 1, 4095) == OK && ctrl_u16(&n, C_VLAN, 0, 0) == OK,
          "VLAN ADD and DEL of ids 0 and 4095: OK");
    CHECK(ctrl_u16(&n, C_VLAN, 0, 4096) == ERR && ctrl_u16(&n, C_VLAN, 2, 1) == ERR,
          "VLAN id 4096, and an unknown VLAN command: ERR");
    CHECK(ctrl(&n, C_ANNOUNCE, 0, NULL, 0) == ERR, "ANNOUNCE_ACK with nothing announced: ERR");
    CHECK(ctrl_u16(&n, C_MQ, 0, 1) == ERR, "VQ_PAIRS_SET without MQ: ERR");
    CHECK(ctrl(&n, C_OFFLOADS, 0, off64, 8) == ERR, "GUEST_OFFLOADS_SET without a tap: ERR");
    CHECK(ctrl(&n, 9, 0, NULL, 0) == ERR, "an unknown class: ERR");
    CHECK(!(qvirtio_get_status(n.vd) & QVIRTIO_NEEDS_RESET), "the device runs on after all of them");
    qvirtio_reset(n.vd);
    read_mac(n.vd, m);
    CHECK(!memcmp(m, default_mac, 6), "a reset gives back the device's address (%s)", mac_str(m));
    vnet_close(&n);

    /* 5.1.6.5: without the feature, its commands are refused */
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, B(QVIRTIO_F_VERSION_1) | B(NET_F_CTRL_VQ)),
          "a driver with the control queue and none of its commands");
    CHECK(ctrl_u8(&n, C_RX, 0, 0) == ERR && ctrl(&n, C_MAC, 0, table, sizeof(table)) == ERR &&
          ctrl(&n, C_MAC, 1, mac, 6) == ERR && ctrl_u16(&n, C_VLAN, 0, 1) == ERR,
          "RX, MAC_TABLE_SET, MAC_ADDR_SET and VLAN are refused");
    read_mac(n.vd, m);
    CHECK(!memcmp(m, default_mac, 6), "and the address stays %s", mac_str(m));
    vnet_close(&n);
    qtest_quit(q);

    q = qtest_start("-m 64 -smp 3 -device virtio-net-pci,romfile=,mq=on");
    qtest_irq_intercept(q);
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES) && n.pairs == 3, "mq=on with 3 vCPUs: 3 pairs");
    CHECK(ctrl_u16(&n, C_MQ, 0, 3) == OK && ctrl_u16(&n, C_MQ, 0, 1) == OK, "VQ_PAIRS_SET 3, then 1: OK");
    CHECK(ctrl_u16(&n, C_MQ, 0, 0) == ERR && ctrl_u16(&n, C_MQ, 0, 4) == ERR && ctrl_u16(&n, C_MQ, 1, 2) == ERR,
          "0 pairs, 4 pairs and an unknown MQ command: ERR");
    vnet_close(&n);
    qtest_quit(q);
}

/* ---- a driver that breaks the rules ---- */

static bool needs_reset(struct vnet *n)
{
    for (int i = 0; i < 1000; i++) {
        if (qvirtio_get_status(n->vd) & QVIRTIO_NEEDS_RESET)
            return true;
        usleep(1000);
    }
    return false;
}

static void test_hostile(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile=");
    uint64_t buf = SCRATCH;
    struct vnet n;
    uint8_t frame[12 + 60] = { 0 };
    uint32_t len;

    qtest_irq_intercept(q);
    qtest_memwrite(q, buf, frame, sizeof(frame));

    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a modern driver");
    qvirtqueue_submit(n.ctrl, &(struct qvirtio_buf){ buf, 2, false }, 1, false);
    CHECK(needs_reset(&n) && !qvirtqueue_get_used(n.ctrl, NULL, NULL),
          "a control command with no byte for its ack: NEEDS_RESET, and it is not completed");
    vnet_close(&n);

    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "the driver starts again after a reset");
    qvirtqueue_submit(n.ctrl, (struct qvirtio_buf[]){ { buf, 1, false }, { buf + 64, 1, true } }, 2, false);
    CHECK(needs_reset(&n), "a control command of one byte: NEEDS_RESET");
    vnet_close(&n);

    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "again");
    qvirtqueue_submit(n.tx, &(struct qvirtio_buf){ buf, 11, false }, 1, false);
    CHECK(needs_reset(&n), "a transmit request of 11 bytes, shorter than its 12-byte header: NEEDS_RESET");
    vnet_close(&n);

    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "again");
    qvirtqueue_submit(n.tx, &(struct qvirtio_buf){ buf, sizeof(frame), false }, 1, false);
    CHECK(qvirtqueue_wait_used(n.tx, NULL, &len, WAIT_MS) && len == 0,
          "a frame to no backend is sent, as on an unplugged cable: its request completes with 0 bytes written");
    CHECK(!(qvirtio_get_status(n.vd) & QVIRTIO_NEEDS_RESET), "and the device runs on");
    vnet_close(&n);
    qtest_quit(q);
}


/* ---- frames through a backend: -netdev socket connected to the test, QEMU's framing ---- */

#define ETHERTYPE_TEST      0x88b5      /* IEEE's local experimental ethertype */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
static const uint8_t mcast1[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t mcast7[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x07 };

/* A listening socket on 127.0.0.1 for skiff's connect=, whose receive buffer is small (back-pressure comes soon). */
static int peer_listen(int *port, int rcvbuf)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        printf("Bail out! cannot listen on 127.0.0.1: %s\n", strerror(errno));
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static bool wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };

    return poll(&p, 1, timeout_ms) == 1;
}

static int peer_accept(int lfd)
{
    int fd = wait_fd(lfd, POLLIN, WAIT_MS) ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;

    if (fd < 0) {
        printf("Bail out! skiff did not connect to the test's socket\n");
        exit(2);
    }
    close(lfd);
    return fd;
}

static bool read_full(int fd, void *buf, size_t len, int timeout_ms)
{
    for (size_t got = 0; got < len;) {
        ssize_t r;

        if (!wait_fd(fd, POLLIN, timeout_ms))
            return false;
        r = read(fd, (uint8_t *)buf + got, len - got);
        if (r <= 0)
            return false;
        got += r;
    }
    return true;
}

static void peer_send(int fd, const void *f, size_t len)
{
    uint8_t be[4] = { len >> 24, len >> 16, len >> 8, len };

    if (write(fd, be, 4) != 4 || write(fd, f, len) != (ssize_t)len) {
        printf("Bail out! cannot write to skiff's socket\n");
        exit(2);
    }
}

/* The next frame from skiff: its length, or -1 when none came within timeout_ms. */
static int peer_recv(int fd, void *buf, size_t max, int timeout_ms)
{
    uint8_t be[4];
    uint32_t len;

    if (!read_full(fd, be, 4, timeout_ms))
        return -1;
    len = (uint32_t)be[0] << 24 | be[1] << 16 | be[2] << 8 | be[3];
    if (len > max || !read_full(fd, buf, len, WAIT_MS))
        return -1;
    return len;
}

/* An Ethernet frame of len bytes: addresses, the test's ethertype, the sequence number, then a pattern. */
static size_t make_frame(uint8_t *f, size_t len, const uint8_t *dst, const uint8_t *src, uint32_t seq)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    for (size_t i = 14; i < len; i++)
        f[i] = i < 18 ? seq >> (8 * (i - 14)) : (uint8_t)(seq * 7 + i);
    return len;
}

static uint32_t frame_seq(const uint8_t *f)
{
    return f[14] | f[15] << 8 | f[16] << 16 | (uint32_t)f[17] << 24;
}

/* skiff with a virtio-net-pci on a socket backend connected to the test; *fd: the test's end. */
static struct qtest *start_wired(int *fd, int rcvbuf, const char *extra)
{
    int port, lfd = peer_listen(&port, rcvbuf);
    struct qtest *q = qtest_start("-m 64 -netdev socket,id=n0,connect=127.0.0.1:%d "
                                  "-device virtio-net-pci,netdev=n0,romfile=,id=nic0%s", port, extra);

    *fd = peer_accept(lfd);
    qtest_irq_intercept(q);
    return q;
}

/* Send a frame as the driver does: its header (zero, or `hdr`), then the frame, in one buffer. */
static bool tx_frame(struct vnet *n, const void *hdr, const void *f, size_t len, uint32_t *used)
{
    unsigned hl = n->vd->features & (B(QVIRTIO_F_VERSION_1) | B(NET_F_MRG_RXBUF)) ? 12 : 10;
    uint64_t a = qalloc(n->alloc, hl + len);
    uint8_t zero[12] = { 0 };
    bool ok;

    qtest_memwrite(n->q, a, hdr ? hdr : zero, hl);
    qtest_memwrite(n->q, a + hl, f, len);
    qvirtqueue_submit(n->tx, &(struct qvirtio_buf){ a, hl + len, false }, 1, false);
    ok = qvirtqueue_wait_used(n->tx, NULL, used, WAIT_MS);
    qfree(n->alloc, a);
    return ok;
}

/* Receive buffers the driver gives, by head. */
struct rxbufs {
    uint64_t addr[1024];
    uint32_t size[1024];
};

static void rx_give(struct vnet *n, struct rxbufs *rb, unsigned count, uint32_t size)
{
    for (unsigned i = 0; i < count; i++) {
        uint64_t a = qalloc(n->alloc, size);
        uint16_t h = qvirtqueue_add(n->rx, &(struct qvirtio_buf){ a, size, true }, 1);

        rb->addr[h] = a;
        rb->size[h] = size;
        qvirtqueue_publish(n->rx, h);
    }
    qvirtqueue_kick(n->rx);
}

/* The next received buffer: what was written into it (header and frame), its length; -1 for none. */
static int rx_take(struct vnet *n, struct rxbufs *rb, uint8_t *buf, int timeout_ms)
{
    uint16_t h;
    uint32_t len;

    if (!qvirtqueue_wait_used(n->rx, &h, &len, timeout_ms))
        return -1;
    if (len > rb->size[h])
        return -2;
    qtest_memread(n->q, rb->addr[h], buf, len);
    qfree(n->alloc, rb->addr[h]);
    return len;
}

static bool is_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

static void test_tx(void)
{
    static uint8_t f[70000], got[70000];
    uint8_t hdr[12] = { 0 };
    struct qtest *q;
    struct vnet n;
    uint32_t used;
    int fd, len, ok = 0;

    q = start_wired(&fd, 0, "");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a modern driver on a socket backend");
    CHECK(!(qvirtio_host_features(n.vd) & OFFLOADS) && (n.vd->features & B(NET_F_CTRL_RX)),
          "a socket has no vnet header: no checksum or segmentation offload is offered (0x%llx)",
          (unsigned long long)qvirtio_host_features(n.vd));
    make_frame(f, 100, other_mac, default_mac, 1);
    CHECK(tx_frame(&n, NULL, f, 100, &used) && used == 0, "a frame sent completes with 0 bytes written");
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 100 && !memcmp(got, f, 100), "the peer gets its 100 bytes, without the 12-byte header (%d)", len);

    /* a batch, one kick */
    for (uint32_t i = 0; i < 64; i++) {
        uint64_t a = qalloc(n.alloc, 12 + 60 + i);

        make_frame(f, 60 + i, other_mac, default_mac, 100 + i);
        qtest_memwrite(q, a, hdr, 12);
        qtest_memwrite(q, a + 12, f, 60 + i);
        qvirtqueue_publish(n.tx, qvirtqueue_add(n.tx, &(struct qvirtio_buf){ a, 12 + 60 + i, false }, 1));
    }
    qvirtqueue_kick(n.tx);
    for (uint32_t i = 0; i < 64; i++) {
        len = peer_recv(fd, got, sizeof(got), WAIT_MS);
        ok += len == (int)(60 + i) && frame_seq(got) == 100 + i;
    }
    CHECK(ok == 64, "64 frames made available at once arrive whole and in order (%d)", ok);
    for (int i = 0; i < 64 && qvirtqueue_wait_used(n.tx, NULL, &used, WAIT_MS); i++)
        ;
    CHECK(n.tx->last_used == 1 + 64, "and all 64 complete (%u)", n.tx->last_used - 1);

    /* scattered: the header alone, then the frame in 20 pieces; and through an indirect table */
    {
        struct qvirtio_buf b[21];
        uint64_t a = qalloc(n.alloc, 12 + 400);

        make_frame(f, 400, other_mac, default_mac, 500);
        qtest_memwrite(q, a, hdr, 12);
        qtest_memwrite(q, a + 12, f, 400);
        b[0] = (struct qvirtio_buf){ a, 12, false };
        for (int i = 0; i < 20; i++)
            b[1 + i] = (struct qvirtio_buf){ a + 12 + 20 * i, 20, false };
        qvirtqueue_submit(n.tx, b, 21, false);
        len = peer_recv(fd, got, sizeof(got), WAIT_MS);
        CHECK(len == 400 && !memcmp(got, f, 400), "a frame in 21 descriptors, the header in the first, arrives whole");
        qvirtqueue_submit(n.tx, b, 21, true);
        len = peer_recv(fd, got, sizeof(got), WAIT_MS);
        CHECK(len == 400 && !memcmp(got, f, 400), "and through an indirect table");
        while (qvirtqueue_get_used(n.tx, NULL, NULL) || qvirtqueue_wait_used(n.tx, NULL, NULL, 100))
            ;
        qfree(n.alloc, a);
    }

    /* headers that lie, runts and giants: dropped, completed, and the device goes on */
    make_frame(f, 100, other_mac, default_mac, 600);
    hdr[0] = 1;             /* NEEDS_CSUM, never negotiated */
    hdr[6] = 14;
    hdr[8] = 16;
    CHECK(tx_frame(&n, hdr, f, 100, &used), "a header asking for a checksum (no CSUM negotiated) completes");
    memset(hdr, 0, sizeof(hdr));
    hdr[1] = 1;             /* GSO_TCPV4, never negotiated */
    hdr[4] = 0x40;
    CHECK(tx_frame(&n, hdr, f, 100, &used), "a header asking for TCP segmentation completes");
    memset(hdr, 0, sizeof(hdr));
    hdr[1] = 0x80;          /* ECN without a GSO type */
    CHECK(tx_frame(&n, hdr, f, 100, &used), "a header with ECN alone completes");
    memset(hdr, 0, sizeof(hdr));
    CHECK(tx_frame(&n, NULL, f, 13, &used), "a 13-byte frame completes");
    make_frame(f, 65558, other_mac, default_mac, 601);
    CHECK(tx_frame(&n, NULL, f, 65558, &used), "a 65558-byte frame completes");
    make_frame(f, 65557, other_mac, default_mac, 602);
    CHECK(tx_frame(&n, NULL, f, 65557, &used), "a 65557-byte frame (64 KiB of IP, two VLAN tags) completes");
    make_frame(f, 80, other_mac, default_mac, 603);
    CHECK(tx_frame(&n, NULL, f, 80, &used), "then an honest one");
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 65557 && frame_seq(got) == 602, "the peer got none of the lying or runt ones, nor the giant: "
          "the 65557-byte frame comes next (%d bytes, #%u)", len, len > 17 ? frame_seq(got) : 0);
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 80 && frame_seq(got) == 603, "then the honest one");
    CHECK(!(qvirtio_get_status(n.vd) & QVIRTIO_NEEDS_RESET), "and the device still runs");
    vnet_close(&n);

    /* a legacy driver's header is 10 bytes */
    CHECK(vnet_open(&n, q, QVIRTIO_LEGACY, B(NET_F_MAC)), "a legacy driver without MRG_RXBUF");
    make_frame(f, 90, other_mac, default_mac, 700);
    tx_frame(&n, NULL, f, 90, &used);
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 90 && !memcmp(got, f, 90), "its frame arrives after a 10-byte header (%d)", len);
    vnet_close(&n);
    close(fd);
    qtest_quit(q);
}

static void test_rx(void)
{
    static uint8_t f[4096], got[8192];
    struct rxbufs rb;
    struct qtest *q;
    struct vnet n;
    int fd, len;

    q = start_wired(&fd, 0, "");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES & ~B(NET_F_MRG_RXBUF)), "a modern driver without MRG_RXBUF");
    rx_give(&n, &rb, 4, 2048);
    make_frame(f, 200, default_mac, other_mac, 1);
    peer_send(fd, f, 200);
    CHECK(qvirtqueue_wait_irq(n.rx, WAIT_MS), "a frame from the peer raises the receive queue's interrupt");
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == 212 && is_zero(got, 10) && got[10] == 1 && got[11] == 0 && !memcmp(got + 12, f, 200),
          "it is in a buffer after a 12-byte header of zeros with num_buffers 1 (%d bytes)", len);
    vnet_close(&n);

    CHECK(vnet_open(&n, q, QVIRTIO_LEGACY, B(NET_F_MAC)), "a legacy driver without MRG_RXBUF");
    rx_give(&n, &rb, 4, 2048);
    make_frame(f, 300, default_mac, other_mac, 2);
    peer_send(fd, f, 300);
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == 310 && is_zero(got, 10) && !memcmp(got + 10, f, 300), "its frame comes after 10 bytes (%d)", len);
    vnet_close(&n);

    /* mergeable buffers: a frame over several, num_buffers in the first */
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a modern driver with MRG_RXBUF");
    rx_give(&n, &rb, 8, 256);
    make_frame(f, 1000, default_mac, other_mac, 3);
    peer_send(fd, f, 1000);
    {
        uint8_t all[2048];
        int lens[4], total = 0;

        for (int i = 0; i < 4; i++) {
            lens[i] = rx_take(&n, &rb, all + total, WAIT_MS);
            total += lens[i] > 0 ? lens[i] : 0;
        }
        CHECK(lens[0] == 256 && lens[1] == 256 && lens[2] == 256 && lens[3] == 244,
              "a 1000-byte frame fills 256-byte buffers one after the other (%d, %d, %d, %d)",
              lens[0], lens[1], lens[2], lens[3]);
        CHECK(all[10] == 4 && all[11] == 0 && is_zero(all, 10) && total == 1012 && !memcmp(all + 12, f, 1000),
              "num_buffers says 4, and the frame is whole across them");
    }
    CHECK(n.rx->last_used == 4 && qvirtqueue_used_idx(n.rx) == 4, "and the used index moved by 4 at once");

    /* no room: frames wait for buffers and none is lost */
    rx_give(&n, &rb, 0, 0);
    len = rx_take(&n, &rb, got, 0);
    for (uint32_t i = 0; i < 4; i++) {
        make_frame(f, 100, default_mac, other_mac, 10 + i);
        peer_send(fd, f, 100);
    }
    {
        int ok = 0;

        /* the 4 buffers left take 4 frames; then the ring is empty */
        for (uint32_t i = 0; i < 4; i++) {
            len = rx_take(&n, &rb, got, WAIT_MS);
            ok += len == 112 && frame_seq(got + 12) == 10 + i;
        }
        CHECK(ok == 4, "the 4 buffers left take the next 4 frames (%d)", ok);
        for (uint32_t i = 0; i < 3; i++) {
            make_frame(f, 100, default_mac, other_mac, 20 + i);
            peer_send(fd, f, 100);
        }
        usleep(200000);
        CHECK(rx_take(&n, &rb, got, 0) == -1, "3 more with no buffer left wait");
        rx_give(&n, &rb, 8, 256);
        ok = 0;
        for (uint32_t i = 0; i < 3; i++) {
            len = rx_take(&n, &rb, got, WAIT_MS);
            ok += len == 112 && frame_seq(got + 12) == 20 + i;
        }
        CHECK(ok == 3, "and arrive, in order, once the driver gives buffers and kicks (%d)", ok);
    }
    vnet_close(&n);

    /* a frame larger than a buffer without MRG_RXBUF: dropped; the buffer takes the next one */
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES & ~B(NET_F_MRG_RXBUF)), "without MRG_RXBUF again");
    rx_give(&n, &rb, 1, 200);
    make_frame(f, 300, default_mac, other_mac, 30);
    peer_send(fd, f, 300);
    make_frame(f, 150, default_mac, other_mac, 31);
    peer_send(fd, f, 150);
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == 162 && frame_seq(got + 12) == 31,
          "a 300-byte frame for a 200-byte buffer is dropped, and the buffer takes the next frame (%d)", len);
    vnet_close(&n);

    /* a driver that breaks the rules */
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "with MRG_RXBUF again");
    rx_give(&n, &rb, 1, 8);
    peer_send(fd, f, 150);
    CHECK(needs_reset(&n), "a receive buffer of 8 bytes, shorter than the header: NEEDS_RESET");
    vnet_close(&n);
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "and again");
    qvirtqueue_submit(n.rx, &(struct qvirtio_buf){ SCRATCH, 2048, false }, 1, false);
    peer_send(fd, f, 150);
    CHECK(needs_reset(&n), "a receive buffer the device may not write: NEEDS_RESET");
    vnet_close(&n);
    close(fd);
    qtest_quit(q);
}

/*
 * Whether a frame to `dst` (optionally VLAN-tagged) gets through the filters: it is sent, then a
 * marker that always gets through; the first frame the driver receives says which came.
 */
static int filter_seq = 1000;
static const uint8_t *marker = bcast;   /* where the marker goes: an address every filter passes */

static bool passes(struct vnet *n, struct rxbufs *rb, int fd, const uint8_t *dst, int vid)
{
    uint8_t f[128], got[2048];
    uint32_t seq = filter_seq++;
    size_t len = 80;
    bool through;
    int r;

    make_frame(f, len, dst, other_mac, seq);
    if (vid >= 0) {
        memmove(f + 16, f + 12, len - 12);
        f[12] = 0x81;
        f[13] = 0x00;
        f[14] = vid >> 8;
        f[15] = vid & 0xff;
        len += 4;
    }
    peer_send(fd, f, len);
    make_frame(f, 80, marker, other_mac, 0xfffff);
    peer_send(fd, f, 80);
    r = rx_take(n, rb, got, WAIT_MS);
    through = r > 12 + 17 && (vid >= 0 ? (uint32_t)(got[12 + 18] | got[12 + 19] << 8 | got[12 + 20] << 16 |
                                                    (uint32_t)got[12 + 21] << 24) == seq
                                       : frame_seq(got + 12) == seq);
    if (through)
        r = rx_take(n, rb, got, WAIT_MS);     /* the marker */
    rx_give(n, rb, 2, 2048);
    return through;
}

static void test_filter(void)
{
    uint8_t table[4 + 6 + 4 + 6], big[4 + 65 * 6 + 4] = { 65 }, newmac[6] = { 0x02, 0x33, 0x33, 0x33, 0x33, 0x01 };
    struct rxbufs rb;
    struct qtest *q;
    struct vnet n;
    int fd;

    q = start_wired(&fd, 0, "");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a driver with CTRL_RX, CTRL_RX_EXTRA and CTRL_VLAN");
    rx_give(&n, &rb, 8, 2048);
    CHECK(passes(&n, &rb, fd, other_mac, -1), "until told otherwise the device is promiscuous (as QEMU)");
    CHECK(ctrl_u8(&n, C_RX, 0, 0) == OK, "PROMISC off");
    CHECK(!passes(&n, &rb, fd, other_mac, -1), "a frame to another address is dropped");
    CHECK(passes(&n, &rb, fd, default_mac, -1) && passes(&n, &rb, fd, bcast, -1),
          "one to the device's address gets through, and a broadcast");
    CHECK(!passes(&n, &rb, fd, mcast1, -1), "a multicast to a group not in the table is dropped");
    memcpy(table, (uint8_t[4]){ 1, 0, 0, 0 }, 4);
    memcpy(table + 4, other_mac, 6);
    memcpy(table + 10, (uint8_t[4]){ 1, 0, 0, 0 }, 4);
    memcpy(table + 14, mcast1, 6);
    CHECK(ctrl(&n, C_MAC, 0, table, sizeof(table)) == OK, "MAC_TABLE_SET: %s and %s", mac_str(other_mac),
          mac_str(mcast1));
    CHECK(passes(&n, &rb, fd, other_mac, -1) && passes(&n, &rb, fd, mcast1, -1),
          "now frames to both get through");
    CHECK(!passes(&n, &rb, fd, mcast7, -1), "and not to another group");
    CHECK(ctrl_u8(&n, C_RX, 1, 1) == OK && passes(&n, &rb, fd, mcast7, -1), "ALLMULTI: every group gets through");
    CHECK(ctrl_u8(&n, C_RX, 3, 1) == OK && !passes(&n, &rb, fd, mcast7, -1) && !passes(&n, &rb, fd, mcast1, -1) &&
          passes(&n, &rb, fd, default_mac, -1), "NOMULTI: no multicast, even with ALLMULTI; unicast still");
    CHECK(ctrl_u8(&n, C_RX, 3, 0) == OK && ctrl_u8(&n, C_RX, 1, 0) == OK && ctrl_u8(&n, C_RX, 5, 1) == OK,
          "NOMULTI and ALLMULTI off, NOBCAST on");
    marker = default_mac;
    CHECK(!passes(&n, &rb, fd, bcast, -1) && passes(&n, &rb, fd, mcast1, -1),
          "a broadcast is dropped; the listed group still gets through");
    marker = bcast;
    CHECK(ctrl_u8(&n, C_RX, 5, 0) == OK && passes(&n, &rb, fd, bcast, -1), "NOBCAST off: broadcast again");
    CHECK(ctrl_u8(&n, C_RX, 4, 1) == OK && !passes(&n, &rb, fd, default_mac, -1) && !passes(&n, &rb, fd, other_mac, -1),
          "NOUNI: no unicast, not even to the device's address");
    CHECK(ctrl_u8(&n, C_RX, 4, 0) == OK && ctrl_u8(&n, C_RX, 2, 1) == OK && passes(&n, &rb, fd, newmac, -1),
          "ALLUNI: any unicast address");
    CHECK(ctrl_u8(&n, C_RX, 2, 0) == OK && !passes(&n, &rb, fd, newmac, -1), "ALLUNI off: not any more");
    CHECK(ctrl(&n, C_MAC, 1, newmac, 6) == OK && passes(&n, &rb, fd, newmac, -1) &&
          !passes(&n, &rb, fd, default_mac, -1), "MAC_ADDR_SET: the new address gets through, the old one not");
    CHECK(ctrl(&n, C_MAC, 0, big, sizeof(big)) == OK && passes(&n, &rb, fd, (uint8_t[6]){ 2, 9, 9, 9, 9, 9 }, -1),
          "a unicast table of 65 entries, more than the device holds: every unicast address gets through");
    CHECK(!passes(&n, &rb, fd, mcast1, -1), "and the multicast table it replaced is empty");
    /* VLANs: with CTRL_VLAN, only the ids the driver added */
    CHECK(!passes(&n, &rb, fd, newmac, 5), "a frame tagged VLAN 5 is dropped: no VLAN was added");
    CHECK(ctrl_u16(&n, C_VLAN, 0, 5) == OK && passes(&n, &rb, fd, newmac, 5) && !passes(&n, &rb, fd, newmac, 6),
          "VLAN_ADD 5: VLAN 5 gets through, VLAN 6 not");
    CHECK(ctrl_u16(&n, C_VLAN, 1, 5) == OK && !passes(&n, &rb, fd, newmac, 5), "VLAN_DEL 5: dropped again");
    CHECK(passes(&n, &rb, fd, newmac, -1), "untagged frames are not filtered by VLAN");
    vnet_close(&n);

    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES & ~B(NET_F_CTRL_VLAN)), "a driver without CTRL_VLAN");
    rx_give(&n, &rb, 8, 2048);
    CHECK(ctrl_u8(&n, C_RX, 0, 0) == OK && passes(&n, &rb, fd, default_mac, 7) && !passes(&n, &rb, fd, other_mac, -1),
          "frames of any VLAN get through (no VLAN filter), while the address filter works");
    vnet_close(&n);
    close(fd);
    qtest_quit(q);
}

/* The peer stops reading: the driver's frames wait in skiff, none is dropped, and all arrive once it reads. */
static void test_backpressure(void)
{
    static uint8_t f[32768], got[32768];
    const unsigned count = 200, size = 30000;
    struct qtest *q;
    struct vnet n;
    uint16_t stalled, idx;
    int fd, ok = 0;

    q = start_wired(&fd, 4096, "");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a driver, and a peer that reads nothing for now");
    for (uint32_t i = 0; i < count; i++) {
        uint64_t a = qalloc(n.alloc, 12 + size);

        make_frame(f, size, other_mac, default_mac, i);
        qtest_memwrite(q, a, (uint8_t[12]){ 0 }, 12);
        qtest_memwrite(q, a + 12, f, size);
        qvirtqueue_publish(n.tx, qvirtqueue_add(n.tx, &(struct qvirtio_buf){ a, 12 + size, false }, 1));
    }
    qvirtqueue_kick(n.tx);
    usleep(300000);
    stalled = qvirtqueue_used_idx(n.tx);
    usleep(200000);
    idx = qvirtqueue_used_idx(n.tx);
    CHECK(stalled == idx && idx < count, "%u frames of %u bytes: %u complete, and the rest wait while the peer "
          "reads nothing", count, size, idx);
    for (uint32_t i = 0; i < count; i++) {
        int len = peer_recv(fd, got, sizeof(got), WAIT_MS);

        ok += len == (int)size && frame_seq(got) == i && got[size - 1] == (uint8_t)(i * 7 + size - 1);
    }
    CHECK(ok == (int)count, "once it reads, all %u arrive whole and in order (%d)", count, ok);
    for (int t = 0; t < 100 && qvirtqueue_used_idx(n.tx) != count; t++)
        usleep(10000);
    CHECK(qvirtqueue_used_idx(n.tx) == count, "and every request completes (%u)", qvirtqueue_used_idx(n.tx));
    vnet_close(&n);
    close(fd);
    qtest_quit(q);
}

/* set_link, from the monitor: the status follows, with a configuration interrupt, and frames stop both ways */
static void test_link(void)
{
    char *sock = qtest_tmp_path(".mon");
    int lfd = qtest_listen_unix(sock), mon, fd, len;
    static uint8_t f[256], got[2048];
    char extra[256];
    struct rxbufs rb;
    struct qtest *q;
    struct vnet n;
    uint32_t used;

    snprintf(extra, sizeof(extra), " -monitor unix:%s", sock);
    q = start_wired(&fd, 0, extra);
    if (!qtest_hmp_open(lfd, &mon)) {
        printf("Bail out! no monitor\n");
        exit(2);
    }
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a driver on a socket backend");
    rx_give(&n, &rb, 8, 2048);
    qtest_hmp(mon, "set_link nic0 off");
    CHECK(qvirtio_wait_config_irq(n.vd, WAIT_MS) && qvirtio_config_readw(n.vd, CFG_STATUS) == 0,
          "set_link nic0 off: a configuration interrupt, and the status says the link is down");
    make_frame(f, 100, other_mac, default_mac, 1);
    CHECK(tx_frame(&n, NULL, f, 100, &used), "a frame sent meanwhile completes");
    CHECK(peer_recv(fd, got, sizeof(got), 300) == -1, "and goes nowhere, as on an unplugged cable");
    make_frame(f, 100, default_mac, other_mac, 2);
    peer_send(fd, f, 100);
    CHECK(rx_take(&n, &rb, got, 300) == -1, "nor does a frame from the peer come in");
    qtest_hmp(mon, "set_link nic0 on");
    CHECK(qvirtio_wait_config_irq(n.vd, WAIT_MS) && qvirtio_config_readw(n.vd, CFG_STATUS) == S_LINK_UP,
          "set_link nic0 on: an interrupt, and the link is up");
    make_frame(f, 100, other_mac, default_mac, 3);
    tx_frame(&n, NULL, f, 100, &used);
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 100 && frame_seq(got) == 3, "frames go out again (#%u)", len > 17 ? frame_seq(got) : 0);
    make_frame(f, 100, default_mac, other_mac, 4);
    peer_send(fd, f, 100);
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == 112 && frame_seq(got + 12) == 4, "and come in (#%u)", len > 29 ? frame_seq(got + 12) : 0);
    qtest_hmp(mon, "set_link n0 off");
    CHECK(qvirtio_wait_config_irq(n.vd, WAIT_MS) && qvirtio_config_readw(n.vd, CFG_STATUS) == 0,
          "set_link on the backend (n0 off): the NIC's link follows, as QEMU's");
    qtest_hmp(mon, "set_link n0 on");
    CHECK(qvirtio_wait_config_irq(n.vd, WAIT_MS) && qvirtio_config_readw(n.vd, CFG_STATUS) == S_LINK_UP,
          "and comes back with it");
    vnet_close(&n);
    close(mon);
    close(fd);
    qtest_quit(q);
    unlink(sock);
    free(sock);
}

/*
 * A socket backend that listens has no peer until one connects; as in QEMU, the NIC's link is
 * its own (and set_link's) and shows up meanwhile: the socket does not tell its NIC when a peer
 * comes or goes, so a NIC that went by it showed no carrier for good, and a guest that waits for
 * carrier (Linux) sent nothing.
 */
static void test_link_listen(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int port, lfd = peer_listen(&port, 0), fd = -1, len;
    static uint8_t f[256], got[2048];
    struct rxbufs rb;
    struct qtest *q;
    struct vnet n;
    uint32_t used;

    close(lfd);     /* the port is skiff's to listen on */
    q = qtest_start("-m 64 -netdev socket,id=n0,listen=127.0.0.1:%d -device virtio-net-pci,netdev=n0,romfile=",
                    port);
    qtest_irq_intercept(q);
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a driver, its NIC on a socket that listens");
    CHECK(qvirtio_config_readw(n.vd, CFG_STATUS) == S_LINK_UP,
          "before a peer connects the status says LINK_UP, as QEMU's (0x%x)", qvirtio_config_readw(n.vd, CFG_STATUS));
    a.sin_port = htons(port);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "a peer connects");
    rx_give(&n, &rb, 4, 2048);
    usleep(100000);
    make_frame(f, 100, default_mac, other_mac, 5);
    peer_send(fd, f, 100);
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == 112 && frame_seq(got + 12) == 5, "its frame comes in (%d)", len);
    make_frame(f, 100, other_mac, default_mac, 6);
    tx_frame(&n, NULL, f, 100, &used);
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 100 && frame_seq(got) == 6, "and the driver's reaches it (%d)", len);
    CHECK(qvirtio_config_readw(n.vd, CFG_STATUS) == S_LINK_UP, "the link stays up");
    vnet_close(&n);
    close(fd);
    qtest_quit(q);
}

/* The driver moves to a second skiff started alike, with its own socket: what it had set up goes on. */
static struct qtest *migrate(struct qtest *src, struct vnet *n, int *dst_fd, int rcvbuf, const char *extra)
{
    char *file = qtest_tmp_path(".vmstate");
    struct qpci_bus *bus;
    struct qvirtio_dev *vd;
    struct qtest *dst;

    if (!qtest_cmd(src, "vmstate_save %s", file)) {
        printf("Bail out! the source cannot save its state\n");
        exit(2);
    }
    dst = start_wired(dst_fd, rcvbuf, extra);
    CHECK(qtest_cmd(dst, "vmstate_load %s", file) != NULL, "a second skiff started alike loads the source's state");
    unlink(file);
    free(file);
    bus = qpci_bus_new(dst);
    vd = qvirtio_pci_new(bus, VIRTIO_ID_NET, 0, QVIRTIO_MODERN);
    vd->features = n->vd->features;
    vd->msix_on = n->vd->msix_on;
    vd->config_vector = n->vd->config_vector;
    qvirtio_free(n->vd);
    free(n->bus);
    n->vd = vd;
    n->bus = bus;
    n->q = dst;
    n->rx->vd = n->tx->vd = n->ctrl->vd = vd;
    return dst;
}

static bool is_rarp(const uint8_t *f, int len, const uint8_t *mac)
{
    return len >= 42 && !memcmp(f, bcast, 6) && !memcmp(f + 6, mac, 6) && f[12] == 0x80 && f[13] == 0x35 &&
           f[20] == 0 && f[21] == 3 && !memcmp(f + 22, mac, 6) && !memcmp(f + 32, mac, 6);
}

/* The filters are the device's state: what the driver set holds on the destination of a load. */
static void test_filter_state(void)
{
    uint8_t table[4 + 6 + 4 + 6], newmac[6] = { 0x02, 0x44, 0x44, 0x44, 0x44, 0x01 };
    struct qtest *src, *dst;
    struct rxbufs rb;
    struct vnet n;
    int fd, dfd;

    src = start_wired(&fd, 0, "");
    CHECK(vnet_open(&n, src, QVIRTIO_MODERN, ALL_FEATURES), "a driver with the control queue");
    rx_give(&n, &rb, 8, 2048);
    memcpy(table, (uint8_t[4]){ 1, 0, 0, 0 }, 4);
    memcpy(table + 4, newmac, 6);
    memcpy(table + 10, (uint8_t[4]){ 1, 0, 0, 0 }, 4);
    memcpy(table + 14, mcast1, 6);
    CHECK(ctrl_u8(&n, C_RX, 0, 0) == OK && ctrl(&n, C_MAC, 0, table, sizeof(table)) == OK &&
          ctrl_u16(&n, C_VLAN, 0, 5) == OK, "it turns PROMISC off, lists %s and %s, and adds VLAN 5", mac_str(newmac),
          mac_str(mcast1));
    dst = migrate(src, &n, &dfd, 0, "");
    qtest_quit(src);
    close(fd);
    CHECK(passes(&n, &rb, dfd, default_mac, -1) && !passes(&n, &rb, dfd, other_mac, -1),
          "on the destination the device is still not promiscuous");
    CHECK(passes(&n, &rb, dfd, newmac, -1) && passes(&n, &rb, dfd, mcast1, -1) && !passes(&n, &rb, dfd, mcast7, -1),
          "its MAC table came along");
    CHECK(passes(&n, &rb, dfd, default_mac, 5) && !passes(&n, &rb, dfd, default_mac, 6), "and its VLAN filter");
    vnet_close(&n);
    close(dfd);
    qtest_quit(dst);
}

/* After a load the device tells the network where it is now: RARPs from its address, as QEMU's self-announce. */
static void test_announce(void)
{
    uint8_t got[2048];
    struct qtest *src, *dst;
    struct vnet n;
    int fd, dfd, len, rarps = 0;

    src = start_wired(&fd, 0, "");
    CHECK(vnet_open(&n, src, QVIRTIO_MODERN, ALL_FEATURES & ~B(NET_F_GUEST_ANNOUNCE)),
          "a driver without GUEST_ANNOUNCE");
    dst = migrate(src, &n, &dfd, 0, "");
    qtest_quit(src);
    close(fd);
    qtest_clock_step(dst, 1000000);
    len = peer_recv(dfd, got, sizeof(got), WAIT_MS);
    CHECK(is_rarp(got, len, default_mac), "the destination's peer gets a RARP request from %s (%d bytes)",
          mac_str(default_mac), len);
    for (int i = 0; i < 10; i++)
        qtest_clock_step(dst, 100000000);
    while (peer_recv(dfd, got, sizeof(got), 300) > 0)
        rarps += is_rarp(got, 60, default_mac);
    CHECK(rarps == 4, "and 4 more over the next second of guest time: QEMU's 5 rounds (%d)", rarps);
    CHECK(qvirtio_config_readw(n.vd, CFG_STATUS) == S_LINK_UP, "the driver, which cannot announce, is not asked to");
    vnet_close(&n);
    close(dfd);
    qtest_quit(dst);
}

/*
 * A frame the peer had queued when the state was saved is sent again by the destination: the
 * guest was told nothing about it, and the frames after it follow in order.
 */
static void test_pending(void)
{
    static uint8_t f[32768], got[32768];
    const unsigned count = 200, size = 30000;
    struct qtest *src, *dst;
    uint16_t stalled;
    struct vnet n;
    int fd, dfd, ok = 0, len;

    src = start_wired(&fd, 4096, "");
    CHECK(vnet_open(&n, src, QVIRTIO_MODERN, ALL_FEATURES), "a driver, and a peer that reads nothing");
    for (uint32_t i = 0; i < count; i++) {
        uint64_t a = qalloc(n.alloc, 12 + size);

        make_frame(f, size, other_mac, default_mac, i);
        qtest_memwrite(src, a, (uint8_t[12]){ 0 }, 12);
        qtest_memwrite(src, a + 12, f, size);
        qvirtqueue_publish(n.tx, qvirtqueue_add(n.tx, &(struct qvirtio_buf){ a, 12 + size, false }, 1));
    }
    qvirtqueue_kick(n.tx);
    usleep(300000);
    stalled = qvirtqueue_used_idx(n.tx);
    CHECK(stalled < count, "%u of %u frames complete before the peer stops taking them", stalled, count);
    dst = migrate(src, &n, &dfd, 0, "");
    qtest_quit(src);
    close(fd);
    len = peer_recv(dfd, got, sizeof(got), WAIT_MS);
    CHECK(len == (int)size && frame_seq(got) == stalled,
          "the destination sends first the frame that was held up (#%u, wanted #%u)", len > 17 ? frame_seq(got) : 0,
          stalled);
    ok = 1;
    for (uint32_t i = stalled + 1; i < count; i++) {
        len = peer_recv(dfd, got, sizeof(got), WAIT_MS);
        ok += len == (int)size && frame_seq(got) == i;
    }
    CHECK(ok == (int)(count - stalled), "then the %u after it, in order (%d)", count - stalled - 1, ok - 1);
    for (int t = 0; t < 100 && qvirtqueue_used_idx(n.tx) != count; t++)
        usleep(10000);
    CHECK(qvirtqueue_used_idx(n.tx) == count, "and every request completes there (%u)", qvirtqueue_used_idx(n.tx));
    vnet_close(&n);
    close(dfd);
    qtest_quit(dst);
}

/* Multiple queue pairs: a flow's frames come in on the pair it was sent from (5.1.6.5.5). */
static size_t udp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t sip, uint32_t dip,
                        uint16_t sport, uint16_t dport)
{
    memset(f, 0, 64);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    f[14] = 0x45;
    f[17] = 46;                 /* total length */
    f[22] = 64;
    f[23] = 17;                 /* UDP */
    for (int i = 0; i < 4; i++) {
        f[26 + i] = sip >> (24 - 8 * i);
        f[30 + i] = dip >> (24 - 8 * i);
    }
    f[34] = sport >> 8, f[35] = sport;
    f[36] = dport >> 8, f[37] = dport;
    f[39] = 26;
    return 64;
}

static void test_mq(void)
{
    uint8_t f[64], got[2048];
    struct qvirtqueue *rx1, *tx1;
    struct rxbufs rb0, rb1;
    struct qtest *q;
    struct vnet n;
    uint32_t used;
    int fd, len;

    q = start_wired(&fd, 0, ",mq=on -smp 2");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES) && n.pairs == 2, "mq=on with 2 vCPUs: a driver with 2 pairs");
    rx1 = qvirtqueue_setup(n.vd, n.alloc, 2, 0);
    tx1 = qvirtqueue_setup(n.vd, n.alloc, 3, 0);
    CHECK(ctrl_u16(&n, C_MQ, 0, 2) == OK, "VQ_PAIRS_SET 2");
    rx_give(&n, &rb0, 4, 2048);
    {
        struct qvirtqueue *keep = n.rx;

        n.rx = rx1;
        rx_give(&n, &rb1, 4, 2048);
        n.rx = keep;
    }
    udp_frame(f, other_mac, default_mac, 0x0a000002, 0x0a000001, 1000, 2000);
    {
        struct qvirtqueue *keep = n.tx;

        n.tx = tx1;
        CHECK(tx_frame(&n, NULL, f, 64, &used), "a UDP frame 10.0.0.2:1000 > 10.0.0.1:2000 sent on the second pair");
        n.tx = keep;
    }
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 64 && !memcmp(got, f, 64), "reaches the peer");
    udp_frame(f, default_mac, other_mac, 0x0a000001, 0x0a000002, 2000, 1000);
    peer_send(fd, f, 64);
    {
        struct qvirtqueue *keep = n.rx;

        n.rx = rx1;
        len = rx_take(&n, &rb1, got, WAIT_MS);
        n.rx = keep;
    }
    CHECK(len == 76 && !memcmp(got + 12, f, 64), "its answer comes in on the second pair's receive queue (%d)", len);
    udp_frame(f, default_mac, other_mac, 0x0a000009, 0x0a000002, 2000, 1000);
    peer_send(fd, f, 64);
    len = rx_take(&n, &rb0, got, WAIT_MS);
    CHECK(len == 76 && !memcmp(got + 12, f, 64), "a flow never sent comes in on the first (%d)", len);
    CHECK(ctrl_u16(&n, C_MQ, 0, 1) == OK, "VQ_PAIRS_SET 1");
    udp_frame(f, default_mac, other_mac, 0x0a000001, 0x0a000002, 2000, 1000);
    peer_send(fd, f, 64);
    len = rx_take(&n, &rb0, got, WAIT_MS);
    CHECK(len == 76 && !memcmp(got + 12, f, 64), "with one pair in use, the first flow comes in on the first (%d)", len);
    qvirtqueue_free(rx1);
    qvirtqueue_free(tx1);
    vnet_close(&n);
    close(fd);
    qtest_quit(q);
}

/* ---- the boot order and the option ROM ---- */

static uint8_t *cfg_file(struct qtest *q, const char *name, uint32_t *size)
{
    uint32_t count = 0;

    qtest_outw(q, 0x510, 0x19);
    for (int i = 0; i < 4; i++)
        count = count << 8 | qtest_inb(q, 0x511);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t e[64], *data;

        for (int k = 0; k < 64; k++)
            e[k] = qtest_inb(q, 0x511);
        if (strncmp((char *)e + 8, name, 56))
            continue;
        *size = (uint32_t)e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3];
        qtest_outw(q, 0x510, e[4] << 8 | e[5]);
        data = calloc(1, *size + 1);
        for (uint32_t k = 0; k < *size; k++)
            data[k] = qtest_inb(q, 0x511);
        return data;
    }
    return NULL;
}

static uint32_t rom_bar_size(struct qtest *q, int devfn)
{
    uint32_t v;

    pci_cfg_writel(q, devfn, 0x30, 0xfffff800);
    v = pci_cfg_readl(q, devfn, 0x30) & 0xfffff800;
    pci_cfg_writel(q, devfn, 0x30, 0);
    return v ? ~v + 1 : 0;
}

/*
 * The ROM as SeaBIOS finds it: its first image is for x86 and names this function's IDs (the
 * file names 1af4:1041, which SeaBIOS would pass over on a 1af4:1000), and its bytes still sum
 * to 0.
 */
static void rom_checks(struct qtest *q, int devfn)
{
    const uint64_t at = 0xe8000000;
    uint8_t *rom = malloc(128 * 1024);
    unsigned pcir, len, sum = 0;

    pci_cfg_writel(q, devfn, 0x30, at | 1);
    pci_cfg_writew(q, devfn, 0x04, pci_cfg_readw(q, devfn, 0x04) | 2);
    qtest_memread(q, at, rom, 128 * 1024);
    pcir = rom[0x18] | rom[0x19] << 8;
    len = rom[2] * 512;
    for (unsigned i = 0; i < len && len <= 128 * 1024; i++)
        sum += rom[i];
    CHECK(rom[0] == 0x55 && rom[1] == 0xaa && pcir < 1024 && !memcmp(rom + pcir, "PCIR", 4) &&
          (rom[pcir + 4] | rom[pcir + 5] << 8) == 0x1af4 && (rom[pcir + 6] | rom[pcir + 7] << 8) == 0x1000 &&
          rom[pcir + 20] == 0, "its first image is x86 code for 1af4:1000, which SeaBIOS runs (1af4:%04x)",
          pcir < 1024 ? rom[pcir + 6] | rom[pcir + 7] << 8 : 0);
    CHECK(len && len <= 128 * 1024 && (sum & 0xff) == 0, "and its %u bytes sum to 0", len);
    pci_cfg_writel(q, devfn, 0x30, 0);
    free(rom);
}

static void test_boot(void)
{
    struct qtest *q = qtest_start("-m 64 -device virtio-net-pci,romfile=,addr=05.0,bootindex=1 "
                                  "-device virtio-net-pci,addr=06.0");
    uint32_t size = 0;
    char *order = (char *)cfg_file(q, "bootorder", &size);

    CHECK(order && !strcmp(order, "/pci@i0cf8/ethernet@5/ethernet-phy@0\n"),
          "bootindex=1 puts QEMU's path for it in the boot order (%.*s)", order ? (int)strcspn(order, "\n") : 4,
          order ? order : "none");
    free(order);
    CHECK(rom_bar_size(q, PCI_DEVFN(5, 0)) == 0, "romfile= leaves it without a ROM");
    if (access("/usr/lib/ipxe/qemu/efi-virtio.rom", R_OK) == 0) {
        CHECK(rom_bar_size(q, PCI_DEVFN(6, 0)) == 256 * 1024,
              "without romfile= it has QEMU's efi-virtio.rom from Debian's ipxe-qemu: a 256 KiB ROM BAR (%u)",
              rom_bar_size(q, PCI_DEVFN(6, 0)));
        rom_checks(q, PCI_DEVFN(6, 0));
    } else {
        tap_skip("Debian's ipxe-qemu is not installed", "the default ROM, efi-virtio.rom");
    }
    qtest_quit(q);
    refused("a ROM that is not there", "nonexistent.rom", "-device virtio-net-pci,romfile=nonexistent.rom");
}

/*
 * The net core's short forms make the device: -nic TYPE,model=virtio and -net nic,model=virtio
 * (QEMU's short name), with QEMU's names in info network and info pci. It needs QEMU's default
 * ROM, as these options give no romfile=.
 */
static void cmdline_one(const char *what, const char *fmt, const char *name)
{
    char *sock = qtest_tmp_path(".mon"), args[1024], extra[256];
    int lfd = qtest_listen_unix(sock), port, plfd = peer_listen(&port, 0), mon = -1, fd, len;
    static uint8_t f[256], got[2048];
    const char *out;
    struct rxbufs rb;
    struct qtest *q;
    struct vnet n;
    uint32_t used;

    snprintf(extra, sizeof(extra), fmt, port);
    snprintf(args, sizeof(args), "-m 64 %s -monitor unix:%s", extra, sock);
    q = qtest_start("%s", args);
    fd = peer_accept(plfd);
    qtest_irq_intercept(q);
    if (!qtest_hmp_open(lfd, &mon)) {
        printf("Bail out! no monitor\n");
        exit(2);
    }
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "%s makes a virtio-net-pci that a driver starts", what);
    out = qtest_hmp(mon, "info network");
    snprintf(extra, sizeof(extra), "%s: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56", name);
    CHECK(out && strstr(out, extra), "info network names it as QEMU does (%s)", name);
    out = qtest_hmp(mon, "info pci");
    CHECK(out && strstr(out, "Ethernet controller: PCI device 1af4:1000"),
          "info pci names it an Ethernet controller, 1af4:1000");
    rx_give(&n, &rb, 4, 2048);
    make_frame(f, 100, other_mac, default_mac, 7);
    tx_frame(&n, NULL, f, 100, &used);
    len = peer_recv(fd, got, sizeof(got), WAIT_MS);
    CHECK(len == 100 && frame_seq(got) == 7, "its frame reaches the socket backend (%d)", len);
    make_frame(f, 100, default_mac, other_mac, 8);
    peer_send(fd, f, 100);
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == 112 && frame_seq(got + 12) == 8, "and the backend's comes in (%d)", len);
    vnet_close(&n);
    close(mon);
    close(fd);
    qtest_quit(q);
    unlink(sock);
    free(sock);
}

static void test_cmdline(void)
{
    if (access("/usr/lib/ipxe/qemu/efi-virtio.rom", R_OK) != 0) {
        tap_skip("Debian's ipxe-qemu is not installed", "-nic and -net nic with model=virtio");
        return;
    }
    cmdline_one("-nic socket,model=virtio-net-pci", "-nic socket,connect=127.0.0.1:%d,model=virtio-net-pci",
                "virtio-net-pci.0");
    cmdline_one("-net nic,model=virtio -net socket", "-net nic,model=virtio -net socket,connect=127.0.0.1:%d",
                "virtio-net-pci.0");
}

/* ---- state ---- */

static void test_state(void)
{
    const char *args = "-m 64 -device virtio-net-pci,romfile=,addr=04.0";
    char *file = qtest_tmp_path(".vmstate");
    struct qtest *src = qtest_start("%s", args), *dst;
    uint8_t mac[6] = { 0x02, 0x01, 0x02, 0x03, 0x04, 0x05 }, m[6];
    struct qvirtio_dev *vd;
    struct qpci_bus *bus;
    struct vnet n;
    const char *r;

    qtest_irq_intercept(src);
    CHECK(vnet_open(&n, src, QVIRTIO_MODERN, ALL_FEATURES), "the source's driver starts the device");
    CHECK(ctrl(&n, C_MAC, 1, mac, 6) == OK, "and sets its address to %s", mac_str(mac));

    /* a stream a guest could not have made is refused, and the device stays as it was */
    r = qtest_cmd(src, "vmstate_load_patched virtio-net-pci net.mac_in_use=65");
    CHECK(r == NULL, "a MAC table of 65 entries in a stream is refused");
    r = qtest_cmd(src, "vmstate_load_patched virtio-net-pci net.mac_first_multi=2");
    CHECK(r == NULL, "multicast entries starting past the table's end: refused");
    r = qtest_cmd(src, "vmstate_load_patched virtio-net-pci net.curr_pairs=2");
    CHECK(r == NULL, "two queue pairs in a device that has one: refused");
    r = qtest_cmd(src, "vmstate_load_patched virtio-net-pci net.status=4");
    CHECK(r == NULL, "an unknown status bit: refused");
    r = qtest_cmd(src, "vmstate_load_patched virtio-net-pci net.tx_pending_held=1 net.tx_pending_queue=1");
    CHECK(r == NULL, "a pending transmit the queue does not hold: refused");
    r = qtest_cmd(src, "vmstate_load_patched virtio-net-pci net.vdev.guest_features=0x%llx",
                  (unsigned long long)(n.vd->features & ~B(NET_F_CTRL_VQ)));
    CHECK(r == NULL, "features past FEATURES_OK that 5.1.3.1 forbids (CTRL_RX without CTRL_VQ): refused");
    r = qtest_cmd(src, "vmstate_load_patched virtio-net-pci");
    CHECK(r != NULL, "the unchanged stream loads");
    read_mac(n.vd, m);
    CHECK(!memcmp(m, mac, 6) && ctrl_u8(&n, C_RX, 0, 0) == OK, "and the device goes on as it was (%s)", mac_str(m));

    r = qtest_cmd(src, "vmstate_save %s", file);
    CHECK(r != NULL, "the source saves its state");
    dst = qtest_start("%s", args);
    qtest_irq_intercept(dst);
    r = qtest_cmd(dst, "vmstate_load %s", file);
    CHECK(r != NULL, "a second skiff started alike loads it");
    CHECK(qtest_quit(src) == 0, "the source exits cleanly");

    /* the driver moves with the guest: its rings are where they were */
    bus = qpci_bus_new(dst);
    vd = qvirtio_pci_new(bus, VIRTIO_ID_NET, 0, QVIRTIO_MODERN);
    vd->features = n.vd->features;
    vd->msix_on = true;
    vd->config_vector = 0;
    qvirtio_free(n.vd);
    free(n.bus);
    n.vd = vd;
    n.bus = bus;
    n.q = dst;
    n.rx->vd = n.tx->vd = n.ctrl->vd = vd;
    read_mac(vd, m);
    CHECK(!memcmp(m, mac, 6), "the destination's configuration reads the address the driver set (%s)", mac_str(m));
    CHECK(qvirtio_get_status(vd) == (QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_FEATURES_OK | QVIRTIO_DRIVER_OK),
          "and the driver's status");
    /* QEMU's announce after a migration: the driver is asked to announce the guest (GUEST_ANNOUNCE) */
    qtest_clock_step(dst, 1000000);
    CHECK(qvirtio_wait_config_irq(vd, WAIT_MS), "a configuration interrupt comes once the clock runs");
    CHECK(qvirtio_config_readw(vd, CFG_STATUS) == (S_LINK_UP | S_ANNOUNCE), "the status says ANNOUNCE (0x%x)",
          qvirtio_config_readw(vd, CFG_STATUS));
    CHECK(ctrl(&n, C_ANNOUNCE, 0, NULL, 0) == OK, "the driver's ANNOUNCE_ACK: OK");
    CHECK(qvirtio_config_readw(vd, CFG_STATUS) == S_LINK_UP, "and ANNOUNCE is clear");
    CHECK(ctrl(&n, C_ANNOUNCE, 0, NULL, 0) == ERR, "a second ACK: ERR");
    qtest_clock_step(dst, 200000000);
    CHECK(qvirtio_wait_config_irq(vd, WAIT_MS) && qvirtio_config_readw(vd, CFG_STATUS) == (S_LINK_UP | S_ANNOUNCE),
          "the next round asks again, as QEMU's rounds do");
    CHECK(ctrl(&n, C_ANNOUNCE, 0, NULL, 0) == OK, "and is acknowledged");
    vnet_close(&n);
    CHECK(qtest_quit(dst) == 0, "the destination exits cleanly");
    unlink(file);
    free(file);
}

/* ---- a real tap, in a network namespace of the test's own ---- */

static void stw_le_(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

/* A TCP/IPv4 frame of 54 + payload bytes (checksums left to whoever completes them) */
static size_t tcp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, size_t payload)
{
    size_t len = 54 + payload;

    memset(f, 0, 54);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = (len - 14) >> 8;
    f[17] = (len - 14) & 0xff;
    f[22] = 64;
    f[23] = 6;                  /* TCP */
    memcpy(f + 26, (uint8_t[4]){ 10, 0, 0, 2 }, 4);
    memcpy(f + 30, (uint8_t[4]){ 10, 0, 0, 1 }, 4);
    f[34] = 0x30, f[35] = 0x39; /* ports 12345 > 80 */
    f[37] = 80;
    f[46] = 5 << 4;             /* data offset: 20 bytes */
    f[47] = 0x18;               /* PSH, ACK */
    f[48] = 0xff, f[49] = 0xff; /* window */
    for (size_t i = 54; i < len; i++)
        f[i] = (uint8_t)i;
    return len;
}

/* The next frame on the packet socket that is TCP to port 80: its length (the vnet header in hdr), or -1 */
static int pkt_recv_tcp(int fd, uint8_t *hdr, uint8_t *buf, size_t max, int timeout_ms)
{
    static uint8_t raw[70000];

    while (wait_fd(fd, POLLIN, timeout_ms)) {
        ssize_t r = recv(fd, raw, sizeof(raw), 0);

        if (r < 10 + 54 || raw[10 + 12] != 0x08 || raw[10 + 13] != 0 || raw[10 + 23] != 6 || raw[10 + 37] != 80)
            continue;
        memcpy(hdr, raw, 10);
        r -= 10;
        memcpy(buf, raw + 10, (size_t)r < max ? (size_t)r : max);
        return r;
    }
    return -1;
}

static bool if_up(const char *name)
{
    struct ifreq ifr = { 0 };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok;

    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void write_proc(const char *path, const char *v)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    if (fd >= 0) {
        if (write(fd, v, strlen(v)) < 0)
            perror(path);
        close(fd);
    }
}

/*
 * The offloads end to end: the header the driver writes reaches the host kernel through the
 * tap (a packet socket with PACKET_VNET_HDR on the tap's side sees the kernel's view of the
 * frame: segmentation and a partial checksum), and a large TCP frame from the host reaches the
 * driver as one frame when it took GUEST_TSO4, cut into segments by the kernel once
 * GUEST_OFFLOADS_SET turned TSO4 off (TUNSETOFFLOAD reached the tap).
 */
static void test_tap(void)
{
    static const uint8_t host_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
    static uint8_t f[8192], got[8192];
    uint8_t hdr[12] = { 0 }, khdr[10];
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = 0 };
    int one = 1, pfd, len, segs, whole;
    uint64_t offloads;
    struct rxbufs rb;
    struct qtest *q;
    struct vnet n;
    uint32_t used;
    size_t fl;

    if (getuid() != 0 || unshare(CLONE_NEWNET) < 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
        tap_skip("needs root, a network namespace of its own and /dev/net/tun", "virtio-net-pci on a tap");
        return;
    }
    /* quiet: no IPv6 chatter from the host's side */
    write_proc("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    write_proc("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
    q = qtest_start("-m 64 -netdev tap,id=t0,ifname=skvn0,script=no,downscript=no "
                    "-device virtio-net-pci,netdev=t0,romfile=,id=nic0");
    qtest_irq_intercept(q);
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a driver over a tap");
    CHECK((qvirtio_host_features(n.vd) & OFFLOADS) == OFFLOADS && (n.vd->features & OFFLOADS) == OFFLOADS,
          "a tap has a vnet header: every checksum and segmentation offload is offered and taken (0x%llx)",
          (unsigned long long)qvirtio_host_features(n.vd));
    pfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x0003 /* ETH_P_ALL */));
    sll.sll_protocol = htons(0x0003);
    sll.sll_ifindex = if_nametoindex("skvn0");
    if (!if_up("skvn0") || pfd < 0 || setsockopt(pfd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
        bind(pfd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        printf("Bail out! the tap's side: %s\n", strerror(errno));
        exit(2);
    }

    /* the driver's TSO frame: 3000 bytes of TCP for the kernel to cut into segments of 1000 */
    fl = tcp_frame(f, host_mac, default_mac, 3000);
    hdr[0] = 1;                 /* NEEDS_CSUM */
    hdr[1] = 1;                 /* GSO_TCPV4 */
    stw_le_(hdr + 2, 54);
    stw_le_(hdr + 4, 1000);
    stw_le_(hdr + 6, 34);
    stw_le_(hdr + 8, 16);
    CHECK(tx_frame(&n, hdr, f, fl, &used), "the driver sends a 3054-byte TCP frame, segmentation and checksum left "
          "to the host");
    len = pkt_recv_tcp(pfd, khdr, got, sizeof(got), WAIT_MS);
    CHECK(len == (int)fl && !memcmp(got, f, fl), "the host kernel gets it whole (%d bytes)", len);
    CHECK(len > 0 && khdr[1] == 1 && (khdr[4] | khdr[5] << 8) == 1000 && (khdr[0] & 1) &&
          (khdr[6] | khdr[7] << 8) == 34 && (khdr[8] | khdr[9] << 8) == 16,
          "as a TCPv4 segmentation job of 1000-byte segments with its checksum to complete at 34+16 (the "
          "kernel's header: flags %u, gso %u, size %u, csum %u+%u)", khdr[0], khdr[1], khdr[4] | khdr[5] << 8,
          khdr[6] | khdr[7] << 8, khdr[8] | khdr[9] << 8);

    /* the host's TSO frame to the driver */
    rx_give(&n, &rb, 8, 8192);
    fl = tcp_frame(f, default_mac, host_mac, 3000);
    memset(khdr, 0, sizeof(khdr));
    khdr[0] = 1;
    khdr[1] = 1;
    stw_le_(khdr + 2, 54);
    stw_le_(khdr + 4, 1000);
    stw_le_(khdr + 6, 34);
    stw_le_(khdr + 8, 16);
    memcpy(got, khdr, 10);
    memcpy(got + 10, f, fl);
    CHECK(send(pfd, got, 10 + fl, 0) == (ssize_t)(10 + fl), "the host sends a 3054-byte TCP frame to the guest");
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == (int)(12 + fl) && got[1] == 1 && (got[4] | got[5] << 8) == 1000 && (got[0] & 1) &&
              (got[10] | got[11] << 8) == 1 && !memcmp(got + 12, f, fl),
          "the driver, which took GUEST_TSO4, gets it in one buffer with the host's header (%d bytes, gso %u)", len,
          len > 2 ? got[1] : 0);

    /* GUEST_OFFLOADS_SET without TSO4: the tap is told, and the kernel cuts such frames itself */
    offloads = B(NET_F_GUEST_CSUM);
    CHECK(ctrl(&n, C_OFFLOADS, 0, &offloads, 8) == OK, "GUEST_OFFLOADS_SET: GUEST_CSUM alone");
    memcpy(got, khdr, 10);
    memcpy(got + 10, f, fl);
    CHECK(send(pfd, got, 10 + fl, 0) == (ssize_t)(10 + fl), "the host sends the same frame");
    segs = whole = 0;
    while ((len = rx_take(&n, &rb, got, 1000)) > 0) {
        segs++;
        whole += len == (int)(12 + fl);
        if (got[1] != 0)
            whole++;
    }
    CHECK(segs == 3 && whole == 0, "the driver gets it as 3 segments, none a segmentation job (%d)", segs);
    vnet_close(&n);
    close(pfd);
    qtest_quit(q);
}

/*
 * Frames that reach the tap before the driver is ready (a bridge's chatter while the guest
 * boots) wait for it; the reset at the driver's start, and the header length its features set,
 * drop what the NIC held, and the tap goes on reading: what comes after, whole, and all later
 * frames come in. (They did not: the reset's callback made the tap send its next frame while
 * the NIC's queue was being emptied, and it was lost, the tap waiting for its callback for
 * good, so a Linux guest on a bridged tap got nothing; and a frame queued with the 10-byte
 * header came in read as if it had 12.)
 */
static void test_tap_early(void)
{
    static const uint8_t host_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x0003) };
    uint8_t fr[10 + 64] = { 0 }, got[2048];
    int one = 1, pfd, len, early = 0, good = 0;
    struct rxbufs rb;
    struct qtest *q;
    struct vnet n;

    if (getuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0)
        return;         /* test_tap said why */
    q = qtest_start("-m 64 -netdev tap,id=t0,ifname=skvn1,script=no,downscript=no "
                    "-device virtio-net-pci,netdev=t0,romfile=");
    qtest_irq_intercept(q);
    pfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x0003));
    sll.sll_ifindex = if_nametoindex("skvn1");
    if (!if_up("skvn1") || pfd < 0 || setsockopt(pfd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
        bind(pfd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        printf("Bail out! the tap's side: %s\n", strerror(errno));
        exit(2);
    }
    /* three broadcast frames (after the kernel's 10-byte header) before any driver runs */
    memset(fr + 10, 0xff, 6);
    memcpy(fr + 16, host_mac, 6);
    fr[22] = 0x88;
    fr[23] = 0xb5;
    for (int i = 0; i < 3; i++) {
        fr[24] = i;
        if (send(pfd, fr, sizeof(fr), 0) != (ssize_t)sizeof(fr))
            printf("# send: %s\n", strerror(errno));
    }
    usleep(200000);
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a driver starts on a tap that had frames before it");
    rx_give(&n, &rb, 8, sizeof(got));
    while ((len = rx_take(&n, &rb, got, 1000)) > 0) {
        early++;
        good += len == 12 + 64 && !memcmp(got + 12, fr + 10, 12);
    }
    CHECK(early >= 1 && good == early, "what the reset did not drop comes in once there are buffers (%d frames)", early);
    fr[24] = 9;
    send(pfd, fr, sizeof(fr), 0);
    len = rx_take(&n, &rb, got, WAIT_MS);
    CHECK(len == 12 + 64 && got[12 + 14] == 9, "and a frame sent after it comes in too (%d)", len);
    vnet_close(&n);
    close(pfd);
    qtest_quit(q);
}

/* ---- when frames are sent: the tx property ---- */

#define POLL_NS     250000      /* tx=auto's period */

/* Add a frame (sequence seq, 60 bytes) to the transmit queue without a kick; its buffer, to free. */
static uint64_t tx_add(struct vnet *n, uint32_t seq)
{
    uint8_t f[60], hdr[12] = { 0 };
    uint64_t a = qalloc(n->alloc, sizeof(hdr) + sizeof(f));

    make_frame(f, sizeof(f), other_mac, default_mac, seq);
    qtest_memwrite(n->q, a, hdr, sizeof(hdr));
    qtest_memwrite(n->q, a + sizeof(hdr), f, sizeof(f));
    qvirtqueue_publish(n->tx, qvirtqueue_add(n->tx, &(struct qvirtio_buf){ a, sizeof(hdr) + sizeof(f), false }, 1));
    return a;
}

/* Frames first..first+count-1 reach the peer, in order, without more time passing: how many did. */
static int tx_arrived(int fd, uint32_t first, int count)
{
    uint8_t got[2048];
    int ok = 0;

    for (int i = 0; i < count; i++) {
        int len = peer_recv(fd, got, sizeof(got), WAIT_MS);

        ok += len == 60 && frame_seq(got) == first + i;
    }
    return ok;
}

/* The driver adds `count` frames from seq and kicks if the device asks for it: whether it did. */
static bool tx_burst(struct vnet *n, uint64_t *bufs, int *nbufs, uint32_t seq, int count)
{
    uint16_t old = n->tx->avail_idx;
    bool kicked;

    for (int i = 0; i < count; i++)
        bufs[(*nbufs)++] = tx_add(n, seq + i);
    kicked = qvirtqueue_kick_if_needed(n->tx, old);
    /*
     * The kick reaches the device through its notifier, an eventfd the main loop serves: the
     * next command comes after it in epoll's order, so once it is answered the kick is served.
     */
    qvirtqueue_used_idx(n->tx);
    return kicked;
}

static void tx_reap(struct vnet *n, uint64_t *bufs, int *nbufs)
{
    while (qvirtqueue_get_used(n->tx, NULL, NULL))
        ;
    while (*nbufs)
        qfree(n->alloc, bufs[--*nbufs]);
}

/* A driver that kicks only when asked (EVENT_IDX, as Linux's) sends bursts of 4 frames, 8 times, a period apart: its kicks. */
static int tx_stream(struct vnet *n, int fd, uint32_t seq, uint64_t *bufs, int *nbufs, int *arrived, bool step)
{
    int kicks = 0;

    *arrived = 0;
    for (int r = 0; r < 8; r++) {
        kicks += tx_burst(n, bufs, nbufs, seq + 4 * r, 4);
        if (step)
            qtest_clock_step(n->q, POLL_NS);
        *arrived += tx_arrived(fd, seq + 4 * r, 4);
        tx_reap(n, bufs, nbufs);
    }
    return kicks;
}

static void test_tx_modes(void)
{
    uint64_t bufs[64];
    int nbufs = 0, fd, arrived, kicks;
    uint8_t got[2048];
    struct qtest *q;
    struct vnet n;
    bool k1, k2;

    /* tx=auto, the default */
    q = start_wired(&fd, 0, "");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES) && (n.vd->features & B(QVIRTIO_F_EVENT_IDX)),
          "tx=auto: a modern driver with EVENT_IDX");
    k1 = tx_burst(&n, bufs, &nbufs, 1, 1);
    arrived = tx_arrived(fd, 1, 1);
    k2 = tx_burst(&n, bufs, &nbufs, 2, 1);
    arrived += tx_arrived(fd, 2, 1);
    tx_reap(&n, bufs, &nbufs);
    CHECK(k1 && k2 && arrived == 2, "a lone frame (a ping) is sent at its kick, and the device asks for the next "
          "one's kick too (kicked %d %d, %d arrived)", k1, k2, arrived);
    k1 = tx_burst(&n, bufs, &nbufs, 10, 4);
    arrived = tx_arrived(fd, 10, 4);
    tx_reap(&n, bufs, &nbufs);
    CHECK(k1 && arrived == 4, "4 frames at once: one kick, and they are sent at it");
    k1 = tx_burst(&n, bufs, &nbufs, 20, 4);
    CHECK(!k1 && peer_recv(fd, got, sizeof(got), 100) < 0,
          "then the device polls: the next frames need no kick and wait for its look");
    qtest_clock_step(q, POLL_NS);
    arrived = tx_arrived(fd, 20, 4);
    tx_reap(&n, bufs, &nbufs);
    CHECK(arrived == 4, "which comes %d us later and sends them (%d)", POLL_NS / 1000, arrived);
    kicks = tx_stream(&n, fd, 30, bufs, &nbufs, &arrived, true);
    CHECK(kicks == 0 && arrived == 32, "while frames keep coming: 32 in 8 bursts, no kick, all sent in order "
          "(%d kicks, %d arrived)", kicks, arrived);
    qtest_clock_step(q, POLL_NS);
    qtest_clock_step(q, POLL_NS);
    k1 = tx_burst(&n, bufs, &nbufs, 70, 1);
    qtest_clock_step(q, POLL_NS);
    arrived = tx_arrived(fd, 70, 1);
    tx_reap(&n, bufs, &nbufs);
    CHECK(!k1 && arrived == 1, "two quiet periods do not end the polling (kicked %d, %d arrived)", k1, arrived);
    for (int i = 0; i < 4; i++)
        qtest_clock_step(q, POLL_NS);
    k1 = tx_burst(&n, bufs, &nbufs, 80, 1);
    arrived = tx_arrived(fd, 80, 1);
    tx_reap(&n, bufs, &nbufs);
    CHECK(k1 && arrived == 1, "four do: the device asks for kicks again and the next lone frame goes at its kick");
    /* a look that finds a lone frame is a quiet one: the ACKs of a download do not keep it polling */
    tx_burst(&n, bufs, &nbufs, 84, 4);
    tx_arrived(fd, 84, 4);
    tx_reap(&n, bufs, &nbufs);
    kicks = arrived = 0;
    for (int i = 0; i < 4; i++) {
        kicks += tx_burst(&n, bufs, &nbufs, 110 + i, 1);
        qtest_clock_step(q, POLL_NS);
        arrived += tx_arrived(fd, 110 + i, 1);
        tx_reap(&n, bufs, &nbufs);
    }
    k1 = tx_burst(&n, bufs, &nbufs, 115, 1);
    arrived += tx_arrived(fd, 115, 1);
    tx_reap(&n, bufs, &nbufs);
    CHECK(kicks == 0 && k1 && arrived == 5, "after a burst, 4 lone frames a period apart go at the device's looks "
          "without a kick, and as quiet looks end the polling: the fifth goes at its kick (%d kicks, %d, %d arrived)",
          kicks, k1, arrived);
    tx_burst(&n, bufs, &nbufs, 90, 4);
    tx_arrived(fd, 90, 4);
    tx_reap(&n, bufs, &nbufs);
    vnet_close(&n);
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "a reset while the device polls");
    k1 = tx_burst(&n, bufs, &nbufs, 100, 1);
    arrived = tx_arrived(fd, 100, 1);
    tx_reap(&n, bufs, &nbufs);
    CHECK(k1 && arrived == 1, "leaves it asking for kicks: the new driver's first frame goes at its kick");
    vnet_close(&n);
    close(fd);
    qtest_quit(q);

    /* tx=bh: every burst is kicked (QEMU's default) */
    q = start_wired(&fd, 0, ",tx=bh");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "tx=bh");
    kicks = tx_stream(&n, fd, 1, bufs, &nbufs, &arrived, false);
    CHECK(kicks == 8 && arrived == 32, "each of 8 bursts is kicked and sent at its kick (%d kicks, %d arrived)",
          kicks, arrived);
    vnet_close(&n);
    close(fd);
    qtest_quit(q);

    /* tx=timer: a kick's frames wait x-txtimer (QEMU's) */
    q = start_wired(&fd, 0, ",tx=timer,x-txtimer=400000");
    CHECK(vnet_open(&n, q, QVIRTIO_MODERN, ALL_FEATURES), "tx=timer,x-txtimer=400000");
    k1 = tx_burst(&n, bufs, &nbufs, 1, 1);
    CHECK(k1 && peer_recv(fd, got, sizeof(got), 100) < 0, "a lone frame's kick does not send it");
    qtest_clock_step(q, 399000);
    CHECK(peer_recv(fd, got, sizeof(got), 100) < 0, "nor does 399 us later");
    qtest_clock_step(q, 1000);
    arrived = tx_arrived(fd, 1, 1);
    tx_reap(&n, bufs, &nbufs);
    CHECK(arrived == 1, "400 us does");
    k1 = tx_burst(&n, bufs, &nbufs, 2, 1);
    qtest_clock_step(q, 400000);
    arrived = tx_arrived(fd, 2, 1);
    tx_reap(&n, bufs, &nbufs);
    CHECK(k1 && arrived == 1, "and the next frame is kicked again (kicked %d, %d arrived)", k1, arrived);
    vnet_close(&n);
    close(fd);
    qtest_quit(q);

    refused("tx=fast", "tx=fast: auto, bh or timer", "-device virtio-net-pci,tx=fast");
    refused("x-txpoll-stay=0", "x-txpoll-min=2, x-txpoll-stay=0: each 1 or more", "-device virtio-net-pci,x-txpoll-stay=0");
}

int main(void)
{
    test_identity();
    test_features();
    test_config();
    test_queue_sizes();
    test_mac_write();
    test_ctrl();
    test_hostile();
    test_tx();
    test_tx_modes();
    test_rx();
    test_filter();
    test_filter_state();
    test_backpressure();
    test_link();
    test_link_listen();
    test_announce();
    test_pending();
    test_mq();
    test_boot();
    test_cmdline();
    test_state();
    test_tap();       /* last: it moves the test into a network namespace of its own */
    test_tap_early();
    return tap_done();
}
