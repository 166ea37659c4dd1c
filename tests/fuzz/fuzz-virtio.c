/* fuzz-virtio.c: libFuzzer target: virtqueue processing with the descriptor tables, indirect tables, rings, request headers and register writes under the fuzzer's control, on a transitional virtio-blk-pci (two queues of 16, MSI-X) over a raw image */
#include "tests/fuzz/fuzz-virtio-lib.h"

/* The rings at FV_RING(q) (fuzz-virtio-lib.h), indirect tables (16 of 16 descriptors) at TABLES */
#define RING(q)         FV_RING(q)
#define TABLES          0x120000u
#define DATA            FV_DATA
#define DATA_SIZE       FV_DATA_SIZE
#define QSIZE           16
#define NQ              2

static struct {
    char disk[256];
    struct device *dev;
    struct fv_dev d;
} fv;

static void fv_unlink(void)
{
    unlink(fv.disk);
}

/* The board, a 1 MiB image and the device on it, once per process. */
static void fv_init(void)
{
    struct pc_options o = { 0 };
    char *err = NULL, spec[320];

    fuzz_rig_image(fv.disk, sizeof(fv.disk), "virtio", 1 * MiB);
    atexit(fv_unlink);
    snprintf(spec, sizeof(spec), "if=none,id=vd0,file=%s,format=raw,cache=unsafe,discard=unmap", fv.disk);
    if (blockdev_add_drive(spec, &err) < 0 || blockdev_open_all(&err) < 0)
        abort();
    fuzz_board_init(&o);
    fv.dev = device_create_simple("virtio-blk-pci", "drive=vd0,num-queues=2,queue-size=16,serial=FUZZ");
    machine_done();
    fv.d.devfn = -1;
    for (int devfn = 0; devfn < 256 && fv.d.devfn < 0; devfn++)
        if (pci_config_read(devfn, 0, 4) == 0x10011af4)
            fv.d.devfn = devfn;
    if (fv.d.devfn < 0)
        abort();
    fv_find_msix(&fv.d);
    fv.d.tables = TABLES;
    fv.d.nq = NQ;
}

/*
 * A driver's setup, as the input asks: mode bit 0 legacy (else modern), bit 1 MSI-X, bit 2
 * leave VERSION_1 out; the features it acks (of those offered); the modern queue size; ring
 * addresses moved by `shift` bytes (0: where they belong).
 */
static void fv_setup(uint8_t mode, uint64_t features, uint16_t qsize, uint32_t shift)
{
    fv_driver_setup(&fv.d, mode, features, !(mode & 4), qsize, shift);
}

/* Each input starts from a reset board with a modern driver's usual setup. */
static void fv_reset(void)
{
    device_drain_all();
    device_reset_all();
    pc_setup_like_firmware();
    fv_setup(2, (1ull << 28) | (1ull << 29) | 0x7e76, QSIZE, 0);
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
            fv_desc(&fv.d, RING(q) + 16 * (p[1] % 32), p);
            break;
        case 2:
            fv_desc(&fv.d, TABLES + 256 * (p[0] % 16) + 16 * (p[1] % 16), p);
            break;
        case 3: {
            uint64_t avail = RING(q) + 16 * QSIZE;
            uint16_t idx = p[3] & 1 ? lduw_le(p + 4) : fv.d.avail_idx[q] + 1;

            gmem_write(avail + 4 + 2 * (fv.d.avail_idx[q] % QSIZE), p + 1, 2);
            fv.d.avail_idx[q] = idx;
            gmem_write(avail + 2, &idx, 2);
            break;
        }
        case 4:
            if (p[1] & 1)
                fv_mmio(fv.d.modern + lduw_le(p + 2) % 0x4000, q, 2);
            else
                fv_kick(&fv.d, q);
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
            case 0: io_dispatch(IO_SPACE_PIO, fv.d.io + off % 128, &v, sz, w); break;
            case 1: io_dispatch(IO_SPACE_MMIO, fv.d.modern + off % 0x4000, &v, sz, w); break;
            case 2: io_dispatch(IO_SPACE_MMIO, fv.d.msix + off % 0x1000, &v, sz, w); break;
            default:
                if (w)
                    pci_config_write(fv.d.devfn, off % 256, v, sz);
                else
                    pci_config_read(fv.d.devfn, off % 256, sz);
                break;
            }
            break;
        }
        case 11:
            gmem_write(RING(q) + 16 * QSIZE + (p[0] & 2 ? 0 : 4 + 2 * QSIZE), p + 1, 2);
            break;
        case 12:
            fv_state(fv.dev, p);
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
