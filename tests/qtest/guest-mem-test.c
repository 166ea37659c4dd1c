/* guest-mem-test.c: what marks guest memory dirty, as a migration reads it: a disk's DMA when its data has arrived (not when the buffer is mapped), the i440FX's shadow copy, the VGA's window */
#include "tests/qtest/libide.h"
#include "tests/unit/tap.h"

#define BM 0xc000
#define PRD 0x10000
#define BUF 0x100000        /* 320 KiB of DMA buffer from 1 MiB */
#define BUF_LEN (320 * 1024)
#define PAM0 0x59
#define VGA_WINDOW 0xb8000
#define VRAM_BAR 0xe0000000u

static struct qtest *q;

static int dirty(uint64_t addr)
{
    const char *r = qtest_cmd(q, "dirty_test_clear 0x%llx", (unsigned long long)addr);

    return r ? atoi(r) : -1;
}

int main(void)
{
    char *disk = ide_make_image(".raw", 8 << 20, 512, 1024);
    uint32_t addr[5], len[5];
    uint8_t st, buf[512];

    q = qtest_start("-m 64 -drive file=%s,if=ide,index=0,format=raw -vga std", disk);
    ide_pci_setup(q, BM);
    for (int i = 0; i < 5; i++) {
        addr[i] = BUF + i * 0x10000;
        len[i] = 0;         /* 64 KiB */
    }
    ide_bm_prd(q, BM, PRD, 5, addr, len, true);
    CHECK(qtest_cmd(q, "dirty_start") != NULL, "(the migration client's bitmaps start clear)");
    CHECK(dirty(BUF) == 0 && dirty(BUF + BUF_LEN - 1) == 0, "the DMA buffer's pages are clean");

    /* a read of 640 sectors (too large to be served inline), held in its worker */
    ide_set_lba48(q, IDE_P, 0, 640);
    CHECK(qtest_cmd(q, "block_break request") != NULL, "(a breakpoint where a worker takes the read)");
    ide_dma_issue(q, IDE_P, BM, 0x25, true);
    CHECK(qtest_cmd(q, "block_wait_break") != NULL, "a 320 KiB READ DMA EXT is in flight");
    CHECK(dirty(BUF) == 0 && dirty(BUF + 0x30000) == 0,
          "while the data has not arrived its pages are not dirty (a migration would send them again anyway)");
    qtest_cmd(q, "block_resume");
    st = ide_wait_ready(q, IDE_P);
    qtest_outb(q, BM, 0);
    qtest_inb(q, IDE_P + 7);
    qtest_memread(q, BUF + 7 * 512, buf, sizeof(buf));
    CHECK(!(st & IDE_ST_ERR) && ide_sector_ok(buf, 7, 512), "the read completes with the disk's data");
    CHECK(dirty(BUF) == 1 && dirty(BUF + 0x30000) == 1 && dirty(BUF + BUF_LEN - 1) == 1,
          "then every page it wrote is dirty");
    CHECK(dirty(BUF) == 0, "and the bit clears once taken");
    CHECK(dirty(BUF + BUF_LEN + 0x1000) == 0, "a page past the buffer was not touched");

    /* PAM write-enable: reads come from the BIOS side, writes land in RAM (the shadow copy) */
    pci_cfg_writeb(q, 0, PAM0 + 1, 0x03);                   /* 0xc0000-0xc3fff: RAM */
    dirty(0xc0000);
    pci_cfg_writeb(q, 0, PAM0 + 1, 0x02);                   /* write only */
    qtest_writeb(q, 0xc0010, 0x5a);
    pci_cfg_writeb(q, 0, PAM0 + 1, 0x03);
    CHECK(qtest_readb(q, 0xc0010) == 0x5a, "the i440FX's shadow copy writes RAM under a write-only segment");
    CHECK(dirty(0xc0000) == 1, "and marks the RAM page it wrote");

    /* the VGA window writes video memory, a region of its own that BAR 0 also maps */
    pci_cfg_writel(q, PCI_DEVFN(2, 0), 0x10, VRAM_BAR);
    pci_cfg_writew(q, PCI_DEVFN(2, 0), 4, 0x0002);
    qtest_cmd(q, "dirty_start");
    CHECK(dirty(VRAM_BAR) == 0, "video memory starts clean");
    qtest_writeb(q, VGA_WINDOW - 0x18000, 'A');     /* 0xa0000: its first byte in planar mode */
    CHECK(dirty(VRAM_BAR) == 1 && dirty(VRAM_BAR + 0x100000) == 0,
          "a write through the VGA window marks the video memory page it lands in, as BAR 0 shows it");

    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    unlink(disk);
    free(disk);
    return tap_done();
}
