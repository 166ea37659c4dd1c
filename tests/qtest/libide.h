/* libide.h: driving the PIIX3 IDE from a device test: task file, PIO and bus-master DMA, ATAPI packets, test images */
#ifndef TESTS_LIBIDE_H
#define TESTS_LIBIDE_H

#include "tests/qtest/libpci.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDE_DEVFN   PCI_DEVFN(1, 1)
#define IDE_P       0x1f0           /* primary command block */
#define IDE_PCTL    0x3f6
#define IDE_S       0x170           /* secondary */
#define IDE_SCTL    0x376

#define IDE_ST_ERR  0x01
#define IDE_ST_DRQ  0x08
#define IDE_ST_DRDY 0x40
#define IDE_ST_BSY  0x80

/* Decode both channels' legacy ports and put the bus master registers (BAR 4) at bm. */
static inline void ide_pci_setup(struct qtest *q, uint16_t bm)
{
    pci_cfg_writew(q, IDE_DEVFN, 0x40, 0x8000);
    pci_cfg_writew(q, IDE_DEVFN, 0x42, 0x8000);
    pci_cfg_writel(q, IDE_DEVFN, 0x20, bm);
    pci_cfg_writew(q, IDE_DEVFN, 4, 0x0005);
}

/* Sector n of a test image: its LBA in the first 8 bytes, then (n & 0xff). */
static inline void ide_fill_sector(uint8_t *b, uint64_t lba, unsigned size)
{
    memset(b, lba & 0xff, size);
    memcpy(b, &lba, 8);
}

static inline bool ide_sector_ok(const uint8_t *b, uint64_t lba, unsigned size)
{
    uint8_t want[2048];

    ide_fill_sector(want, lba, size);
    return !memcmp(b, want, size);
}

/* A raw image of `size` bytes whose first nsec_filled sectors are ide_fill_sector's. */
static inline char *ide_make_image(const char *suffix, uint64_t size, unsigned sector, uint64_t nsec_filled)
{
    char *path = qtest_tmp_path(suffix);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    uint8_t b[2048];

    if (fd < 0 || ftruncate(fd, size) < 0)
        exit(2);
    for (uint64_t i = 0; i < nsec_filled; i++) {
        ide_fill_sector(b, i, sector);
        if (pwrite(fd, b, sector, i * sector) != (ssize_t)sector)
            exit(2);
    }
    close(fd);
    return path;
}

/* An IDENTIFY string (words word.. of len characters, two per word, trailing spaces dropped). */
static inline void ide_id_string(const uint8_t *id, int word, int len, char *out)
{
    for (int i = 0; i < len; i += 2) {
        out[i] = id[2 * word + i + 1];
        out[i + 1] = id[2 * word + i];
    }
    out[len] = 0;
    for (int i = len - 1; i >= 0 && out[i] == ' '; i--)
        out[i] = 0;
}

/* The alternate status once BSY clears (no interrupt acknowledge). */
static inline uint8_t ide_wait_ready(struct qtest *q, uint16_t base)
{
    uint8_t st = 0xff;

    for (int i = 0; i < 100000; i++) {
        st = qtest_inb(q, base + 0x206);
        if (!(st & IDE_ST_BSY))
            break;
    }
    return st;
}

static inline void ide_set_lba28(struct qtest *q, uint16_t base, int unit, uint32_t lba, uint8_t count)
{
    qtest_outb(q, base + 6, 0xe0 | unit << 4 | ((lba >> 24) & 0x0f));
    qtest_outb(q, base + 2, count);
    qtest_outb(q, base + 3, lba);
    qtest_outb(q, base + 4, lba >> 8);
    qtest_outb(q, base + 5, lba >> 16);
}

static inline void ide_set_lba48(struct qtest *q, uint16_t base, uint64_t lba, uint16_t count)
{
    qtest_outb(q, base + 6, 0x40);
    qtest_outb(q, base + 2, count >> 8);
    qtest_outb(q, base + 3, lba >> 24);
    qtest_outb(q, base + 4, lba >> 32);
    qtest_outb(q, base + 5, lba >> 40);
    qtest_outb(q, base + 2, count);
    qtest_outb(q, base + 3, lba);
    qtest_outb(q, base + 4, lba >> 8);
    qtest_outb(q, base + 5, lba >> 16);
}

/* PIO data-in: `blocks` DRQ blocks of `words` words each (irqs counts the interrupts seen). */
static inline uint8_t ide_pio_in(struct qtest *q, uint16_t base, uint8_t *buf, int blocks, int words, int *irqs)
{
    uint8_t st = 0;

    for (int b = 0; b < blocks; b++) {
        st = ide_wait_ready(q, base);
        if (!(st & IDE_ST_DRQ))
            return st;
        if (irqs && qtest_get_irq(q, base == IDE_P ? 14 : 15))
            (*irqs)++;
        qtest_inb(q, base + 7);
        for (int w = 0; w < words; w++) {
            uint16_t v = qtest_inw(q, base);

            memcpy(buf + 2 * (b * words + w), &v, 2);
        }
    }
    return ide_wait_ready(q, base);
}

static inline uint8_t ide_pio_out(struct qtest *q, uint16_t base, const uint8_t *buf, int blocks, int words)
{
    uint8_t st = 0;

    for (int b = 0; b < blocks; b++) {
        st = ide_wait_ready(q, base);
        if (!(st & IDE_ST_DRQ))
            return st;
        for (int w = 0; w < words; w++) {
            uint16_t v;

            memcpy(&v, buf + 2 * (b * words + w), 2);
            qtest_outw(q, base, v);
        }
    }
    st = ide_wait_ready(q, base);
    qtest_inb(q, base + 7);
    return st;
}

/* Write a PRD table of n entries at prd and point the bus master at bm to it. */
static inline void ide_bm_prd(struct qtest *q, uint16_t bm, uint32_t prd, int n, const uint32_t *addr,
                              const uint32_t *len, bool eot_last)
{
    uint8_t e[8 * 16];

    for (int i = 0; i < n; i++) {
        uint16_t flags = (i == n - 1 && eot_last) ? 0x8000 : 0;

        memcpy(e + 8 * i, &addr[i], 4);
        e[8 * i + 4] = len[i];
        e[8 * i + 5] = len[i] >> 8;
        e[8 * i + 6] = flags;
        e[8 * i + 7] = flags >> 8;
    }
    qtest_memwrite(q, prd, e, 8 * n);
    qtest_outl(q, bm + 4, prd);
}

/* Issue an ATA DMA command on the channel at base and start its bus master (at bm) after it. */
static inline void ide_dma_issue(struct qtest *q, uint16_t base, uint16_t bm, uint8_t cmd, bool to_mem)
{
    qtest_outb(q, bm + 2, 0x06);                /* clear error and interrupt */
    qtest_outb(q, bm, to_mem ? 0x08 : 0x00);
    qtest_outb(q, base + 7, cmd);
    qtest_outb(q, bm, to_mem ? 0x09 : 0x01);
}

/* ide_dma_issue, then wait for the end: the final status, the bus master's in *bmst. */
static inline uint8_t ide_dma_cmd(struct qtest *q, uint16_t base, uint16_t bm, uint8_t cmd, bool to_mem,
                                  uint8_t *bmst)
{
    uint8_t st;

    ide_dma_issue(q, base, bm, cmd, to_mem);
    st = ide_wait_ready(q, base);
    *bmst = qtest_inb(q, bm + 2);
    qtest_outb(q, bm, 0x00);
    qtest_inb(q, base + 7);
    return st;
}

/*
 * One PACKET command by PIO to the unit that sel (0x00 master, 0x10 slave) picks; data-in goes to
 * buf (up to max bytes, *got says how many came). Returns the final status (0xff: no packet phase).
 */
static inline uint8_t ide_atapi_drqs(struct qtest *q, uint16_t base, uint8_t sel, const uint8_t pkt[12],
                                     uint8_t *buf, size_t max, uint16_t bcl, size_t *got, int *drqs)
{
    uint8_t st;
    size_t n = 0;

    qtest_outb(q, base + 6, 0xa0 | sel);
    qtest_outb(q, base + 1, 0);
    qtest_outb(q, base + 4, bcl);
    qtest_outb(q, base + 5, bcl >> 8);
    qtest_outb(q, base + 7, 0xa0);
    st = ide_wait_ready(q, base);
    if (!(st & IDE_ST_DRQ) || (qtest_inb(q, base + 2) & 3) != 1)
        return 0xff;
    for (int i = 0; i < 6; i++)
        qtest_outw(q, base, pkt[2 * i] | pkt[2 * i + 1] << 8);
    if (drqs)
        *drqs = 0;
    for (;;) {
        unsigned len;

        st = ide_wait_ready(q, base);
        qtest_inb(q, base + 7);
        if (!(st & IDE_ST_DRQ))
            break;
        len = qtest_inb(q, base + 4) | qtest_inb(q, base + 5) << 8;
        if (drqs)
            (*drqs)++;
        for (unsigned i = 0; i < len; i += 2) {
            uint16_t v = qtest_inw(q, base);

            if (n + 2 <= max)
                memcpy(buf + n, &v, 2);
            n += 2;
        }
    }
    if (got)
        *got = n;
    return st;
}

/* REQUEST SENSE on unit sel: the sense key, and the additional sense code in *asc. */
static inline uint8_t ide_atapi_sense(struct qtest *q, uint16_t base, uint8_t sel, uint8_t *asc)
{
    uint8_t pkt[12] = { 0x03, 0, 0, 0, 18 }, b[18] = { 0 };

    ide_atapi_drqs(q, base, sel, pkt, b, sizeof(b), 18, NULL, NULL);
    *asc = b[12];
    return b[2] & 0x0f;
}

#endif
