/* pci-testdev-msi.h: the registers of pci-testdev-msi, for the device, its qtest and its payload (plain defines: no includes) */
#ifndef HW_PCI_PCI_TESTDEV_MSI_H
#define HW_PCI_PCI_TESTDEV_MSI_H

/* In BAR 0 (memory) and BAR 1 (I/O) alike; DWORD accesses */
#define TD_SCRATCH          0x00
#define TD_INTX             0x04    /* bit 0: the INTx level */
#define TD_NOTIFY           0x08    /* write N: vector N, by MSI-X if it is on, else by MSI */
#define TD_NOTIFY_FAST      0x0c    /* write N: MSI-X vector N through its eventfd (the irqfd path) */
#define TD_DOORBELL         0x10    /* an ioeventfd: any DWORD write rings it */
#define TD_DOORBELL_MATCH   0x14    /* an ioeventfd for a DWORD write of TD_MATCH_VALUE only (BAR 0) */
#define TD_RINGS            0x18    /* read: rings the doorbell's handler counted */
#define TD_RINGS_MATCH      0x1c    /* read: those of the matched doorbell */
#define TD_MISSES           0x20    /* read: doorbell writes that reached the register handler instead */
#define TD_INTX_IRQFD       0x24    /* bit 0: INTx by irqfd, with resample */
#define TD_MATCH_VALUE      0x5a5a

#define TD_NVEC             4       /* MSI and MSI-X vectors */
#define TD_MSI_CAP          0x40
#define TD_MSIX_CAP         0x58
#define TD_MSIX_BAR         2       /* the table at 0, the pending bits at 0x800 */

#endif
