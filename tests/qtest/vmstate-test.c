/* vmstate-test.c: each device driven into a state through its registers, the machine saved and loaded into a second skiff started alike, and what the guest then sees compared: register reads, interrupt lines, memory */
#include "tests/qtest/libide.h"
#include "tests/unit/tap.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000LL
#define NS 1000000000LL

/* What a probe saw, in order: the same probe on both machines must see the same. */
struct seen {
    int n;
    char what[512][48];
    uint64_t v[512];
};

static void see(struct seen *s, uint64_t v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void see(struct seen *s, uint64_t v, const char *fmt, ...)
{
    va_list ap;

    if (s->n == 512)
        return;
    va_start(ap, fmt);
    vsnprintf(s->what[s->n], sizeof(s->what[0]), fmt, ap);
    va_end(ap);
    s->v[s->n++] = v;
}

typedef void probe_fn(struct qtest *q, struct seen *s);

/* A machine and the one its state went to. */
struct pair {
    struct qtest *src, *dst;
    const char *args;
    char *file;
};

static struct pair pair_start(const char *args)
{
    struct pair p = { .args = args, .file = qtest_tmp_path(".vmstate") };

    p.src = qtest_start("%s", args);
    qtest_irq_intercept(p.src);
    return p;
}

/* Save the source, start the destination with the same options, load it there. */
static bool pair_migrate(struct pair *p, const char *what)
{
    const char *r = qtest_cmd(p->src, "vmstate_save %s", p->file);

    if (!r) {
        CHECK(0, "%s: the source saves its state", what);
        return false;
    }
    p->dst = qtest_start("%s", p->args);
    /* from before the load: the lines the devices drive after it are seen */
    qtest_irq_intercept(p->dst);
    r = qtest_cmd(p->dst, "vmstate_load %s", p->file);
    CHECK(r != NULL, "%s: a second skiff started alike loads the state", what);
    return r != NULL;
}

/* Run the probe on both machines; they must see the same. */
static void same(struct pair *p, probe_fn *probe, const char *what)
{
    static struct seen a, b;
    int diffs = 0;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    probe(p->src, &a);
    probe(p->dst, &b);
    for (int i = 0; i < a.n && i < b.n; i++) {
        if (a.v[i] != b.v[i] && diffs++ < 8)
            printf("# %s: source 0x%" PRIx64 ", destination 0x%" PRIx64 "\n", a.what[i], a.v[i], b.v[i]);
    }
    CHECK(a.n == b.n && !diffs && a.n > 0, "%s (%d reads, %d differ)", what, a.n, diffs);
}

static void pair_end(struct pair *p)
{
    int a = qtest_quit(p->src), b = p->dst ? qtest_quit(p->dst) : 0;

    CHECK(a == 0 && b == 0, "both skiffs exit cleanly (%d, %d)", a, b);
    unlink(p->file);
    free(p->file);
}

static void see_irqs(struct qtest *q, struct seen *s, const int *gsis, int n)
{
    for (int i = 0; i < n; i++)
        see(s, qtest_get_irq(q, gsis[i]), "IRQ %d", gsis[i]);
}

/* ---- the 16550A UART ---- */

#define COM1 0x3f8

static void uart_regs(struct qtest *q, struct seen *s)
{
    uint8_t lcr;

    see(s, qtest_get_irq(q, 4), "IRQ 4 after the load");
    lcr = qtest_inb(q, COM1 + 3);
    see(s, lcr, "LCR");
    see(s, qtest_inb(q, COM1 + 4), "MCR");
    see(s, qtest_inb(q, COM1 + 7), "SCR");
    see(s, qtest_inb(q, COM1 + 1), "IER");
    see(s, qtest_inb(q, COM1 + 5), "LSR");
    see(s, qtest_inb(q, COM1 + 6), "MSR");
    qtest_outb(q, COM1 + 3, lcr | 0x80);
    see(s, qtest_inb(q, COM1 + 0), "DLL");
    see(s, qtest_inb(q, COM1 + 1), "DLM");
    qtest_outb(q, COM1 + 3, lcr);
    see(s, qtest_inb(q, COM1 + 2), "IIR (THRE pending)");
    see(s, qtest_get_irq(q, 4), "IRQ 4 once IIR was read");
}

/* The FIFO's character timeout runs on from where it was. */
static void uart_timeout(struct qtest *q, struct seen *s)
{
    qtest_clock_step(q, 600 * 1000);
    see(s, qtest_get_irq(q, 4), "IRQ 4 after 0.6 ms");
    see(s, qtest_inb(q, COM1 + 2), "IIR (character timeout)");
    for (int i = 0; i < 4; i++) {
        see(s, qtest_inb(q, COM1 + 5), "LSR before byte %d", i);
        see(s, qtest_inb(q, COM1 + 0), "RBR byte %d", i);
    }
    see(s, qtest_get_irq(q, 4), "IRQ 4 with the FIFO empty");
}

static void check_uart(void)
{
    struct pair p = pair_start("-m 16 -serial null");
    struct qtest *q = p.src;

    /* 38400 baud 8E1, FIFOs on with a trigger level of 14, DTR RTS OUT2, a scratch value */
    qtest_outb(q, COM1 + 3, 0x80);
    qtest_outb(q, COM1 + 0, 0x03);
    qtest_outb(q, COM1 + 1, 0x00);
    qtest_outb(q, COM1 + 3, 0x1b);
    qtest_outb(q, COM1 + 2, 0xc7);
    qtest_outb(q, COM1 + 4, 0x0b);
    qtest_outb(q, COM1 + 7, 0xa5);
    /* three bytes through loopback wait in the FIFO, below its trigger level: the character
     * timeout (four character times, 1.04 ms at this rate) is running */
    qtest_outb(q, COM1 + 4, 0x1b);
    qtest_outb(q, COM1 + 0, 'a');
    qtest_outb(q, COM1 + 0, 'b');
    qtest_outb(q, COM1 + 0, 'c');
    qtest_outb(q, COM1 + 4, 0x0b);
    qtest_clock_step(q, 500 * 1000);
    /* received data and THRE interrupts on: THR is empty, so THRE is pending and IRQ 4 high */
    qtest_outb(q, COM1 + 1, 0x03);
    CHECK(qtest_get_irq(q, 4), "UART: the source has THRE pending on IRQ 4");
    if (pair_migrate(&p, "UART")) {
        same(&p, uart_regs, "UART: LCR, MCR, SCR, IER, LSR, MSR, divisor, IIR and IRQ 4 are the same");
        same(&p, uart_timeout, "UART: the FIFO's character timeout fires at the same time, and the bytes read back");
    }
    pair_end(&p);
}

/* ---- the MC146818 RTC ---- */

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

static void rtc_regs(struct qtest *q, struct seen *s)
{
    static const uint8_t regs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0a, 0x0b, 0x0d, 0x32 };

    see(s, qtest_inb(q, 0x71), "the register the index selects");
    for (size_t i = 0; i < sizeof(regs); i++)
        see(s, cmos(q, regs[i]), "CMOS 0x%02x", regs[i]);
    for (int r = 0x40; r < 0x50; r++)
        see(s, cmos(q, r), "CMOS 0x%02x", r);
    see(s, qtest_get_irq(q, 8), "IRQ 8");
}

/* The periodic interrupt keeps its phase; the alarm and update interrupts come on time. */
static void rtc_ticks(struct qtest *q, struct seen *s)
{
    qtest_clock_step(q, 6 * MS);
    see(s, qtest_get_irq(q, 8), "IRQ 8 6 ms on");
    see(s, cmos(q, 0x0c), "register C 6 ms on");
    see(s, qtest_get_irq(q, 8), "IRQ 8 once C was read");
    for (int i = 0; i < 70; i++) {
        qtest_clock_step(q, 1000 * MS);
        see(s, cmos(q, 0x0c) & 0xa0, "register C's alarm flag, second %d", i);
    }
}

static void check_rtc(void)
{
    struct pair p = pair_start("-m 16");
    struct qtest *q = p.src;

    for (int r = 0x40; r < 0x50; r++)
        cmos_write(q, r, 0x11 * (r - 0x3f));
    /* the guest sets the clock: 2010-05-06 07:08:09 */
    cmos_write(q, 0x0b, 0x82);
    cmos_write(q, 0x00, 0x09);
    cmos_write(q, 0x02, 0x08);
    cmos_write(q, 0x04, 0x07);
    cmos_write(q, 0x07, 0x06);
    cmos_write(q, 0x08, 0x05);
    cmos_write(q, 0x09, 0x10);
    cmos_write(q, 0x32, 0x20);
    cmos_write(q, 0x0b, 0x02);
    cmos_write(q, 0x0a, 0x2a);              /* 64 Hz */
    cmos_write(q, 0x01, 0x40);              /* alarm at every minute's second 40 */
    cmos_write(q, 0x03, 0xc0);
    cmos_write(q, 0x05, 0xc0);
    cmos_write(q, 0x0b, 0x62);              /* periodic and alarm interrupts, 24 h, BCD */
    cmos(q, 0x0c);
    qtest_clock_step(q, 10 * MS);           /* 5.6 ms before the next periodic tick */
    qtest_outb(q, 0x70, 0x45);
    if (pair_migrate(&p, "RTC")) {
        same(&p, rtc_regs, "RTC: the index, time, alarm, rate, enables and CMOS bytes are the same");
        same(&p, rtc_ticks, "RTC: periodic and alarm interrupts come at the same times");
    }
    pair_end(&p);
}

/* ---- the i8042 with its keyboard and mouse ---- */

static void kbc_cmd(struct qtest *q, uint8_t c)
{
    qtest_outb(q, 0x64, c);
}

static void kbc_data(struct qtest *q, uint8_t v)
{
    qtest_outb(q, 0x60, v);
}

static void kbc_drain(struct qtest *q)
{
    for (int i = 0; i < 64 && (qtest_inb(q, 0x64) & 1); i++)
        qtest_inb(q, 0x60);
}

static void kbc_bytes(struct qtest *q, struct seen *s)
{
    static const int lines[] = { 1, 12 };

    see_irqs(q, s, lines, 2);
    for (int i = 0; i < 12; i++) {
        see(s, qtest_inb(q, 0x64), "status before byte %d", i);
        see(s, qtest_inb(q, 0x60), "output byte %d", i);
        see_irqs(q, s, lines, 2);
    }
    kbc_cmd(q, 0x20);
    see(s, qtest_inb(q, 0x60), "command byte");
    /* the mouse reports its settings: status, resolution, rate */
    kbc_cmd(q, 0xd4);
    kbc_data(q, 0xe9);
    for (int i = 0; i < 4; i++)
        see(s, qtest_inb(q, 0x60), "mouse status byte %d", i);
}

static void check_i8042(void)
{
    struct pair p = pair_start("-m 16");
    struct qtest *q = p.src;

    kbc_drain(q);
    kbc_cmd(q, 0xa8);                       /* aux port on */
    kbc_cmd(q, 0xd4);                       /* mouse: resolution 3 (8 counts/mm), rate 40 */
    kbc_data(q, 0xe8);
    kbc_cmd(q, 0xd4);
    kbc_data(q, 0x03);
    kbc_cmd(q, 0xd4);
    kbc_data(q, 0xf3);
    kbc_cmd(q, 0xd4);
    kbc_data(q, 40);
    kbc_drain(q);
    kbc_data(q, 0xed);                      /* keyboard LEDs, with their acks left queued */
    kbc_data(q, 0x05);
    kbc_cmd(q, 0x60);                       /* command byte: translate, keyboard interrupt only */
    kbc_data(q, 0x45);
    qtest_cmd(q, "input_key 0x1e 1");       /* keys the guest has not read yet */
    qtest_cmd(q, "input_key 0x1e 0");
    qtest_cmd(q, "input_key 0x130 1");
    CHECK(qtest_get_irq(q, 1), "i8042: the source has bytes waiting, IRQ 1 high");
    if (pair_migrate(&p, "i8042"))
        same(&p, kbc_bytes, "i8042: status, queued bytes in order, IRQ 1/12, command byte and mouse settings are the same");
    pair_end(&p);
}

/* ---- PIIX4 power management ---- */

#define PM PCI_DEVFN(1, 3)
#define PMBASE 0xb000

static void pm_regs(struct qtest *q, struct seen *s)
{
    see(s, qtest_get_irq(q, 9), "SCI (IRQ 9)");
    see(s, pci_cfg_readl(q, PM, 0x40), "PMBA");
    see(s, qtest_inw(q, PMBASE + 0), "PM1 status");
    see(s, qtest_inw(q, PMBASE + 2), "PM1 enable");
    see(s, qtest_inw(q, PMBASE + 4), "PM1 control");
    see(s, qtest_inl(q, PMBASE + 8), "PM timer");
    see(s, qtest_inl(q, PMBASE + 0x28), "GLBCTL");
    for (int i = 0; i < 4; i++)
        see(s, qtest_inb(q, 0xafe0 + i), "GPE0 byte %d", i);
    see(s, qtest_inb(q, 0xb2), "APM control");
    see(s, qtest_inb(q, 0xb3), "APM status");
}

/* The power button's status clears; the PM timer's overflow comes at the same time. */
static void pm_timer(struct qtest *q, struct seen *s)
{
    qtest_outw(q, PMBASE + 0, 0x0100);
    see(s, qtest_get_irq(q, 9), "SCI once the button's status is cleared");
    for (int i = 0; i < 30; i++) {
        qtest_clock_step(q, 100 * MS);
        see(s, qtest_inw(q, PMBASE + 0) | qtest_get_irq(q, 9) << 15, "status and SCI at %d00 ms", i + 1);
    }
}

static void check_pm(void)
{
    struct pair p = pair_start("-m 16");
    struct qtest *q = p.src;

    pci_cfg_writel(q, PM, 0x40, PMBASE | 1);
    pci_cfg_writeb(q, PM, 0x80, 1);
    qtest_outb(q, 0xb2, 0xf1);              /* ACPI mode */
    qtest_outb(q, 0xb3, 0x5a);
    qtest_outw(q, PMBASE + 2, 0x0101);      /* timer and power button events */
    qtest_outl(q, PMBASE + 0x28, 0x00000201);
    qtest_outb(q, 0xafe2, 0x0f);
    qtest_cmd(q, "powerdown");
    qtest_clock_step(q, 1000 * MS);         /* 1.3 s before the timer's bit 23 flips */
    CHECK(qtest_get_irq(q, 9), "PM: the power button raised the SCI on the source");
    if (pair_migrate(&p, "PM")) {
        same(&p, pm_regs, "PM: PMBA, status, enables, control, timer, GLBCTL, GPE0, APM and the SCI are the same");
        same(&p, pm_timer, "PM: the timer's overflow sets its status and raises the SCI at the same time");
    }
    pair_end(&p);
}

/* ---- IDE: a PIO read stopped halfway through a sector ---- */

#define BM 0xc000

static void ide_rest(struct qtest *q, struct seen *s)
{
    uint16_t w[256];

    see(s, qtest_get_irq(q, 14), "IRQ 14");
    see(s, qtest_inb(q, IDE_PCTL), "alternate status");
    for (int r = 1; r < 7; r++)
        see(s, qtest_inb(q, IDE_P + r), "task file register %d", r);
    see(s, qtest_inb(q, BM + 2), "bus master status");
    see(s, qtest_inl(q, BM + 4), "PRD address");
    see(s, qtest_inb(q, IDE_P + 7), "status");
    see(s, qtest_get_irq(q, 14), "IRQ 14 once status was read");
    for (int i = 0; i < 156; i++)
        see(s, qtest_inw(q, IDE_P), "sector 5 word %d", 100 + i);
    see(s, ide_wait_ready(q, IDE_P), "alternate status before sector 6");
    see(s, qtest_get_irq(q, 14), "IRQ 14 for sector 6");
    see(s, qtest_inb(q, IDE_P + 7), "status before sector 6");
    for (int i = 0; i < 256; i++)
        w[i] = qtest_inw(q, IDE_P);
    see(s, ide_sector_ok((uint8_t *)w, 6, 512), "sector 6 is the image's");
    see(s, w[0] | (uint64_t)w[255] << 16, "sector 6's first and last words");
    see(s, qtest_inb(q, IDE_P + 7), "status at the end");
}

static void check_ide(void)
{
    char *img = ide_make_image(".img", 1 * 1024 * 1024, 512, 64), args[256];
    struct pair p;
    struct qtest *q;
    uint16_t w[100];

    snprintf(args, sizeof(args), "-m 16 -drive file=%s,if=ide,index=0,format=raw", img);
    p = pair_start(args);
    q = p.src;
    ide_pci_setup(q, BM);
    qtest_outl(q, BM + 4, 0x12340);
    ide_set_lba28(q, IDE_P, 0, 5, 2);
    qtest_outb(q, IDE_P + 7, 0x20);         /* READ SECTORS: 5 and 6 */
    ide_wait_ready(q, IDE_P);
    for (int i = 0; i < 100; i++)
        w[i] = qtest_inw(q, IDE_P);
    CHECK(ide_sector_ok((uint8_t *)w, 5, 200) && qtest_get_irq(q, 14),
          "IDE: the source is 200 bytes into sector 5, its interrupt pending");
    if (pair_migrate(&p, "IDE"))
        same(&p, ide_rest, "IDE: the task file, bus master, IRQ 14 and the rest of the PIO read are the same");
    pair_end(&p);
    unlink(img);
    free(img);
}

/* ---- the standard VGA: registers and video memory ---- */

#define VGA PCI_DEVFN(2, 0)
#define LFB 0xe0000000u

static void vga_idx(struct qtest *q, uint16_t port, uint8_t i, uint8_t v)
{
    qtest_outb(q, port, i);
    qtest_outb(q, port + 1, v);
}

static void vga_state(struct qtest *q, struct seen *s)
{
    static const uint32_t offs[] = { 0, 4, 0x1000, 0x10000, 0x12344, 0x800000, 0xfffffc };

    /* the DAC was left between a color's components; the attribute flip-flop at "data" */
    see(s, qtest_inb(q, 0x3c7), "DAC state");
    see(s, qtest_inb(q, 0x3c8), "DAC write index");
    qtest_outb(q, 0x3c0, 0x2d);             /* lands as data (the flip-flop says so): AR 0x0d */
    see(s, qtest_inb(q, 0x3cc), "misc output");
    see(s, qtest_inb(q, 0x3ca), "feature control");
    see(s, qtest_inb(q, 0x3c6), "PEL mask");
    for (int i = 0; i < 5; i++) {
        qtest_outb(q, 0x3c4, i);
        see(s, qtest_inb(q, 0x3c5), "SR %d", i);
    }
    for (int i = 0; i < 9; i++) {
        qtest_outb(q, 0x3ce, i);
        see(s, qtest_inb(q, 0x3cf), "GR %d", i);
    }
    for (int i = 0; i < 25; i++) {
        qtest_outb(q, 0x3d4, i);
        see(s, qtest_inb(q, 0x3d5), "CR %d", i);
    }
    for (int i = 0; i < 21; i++) {
        qtest_inb(q, 0x3da);
        qtest_outb(q, 0x3c0, i);
        see(s, qtest_inb(q, 0x3c1), "AR %d", i);
    }
    qtest_outb(q, 0x3c7, 0);
    for (int i = 0; i < 3 * 4; i++)
        see(s, qtest_inb(q, 0x3c9), "palette byte %d", i);
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
        see(s, qtest_readl(q, LFB + offs[i]), "video memory at 0x%x", offs[i]);
    for (int i = 0; i < 8; i++)
        see(s, qtest_readb(q, 0xb8000 + i), "text at 0xb8000 + %d", i);
}

static void check_vga(void)
{
    struct pair p = pair_start("-m 16 -device VGA,romfile=,addr=02.0");
    struct qtest *q = p.src;

    pci_cfg_writel(q, VGA, 0x10, LFB);
    pci_cfg_writew(q, VGA, 4, 0x0002);
    qtest_outb(q, 0x3c2, 0x67);
    vga_idx(q, 0x3c4, 2, 0x03);             /* text mode's odd/even memory at 0xb8000 */
    vga_idx(q, 0x3c4, 4, 0x02);
    vga_idx(q, 0x3ce, 5, 0x10);
    vga_idx(q, 0x3ce, 6, 0x0e);
    vga_idx(q, 0x3ce, 8, 0xff);
    vga_idx(q, 0x3d4, 0x0a, 0x0d);          /* cursor shape and place, start address */
    vga_idx(q, 0x3d4, 0x0e, 0x01);
    vga_idx(q, 0x3d4, 0x0f, 0x42);
    vga_idx(q, 0x3d4, 0x0c, 0x07);
    qtest_inb(q, 0x3da);
    for (int i = 0; i < 16; i++) {
        qtest_outb(q, 0x3c0, i);
        qtest_outb(q, 0x3c0, 0x3f - i);
    }
    qtest_outb(q, 0x3c0, 0x20);
    qtest_outb(q, 0x3c6, 0xfe);
    qtest_outb(q, 0x3c8, 0);
    for (int i = 0; i < 3 * 4 + 1; i++)     /* four colors and the first part of a fifth */
        qtest_outb(q, 0x3c9, (7 * i + 3) & 0x3f);
    qtest_memwrite(q, 0xb8000, "S\x1f" "k\x2e" "i\x4f" "f\x07", 8);
    qtest_writel(q, LFB + 0x1000, 0x11223344);
    qtest_writel(q, LFB + 0x800000, 0xcafef00d);
    qtest_writel(q, LFB + 0xfffffc, 0x55aa55aa);
    qtest_inb(q, 0x3da);
    qtest_outb(q, 0x3c0, 0x0d);             /* the flip-flop now waits for AR 0x0d's data */
    if (pair_migrate(&p, "VGA"))
        same(&p, vga_state, "VGA: registers, DAC and flip-flop state, palette, text and video memory are the same");
    pair_end(&p);
}

/* ---- PIIX3 PIRQ routing with a PCI function driving INTA# ---- */

#define TESTDEV PCI_DEVFN(5, 0)
#define TD_MMIO 0xe1000000u
#define TD_RAM 0xe2000000u

static void pirq_state(struct qtest *q, struct seen *s)
{
    static const int lines[] = { 5, 9, 10, 11 };

    see_irqs(q, s, lines, 4);
    see(s, pci_cfg_readl(q, PCI_DEVFN(1, 0), 0x60), "PIRQRC[A-D]");
    see(s, pci_cfg_readw(q, TESTDEV, 6), "the function's status (interrupt bit)");
    see(s, qtest_readl(q, TD_MMIO + 0), "the function's scratch register");
    see(s, qtest_readl(q, TD_MMIO + 4), "the function's INTx register");
    see(s, qtest_readq(q, TD_RAM + 0x100), "the function's memory at 0x100");
    see(s, qtest_readq(q, TD_RAM + 0xfff8), "the function's memory at 0xfff8");
    qtest_writel(q, TD_MMIO + 4, 0);
    see_irqs(q, s, lines, 4);
    pci_cfg_writeb(q, PCI_DEVFN(1, 0), 0x60, 5);
    qtest_writel(q, TD_MMIO + 4, 1);
    see_irqs(q, s, lines, 4);
}

static void check_pirq(void)
{
    struct pair p = pair_start("-m 16 -device pci-testdev,addr=05.0");
    struct qtest *q = p.src;

    pci_cfg_writel(q, PCI_DEVFN(1, 0), 0x60, 0x0b800a0a);  /* A, B: 10; C: off; D: 11 */
    pci_cfg_writel(q, TESTDEV, 0x10, TD_MMIO);
    pci_cfg_writel(q, TESTDEV, 0x18, TD_RAM | 0x0c);
    pci_cfg_writel(q, TESTDEV, 0x1c, 0);
    pci_cfg_writew(q, TESTDEV, 4, 0x0002);
    qtest_writel(q, TD_MMIO + 0, 0xdeadbeef);
    qtest_writeq(q, TD_RAM + 0x100, 0x0123456789abcdefULL);
    qtest_writeq(q, TD_RAM + 0xfff8, 0xfedcba9876543210ULL);
    qtest_writel(q, TD_MMIO + 4, 1);
    if (pair_migrate(&p, "PIIX3")) {
        same(&p, pirq_state, "PIIX3: PIRQ routing, the INTx lines it drives, and the function's registers and memory are the same");
        /* the functions loaded after the router here; a router loaded last moves the lines too */
        CHECK(qtest_get_irq(q, 5) && qtest_cmd(q, "vmstate_load_patched piix3 pci.config[96]=11") &&
                  qtest_get_irq(q, 11) && !qtest_get_irq(q, 5),
              "PIIX3: a load that routes PIRQA elsewhere moves the asserted line from IRQ 5 to IRQ 11");
    }
    pair_end(&p);
}

/* ---- fw_cfg, the host bridge, the system ports and guest RAM ---- */

static void board_state(struct qtest *q, struct seen *s)
{
    static const uint32_t ram[] = { 0x1000, 0x7ffc, 0x9fffc, 0x100000, 0xfff000 };

    see(s, qtest_inl(q, 0xcf8), "PCI configuration address");
    for (int i = 0; i < 10; i++)
        see(s, qtest_inb(q, 0x511), "fw_cfg data byte %d", i);
    see(s, qtest_inb(q, 0x92), "port 0x92");
    see(s, qtest_inb(q, 0xcf9), "reset control");
    see(s, pci_cfg_readl(q, 0, 0x58), "PAM0-3");
    see(s, pci_cfg_readb(q, 0, 0x72), "SMRAM");
    see(s, qtest_readl(q, 0xf0000), "shadow RAM at 0xf0000");
    see(s, qtest_readl(q, 0xa0000), "SMRAM at 0xa0000");
    for (size_t i = 0; i < sizeof(ram) / sizeof(ram[0]); i++)
        see(s, qtest_readl(q, ram[i]), "RAM at 0x%x", ram[i]);
}

static void check_board(void)
{
    struct pair p = pair_start("-m 16");
    struct qtest *q = p.src;

    pci_cfg_writeb(q, 0, 0x59, 0x30);       /* PAM0: 0xf0000-0xfffff is RAM, read-write */
    pci_cfg_writeb(q, 0, 0x72, 0x4a);       /* SMRAM open: RAM at 0xa0000 */
    qtest_writel(q, 0xf0000, 0x5eed0f0f);
    qtest_writel(q, 0xa0000, 0xa0a0beef);
    qtest_writel(q, 0x1000, 0x01020304);
    qtest_writel(q, 0x7ffc, 0xffffffff);
    qtest_writel(q, 0x9fffc, 0x12345678);
    qtest_writel(q, 0x100000, 0x87654321);
    qtest_writel(q, 0xfff000, 0x0badf00d);
    qtest_outb(q, 0x92, 0x00);              /* A20 off */
    qtest_outb(q, 0xcf9, 0x02);
    qtest_outw(q, 0x510, 0x0019);           /* fw_cfg: the file directory, 6 bytes in */
    for (int i = 0; i < 6; i++)
        qtest_inb(q, 0x511);
    qtest_outl(q, 0xcf8, 0x80002844);       /* a configuration address left selected */
    if (pair_migrate(&p, "board"))
        same(&p, board_state, "fw_cfg's position, PCI address, PAM, SMRAM, ports 0x92/0xcf9 and RAM are the same");
    pair_end(&p);
}

/* ---- a stream that is not this machine's ---- */

static void check_refusals(void)
{
    struct qtest *a = qtest_start("-m 16"), *b;
    char *file = qtest_tmp_path(".vmstate");
    const char *r;

    qtest_cmd(a, "vmstate_save %s", file);
    b = qtest_start("-m 32");
    r = qtest_cmd(b, "vmstate_load %s", file);
    CHECK(!r, "a stream from a machine with other RAM is refused");
    qtest_quit(b);
    b = qtest_start("-m 16 -serial null");
    r = qtest_cmd(b, "vmstate_load %s", file);
    CHECK(!r, "a stream that lacks a device of the machine is refused");
    qtest_quit(b);
    b = qtest_start("-m 16");
    qtest_clock_step(b, 1000);
    r = qtest_cmd(b, "vmstate_load %s", file);
    CHECK(!r, "a machine whose clock ran past the stream's refuses it");
    qtest_cmd(b, "vmstate_save %s", file);
    qtest_quit(b);
    b = qtest_start("-m 16");
    r = qtest_cmd(b, "vmstate_load %s", file);
    CHECK(r != NULL, "a machine that has not run loads a stream of its kind");
    qtest_quit(b);
    if (truncate(file, 100) < 0)
        CHECK(0, "cut the stream file");
    b = qtest_start("-m 16");
    r = qtest_cmd(b, "vmstate_load %s", file);
    CHECK(!r, "a cut stream is refused");
    CHECK(qtest_quit(b) == 0 && qtest_quit(a) == 0, "skiff exits cleanly after refusing a stream");
    unlink(file);
    free(file);
}

/* ---- values a guest cannot produce, in streams made from real ones ---- */

static void check_hostile(void)
{
    struct qtest *q = qtest_start("-m 16 -serial null");

    CHECK(!qtest_cmd(q, "vmstate_load_patched mc146818rtc next_periodic=0x7fffffffffffffff") &&
              !qtest_cmd(q, "vmstate_load_patched mc146818rtc base_time=0xffffffffffffffff") &&
              qtest_cmd(q, "vmstate_load_patched mc146818rtc"),
          "RTC: a periodic tick far ahead or a time before 1970 is refused; its own stream loads");
    qtest_outw(q, 0x510, 0);                /* the signature: 4 bytes */
    CHECK(!qtest_cmd(q, "vmstate_load_patched fw_cfg cur_offset=5") &&
              qtest_cmd(q, "vmstate_load_patched fw_cfg cur_offset=4") && qtest_inb(q, 0x511) == 0,
          "fw_cfg: a position past the selected item's end is refused, its end is not");
    CHECK(!qtest_cmd(q, "vmstate_load_patched pc-ports port92_val=1") && qtest_inb(q, 0x92) == 0x02,
          "port 0x92: a reset bit held set is refused, A20 stays as it was");
    CHECK(!qtest_cmd(q, "vmstate_load_patched isa-serial ier=0x10") &&
              !qtest_cmd(q, "vmstate_load_patched isa-serial fcr=0x02"),
          "UART: IER and FCR bits the guest cannot set are refused");
    /* a character timeout running: its deadline is in the stream, and bounded */
    qtest_outb(q, COM1 + 2, 0xc1);
    qtest_outb(q, COM1 + 1, 0x01);
    qtest_outb(q, COM1 + 4, 0x1b);
    qtest_outb(q, COM1 + 0, 'x');
    CHECK(!qtest_cmd(q, "vmstate_load_patched isa-serial serial/rx-timeout.rx_timeout_at=0x7fffffffffff") &&
              qtest_cmd(q, "vmstate_load_patched isa-serial"),
          "UART: a character timeout far ahead is refused; the running one loads");
    qtest_clock_step(q, 10 * MS);
    CHECK((qtest_inb(q, COM1 + 2) & 0x0f) == 0x0c, "UART: the loaded character timeout fires");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly after refusing the streams");
}

int main(void)
{
    check_uart();
    check_rtc();
    check_i8042();
    check_pm();
    check_ide();
    check_vga();
    check_pirq();
    check_board();
    check_refusals();
    check_hostile();
    return tap_done();
}
