/* virtio-pci.h: the virtio PCI transport (virtio 1.2 section 4.1): transitional by default, with the legacy I/O BAR, the modern vendor capabilities in a memory BAR, MSI-X, and queue notifications by ioeventfd */
#ifndef HW_VIRTIO_VIRTIO_PCI_H
#define HW_VIRTIO_VIRTIO_PCI_H

#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio.h"

#define PCI_VENDOR_ID_REDHAT_QUMRANET   0x1af4
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
/* Device IDs (section 4.1.2.1): transitional 0x1000 + legacy number, modern 0x1040 + device ID */
#define VIRTIO_PCI_DEVICE_ID_TRANSITIONAL(legacy)   (0x1000 + (legacy))
#define VIRTIO_PCI_DEVICE_ID_MODERN(id)             (0x1040 + (id))

/* Where QEMU puts things, which guests' and firmware's expectations follow */
#define VIRTIO_PCI_LEGACY_BAR       0
#define VIRTIO_PCI_MSIX_BAR         1
#define VIRTIO_PCI_MODERN_BAR       4
#define VIRTIO_PCI_VECTORS_AUTO     UINT32_MAX

/* The transport's part of a virtio PCI device's instance (struct virtio_pci_dev). */
struct virtio_pci {
    /* properties (VIRTIO_PCI_PROPS) */
    bool disable_legacy, disable_modern;
    uint32_t vectors;               /* MSI-X vectors; 0: none (INTx only); VECTORS_AUTO: the device's */
    bool ioeventfd;                 /* queue notifications by ioeventfd (on, as QEMU) */
    /* set up at realize */
    struct pci_device *pci;
    struct virtio_device *vdev;
    struct pci_msix msix;
    struct io_region legacy, modern;
    unsigned nvec;                  /* MSI-X vectors in use (0: no MSI-X) */
    int vector_fd[PCI_MSIX_MAX_VECTORS];
    int intx_fd;
    unsigned cfg_cap;               /* the PCI configuration access capability's offset */
    char legacy_name[48], modern_name[48];
    /* the driver's registers (state) */
    uint32_t dfselect, gfselect;
    uint32_t guest_features[2];     /* what a modern driver wrote, until FEATURES_OK */
    uint16_t queue_sel;
};
extern const struct vmstate_desc virtio_pci_vmsd;

/*
 * How every virtio PCI device's instance starts: the device, its PCI function, the transport;
 * the virtio device (which embeds struct virtio_device) follows.
 */
struct virtio_pci_dev {
    struct device dev;
    struct pci_device pci;
    struct virtio_pci vp;
};
PCI_DEVICE_CHECK(struct virtio_pci_dev);

#define VIRTIO_PCI_PROPS(st, f) \
    DEFINE_PROP("disable-legacy", st, f.disable_legacy, PROP_BOOL, "off", "no legacy (virtio 0.9.5) interface: a modern-only device"), \
    DEFINE_PROP("disable-modern", st, f.disable_modern, PROP_BOOL, "off", "no virtio 1.x interface: a legacy-only device"), \
    DEFINE_PROP("vectors", st, f.vectors, PROP_U32, "4294967295", "MSI-X vectors (0: INTx only; default: one per queue and one for the configuration)"), \
    DEFINE_PROP("ioeventfd", st, f.ioeventfd, PROP_BOOL, "on", "queue notifications by ioeventfd")

/*
 * What a device type tells the transport: its PCI identity beyond the virtio IDs, and how many
 * vectors it wants when vectors= is not given.
 */
struct virtio_pci_id {
    uint16_t legacy_device_id;      /* the transitional device ID's low part (section 4.1.2.1) */
    uint32_t class_code;
    unsigned default_vectors;
};

/*
 * Put the device on the bus: its PCI function with BARs and capabilities for `vdev`, which
 * virtio_init has set up. 0 or -errno with *err.
 */
int virtio_pci_realize(struct virtio_pci_dev *d, struct virtio_device *vdev,
                       const struct virtio_pci_id *id, char **err);
void virtio_pci_unrealize(struct virtio_pci *vp);
/* The machine's reset: the function's and the device's. */
void virtio_pci_reset(struct virtio_pci *vp);
/* A device's post_load: the loaded vectors are the function's (0 or -EINVAL). */
int virtio_pci_check_loaded(const struct virtio_pci *vp);
/* A device's state_loaded: the function's mappings and lines, and the device's queues. */
void virtio_pci_state_loaded(struct virtio_pci *vp);

#endif
