/* pc-test.c: the PC's small devices: reset ports, debug-exit, debugcon, ACPI PM timer, power button, poweroff */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS 1000000000LL
#define COM1_SCR 0x3ff

/* A reset clears the UART's scratch register: write it, reset one way, look; skiff reports
 * exactly one reset. */
static bool resets(struct qtest *q, void (*how)(struct qtest *))
{
    int before = qtest_reset_count(q);

    qtest_outb(q, COM1_SCR, 0x77);
    how(q);
    /* the reset runs in the main loop right after the command */
    for (int i = 0; i < 50; i++) {
        if (qtest_inb(q, COM1_SCR) == 0)
            return qtest_reset_count(q) == before + 1;
        usleep(10000);
    }
    return false;
}

static void via_cf9(struct qtest *q) { qtest_outb(q, 0xcf9, 0x06); }
static void via_92(struct qtest *q) { qtest_outb(q, 0x92, 0x03); }
static void via_8042(struct qtest *q) { qtest_outb(q, 0x64, 0xfe); }

/* The PIIX4 PM function (01.3) decodes its registers where PMBA says once PMIOSE is on. */
static void pm_enable(struct qtest *q)
{
    qtest_outl(q, 0xcf8, 0x80000b40);
    qtest_outl(q, 0xcfc, 0x601);
    qtest_outl(q, 0xcf8, 0x80000b80);
    qtest_outb(q, 0xcfc, 0x01);
}

int main(void)
{
    char *con = qtest_tmp_path(".debugcon");
    struct qtest *q;
    uint32_t t0, t1;
    int status;
    FILE *f;
    char buf[16] = { 0 };

    q = qtest_start("-serial null -chardev file,id=dc,path=%s -device isa-debugcon,iobase=0x402,chardev=dc "
                    "-device isa-debug-exit,iobase=0xf4,iosize=4", con);
    qtest_irq_intercept(q);
    CHECK(resets(q, via_cf9), "writing 6 to port 0xcf9 resets the machine");
    CHECK(resets(q, via_92), "setting bit 0 of port 0x92 resets the machine");
    CHECK(resets(q, via_8042), "the 8042's pulse-reset command 0xfe resets the machine");
    CHECK(qtest_inb(q, 0x92) == 0x02, "port 0x92 reads back A20 on, reset bit clear");
    qtest_outb(q, COM1_SCR, 0x77);
    qtest_outb(q, 0xcf9, 0x02);
    CHECK(qtest_inb(q, 0xcf9) == 0x02 && qtest_inb(q, COM1_SCR) == 0x77 && qtest_reset_count(q) == 3,
          "0xcf9 keeps SYS_RST without resetting until RST_CPU is written");
    CHECK(qtest_inb(q, 0x80) == 0xff, "the POST port reads 0xff");

    qtest_outb(q, 0x402, 'h');
    qtest_outb(q, 0x402, 'i');
    CHECK(qtest_inb(q, 0x402) == 0xe9, "isa-debugcon reads back 0xe9, as firmware expects");
    f = fopen(con, "r");
    CHECK(f && fread(buf, 1, sizeof(buf) - 1, f) == 2 && !strcmp(buf, "hi"),
          "bytes written to isa-debugcon land in its chardev's file");
    if (f)
        fclose(f);

    pm_enable(q);
    /* ACPI PM timer: 3.579545 MHz, 24 bits */
    t0 = qtest_inl(q, 0x608);
    qtest_clock_step(q, NS);
    t1 = qtest_inl(q, 0x608);
    CHECK(((t1 - t0) & 0xffffff) == (3579545 & 0xffffff) || ((t1 - t0) & 0xffffff) == 3579546,
          "the PM timer advances 3579545 ticks in a second of guest time (%u)", (t1 - t0) & 0xffffff);
    CHECK(t1 <= 0xffffff, "the PM timer is 24 bits wide");

    /* power button: status bit, and an SCI when the OS enabled it */
    qtest_cmd(q, "powerdown");
    CHECK(qtest_inw(q, 0x600) & 0x100, "pressing the power button sets PWRBTN_STS");
    CHECK(!qtest_get_irq(q, 9), "no SCI while the button's enable bit is clear");
    qtest_outw(q, 0x602, 0x100);
    qtest_outw(q, 0x604, 0x0001);       /* SCI_EN */
    CHECK(qtest_get_irq(q, 9), "with PWRBTN_EN set the SCI (IRQ 9) rises");
    qtest_outw(q, 0x600, 0x100);
    CHECK(!(qtest_inw(q, 0x600) & 0x100) && !qtest_get_irq(q, 9),
          "writing 1 to PWRBTN_STS clears it and the SCI");
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "every device's state round-trips");

    /* debug-exit: the status is (value << 1) | 1; skiff ends by itself, the connection open */
    qtest_outb(q, 0xf4, 0x10);
    status = qtest_wait_exit(q, 10000);
    CHECK(status == 0x21 && qtest_exit_event(q) == 0x21,
          "a write of 0x10 to isa-debug-exit ends skiff with status 0x21 (%d)", status);
    qtest_quit(q);

    /* ACPI poweroff ends skiff with status 0, and skiff says it was a poweroff (closing the
     * connection would end it with status 0 too) */
    q = qtest_start("-serial null");
    pm_enable(q);
    qtest_outw(q, 0x604, 0x2000 | (0 << 10));
    status = qtest_wait_exit(q, 10000);
    CHECK(status == 0 && qtest_shutdown_count(q) == 1,
          "SLP_EN with the S5 sleep type powers the machine off: skiff reports the poweroff and "
          "ends with status 0 (%d)", status);
    qtest_quit(q);
    q = qtest_start("-serial null -no-shutdown");
    pm_enable(q);
    qtest_outw(q, 0x604, 0x2000);
    CHECK(qtest_shutdown_count(q) == 1 && qtest_wait_exit(q, 200) == -1,
          "with -no-shutdown skiff reports the poweroff and stays");
    qtest_quit(q);
    unlink(con);
    free(con);
    return tap_done();
}
