/* test-virtio-net.c: virtio-net-pci over a backend with a vnet header, through the net core's interface (has_vnet_hdr, set_vnet_hdr_len, set_offload) as a tap gives it: the offloads offered, the header length and TUN_F_* offloads the backend is told, headers passed both ways, GUEST_OFFLOADS_SET, and a header from the backend that claims what the driver did not take; then, in a network namespace of its own, a real tap device whose frames are read straight into the driver's buffers: one buffer and many (num_buffers), a frame that waits for buffers and the one behind it, a burst in order, a frame too big for a driver without mergeable buffers */
#include "hw/core/accel.h"
#include "hw/core/device.h"
#include "hw/core/guest-mem.h" // gmem_read, gmem_write
#include "hw/core/ioregion.h" // io_pio_write, io_pio_read
#include "hw/core/machine.h"
#include "hw/core/qtest.h" // qtest_accel_install
#include "hw/pc/pc.h"
#include "hw/pci/pci.h" // pci_config_read
#include "net/net.h"
#include "tests/unit/tap.h"
#include "tests/unit/test-netns.h"
#include "util/main-loop.h"

#include <linux/if_tun.h> // TUN_F_*

#define RING(q)         (0x100000u + 0x4000u * (q))
#define DATA            0x200000u
#define NQ              3
#define DEVFN           (4 << 3)
#define DEVFN_PLAIN     (5 << 3)
#define DEVFN_TAP       (6 << 3)
#define TAP_IF          "skvn0"
#define ETHERTYPE_TEST  0x88b5  /* IEEE's local experimental ethertype: no stack takes it */

/* virtio-net's features (virtio 1.2 5.1.3) and the legacy interface's registers (4.1.4.8) */
#define F(b)            (1u << (b))
#define F_CSUM          0
#define F_GUEST_CSUM    1
#define F_GUEST_OFFLOADS 2
#define F_GUEST_TSO4    7
#define F_GUEST_TSO6    8
#define F_GUEST_ECN     9
#define F_GUEST_UFO     10
#define F_HOST_TSO4     11
#define F_HOST_TSO6     12
#define F_HOST_ECN      13
#define F_HOST_UFO      14
#define F_MRG_RXBUF     15
#define F_CTRL_VQ       17
#define OFFLOADS        (F(F_CSUM) | F(F_GUEST_CSUM) | F(F_GUEST_TSO4) | F(F_GUEST_TSO6) | F(F_GUEST_ECN) | \
                         F(F_GUEST_UFO) | F(F_HOST_TSO4) | F(F_HOST_TSO6) | F(F_HOST_ECN) | F(F_HOST_UFO) | \
                         F(F_GUEST_OFFLOADS))
#define L_HOST_F        0
#define L_GUEST_F       4
#define L_PFN           8
#define L_NUM           12
#define L_SEL           14
#define L_NOTIFY        16
#define L_STATUS        18

/* A backend as a tap with IFF_VNET_HDR is to the net core; it keeps the last frame it took. */
struct vnet_backend {
    struct netdev nd;
    bool vnet;
    bool refuse_12;             /* an old kernel's tap: no 12-byte header */
    int hdr_len;
    unsigned offloads;
    int set_len_calls;
    uint8_t frame[70000];
    size_t len;
    unsigned flags;
    int frames;
};

static struct vnet_backend *be, *plain;
static uint32_t io;
static uint16_t avail_idx[NQ], used_seen[NQ], qsize[NQ];

static void bail(const char *what, const char *why)
{
    printf("Bail out! %s%s\n", what, why ? why : "");
    exit(2);
}

static struct vnet_backend *be_of(struct net_client *nc)
{
    return container_of(nc, struct vnet_backend, nd.nc);
}

static ssize_t be_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct vnet_backend *b = be_of(nc);
    size_t len = 0;

    for (int i = 0; i < niov; i++) {
        if (len + iov[i].iov_len <= sizeof(b->frame))
            memcpy(b->frame + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    b->len = len;
    b->flags = flags;
    b->frames++;
    return len;
}

static bool be_has_vnet_hdr(struct net_client *nc)
{
    return be_of(nc)->vnet;
}

static int be_set_vnet_hdr_len(struct net_client *nc, int len)
{
    struct vnet_backend *b = be_of(nc);

    b->set_len_calls++;
    if (len != 10 && len != 12)
        return -EINVAL;
    if (len == 12 && b->refuse_12)
        return -EINVAL;
    b->hdr_len = len;
    return 0;
}

static int be_set_offload(struct net_client *nc, unsigned f)
{
    be_of(nc)->offloads = f;
    return 0;
}

static const struct net_client_ops be_ops = {
    .type = "tap",
    .receive = be_receive,
    .has_vnet_hdr = be_has_vnet_hdr,
    .set_vnet_hdr_len = be_set_vnet_hdr_len,
    .set_offload = be_set_offload,
};

static struct vnet_backend *be_new(const char *id, bool vnet)
{
    struct vnet_backend *b = xzalloc(sizeof(*b));
    char *err = NULL;

    snprintf(b->nd.id, sizeof(b->nd.id), "%s", id);
    b->nd.type = "tap";
    b->nd.nc.ops = &be_ops;
    b->vnet = vnet;
    b->hdr_len = 10;
    if (netdev_register(&b->nd, &err) < 0)
        bail("netdev_register: %s", err);
    return b;
}

static void run_loop(void)
{
    for (int i = 0; i < 4; i++)
        loop_iterate(false);
}

static uint64_t avail_of(unsigned q)
{
    return RING(q) + 16 * qsize[q];
}

static uint64_t used_of(unsigned q)
{
    return (avail_of(q) + 6 + 2 * qsize[q] + 4095) & ~4095ull;
}

/* A legacy driver (no MSI-X: the configuration at 20) takes `features` and starts the device. */
static void driver_start(int devfn, uint32_t features)
{
    static uint8_t zero[0x4000];

    io = pci_config_read(devfn, 0x10, 4) & ~3u;
    io_pio_write(io + L_STATUS, 0, 1);
    io_pio_write(io + L_STATUS, 3, 1);
    io_pio_write(io + L_GUEST_F, features, 4);
    for (unsigned q = 0; q < NQ; q++) {
        gmem_write(RING(q), zero, sizeof(zero));
        io_pio_write(io + L_SEL, q, 2);
        qsize[q] = io_pio_read(io + L_NUM, 2);
        io_pio_write(io + L_PFN, RING(q) >> 12, 4);
        avail_idx[q] = used_seen[q] = 0;
    }
    io_pio_write(io + L_STATUS, 7, 1);
}

/* Offer one buffer on queue q and kick. */
static void give(unsigned q, uint64_t addr, uint32_t len, bool write)
{
    uint8_t d[16] = { 0 };
    uint16_t head = avail_idx[q] % qsize[q];

    stq_le(d, addr);
    stl_le(d + 8, len);
    stw_le(d + 12, write ? 2 : 0);
    gmem_write(RING(q) + 16 * head, d, sizeof(d));
    gmem_write(avail_of(q) + 4 + 2 * head, &head, 2);
    avail_idx[q]++;
    gmem_write(avail_of(q) + 2, &avail_idx[q], 2);
    io_pio_write(io + L_NOTIFY, q, 2);
    run_loop();
}

/* The next used entry of queue q: its length (and *id, its descriptor, unless NULL), or -1 when none came. */
static int64_t take_used_id(unsigned q, uint32_t *id)
{
    uint16_t idx;
    uint32_t len;

    run_loop();
    gmem_read(used_of(q) + 2, &idx, 2);
    if (idx == used_seen[q])
        return -1;
    if (id)
        gmem_read(used_of(q) + 4 + 8 * (used_seen[q] % qsize[q]), id, 4);
    gmem_read(used_of(q) + 4 + 8 * (used_seen[q] % qsize[q]) + 4, &len, 4);
    used_seen[q]++;
    return len;
}

static int64_t take_used(unsigned q)
{
    return take_used_id(q, NULL);
}

/* A transmit: header and frame in one buffer */
static bool transmit(const uint8_t *hdr, unsigned hl, size_t len)
{
    static uint8_t buf[2048];

    memcpy(buf, hdr, hl);
    for (size_t i = 0; i < len; i++)
        buf[hl + i] = i < 6 ? 0x02 : (uint8_t)(i * 3);
    gmem_write(DATA, buf, hl + len);
    give(1, DATA, hl + len, false);
    return take_used(1) == 0;
}

/* A control command with `len` bytes of data; the device's ack, or -1. */
static int ctrl(uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
    uint8_t buf[64] = { cls, cmd }, ack = 0xee;
    uint8_t d[2][16] = { { 0 } };
    uint16_t head = 0;          /* each command completes before the next: descriptors 0 and 1 */

    memcpy(buf + 2, data, len);
    gmem_write(DATA + 0x1000, buf, 2 + len);
    gmem_write(DATA + 0x2000, &ack, 1);
    stq_le(d[0], DATA + 0x1000);
    stl_le(d[0] + 8, 2 + len);
    stw_le(d[0] + 12, 1);
    stw_le(d[0] + 14, 1);
    stq_le(d[1], DATA + 0x2000);
    stl_le(d[1] + 8, 1);
    stw_le(d[1] + 12, 2);
    gmem_write(RING(2) + 16 * head, d[0], 16);
    gmem_write(RING(2) + 16, d[1], 16);
    gmem_write(avail_of(2) + 4 + 2 * (avail_idx[2] % qsize[2]), &head, 2);
    avail_idx[2]++;
    gmem_write(avail_of(2) + 2, &avail_idx[2], 2);
    io_pio_write(io + L_NOTIFY, 2, 2);
    if (take_used(2) != 1)
        return -1;
    gmem_read(DATA + 0x2000, &ack, 1);
    return ack;
}

/* A frame from the backend, after a header of hl bytes (none: 0) */
static void from_backend(const uint8_t *hdr, unsigned hl, size_t len)
{
    static uint8_t f[2048];
    struct iovec iov = { f, hl + len };

    memcpy(f, hdr, hl);
    memset(f + hl, 0xff, 6);                /* broadcast: past any filter */
    for (size_t i = 6; i < len; i++)
        f[hl + i] = (uint8_t)(i * 5);
    net_send(&be->nd.nc, &iov, 1, hl ? NET_FRAME_VNET_HDR : 0, NULL);
    run_loop();
}

/* ---- a real tap device: frames read straight into the driver's buffers (net_read_direct) ---- */

static int if_set_mtu(const char *name, int mtu)
{
    struct ifreq ifr = { 0 };
    int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_mtu = mtu;
    r = ioctl(fd, SIOCSIFMTU, &ifr);
    close(fd);
    return r;
}

/* A test frame of len bytes (broadcast, ETHERTYPE_TEST), every byte after the header telling its place and b */
static void frame_make(uint8_t *f, size_t len, uint8_t b)
{
    memset(f, 0xff, 6);
    memset(f + 6, 0x02, 6);
    stw_be(f + 12, ETHERTYPE_TEST);
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(i * 7 + (i >> 8) + b);
}

/* Send a test frame into the tap from the host's side: the tap reads it */
static bool inject(int pfd, size_t len, uint8_t b)
{
    static uint8_t f[10000];

    frame_make(f, len, b);
    return send(pfd, f, len, 0) == (ssize_t)len;
}

/*
 * The next frame the driver got on the receive queue, within a second: its header (hl bytes
 * into hdr) and its bytes, put together from the num_buffers buffers it took; its length, or -1.
 */
static int64_t rx_frame(unsigned hl, uint8_t *hdr, uint8_t *f, size_t size)
{
    unsigned nbufs = 1;
    size_t at = 0;

    for (unsigned i = 0; i < nbufs; i++) {
        int64_t len = -1;
        uint32_t id = 0;
        uint8_t d[16];

        for (int t = 0; t < 1000 && len < 0; t++) {
            len = take_used_id(0, &id);
            if (len < 0)
                usleep(1000);
        }
        if (len < 0 || id >= qsize[0])
            return -1;
        gmem_read(RING(0) + 16 * id, d, sizeof(d));
        if (i == 0) {
            if (len < hl)
                return -1;
            gmem_read(ldq_le(d), hdr, hl);
            nbufs = hl == 12 ? lduw_le(hdr + 10) : 1;
            len -= hl;
        }
        if (at + len > size)
            return -1;
        gmem_read(ldq_le(d) + (i == 0 ? hl : 0), f + at, len);
        at += len;
    }
    return at;
}

/* Is f (len bytes) the test frame of want bytes and b? */
static bool frame_is(const uint8_t *f, int64_t len, size_t want, uint8_t b)
{
    static uint8_t w[10000];

    frame_make(w, want, b);
    return len == (int64_t)want && !memcmp(f, w, want);
}

static void test_tap_direct(void)
{
    const uint32_t mrg = F(F_MRG_RXBUF) | F(F_CSUM) | F(F_GUEST_CSUM) | F(F_GUEST_TSO4) | F(F_GUEST_ECN) |
                         F(F_GUEST_UFO);
    static const size_t sizes[] = { 60, 200, 1514 };
    static uint8_t f[10000];
    uint8_t hdr[12];
    uint64_t buf = DATA + 0x10000;
    int64_t len;
    int pfd;
    bool ok;

    if (if_set_mtu(TAP_IF, 9000) < 0 || if_set_up(TAP_IF) < 0 || (pfd = packet_on(TAP_IF)) < 0)
        bail("the tap device cannot be set up: ", strerror(errno));
    driver_start(DEVFN_TAP, mrg);
    for (int i = 0; i < 3; i++)
        give(0, buf + 0x1000 * i, 2048, true);
    ok = true;
    for (int i = 0; i < 3; i++) {
        ok &= inject(pfd, sizes[i], (uint8_t)i);
        len = rx_frame(12, hdr, f, sizeof(f));
        ok &= frame_is(f, len, sizes[i], (uint8_t)i) && lduw_le(hdr + 10) == 1 && hdr[1] == 0;
    }
    CHECK(ok, "a real tap: frames of 60, 200 and 1514 bytes from the host reach the driver whole, each in one "
          "buffer after a 12-byte header (num_buffers 1)");

    for (int i = 0; i < 4; i++)
        give(0, buf + 0x1000 * i, 2048, true);
    inject(pfd, 5000, 7);
    len = rx_frame(12, hdr, f, sizeof(f));
    CHECK(frame_is(f, len, 5000, 7) && lduw_le(hdr + 10) == 3,
          "a 5000-byte frame spreads over three 2048-byte buffers, num_buffers 3 (%lld bytes, %u)", (long long)len,
          lduw_le(hdr + 10));
    inject(pfd, 100, 8);
    len = rx_frame(12, hdr, f, sizeof(f));
    CHECK(frame_is(f, len, 100, 8) && take_used(0) == -1,
          "the buffer it did not need takes the next frame, and nothing more is used");

    give(0, buf, 2048, true);
    give(0, buf + 0x1000, 2048, true);
    inject(pfd, 5000, 9);
    inject(pfd, 60, 10);
    for (int t = 0; t < 50; t++)
        run_loop();
    CHECK(take_used(0) == -1, "with two buffers, a 5000-byte frame waits (and the frame after it)");
    give(0, buf + 0x2000, 2048, true);
    give(0, buf + 0x3000, 2048, true);
    len = rx_frame(12, hdr, f, sizeof(f));
    ok = frame_is(f, len, 5000, 9) && lduw_le(hdr + 10) == 3;
    len = rx_frame(12, hdr, f, sizeof(f));
    CHECK(ok && frame_is(f, len, 60, 10), "given two more, it comes in whole over three, and the next one after it");

    for (int i = 0; i < 40; i++)
        give(0, buf + 0x1000 * i, 2048, true);
    ok = true;
    for (int i = 0; i < 32; i++)
        ok &= inject(pfd, 200 + i, (uint8_t)(0x40 + i));
    for (int i = 0; i < 32; i++) {
        len = rx_frame(12, hdr, f, sizeof(f));
        ok &= frame_is(f, len, 200 + i, (uint8_t)(0x40 + i));
    }
    CHECK(ok, "32 frames sent at once come in, in order, each whole");
    io_pio_write(io + L_STATUS, 0, 1);

    driver_start(DEVFN_TAP, F(F_CSUM) | F(F_GUEST_CSUM));
    give(0, buf, 2048, true);
    give(0, buf + 0x1000, 2048, true);
    inject(pfd, 5000, 11);
    inject(pfd, 100, 12);
    len = rx_frame(10, hdr, f, sizeof(f));
    CHECK(frame_is(f, len, 100, 12),
          "a driver without MRG_RXBUF: a 5000-byte frame, too big for its 2048-byte buffer, is dropped and the next "
          "frame comes in after a 10-byte header (%lld bytes)", (long long)len);
    io_pio_write(io + L_STATUS, 0, 1);
    close(pfd);
}

static void board_init(bool with_tap)
{
    struct pc_options o = { 0 };

    loop_init();
    devlock_lock();
    machine_init_requests();
    machine_cfg.ram_size = 16 * MiB;
    machine_cfg.topo = (struct cpu_topology){ 1, 1, 1, 1 };
    machine_cfg.qtest = true;
    clock_virtual_set_manual();
    qtest_accel_install();
    pc_init(&o);
    be = be_new("tap0", true);
    plain = be_new("plain0", false);
    if (!device_create_simple("virtio-net-pci", "netdev=tap0,romfile=,addr=04.0,vectors=0") ||
        !device_create_simple("virtio-net-pci", "netdev=plain0,romfile=,addr=05.0,vectors=0"))
        bail("virtio-net-pci cannot be made", "");
    if (with_tap) {
        char *err = NULL;

        if (netdev_add("tap,id=t0,ifname=" TAP_IF ",script=no,downscript=no", &err) < 0 ||
            !device_create_simple("virtio-net-pci", "netdev=t0,romfile=,addr=06.0,vectors=0"))
            bail("a virtio-net-pci over a tap cannot be made: ", err);
    }
    machine_done();
    /* BARs and command registers as SeaBIOS leaves them */
    pc_setup_like_firmware();
}

int main(void)
{
    const uint32_t taken = F(F_MRG_RXBUF) | F(F_CSUM) | F(F_HOST_TSO4) | F(F_GUEST_CSUM) | F(F_GUEST_TSO4) |
                           F(F_GUEST_ECN) | F(F_GUEST_UFO) | F(F_CTRL_VQ) | F(F_GUEST_OFFLOADS);
    uint8_t hdr[12] = { 0 }, got[2048];
    uint64_t offloads;
    uint32_t f;
    int64_t len;
    bool sent;
    int ack;

    bool with_tap = own_netns() && access("/dev/net/tun", R_OK | W_OK) == 0;

    board_init(with_tap);

    io = pci_config_read(DEVFN, 0x10, 4) & ~3u;
    f = io_pio_read(io + L_HOST_F, 4);
    CHECK((f & OFFLOADS) == OFFLOADS, "a backend with a vnet header: every checksum and segmentation offload is "
          "offered, and CTRL_GUEST_OFFLOADS (0x%x)", f);
    io = pci_config_read(DEVFN_PLAIN, 0x10, 4) & ~3u;
    f = io_pio_read(io + L_HOST_F, 4);
    CHECK(!(f & OFFLOADS & ~F(F_GUEST_OFFLOADS)), "a backend without one: none of them (0x%x)", f);

    driver_start(DEVFN, taken);
    CHECK(be->hdr_len == 12, "a driver with MRG_RXBUF: the backend is told of a 12-byte header (%d)", be->hdr_len);
    CHECK(be->offloads == (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN | TUN_F_UFO),
          "and of the offloads the driver takes: TUN_F_CSUM, TSO4, TSO_ECN, UFO (0x%x)", be->offloads);

    /* 5.1.6.2: a TCPv4 frame for the backend to segment, its checksum partial */
    hdr[0] = 1;                 /* NEEDS_CSUM */
    hdr[1] = 1;                 /* GSO_TCPV4 */
    stw_le(hdr + 2, 54);
    stw_le(hdr + 4, 1448);
    stw_le(hdr + 6, 34);
    stw_le(hdr + 8, 16);
    be->frames = 0;
    CHECK(transmit(hdr, 12, 200), "a TSO frame from the driver completes");
    CHECK(be->frames == 1 && be->flags == NET_FRAME_VNET_HDR && be->len == 212 && !memcmp(be->frame, hdr, 12),
          "and reaches the backend after the driver's 12-byte header, flagged as having one (%zu bytes)", be->len);
    hdr[1] = 3;                 /* GSO_UDP: HOST_UFO not taken */
    be->frames = 0;
    CHECK(transmit(hdr, 12, 200) && be->frames == 0,
          "a UFO frame, which the driver did not negotiate, completes and is not sent");

    /* 5.1.6.4: the backend's header goes to the driver, num_buffers ours */
    memset(hdr, 0, sizeof(hdr));
    hdr[0] = 2;                 /* DATA_VALID */
    hdr[1] = 1;
    stw_le(hdr + 4, 1448);
    stw_le(hdr + 10, 0x7777);   /* the backend's num_buffers: not the driver's business */
    for (int i = 0; i < 4; i++)
        give(0, DATA + 0x4000 + 0x1000 * i, 2048, true);
    from_backend(hdr, 12, 100);
    len = take_used(0);
    gmem_read(DATA + 0x4000, got, sizeof(got));
    CHECK(len == 112 && !memcmp(got, hdr, 10) && lduw_le(got + 10) == 1 && got[12] == 0xff,
          "a frame from the backend comes in after its header, num_buffers 1 (%lld bytes, %u)", (long long)len,
          lduw_le(got + 10));
    hdr[1] = 4;                 /* GSO_TCPV6: GUEST_TSO6 not taken */
    from_backend(hdr, 12, 100);
    CHECK(take_used(0) == -1, "one whose header claims TCPv6 segmentation, which the driver did not take, is not "
          "given to it");
    hdr[1] = 0;
    hdr[0] = 1;
    stw_le(hdr + 6, 20);
    stw_le(hdr + 8, 2000);
    from_backend(hdr, 12, 100);
    CHECK(take_used(0) == -1, "nor one whose partial checksum lies past its end");
    hdr[0] = 2;
    from_backend(hdr, 12, 100);
    CHECK(take_used(0) == 112, "an honest one after them comes in");

    /* 5.1.6.5.6 */
    offloads = 1ull << F_GUEST_CSUM;
    ack = ctrl(5, 0, &offloads, 8);
    CHECK(ack == 0 && be->offloads == TUN_F_CSUM,
          "GUEST_OFFLOADS_SET GUEST_CSUM: OK, and the backend keeps only TUN_F_CSUM (0x%x)", be->offloads);
    offloads = 1ull << F_GUEST_TSO6;
    ack = ctrl(5, 0, &offloads, 8);
    CHECK(ack == 1 && be->offloads == TUN_F_CSUM,
          "GUEST_TSO6, which the driver did not negotiate: ERR, and nothing changes");
    memset(hdr, 0, sizeof(hdr));
    hdr[1] = 1;
    give(0, DATA + 0x8000, 2048, true);
    from_backend(hdr, 12, 100);
    CHECK(take_used(0) == -1, "with TSO4 turned off, a TCPv4 segmentation frame is not given to the driver");
    hdr[1] = 0;
    from_backend(hdr, 12, 100);
    CHECK(take_used(0) == 112, "and is not held back either: the next frame comes in");
    offloads = (1ull << F_GUEST_CSUM) | (1ull << F_GUEST_TSO4);
    ack = ctrl(5, 0, &offloads, 8);
    CHECK(ack == 0 && be->offloads == (TUN_F_CSUM | TUN_F_TSO4),
          "GUEST_CSUM and GUEST_TSO4 again: TUN_F_CSUM | TUN_F_TSO4");

    io_pio_write(io + L_STATUS, 0, 1);
    CHECK(be->offloads == 0 && be->hdr_len == 10, "a reset: no offloads, a 10-byte header (%d)", be->hdr_len);

    driver_start(DEVFN, F(F_CSUM) | F(F_GUEST_CSUM));
    memset(hdr, 0, sizeof(hdr));
    hdr[0] = 1;
    stw_le(hdr + 6, 14);
    stw_le(hdr + 8, 6);
    be->frames = 0;
    CHECK(transmit(hdr, 10, 100) && be->frames == 1 && be->len == 110 && !memcmp(be->frame, hdr, 10),
          "a legacy driver without MRG_RXBUF: its 10-byte header goes to the backend as it wrote it");
    CHECK(be->offloads == TUN_F_CSUM, "with TUN_F_CSUM alone (0x%x)", be->offloads);
    io_pio_write(io + L_STATUS, 0, 1);

    /* a tap that cannot take a 12-byte header: the device converts */
    be->refuse_12 = true;
    driver_start(DEVFN, taken);
    CHECK(be->hdr_len == 10, "a backend that refuses a 12-byte header keeps 10 (%d)", be->hdr_len);
    memset(hdr, 0, sizeof(hdr));
    hdr[0] = 1;
    stw_le(hdr + 6, 14);
    stw_le(hdr + 8, 6);
    be->frames = 0;
    sent = transmit(hdr, 12, 100);
    CHECK(sent && be->frames == 1 && be->len == 110 && !memcmp(be->frame, hdr, 10),
          "the driver's 12-byte header reaches it as 10 bytes (%zu)", be->len);
    give(0, DATA + 0x4000, 2048, true);
    from_backend(hdr, 10, 100);
    len = take_used(0);
    gmem_read(DATA + 0x4000, got, sizeof(got));
    CHECK(len == 112 && !memcmp(got, hdr, 10) && lduw_le(got + 10) == 1 && got[12] == 0xff,
          "and its 10-byte header reaches the driver as 12, num_buffers 1 (%lld)", (long long)len);
    io_pio_write(io + L_STATUS, 0, 1);
    be->refuse_12 = false;

    if (with_tap)
        test_tap_direct();
    else
        tap_skip("needs root, a network namespace of its own and /dev/net/tun", "virtio-net-pci over a real tap");
    return tap_done();
}
