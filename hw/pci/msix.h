/* msix.h: MSI-X (PCI Local Bus spec 3.0 section 6.8.2): a vector table and pending bits in a BAR, per-vector and function masks, and vectors sent by irqfd */
#ifndef HW_PCI_MSIX_H
#define HW_PCI_MSIX_H

#include "hw/pci/pci.h"

/* Capability registers, from its offset (figure 6-10) */
#define PCI_MSIX_FLAGS          0x02
#define PCI_MSIX_TABLE          0x04    /* offset | BIR */
#define PCI_MSIX_PBA            0x08
#define PCI_MSIX_FLAGS_QSIZE    0x07ff  /* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL  0x4000  /* function mask */
#define PCI_MSIX_FLAGS_ENABLE   0x8000

/* A table entry (figure 6-11): address low, address high, data, vector control */
#define PCI_MSIX_ENTRY_SIZE     16
#define PCI_MSIX_ENTRY_LOWER_ADDR 0x0
#define PCI_MSIX_ENTRY_UPPER_ADDR 0x4
#define PCI_MSIX_ENTRY_DATA     0x8
#define PCI_MSIX_ENTRY_VECTOR_CTRL 0xc
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1

/* The BAR that pci_msix_init makes: the table at 0, the pending bits at PCI_MSIX_PBA_OFFSET. */
#define PCI_MSIX_MAX_VECTORS    64
#define PCI_MSIX_BAR_SIZE       4096
#define PCI_MSIX_PBA_OFFSET     2048

/* A vector the device sends by signalling an eventfd (pci_msix_vector_use_eventfd). */
struct pci_msix_fast {
    struct pci_msix *msix;
    unsigned vector;
    bool used;
    bool irqfd;                 /* KVM sends it: the irqfd is on `gsi` */
    bool watched;               /* skiff reads the eventfd (masked, or no irqfd) */
    int fd;
    int gsi;                    /* its MSI route, or -1 */
};

/*
 * The MSI-X state a device keeps in its own instance (its state description includes
 * pci_msix_vmsd). The table and pending bits are the guest's; the rest is set up once.
 */
struct pci_msix {
    uint8_t table[PCI_MSIX_MAX_VECTORS * PCI_MSIX_ENTRY_SIZE];
    uint64_t pba[PCI_MSIX_MAX_VECTORS / 64];
    struct pci_device *pci;
    unsigned nvec;
    unsigned cap;
    struct io_region io;
    char name[48];
    struct pci_msix_fast fast[PCI_MSIX_MAX_VECTORS];
};
extern const struct vmstate_desc pci_msix_vmsd;

/*
 * Give the function an MSI-X capability with `nvec` vectors (1 to PCI_MSIX_MAX_VECTORS), the
 * table and pending bits in a 4 KiB memory BAR `bar` of their own. 0 or -errno.
 */
int pci_msix_init(struct pci_device *d, struct pci_msix *m, unsigned nvec, int bar);
/* Unrealize: the eventfds' irqfds, watches and routes go. */
void pci_msix_uninit(struct pci_device *d);
bool pci_msix_enabled(const struct pci_device *d);
/*
 * Signal `vector`: sent now when MSI-X is on and neither the function nor the vector is masked;
 * pending (its PBA bit) while masked, and sent when unmasked; nothing while MSI-X is off.
 */
void pci_msix_notify(struct pci_device *d, unsigned vector);
bool pci_msix_is_pending(const struct pci_device *d, unsigned vector);

/*
 * The fast path: the device (or another thread) signals `fd` to send `vector`. While the vector
 * is unmasked, KVM sends it by irqfd through an MSI route that follows the table entry; while it
 * is masked, or where there is no irqfd, skiff reads the eventfd and acts as pci_msix_notify.
 */
int pci_msix_vector_use_eventfd(struct pci_device *d, unsigned vector, int fd);
void pci_msix_vector_unuse_eventfd(struct pci_device *d, unsigned vector);

/* pci.c's: reset (every vector masked, nothing pending), after a configuration write (the
 * capability or the command register), after a state load; the load's check. */
void pci_msix_reset(struct pci_device *d);
void pci_msix_config_write(struct pci_device *d);
void pci_msix_state_loaded(struct pci_device *d);
int pci_msix_check_loaded(const struct pci_device *d);

#endif
