/* piix4-pm-test.c: the PIIX4 PM function: PMBA decoding, the PM timer, SCI, the power button, APM's ACPI enable */
#include "tests/qtest/libpci.h"
#include "tests/unit/tap.h"

#define PM PCI_DEVFN(1, 3)
#define BASE 0xb000
#define PMSTS (BASE + 0)
#define PMEN (BASE + 2)
#define PMCNTRL (BASE + 4)
#define PMTMR (BASE + 8)

int main(void)
{
    struct qtest *q = qtest_start("-m 32");
    uint32_t t0, t1;

    qtest_irq_intercept(q);
    CHECK(pci_cfg_readl(q, PM, 0x40) == 1, "PMBA resets to 1 (I/O space indicator)");
    CHECK(pci_cfg_readl(q, PM, 0x58) & (1u << 25),
          "APMC_EN reads set, so firmware does not try SMM relocation");
    CHECK(qtest_inw(q, PMSTS) == 0xffff, "the PM registers do not decode before PMBA is set");
    pci_cfg_writel(q, PM, 0x40, BASE | 0x3f);
    CHECK(pci_cfg_readl(q, PM, 0x40) == (BASE | 1), "PMBA takes a 64-byte aligned base (%08x)",
          pci_cfg_readl(q, PM, 0x40));
    CHECK(qtest_inw(q, PMSTS) == 0xffff, "PMBA alone does not decode: PMIOSE is off");
    pci_cfg_writeb(q, PM, 0x80, 1);
    CHECK(qtest_inw(q, PMSTS) == 0 && qtest_inw(q, PMCNTRL) == 0,
          "PMIOSE on: PM1 status and control read zero at the base");

    t0 = qtest_inl(q, PMTMR);
    qtest_clock_step(q, 1000000);
    t1 = qtest_inl(q, PMTMR);
    CHECK(t1 - t0 >= 3579 && t1 - t0 <= 3581, "the PM timer counts 3.579545 MHz (%u ticks in 1 ms)", t1 - t0);
    CHECK(t1 <= 0xffffff, "the PM timer is 24 bits wide");

    qtest_outw(q, PMEN, 0x0100);
    qtest_cmd(q, "powerdown");
    CHECK(qtest_inw(q, PMSTS) & 0x0100, "the power button sets PWRBTN_STS");
    CHECK(!qtest_get_irq(q, 9), "with SCI_EN clear (legacy mode) there is no SCI");
    qtest_outb(q, 0xb2, 0xf1);
    CHECK(qtest_inw(q, PMCNTRL) & 1, "writing ACPI_ENABLE (0xf1) to the APM port sets SCI_EN");
    CHECK(qtest_get_irq(q, 9), "now the pending power button raises the SCI on IRQ 9");
    qtest_outw(q, PMSTS, 0x0100);
    CHECK(!(qtest_inw(q, PMSTS) & 0x0100) && !qtest_get_irq(q, 9),
          "writing 1 to PWRBTN_STS clears it and lowers the SCI");
    qtest_outb(q, 0xb3, 0x5a);
    CHECK(qtest_inb(q, 0xb3) == 0x5a, "the APM status port is a scratch register");
    qtest_outb(q, 0xb2, 0xf0);
    CHECK(!(qtest_inw(q, PMCNTRL) & 1), "ACPI_DISABLE (0xf0) clears SCI_EN");

    qtest_outb(q, 0xb2, 0xf1);
    qtest_outw(q, PMEN, 0x0001);
    qtest_clock_step(q, -1);
    CHECK(qtest_inw(q, PMSTS) & 1, "with TMR_EN the timer's bit 23 flipping sets TMR_STS");
    CHECK(qtest_get_irq(q, 9), "and raises the SCI");
    qtest_outw(q, PMSTS, 1);
    CHECK(!qtest_get_irq(q, 9), "clearing TMR_STS lowers it");

    pci_cfg_writel(q, PM, 0x40, 0xc001);
    CHECK(qtest_inw(q, PMCNTRL) == 0xffff && qtest_inw(q, 0xc004) & 1, "moving PMBA moves the registers");
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "the PM function's state saves and loads back");
    qtest_cmd(q, "system_reset");
    CHECK(pci_cfg_readl(q, PM, 0x40) == 1 && qtest_inw(q, 0xc004) == 0xffff,
          "a reset returns PMBA to 1 and stops decoding");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    return tap_done();
}
