/* pci.h: the PCI bus: functions and their configuration space, BARs, INTx lines (PCI Local Bus spec 3.0) */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H

#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "hw/core/irq.h" // struct msi_msg

/* Configuration header offsets (PCI 3.0 section 6.1, figure 6-1) */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_HEADER_SIZE         0x40    /* the type 0 header; device registers follow */
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d

/* Command register bits (section 6.2.2) */
#define PCI_COMMAND_IO          0x0001
#define PCI_COMMAND_MEMORY      0x0002
#define PCI_COMMAND_MASTER      0x0004
#define PCI_COMMAND_PARITY      0x0040
#define PCI_COMMAND_SERR        0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

/* Status register bits (section 6.2.3) */
#define PCI_STATUS_INTERRUPT    0x0008
#define PCI_STATUS_CAP_LIST     0x0010  /* a capability list starts at PCI_CAPABILITY_LIST */
#define PCI_STATUS_FAST_BACK    0x0080
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define PCI_STATUS_W1C          0xf900  /* parity, target/master aborts, SERR: write 1 to clear */

#define PCI_HEADER_MULTI_FUNCTION 0x80

/* BAR kinds (section 6.2.5.1): the low bits a BAR reads back with */
#define PCI_BAR_IO              0x01
#define PCI_BAR_MEM32           0x00
#define PCI_BAR_MEM64           0x04
#define PCI_BAR_PREFETCH        0x08
#define PCI_ROM_SLOT            6       /* the expansion ROM, as the 7th BAR */
#define PCI_NUM_BARS            7
#define PCI_ROM_ENABLE          0x01

#define PCI_DEVFN(slot, fn)     ((((slot) & 0x1f) << 3) | ((fn) & 7))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 7)

#define PCI_CONFIG_SIZE         256

/* Capability IDs (PCI 3.0 appendix H) */
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_MSIX         0x11

struct pci_bar {
    uint64_t size;              /* a power of two; 0: not implemented */
    uint8_t kind;               /* PCI_BAR_* bits */
    struct io_region *region;   /* I/O or MMIO handlers, or */
    struct ram_region *ram;     /* memory the guest reaches directly (a ROM's is read-only) */
    uint64_t addr;              /* where it is mapped now, or PCI_BAR_UNMAPPED */
    struct ram_mapping *block;  /* the mapped memory, for ram BARs */
};
#define PCI_BAR_UNMAPPED        UINT64_MAX

struct pci_device;
struct pci_msix;
struct ram_region;
struct ram_mapping;

/*
 * INTx by irqfd (pci_intx_irqfd_enable): the pin's assertion signals `fd`, which KVM turns into
 * a level on the GSI the board routes the pin to, held until the guest's EOI; the EOI signals
 * `resample_fd`, and skiff signals `fd` again while the pin is still high.
 */
struct pci_intx_irqfd {
    bool on;
    bool raised;                /* the pin's output as the irqfd last heard it */
    int fd, resample_fd;
    int gsi;                    /* where the irqfd is assigned, or -1: the router's way */
};

/* What a function adds to the generic configuration space behaviour. */
struct pci_device_ops {
    /* After the generic write of `size` bytes at `off` (masks applied): react to it. */
    void (*config_write)(struct pci_device *d, unsigned off, uint32_t val, unsigned size);
    /* Before a read: refresh registers that are computed. */
    void (*config_read)(struct pci_device *d, unsigned off, unsigned size);
};

/*
 * The PCI part of a device; it follows the struct device of a BUS_PCI device type (at
 * PCI_DEVICE_OFFSET: PCI_DEVICE_CHECK(struct foo) says so at build time), which is where the PCI
 * bus's properties (addr, romfile, multifunction) find it.
 */
struct pci_device {
    char *addr;                 /* the user's addr=SLOT[.FN] property, or NULL */
    char *romfile;              /* romfile=: NULL for the device's own, "" for none */
    bool multifunction;         /* multifunction=on */
    int devfn;                  /* -1 until registered */
    const struct pci_device_ops *ops;
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];     /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE];   /* bits the guest clears by writing 1 */
    struct pci_bar bars[PCI_NUM_BARS];
    uint8_t intx_level;         /* what the function drives on its pin, before INTx disable */
    uint8_t intx_out;           /* what reaches the router */
    struct ram_region *rom;     /* the expansion ROM's memory, owned here */
    const char *name;           /* for logs and region owners */
    uint8_t cap_end;            /* where the next capability goes (0: after the header) */
    uint8_t msi_cap;            /* the MSI capability's offset, or 0 */
    struct pci_msix *msix;      /* MSI-X, when pci_msix_init gave it one */
    struct pci_intx_irqfd intx_fast;
    /* a state load: the header and capabilities as they were, which a stream may not change
     * where they are read-only */
    bool header_check;
    uint8_t header_before[PCI_CONFIG_SIZE];
};

#define PCI_DEVICE_OFFSET ALIGN_UP(sizeof(struct device), _Alignof(struct pci_device))
#define PCI_DEVICE_CHECK(type) \
    _Static_assert(offsetof(type, pci) == PCI_DEVICE_OFFSET, #type ": struct pci_device must follow struct device")

struct pci_id {
    uint16_t vendor, device;
    uint8_t revision;
    uint32_t class_code;        /* base class << 16 | subclass << 8 | prog-if */
    uint16_t subsys_vendor, subsys;
    uint8_t header_type;
    uint8_t intx_pin;           /* 0 none, 1 INTA# .. 4 INTD# */
    const char *romfile;        /* the option ROM it has unless romfile= says otherwise */
};

/*
 * Put a function on the bus: fill the header from `id`, take the slot from the addr=
 * property or `default_devfn` (-1: the first free slot from 3). 0 or -errno with *err set.
 */
int pci_device_register(struct pci_device *d, const char *name, const struct pci_id *id,
                        int default_devfn, const struct pci_device_ops *ops, char **err);
void pci_device_unregister(struct pci_device *d);
/* Reset: the header's writable registers to zero, BARs unmapped, INTx low. */
void pci_device_reset(struct pci_device *d);

/* A BAR served by handlers (the region's size is the BAR's). */
void pci_register_bar(struct pci_device *d, int n, uint8_t kind, struct io_region *r);
/* A BAR the guest reaches as memory: the region ram (its size is the BAR's, a power of two). */
void pci_register_bar_ram(struct pci_device *d, int n, uint8_t kind, struct ram_region *ram);
/* The expansion ROM from an image in memory (taken over by the device). 0 or -errno. */
int pci_register_rom(struct pci_device *d, const uint8_t *image, size_t len, char **err);
/* Mark config bytes [off, off+len) writable with mask bytes (device-specific registers). */
void pci_config_set_wmask(struct pci_device *d, unsigned off, unsigned len, uint8_t mask);

/*
 * Add a capability of `size` bytes (header included) to the list (section 6.7): its offset, or
 * -ENOSPC. The status register says there is a list; the bytes are read-only until the
 * capability's helper makes some writable.
 */
int pci_add_capability(struct pci_device *d, uint8_t id, unsigned size);
/* The offset of the first capability with `id`, or 0. */
unsigned pci_find_capability(const struct pci_device *d, uint8_t id);

/*
 * Drive the function's INTx pin (level); the board's router maps it to an interrupt. A function
 * does not assert INTx while MSI or MSI-X is on (sections 6.8.1.3, 6.8.2.3).
 */
void pci_set_irq(struct pci_device *d, int level);
/*
 * INTx by irqfd with resample from now on (see struct pci_intx_irqfd), following the board's
 * routing as the guest changes it. Where the pin reaches no GSI or the accelerator has no irqfd,
 * pci_set_irq goes the router's way, as without it. 0 or -errno (no eventfd).
 */
int pci_intx_irqfd_enable(struct pci_device *d);
void pci_intx_irqfd_disable(struct pci_device *d);

/* An MSI or MSI-X message leaves the function: to the APICs, or as a DMA write elsewhere. */
void pci_msi_send(struct pci_device *d, struct msi_msg msg);

/* After a state load: re-map BARs and re-drive INTx from the loaded registers. */
void pci_device_state_loaded(struct pci_device *d);
extern const struct vmstate_desc pci_device_vmsd;

/* Configuration cycles on bus 0 (the host bridge's conf1 window calls these). */
uint32_t pci_config_read(int devfn, unsigned off, unsigned size);
void pci_config_write(int devfn, unsigned off, uint32_t val, unsigned size);
struct pci_device *pci_find_device(int devfn);

/* INTx routing: the south bridge says where pin `pin` (0-3 = INTA#-INTD#) of devfn goes. */
typedef void pci_route_fn(void *opaque, int devfn, int pin, int level);
void pci_bus_set_router(pci_route_fn *fn, void *opaque);
/* The GSI that pin `pin` of devfn reaches now, or -1 (its route is off): for INTx irqfds. */
typedef int pci_intx_gsi_fn(void *opaque, int devfn, int pin);
void pci_bus_set_intx_gsi(pci_intx_gsi_fn *fn, void *opaque);
/* The PIRQ line (0-3 = PIRQA#-D#) a slot's pin is wired to on the i440FX/PIIX board. */
static inline int pci_slot_pirq(int devfn, int pin)
{
    return (PCI_SLOT(devfn) + pin - 1) & 3;
}

/*
 * What firmware does before an OS without firmware runs (direct kernel boot): give every
 * BAR an address (I/O from io_base, memory from mem_base up to mem_limit), enable decoding
 * and bus mastering, and write the interrupt line register from `irq_of_pirq`.
 */
void pci_bus_assign(uint32_t io_base, uint32_t mem_base, uint32_t mem_limit,
                    const uint8_t irq_of_pirq[4]);

static inline uint16_t pci_get_word(const uint8_t *p) { return lduw_le(p); }
static inline uint32_t pci_get_long(const uint8_t *p) { return ldl_le(p); }
static inline void pci_set_word(uint8_t *p, uint16_t v) { stw_le(p, v); }
static inline void pci_set_long(uint8_t *p, uint32_t v) { stl_le(p, v); }

#endif
