/* pci.c: bus 0: configuration space with read-only and write-1-to-clear bits, the capability list, BAR decoding and mapping, INTx (by irqfd too), MSI delivery (PCI Local Bus spec 3.0 chapter 6) */
#define LOG_PREFIX "pci: "
#include "hw/pci/pci.h"
#include "hw/core/accel.h"
#include "hw/core/bus.h" // bus_type_set_props
#include "hw/core/firmware.h" // firmware_load
#include "hw/core/guest-mem.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h" // loop_add_fd, loop_del_fd

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

static struct {
    struct pci_device *devs[256];
    pci_route_fn *route;
    void *route_opaque;
    pci_intx_gsi_fn *intx_gsi;
    void *intx_gsi_opaque;
    unsigned intx_irqfds;       /* functions whose INTx goes by irqfd */
    bool maps_refused;          /* a BAR could not be mapped where the guest put it */
} bus;

struct pci_device *pci_find_device(int devfn)
{
    return devfn >= 0 && devfn < 256 ? bus.devs[devfn] : NULL;
}

void pci_bus_set_router(pci_route_fn *fn, void *opaque)
{
    bus.route = fn;
    bus.route_opaque = opaque;
}

void pci_bus_set_intx_gsi(pci_intx_gsi_fn *fn, void *opaque)
{
    bus.intx_gsi = fn;
    bus.intx_gsi_opaque = opaque;
}

/* addr=SLOT or SLOT.FN, hex as QEMU spells it ("1f.2", "0x1f") */
static int parse_devfn(const char *s, int *devfn)
{
    char *end;
    unsigned long slot, fn = 0;

    errno = 0;
    slot = strtoul(s, &end, 16);
    if (end == s || errno || slot > 31)
        return -EINVAL;
    if (*end == '.') {
        const char *f = end + 1;

        fn = strtoul(f, &end, 16);
        if (end == f || fn > 7)
            return -EINVAL;
    }
    if (*end)
        return -EINVAL;
    *devfn = PCI_DEVFN(slot, fn);
    return 0;
}

void pci_config_set_wmask(struct pci_device *d, unsigned off, unsigned len, uint8_t mask)
{
    for (unsigned i = off; i < off + len && i < PCI_CONFIG_SIZE; i++)
        d->wmask[i] = mask;
}

int pci_add_capability(struct pci_device *d, uint8_t id, unsigned size)
{
    unsigned off = d->cap_end ? d->cap_end : PCI_HEADER_SIZE, last;

    if (size < 2 || off + size > PCI_CONFIG_SIZE)
        return -ENOSPC;
    /* the list keeps the order the capabilities were added in; each next pointer ends it */
    if (!(pci_get_word(d->config + PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        d->config[PCI_CAPABILITY_LIST] = off;
    } else {
        for (last = d->config[PCI_CAPABILITY_LIST]; d->config[last + 1]; last = d->config[last + 1])
            ;
        d->config[last + 1] = off;
    }
    pci_set_word(d->config + PCI_STATUS, pci_get_word(d->config + PCI_STATUS) | PCI_STATUS_CAP_LIST);
    d->config[off] = id;
    d->config[off + 1] = 0;
    d->cap_end = ALIGN_UP(off + size, 4);
    return off;
}

unsigned pci_find_capability(const struct pci_device *d, uint8_t id)
{
    unsigned n = 0;

    if (!(pci_get_word(d->config + PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    /* bounded: a list is at most 48 DWORD-aligned entries long */
    for (unsigned off = d->config[PCI_CAPABILITY_LIST] & ~3u; off >= PCI_HEADER_SIZE && n < 48;
         off = d->config[off + 1] & ~3u, n++)
        if (d->config[off] == id)
            return off;
    return 0;
}

int pci_device_register(struct pci_device *d, const char *name, const struct pci_id *id,
                        int default_devfn, const struct pci_device_ops *ops, char **err)
{
    int devfn = default_devfn;
    uint8_t *c = d->config;
    const char *romfile;

    if (d->addr && parse_devfn(d->addr, &devfn) < 0) {
        *err = xasprintf("%s: addr=%s is not a PCI address (SLOT or SLOT.FN, hex, slot below 0x20)",
                         name, d->addr);
        return -EINVAL;
    }
    if (devfn < 0) {
        /* as QEMU's: the first free slot (the board's devices and the VGA are there before) */
        for (int slot = 0; slot < 32 && devfn < 0; slot++)
            if (!bus.devs[PCI_DEVFN(slot, 0)])
                devfn = PCI_DEVFN(slot, 0);
        if (devfn < 0) {
            *err = xasprintf("%s: no free PCI slot left", name);
            return -ENOSPC;
        }
    }
    if (bus.devs[devfn]) {
        *err = xasprintf("%s: PCI address %02x.%x is taken by %s", name, PCI_SLOT(devfn),
                         PCI_FUNC(devfn), bus.devs[devfn]->name);
        return -EEXIST;
    }
    d->devfn = devfn;
    d->name = name;
    d->ops = ops;
    for (int i = 0; i < PCI_NUM_BARS; i++)
        d->bars[i].addr = PCI_BAR_UNMAPPED;
    pci_set_word(c + PCI_VENDOR_ID, id->vendor);
    pci_set_word(c + PCI_DEVICE_ID, id->device);
    c[PCI_REVISION_ID] = id->revision;
    c[PCI_CLASS_PROG] = id->class_code & 0xff;
    pci_set_word(c + PCI_CLASS_DEVICE, id->class_code >> 8);
    c[PCI_HEADER_TYPE] = id->header_type | (d->multifunction ? PCI_HEADER_MULTI_FUNCTION : 0);
    pci_set_word(c + PCI_SUBSYSTEM_VENDOR_ID, id->subsys_vendor);
    pci_set_word(c + PCI_SUBSYSTEM_ID, id->subsys);
    c[PCI_INTERRUPT_PIN] = id->intx_pin;
    /* the status register says what we do: 66 MHz-free, fast back-to-back, medium DEVSEL */
    pci_set_word(c + PCI_STATUS, PCI_STATUS_FAST_BACK | PCI_STATUS_DEVSEL_MEDIUM);
    d->intx_fast.gsi = -1;
    pci_set_word(d->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    pci_set_word(d->w1cmask + PCI_STATUS, PCI_STATUS_W1C);
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_LATENCY_TIMER] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    bus.devs[devfn] = d;
    romfile = d->romfile ? d->romfile : id->romfile;
    if (romfile && *romfile) {
        uint8_t *rom = NULL;
        size_t len;
        int r = firmware_load("option ROM", romfile, &rom, &len, err);

        if (r == 0)
            r = pci_register_rom(d, rom, len, err);
        free(rom);
        if (r < 0) {
            bus.devs[devfn] = NULL;
            d->devfn = -1;
            return r;
        }
    }
    return 0;
}

static void bar_unmap(struct pci_device *d, struct pci_bar *b)
{
    if (b->addr == PCI_BAR_UNMAPPED)
        return;
    if (b->region)
        io_region_unmap(b->region);
    gmem_unmap(b->block);
    b->block = NULL;
    b->addr = PCI_BAR_UNMAPPED;
}

void pci_device_unregister(struct pci_device *d)
{
    if (d->devfn < 0 || bus.devs[d->devfn] != d)
        return;
    pci_msix_uninit(d);
    pci_intx_irqfd_disable(d);
    for (int i = 0; i < PCI_NUM_BARS; i++)
        bar_unmap(d, &d->bars[i]);
    bus.devs[d->devfn] = NULL;
    ram_region_free(d->rom);
    d->rom = NULL;
    d->devfn = -1;
}

static unsigned bar_offset(int n)
{
    return n == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * n;
}

static void bar_setup(struct pci_device *d, int n, uint8_t kind, uint64_t size)
{
    struct pci_bar *b = &d->bars[n];
    unsigned off = bar_offset(n);
    uint64_t mask = ~(size - 1);

    b->size = size;
    b->kind = kind;
    if (n == PCI_ROM_SLOT) {
        pci_set_long(d->wmask + off, (uint32_t)mask | PCI_ROM_ENABLE);
        return;
    }
    d->config[off] = kind;
    pci_set_long(d->wmask + off, (uint32_t)mask & (kind & PCI_BAR_IO ? ~3u : ~15u));
    if (kind & PCI_BAR_MEM64)
        pci_set_long(d->wmask + off + 4, mask >> 32);
}

void pci_register_bar(struct pci_device *d, int n, uint8_t kind, struct io_region *r)
{
    bar_setup(d, n, kind, r->size);
    d->bars[n].region = r;
}

void pci_register_bar_ram(struct pci_device *d, int n, uint8_t kind, struct ram_region *ram)
{
    bar_setup(d, n, kind, ram->size);
    d->bars[n].ram = ram;
}

int pci_register_rom(struct pci_device *d, const uint8_t *image, size_t len, char **err)
{
    uint64_t size = GUEST_PAGE_SIZE;
    struct ram_region *ram;
    int r;

    while (size < len)
        size <<= 1;
    if (size > 16 * MiB) {
        *err = xasprintf("%s: an option ROM of %zu bytes is too large", d->name, len);
        return -EFBIG;
    }
    /* its own region (page aligned, as the accelerator maps it straight into the guest) */
    r = ram_region_alloc(&ram, "pci.rom", size, true);
    if (r < 0) {
        *err = xasprintf("%s: cannot allocate the option ROM: %s", d->name, strerror(-r));
        return r;
    }
    memcpy(ram->hva, image, len);
    d->rom = ram;
    pci_register_bar_ram(d, PCI_ROM_SLOT, PCI_BAR_MEM32, ram);
    return 0;
}

/* Where a BAR decodes now (section 6.2.5), or PCI_BAR_UNMAPPED; like QEMU, address 0 and
 * a window that reaches the top of its address space (BAR sizing) decode nothing. */
static uint64_t bar_address(const struct pci_device *d, int n)
{
    const struct pci_bar *b = &d->bars[n];
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    uint32_t lo = pci_get_long(d->config + bar_offset(n));
    uint64_t a, limit;

    if (n == PCI_ROM_SLOT) {
        if (!(cmd & PCI_COMMAND_MEMORY) || !(lo & PCI_ROM_ENABLE))
            return PCI_BAR_UNMAPPED;
        a = lo & ~(uint32_t)(b->size - 1) & ~0x7ffu;
        limit = UINT32_MAX;
    } else if (b->kind & PCI_BAR_IO) {
        if (!(cmd & PCI_COMMAND_IO))
            return PCI_BAR_UNMAPPED;
        a = lo & ~(uint32_t)(b->size - 1) & ~3u;
        limit = 0xffff;
    } else {
        if (!(cmd & PCI_COMMAND_MEMORY))
            return PCI_BAR_UNMAPPED;
        a = lo & ~(uint32_t)(b->size - 1) & ~15u;
        limit = UINT32_MAX - 1;
        if (b->kind & PCI_BAR_MEM64) {
            a |= (uint64_t)pci_get_long(d->config + bar_offset(n) + 4) << 32;
            a &= ~(b->size - 1);
            limit = UINT64_MAX - 1;
        }
    }
    if (a == 0 || a + b->size - 1 < a || a + b->size - 1 > limit)
        return PCI_BAR_UNMAPPED;
    return a;
}

static void bar_map(struct pci_device *d, struct pci_bar *b, uint64_t a)
{
    int r = 0;

    if (b->region)
        r = io_region_map(b->region, a);
    else if (b->ram)
        r = gmem_map(b->ram, 0, a, b->size, false, d->name, &b->block);
    if (r < 0) {
        /* an overlap the dispatcher has named; it is tried again when a BAR moves away */
        if (r != -EBUSY)
            log_guest_error("%s: BAR at 0x%" PRIx64 " (%" PRIu64 " bytes) cannot be mapped there: %s",
                            d->name, a, b->size, strerror(-r));
        bus.maps_refused = true;
        return;
    }
    b->addr = a;
}

static void pci_update_mappings(struct pci_device *d)
{
    for (int n = 0; n < PCI_NUM_BARS; n++) {
        struct pci_bar *b = &d->bars[n];
        uint64_t a;

        if (!b->size)
            continue;
        a = bar_address(d, n);
        if (a == b->addr)
            continue;
        bar_unmap(d, b);
        if (a != PCI_BAR_UNMAPPED)
            bar_map(d, b, a);
    }
}

/* ---- INTx by irqfd ---- */

/* Where the pin reaches the interrupt controllers now, by the board's routing, or -1. */
static int intx_gsi(const struct pci_device *d)
{
    uint8_t pin = d->config[PCI_INTERRUPT_PIN];

    if (!bus.intx_gsi || pin < 1 || pin > 4 || d->devfn < 0)
        return -1;
    return bus.intx_gsi(bus.intx_gsi_opaque, d->devfn, pin - 1);
}

/* Keep the irqfd on the GSI the pin is routed to (the guest may re-route it any time). */
static void intx_irqfd_follow(struct pci_device *d)
{
    struct pci_intx_irqfd *f = &d->intx_fast;
    int gsi = intx_gsi(d);

    if (gsi == f->gsi)
        return;
    /* the old GSI's level goes with its irqfd (KVM lowers it) */
    if (f->gsi >= 0)
        accel_irqfd(f->fd, f->gsi, f->resample_fd, false);
    f->gsi = -1;
    f->raised = false;
    if (gsi >= 0 && accel_irqfd(f->fd, gsi, f->resample_fd, true) == 0)
        f->gsi = gsi;
}

/* The guest's EOI: the line dropped; while the pin is still high it goes up again. */
static void intx_resample(void *opaque, uint32_t events)
{
    struct pci_device *d = opaque;
    uint64_t n;

    if (read(d->intx_fast.resample_fd, &n, sizeof(n)) != sizeof(n))
        return;
    if (d->intx_fast.gsi >= 0 && d->intx_fast.raised)
        eventfd_write(d->intx_fast.fd, 1);
}

/* Compute the pin's output; tell the router or the irqfd when it changed (or always, when `force`). */
static void pci_update_irq_(struct pci_device *d, bool force)
{
    struct pci_intx_irqfd *f = &d->intx_fast;
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    uint16_t st = pci_get_word(d->config + PCI_STATUS);
    uint8_t out = d->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE) && !pci_msi_enabled(d) &&
                  !pci_msix_enabled(d);

    /* the Interrupt Status bit shows the pin's state whatever INTx Disable says (6.2.3) */
    st = d->intx_level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT;
    pci_set_word(d->config + PCI_STATUS, st);
    if (f->on) {
        intx_irqfd_follow(d);
        if (f->gsi >= 0) {
            /* KVM holds the line from the signal to the EOI; the router hears nothing */
            if (out && !f->raised)
                eventfd_write(f->fd, 1);
            f->raised = out;
            out = 0;
        }
    }
    if (out == d->intx_out && !force)
        return;
    d->intx_out = out;
    if (bus.route && d->config[PCI_INTERRUPT_PIN] && d->devfn >= 0)
        bus.route(bus.route_opaque, d->devfn, d->config[PCI_INTERRUPT_PIN] - 1, out);
}

int pci_intx_irqfd_enable(struct pci_device *d)
{
    struct pci_intx_irqfd *f = &d->intx_fast;

    if (f->on)
        return 0;
    f->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (f->fd < 0)
        return -errno;
    f->resample_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (f->resample_fd < 0 || loop_add_fd(f->resample_fd, EPOLLIN, intx_resample, d) < 0) {
        int e = f->resample_fd < 0 ? -errno : -EIO;

        if (f->resample_fd >= 0)
            close(f->resample_fd);
        close(f->fd);
        return e;
    }
    f->on = true;
    f->gsi = -1;
    f->raised = false;
    bus.intx_irqfds++;
    pci_update_irq_(d, false);
    return 0;
}

void pci_intx_irqfd_disable(struct pci_device *d)
{
    struct pci_intx_irqfd *f = &d->intx_fast;

    if (!f->on)
        return;
    if (f->gsi >= 0)
        accel_irqfd(f->fd, f->gsi, f->resample_fd, false);
    loop_del_fd(f->resample_fd);
    close(f->resample_fd);
    close(f->fd);
    *f = (struct pci_intx_irqfd){ .gsi = -1 };
    bus.intx_irqfds--;
    /* the router's way again, with the pin's level as it is */
    pci_update_irq_(d, true);
}

/* ---- MSI and MSI-X messages ---- */

void pci_msi_send(struct pci_device *d, struct msi_msg msg)
{
    uint8_t le[4];

    /* a message is a memory write the function masters (6.8): none while bus mastering is off */
    if (!(pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_MASTER))
        return;
    if (msi_addr_is_apic(msg.addr)) {
        accel_msi_send(msg);
        return;
    }
    stl_le(le, msg.data);
    if (gmem_write(msg.addr, le, 4) < 0)
        log_guest_error("%s: an MSI to 0x%" PRIx64 ", where there is neither memory nor an APIC, is dropped",
                        d->name, msg.addr);
}

static void pci_update_irq(struct pci_device *d)
{
    pci_update_irq_(d, false);
}

void pci_set_irq(struct pci_device *d, int level)
{
    d->intx_level = !!level;
    pci_update_irq(d);
}

void pci_device_reset(struct pci_device *d)
{
    for (int i = 0; i < PCI_CONFIG_SIZE; i++) {
        d->config[i] &= ~d->wmask[i];
        d->config[i] &= ~d->w1cmask[i];
    }
    /* MSI's pending bits are the function's, read-only to software, and go at a reset too */
    if (d->msi_cap && pci_get_word(d->config + d->msi_cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_MASKBIT)
        pci_set_long(d->config + d->msi_cap +
                     (pci_get_word(d->config + d->msi_cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_64BIT ?
                      PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32), 0);
    pci_msix_reset(d);
    pci_update_mappings(d);
    d->intx_level = 0;
    pci_update_irq(d);
}

void pci_device_state_loaded(struct pci_device *d)
{
    for (int n = 0; n < PCI_NUM_BARS; n++)
        bar_unmap(d, &d->bars[n]);
    pci_update_mappings(d);
    pci_msix_state_loaded(d);
    /* the router learns the pin's level again, whatever it believed before the load */
    pci_update_irq_(d, true);
}

static bool touches(unsigned off, unsigned size, unsigned lo, unsigned hi)
{
    return off < hi && off + size > lo;
}

uint32_t pci_config_read(int devfn, unsigned off, unsigned size)
{
    struct pci_device *d = pci_find_device(devfn);
    uint32_t v = 0;

    if (!d || off + size > PCI_CONFIG_SIZE)
        return size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
    if (d->ops && d->ops->config_read)
        d->ops->config_read(d, off, size);
    memcpy(&v, d->config + off, size);
    return v;
}

void pci_config_write(int devfn, unsigned off, uint32_t val, unsigned size)
{
    struct pci_device *d = pci_find_device(devfn);

    if (!d || off + size > PCI_CONFIG_SIZE)
        return;
    for (unsigned i = 0; i < size; i++) {
        uint8_t byte = val >> (8 * i), wm = d->wmask[off + i], w1c = d->w1cmask[off + i];
        uint8_t *c = &d->config[off + i];

        *c = (*c & ~wm) | (byte & wm);
        *c &= ~(byte & w1c);
    }
    if (touches(off, size, PCI_COMMAND, PCI_COMMAND + 2) ||
        touches(off, size, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_0 + 24) ||
        touches(off, size, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS + 4)) {
        bool refused_before = bus.maps_refused;

        pci_update_mappings(d);
        /* a BAR that moved away may leave room for one that was refused before */
        if (refused_before) {
            bus.maps_refused = false;
            for (int i = 0; i < 256; i++)
                if (bus.devs[i])
                    pci_update_mappings(bus.devs[i]);
        }
    }
    if (d->msi_cap && touches(off, size, d->msi_cap, d->msi_cap + 0x18))
        pci_msi_config_write(d, off, size);
    if (d->msix && (touches(off, size, d->msix->cap, d->msix->cap + 4) ||
                    touches(off, size, PCI_COMMAND, PCI_COMMAND + 2)))
        pci_msix_config_write(d);
    if (touches(off, size, PCI_COMMAND, PCI_COMMAND + 2) ||
        (d->msi_cap && touches(off, size, d->msi_cap, d->msi_cap + 4)) ||
        (d->msix && touches(off, size, d->msix->cap, d->msix->cap + 4)))
        pci_update_irq(d);
    if (d->ops && d->ops->config_write)
        d->ops->config_write(d, off, val, size);
    /* the write may have re-routed a pin (the router's PIRQ registers): irqfds follow */
    if (bus.intx_irqfds)
        for (int i = 0; i < 256; i++)
            if (bus.devs[i] && bus.devs[i]->intx_fast.on)
                pci_update_irq(bus.devs[i]);
}

/* ---- firmware's job, for direct kernel boot ---- */

struct bar_ref {
    struct pci_device *d;
    int n;
};

static int bar_ref_cmp(const void *a, const void *b)
{
    const struct bar_ref *x = a, *y = b;
    uint64_t sx = x->d->bars[x->n].size, sy = y->d->bars[y->n].size;

    if (sx != sy)
        return sx < sy ? 1 : -1;
    return x->d->devfn * 8 + x->n - (y->d->devfn * 8 + y->n);
}

void pci_bus_assign(uint32_t io_base, uint32_t mem_base, uint32_t mem_limit,
                    const uint8_t irq_of_pirq[4])
{
    struct bar_ref refs[256];
    size_t nrefs = 0;
    uint64_t io = io_base, mem = mem_base;

    for (int devfn = 0; devfn < 256; devfn++) {
        struct pci_device *d = bus.devs[devfn];

        if (!d)
            continue;
        for (int n = 0; n < PCI_ROM_SLOT && nrefs < ARRAY_SIZE(refs); n++)
            if (d->bars[n].size)
                refs[nrefs++] = (struct bar_ref){ d, n };
    }
    /* largest first, so that each BAR lands naturally aligned with no gaps */
    qsort(refs, nrefs, sizeof(refs[0]), bar_ref_cmp);
    for (size_t i = 0; i < nrefs; i++) {
        struct pci_device *d = refs[i].d;
        struct pci_bar *b = &d->bars[refs[i].n];
        unsigned off = bar_offset(refs[i].n);
        uint64_t *next = b->kind & PCI_BAR_IO ? &io : &mem;
        uint64_t a = ALIGN_UP(*next, b->size), end = b->kind & PCI_BAR_IO ? 0x10000 : mem_limit;

        if (a + b->size > end) {
            log_warn("%s: no room for BAR %d (%" PRIu64 " bytes)", d->name, refs[i].n, b->size);
            continue;
        }
        *next = a + b->size;
        pci_config_write(d->devfn, off, (uint32_t)a | b->kind, 4);
        if (b->kind & PCI_BAR_MEM64)
            pci_config_write(d->devfn, off + 4, a >> 32, 4);
    }
    for (int devfn = 0; devfn < 256; devfn++) {
        struct pci_device *d = bus.devs[devfn];
        uint8_t pin;

        if (!d)
            continue;
        pin = d->config[PCI_INTERRUPT_PIN];
        if (pin >= 1 && pin <= 4)
            pci_config_write(devfn, PCI_INTERRUPT_LINE, irq_of_pirq[pci_slot_pirq(devfn, pin - 1)], 1);
        pci_config_write(devfn, PCI_COMMAND,
                         PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    }
}

/* ---- state ---- */

/* A function on the bus compares what it loads with its header as it is (a fresh copy does not). */
static int pci_device_pre_load(void *opaque)
{
    struct pci_device *d = opaque;

    d->header_check = d->devfn >= 0 && pci_find_device(d->devfn) == d;
    if (d->header_check)
        memcpy(d->header_before, d->config, PCI_CONFIG_SIZE);
    return 0;
}

/* Read-only bits the function itself changes: the MSI pending bits (checked on their own). */
static bool config_byte_volatile(const struct pci_device *d, unsigned i)
{
    unsigned p;

    if (!d->msi_cap || !(pci_get_word(d->header_before + d->msi_cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_MASKBIT))
        return false;
    p = d->msi_cap + (pci_get_word(d->header_before + d->msi_cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_64BIT ?
                      PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
    return i >= p && i < p + 4;
}

/*
 * The header's read-only bits (ids, class, header type, interrupt pin, a BAR's type and size
 * bits) are the device's, not the stream's: a stream that changes them is refused, as QEMU
 * refuses a config space that differs under its check mask. Status bits that the hardware sets
 * (interrupt status, the write-1-to-clear errors) may differ.
 */
static int pci_device_post_load(void *opaque, int version)
{
    struct pci_device *d = opaque;

    unsigned end;

    if (!d->header_check)
        return 0;
    d->header_check = false;
    /* the header and the capability list; what follows is the device's to check */
    end = MAX((unsigned)PCI_HEADER_SIZE, (unsigned)d->cap_end);
    for (unsigned i = 0; i < end; i++) {
        uint8_t ro = ~(d->wmask[i] | d->w1cmask[i]);

        if (i == PCI_STATUS)
            ro &= ~PCI_STATUS_INTERRUPT;
        if (config_byte_volatile(d, i))
            ro = 0;
        if ((d->config[i] ^ d->header_before[i]) & ro) {
            log_warn("%s: a state load changes read-only config byte 0x%02x (0x%02x -> 0x%02x)",
                     d->name ? d->name : "pci", i, d->header_before[i], d->config[i]);
            return -EINVAL;
        }
    }
    return pci_msi_check_loaded(d);
}

static const struct vmstate_field pci_device_fields[] = {
    VMSTATE_U8_ARRAY(config, struct pci_device, PCI_CONFIG_SIZE),
    VMSTATE_U8_MAX(intx_level, struct pci_device, 1),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc pci_device_vmsd = {
    .name = "pci-device",
    .version = 1,
    .min_version = 1,
    .fields = pci_device_fields,
    .pre_load = pci_device_pre_load,
    .post_load = pci_device_post_load,
};

/* ---- what the PCI bus gives every device on it ---- */

/* A PCI device's struct pci_device follows its struct device (pci.h), so its offset is fixed. */
static const struct prop_desc pci_bus_props[] = {
    { .name = "addr", .type = PROP_STRING, .offset = PCI_DEVICE_OFFSET + offsetof(struct pci_device, addr),
      .help = "PCI slot[.function], hex (the first free slot without it)" },
    { .name = "romfile", .type = PROP_STRING, .offset = PCI_DEVICE_OFFSET + offsetof(struct pci_device, romfile),
      .help = "the option ROM image for the ROM BAR (empty: none; default: the device's own)" },
    { .name = "multifunction", .type = PROP_BOOL,
      .offset = PCI_DEVICE_OFFSET + offsetof(struct pci_device, multifunction), .def = "off",
      .help = "say in the header that the slot has more functions" },
    DEFINE_PROP_END,
};

static void __attribute__((constructor)) pci_bus_props_register(void)
{
    bus_type_set_props(BUS_PCI, pci_bus_props);
}
