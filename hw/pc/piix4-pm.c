/* piix4-pm.c: the PIIX4 power management function at 01.3: ACPI PM1 event and control, sleep states and their wake-up events, the PM timer, GPE0 (ACPI 6.4 section 4.8), the APM ports and the SCI (82371AB datasheet chapter 7) */
#define LOG_PREFIX "piix4-pm: "
#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "hw/isa/isa.h"
#include "hw/core/machine.h"
#include "hw/pci/pci.h"
#include "hw/pc/piix.h"
#include "migration/vmstate.h"
#include "target-x86/acpi-build.h"
#include "util/log.h"
#include "util/main-loop.h"

/* PM1 status/enable bits (ACPI 6.4 tables 4.16, 4.17) */
#define PM1_TMR    0x0001
#define PM1_GBL    0x0020
#define PM1_PWRBTN 0x0100
#define PM1_RTC    0x0400
#define PM1_WAK    0x8000
#define PM1_EN_MASK (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)
/* PM1 control (table 4.18) */
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_TYP(v) (((v) >> 10) & 7)
#define PM1_CNT_SLP_EN 0x2000

#define PM_TIMER_HZ 3579545ULL

/* PM I/O space beyond the ACPI registers (82371AB section 7.2) */
#define PMIO_GLBCTL 0x28

struct acpi_pm {
    struct device dev;
    struct pci_device pci;
    uint32_t gpe_base;
    uint32_t sci_irq;
    bool sci_en_at_reset;       /* direct boot: no firmware to switch to ACPI mode */
    struct io_region pm_io, gpe_io, apm_io;
    struct irq *sci;
    struct timer *tmr_overflow;
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint8_t gpe_sts[ACPI_GPE0_LEN / 2], gpe_en[ACPI_GPE0_LEN / 2];
    uint8_t sci_level;
    uint32_t glbctl;
    uint8_t apm_cnt, apm_sts;
};
PCI_DEVICE_CHECK(struct acpi_pm);

/* Ticks since the virtual clock's start; 64 bits, so the overflow timer never lands in the past. */
static uint64_t pm_timer_ticks(void)
{
    unsigned __int128 t = (unsigned __int128)clock_get_ns(CLK_VIRTUAL) * PM_TIMER_HZ;

    return (uint64_t)(t / 1000000000ULL);
}

static void acpi_pm_update_sci(struct acpi_pm *p)
{
    bool gpe = false;

    for (int i = 0; i < ACPI_GPE0_LEN / 2; i++)
        gpe |= p->gpe_sts[i] & p->gpe_en[i];
    p->sci_level = ((p->pm1_sts & p->pm1_en & PM1_EN_MASK) || gpe) &&
                   (p->pm1_cnt & PM1_CNT_SCI_EN);
    irq_set(p->sci, p->sci_level);
}

/* TMR_STS is set whenever bit 23 of the counter changes (24-bit timer). */
static void acpi_pm_arm_overflow(struct acpi_pm *p)
{
    uint64_t ticks, next;
    unsigned __int128 ns;

    if (!(p->pm1_en & PM1_TMR)) {
        timer_del(p->tmr_overflow);
        return;
    }
    ticks = pm_timer_ticks();
    next = (ticks | 0x7fffff) + 1;
    ns = ((unsigned __int128)next * 1000000000ULL + PM_TIMER_HZ - 1) / PM_TIMER_HZ;
    timer_mod(p->tmr_overflow, (int64_t)ns);
}

static void acpi_pm_overflow(void *opaque)
{
    struct acpi_pm *p = opaque;

    p->pm1_sts |= PM1_TMR;
    acpi_pm_update_sci(p);
    acpi_pm_arm_overflow(p);
    /* a sleeping guest that enabled the timer's event wakes on it (refused when awake) */
    machine_request_wakeup(MACHINE_WAKEUP_PMTIMER, NULL);
}

/* RTC_EN and TMR_EN say whether the alarm and the timer wake a sleeping guest (ACPI 6.4 4.8.3.1) */
static void acpi_pm_update_wakeup(struct acpi_pm *p)
{
    machine_wakeup_enable(MACHINE_WAKEUP_RTC, p->pm1_en & PM1_RTC);
    machine_wakeup_enable(MACHINE_WAKEUP_PMTIMER, p->pm1_en & PM1_TMR);
}

/*
 * SLP_EN with SLP_TYP: the values our \_S3, \_S4 and \_S5 name, as QEMU's PIIX4 acts on them
 * whether or not the DSDT offers the state (disable_s3 and disable_s4 only hide it): S3
 * suspends to RAM, S4 is a poweroff once the guest has saved itself, S5 a poweroff.
 */
static void acpi_pm_sleep(unsigned typ)
{
    switch (typ) {
    case ACPI_SLP_TYP_S3:
        machine_request_suspend();
        break;
    case ACPI_SLP_TYP_S4:
    case ACPI_SLP_TYP_S5:
        machine_request_shutdown();
        break;
    default:
        log_guest_error("guest asked for sleep type %u, which this machine does not offer", typ);
        break;
    }
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    struct acpi_pm *p = opaque;

    switch (off) {
    case 0:
        return p->pm1_sts;
    case 2:
        return p->pm1_en;
    case 4:
        return p->pm1_cnt;
    case 8:
        return pm_timer_ticks() & 0xffffff;
    case PMIO_GLBCTL:
        return p->glbctl;
    default:
        return 0;
    }
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct acpi_pm *p = opaque;

    switch (off) {
    case 0:     /* write 1 to clear */
        p->pm1_sts &= ~val;
        break;
    case 2:
        p->pm1_en = val & PM1_EN_MASK;
        acpi_pm_arm_overflow(p);
        acpi_pm_update_wakeup(p);
        break;
    case 4:
        p->pm1_cnt = val & ~PM1_CNT_SLP_EN;
        if (val & PM1_CNT_SLP_EN)
            acpi_pm_sleep(PM1_CNT_SLP_TYP(val));
        break;
    case PMIO_GLBCTL:
        /* kept for firmware that reads it back; without SMM its SMI bits do nothing */
        p->glbctl = val;
        return;
    default:
        return;     /* the PM timer is read-only */
    }
    acpi_pm_update_sci(p);
}

/* 2-byte registers at 0, 2, 4, the 4-byte timer at 8, and GLBCTL */
static const struct io_region_ops pm_ops = {
    .read = pm_read,
    .write = pm_write,
    .valid = { .min = 1, .max = 4 },
    .impl = { .min = 2, .max = 4 },
};

static uint64_t gpe_read(void *opaque, uint64_t off, unsigned size)
{
    struct acpi_pm *p = opaque;
    unsigned half = ACPI_GPE0_LEN / 2;

    return off < half ? p->gpe_sts[off] : p->gpe_en[off - half];
}

static void gpe_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct acpi_pm *p = opaque;
    unsigned half = ACPI_GPE0_LEN / 2;

    if (off < half)
        p->gpe_sts[off] &= ~val;
    else
        p->gpe_en[off - half] = val;
    acpi_pm_update_sci(p);
}

static const struct io_region_ops gpe_ops = {
    .read = gpe_read,
    .write = gpe_write,
    .impl = { .min = 1, .max = 1 },
};

/* Press the power button: PWRBTN_STS, and an SCI if the OS enabled it. */
static void acpi_pm_power_button(void *opaque)
{
    struct acpi_pm *p = container_of((struct device *)opaque, struct acpi_pm, dev);

    p->pm1_sts |= PM1_PWRBTN;
    acpi_pm_update_sci(p);
    /* in a sleeping state the button wakes the machine, whatever PWRBTN_EN says (ACPI 6.4
     * 4.8.3.1.1); the wake-up's reset clears the bit, and the wake-up hook sets it again */
    if (machine_suspended())
        machine_request_wakeup(MACHINE_WAKEUP_POWER_BUTTON, NULL);
}

/*
 * After the wake-up's reset, before the vCPUs run: WAK_STS, and the status bit of what woke the
 * machine. QEMU reports its system_wakeup as the power button, so that an OS sees a wake source.
 */
static void acpi_pm_wakeup(void *opaque, enum machine_wakeup why)
{
    struct acpi_pm *p = opaque;

    p->pm1_sts |= PM1_WAK;
    switch (why) {
    case MACHINE_WAKEUP_RTC:
        p->pm1_sts |= PM1_RTC;
        break;
    case MACHINE_WAKEUP_PMTIMER:
        p->pm1_sts |= PM1_TMR;
        break;
    case MACHINE_WAKEUP_POWER_BUTTON:
    case MACHINE_WAKEUP_OTHER:
        p->pm1_sts |= PM1_PWRBTN;
        break;
    }
    acpi_pm_update_sci(p);
}

/* ---- APM control (0xb2) and status (0xb3), 82371AB section 4.4.2 ---- */

static uint64_t apm_read(void *opaque, uint64_t off, unsigned size)
{
    struct acpi_pm *p = opaque;

    return off == 0 ? p->apm_cnt : p->apm_sts;
}

static void apm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct acpi_pm *p = opaque;

    if (off == 1) {
        p->apm_sts = val;
        return;
    }
    p->apm_cnt = val;
    /*
     * On real boards this raises an SMI and the firmware's handler flips SCI_EN. We have
     * no SMM, so the values our FADT names as ACPI_ENABLE/ACPI_DISABLE act directly.
     */
    if (val == APM_ACPI_ENABLE)
        p->pm1_cnt |= PM1_CNT_SCI_EN;
    else if (val == APM_ACPI_DISABLE)
        p->pm1_cnt &= ~PM1_CNT_SCI_EN;
    acpi_pm_update_sci(p);
}

static const struct io_region_ops apm_ops = {
    .read = apm_read,
    .write = apm_write,
    .impl = { .min = 1, .max = 1 },
};

/* ---- the PCI function ---- */

/* PMBA decodes 64 bytes of I/O while PMREGMISC.PMIOSE is set (82371AB 7.1.3, 7.1.20). */
static void piix4_pm_update_io(struct acpi_pm *p)
{
    uint32_t base = pci_get_long(p->pci.config + PIIX4_PMBA) & 0xffc0;

    if ((p->pci.config[PIIX4_PMREGMISC] & PIIX4_PMIOSE) && base)
        io_region_map(&p->pm_io, base);
    else
        io_region_unmap(&p->pm_io);
}

static void piix4_pm_config_write(struct pci_device *d, unsigned off, uint32_t val, unsigned size)
{
    if ((off < PIIX4_PMBA + 4 && off + size > PIIX4_PMBA) ||
        (off <= PIIX4_PMREGMISC && off + size > PIIX4_PMREGMISC))
        piix4_pm_update_io(container_of(d, struct acpi_pm, pci));
}

static const struct pci_device_ops piix4_pm_pci_ops = {
    .config_write = piix4_pm_config_write,
};

static const struct pci_id piix4_pm_id = {
    .vendor = 0x8086,
    .device = 0x7113,
    .revision = 0x03,
    .class_code = 0x068000,     /* other bridge */
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
    .intx_pin = 1,
};

static void acpi_pm_reset(struct device *dev)
{
    struct acpi_pm *p = container_of(dev, struct acpi_pm, dev);

    pci_device_reset(&p->pci);
    p->pci.config[PIIX4_PMBA] = 0x01;   /* I/O space indicator */
    /*
     * APMC_EN set at reset says "SMM is set up already", so that firmware does not try
     * to relocate SMBASE with an SMI this machine cannot deliver (QEMU does the same).
     */
    pci_set_long(p->pci.config + PIIX4_DEVACTB, PIIX4_DEVACTB_APMC_EN);
    piix4_pm_update_io(p);
    p->pm1_sts = 0;
    p->pm1_en = 0;
    p->pm1_cnt = p->sci_en_at_reset ? PM1_CNT_SCI_EN : 0;
    memset(p->gpe_sts, 0, sizeof(p->gpe_sts));
    memset(p->gpe_en, 0, sizeof(p->gpe_en));
    p->glbctl = 0;
    p->apm_cnt = p->apm_sts = 0;
    timer_del(p->tmr_overflow);
    acpi_pm_update_wakeup(p);
    acpi_pm_update_sci(p);
}

static int acpi_pm_realize(struct device *dev, char **err)
{
    struct acpi_pm *p = container_of(dev, struct acpi_pm, dev);
    int r;

    p->sci = isa_get_irq(p->sci_irq);
    if (!p->sci) {
        *err = xasprintf("piix4-pm: SCI %u is not an ISA interrupt", p->sci_irq);
        return -EINVAL;
    }
    p->pci.devfn = -1;
    r = pci_device_register(&p->pci, "piix4-pm", &piix4_pm_id, PCI_DEVFN(1, 3),
                            &piix4_pm_pci_ops, err);
    if (r < 0)
        return r;
    pci_config_set_wmask(&p->pci, PIIX4_PMBA, 1, 0xc0);
    pci_config_set_wmask(&p->pci, PIIX4_PMBA + 1, 1, 0xff);
    pci_config_set_wmask(&p->pci, PIIX4_DEVACTB, 4, 0xff);
    pci_config_set_wmask(&p->pci, PIIX4_PMREGMISC, 1, PIIX4_PMIOSE);
    pci_config_set_wmask(&p->pci, PIIX4_SMBBA, 1, 0xf0);
    pci_config_set_wmask(&p->pci, PIIX4_SMBBA + 1, 1, 0xff);
    pci_config_set_wmask(&p->pci, PIIX4_SMBHSTCFG, 1, 0x0f);
    p->tmr_overflow = timer_new(CLK_VIRTUAL, acpi_pm_overflow, p);
    io_region_init(&p->pm_io, IO_SPACE_PIO, "piix4-pm", PIIX4_PM_IO_SIZE, &pm_ops, p);
    if ((r = io_region_add(&p->gpe_io, IO_SPACE_PIO, "acpi-gpe0", p->gpe_base, ACPI_GPE0_LEN, &gpe_ops, p)) < 0 ||
        (r = io_region_add(&p->apm_io, IO_SPACE_PIO, "apm", APM_CNT_PORT, 2, &apm_ops, p)) < 0)
        goto fail;
    machine_add_wakeup_hook(acpi_pm_wakeup, p);
    /* the machine's power button (the monitor's system_powerdown, qtest's powerdown) is this one */
    machine_set_power_button(acpi_pm_power_button, dev);
    acpi_pm_reset(dev);
    return 0;
fail:
    timer_free(p->tmr_overflow);
    pci_device_unregister(&p->pci);
    return r;
}

static void acpi_pm_unrealize(struct device *dev)
{
    struct acpi_pm *p = container_of(dev, struct acpi_pm, dev);

    machine_set_power_button(NULL, NULL);
    io_region_unmap(&p->pm_io);
    io_region_unmap(&p->gpe_io);
    io_region_unmap(&p->apm_io);
    timer_free(p->tmr_overflow);
    pci_device_unregister(&p->pci);
}

static void acpi_pm_state_loaded(struct device *dev)
{
    struct acpi_pm *p = container_of(dev, struct acpi_pm, dev);

    pci_device_state_loaded(&p->pci);
    piix4_pm_update_io(p);
    acpi_pm_arm_overflow(p);
    acpi_pm_update_wakeup(p);
    acpi_pm_update_sci(p);
}

static const struct vmstate_field acpi_pm_fields[] = {
    VMSTATE_STRUCT(pci, struct acpi_pm, pci_device_vmsd, struct pci_device),
    VMSTATE_U16(pm1_sts, struct acpi_pm),
    VMSTATE_U16_MAX(pm1_en, struct acpi_pm, PM1_EN_MASK),
    VMSTATE_U16(pm1_cnt, struct acpi_pm),
    VMSTATE_U8_ARRAY(gpe_sts, struct acpi_pm, ACPI_GPE0_LEN / 2),
    VMSTATE_U8_ARRAY(gpe_en, struct acpi_pm, ACPI_GPE0_LEN / 2),
    VMSTATE_U8_MAX(sci_level, struct acpi_pm, 1),
    VMSTATE_U32(glbctl, struct acpi_pm),
    VMSTATE_U8(apm_cnt, struct acpi_pm),
    VMSTATE_U8(apm_sts, struct acpi_pm),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc acpi_pm_vmsd = {
    .name = "piix4-pm",
    .version = 1,
    .min_version = 1,
    .fields = acpi_pm_fields,
};

static const struct prop_desc acpi_pm_props[] = {
    DEFINE_PROP("gpe", struct acpi_pm, gpe_base, PROP_U32, "0xafe0", "GPE0 block"),
    DEFINE_PROP("sci", struct acpi_pm, sci_irq, PROP_U32, "9", "SCI interrupt"),
    DEFINE_PROP("sci-enabled", struct acpi_pm, sci_en_at_reset, PROP_BOOL, "off",
                "start in ACPI mode (no firmware)"),
    DEFINE_PROP_END,
};

static struct device_type acpi_pm_type = {
    .name = "piix4-pm",
    .desc = "Intel PIIX4 power management function (ACPI PM1, S3/S4/S5, PM timer, GPE0, APM)",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct acpi_pm),
    .props = acpi_pm_props,
    .realize = acpi_pm_realize,
    .reset = acpi_pm_reset,
    .unrealize = acpi_pm_unrealize,
    .vmsd = &acpi_pm_vmsd,
    .state_loaded = acpi_pm_state_loaded,
};
DEVICE_TYPE_REGISTER(acpi_pm_type)
