/* piix4-pm-test.c: the PIIX4 PM function: PMBA decoding, the PM timer, SCI, the power button, APM's ACPI enable, and the sleep states: S3 with its wake-up events, S4 */
#include "tests/qtest/libpci.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM PCI_DEVFN(1, 3)
#define BASE 0xb000
#define PMSTS (BASE + 0)
#define PMEN (BASE + 2)
#define PMCNTRL (BASE + 4)
#define PMTMR (BASE + 8)
#define NS 1000000000LL
#define WAK_STS 0x8000
#define RTC_STS 0x0400
#define PWRBTN_STS 0x0100
#define SLP_EN 0x2000
#define SLP_TYP(t) ((t) << 10)

static bool has(const char *out, const char *want)
{
    bool ok = out && strstr(out, want);

    if (!ok)
        printf("# wanted \"%s\" in: %s\n", want, out ? out : "(no prompt)");
    return ok;
}

static uint8_t cmos(struct qtest *q, uint8_t r)
{
    qtest_outb(q, 0x70, r);
    return qtest_inb(q, 0x71);
}

static void cmos_write(struct qtest *q, uint8_t r, uint8_t v)
{
    qtest_outb(q, 0x70, r);
    qtest_outb(q, 0x71, v);
}

/* PMBA at BASE, decoding */
static void pm_enable(struct qtest *q)
{
    pci_cfg_writel(q, PM, 0x40, BASE | 1);
    pci_cfg_writeb(q, PM, 0x80, 1);
}

/* The RTC alarm two seconds on (hours and minutes "don't care"), its interrupt enabled (AIE). */
static void rtc_alarm_soon(struct qtest *q)
{
    uint8_t s = cmos(q, 0);
    int want = ((s >> 4) * 10 + (s & 15) + 2) % 60;

    cmos_write(q, 1, ((want / 10) << 4) | (want % 10));
    cmos_write(q, 3, 0xc0);
    cmos_write(q, 5, 0xc0);
    cmos(q, 0x0c);
    cmos_write(q, 0x0b, cmos(q, 0x0b) | 0x20);
}

/*
 * ACPI S3 as QEMU's PIIX4 does it: SLP_TYP 1 with SLP_EN suspends to RAM ("paused
 * (suspended)", CMOS 0x0f = 0xfe for the firmware), and an enabled RTC alarm, the power button
 * or the monitor's system_wakeup wakes the machine: a reset that sets WAK_STS and the source's
 * status bit, keeping the chipset's firmware set-up. stop and cont while asleep, a reset of a
 * sleeping machine, S4, and an S3 the DSDT does not offer.
 */
static void check_sleep(void)
{
    char *sock = qtest_tmp_path(".mon");
    int lfd = qtest_listen_unix(sock), fd;
    struct qtest *q = qtest_start("-m 32 -no-shutdown -monitor unix:%s", sock);
    uint16_t sts;

    CHECK(qtest_hmp_open(lfd, &fd) != NULL, "the monitor answers");
    pm_enable(q);
    qtest_outb(q, 0xb2, 0xf1);          /* ACPI mode: SCI_EN */
    CHECK(has(qtest_hmp(fd, "system_wakeup"), "Error: Unable to wake up: guest is not in suspended state"),
          "system_wakeup of a running guest is refused in QEMU's words");

    /* S3, woken by the RTC alarm the guest enabled (AIE, and RTC_EN in PM1 enable); the F
     * segment's shadow RAM read-only, as SeaBIOS leaves it */
    pci_cfg_writeb(q, 0, 0x59, 0x10);
    rtc_alarm_soon(q);
    qtest_outw(q, PMEN, RTC_STS);
    qtest_outw(q, PMCNTRL, SLP_TYP(1) | 1);
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: running"), "SLP_TYP alone does not sleep");
    qtest_outw(q, PMCNTRL, SLP_TYP(1) | SLP_EN | 1);
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: paused (suspended)"),
          "SLP_TYP 1 with SLP_EN suspends to RAM: info status says paused (suspended), as QEMU's");
    CHECK(cmos(q, 0x0f) == 0xfe, "the CMOS shutdown status tells the firmware to resume (0xfe)");
    CHECK(!(qtest_inw(q, PMSTS) & WAK_STS), "WAK_STS stays clear while the guest sleeps");
    qtest_clock_step(q, 3 * NS);
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: running"), "the RTC alarm wakes it");
    sts = qtest_inw(q, PMSTS);
    CHECK((sts & (WAK_STS | RTC_STS)) == (WAK_STS | RTC_STS),
          "WAK_STS and RTC_STS are set after the wake-up, and the PM still decodes at its base (0x%x)",
          sts);
    CHECK(qtest_inw(q, PMEN) == 0 && qtest_inw(q, PMCNTRL) == 0,
          "the wake-up reset PM1 enable and control (SCI_EN is the firmware's to set again)");
    CHECK(cmos(q, 0x0f) == 0xfe, "the resume flag waits for the firmware in the CMOS");
    CHECK(pci_cfg_readb(q, 0, 0x59) == 0x10,
          "the i440FX keeps its PAM shadow set-up through the wake-up: SeaBIOS resumes from there");
    cmos_write(q, 0x0f, 0);
    qtest_outw(q, PMSTS, 0xffff);

    /* an alarm without RTC_EN does not wake it; stop and cont, as QEMU 8.2 */
    rtc_alarm_soon(q);
    qtest_outw(q, PMCNTRL, SLP_TYP(1) | SLP_EN);
    qtest_clock_step(q, 3 * NS);
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: paused (suspended)") &&
          (cmos(q, 0x0c) & 0x20), "an alarm the guest did not enable (RTC_EN clear) leaves it asleep");
    CHECK(has(qtest_hmp(fd, "stop"), "") && has(qtest_hmp(fd, "info status"), "VM status: paused\n"),
          "stop makes a sleeping guest paused");
    CHECK(has(qtest_hmp(fd, "system_wakeup"), "Error: Unable to wake up: guest is not in suspended state"),
          "and system_wakeup then is refused, as in QEMU");
    CHECK(has(qtest_hmp(fd, "cont"), "") &&
          has(qtest_hmp(fd, "info status"), "VM status: paused (suspended)"),
          "cont makes it suspended again, not awake");

    /* the power button wakes it, whatever PWRBTN_EN */
    qtest_cmd(q, "powerdown");
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: running"), "the power button wakes it");
    sts = qtest_inw(q, PMSTS);
    CHECK((sts & (WAK_STS | PWRBTN_STS)) == (WAK_STS | PWRBTN_STS) && !(sts & RTC_STS),
          "with WAK_STS and PWRBTN_STS (0x%x)", sts);
    qtest_outw(q, PMSTS, 0xffff);

    /* system_wakeup: QEMU reports it as the power button */
    qtest_outw(q, PMCNTRL, SLP_TYP(1) | SLP_EN);
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: paused (suspended)"), "asleep again");
    CHECK(has(qtest_hmp(fd, "system_wakeup"), "") && has(qtest_hmp(fd, "info status"), "VM status: running"),
          "system_wakeup wakes it");
    sts = qtest_inw(q, PMSTS);
    CHECK((sts & (WAK_STS | PWRBTN_STS)) == (WAK_STS | PWRBTN_STS),
          "with WAK_STS and the power button as the source, as QEMU's (0x%x)", sts);
    qtest_outw(q, PMSTS, 0xffff);

    /* a reset of a sleeping machine waits to be started, as QEMU's */
    qtest_outw(q, PMCNTRL, SLP_TYP(1) | SLP_EN);
    CHECK(has(qtest_hmp(fd, "system_reset"), "") &&
          has(qtest_hmp(fd, "info status"), "VM status: paused (prelaunch)"),
          "system_reset of a sleeping machine: paused (prelaunch)");
    CHECK(pci_cfg_readb(q, 0, 0x59) == 0, "a reset that is no wake-up clears PAM, as before");
    pm_enable(q);
    CHECK(has(qtest_hmp(fd, "cont"), "") && has(qtest_hmp(fd, "info status"), "VM status: running") &&
          !(qtest_inw(q, PMSTS) & WAK_STS), "and cont runs it from the start (no WAK_STS)");

    /* S4: as QEMU, a poweroff once the guest has saved itself */
    qtest_outw(q, PMCNTRL, SLP_TYP(2) | SLP_EN);
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: paused (shutdown)"),
          "SLP_TYP 2 (\\_S4) powers off (-no-shutdown: paused (shutdown))");
    close(fd);
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");

    /* disable_s3 hides S3 from the DSDT; QEMU's PIIX4 still acts on the sleep type */
    lfd = qtest_listen_unix(sock);
    q = qtest_start("-m 32 -global PIIX4_PM.disable_s3=1 -monitor unix:%s", sock);
    CHECK(qtest_hmp_open(lfd, &fd) != NULL, "-global PIIX4_PM.disable_s3=1 is taken");
    pm_enable(q);
    qtest_outw(q, PMCNTRL, SLP_TYP(1) | SLP_EN);
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: paused (suspended)"),
          "with S3 hidden, SLP_TYP 1 still suspends, as QEMU's PIIX4 does");
    close(fd);
    qtest_quit(q);
    unlink(sock);
    free(sock);
}

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
    check_sleep();
    return tap_done();
}
