/* fuzz-virtio-lib.h: what the virtio fuzz targets share: a driver's setup of a virtio-pci
 * function through either interface (with or without MSI-X), descriptors and kicks as the input
 * gives them, and a state stream saved and loaded back. Included by one target each. */
#ifndef TESTS_FUZZ_FUZZ_VIRTIO_LIB_H
#define TESTS_FUZZ_FUZZ_VIRTIO_LIB_H

#include "hw/pci/pci.h" // pci_config_read, pci_config_write
#include "migration/vmstate.h"
#include "tests/fuzz/fuzz-board.h"

#include <stdint.h>

/*
 * Guest memory as the targets lay it out (16 MiB of RAM): queue q's rings at FV_RING(q) (16 KiB
 * each: room for a legacy queue of 256, the used ring at 4 KiB in a modern setup), indirect
 * tables where the target says, buffers in the 1 MiB at FV_DATA.
 */
#define FV_RING(q)      (0x100000u + 0x4000u * (q))
#define FV_DATA         0x200000u
#define FV_DATA_SIZE    0x100000u
#define FV_MSI_BASE     0xfee00000u
#define FV_QMAX         4

/* One virtio-pci function as the target drives it */
struct fv_dev {
    int devfn;
    unsigned msix_cap;              /* the MSI-X capability's offset in configuration space */
    uint32_t tables;                /* the indirect tables' address (16 tables of 16 descriptors) */
    unsigned nq;                    /* the queues a setup gives rings */
    uint32_t io, modern, msix;      /* BARs 0, 4 and 1 as firmware placed them */
    bool legacy;                    /* the last setup drove the legacy interface */
    uint16_t qsize[FV_QMAX];        /* each queue's size as the last setup left it */
    uint16_t avail_idx[FV_QMAX];    /* the driver's avail->idx */
};

static void fv_mmio(uint64_t addr, uint32_t v, unsigned size)
{
    io_dispatch(IO_SPACE_MMIO, addr, &v, size, true);
}

/* The function's MSI-X capability, found through its capability list (abort without one) */
static void fv_find_msix(struct fv_dev *d)
{
    d->msix_cap = 0;
    for (unsigned at = pci_config_read(d->devfn, 0x34, 1); at && !d->msix_cap; at = pci_config_read(d->devfn, at + 1, 1))
        if (pci_config_read(d->devfn, at, 1) == 0x11)
            d->msix_cap = at;
    if (!d->msix_cap)
        abort();
}

static uint32_t fv_bar(const struct fv_dev *d, int n)
{
    return pci_config_read(d->devfn, 0x10 + 4 * n, 4) & ~(n == 0 ? 3u : 15u);
}

/*
 * A driver's setup: mode bit 0 legacy (else modern), bit 1 MSI-X (vector q + 1 for queue q, 0
 * for the configuration); the features it acks (of those offered, VERSION_1 added to a modern
 * setup when version_1 says so); the modern queue size; ring addresses moved by `shift` bytes.
 * A legacy setup takes the device's queue sizes.
 */
static void fv_driver_setup(struct fv_dev *d, uint8_t mode, uint64_t features, bool version_1, uint16_t qsize,
                            uint32_t shift)
{
    static const uint8_t zero[0x4000];

    d->legacy = mode & 1;
    d->io = fv_bar(d, 0);
    d->msix = fv_bar(d, 1);
    d->modern = fv_bar(d, 4);
    memset(d->avail_idx, 0, sizeof(d->avail_idx));
    for (unsigned q = 0; q < d->nq; q++)
        gmem_write(FV_RING(q), zero, sizeof(zero));
    if (mode & 2) {
        for (unsigned v = 0; v <= d->nq; v++) {
            fv_mmio(d->msix + 16 * v, FV_MSI_BASE, 4);
            fv_mmio(d->msix + 16 * v + 8, 0x40 + v, 4);
            fv_mmio(d->msix + 16 * v + 12, 0, 4);
        }
        pci_config_write(d->devfn, d->msix_cap + 2, 0x8000, 2);
    }
    if (d->legacy) {
        io_pio_write(d->io + 18, 0, 1);
        io_pio_write(d->io + 18, 3, 1);
        io_pio_write(d->io + 4, (uint32_t)features, 4);
        for (unsigned q = 0; q < d->nq; q++) {
            io_pio_write(d->io + 14, q, 2);
            d->qsize[q] = io_pio_read(d->io + 12, 2);
            if (mode & 2)
                io_pio_write(d->io + 22, q + 1, 2);
            io_pio_write(d->io + 8, (FV_RING(q) + shift) >> 12, 4);
        }
        io_pio_write(d->io + 18, 7, 1);
        return;
    }
    if (version_1)
        features |= 1ull << 32;
    fv_mmio(d->modern + 0x14, 0, 1);
    fv_mmio(d->modern + 0x14, 3, 1);
    fv_mmio(d->modern + 0x08, 0, 4);
    fv_mmio(d->modern + 0x0c, (uint32_t)features, 4);
    fv_mmio(d->modern + 0x08, 1, 4);
    fv_mmio(d->modern + 0x0c, features >> 32, 4);
    fv_mmio(d->modern + 0x14, 0x0b, 1);
    if (mode & 2)
        fv_mmio(d->modern + 0x10, 0, 2);
    for (unsigned q = 0; q < d->nq; q++) {
        uint64_t desc = FV_RING(q) + shift, avail = desc + 16 * qsize, used = FV_RING(q) + 0x1000 + shift;

        d->qsize[q] = qsize;
        fv_mmio(d->modern + 0x16, q, 2);
        fv_mmio(d->modern + 0x18, qsize, 2);
        if (mode & 2)
            fv_mmio(d->modern + 0x1a, q + 1, 2);
        fv_mmio(d->modern + 0x20, (uint32_t)desc, 4);
        fv_mmio(d->modern + 0x24, 0, 4);
        fv_mmio(d->modern + 0x28, (uint32_t)avail, 4);
        fv_mmio(d->modern + 0x2c, 0, 4);
        fv_mmio(d->modern + 0x30, (uint32_t)used, 4);
        fv_mmio(d->modern + 0x34, 0, 4);
        fv_mmio(d->modern + 0x1c, 1, 2);
    }
    fv_mmio(d->modern + 0x14, 0x0f, 1);
}

/* A buffer address: in the data area, in the indirect tables, the rings, or anywhere at all. */
static uint64_t fv_addr(const struct fv_dev *d, uint8_t kind, uint32_t a, uint8_t hi)
{
    switch (kind & 3) {
    case 0: return FV_DATA + a % FV_DATA_SIZE;
    case 1: return d->tables + a % 0x1000;
    case 2: return FV_RING(0) + a % (d->nq * 0x4000);
    default: return (uint64_t)hi << 32 | a;
    }
}

/* A descriptor at `at` from p: p2 address kind, p3-p6 address, p7-p10 length, p11-p12 flags,
 * p13-p14 next, p15 the address's high byte */
static void fv_desc(const struct fv_dev *d, uint64_t at, const uint8_t *p)
{
    uint8_t desc[16];

    stq_le(desc, fv_addr(d, p[2], ldl_le(p + 3), p[15]));
    stl_le(desc + 8, ldl_le(p + 7));
    stw_le(desc + 12, lduw_le(p + 11));
    stw_le(desc + 14, lduw_le(p + 13));
    gmem_write(at, desc, sizeof(desc));
}

static void fv_kick(const struct fv_dev *d, unsigned q)
{
    if (d->legacy)
        io_pio_write(d->io + 16, q, 2);
    else
        fv_mmio(d->modern + 0x3000 + 4 * q, q, 2);
}

/* The device's state saved and loaded back, maybe with one byte changed (p0 & 1: byte p1-p2 set to p3). */
static void fv_state(struct device *dev, const uint8_t *p)
{
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

#endif
