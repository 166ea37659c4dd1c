/* cmd-pci.c: the command core query-pci: every function on bus 0, its ids, interrupt pin and BARs */
#include "monitor/commands.h"
#include "hw/pci/pci.h"

_Static_assert(sizeof(((struct mon_pci_device_info *)0)->regions) ==
               PCI_NUM_BARS * sizeof(struct mon_pci_memory_region), "a region for every BAR");

/* QEMU's names for the classes guests of this board meet (base class << 8 | subclass) */
static const char *pci_class_desc(uint16_t class)
{
    static const struct { uint16_t class; const char *desc; } names[] = {
        { 0x0100, "SCSI controller" }, { 0x0101, "IDE controller" }, { 0x0200, "Ethernet controller" },
        { 0x0300, "VGA controller" }, { 0x0600, "Host bridge" }, { 0x0601, "ISA bridge" },
        { 0x0680, "Bridge" }, { 0x0c03, "USB controller" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].class == class)
            return names[i].desc;
    return NULL;
}

static void pci_device_info_fill(struct mon_pci_device_info *info, const struct pci_device *d, int devfn)
{
    const uint8_t *c = d->config;

    info->slot = PCI_SLOT(devfn);
    info->function = PCI_FUNC(devfn);
    info->class_info.class = pci_get_word(c + PCI_CLASS_DEVICE);
    info->class_info.desc = pci_class_desc(info->class_info.class);
    info->id.vendor = pci_get_word(c + PCI_VENDOR_ID);
    info->id.device = pci_get_word(c + PCI_DEVICE_ID);
    info->id.subsystem_vendor = pci_get_word(c + PCI_SUBSYSTEM_VENDOR_ID);
    info->id.subsystem = pci_get_word(c + PCI_SUBSYSTEM_ID);
    info->irq_pin = c[PCI_INTERRUPT_PIN];
    info->irq = c[PCI_INTERRUPT_LINE];
    for (int n = 0; n < PCI_NUM_BARS; n++) {
        const struct pci_bar *b = &d->bars[n];
        struct mon_pci_memory_region *r = &info->regions[info->nregions];

        if (!b->size)
            continue;
        r->bar = n;
        r->type = b->kind & PCI_BAR_IO ? "io" : "memory";
        r->address = b->addr;
        r->size = b->size;
        r->prefetch = !(b->kind & PCI_BAR_IO) && (b->kind & PCI_BAR_PREFETCH);
        r->mem_type_64 = !(b->kind & PCI_BAR_IO) && (b->kind & PCI_BAR_MEM64);
        info->nregions++;
    }
}

struct mon_pci_device_info *mon_query_pci(void)
{
    struct mon_pci_device_info *list = NULL, **tail = &list;

    for (int devfn = 0; devfn < 256; devfn++) {
        const struct pci_device *d = pci_find_device(devfn);
        struct mon_pci_device_info *info;

        if (!d)
            continue;
        info = xnew(struct mon_pci_device_info);
        pci_device_info_fill(info, d, devfn);
        *tail = info;
        tail = &info->next;
    }
    return list;
}
