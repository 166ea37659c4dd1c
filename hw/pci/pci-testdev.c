/* pci-testdev.c: a PCI function for tests: an MMIO, an I/O and a 64-bit memory BAR, and a register that drives INTx */
#define LOG_PREFIX "pci-testdev: "
#include "hw/pci/pci.h"
#include "hw/core/guest-mem.h" // ram_region_alloc
#include "migration/vmstate.h"
#include "util/log.h"

#include <sys/mman.h>

/* Both register BARs: 0 scratch (32 bits), 4 INTx level (bit 0). BAR 2 is plain memory. */
#define TESTDEV_SCRATCH 0
#define TESTDEV_INTX 4
#define TESTDEV_RAM_SIZE (64 * KiB)

struct pci_testdev {
    struct device dev;
    struct pci_device pci;
    struct io_region mmio, pio;
    struct ram_region *ram_region;  /* BAR 2's memory */
    uint8_t *ram;
    uint32_t scratch;
};
PCI_DEVICE_CHECK(struct pci_testdev);

static uint64_t testdev_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_testdev *t = opaque;

    switch (off) {
    case TESTDEV_SCRATCH:
        return t->scratch;
    case TESTDEV_INTX:
        return t->pci.intx_level;
    default:
        return 0;
    }
}

static void testdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pci_testdev *t = opaque;

    if (off == TESTDEV_SCRATCH)
        t->scratch = val;
    else if (off == TESTDEV_INTX)
        pci_set_irq(&t->pci, val & 1);
}

static const struct io_region_ops testdev_ops = {
    .read = testdev_read,
    .write = testdev_write,
    .valid = { .min = 4, .max = 4 },
};

static const struct pci_id testdev_id = {
    .vendor = 0x1b36,           /* QEMU's pci-testdev identity */
    .device = 0x0005,
    .class_code = 0x00ff00,
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
    .intx_pin = 1,
};

static void testdev_reset(struct device *dev)
{
    struct pci_testdev *t = container_of(dev, struct pci_testdev, dev);

    pci_device_reset(&t->pci);
    t->scratch = 0;
}

static int testdev_realize(struct device *dev, char **err)
{
    struct pci_testdev *t = container_of(dev, struct pci_testdev, dev);
    int r;

    t->pci.devfn = -1;
    r = pci_device_register(&t->pci, "pci-testdev", &testdev_id, -1, NULL, err);
    if (r < 0)
        return r;
    r = ram_region_alloc(&t->ram_region, "pci-testdev.ram", TESTDEV_RAM_SIZE, false);
    if (r < 0) {
        pci_device_unregister(&t->pci);
        *err = xasprintf("pci-testdev: cannot allocate its memory: %s", strerror(-r));
        return r;
    }
    t->ram = t->ram_region->hva;
    io_region_init(&t->mmio, IO_SPACE_MMIO, "pci-testdev-mmio", 4096, &testdev_ops, t);
    io_region_init(&t->pio, IO_SPACE_PIO, "pci-testdev-io", 256, &testdev_ops, t);
    pci_register_bar(&t->pci, 0, PCI_BAR_MEM32, &t->mmio);
    pci_register_bar(&t->pci, 1, PCI_BAR_IO, &t->pio);
    pci_register_bar_ram(&t->pci, 2, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, t->ram_region);
    testdev_reset(dev);
    return 0;
}

static void testdev_unrealize(struct device *dev)
{
    struct pci_testdev *t = container_of(dev, struct pci_testdev, dev);

    pci_device_unregister(&t->pci);
    ram_region_free(t->ram_region);
    t->ram_region = NULL;
    t->ram = NULL;
}

static void testdev_state_loaded(struct device *dev)
{
    pci_device_state_loaded(&container_of(dev, struct pci_testdev, dev)->pci);
}

static const struct vmstate_field testdev_fields[] = {
    VMSTATE_STRUCT(pci, struct pci_testdev, pci_device_vmsd, struct pci_device),
    VMSTATE_U32(scratch, struct pci_testdev),
    VMSTATE_PAGES(ram, struct pci_testdev, TESTDEV_RAM_SIZE),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc testdev_vmsd = {
    .name = "pci-testdev",
    .version = 1,
    .min_version = 1,
    .fields = testdev_fields,
};


static struct device_type testdev_type = {
    .name = "pci-testdev",
    .desc = "PCI test function (BARs and INTx for device tests)",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct pci_testdev),
    .user_creatable = true,
    .realize = testdev_realize,
    .reset = testdev_reset,
    .unrealize = testdev_unrealize,
    .vmsd = &testdev_vmsd,
    .state_loaded = testdev_state_loaded,
};
DEVICE_TYPE_REGISTER(testdev_type)
