/* rtc-test.c: the MC146818 as a guest's clock driver sees it: time, interrupts, alarm, setting the clock */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <time.h>

#define NS 1000000000LL

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

static int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

/* the CMOS clock as unix time (BCD, 24-hour, as the board starts it) */
static time_t cmos_time(struct qtest *q)
{
    struct tm tm = { 0 };

    tm.tm_sec = bcd(cmos(q, 0));
    tm.tm_min = bcd(cmos(q, 2));
    tm.tm_hour = bcd(cmos(q, 4));
    tm.tm_mday = bcd(cmos(q, 7));
    tm.tm_mon = bcd(cmos(q, 8)) - 1;
    tm.tm_year = bcd(cmos(q, 9)) + bcd(cmos(q, 0x32)) * 100 - 1900;
    return timegm(&tm);
}

/* -rtc base=: a date, and the host's local time (TZ set for skiff: 5 h 30 min east of UTC) */
static void check_bases(void)
{
    struct qtest *q = qtest_start("-m 16 -rtc base=2006-06-17T16:01:21");
    time_t t = cmos_time(q), now;

    CHECK(t >= 1150560081 && t <= 1150560081 + 5, "-rtc base=2006-06-17T16:01:21 starts the clock there");
    qtest_quit(q);
    setenv("TZ", "IST-5:30", 1);
    q = qtest_start("-m 16 -rtc base=localtime");
    now = time(NULL);
    t = cmos_time(q);
    CHECK(llabs((long long)(t - now - 19800)) <= 5, "-rtc base=localtime holds the host's local time, "
          "UTC+5:30 here (off by %lld s)", (long long)(t - now - 19800));
    qtest_quit(q);
    unsetenv("TZ");
}

int main(void)
{
    struct qtest *q = qtest_start("-m 128");
    time_t now = time(NULL), guest;
    uint8_t c;

    qtest_irq_intercept(q);
    guest = cmos_time(q);
    CHECK(llabs((long long)(guest - now)) <= 5, "the clock starts at the host's UTC time (off by %lld s)",
          (long long)(guest - now));
    CHECK(cmos(q, 0x0d) & 0x80, "register D says the CMOS contents are valid");
    CHECK((cmos(q, 0x0b) & 0x06) == 0x02, "the clock runs in BCD, 24-hour mode, as PC firmware leaves it");
    CHECK(cmos(q, 0x34) == 0x00 && cmos(q, 0x35) == 0x07,
          "CMOS 0x34/0x35 give 112 MiB above 16 MiB in 64 KiB units for -m 128");

    /* periodic interrupt at 1024 Hz */
    cmos_write(q, 0x0a, 0x26);
    cmos_write(q, 0x0b, cmos(q, 0x0b) | 0x40);
    CHECK(!qtest_get_irq(q, 8), "no interrupt before the first period");
    qtest_clock_step(q, NS / 1024 + 1000);
    CHECK(qtest_get_irq(q, 8), "IRQ 8 rises after one period of 1/1024 s");
    c = cmos(q, 0x0c);
    CHECK((c & 0xc0) == 0xc0, "register C shows IRQF and PF (0x%02x)", c);
    CHECK(!qtest_get_irq(q, 8), "reading register C lowers IRQ 8");
    qtest_clock_step(q, NS / 10);
    c = cmos(q, 0x0c);
    CHECK(qtest_irq_raises(q, 8) >= 1 && (c & 0x40), "the periodic interrupt keeps coming");
    cmos_write(q, 0x0b, cmos(q, 0x0b) & ~0x40);
    cmos(q, 0x0c);
    qtest_irq_raises(q, 8);
    qtest_clock_step(q, NS / 10);
    CHECK(qtest_irq_raises(q, 8) == 0 && !qtest_get_irq(q, 8), "clearing PIE stops it");

    /* update-ended interrupt once a second */
    cmos_write(q, 0x0b, cmos(q, 0x0b) | 0x10);
    qtest_clock_step(q, NS + 1000);
    c = cmos(q, 0x0c);
    CHECK((c & 0x90) == 0x90, "the update-ended interrupt comes within a second (C 0x%02x)", c);
    cmos_write(q, 0x0b, cmos(q, 0x0b) & ~0x10);

    /* setting the clock: SET, write 2030-06-15 12:34:56, clear SET */
    cmos_write(q, 0x0b, cmos(q, 0x0b) | 0x80);
    cmos_write(q, 0, 0x56);
    cmos_write(q, 2, 0x34);
    cmos_write(q, 4, 0x12);
    cmos_write(q, 7, 0x15);
    cmos_write(q, 8, 0x06);
    cmos_write(q, 9, 0x30);
    cmos_write(q, 0x32, 0x20);
    cmos_write(q, 0x0b, cmos(q, 0x0b) & ~0x80);
    qtest_clock_step(q, 3 * NS);
    CHECK(cmos(q, 9) == 0x30 && cmos(q, 8) == 0x06 && cmos(q, 4) == 0x12 && cmos(q, 2) == 0x34 &&
          bcd(cmos(q, 0)) >= 58 && bcd(cmos(q, 0)) <= 59,
          "a clock set to 2030-06-15 12:34:56 reads 12:34:5x three seconds later");

    /* alarm: hours and minutes "don't care", seconds = now + 2 */
    {
        int s = bcd(cmos(q, 0));
        int want = (s + 2) % 60;

        cmos_write(q, 1, ((want / 10) << 4) | (want % 10));
        cmos_write(q, 3, 0xc0);
        cmos_write(q, 5, 0xc0);
        cmos(q, 0x0c);
        cmos_write(q, 0x0b, cmos(q, 0x0b) | 0x20);
        qtest_clock_step(q, 3 * NS);
        c = cmos(q, 0x0c);
        CHECK(c & 0x20, "the alarm fires at its second (C 0x%02x)", c);
        cmos_write(q, 0x0b, cmos(q, 0x0b) & ~0x20);
    }

    /* binary and 12-hour modes */
    cmos_write(q, 0x0b, 0x04);          /* binary, 12-hour */
    {
        uint8_t h = cmos(q, 4);

        CHECK((h & 0x80) && (h & 0x7f) == 12, "in binary 12-hour mode 12:35 reads as 12 PM (0x%02x)", h);
    }
    cmos_write(q, 0x0b, 0x02);
    cmos_write(q, 0x40, 0xa5);
    CHECK(cmos(q, 0x40) == 0xa5, "CMOS RAM keeps what is written");
    qtest_outb(q, 0x70, 0x80 | 0x40);
    CHECK(qtest_inb(q, 0x71) == 0xa5, "the NMI-mask bit of the index port does not change the register");
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "the RTC's state round-trips");
    qtest_cmd(q, "system_reset");
    CHECK(cmos(q, 0x40) == 0xa5, "a system reset keeps the CMOS RAM");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    check_bases();
    return tap_done();
}
