/* pci-test.c: configuration mechanism #1, the board's functions, BAR sizing and moves, INTx through PIIX3's PIRQ routing */
#include "tests/qtest/libpci.h"
#include "tests/unit/tap.h"

#define HOST PCI_DEVFN(0, 0)
#define ISA PCI_DEVFN(1, 0)
#define PM PCI_DEVFN(1, 3)
#define T1 PCI_DEVFN(5, 0)
#define T2 PCI_DEVFN(9, 0)

static void check_board(struct qtest *q)
{
    uint32_t v;

    v = pci_cfg_readl(q, HOST, 0);
    CHECK(v == 0x12378086, "00.0 is the Intel 82441FX host bridge (%08x)", v);
    v = pci_cfg_readl(q, HOST, 0x2c);
    CHECK(v == 0x11001af4, "the host bridge carries QEMU's subsystem id, which SeaBIOS looks for (%08x)", v);
    CHECK(pci_cfg_readl(q, HOST, 8) >> 8 == 0x060000, "00.0 is class host bridge");
    v = pci_cfg_readl(q, ISA, 0);
    CHECK(v == 0x70008086, "01.0 is the PIIX3 ISA bridge (%08x)", v);
    CHECK(pci_cfg_readb(q, ISA, 0x0e) == 0x80, "the PIIX3 says it is multi-function, so 01.1-01.3 are scanned");
    CHECK(pci_cfg_readl(q, ISA, 8) >> 8 == 0x060100, "01.0 is class ISA bridge");
    v = pci_cfg_readl(q, PM, 0);
    CHECK(v == 0x71138086, "01.3 is the PIIX4 power management function (%08x)", v);
    CHECK(pci_cfg_readb(q, PM, 0x3d) == 1, "the PM function uses INTA#");
    CHECK(pci_cfg_readl(q, PCI_DEVFN(1, 2), 0) == 0xffffffff, "an empty function reads all ones");
    CHECK(pci_cfg_readl(q, PCI_DEVFN(20, 0), 0) == 0xffffffff, "an empty slot reads all ones");
    qtest_outl(q, 0xcf8, 0x80010000);
    CHECK(qtest_inl(q, 0xcfc) == 0xffffffff, "bus 1 does not exist: all ones");
    qtest_outl(q, 0xcf8, 0x00000000);
    CHECK(qtest_inl(q, 0xcfc) == 0xffffffff, "with the enable bit clear the data port reads all ones");
    qtest_outl(q, 0xcf8, 0x80000804);
    CHECK(qtest_inl(q, 0xcf8) == 0x80000804, "the address register reads back");
    qtest_outl(q, 0xcf8, 0x80000807);
    CHECK(qtest_inl(q, 0xcf8) == 0x80000804, "the address register's low two bits read zero");
    qtest_outb(q, 0xcf9, 0x00);
    CHECK(qtest_inl(q, 0xcf8) == 0x80000804, "a byte write at 0xcf9 is the reset control register, not the address");
    CHECK(pci_cfg_readw(q, HOST, 2) == 0x1237, "a word read at offset 2 picks the device id");
    CHECK(pci_cfg_readb(q, HOST, 1) == 0x80, "a byte read at offset 1 picks the vendor id's high byte");

    pci_cfg_writel(q, HOST, 0, 0xdeadbeef);
    CHECK(pci_cfg_readl(q, HOST, 0) == 0x12378086, "vendor and device ids are read-only");
    pci_cfg_writel(q, PM, 8, 0xffffffff);
    CHECK(pci_cfg_readl(q, PM, 8) == 0x06800003, "class and revision are read-only");
    v = pci_cfg_readw(q, PM, 6);
    pci_cfg_writew(q, PM, 6, 0xffff);
    CHECK(pci_cfg_readw(q, PM, 6) == v, "status bits cannot be set by writing (0x%04x)", v);
    pci_cfg_writew(q, PM, 4, 0xffff);
    v = pci_cfg_readw(q, PM, 4);
    CHECK(v == 0x0547, "only the implemented command bits are writable (0x%04x)", v);
    pci_cfg_writew(q, PM, 4, 0);
    pci_cfg_writeb(q, PM, 0x3c, 0x5a);
    CHECK(pci_cfg_readb(q, PM, 0x3c) == 0x5a, "the interrupt line register is scratch for the OS");
    pci_cfg_writeb(q, PM, 0x3d, 0x04);
    CHECK(pci_cfg_readb(q, PM, 0x3d) == 1, "the interrupt pin register is read-only");
}

static void check_bars(struct qtest *q)
{
    uint32_t v;

    CHECK(pci_cfg_readl(q, T1, 0) == 0x00051b36, "-device pci-testdev,addr=05.0 appears at 05.0");
    CHECK(pci_cfg_readl(q, T1, 0x10) == 0 && pci_cfg_readl(q, T1, 0x14) == 1,
          "BARs start unassigned; an I/O BAR shows bit 0");
    pci_cfg_writel(q, T1, 0x10, 0xffffffff);
    v = pci_cfg_readl(q, T1, 0x10);
    CHECK(v == 0xfffff000, "sizing the 4 KiB memory BAR reads 0xfffff000 (%08x)", v);
    pci_cfg_writel(q, T1, 0x14, 0xffffffff);
    v = pci_cfg_readl(q, T1, 0x14);
    CHECK(v == 0xffffff01, "sizing the 256-byte I/O BAR reads 0xffffff01 (%08x)", v);
    pci_cfg_writel(q, T1, 0x18, 0xffffffff);
    pci_cfg_writel(q, T1, 0x1c, 0xffffffff);
    v = pci_cfg_readl(q, T1, 0x18);
    CHECK(v == 0xffff000c, "sizing the 64 KiB 64-bit prefetchable BAR reads 0xffff000c (%08x)", v);
    CHECK(pci_cfg_readl(q, T1, 0x1c) == 0xffffffff, "its upper half is all address bits");
    pci_cfg_writel(q, T1, 0x20, 0xffffffff);
    CHECK(pci_cfg_readl(q, T1, 0x20) == 0, "an unimplemented BAR stays zero");
    pci_cfg_writel(q, T1, 0x30, 0xffffffff);
    CHECK(pci_cfg_readl(q, T1, 0x30) == 0, "no ROM: the expansion ROM BAR stays zero");

    pci_cfg_writel(q, T1, 0x10, 0xfe000000);
    pci_cfg_writel(q, T1, 0x14, 0xc100);
    pci_cfg_writel(q, T1, 0x18, 0x00000000);
    pci_cfg_writel(q, T1, 0x1c, 0x00000008);
    qtest_writel(q, 0xfe000000, 0x1234);
    CHECK(qtest_readl(q, 0xfe000000) == 0xffffffff, "with memory decoding off the BAR answers nothing");
    pci_cfg_writew(q, T1, 4, 0x0003);
    qtest_writel(q, 0xfe000000, 0xcafef00d);
    CHECK(qtest_readl(q, 0xfe000000) == 0xcafef00d, "memory decoding on: the MMIO BAR answers at its address");
    CHECK(qtest_inl(q, 0xc100) == 0xcafef00d, "the I/O BAR reaches the same register");
    qtest_outl(q, 0xc100, 0x600df00d);
    CHECK(qtest_readl(q, 0xfe000000) == 0x600df00d, "writes through the I/O BAR land too");
    qtest_writel(q, 0x800000000ULL, 0xa5a5a5a5);
    CHECK(qtest_readl(q, 0x800000000ULL) == 0xa5a5a5a5, "the 64-bit BAR maps memory above 4 GiB (32 GiB)");
    pci_cfg_writel(q, T1, 0x10, 0xfe100000);
    CHECK(qtest_readl(q, 0xfe000000) == 0xffffffff, "after a move the old address answers nothing");
    CHECK(qtest_readl(q, 0xfe100000) == 0x600df00d, "and the new address answers");
    pci_cfg_writew(q, T1, 4, 0x0002);
    CHECK(qtest_inl(q, 0xc100) == 0xffffffff, "clearing I/O decoding unmaps only the I/O BAR");
    CHECK(qtest_readl(q, 0xfe100000) == 0x600df00d, "the memory BAR stays");
    pci_cfg_writel(q, T1, 0x10, 0xffffffff);
    CHECK(qtest_readl(q, 0xfffff000) == 0xffffffff,
          "sizing with decoding on does not map the BAR at the top of 4 GiB");
    pci_cfg_writel(q, T1, 0x10, 0xfe000000);
    pci_cfg_writew(q, T1, 4, 0x0003);
}

static void check_intx(struct qtest *q)
{
    uint16_t st;

    qtest_irq_intercept(q);
    CHECK(pci_cfg_readb(q, ISA, 0x60) == 0x80 && pci_cfg_readb(q, ISA, 0x63) == 0x80,
          "PIRQ routing starts disabled (0x80)");
    pci_cfg_writeb(q, ISA, 0x60, 10);
    qtest_writel(q, 0xfe000004, 1);
    st = pci_cfg_readw(q, T1, 6);
    CHECK(st & 0x08, "raising INTx sets the interrupt status bit (0x%04x)", st);
    CHECK(qtest_get_irq(q, 10), "slot 5 INTA# is PIRQA#, routed to IRQ 10: IRQ 10 is high");
    pci_cfg_writew(q, T1, 4, 0x0403);
    CHECK(!qtest_get_irq(q, 10), "INTx disable in the command register lowers the line");
    CHECK(pci_cfg_readw(q, T1, 6) & 0x08, "the status bit still shows the pending interrupt");
    pci_cfg_writew(q, T1, 4, 0x0003);
    CHECK(qtest_get_irq(q, 10), "clearing INTx disable raises it again");
    pci_cfg_writeb(q, ISA, 0x60, 11);
    CHECK(!qtest_get_irq(q, 10) && qtest_get_irq(q, 11), "re-routing PIRQA# to IRQ 11 moves the level");
    pci_cfg_writeb(q, ISA, 0x60, 0x80 | 11);
    CHECK(!qtest_get_irq(q, 11), "disabling the route lowers the line");
    pci_cfg_writeb(q, ISA, 0x60, 2);
    CHECK(pci_cfg_readb(q, ISA, 0x60) == 2 && !qtest_get_irq(q, 2),
          "a reserved IRQ number (2, the cascade) routes nowhere");
    pci_cfg_writeb(q, ISA, 0x60, 0xf0 | 10);
    CHECK(pci_cfg_readb(q, ISA, 0x60) == 0x8a, "reserved bits 6:4 of PIRQRC read zero");
    pci_cfg_writeb(q, ISA, 0x60, 10);
    CHECK(qtest_get_irq(q, 10), "routed again: high");

    /* slot 9 INTA# is PIRQA# too: a shared, level-triggered line */
    pci_cfg_writel(q, T2, 0x10, 0xfe200000);
    pci_cfg_writew(q, T2, 4, 0x0002);
    qtest_writel(q, 0xfe200004, 1);
    qtest_writel(q, 0xfe000004, 0);
    CHECK(qtest_get_irq(q, 10), "two functions share PIRQA#: one lowering keeps IRQ 10 high");
    qtest_writel(q, 0xfe200004, 0);
    CHECK(!qtest_get_irq(q, 10), "when both are low IRQ 10 goes low");
    CHECK(!(pci_cfg_readw(q, T1, 6) & 0x08), "the status bit clears with the pin");
}

/* A state stream (an incoming migration) may set what the guest may write, nothing read-only. */
static void check_state_load(struct qtest *q)
{
    const int hi = PCI_DEVFN(0x1f, 0);
    const char *r;

    r = qtest_cmd(q, "vmstate_load_patched hi pci.config[61]=255");
    CHECK(r == NULL && pci_cfg_readb(q, hi, 0x3d) == 1,
          "a stream that changes the interrupt pin (to 0xff, at slot 31) is refused; the pin stays INTA#");
    r = qtest_cmd(q, "vmstate_load_patched hi pci.config[0]=0x34");
    CHECK(r == NULL && pci_cfg_readl(q, hi, 0) == 0x00051b36, "one that changes the vendor id too");
    r = qtest_cmd(q, "vmstate_load_patched hi pci.config[16]=0x0f");
    CHECK(r == NULL, "and one that sets a memory BAR's read-only type and size bits");
    r = qtest_cmd(q, "vmstate_load_patched hi pci.config[60]=11");
    CHECK(r != NULL && pci_cfg_readb(q, hi, 0x3c) == 11, "the interrupt line, which the OS writes, loads");
    pci_cfg_writel(q, hi, 0x10, 0xfe400000);
    pci_cfg_writew(q, hi, 4, 0x0002);
    pci_cfg_writeb(q, ISA, 0x62, 11);
    qtest_writel(q, 0xfe400004, 1);
    CHECK(qtest_get_irq(q, 11), "slot 31's INTA# (PIRQC#) still reaches IRQ 11 after the refused loads");
    qtest_writel(q, 0xfe400004, 0);
    pci_cfg_writeb(q, ISA, 0x62, 0x80);
}

int main(void)
{
    struct qtest *q = qtest_start("-device pci-testdev,addr=05.0 -device pci-testdev,addr=9 "
                                  "-device pci-testdev,addr=1f.0,id=hi "
                                  "-device pci-testdev,bus=pci.0,addr=1e.0,multifunction=on");
    const char *r;

    check_board(q);
    CHECK(pci_cfg_readb(q, PCI_DEVFN(0x1e, 0), 0x0e) == 0x80 && pci_cfg_readb(q, T1, 0x0e) == 0,
          "bus=pci.0 places a device, and multifunction=on sets its header's multi-function bit");
    check_bars(q);
    check_intx(q);
    check_state_load(q);
    r = qtest_cmd(q, "vmstate_roundtrip");
    CHECK(r != NULL, "every device's state saves and loads back identically (%s)", r ? r : "");

    qtest_writel(q, 0xfe000004, 1);
    qtest_cmd(q, "system_reset");
    CHECK(pci_cfg_readb(q, ISA, 0x60) == 0x80, "a reset disables PIRQ routing again");
    CHECK(pci_cfg_readw(q, T1, 4) == 0 && pci_cfg_readl(q, T1, 0x10) == 0,
          "a reset clears command and BARs");
    CHECK(qtest_readl(q, 0xfe000000) == 0xffffffff, "after a reset the BAR answers nothing");
    CHECK(!qtest_get_irq(q, 10), "after a reset no PCI interrupt is pending");

    /* garbage in the whole configuration space of every function never hurts */
    for (int devfn = 0; devfn < 16; devfn++)
        for (unsigned off = 0; off < 256; off += 4)
            pci_cfg_writel(q, devfn, off, 0xffffffff ^ (off * 0x01010101u));
    CHECK(qtest_cmd(q, "endianness") != NULL, "skiff survives arbitrary configuration writes");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    return tap_done();
}
