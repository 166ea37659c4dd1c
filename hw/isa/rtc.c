/* rtc.c: the MC146818 real-time clock and CMOS RAM (Motorola MC146818A datasheet), as mc146818rtc; its alarm wakes a sleeping machine */
#define LOG_PREFIX "rtc: "
#include "hw/isa/rtc.h"
#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "hw/isa/isa.h"
#include "hw/core/machine.h"
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h"

#include <time.h>

#define CMOS_SIZE 128

#define RTC_SECONDS 0
#define RTC_SECONDS_ALARM 1
#define RTC_MINUTES 2
#define RTC_MINUTES_ALARM 3
#define RTC_HOURS 4
#define RTC_HOURS_ALARM 5
#define RTC_DAY_OF_WEEK 6
#define RTC_DAY_OF_MONTH 7
#define RTC_MONTH 8
#define RTC_YEAR 9
#define RTC_REG_A 10
#define RTC_REG_B 11
#define RTC_REG_C 12
#define RTC_REG_D 13
#define RTC_CENTURY 0x32

#define REG_A_UIP 0x80
#define REG_B_SET 0x80
#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_DM 0x04   /* binary, not BCD */
#define REG_B_24H 0x02
#define REG_C_IRQF 0x80
#define REG_C_PF 0x40
#define REG_C_AF 0x20
#define REG_C_UF 0x10
#define REG_D_VRT 0x80

#define NS 1000000000LL
/* UIP is set for 244 us before each update (datasheet, "Update Cycle") */
#define UIP_NS 244000LL

struct rtc {
    struct device dev;
    uint32_t iobase;
    uint32_t irq_num;
    char *base;             /* -rtc base=: utc, localtime or a date */
    struct io_region io;
    struct irq *irq;
    struct timer *periodic, *update;
    uint8_t cmos[CMOS_SIZE];
    uint8_t index;
    /* guest time = base_time + (CLK_VIRTUAL - base_clock), in seconds + ns */
    int64_t base_time;      /* unix seconds at base_clock */
    int64_t base_clock;     /* CLK_VIRTUAL ns */
    int64_t next_periodic;  /* CLK_VIRTUAL ns of the next periodic tick, or -1 */
    uint8_t irq_level;
};

/* Register values are two decimal digits; a clock the guest set to nonsense stays in range. */
static int to_bcd(struct rtc *r, int v)
{
    v = ((v % 100) + 100) % 100;
    return (r->cmos[RTC_REG_B] & REG_B_DM) ? v : ((v / 10) << 4) | (v % 10);
}

static int from_bcd(struct rtc *r, int v)
{
    return (r->cmos[RTC_REG_B] & REG_B_DM) ? v : ((v >> 4) * 10) + (v & 0x0f);
}

static int64_t rtc_now_ns(struct rtc *r)
{
    return clock_get_ns(CLK_VIRTUAL) - r->base_clock;
}

/* Write the clock registers from the time we keep. */
static void rtc_fill_time(struct rtc *r)
{
    time_t t = r->base_time + rtc_now_ns(r) / NS;
    struct tm tm;
    int hour;

    gmtime_r(&t, &tm);
    r->cmos[RTC_SECONDS] = to_bcd(r, tm.tm_sec);
    r->cmos[RTC_MINUTES] = to_bcd(r, tm.tm_min);
    hour = tm.tm_hour;
    if (r->cmos[RTC_REG_B] & REG_B_24H) {
        r->cmos[RTC_HOURS] = to_bcd(r, hour);
    } else {
        int h12 = hour % 12 ? hour % 12 : 12;

        r->cmos[RTC_HOURS] = to_bcd(r, h12) | (hour >= 12 ? 0x80 : 0);
    }
    r->cmos[RTC_DAY_OF_WEEK] = to_bcd(r, tm.tm_wday + 1);
    r->cmos[RTC_DAY_OF_MONTH] = to_bcd(r, tm.tm_mday);
    r->cmos[RTC_MONTH] = to_bcd(r, tm.tm_mon + 1);
    r->cmos[RTC_YEAR] = to_bcd(r, tm.tm_year % 100);
    r->cmos[RTC_CENTURY] = to_bcd(r, (tm.tm_year + 1900) / 100);
}

/* The guest set the clock: take the registers as the new time. */
static void rtc_take_time(struct rtc *r)
{
    struct tm tm = { 0 };
    int hour = r->cmos[RTC_HOURS];

    tm.tm_sec = from_bcd(r, r->cmos[RTC_SECONDS]);
    tm.tm_min = from_bcd(r, r->cmos[RTC_MINUTES]);
    if (r->cmos[RTC_REG_B] & REG_B_24H) {
        tm.tm_hour = from_bcd(r, hour);
    } else {
        tm.tm_hour = from_bcd(r, hour & 0x7f) % 12;
        if (hour & 0x80)
            tm.tm_hour += 12;
    }
    tm.tm_mday = from_bcd(r, r->cmos[RTC_DAY_OF_MONTH]);
    tm.tm_mon = from_bcd(r, r->cmos[RTC_MONTH]) - 1;
    tm.tm_year = from_bcd(r, r->cmos[RTC_YEAR]) + from_bcd(r, r->cmos[RTC_CENTURY]) * 100 - 1900;
    if (tm.tm_year < 70)
        tm.tm_year += 100;
    r->base_time = timegm(&tm);
    /* registers holding no valid date: keep the time within years 1970-9999 */
    if (r->base_time < 0)
        r->base_time = 0;
    if (r->base_time > 253402300799LL)
        r->base_time = 253402300799LL;
    r->base_clock = clock_get_ns(CLK_VIRTUAL);
}

static void rtc_update_irq(struct rtc *r)
{
    uint8_t c = r->cmos[RTC_REG_C] & ~REG_C_IRQF;
    uint8_t b = r->cmos[RTC_REG_B];

    if (((c & REG_C_PF) && (b & REG_B_PIE)) || ((c & REG_C_AF) && (b & REG_B_AIE)) ||
        ((c & REG_C_UF) && (b & REG_B_UIE)))
        c |= REG_C_IRQF;
    r->cmos[RTC_REG_C] = c;
    r->irq_level = !!(c & REG_C_IRQF);
    irq_set(r->irq, r->irq_level);
}

/* Periodic interrupt rate from register A's rate bits (datasheet table 4): 32768 >> (rs - 1) Hz. */
static int64_t rtc_period_ns(struct rtc *r)
{
    int rs = r->cmos[RTC_REG_A] & 0x0f;

    if (!rs || ((r->cmos[RTC_REG_A] >> 4) & 7) != 2)
        return 0;
    if (rs <= 2)
        rs += 7;
    return (NS << (rs - 1)) / 32768;
}

static void rtc_arm_periodic(struct rtc *r)
{
    int64_t p = rtc_period_ns(r);

    if (!p || !(r->cmos[RTC_REG_B] & REG_B_PIE)) {
        timer_del(r->periodic);
        r->next_periodic = -1;
        return;
    }
    if (r->next_periodic < 0)
        r->next_periodic = clock_get_ns(CLK_VIRTUAL) + p;
    timer_mod(r->periodic, r->next_periodic);
}

static void rtc_periodic_tick(void *opaque)
{
    struct rtc *r = opaque;
    int64_t p = rtc_period_ns(r), now = clock_get_ns(CLK_VIRTUAL);

    r->cmos[RTC_REG_C] |= REG_C_PF;
    rtc_update_irq(r);
    if (!p)
        return;
    r->next_periodic += p;
    if (r->next_periodic <= now)    /* we fell behind (stopped VM): do not replay a burst */
        r->next_periodic = now + p;
    timer_mod(r->periodic, r->next_periodic);
}

static bool alarm_match(struct rtc *r, int reg, int alarm_reg)
{
    uint8_t a = r->cmos[alarm_reg];

    return (a & 0xc0) == 0xc0 || a == r->cmos[reg];     /* 0xc0-0xff: "don't care" */
}

/* Each second: the update-ended flag, and the alarm check. */
static void rtc_arm_update(struct rtc *r)
{
    int64_t now = rtc_now_ns(r);

    if (!(r->cmos[RTC_REG_B] & (REG_B_UIE | REG_B_AIE)) || (r->cmos[RTC_REG_B] & REG_B_SET)) {
        timer_del(r->update);
        return;
    }
    timer_mod(r->update, r->base_clock + (now / NS + 1) * NS);
}

static void rtc_update_tick(void *opaque)
{
    struct rtc *r = opaque;

    rtc_fill_time(r);
    r->cmos[RTC_REG_C] |= REG_C_UF;
    if (alarm_match(r, RTC_SECONDS, RTC_SECONDS_ALARM) &&
        alarm_match(r, RTC_MINUTES, RTC_MINUTES_ALARM) && alarm_match(r, RTC_HOURS, RTC_HOURS_ALARM)) {
        r->cmos[RTC_REG_C] |= REG_C_AF;
        /* an enabled alarm is a wake-up event for a sleeping machine (when the PM's RTC_EN lets
         * it be one; refused when the machine is awake) */
        if (r->cmos[RTC_REG_B] & REG_B_AIE)
            machine_request_wakeup(MACHINE_WAKEUP_RTC, NULL);
    }
    rtc_update_irq(r);
    rtc_arm_update(r);
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
    struct rtc *r = opaque;
    uint8_t v;

    if (off == 0)
        return 0xff;
    switch (r->index) {
    case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        if (!(r->cmos[RTC_REG_B] & REG_B_SET))
            rtc_fill_time(r);
        return r->cmos[r->index];
    case RTC_REG_A:
        v = r->cmos[RTC_REG_A] & ~REG_A_UIP;
        if (!(r->cmos[RTC_REG_B] & REG_B_SET) && rtc_now_ns(r) % NS >= NS - UIP_NS)
            v |= REG_A_UIP;
        return v;
    case RTC_REG_C:
        /* reading C clears the flags and drops the interrupt */
        v = r->cmos[RTC_REG_C];
        r->cmos[RTC_REG_C] = 0;
        rtc_update_irq(r);
        return v;
    default:
        return r->cmos[r->index];
    }
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rtc *r = opaque;
    uint8_t v = val;

    if (off == 0) {
        r->index = v & 0x7f;    /* bit 7 is the NMI mask */
        return;
    }
    switch (r->index) {
    case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        r->cmos[r->index] = v;
        if (!(r->cmos[RTC_REG_B] & REG_B_SET))
            rtc_take_time(r);
        break;
    case RTC_REG_A:
        r->cmos[RTC_REG_A] = (v & ~REG_A_UIP) | (r->cmos[RTC_REG_A] & REG_A_UIP);
        r->next_periodic = -1;
        rtc_arm_periodic(r);
        break;
    case RTC_REG_B: {
        uint8_t old = r->cmos[RTC_REG_B];

        if ((old & REG_B_SET) && !(v & REG_B_SET)) {
            r->cmos[RTC_REG_B] = v;
            rtc_take_time(r);     /* the guest finished setting the clock */
        } else if (!(old & REG_B_SET) && (v & REG_B_SET)) {
            rtc_fill_time(r);
        }
        if (v & REG_B_SET)
            v &= ~REG_B_UIE;      /* SET stops updates and their interrupt */
        r->cmos[RTC_REG_B] = v;
        if ((v ^ old) & REG_B_PIE)
            r->next_periodic = -1;
        rtc_arm_periodic(r);
        rtc_arm_update(r);
        rtc_update_irq(r);
        break;
    }
    case RTC_REG_C:
    case RTC_REG_D:
        break;      /* read-only */
    default:
        r->cmos[r->index] = v;
        break;
    }
}

static const struct io_region_ops rtc_ops = {
    .read = rtc_read,
    .write = rtc_write,
    .impl = { .min = 1, .max = 1 },
};

void rtc_set_cmos(struct device *dev, unsigned index, uint8_t value)
{
    struct rtc *r = container_of(dev, struct rtc, dev);

    if (index >= 0x0e && index < CMOS_SIZE)
        r->cmos[index] = value;
}

uint8_t rtc_get_cmos(struct device *dev, unsigned index)
{
    struct rtc *r = container_of(dev, struct rtc, dev);

    return index < CMOS_SIZE ? r->cmos[index] : 0xff;
}

/* The guest went to sleep: the BIOS at the wake-up's reset vector is to resume it, as QEMU's
 * RTC tells SeaBIOS (which then jumps to the FACS's waking vector). */
static void rtc_suspended(void *opaque)
{
    struct rtc *r = opaque;

    r->cmos[CMOS_SHUTDOWN_STATUS] = CMOS_SHUTDOWN_S3_RESUME;
}

static void rtc_reset(struct device *dev)
{
    struct rtc *r = container_of(dev, struct rtc, dev);

    /* a reset leaves the time and the CMOS RAM; it clears the interrupt enables */
    r->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SET);
    r->cmos[RTC_REG_C] = 0;
    r->next_periodic = -1;
    timer_del(r->periodic);
    timer_del(r->update);
    rtc_update_irq(r);
}

/* The unix time the clock starts at, as -rtc base= says; -1 for a base it does not know. */
static int64_t rtc_base_time(const char *base)
{
    time_t now = clock_get_ns(CLK_HOST) / NS;
    struct tm tm = { 0 };
    char end;

    if (!base || !strcmp(base, "utc"))
        return now;
    if (!strcmp(base, "localtime")) {
        /* the CMOS holds the host's wall clock, as Windows expects */
        localtime_r(&now, &tm);
        return now + tm.tm_gmtoff;
    }
    if (sscanf(base, "%d-%d-%d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &end) == 3 ||
        (sscanf(base, "%d-%d-%dT%d:%d:%d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                &tm.tm_min, &tm.tm_sec, &end) == 6)) {
        if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
            tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59 ||
            tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
            return -1;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return timegm(&tm);
    }
    return -1;
}

static int rtc_realize(struct device *dev, char **err)
{
    struct rtc *r = container_of(dev, struct rtc, dev);
    int ret;

    r->irq = isa_get_irq(r->irq_num);
    if (!r->irq) {
        *err = xasprintf("mc146818rtc: irq %u is not an ISA interrupt", r->irq_num);
        return -EINVAL;
    }
    r->base_time = rtc_base_time(r->base);
    if (r->base_time < 0) {
        *err = xasprintf("-rtc base=%s: give utc, localtime or a date as 2006-06-17 or "
                         "2006-06-17T16:01:21", r->base);
        return -EINVAL;
    }
    r->periodic = timer_new(CLK_VIRTUAL, rtc_periodic_tick, r);
    r->update = timer_new(CLK_VIRTUAL, rtc_update_tick, r);
    r->cmos[RTC_REG_A] = 0x26;              /* 32.768 kHz time base, 1024 Hz rate */
    r->cmos[RTC_REG_B] = REG_B_24H;         /* BCD, 24-hour, as PC firmware leaves it */
    r->cmos[RTC_REG_D] = REG_D_VRT;
    r->base_clock = clock_get_ns(CLK_VIRTUAL);
    r->next_periodic = -1;
    rtc_fill_time(r);
    ret = io_region_add(&r->io, IO_SPACE_PIO, "rtc", r->iobase, 2, &rtc_ops, r);
    if (ret < 0)
        goto fail;
    machine_add_suspend_hook(rtc_suspended, r);
    rtc_reset(dev);
    return 0;
fail:
    timer_free(r->update);
    timer_free(r->periodic);
    return ret;
}

static void rtc_unrealize(struct device *dev)
{
    struct rtc *r = container_of(dev, struct rtc, dev);

    io_region_unmap(&r->io);
    timer_free(r->periodic);
    timer_free(r->update);
}

/* After a load: the periodic tick keeps its phase, updates and alarms go on, and the line
 * follows register C's flags and B's enables. */
static void rtc_state_loaded(struct device *dev)
{
    struct rtc *r = container_of(dev, struct rtc, dev);

    rtc_arm_periodic(r);
    rtc_arm_update(r);
    rtc_update_irq(r);
}

/* Times a guest can produce: the clock within the years rtc_take_time keeps it in, taken in
 * the past, and the next periodic tick at most one period (half a second at most) ahead. */
static int rtc_post_load(void *opaque, int version)
{
    struct rtc *r = opaque;
    int64_t now = clock_get_ns(CLK_VIRTUAL);

    if (r->base_time < 0 || r->base_time > 253402300799LL || r->base_clock > now ||
        r->next_periodic < -1 || r->next_periodic > now + NS / 2)
        return -EINVAL;
    return 0;
}

static const struct vmstate_field rtc_fields[] = {
    VMSTATE_U8_ARRAY(cmos, struct rtc, CMOS_SIZE),
    VMSTATE_U8_MAX(index, struct rtc, CMOS_SIZE - 1),
    VMSTATE_I64(base_time, struct rtc),
    VMSTATE_I64(base_clock, struct rtc),
    VMSTATE_I64(next_periodic, struct rtc),
    VMSTATE_U8_MAX(irq_level, struct rtc, 1),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc rtc_vmsd = {
    .name = "mc146818rtc",
    .version = 1,
    .min_version = 1,
    .fields = rtc_fields,
    .post_load = rtc_post_load,
};

static const struct prop_desc rtc_props[] = {
    DEFINE_PROP("iobase", struct rtc, iobase, PROP_U32, "0x70", "I/O port base"),
    DEFINE_PROP("irq", struct rtc, irq_num, PROP_U32, "8", "ISA interrupt"),
    DEFINE_PROP("base", struct rtc, base, PROP_STRING, "utc",
                "the time it starts at: utc, localtime or a date (2006-06-17T16:01:21)"),
    DEFINE_PROP_END,
};

static struct device_type rtc_type = {
    .name = "mc146818rtc",
    .desc = "real-time clock and CMOS RAM",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct rtc),
    .props = rtc_props,
    .realize = rtc_realize,
    .reset = rtc_reset,
    .unrealize = rtc_unrealize,
    .vmsd = &rtc_vmsd,
    .state_loaded = rtc_state_loaded,
};
DEVICE_TYPE_REGISTER(rtc_type)
