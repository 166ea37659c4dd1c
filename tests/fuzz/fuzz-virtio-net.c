/* fuzz-virtio-net.c: libFuzzer target: virtio-net-pci's transmit path (descriptor chains, vnet headers and frames under the fuzzer's control, a peer that takes them or holds them back) and the frames that arrive from its backend (any length and bytes, with or without a vnet header, into receive buffers the fuzzer laid out, passed to it or read straight into its buffers as a tap's are), with control commands, link changes, resets and state loads between; one NIC's backend has a vnet header (the offloads are offered), the other's has none */
#include "net/net.h"
#include "tests/fuzz/fuzz-virtio-lib.h"

/* The rings at FV_RING(q) (fuzz-virtio-lib.h), indirect tables at TABLES */
#define RING(q)         FV_RING(q)
#define TABLES          0x110000u
#define DATA            FV_DATA
#define DATA_SIZE       FV_DATA_SIZE
#define NQ              3               /* receiveq, transmitq, controlq */
#define QSIZE           16              /* what a modern setup asks for */
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
    struct fv_dev d[2];
    int nic;                        /* which one this input drives */
    uint8_t frame[FRAME_MAX];
} fn;

/* The NIC this input drives */
#define D (&fn.d[fn.nic])

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

static void fn_init(void)
{
    struct pc_options o = { 0 };

    fuzz_board_init(&o);
    fn.be[0] = fake_new("fv", true);
    fn.be[1] = fake_new("fp", false);
    fn.dev[0] = device_create_simple("virtio-net-pci", "netdev=fv,romfile=,addr=04.0,id=nv");
    fn.dev[1] = device_create_simple("virtio-net-pci", "netdev=fp,romfile=,addr=05.0,id=np,mac=02:00:00:00:00:01");
    machine_done();
    for (int k = 0; k < 2; k++) {
        fn.d[k].devfn = (4 + k) << 3;
        fn.d[k].tables = TABLES;
        fn.d[k].nq = NQ;
        fv_find_msix(&fn.d[k]);
    }
}

/*
 * A driver's setup, as the input asks: mode bit 0 legacy (else modern), bit 1 MSI-X, bit 2
 * the NIC whose backend has no vnet header; the features it acks (of those offered).
 */
static void fn_setup(uint8_t mode, uint64_t features)
{
    fn.nic = mode >> 2 & 1;
    fv_driver_setup(D, mode, features, true, QSIZE, 0);
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

static uint64_t avail_of(unsigned q)
{
    return RING(q) + 16 * D->qsize[q];
}

static void fn_kick(unsigned q)
{
    fv_kick(D, q);
    loop_iterate(false);
}

/* A reader as a tap's (net_read_direct): it reads the frame in fn.frame, cut at the iovec's end as readv would */
struct fake_reader {
    struct net_reader rd;
    size_t len;
};

static ssize_t fake_readv(struct net_reader *rd, const struct iovec *iov, int niov)
{
    size_t len = container_of(rd, struct fake_reader, rd)->len, done = 0;

    for (int i = 0; i < niov && done < len; i++) {
        size_t k = MIN(iov[i].iov_len, len - done);

        memcpy(iov[i].iov_base, fn.frame + done, k);
        done += k;
    }
    return done;
}

/*
 * A frame from the backend: p0-p1 its length (p2 & 1: 64 KiB more), p2 & 2 after a vnet header
 * (a backend that has one), p2 & 4 to the NIC's own address, p2 & 8 VLAN-tagged; its bytes
 * repeat p3-p15. p2 & 16: read straight into the NIC's buffers as a tap's are (net_read_direct),
 * and sent as any other when it is left in the reader's buffer.
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
    if (p[2] & 16) {
        static uint8_t buf[NET_FRAME_MAX];
        struct fake_reader r = { .rd = { .readv = fake_readv, .buf = buf, .flags = flags }, .len = hl + len };

        net_read_direct(&be->nd.nc, &r.rd);
        if (!r.rd.left)
            return;
        iov = (struct iovec){ .iov_base = buf, .iov_len = r.rd.left };
    }
    net_send(&be->nd.nc, &iov, 1, flags, NULL);
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
            fv_desc(D, RING(q) + 16 * (p[1] % D->qsize[q]), p);
            break;
        case 2:
            fv_desc(D, TABLES + 256 * (p[0] % 16) + 16 * (p[1] % 16), p);
            break;
        case 3: {
            uint16_t idx = p[3] & 1 ? lduw_le(p + 4) : D->avail_idx[q] + 1;

            gmem_write(avail_of(q) + 4 + 2 * (D->avail_idx[q] % D->qsize[q]), p + 1, 2);
            D->avail_idx[q] = idx;
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
            case 0: io_dispatch(IO_SPACE_PIO, D->io + off % 64, &v, sz, true); break;
            case 1: io_dispatch(IO_SPACE_MMIO, D->modern + off % 0x4000, &v, sz, true); break;
            case 2: io_dispatch(IO_SPACE_MMIO, D->msix + off % 0x1000, &v, sz, true); break;
            default: pci_config_write(D->devfn, off % 256, v, sz); break;
            }
            break;
        case 10:
            for (int k = 0; k <= p[0] % 4; k++)
                loop_iterate(false);
            break;
        case 11:
            fv_state(fn.dev[fn.nic], p);
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
            gmem_write(p[0] & 4 ? avail_of(q) : avail_of(q) + 4 + 2 * D->qsize[q], p + 1, 2);
            break;
        }
    }
    loop_iterate(false);
    return 0;
}
