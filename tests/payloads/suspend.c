/* suspend.c: payload that suspends to RAM (ACPI S3, SLP_TYP from \_S3) and wakes on its RTC alarm: skiff must stop it, wake it, and start it at the FACS's waking vector with its RAM intact */
#include "lib/intr.h"

/* skiff-args: */
/* skiff-args: -global PIIX4_PM.disable_s3=1 */
/* skiff-args: -global driver=PIIX4_PM,property=disable_s4,value=1 */

/*
 * With "wake=monitor" on its command line (tests/cli/t-console.sh) it sets no alarm: the
 * monitor's system_wakeup wakes it, and it reports the power button as the wake source.
 */

#define PM1_TMR_STS    0x0001
#define PM1_PWRBTN_STS 0x0100
#define PM1_RTC        0x0400  /* RTC_STS, RTC_EN */
#define PM1_WAK_STS    0x8000
#define PM1_SLP_EN     0x2000
#define WAKE_VECTOR    0x71234 /* not 16-byte aligned: CS 0x7123, IP 4 */
#define RAM_TEST_WORDS 4096
#define MAGIC          0x53334f4bu

/*
 * The waking vector: entered in real mode as firmware enters it, wherever it is copied (it finds
 * its own offset with a call), then into 32-bit protected mode on the GDT the payload ran on.
 */
__asm__(".pushsection .text\n"
        ".globl wake_stub, wake_stub_end, wake_gdtr\n"
        ".code16\n"
        "wake_stub:\n"
        "    cli\n"
        "    movw %cs, %ax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %ss\n"
        "    movw $0x800, %sp\n"   /* a stack for the call, above the stub */
        "    call 1f\n"
        "1:  popw %bx\n"
        "    lgdtl (wake_gdtr - 1b)(%bx)\n"
        "    movl %cr0, %eax\n"
        "    orl $1, %eax\n"
        "    movl %eax, %cr0\n"
        "    ljmpl $0x10, $wake32\n"
        "    .align 4\n"
        "wake_gdtr:\n"
        "    .word 0\n"
        "    .long 0\n"
        "wake_stub_end:\n"
        ".code32\n"
        "wake32:\n"
        "    movw $0x18, %ax\n"
        "    movw %ax, %ds\n"
        "    movw %ax, %es\n"
        "    movw %ax, %fs\n"
        "    movw %ax, %gs\n"
        "    movw %ax, %ss\n"
        "    movl wake_stack_top, %esp\n"
        "    call resumed\n"
        "2:  cli\n"
        "    hlt\n"
        "    jmp 2b\n"
        ".popsection\n");

extern char wake_stub[], wake_stub_end[], wake_gdtr[];
uint8_t wake_stack[8192] __attribute__((aligned(16)));
uint8_t *const wake_stack_top __attribute__((used)) = wake_stack + sizeof(wake_stack);
void resumed(void);

/* What must be there after the wake-up: set before the sleep. */
static uint32_t ram_test[RAM_TEST_WORDS];
static volatile uint32_t magic;
static uint16_t pm1_evt, pm1_cnt;
static bool monitor_wake;
static unsigned slept_at;       /* RTC seconds since midnight when it went to sleep */

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(0x70, reg);
    outb(0x71, v);
}

static unsigned bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }
static uint8_t to_bcd(unsigned v) { return ((v / 10) << 4) | (v % 10); }

/* The RTC's time of day in seconds (BCD, 24-hour: as the board leaves it), read between updates. */
static unsigned rtc_seconds(void)
{
    while (cmos_read(0x0a) & 0x80)
        pause();
    return bcd(cmos_read(4)) * 3600 + bcd(cmos_read(2)) * 60 + bcd(cmos_read(0));
}

/* SLP_TYPa of a sleep state's package in the DSDT (\_S3_ etc.): -1 when the DSDT has none. */
static int sleep_type(const uint8_t *dsdt, const char *name)
{
    uint32_t len = *(const uint32_t *)(dsdt + 4);

    for (uint32_t i = 36; i + 8 < len; i++) {
        /* NameOp, the root prefix, the name, PackageOp, a one-byte length, 4 elements */
        if (dsdt[i] != 0x08 || dsdt[i + 1] != '\\' || memcmp(dsdt + i + 2, name, 4) ||
            dsdt[i + 6] != 0x12 || dsdt[i + 8] != 4)
            continue;
        switch (dsdt[i + 9]) {
        case 0x00: return 0;                /* ZeroOp */
        case 0x01: return 1;                /* OneOp */
        case 0x0a: return dsdt[i + 10];     /* BytePrefix */
        default: return -2;
        }
    }
    return -1;
}

static uint32_t ram_sum(void)
{
    uint32_t s = 0;

    for (int i = 0; i < RAM_TEST_WORDS; i++)
        s = (s << 1 | s >> 31) ^ ram_test[i];
    return s;
}

static uint32_t ram_sum_before;

void resumed(void)
{
    uint16_t sts, want = monitor_wake ? PM1_PWRBTN_STS : PM1_RTC;
    unsigned now, slept;
    uint32_t t0;

    serial_init();      /* the wake-up reset the UART */
    note("resumed at the waking vector");
    check(magic == MAGIC && ram_sum() == ram_sum_before,
          "the guest resumes at its waking vector with its RAM as it left it");
    sts = inw(pm1_evt);
    check(sts & PM1_WAK_STS, "WAK_STS is set after the wake-up (PM1 status 0x%x)", sts);
    check(sts & want, "%s is the wake source in PM1 status (0x%x)",
          monitor_wake ? "the power button (system_wakeup)" : "the RTC alarm (RTC_STS)", sts);
    check(!(inw(pm1_cnt) & (7 << 10)), "PM1 control's SLP_TYP is back to 0 (0x%x)", inw(pm1_cnt));
    check(cmos_read(0x0f) == 0, "the CMOS shutdown status (0xfe while asleep) was taken and cleared");
    now = rtc_seconds();
    slept = (now + 86400 - slept_at) % 86400;
    if (!monitor_wake)
        check(slept >= 1 && slept <= 10, "the guest slept until its alarm (%u s)", slept);
    t0 = pmtimer_read();
    udelay(1000);
    check(((pmtimer_read() - t0) & 0xffffff) >= 3000,
          "the PM timer runs after the wake-up (the PM's I/O decodes again)");
    outw(pm1_evt, PM1_WAK_STS | want);
    check(!(inw(pm1_evt) & (PM1_WAK_STS | want)), "and the wake status bits clear as written");
    done();
}

void test_main(uint32_t magic_in, uint32_t mbi)
{
    const char *cmdline = (const char *)((const uint32_t *)mbi)[4];
    const uint8_t *fadt = acpi_find("FACP"), *dsdt;
    uint8_t *facs;
    bool no_s3 = strstr(cmdline, "disable_s3") != NULL, no_s4 = strstr(cmdline, "disable_s4") != NULL;
    int s3, s4, s5;
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gdtr;
    unsigned alarm;

    monitor_wake = strstr(cmdline, "wake=monitor") != NULL;
    if (!fadt) {
        check(false, "the FADT is there");
        return;
    }
    pm1_evt = *(const uint32_t *)(fadt + 56);
    pm1_cnt = *(const uint32_t *)(fadt + 64);
    dsdt = (const uint8_t *)*(const uint32_t *)(fadt + 40);
    facs = (uint8_t *)*(const uint32_t *)(fadt + 36);
    s3 = sleep_type(dsdt, "_S3_");
    s4 = sleep_type(dsdt, "_S4_");
    s5 = sleep_type(dsdt, "_S5_");
    check(s5 == 0, "the DSDT names \\_S5 (SLP_TYP %d)", s5);
    if (no_s3)
        check(s3 == -1, "-global PIIX4_PM.disable_s3=1: the DSDT offers no \\_S3 (%d)", s3);
    else
        check(s3 == 1, "the DSDT offers \\_S3, suspend to RAM, with QEMU's SLP_TYP 1 (%d)", s3);
    if (no_s4)
        check(s4 == -1, "-global ...disable_s4: the DSDT offers no \\_S4 (%d)", s4);
    else
        check(s4 == 2, "the DSDT offers \\_S4 with QEMU's SLP_TYP 2 (%d)", s4);
    /* the runs that hide a state only check the DSDT */
    if (s3 != 1 || no_s4)
        return;
    check(!memcmp(facs, "FACS", 4) && !((uint32_t)facs & 63),
          "the FADT points at a 64-byte aligned FACS (%p)", facs);

    /* what must survive: a pattern in RAM */
    for (int i = 0; i < RAM_TEST_WORDS; i++)
        ram_test[i] = i * 2654435761u;
    ram_sum_before = ram_sum();
    magic = MAGIC;

    /* the waking vector: the stub below 1 MiB, with our GDT */
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    memcpy((void *)WAKE_VECTOR, wake_stub, wake_stub_end - wake_stub);
    memcpy((void *)(WAKE_VECTOR + (wake_gdtr - wake_stub)), &gdtr, 6);
    *(volatile uint32_t *)(facs + 12) = WAKE_VECTOR;

    /* wake sources: the RTC alarm a few seconds ahead (hours and minutes "don't care") */
    outw(pm1_evt, 0xffff);              /* clear every status bit */
    if (!monitor_wake) {
        cmos_read(0x0c);                /* clear the RTC's flags */
        slept_at = rtc_seconds();
        alarm = (slept_at + 3) % 60;
        cmos_write(1, to_bcd(alarm));
        cmos_write(3, 0xc0);
        cmos_write(5, 0xc0);
        cmos_write(0x0b, cmos_read(0x0b) | 0x20);   /* AIE */
        outw(pm1_evt + 2, PM1_RTC);                 /* RTC_EN */
        note("alarm at second %u", alarm);
    } else {
        slept_at = rtc_seconds();
        outw(pm1_evt + 2, 0);
    }

    /* as an OS enters S3: SLP_TYP, then SLP_TYP with SLP_EN; then wait for WAK_STS */
    note("suspending to RAM");
    outw(pm1_cnt, (inw(pm1_cnt) & ~(7 << 10)) | (s3 << 10));
    outw(pm1_cnt, (inw(pm1_cnt) & ~(7 << 10)) | (s3 << 10) | PM1_SLP_EN);
    for (int i = 0; i < 20000; i++) {
        if (inw(pm1_evt) & PM1_WAK_STS)
            break;
        udelay(1000);
    }
    check(false, "skiff suspended the guest and resumed it at its waking vector (still here; PM1 "
          "status 0x%x)", inw(pm1_evt));
}
