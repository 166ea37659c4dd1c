/* ide-dma.c: the payload bench/firmware times: 64 MiB read from the primary IDE disk by bus master DMA (READ DMA EXT), marked on port 0x402 */
/* skiff-drive: data: t-payloads and bench/firmware give it a 64 MiB disk whose 32-bit words each hold their own index */
#include "lib/payload.h"

#define DEBUGCON 0x402
#define MARK_START 0x01     /* bench/probe.c's "init started": the transfer begins */
#define MARK_END 0x03       /* and "powering off": it ended */

#define IDE_DEVFN ((1 << 3) | 1)
#define CMD 0x1f0
#define CTL 0x3f6
#define CHUNK_SECTORS 256                   /* 128 KiB per command */
#define TOTAL_SECTORS (64 << 11)            /* 64 MiB */
#define BUF 0x1000000                       /* 16 MiB */
#define PRD_TABLE 0x0ff0000

static uint32_t pci_read(int devfn, int off)
{
    outl(0xcf8, 0x80000000u | devfn << 8 | (off & 0xfc));
    return inl(0xcfc);
}

static void pci_write(int devfn, int off, uint32_t v)
{
    outl(0xcf8, 0x80000000u | devfn << 8 | (off & 0xfc));
    outl(0xcfc, v);
}

static uint8_t wait_idle(void)
{
    uint8_t st;
    uint32_t n = 0;

    do {
        st = inb(CTL);
    } while ((st & 0x80) && ++n < 10000000);
    return st;
}

void test_main(uint32_t magic, uint32_t mbi)
{
    volatile uint32_t *prd = (volatile uint32_t *)PRD_TABLE;
    uint32_t id = pci_read(IDE_DEVFN, 0), bm;
    volatile uint32_t *buf = (volatile uint32_t *)BUF;
    uint8_t st = 0;
    int errors = 0, wrong = 0;

    (void)magic;
    (void)mbi;
    check(id == 0x70108086, "the PIIX3 IDE function is at 01.1 (%08x)", id);
    /* decode the legacy ports and enable I/O and bus mastering, as firmware leaves them */
    pci_write(IDE_DEVFN, 0x40, 0x80008000);
    pci_write(IDE_DEVFN, 0x04, pci_read(IDE_DEVFN, 0x04) | 0x05);
    bm = pci_read(IDE_DEVFN, 0x20) & 0xfffc;
    check(bm != 0, "BAR 4 (bus master) is assigned (0x%x)", bm);
    /* two 64 KiB PRD entries for each 128 KiB chunk */
    prd[0] = BUF;
    prd[1] = 0;                 /* 0 = 64 KiB */
    prd[2] = BUF + 0x10000;
    prd[3] = 0x80000000u;       /* end of table */
    outl(bm + 4, PRD_TABLE);
    outb(CMD + 6, 0x40);        /* master, LBA */
    st = wait_idle();
    check(st & 0x40, "there is a disk at the primary master (status 0x%x)", st);
    if (!(st & 0x40))
        return;
    outb(DEBUGCON, MARK_START);
    for (uint32_t lba = 0; lba < TOTAL_SECTORS; lba += CHUNK_SECTORS) {
        outb(bm + 2, 0x06);     /* clear interrupt and error */
        outb(bm, 0x08);         /* to memory */
        outb(CMD + 2, CHUNK_SECTORS >> 8);     /* LBA48: the high bytes first */
        outb(CMD + 3, lba >> 24);
        outb(CMD + 4, 0);
        outb(CMD + 5, 0);
        outb(CMD + 2, CHUNK_SECTORS & 0xff);
        outb(CMD + 3, lba);
        outb(CMD + 4, lba >> 8);
        outb(CMD + 5, lba >> 16);
        outb(CMD + 7, 0x25);    /* READ DMA EXT */
        outb(bm, 0x09);         /* start */
        for (uint32_t n = 0; !(inb(bm + 2) & 0x04) && n < 10000000; n++)
            pause();
        outb(bm, 0x00);
        st = wait_idle();
        inb(CMD + 7);
        if (st & 0x01)
            errors++;
        /* each PRD entry's buffer starts with the word of its own disk offset */
        if (buf[0] != lba * 128 || buf[0x4000] != lba * 128 + 0x4000)
            wrong++;
    }
    outb(DEBUGCON, MARK_END);
    check(errors == 0, "64 MiB read by DMA in 128 KiB commands without an error (last status 0x%x)", st);
    check(wrong == 0, "each of the %u commands put its own sectors in both PRD buffers (%d did not)",
          TOTAL_SECTORS / CHUNK_SECTORS, wrong);
}
