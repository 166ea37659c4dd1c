/* fuzz-virtio-net.c: libFuzzer target: virtio-net-pci's transmit path (descriptor chains, vnet headers and frames under the fuzzer's control, a peer that takes them or holds them back) and the frames that arrive from its backend (any length and bytes, with or without a vnet header, into receive buffers the fuzzer laid out), with control commands, link changes, resets and state loads between; one NIC's backend has a vnet header (the offloads are offered), the other's has none */
#include "hw/pci/pci.h" // pci_config_read, pci_config_write
#include "migration/vmstate.h"
#include "net/net.h"
#include "tests/fuzz/fuzz-board.h"

#include <stdint.h>

/*
 * Guest memory as the target lays it out (16 MiB of RAM): queue q's rings at RING(q) (16 KiB
 * each: room for a legacy queue of 256), indirect tables at TABLES, buffers in the 1 MiB at DATA.
 */
#define RING(q)         (0x100000u + 0x4000u * (q))
#define TABLES          0x110000u
#define DATA            0x200000u
#define DATA_SIZE       0x100000u
#define NQ              3               /* receiveq, transmitq, controlq */
#define QSIZE           16              /* what a modern setup asks for */
#define MSI_BASE        0xfee00000u
#define FRAME_MAX       (65536 + 64)

/* A backend of the fuzzer's: it takes the NIC's frames, or holds them back (the core queues them). */
struct fake_backend {
    struct netdev nd;
    bool vnet;
    bool hold;
    int hdr_len;
    unsigned offloads;
};

static struct {
    struct fake_backend *be[2];
    struct device *dev[2];
    int devfn[2];
    unsigned msix_cap[2];
    int nic;                        /* which one this input drives */
    bool legacy;
    uint16_t qsize[NQ];
    uint16_t avail_idx[NQ];
    uint32_t io, modern, msix;
    uint8_t frame[FRAME_MAX];
} fn;

static struct fake_backend *fake_of(struct net_client *nc)
{
    return container_of(nc, struct fake_backend, nd.nc);
}

static ssize_t fake_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    size_t len = 0;

    (void)flags;
    if (fake_of(nc)->hold)
        return 0;
    for (int i = 0; i < niov; i++)
        len += iov[i].iov_len;
    return len;
}

static bool fake_can_receive(struct net_client *nc)
{
    return !fake_of(nc)->hold;
}

static bool fake_has_vnet_hdr(struct net_client *nc)
{
    return fake_of(nc)->vnet;
}

static int fake_set_vnet_hdr_len(struct net_client *nc, int len)
{
    if (len != 10 && len != 12)
        abort();        /* the device asks for a header length a tap cannot have */
    fake_of(nc)->hdr_len = len;
    return 0;
}

static int fake_set_offload(struct net_client *nc, unsigned f)
{
    fake_of(nc)->offloads = f;
    return 0;
}

static const struct net_client_ops fake_ops = {
    .type = "socket",
    .receive = fake_receive,
    .can_receive = fake_can_receive,
    .has_vnet_hdr = fake_has_vnet_hdr,
    .set_vnet_hdr_len = fake_set_vnet_hdr_len,
    .set_offload = fake_set_offload,
};

static struct fake_backend *fake_new(const char *id, bool vnet)
{
    struct fake_backend *b = xzalloc(sizeof(*b));
    char *err = NULL;

    snprintf(b->nd.id, sizeof(b->nd.id), "%s", id);
    b->nd.type = "socket";
    b->nd.nc.ops = &fake_ops;
    b->vnet = vnet;
    b->hdr_len = 10;
    if (netdev_register(&b->nd, &err) < 0)
        abort();
    return b;
}

static uint32_t bar(int n)
{
    return pci_config_read(fn.devfn[fn.nic], 0x10 + 4 * n, 4) & ~(n == 0 ? 3u : 15u);
}

static void pio(uint32_t port, uint32_t v, unsigned size)
{
    io_dispatch(IO_SPACE_PIO, port & 0xffff, &v, size, true);
}

static uint32_t pio_read(uint32_t port, unsigned size)
{
    uint32_t v = 0;

    io_dispatch(IO_SPACE_PIO, port & 0xffff, &v, size, false);
    return v;
}

static void mmio(uint64_t addr, uint32_t v, unsigned size)
{
    io_dispatch(IO_SPACE_MMIO, addr, &v, size, true);
}

static void fn_init(void)
{
    struct pc_options o = { 0 };

    fuzz_board_init(&o);
    fn.be[0] = fake_new("fv", true);
    fn.be[1] = fake_new("fp", false);
    fn.dev[0] = device_create_simple("virtio-net-pci", "netdev=fv,romfile=,addr=04.0,id=nv");
    fn.dev[1] = device_create_simple("virtio-net-pci", "netdev=fp,romfile=,addr=05.0,id=np,mac=02:00:00:00:00:01");
    machine_done();
    fn.devfn[0] = 4 << 3;
    fn.devfn[1] = 5 << 3;
    for (int k = 0; k < 2; k++) {
        for (unsigned at = pci_config_read(fn.devfn[k], 0x34, 1); at && !fn.msix_cap[k];
             at = pci_config_read(fn.devfn[k], at + 1, 1))
            if (pci_config_read(fn.devfn[k], at, 1) == 0x11)
                fn.msix_cap[k] = at;
        if (!fn.msix_cap[k])
            abort();
    }
}

/*
 * A driver's setup, as the input asks: mode bit 0 legacy (else modern), bit 1 MSI-X, bit 2
 * the NIC whose backend has no vnet header; the features it acks (of those offered).
 */
static void fn_setup(uint8_t mode, uint64_t features)
{
    uint8_t zero[0x4000] = { 0 };

    fn.nic = mode >> 2 & 1;
    fn.legacy = mode & 1;
    fn.io = bar(0);
    fn.msix = bar(1);
    fn.modern = bar(4);
    memset(fn.avail_idx, 0, sizeof(fn.avail_idx));
    for (int q = 0; q < NQ; q++)
        gmem_write(RING(q), zero, sizeof(zero));
    if (mode & 2) {
        for (unsigned v = 0; v <= NQ; v++) {
            mmio(fn.msix + 16 * v, MSI_BASE, 4);
            mmio(fn.msix + 16 * v + 8, 0x40 + v, 4);
            mmio(fn.msix + 16 * v + 12, 0, 4);
        }
        pci_config_write(fn.devfn[fn.nic], fn.msix_cap[fn.nic] + 2, 0x8000, 2);
    }
    if (fn.legacy) {
        pio(fn.io + 18, 0, 1);
        pio(fn.io + 18, 3, 1);
        pio(fn.io + 4, (uint32_t)features, 4);
        for (int q = 0; q < NQ; q++) {
            pio(fn.io + 14, q, 2);
            fn.qsize[q] = pio_read(fn.io + 12, 2);
            if (mode & 2)
                pio(fn.io + 22, q + 1, 2);
            pio(fn.io + 8, RING(q) >> 12, 4);
        }
        pio(fn.io + 18, 7, 1);
        return;
    }
    features |= 1ull << 32;
    mmio(fn.modern + 0x14, 0, 1);
    mmio(fn.modern + 0x14, 3, 1);
    mmio(fn.modern + 0x08, 0, 4);
    mmio(fn.modern + 0x0c, (uint32_t)features, 4);
    mmio(fn.modern + 0x08, 1, 4);
    mmio(fn.modern + 0x0c, features >> 32, 4);
    mmio(fn.modern + 0x14, 0x0b, 1);
    if (mode & 2)
        mmio(fn.modern + 0x10, 0, 2);
    for (int q = 0; q < NQ; q++) {
        uint64_t desc = RING(q), avail = desc + 16 * QSIZE, used = RING(q) + 0x1000;

        fn.qsize[q] = QSIZE;
        mmio(fn.modern + 0x16, q, 2);
        mmio(fn.modern + 0x18, QSIZE, 2);
        if (mode & 2)
            mmio(fn.modern + 0x1a, q + 1, 2);
        mmio(fn.modern + 0x20, (uint32_t)desc, 4);
        mmio(fn.modern + 0x24, 0, 4);
        mmio(fn.modern + 0x28, (uint32_t)avail, 4);
        mmio(fn.modern + 0x2c, 0, 4);
        mmio(fn.modern + 0x30, (uint32_t)used, 4);
        mmio(fn.modern + 0x34, 0, 4);
        mmio(fn.modern + 0x1c, 1, 2);
    }
    mmio(fn.modern + 0x14, 0x0f, 1);
}

/* Each input starts from a reset board, links up, the backends taking frames, a modern driver's usual setup. */
static void fn_reset(void)
{
    char *err = NULL;

    device_drain_all();
    device_reset_all();
    pc_setup_like_firmware();
    for (int k = 0; k < 2; k++) {
        fn.be[k]->hold = false;
        net_client_purge(&fn.be[k]->nd.nc);
        net_set_link(fn.be[k]->nd.id, true, &err);
        net_set_link(k ? "np" : "nv", true, &err);
        free(err);
        err = NULL;
    }
    fn_setup(2, ~0ull);
}

/* A buffer address: in the data area, in the indirect tables, the rings, or anywhere at all. */
static uint64_t fn_addr(uint8_t kind, uint32_t a, uint8_t hi)
{
    switch (kind & 3) {
    case 0: return DATA + a % DATA_SIZE;
    case 1: return TABLES + a % 0x1000;
    case 2: return RING(0) + a % (NQ * 0x4000);
    default: return (uint64_t)hi << 32 | a;
    }
}

static void fn_desc(uint64_t at, const uint8_t *p)
{
    uint8_t d[16];

    stq_le(d, fn_addr(p[2], ldl_le(p + 3), p[15]));
    stl_le(d + 8, ldl_le(p + 7));
    stw_le(d + 12, lduw_le(p + 11));
    stw_le(d + 14, lduw_le(p + 13));
    gmem_write(at, d, sizeof(d));
}

static uint64_t avail_of(unsigned q)
{
    return RING(q) + 16 * fn.qsize[q];
}

static void fn_kick(unsigned q)
{
    if (fn.legacy)
        pio(fn.io + 16, q, 2);
    else
        mmio(fn.modern + 0x3000 + 4 * q, q, 2);
    loop_iterate(false);
}

/*
 * A frame from the backend: p0-p1 its length (p2 & 1: 64 KiB more), p2 & 2 after a vnet header
 * (a backend that has one), p2 & 4 to the NIC's own address, p2 & 8 VLAN-tagged; its bytes
 * repeat p3-p15.
 */
static void fn_frame(const uint8_t *p)
{
    struct fake_backend *be = fn.be[fn.nic];
    size_t len = lduw_le(p) % 2048 + (p[2] & 1 ? 65536 : 0), hl = 0;
    unsigned flags = 0;
    struct iovec iov;

    if ((p[2] & 2) && be->vnet) {
        hl = be->hdr_len;
        flags = NET_FRAME_VNET_HDR;
    }
    if (hl + len > FRAME_MAX)
        len = FRAME_MAX - hl;
    for (size_t i = 0; i < hl + len; i++)
        fn.frame[i] = p[3 + i % 13];
    if (p[2] & 4)
        memcpy(fn.frame + hl, fn.nic ? (uint8_t[6]){ 2, 0, 0, 0, 0, 1 } : (uint8_t[6]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6);
    if ((p[2] & 8) && len >= 16) {
        fn.frame[hl + 12] = 0x81;
        fn.frame[hl + 13] = 0;
    }
    iov = (struct iovec){ .iov_base = fn.frame, .iov_len = hl + len };
    net_send(&be->nd.nc, &iov, 1, flags, NULL);
}

/* The device's state saved and loaded back, maybe with one byte changed (a hostile stream). */
static void fn_state(const uint8_t *p)
{
    struct device *dev = fn.dev[fn.nic];
    struct vmbuf b;
    char *err = NULL;

    vmbuf_init(&b);
    vmstate_save(dev->type->vmsd, dev, &b);
    if (p[0] & 1)
        b.data[lduw_le(p + 1) % b.len] = p[3];
    if (device_vmstate_load(dev, &b, &err) < 0 && !err)
        abort();        /* a refusal always says why */
    free(err);
    vmbuf_free(&b);
}

/*
 * Input: operations of 17 bytes, [op][p0..p15]. op % 14:
 *   0 setup again: p0 mode (fn_setup), p1-p8 features
 *   1 descriptor p1 of queue p0 % 3 (fn_desc: p2 kind, p3-p6 address, p7-p10 length, p11-p12
 *     flags, p13-p14 next, p15 the high address byte)
 *   2 descriptor p1 % 16 of indirect table p0 % 16, likewise
 *   3 make head p1-p2 available on queue p0 % 3; p3 & 1: set avail->idx to p4-p5 instead of + 1
 *   4 kick queue p0 % 3 (and run the main loop once)
 *   5 12 bytes p4-p15 at DATA + p0-p3 (vnet headers, frames, control commands)
 *   6 a frame from the backend (fn_frame)
 *   7 the backend holds frames back (p0 & 1), or takes them again and flushes what it held
 *   8 set_link: p0 & 1 the backend (else the NIC), p1 & 1 up
 *   9 a register write: p0 % 4 picks legacy I/O, BAR 4, the MSI-X BAR or configuration space,
 *     p1-p2 the offset, p3 the size (1, 2, 4), p4-p7 the value
 *   10 run the main loop p0 % 4 + 1 times
 *   11 the device's state saved and loaded (p0 & 1: byte p1-p2 of it set to p3)
 *   12 a system reset (p0 & 1) or the clock stepped by p1-p4 ns (announcements)
 *   13 avail flags (p0 & 4) or used_event of queue p0 % 3: p1-p2
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        fn_init();
        ready = true;
    }
    fn_reset();
    for (size_t i = 0; i + 17 <= size; i += 17) {
        const uint8_t *p = data + i + 1;
        unsigned q = p[0] % NQ, sz = 1u << (p[3] % 3);
        uint32_t off = lduw_le(p + 1), v = ldl_le(p + 4);
        char *err = NULL;

        switch (data[i] % 14) {
        case 0:
            fn_setup(p[0], ldq_le(p + 1));
            break;
        case 1:
            fn_desc(RING(q) + 16 * (p[1] % fn.qsize[q]), p);
            break;
        case 2:
            fn_desc(TABLES + 256 * (p[0] % 16) + 16 * (p[1] % 16), p);
            break;
        case 3: {
            uint16_t idx = p[3] & 1 ? lduw_le(p + 4) : fn.avail_idx[q] + 1;

            gmem_write(avail_of(q) + 4 + 2 * (fn.avail_idx[q] % fn.qsize[q]), p + 1, 2);
            fn.avail_idx[q] = idx;
            gmem_write(avail_of(q) + 2, &idx, 2);
            break;
        }
        case 4:
            fn_kick(q);
            break;
        case 5:
            gmem_write(DATA + ldl_le(p) % (DATA_SIZE - 12), p + 4, 12);
            break;
        case 6:
            fn_frame(p);
            break;
        case 7:
            fn.be[fn.nic]->hold = p[0] & 1;
            if (!fn.be[fn.nic]->hold)
                net_client_flush(&fn.be[fn.nic]->nd.nc);
            break;
        case 8:
            net_set_link(p[0] & 1 ? fn.be[fn.nic]->nd.id : fn.nic ? "np" : "nv", p[1] & 1, &err);
            free(err);
            break;
        case 9:
            switch (p[0] % 4) {
            case 0: io_dispatch(IO_SPACE_PIO, fn.io + off % 64, &v, sz, true); break;
            case 1: io_dispatch(IO_SPACE_MMIO, fn.modern + off % 0x4000, &v, sz, true); break;
            case 2: io_dispatch(IO_SPACE_MMIO, fn.msix + off % 0x1000, &v, sz, true); break;
            default: pci_config_write(fn.devfn[fn.nic], off % 256, v, sz); break;
            }
            break;
        case 10:
            for (int k = 0; k <= p[0] % 4; k++)
                loop_iterate(false);
            break;
        case 11:
            fn_state(p);
            break;
        case 12:
            if (p[0] & 1) {
                device_drain_all();
                device_reset_all();
                pc_setup_like_firmware();
            } else {
                clock_virtual_step(ldl_le(p + 1) % 2000000000u);
            }
            break;
        case 13:
            gmem_write(p[0] & 4 ? avail_of(q) : avail_of(q) + 4 + 2 * fn.qsize[q], p + 1, 2);
            break;
        }
    }
    loop_iterate(false);
    return 0;
}
