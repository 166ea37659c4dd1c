/* piix3.c: the PIIX3 PCI-to-ISA bridge at 01.0 and its PIRQ router, which takes PCI INTx to ISA interrupts (82371SB datasheet section 2.2) */
#define LOG_PREFIX "piix3: "
#include "hw/isa/isa.h"
#include "hw/pci/pci.h"
#include "hw/pc/piix.h"
#include "migration/vmstate.h"
#include "util/log.h"

/* interrupts a PIRQ may not be steered to: reserved encodings (2.2.13) */
#define PIRQ_IRQ_VALID      0xdef8      /* 3-7, 9-12, 14, 15 */

struct piix3 {
    struct device dev;
    struct pci_device pci;
    /* which (devfn, pin) pairs assert each PIRQ: derived, rebuilt by the functions' reloads */
    uint64_t pirq_src[4][256 * 4 / 64];
    uint16_t driven;            /* ISA interrupts we hold high now */
};
PCI_DEVICE_CHECK(struct piix3);

/* Register defaults after reset (82371SB section 2.2, PCI configuration registers) */
static const struct { uint8_t off, val, wmask; } piix3_regs[] = {
    { 0x4c, 0x4d, 0xff },       /* IORT: ISA I/O recovery timer */
    { 0x4e, 0x03, 0xff },       /* XBCS: X-bus chip select */
    { 0x4f, 0x00, 0xff },
    { PIIX3_PIRQRC + 0, 0x80, 0x8f },  /* PIRQRC[A-D]: routing disabled */
    { PIIX3_PIRQRC + 1, 0x80, 0x8f },
    { PIIX3_PIRQRC + 2, 0x80, 0x8f },
    { PIIX3_PIRQRC + 3, 0x80, 0x8f },
    { 0x69, 0x02, 0xff },       /* TOM: top of memory */
    { 0x6a, 0x00, 0xff },       /* MSTAT */
    { 0x6b, 0x00, 0xff },
    { 0x70, 0x80, 0xcf },       /* MBIRQ0 */
    { 0x71, 0x80, 0xcf },       /* MBIRQ1 */
    { 0x76, 0x04, 0x87 },       /* MBDMA0 */
    { 0x77, 0x04, 0x87 },       /* MBDMA1 */
    { 0x78, 0x02, 0xff },       /* PCSC */
    { 0x79, 0x00, 0xff },
    { 0x80, 0x00, 0x7f },       /* APICBASE */
    { 0x82, 0x00, 0x0f },       /* DLC */
    { 0xa0, 0x08, 0x1b },       /* SMICNTL */
    { 0xa2, 0x00, 0xff },       /* SMIEN */
    { 0xa3, 0x00, 0xff },
    { 0xa4, 0x00, 0xff },       /* SEE */
    { 0xa5, 0x00, 0xff },
    { 0xa6, 0x00, 0xff },
    { 0xa7, 0x00, 0xff },
    { 0xa8, 0x0f, 0xff },       /* FTMR */
    { 0xaa, 0x00, 0xff },       /* SMIREQ */
    { 0xab, 0x00, 0xff },
    { 0xac, 0x00, 0xff },       /* CTLTMR */
    { 0xae, 0x00, 0xff },       /* CTHTMR */
};

static int pirq_irq(const struct piix3 *s, int pirq)
{
    uint8_t v = s->pci.config[PIIX3_PIRQRC + pirq];

    if (v & 0x80)
        return -1;
    v &= 0x0f;
    return PIRQ_IRQ_VALID & (1u << v) ? v : -1;
}

static bool pirq_asserted(const struct piix3 *s, int pirq)
{
    for (size_t i = 0; i < ARRAY_SIZE(s->pirq_src[pirq]); i++)
        if (s->pirq_src[pirq][i])
            return true;
    return false;
}

/* PCI interrupts are level-triggered and shared: an ISA line is high while any PIRQ
 * routed to it is asserted. Only lines we raised are ever lowered. */
static void piix3_update_lines(struct piix3 *s)
{
    uint16_t want = 0;

    for (int p = 0; p < 4; p++) {
        int irq = pirq_irq(s, p);

        if (irq >= 0 && pirq_asserted(s, p))
            want |= 1u << irq;
    }
    for (int irq = 0; irq < ISA_NUM_IRQS; irq++) {
        uint16_t bit = 1u << irq;

        if ((want ^ s->driven) & bit)
            irq_set(isa_get_irq(irq), !!(want & bit));
    }
    s->driven = want;
}

static void piix3_route(void *opaque, int devfn, int pin, int level)
{
    struct piix3 *s = opaque;
    int pirq, bit;

    /* INTA#..INTD# of a function on the bus: anything else has no line to drive */
    if (devfn < 0 || devfn > 255 || pin < 0 || pin > 3)
        return;
    pirq = pci_slot_pirq(devfn, pin);
    bit = devfn * 4 + pin;

    if (level)
        s->pirq_src[pirq][bit / 64] |= 1ULL << (bit % 64);
    else
        s->pirq_src[pirq][bit / 64] &= ~(1ULL << (bit % 64));
    piix3_update_lines(s);
}

/* For an INTx irqfd: the ISA interrupt a pin reaches, which is the GSI of that number on this board */
static int piix3_intx_gsi(void *opaque, int devfn, int pin)
{
    return pirq_irq(opaque, pci_slot_pirq(devfn, pin));
}

static void piix3_config_write(struct pci_device *d, unsigned off, uint32_t val, unsigned size)
{
    if (off < PIIX3_PIRQRC + 4 && off + size > PIIX3_PIRQRC)
        piix3_update_lines(container_of(d, struct piix3, pci));
}

static const struct pci_device_ops piix3_pci_ops = {
    .config_write = piix3_config_write,
};

static const struct pci_id piix3_id = {
    .vendor = 0x8086,
    .device = 0x7000,
    .class_code = 0x060100,     /* ISA bridge */
    .header_type = PCI_HEADER_MULTI_FUNCTION,  /* IDE, USB and PM follow at 01.1-01.3 */
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
};

static void piix3_reset(struct device *dev)
{
    struct piix3 *s = container_of(dev, struct piix3, dev);

    pci_device_reset(&s->pci);
    /* PCI 2.3 devices: the command register of a PIIX3 resets to I/O, memory and master enabled */
    pci_set_word(s->pci.config + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    for (size_t i = 0; i < ARRAY_SIZE(piix3_regs); i++)
        s->pci.config[piix3_regs[i].off] = piix3_regs[i].val;
    piix3_update_lines(s);
}

static int piix3_realize(struct device *dev, char **err)
{
    struct piix3 *s = container_of(dev, struct piix3, dev);
    int r;

    s->pci.devfn = -1;
    r = pci_device_register(&s->pci, "piix3", &piix3_id, PCI_DEVFN(1, 0), &piix3_pci_ops, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(piix3_regs); i++)
        s->pci.wmask[piix3_regs[i].off] = piix3_regs[i].wmask;
    pci_bus_set_router(piix3_route, s);
    pci_bus_set_intx_gsi(piix3_intx_gsi, s);
    piix3_reset(dev);
    return 0;
}

static void piix3_unrealize(struct device *dev)
{
    struct piix3 *s = container_of(dev, struct piix3, dev);

    pci_bus_set_router(NULL, NULL);
    pci_bus_set_intx_gsi(NULL, NULL);
    pci_device_unregister(&s->pci);
}

static void piix3_state_loaded(struct device *dev)
{
    struct piix3 *s = container_of(dev, struct piix3, dev);

    pci_device_state_loaded(&s->pci);
    piix3_update_lines(s);
}

static const struct vmstate_field piix3_fields[] = {
    VMSTATE_STRUCT(pci, struct piix3, pci_device_vmsd, struct pci_device),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc piix3_vmsd = {
    .name = "piix3",
    .version = 1,
    .min_version = 1,
    .fields = piix3_fields,
};

static struct device_type piix3_type = {
    .name = "piix3",
    .desc = "Intel PIIX3 PCI-to-ISA bridge with PIRQ routing",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct piix3),
    .realize = piix3_realize,
    .reset = piix3_reset,
    .unrealize = piix3_unrealize,
    .vmsd = &piix3_vmsd,
    .state_loaded = piix3_state_loaded,
};
DEVICE_TYPE_REGISTER(piix3_type)
