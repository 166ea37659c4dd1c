/* i440fx-test.c: the host bridge's PAM shadow RAM over a BIOS ROM, and the SMRAM window */
#include "tests/qtest/libpci.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HOST PCI_DEVFN(0, 0)
#define ROM_SIZE 0x40000
#define PAM0 0x59
#define SMRAM 0x72

/* what the fake BIOS holds at image offset `off` */
static uint8_t rom_byte(unsigned off)
{
    return (off * 7 + (off >> 8)) ^ 0x5a;
}

int main(void)
{
    char *rom_path = qtest_tmp_path(".rom");
    uint8_t *rom = malloc(ROM_SIZE);
    struct qtest *q;
    FILE *f;
    bool all;

    for (unsigned i = 0; i < ROM_SIZE; i++)
        rom[i] = rom_byte(i);
    f = fopen(rom_path, "wb");
    if (!f || fwrite(rom, 1, ROM_SIZE, f) != ROM_SIZE || fclose(f) != 0)
        return 2;
    q = qtest_start("-m 64 -bios %s", rom_path);

    CHECK(qtest_readb(q, 0xfffffff0) == rom_byte(ROM_SIZE - 16), "the BIOS ends at 4 GiB, where the reset vector is");
    CHECK(qtest_readb(q, 0x100000000ULL - ROM_SIZE) == rom_byte(0), "and begins 256 KiB below");
    all = true;
    for (unsigned a = 0xe0000; a < 0x100000; a += 0x1000)
        all &= qtest_readb(q, a + 0x123) == rom_byte(ROM_SIZE - 0x20000 + (a - 0xe0000) + 0x123);
    CHECK(all, "after reset (PAM all zero) 0xe0000-0xfffff shows the BIOS's last 128 KiB");
    CHECK(qtest_readb(q, 0xc0000) == 0xff, "0xc0000 goes to PCI, where nothing answers");
    qtest_writeb(q, 0xf0000, 0x00);
    CHECK(qtest_readb(q, 0xf0000) == rom_byte(ROM_SIZE - 0x10000), "the ROM ignores writes");

    /* SeaBIOS's make_bios_writable: everything read/write */
    pci_cfg_writel(q, HOST, 0x58, 0x33333000);
    pci_cfg_writel(q, HOST, 0x5c, 0x33333333);
    CHECK(pci_cfg_readb(q, HOST, PAM0) == 0x30 && pci_cfg_readb(q, HOST, 0x5f) == 0x33,
          "the PAM registers read back");
    qtest_writeb(q, 0xf0000, 0x42);
    qtest_writeb(q, 0xc4000, 0x43);
    qtest_writeb(q, 0xec000, 0x44);
    CHECK(qtest_readb(q, 0xf0000) == 0x42 && qtest_readb(q, 0xc4000) == 0x43 && qtest_readb(q, 0xec000) == 0x44,
          "PAM read/write: the segments are RAM");
    /* make_bios_readonly */
    pci_cfg_writeb(q, HOST, PAM0, 0x10);
    qtest_writeb(q, 0xf0000, 0x99);
    CHECK(qtest_readb(q, 0xf0000) == 0x42, "PAM read-only: RAM reads back, writes are dropped");
    /* one nibble per 16 KiB: 0xc0000 read-only, 0xc4000 read/write */
    pci_cfg_writeb(q, HOST, PAM0 + 1, 0x31);
    qtest_writeb(q, 0xc0000, 0x77);
    qtest_writeb(q, 0xc4000, 0x78);
    CHECK(qtest_readb(q, 0xc0000) == 0x00 && qtest_readb(q, 0xc4000) == 0x78,
          "each nibble governs its own 16 KiB (0x31: low read-only, high read/write)");
    pci_cfg_writeb(q, HOST, PAM0, 0x00);
    CHECK(qtest_readb(q, 0xf0000) == rom_byte(ROM_SIZE - 0x10000), "PAM off: the ROM shows again");
    pci_cfg_writeb(q, HOST, PAM0, 0x20);
    qtest_writeb(q, 0xf0001, 0x55);
    CHECK(qtest_readb(q, 0xf0001) == rom_byte(ROM_SIZE - 0x10000 + 1),
          "PAM write-only: reads come from the ROM");
    pci_cfg_writeb(q, HOST, PAM0, 0x10);
    CHECK(qtest_readb(q, 0xf0001) == 0x55 && qtest_readb(q, 0xf0000) == 0x42,
          "and the write went to the RAM beneath");
    pci_cfg_writeb(q, HOST, PAM0, 0xff);
    CHECK(pci_cfg_readb(q, HOST, PAM0) == 0x30, "PAM0's low nibble and reserved bits read zero");

    /* SMRAM */
    CHECK(pci_cfg_readb(q, HOST, SMRAM) == 0x02, "SMRAM resets to 0x02 (compatible SMRAM at 0xa0000)");
    CHECK(qtest_readl(q, 0xa0000) == 0xffffffff, "with SMRAM closed 0xa0000 is not RAM (no VGA here)");
    pci_cfg_writeb(q, HOST, SMRAM, 0x4a);
    qtest_writel(q, 0xa0000, 0x12345678);
    CHECK(qtest_readl(q, 0xa0000) == 0x12345678, "D_OPEN shows RAM at 0xa0000");
    pci_cfg_writeb(q, HOST, SMRAM, 0x0a);
    CHECK(qtest_readl(q, 0xa0000) == 0xffffffff, "closing it hides the RAM again");
    pci_cfg_writeb(q, HOST, SMRAM, 0x00);
    CHECK(pci_cfg_readb(q, HOST, SMRAM) == 0x02, "C_BASE_SEG is hard-wired");
    pci_cfg_writeb(q, HOST, SMRAM, 0x5a);
    CHECK(pci_cfg_readb(q, HOST, SMRAM) == 0x1a, "setting D_LCK clears D_OPEN");
    pci_cfg_writeb(q, HOST, SMRAM, 0x4a);
    CHECK(pci_cfg_readb(q, HOST, SMRAM) == 0x1a && qtest_readl(q, 0xa0000) == 0xffffffff,
          "once locked, D_OPEN cannot be set and the window stays closed");
    pci_cfg_writeb(q, HOST, SMRAM, 0x3a);
    CHECK(pci_cfg_readb(q, HOST, SMRAM) == 0x3a, "D_CLS stays writable when locked");

    pci_cfg_writeb(q, HOST, PAM0, 0x30);
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "the host bridge's state saves and loads back");
    qtest_cmd(q, "system_reset");
    CHECK(pci_cfg_readb(q, HOST, PAM0) == 0 && pci_cfg_readb(q, HOST, SMRAM) == 0x02,
          "a reset clears PAM and unlocks SMRAM");
    CHECK(qtest_readb(q, 0xf0000) == rom_byte(ROM_SIZE - 0x10000), "after a reset the CPU sees the ROM again");
    pci_cfg_writeb(q, HOST, SMRAM, 0x4a);
    CHECK(qtest_readl(q, 0xa0000) == 0x12345678, "after a reset SMRAM can be opened again");

    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    unlink(rom_path);
    free(rom_path);
    free(rom);
    return tap_done();
}
