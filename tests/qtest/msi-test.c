/* msi-test.c: pci-testdev-msi: the capability list, MSI and MSI-X (masking, pending bits, the function mask), vectors sent by irqfd through GSI routes, ioeventfd doorbells that follow their BAR, INTx by irqfd with resample, BAR overlaps */
#include "hw/pci/pci-testdev-msi.h"
#include "tests/qtest/libpci.h"
#include "tests/unit/tap.h"

#include <unistd.h>

#define D PCI_DEVFN(6, 0)       /* pci-testdev-msi */
#define T PCI_DEVFN(5, 0)       /* pci-testdev, for overlaps */
#define ISA PCI_DEVFN(1, 0)

#define BAR0 0xfe000000u
#define BAR0_MOVED 0xfe100000u
#define BAR1 0xc200u
#define BAR2 0xfe010000u        /* MSI-X table, PBA at +0x800 */
#define PBA (BAR2 + 0x800)

static uint32_t bar0 = BAR0;

static void entry_write(struct qtest *q, int v, uint64_t addr, uint32_t data, bool masked)
{
    uint64_t e = BAR2 + 16 * v;

    qtest_writel(q, e + 12, 1);
    qtest_writel(q, e, (uint32_t)addr);
    qtest_writel(q, e + 4, addr >> 32);
    qtest_writel(q, e + 8, data);
    qtest_writel(q, e + 12, masked);
}

static void mask_vector(struct qtest *q, int v, bool masked)
{
    qtest_writel(q, BAR2 + 16 * v + 12, masked);
}

/* The next MSI within 2 s is (addr, data); nothing else came before it. */
static bool msi_is(struct qtest *q, uint64_t addr, uint32_t data)
{
    uint64_t a = 0;
    uint32_t d = 0;

    if (!qtest_msi_next(q, &a, &d, 2000))
        return false;
    if (a != addr || d != data)
        tap_note("MSI 0x%llx 0x%x, expected 0x%llx 0x%x", (unsigned long long)a, d, (unsigned long long)addr, data);
    return a == addr && d == data;
}

/* No MSI came within 100 ms (an eventfd's message comes through skiff's main loop). */
static bool no_msi(struct qtest *q)
{
    uint64_t a;
    uint32_t d;

    if (!qtest_msi_next(q, &a, &d, 100))
        return true;
    tap_note("unexpected MSI 0x%llx 0x%x", (unsigned long long)a, d);
    return false;
}

/* A register that an eventfd handler changes: wait up to 2 s for it to read `want`. */
static uint32_t reg_wait(struct qtest *q, uint64_t addr, uint32_t want)
{
    uint32_t v = 0;

    for (int i = 0; i < 2000; i++) {
        v = qtest_readl(q, addr);
        if (v == want)
            break;
        usleep(1000);
    }
    return v;
}

static void check_capabilities(struct qtest *q)
{
    uint16_t st = pci_cfg_readw(q, D, 6);

    CHECK(st & 0x10, "the status register says there is a capability list (0x%04x)", st);
    CHECK(!(pci_cfg_readw(q, T, 6) & 0x10), "a function without capabilities does not say so");
    CHECK(pci_cfg_readb(q, D, 0x34) == TD_MSI_CAP, "the list starts at 0x40");
    CHECK(pci_cfg_readb(q, D, TD_MSI_CAP) == 0x05 && pci_cfg_readb(q, D, TD_MSI_CAP + 1) == TD_MSIX_CAP,
          "0x40 is MSI (id 5), and points on to 0x58");
    CHECK(pci_cfg_readb(q, D, TD_MSIX_CAP) == 0x11 && pci_cfg_readb(q, D, TD_MSIX_CAP + 1) == 0,
          "0x58 is MSI-X (id 0x11), the last");
    CHECK(pci_cfg_readw(q, D, TD_MSI_CAP + 2) == 0x0184,
          "MSI: per-vector masking, 64-bit addresses, 4 vectors, off (0x%04x)", pci_cfg_readw(q, D, TD_MSI_CAP + 2));
    CHECK(pci_cfg_readw(q, D, TD_MSIX_CAP + 2) == 0x0003, "MSI-X: a table of 4, off, not masked");
    CHECK(pci_cfg_readl(q, D, TD_MSIX_CAP + 4) == 0x2 && pci_cfg_readl(q, D, TD_MSIX_CAP + 8) == 0x802,
          "the table is at 0 in BAR 2, the pending bits at 0x800 in BAR 2");
    pci_cfg_writel(q, D, TD_MSI_CAP, 0xffffffff);
    CHECK(pci_cfg_readw(q, D, TD_MSI_CAP) == 0x5805, "id and next pointer are read-only");
    CHECK(pci_cfg_readw(q, D, TD_MSI_CAP + 2) == 0x01a5,
          "of MSI's control only enable and multiple message enable take a write (0x%04x)",
          pci_cfg_readw(q, D, TD_MSI_CAP + 2));
    pci_cfg_writew(q, D, TD_MSI_CAP + 2, 0);
    pci_cfg_writel(q, D, TD_MSIX_CAP + 4, 0xffffffff);
    CHECK(pci_cfg_readl(q, D, TD_MSIX_CAP + 4) == 0x2, "the table's place is read-only");
}

static void setup_bars(struct qtest *q)
{
    pci_cfg_writel(q, D, 0x10, BAR0);
    pci_cfg_writel(q, D, 0x14, BAR1);
    pci_cfg_writel(q, D, 0x18, BAR2);
    pci_cfg_writew(q, D, 4, 0x0007);
    qtest_writel(q, BAR0 + TD_SCRATCH, 0x1234abcd);
    CHECK(qtest_readl(q, BAR0 + TD_SCRATCH) == 0x1234abcd && qtest_inl(q, BAR1 + TD_SCRATCH) == 0x1234abcd,
          "BARs 0 (memory) and 1 (I/O) reach the registers");
    CHECK(qtest_readl(q, BAR2 + 12) == 1 && qtest_readl(q, BAR2 + 3 * 16 + 12) == 1,
          "MSI-X table entries start masked");
}

static void check_msix(struct qtest *q)
{
    uint32_t v;

    qtest_irq_intercept(q);
    entry_write(q, 0, 0xfee00000, 0x4021, false);
    qtest_writel(q, BAR0 + TD_NOTIFY, 0);
    CHECK(no_msi(q) && qtest_readl(q, PBA) == 0, "with MSI-X off a vector sends nothing and is not pending");
    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0xc000);
    CHECK(pci_cfg_readw(q, D, TD_MSIX_CAP + 2) == 0xc003, "MSI-X enabled with the function masked");
    qtest_writel(q, BAR0 + TD_NOTIFY, 0);
    CHECK(no_msi(q), "the function mask holds vector 0 back");
    v = qtest_readl(q, PBA);
    CHECK(v == 1, "and its pending bit is set (PBA 0x%x)", v);
    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0x8000);
    CHECK(msi_is(q, 0xfee00000, 0x4021), "clearing the function mask sends it: MSI 0xfee00000 0x4021");
    CHECK(qtest_readl(q, PBA) == 0, "and clears the pending bit");
    qtest_writel(q, BAR0 + TD_NOTIFY, 0);
    CHECK(msi_is(q, 0xfee00000, 0x4021), "an unmasked vector sends at once");

    mask_vector(q, 0, true);
    qtest_writel(q, BAR0 + TD_NOTIFY, 0);
    qtest_writel(q, BAR0 + TD_NOTIFY, 0);
    CHECK(no_msi(q) && qtest_readl(q, PBA) == 1, "a masked vector is pending instead");
    mask_vector(q, 0, false);
    CHECK(msi_is(q, 0xfee00000, 0x4021) && no_msi(q), "unmasking sends it once");
    CHECK(qtest_readl(q, PBA) == 0, "and clears the pending bit");
    qtest_writel(q, PBA, 0xf);
    CHECK(qtest_readl(q, PBA) == 0, "the pending bits are read-only");

    qtest_writeq(q, BAR2 + 16 * 3, 0x00000000fee02000ULL);
    qtest_writeq(q, BAR2 + 16 * 3 + 8, 0x4033);
    CHECK(qtest_readl(q, BAR2 + 16 * 3) == 0xfee02000 && qtest_readl(q, BAR2 + 16 * 3 + 12) == 0,
          "QWORD writes program a table entry (address, then data and vector control)");
    qtest_writel(q, BAR0 + TD_NOTIFY, 3);
    CHECK(msi_is(q, 0xfee02000, 0x4033), "vector 3 sends its own address and data");

    /* a message to memory rather than to the APICs is a DMA write */
    qtest_writel(q, 0x100000, 0);
    entry_write(q, 2, 0x100000, 0xabcd1234, false);
    qtest_writel(q, BAR0 + TD_NOTIFY, 2);
    CHECK(no_msi(q) && qtest_readl(q, 0x100000) == 0xabcd1234,
          "a vector whose address is RAM writes its data there, as a DMA write");

    pci_cfg_writew(q, D, 4, 0x0003);
    qtest_writel(q, BAR0 + TD_NOTIFY, 0);
    CHECK(no_msi(q) && qtest_readl(q, PBA) == 0, "with bus mastering off no message leaves");
    pci_cfg_writew(q, D, 4, 0x0007);

    qtest_writel(q, BAR0 + TD_INTX, 1);
    CHECK(!qtest_get_irq(q, 11), "a function with MSI-X on does not assert INTx (IRQ 11 stays low)");
    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0);
    CHECK(qtest_get_irq(q, 11), "with MSI-X off the same level reaches IRQ 11");
    qtest_writel(q, BAR0 + TD_INTX, 0);
    CHECK(!qtest_get_irq(q, 11), "and goes");
    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0x8000);
}

/* Vectors the device signals through an eventfd: KVM (here the test accelerator) sends them by irqfd. */
static void check_msix_irqfd(struct qtest *q)
{
    entry_write(q, 1, 0xfee00000, 0x4031, false);
    qtest_writel(q, BAR0 + TD_NOTIFY_FAST, 1);
    CHECK(msi_is(q, 0xfee00000, 0x4031), "an eventfd signal sends vector 1 through its GSI route");
    entry_write(q, 1, 0xfee03000, 0x4032, false);
    qtest_writel(q, BAR0 + TD_NOTIFY_FAST, 1);
    CHECK(msi_is(q, 0xfee03000, 0x4032), "a reprogrammed entry changes the route (committed)");

    mask_vector(q, 1, true);
    qtest_writel(q, BAR0 + TD_NOTIFY_FAST, 1);
    CHECK(no_msi(q), "a masked vector sends nothing by irqfd");
    CHECK(reg_wait(q, PBA, 2) == 2, "and skiff, reading the eventfd, sets its pending bit");
    mask_vector(q, 1, false);
    CHECK(msi_is(q, 0xfee03000, 0x4032) && qtest_readl(q, PBA) == 0, "unmasking sends it and clears the bit");
    qtest_writel(q, BAR0 + TD_NOTIFY_FAST, 1);
    CHECK(msi_is(q, 0xfee03000, 0x4032), "then the irqfd sends again");

    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0xc000);
    qtest_writel(q, BAR0 + TD_NOTIFY_FAST, 1);
    CHECK(no_msi(q) && reg_wait(q, PBA, 2) == 2, "the function mask holds an eventfd's vector too");
    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0x8000);
    CHECK(msi_is(q, 0xfee03000, 0x4032), "and lifting it sends");
    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0);
}

static void check_msi(struct qtest *q)
{
    uint16_t f;

    pci_cfg_writel(q, D, TD_MSI_CAP + 4, 0xfee00000);
    pci_cfg_writel(q, D, TD_MSI_CAP + 8, 0);
    pci_cfg_writew(q, D, TD_MSI_CAP + 12, 0x4050);
    pci_cfg_writew(q, D, TD_MSI_CAP + 2, 0x0051);
    f = pci_cfg_readw(q, D, TD_MSI_CAP + 2);
    CHECK(f == 0x01a5, "granting 32 messages to a function that has 4 grants 4 (0x%04x)", f);
    qtest_writel(q, BAR0 + TD_NOTIFY, 2);
    CHECK(msi_is(q, 0xfee00000, 0x4052), "MSI vector 2 sends the data with the vector in its low bits");
    pci_cfg_writew(q, D, TD_MSI_CAP + 2, 0x0011);
    qtest_writel(q, BAR0 + TD_NOTIFY, 3);
    CHECK(msi_is(q, 0xfee00000, 0x4051), "with 2 messages granted, vector 3 shares message 1");
    pci_cfg_writew(q, D, TD_MSI_CAP + 2, 0x0021);
    pci_cfg_writel(q, D, TD_MSI_CAP + 16, 0x2);
    qtest_writel(q, BAR0 + TD_NOTIFY, 1);
    CHECK(no_msi(q) && pci_cfg_readl(q, D, TD_MSI_CAP + 20) == 0x2, "a masked MSI vector is pending");
    pci_cfg_writel(q, D, TD_MSI_CAP + 20, 0);
    CHECK(pci_cfg_readl(q, D, TD_MSI_CAP + 20) == 0x2, "the pending bits are read-only");
    pci_cfg_writel(q, D, TD_MSI_CAP + 16, 0);
    CHECK(msi_is(q, 0xfee00000, 0x4051) && pci_cfg_readl(q, D, TD_MSI_CAP + 20) == 0,
          "unmasking sends it and clears the pending bit");
    qtest_writel(q, BAR0 + TD_INTX, 1);
    CHECK(!qtest_get_irq(q, 11), "a function with MSI on does not assert INTx");
    qtest_writel(q, BAR0 + TD_INTX, 0);
    pci_cfg_writew(q, D, TD_MSI_CAP + 2, 0);
    qtest_writel(q, BAR0 + TD_NOTIFY, 0);
    CHECK(no_msi(q), "MSI off: nothing");
}

static void check_doorbells(struct qtest *q)
{
    uint32_t v;

    for (int i = 0; i < 3; i++)
        qtest_writel(q, bar0 + TD_DOORBELL, i);
    v = reg_wait(q, bar0 + TD_RINGS, 3);
    CHECK(v == 3, "three doorbell writes reach its handler through the ioeventfd (%u)", v);
    CHECK(qtest_readl(q, bar0 + TD_MISSES) == 0, "none of them reached the register handler");
    qtest_outl(q, BAR1 + TD_DOORBELL, 7);
    CHECK(reg_wait(q, bar0 + TD_RINGS, 4) == 4, "the I/O BAR's doorbell is a port ioeventfd");
    qtest_writel(q, bar0 + TD_DOORBELL_MATCH, 0x5a5a);
    CHECK(reg_wait(q, bar0 + TD_RINGS_MATCH, 1) == 1, "the matched doorbell rings on its value");
    qtest_writel(q, bar0 + TD_DOORBELL_MATCH, 0x1234);
    CHECK(reg_wait(q, bar0 + TD_MISSES, 1) == 1 && qtest_readl(q, bar0 + TD_RINGS_MATCH) == 1,
          "another value reaches the register handler instead");

    /* the guest moves the BAR: the ioeventfd goes with it */
    pci_cfg_writel(q, D, 0x10, BAR0_MOVED);
    bar0 = BAR0_MOVED;
    qtest_writel(q, BAR0_MOVED + TD_DOORBELL, 1);
    v = reg_wait(q, BAR0_MOVED + TD_RINGS, 5);
    CHECK(v == 5 && qtest_readl(q, BAR0_MOVED + TD_MISSES) == 1,
          "after the guest moves BAR 0 the doorbell rings at its new address (%u)", v);
    qtest_writel(q, BAR0_MOVED + TD_DOORBELL_MATCH, 0x5a5a);
    CHECK(reg_wait(q, BAR0_MOVED + TD_RINGS_MATCH, 2) == 2, "and so does the matched one");
    qtest_writel(q, BAR0 + TD_DOORBELL, 1);
    usleep(50000);
    CHECK(qtest_readl(q, BAR0_MOVED + TD_RINGS) == 5, "the old address rings nothing");
    pci_cfg_writew(q, D, 4, 0x0005);
    qtest_writel(q, BAR0_MOVED + TD_DOORBELL, 1);
    qtest_outl(q, BAR1 + TD_DOORBELL, 1);
    pci_cfg_writew(q, D, 4, 0x0007);
    usleep(50000);
    v = qtest_readl(q, BAR0_MOVED + TD_RINGS);
    CHECK(v == 6, "with memory decoding off only the I/O doorbell rings (%u)", v);
    qtest_writel(q, BAR0_MOVED + TD_DOORBELL, 1);
    CHECK(reg_wait(q, BAR0_MOVED + TD_RINGS, 7) == 7, "decoding on again: the memory doorbell is back");
}

/* INTx by irqfd: slot 6 INTA# is PIRQB#; the line holds until the guest's EOI. */
static void check_intx_irqfd(struct qtest *q)
{
    pci_cfg_writeb(q, ISA, 0x61, 11);
    qtest_writel(q, bar0 + TD_INTX_IRQFD, 1);
    CHECK(qtest_readl(q, bar0 + TD_INTX_IRQFD) == 1, "INTx by irqfd is on");
    qtest_irq_raises(q, 11);
    qtest_writel(q, bar0 + TD_INTX, 1);
    CHECK(qtest_irq_wait(q, 11, true, 2000), "raising INTx signals the irqfd: IRQ 11 goes high");
    qtest_writel(q, bar0 + TD_INTX, 0);
    CHECK(qtest_get_irq(q, 11), "lowering the pin leaves the line held until the EOI");
    qtest_eoi(q, 11);
    usleep(50000);
    CHECK(!qtest_get_irq(q, 11), "the EOI drops it, and with the pin low it stays low");
    qtest_irq_raises(q, 11);
    qtest_writel(q, bar0 + TD_INTX, 1);
    CHECK(qtest_irq_wait(q, 11, true, 2000), "raised again");
    qtest_eoi(q, 11);
    CHECK(qtest_irq_wait(q, 11, true, 2000) && qtest_irq_raises(q, 11) == 2,
          "an EOI while the pin is still high resamples: the line comes back");
    CHECK(pci_cfg_readw(q, D, 6) & 0x08, "the status register shows the pending interrupt");

    pci_cfg_writeb(q, ISA, 0x61, 10);
    CHECK(qtest_irq_wait(q, 10, true, 2000) && !qtest_get_irq(q, 11),
          "re-routing PIRQB# to IRQ 10 moves the irqfd and its level");
    qtest_writel(q, bar0 + TD_INTX_IRQFD, 0);
    CHECK(qtest_get_irq(q, 10), "back on the router's way the level stays");
    qtest_writel(q, bar0 + TD_INTX, 0);
    CHECK(!qtest_get_irq(q, 10), "and goes with the pin");
}

/* Two BARs at one address: the second is refused, and mapped once the first moves away. */
static void check_overlap(struct qtest *q)
{
    pci_cfg_writel(q, T, 0x10, 0xfe200000);
    pci_cfg_writew(q, T, 4, 0x0002);
    qtest_writel(q, 0xfe200000, 0x7e57);
    pci_cfg_writel(q, D, 0x10, 0xfe200000);
    CHECK(qtest_readl(q, 0xfe200000) == 0x7e57, "a BAR put over another of the same priority is refused");
    pci_cfg_writel(q, T, 0x10, 0xfe300000);
    CHECK(qtest_readl(q, 0xfe200000 + TD_RINGS) == 7 && qtest_readl(q, 0xfe300000) == 0x7e57,
          "when the first moves away the refused one is mapped");
    qtest_writel(q, 0xfe200000 + TD_DOORBELL, 1);
    CHECK(reg_wait(q, 0xfe200000 + TD_RINGS, 8) == 8, "with its doorbell");
    pci_cfg_writel(q, D, 0x10, bar0);
}

static void check_state(struct qtest *q)
{
    const char *r;

    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0xc000);
    qtest_writel(q, bar0 + TD_NOTIFY, 0);
    r = qtest_cmd(q, "vmstate_roundtrip");
    CHECK(r != NULL, "every device's state, the MSI-X table and pending bits too, round-trips (%s)", r ? r : "");
    r = qtest_cmd(q, "vmstate_load_patched pci-testdev-msi msix.pba[0]=0x100");
    CHECK(r == NULL && qtest_readl(q, PBA) == 1, "a stream with a pending bit beyond the 4 vectors is refused");
    r = qtest_cmd(q, "vmstate_load_patched pci-testdev-msi pci.config[65]=0");
    CHECK(r == NULL && pci_cfg_readb(q, D, TD_MSI_CAP + 1) == TD_MSIX_CAP, "one that cuts the capability list too");
    r = qtest_cmd(q, "vmstate_load_patched pci-testdev-msi pci.config[66]=0x80");
    CHECK(r == NULL, "and one that makes MSI's addresses 32-bit");
    r = qtest_cmd(q, "vmstate_load_patched pci-testdev-msi pci.config[66]=0xd4");
    CHECK(r == NULL, "and one that grants MSI more messages than the function has");
    r = qtest_cmd(q, "vmstate_load_patched pci-testdev-msi msix.pba[0]=0");
    CHECK(r != NULL && qtest_readl(q, PBA) == 0, "a stream that clears the pending bit loads");
    pci_cfg_writew(q, D, TD_MSIX_CAP + 2, 0x8000);
    CHECK(no_msi(q), "and then unmasking has nothing to send");

    qtest_cmd(q, "system_reset");
    pci_cfg_writel(q, D, 0x18, BAR2);
    pci_cfg_writew(q, D, 4, 0x0002);
    CHECK(pci_cfg_readw(q, D, TD_MSIX_CAP + 2) == 0x0003 && qtest_readl(q, BAR2 + 12) == 1 &&
          qtest_readl(q, BAR2) == 0, "a reset turns MSI-X off and masks and clears the table");
    CHECK(pci_cfg_readw(q, D, TD_MSI_CAP + 2) == 0x0184 && pci_cfg_readl(q, D, TD_MSI_CAP + 4) == 0,
          "and turns MSI off");
}

int main(void)
{
    struct qtest *q = qtest_start("-device pci-testdev,addr=05.0 -device pci-testdev-msi,addr=06.0");

    check_capabilities(q);
    setup_bars(q);
    pci_cfg_writeb(q, ISA, 0x61, 11);
    check_msix(q);
    check_msix_irqfd(q);
    check_msi(q);
    check_doorbells(q);
    check_intx_irqfd(q);
    check_overlap(q);
    check_state(q);
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    return tap_done();
}
