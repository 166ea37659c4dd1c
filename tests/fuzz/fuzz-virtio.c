/* fuzz-virtio.c: libFuzzer target: virtqueue processing with the descriptor tables, indirect tables, rings, request headers and register writes under the fuzzer's control, on a transitional virtio-blk-pci (two queues of 16, MSI-X) over a raw image */
#include "hw/pci/pci.h" // pci_config_read, pci_config_write
#include "migration/vmstate.h"
#include "tests/fuzz/fuzz-board.h"

#include <stdint.h>

/*
 * Guest memory as the target lays it out (16 MiB of RAM): each queue's rings in the legacy
 * layout at RING(q), indirect tables (16 of 16 descriptors) at TABLES, buffers and request
 * headers in the 1 MiB at DATA.
 */
#define RING(q)         (0x100000u + 0x4000u * (q))
#define TABLES          0x120000u
#define DATA            0x200000u
#define DATA_SIZE       0x100000u
#define QSIZE           16
#define NQ              2
#define MSI_BASE        0xfee00000u

static struct {
    char disk[64];
    struct device *dev;
    int devfn;
    unsigned msix_cap;              /* the MSI-X capability's offset in configuration space */
    uint32_t io, modern, msix;      /* BARs 0, 4 and 1 as firmware placed them */
    bool legacy;                    /* the last setup drove the legacy interface */
    bool event_idx;
    uint16_t avail_idx[NQ];
} fv;

static void fv_unlink(void)
{
    unlink(fv.disk);
}

/* The board, a 1 MiB image and the device on it, once per process. */
static void fv_init(void)
{
    struct pc_options o = { 0 };
    char *err = NULL, spec[160];

    fuzz_rig_image(fv.disk, sizeof(fv.disk), "virtio", 1 * MiB);
    atexit(fv_unlink);
    snprintf(spec, sizeof(spec), "if=none,id=vd0,file=%s,format=raw,cache=unsafe,discard=unmap", fv.disk);
    if (blockdev_add_drive(spec, &err) < 0 || blockdev_open_all(&err) < 0)
        abort();
    fuzz_board_init(&o);
    fv.dev = device_create_simple("virtio-blk-pci", "drive=vd0,num-queues=2,queue-size=16,serial=FUZZ");
    machine_done();
    for (int devfn = 0; devfn < 256 && !fv.devfn; devfn++)
        if (pci_config_read(devfn, 0, 4) == 0x10011af4)
            fv.devfn = devfn;
    if (!fv.devfn)
        abort();
    for (unsigned at = pci_config_read(fv.devfn, 0x34, 1); at && !fv.msix_cap; at = pci_config_read(fv.devfn, at + 1, 1))
        if (pci_config_read(fv.devfn, at, 1) == 0x11)
            fv.msix_cap = at;
    if (!fv.msix_cap)
        abort();
}

static uint32_t bar(int n)
{
    return pci_config_read(fv.devfn, 0x10 + 4 * n, 4) & ~(n == 0 ? 3u : 15u);
}

static void pio(uint32_t port, uint32_t v, unsigned size)
{
    io_dispatch(IO_SPACE_PIO, port & 0xffff, &v, size, true);
}

static void mmio(uint64_t addr, uint32_t v, unsigned size)
{
    io_dispatch(IO_SPACE_MMIO, addr, &v, size, true);
}

/*
 * A driver's setup, as the input asks: mode bit 0 legacy (else modern), bit 1 MSI-X, bit 2
 * leave VERSION_1 out; the features it acks (of those offered); the modern queue size; ring
 * addresses moved by `shift` bytes (0: where they belong).
 */
static void fv_setup(uint8_t mode, uint64_t features, uint16_t qsize, uint32_t shift)
{
    bool legacy = mode & 1;

    fv.legacy = legacy;
    fv.event_idx = features & (1ull << 29);
    memset(fv.avail_idx, 0, sizeof(fv.avail_idx));
    for (int q = 0; q < NQ; q++) {
        uint8_t zero[0x4000] = { 0 };

        gmem_write(RING(q), zero, sizeof(zero));
    }
    if (mode & 2) {
        for (unsigned v = 0; v <= NQ; v++) {
            mmio(fv.msix + 16 * v, MSI_BASE, 4);
            mmio(fv.msix + 16 * v + 8, 0x40 + v, 4);
            mmio(fv.msix + 16 * v + 12, 0, 4);
        }
        pci_config_write(fv.devfn, fv.msix_cap + 2, 0x8000, 2);
    }
    if (legacy) {
        pio(fv.io + 18, 0, 1);
        pio(fv.io + 18, 3, 1);
        pio(fv.io + 4, (uint32_t)features, 4);
        for (int q = 0; q < NQ; q++) {
            pio(fv.io + 14, q, 2);
            if (mode & 2)
                pio(fv.io + 22, q + 1, 2);
            pio(fv.io + 8, (RING(q) + shift) >> 12, 4);
        }
        pio(fv.io + 18, 7, 1);
        return;
    }
    if (!(mode & 4))
        features |= 1ull << 32;
    mmio(fv.modern + 0x14, 0, 1);
    mmio(fv.modern + 0x14, 3, 1);
    mmio(fv.modern + 0x08, 0, 4);
    mmio(fv.modern + 0x0c, (uint32_t)features, 4);
    mmio(fv.modern + 0x08, 1, 4);
    mmio(fv.modern + 0x0c, features >> 32, 4);
    mmio(fv.modern + 0x14, 0x0b, 1);
    if (mode & 2)
        mmio(fv.modern + 0x10, 0, 2);
    for (int q = 0; q < NQ; q++) {
        uint64_t desc = RING(q) + shift, avail = desc + 16 * qsize, used = RING(q) + 0x1000 + shift;

        mmio(fv.modern + 0x16, q, 2);
        mmio(fv.modern + 0x18, qsize, 2);
        if (mode & 2)
            mmio(fv.modern + 0x1a, q + 1, 2);
        mmio(fv.modern + 0x20, (uint32_t)desc, 4);
        mmio(fv.modern + 0x24, 0, 4);
        mmio(fv.modern + 0x28, (uint32_t)avail, 4);
        mmio(fv.modern + 0x2c, 0, 4);
        mmio(fv.modern + 0x30, (uint32_t)used, 4);
        mmio(fv.modern + 0x34, 0, 4);
        mmio(fv.modern + 0x1c, 1, 2);
    }
    mmio(fv.modern + 0x14, 0x0f, 1);
}

/* Each input starts from a reset board with a modern driver's usual setup. */
static void fv_reset(void)
{
    device_drain_all();
    device_reset_all();
    pc_setup_like_firmware();
    fv.io = bar(0);
    fv.msix = bar(1);
    fv.modern = bar(4);
    fv_setup(2, (1ull << 28) | (1ull << 29) | 0x7e76, QSIZE, 0);
}

/* A buffer address: in the data area, in the indirect tables, the rings, or anywhere at all. */
static uint64_t fv_addr(uint8_t kind, uint32_t a, uint8_t hi)
{
    switch (kind & 3) {
    case 0: return DATA + a % DATA_SIZE;
    case 1: return TABLES + a % 0x1000;
    case 2: return RING(0) + a % (NQ * 0x4000);
    default: return (uint64_t)hi << 32 | a;
    }
}

static void fv_desc(uint64_t at, const uint8_t *p)
{
    uint8_t d[16];

    stq_le(d, fv_addr(p[2], ldl_le(p + 3), p[15]));
    stl_le(d + 8, ldl_le(p + 7));
    stw_le(d + 12, lduw_le(p + 11));
    stw_le(d + 14, lduw_le(p + 13));
    gmem_write(at, d, sizeof(d));
}

static void fv_kick(unsigned q)
{
    if (fv.legacy)
        pio(fv.io + 16, q, 2);
    else
        mmio(fv.modern + 0x3000 + 4 * q, q, 2);
}

/* The device's state saved and loaded back, maybe with one byte changed (a hostile stream). */
static void fv_state(const uint8_t *p)
{
    const struct vmstate_desc *vmsd = fv.dev->type->vmsd;
    struct vmbuf b;
    char *err = NULL;

    vmbuf_init(&b);
    vmstate_save(vmsd, fv.dev, &b);
    if (p[0] & 1)
        b.data[lduw_le(p + 1) % b.len] = p[3];
    if (device_vmstate_load(fv.dev, &b, &err) < 0 && !err)
        abort();        /* a refusal always says why */
    free(err);
    vmbuf_free(&b);
}

static const uint32_t req_types[8] = { 0, 1, 4, 8, 11, 13, 2, 0x80000001u };

/*
 * Input: operations of 17 bytes, [op][p0..p15]. op % 14:
 *   0 setup again: p0 mode (fv_setup), p1-p8 features, p9-p10 queue size, p11-p14 ring shift
 *   1 descriptor p1 % 32 of queue p0 & 1 (fv_desc: p2 kind, p3-p6 address, p7-p10 length,
 *     p11-p12 flags, p13-p14 next, p15 the high address byte)
 *   2 descriptor p1 % 16 of indirect table p0 % 16, likewise
 *   3 make head p1-p2 available on queue p0 & 1; p3 & 1: set avail->idx to p4-p5 instead of + 1
 *   4 kick queue p0 & 1 (p1 & 1: a notification at offset p2-p3 of BAR 4 instead)
 *   5 a request header at DATA + (p0-p2 & ~15): type p3 (of req_types, or p4-p7 when p3 & 8),
 *     sector p8-p15 (% 4096 unless p3 & 16)
 *   6 12 bytes p4-p15 at DATA + p0-p3 (data, discard segments)
 *   7 run the main loop p0 % 4 + 1 times (completions)      8 wait for every request
 *   9 a register write: p0 % 4 picks legacy I/O, BAR 4, the MSI-X BAR or configuration space,
 *     p1-p2 the offset, p3 the size (1, 2, 4), p4-p7 the value
 *   10 a register read, likewise         11 avail flags (p0 & 2) or used_event of queue p0 & 1: p1-p2
 *   12 the device's state saved and loaded (p0 & 1: byte p1-p2 of it set to p3)
 *   13 a system reset (p0 & 1) or the clock stepped by p1-p4 ns
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        fv_init();
        ready = true;
    }
    fv_reset();
    for (size_t i = 0; i + 17 <= size; i += 17) {
        const uint8_t *p = data + i + 1;
        unsigned q = p[0] & 1, sz = 1u << (p[3] % 3);
        uint32_t off = lduw_le(p + 1), v = ldl_le(p + 4);
        uint8_t hdr[16];

        switch (data[i] % 14) {
        case 0:
            fv_setup(p[0], ldq_le(p + 1), lduw_le(p + 9), ldl_le(p + 11) % 0x2000);
            break;
        case 1:
            fv_desc(RING(q) + 16 * (p[1] % 32), p);
            break;
        case 2:
            fv_desc(TABLES + 256 * (p[0] % 16) + 16 * (p[1] % 16), p);
            break;
        case 3: {
            uint64_t avail = RING(q) + 16 * QSIZE;
            uint16_t idx = p[3] & 1 ? lduw_le(p + 4) : fv.avail_idx[q] + 1;

            gmem_write(avail + 4 + 2 * (fv.avail_idx[q] % QSIZE), p + 1, 2);
            fv.avail_idx[q] = idx;
            gmem_write(avail + 2, &idx, 2);
            break;
        }
        case 4:
            if (p[1] & 1)
                mmio(fv.modern + lduw_le(p + 2) % 0x4000, q, 2);
            else
                fv_kick(q);
            break;
        case 5:
            stl_le(hdr, p[3] & 8 ? ldl_le(p + 4) : req_types[p[3] % 8]);
            stl_le(hdr + 4, 0);
            stq_le(hdr + 8, p[3] & 16 ? ldq_le(p + 8) : ldq_le(p + 8) % 4096);
            gmem_write(DATA + (ldl_le(p) & 0xffff0) % DATA_SIZE, hdr, sizeof(hdr));
            break;
        case 6:
            gmem_write(DATA + ldl_le(p) % (DATA_SIZE - 12), p + 4, 12);
            break;
        case 7:
            for (int k = 0; k <= p[0] % 4; k++)
                loop_iterate(false);
            break;
        case 8:
            device_drain_all();
            break;
        case 9:
        case 10: {
            bool w = data[i] % 14 == 9;

            switch (p[0] % 4) {
            case 0: io_dispatch(IO_SPACE_PIO, fv.io + off % 128, &v, sz, w); break;
            case 1: io_dispatch(IO_SPACE_MMIO, fv.modern + off % 0x4000, &v, sz, w); break;
            case 2: io_dispatch(IO_SPACE_MMIO, fv.msix + off % 0x1000, &v, sz, w); break;
            default:
                if (w)
                    pci_config_write(fv.devfn, off % 256, v, sz);
                else
                    pci_config_read(fv.devfn, off % 256, sz);
                break;
            }
            break;
        }
        case 11:
            gmem_write(RING(q) + 16 * QSIZE + (p[0] & 2 ? 0 : 4 + 2 * QSIZE), p + 1, 2);
            break;
        case 12:
            fv_state(p);
            break;
        case 13:
            if (p[0] & 1) {
                device_drain_all();
                device_reset_all();
                pc_setup_like_firmware();
            } else {
                clock_virtual_step(ldl_le(p + 1) % 2000000000u);
            }
            break;
        }
    }
    device_drain_all();
    loop_iterate(false);
    return 0;
}
