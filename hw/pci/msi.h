/* msi.h: the MSI capability (PCI Local Bus spec 3.0 section 6.8.1): up to 32 vectors, 32- or 64-bit message addresses, per-vector masking */
#ifndef HW_PCI_MSI_H
#define HW_PCI_MSI_H

#include "hw/pci/pci.h"

/* Registers, from the capability's offset (figure 6-9) */
#define PCI_MSI_FLAGS           0x02
#define PCI_MSI_ADDRESS_LO      0x04
#define PCI_MSI_ADDRESS_HI      0x08    /* 64-bit layout only */
#define PCI_MSI_DATA_32         0x08
#define PCI_MSI_DATA_64         0x0c
#define PCI_MSI_MASK_32         0x0c    /* with per-vector masking */
#define PCI_MSI_MASK_64         0x10
#define PCI_MSI_PENDING_32      0x10
#define PCI_MSI_PENDING_64      0x14

/* Message control (section 6.8.1.3) */
#define PCI_MSI_FLAGS_ENABLE    0x0001
#define PCI_MSI_FLAGS_QMASK     0x000e  /* multiple message capable: log2 of the vectors */
#define PCI_MSI_FLAGS_QSIZE     0x0070  /* multiple message enable: log2 of those granted */
#define PCI_MSI_FLAGS_64BIT     0x0080
#define PCI_MSI_FLAGS_MASKBIT   0x0100

/*
 * Give the function an MSI capability with `nvec` vectors (a power of two, 1 to 32), 64-bit
 * addresses when `is64`, per-vector mask and pending bits when `maskable`. 0 or -errno.
 */
int pci_msi_init(struct pci_device *d, unsigned nvec, bool is64, bool maskable);
bool pci_msi_enabled(const struct pci_device *d);
/* Signal `vector`: sent now, or pending while its mask bit is set; nothing while MSI is off. */
void pci_msi_notify(struct pci_device *d, unsigned vector);
bool pci_msi_is_pending(const struct pci_device *d, unsigned vector);

/* pci.c's: after a configuration write that reached the capability */
void pci_msi_config_write(struct pci_device *d, unsigned off, unsigned size);
/* pci.c's, for a state load: 0, or -EINVAL for a capability the guest could not have written */
int pci_msi_check_loaded(const struct pci_device *d);

#endif
