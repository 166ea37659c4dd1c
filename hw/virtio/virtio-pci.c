/* virtio-pci.c: the virtio PCI transport (virtio 1.2 section 4.1): the legacy I/O BAR and the modern capabilities side by side, feature negotiation, MSI-X or INTx with the ISR, and queue notifications by ioeventfd */
#define LOG_PREFIX "virtio-pci: "
#include "hw/virtio/virtio-pci.h"
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h" // loop_add_fd, loop_del_fd

#include <sys/eventfd.h>
#include <unistd.h>

/* The legacy interface (section 4.1.4.8): registers at the start of BAR 0 */
#define VIRTIO_PCI_HOST_FEATURES    0   /* 32, read-only */
#define VIRTIO_PCI_GUEST_FEATURES   4   /* 32 */
#define VIRTIO_PCI_QUEUE_PFN        8   /* 32 */
#define VIRTIO_PCI_QUEUE_NUM        12  /* 16, read-only */
#define VIRTIO_PCI_QUEUE_SEL        14  /* 16 */
#define VIRTIO_PCI_QUEUE_NOTIFY     16  /* 16 */
#define VIRTIO_PCI_STATUS           18  /* 8 */
#define VIRTIO_PCI_ISR              19  /* 8, cleared by reading */
#define VIRTIO_MSI_CONFIG_VECTOR    20  /* 16, only while MSI-X is on */
#define VIRTIO_MSI_QUEUE_VECTOR     22  /* 16, only while MSI-X is on */
/* the device's configuration follows, at 20 or (MSI-X on) 24 */
#define VIRTIO_PCI_CONFIG_OFF(msix) ((msix) ? 24 : 20)

/* The modern interface (section 4.1.4): vendor capabilities that point into BAR 4 */
#define VIRTIO_PCI_CAP_COMMON_CFG   1
#define VIRTIO_PCI_CAP_NOTIFY_CFG   2
#define VIRTIO_PCI_CAP_ISR_CFG      3
#define VIRTIO_PCI_CAP_DEVICE_CFG   4
#define VIRTIO_PCI_CAP_PCI_CFG      5
#define PCI_CAP_ID_VNDR             0x09
/* struct virtio_pci_cap (4.1.4): vndr, next, len, cfg_type, bar, id, padding[2], offset, length */
#define CAP_CFG_TYPE                3
#define CAP_BAR                     4
#define CAP_OFFSET                  8
#define CAP_LENGTH                  12
#define CAP_SIZE                    16
#define CAP_NOTIFY_MULT             16  /* struct virtio_pci_notify_cap's notify_off_multiplier */
#define CAP_PCI_CFG_DATA            16  /* struct virtio_pci_cfg_cap's pci_cfg_data[4] */
#define CAP_EXT_SIZE                20

/* struct virtio_pci_common_cfg (4.1.4.3) */
#define COMMON_DFSELECT             0x00    /* 32 */
#define COMMON_DF                   0x04    /* 32, read-only */
#define COMMON_GFSELECT             0x08    /* 32 */
#define COMMON_GF                   0x0c    /* 32 */
#define COMMON_MSIX                 0x10    /* 16 */
#define COMMON_NUMQ                 0x12    /* 16, read-only */
#define COMMON_STATUS               0x14    /* 8 */
#define COMMON_CFGGENERATION        0x15    /* 8, read-only */
#define COMMON_Q_SELECT             0x16    /* 16 */
#define COMMON_Q_SIZE               0x18    /* 16 */
#define COMMON_Q_MSIX               0x1a    /* 16 */
#define COMMON_Q_ENABLE             0x1c    /* 16 */
#define COMMON_Q_NOFF               0x1e    /* 16, read-only */
#define COMMON_Q_DESCLO             0x20    /* 64 as two 32-bit halves */
#define COMMON_Q_DESCHI             0x24
#define COMMON_Q_AVAILLO            0x28
#define COMMON_Q_AVAILHI            0x2c
#define COMMON_Q_USEDLO             0x30
#define COMMON_Q_USEDHI             0x34

/* BAR 4's layout, as QEMU's: four 4 KiB windows */
#define MODERN_COMMON               0x0000
#define MODERN_ISR                  0x1000
#define MODERN_DEVICE               0x2000
#define MODERN_NOTIFY               0x3000
#define MODERN_WINDOW               0x1000
#define MODERN_BAR_SIZE             0x4000
#define NOTIFY_MULTIPLIER           4

static bool msix_on(const struct virtio_pci *vp)
{
    return vp->nvec && pci_msix_enabled(vp->pci);
}

static struct virtqueue *selected_queue(struct virtio_pci *vp)
{
    return vp->queue_sel < vp->vdev->nvq ? &vp->vdev->vq[vp->queue_sel] : NULL;
}

/* A vector the driver names: one the function has, or "none" (which reads back as refused). */
static uint16_t vector_checked(const struct virtio_pci *vp, uint16_t v)
{
    return v < vp->nvec ? v : VIRTIO_NO_VECTOR;
}

/*
 * The core's interrupt, from any thread: an MSI-X vector's eventfd (KVM's irqfd, or skiff's
 * watch while the vector is masked), else the INTx eventfd that the main loop turns into the
 * pin's level from the ISR.
 */
static void vp_notify(void *opaque, uint16_t vector, bool config)
{
    struct virtio_pci *vp = opaque;

    (void)config;
    if (msix_on(vp)) {
        if (vector < vp->nvec)
            eventfd_write(vp->vector_fd[vector], 1);
        return;
    }
    eventfd_write(vp->intx_fd, 1);
}

static const struct virtio_transport_ops vp_transport = {
    .notify = vp_notify,
};

static void intx_update(struct virtio_pci *vp)
{
    pci_set_irq(vp->pci, __atomic_load_n(&vp->vdev->isr, __ATOMIC_SEQ_CST) != 0);
}

static void intx_event(void *opaque, uint32_t events)
{
    struct virtio_pci *vp = opaque;
    eventfd_t n;

    (void)events;
    if (eventfd_read(vp->intx_fd, &n) == 0)
        intx_update(vp);
}

static uint8_t isr_read(struct virtio_pci *vp)
{
    uint8_t v = virtio_isr_read_clear(vp->vdev);

    pci_set_irq(vp->pci, 0);
    return v;
}

static void set_status(struct virtio_pci *vp, uint8_t val)
{
    virtio_set_status(vp->vdev, val);
    if (!val) {
        /* reset (section 4.1.4.3.2): the transport's registers too, and the line drops */
        vp->queue_sel = 0;
        vp->dfselect = vp->gfselect = 0;
        vp->guest_features[0] = vp->guest_features[1] = 0;
        pci_set_irq(vp->pci, 0);
    }
}

/* Legacy (section 4.1.4.8) */

static uint64_t legacy_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_device *vdev = vp->vdev;
    struct virtqueue *vq = selected_queue(vp);
    unsigned cfg = VIRTIO_PCI_CONFIG_OFF(msix_on(vp));

    if (off >= cfg)
        return virtio_config_read(vdev, off - cfg, size);
    switch (off) {
    case VIRTIO_PCI_HOST_FEATURES:
        return size == 4 ? (uint32_t)vdev->host_features : 0;
    case VIRTIO_PCI_GUEST_FEATURES:
        return size == 4 ? (uint32_t)vdev->guest_features : 0;
    case VIRTIO_PCI_QUEUE_PFN:
        return size == 4 && vq ? virtio_queue_legacy_pfn(vq) : 0;
    case VIRTIO_PCI_QUEUE_NUM:
        return size == 2 && vq ? vq->num_max : 0;
    case VIRTIO_PCI_QUEUE_SEL:
        return size == 2 ? vp->queue_sel : 0;
    case VIRTIO_PCI_STATUS:
        return size == 1 ? vdev->status : 0;
    case VIRTIO_PCI_ISR:
        return size == 1 ? isr_read(vp) : 0;
    case VIRTIO_MSI_CONFIG_VECTOR:
        return size == 2 ? vdev->config_vector : 0;
    case VIRTIO_MSI_QUEUE_VECTOR:
        return size == 2 && vq ? vq->vector : VIRTIO_NO_VECTOR;
    }
    return 0;
}

static void legacy_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_device *vdev = vp->vdev;
    struct virtqueue *vq = selected_queue(vp);
    unsigned cfg = VIRTIO_PCI_CONFIG_OFF(msix_on(vp));

    if (off >= cfg) {
        virtio_config_write(vdev, off - cfg, val, size);
        return;
    }
    switch (off) {
    case VIRTIO_PCI_GUEST_FEATURES:
        if (size == 4 && !(vdev->status & VIRTIO_STATUS_DRIVER_OK))
            virtio_set_features(vdev, (uint32_t)val);
        break;
    case VIRTIO_PCI_QUEUE_PFN:
        if (size != 4 || !vq)
            break;
        /* as QEMU: a zero frame number resets the device (old Linux drivers' way to stop) */
        if (!val)
            set_status(vp, 0);
        else if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
            log_guest_error("%s: queue %u's address written while the device runs: ignored",
                            vdev->name, vq->index);
        else
            virtio_queue_set_legacy_pfn(vq, val);
        break;
    case VIRTIO_PCI_QUEUE_SEL:
        if (size == 2)
            vp->queue_sel = val;
        break;
    case VIRTIO_PCI_QUEUE_NOTIFY:
        if (size == 2 && val < vdev->nvq)
            virtio_queue_notify(&vdev->vq[val]);
        break;
    case VIRTIO_PCI_STATUS:
        if (size == 1)
            set_status(vp, val);
        break;
    case VIRTIO_MSI_CONFIG_VECTOR:
        if (size == 2)
            __atomic_store_n(&vdev->config_vector, vector_checked(vp, val), __ATOMIC_RELAXED);
        break;
    case VIRTIO_MSI_QUEUE_VECTOR:
        if (size == 2 && vq)
            __atomic_store_n(&vq->vector, vector_checked(vp, val), __ATOMIC_RELAXED);
        break;
    }
}

static const struct io_region_ops legacy_ops = {
    .read = legacy_read,
    .write = legacy_write,
    .valid = { .min = 1, .max = 4, .unaligned = true },
    .impl = { .min = 1, .max = 4 },
};

/* Modern (section 4.1.4) */

/* The features a virtio 1.x driver sees: the legacy-only ones are not offered there (7.3.1, as QEMU). */
static uint64_t modern_features(const struct virtio_device *vdev)
{
    return vdev->host_features & ~(VIRTIO_BIT(VIRTIO_F_NOTIFY_ON_EMPTY) | VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT));
}

static uint32_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
    struct virtio_device *vdev = vp->vdev;
    struct virtqueue *vq = selected_queue(vp);

    switch (size << 8 | off) {
    case 4 << 8 | COMMON_DFSELECT: return vp->dfselect;
    case 2 << 8 | COMMON_DF:    /* iPXE of 2019 (Debian's efi-virtio.rom) reads it 16 bits wide; QEMU gives the low half */
    case 4 << 8 | COMMON_DF: return vp->dfselect < 2 ? modern_features(vdev) >> (32 * vp->dfselect) : 0;
    case 4 << 8 | COMMON_GFSELECT: return vp->gfselect;
    case 4 << 8 | COMMON_GF: return vp->gfselect < 2 ? vp->guest_features[vp->gfselect] : 0;
    case 2 << 8 | COMMON_MSIX: return vdev->config_vector;
    case 2 << 8 | COMMON_NUMQ: return vdev->nvq;
    case 1 << 8 | COMMON_STATUS: return vdev->status;
    case 1 << 8 | COMMON_CFGGENERATION: return __atomic_load_n(&vdev->generation, __ATOMIC_SEQ_CST);
    case 2 << 8 | COMMON_Q_SELECT: return vp->queue_sel;
    }
    if (!vq)
        return size == 2 && off == COMMON_Q_MSIX ? VIRTIO_NO_VECTOR : 0;
    switch (size << 8 | off) {
    case 2 << 8 | COMMON_Q_SIZE: return vq->num;
    case 2 << 8 | COMMON_Q_MSIX: return vq->vector;
    case 2 << 8 | COMMON_Q_ENABLE: return vq->enabled;
    case 2 << 8 | COMMON_Q_NOFF: return vq->index;
    case 4 << 8 | COMMON_Q_DESCLO: return vq->desc;
    case 4 << 8 | COMMON_Q_DESCHI: return vq->desc >> 32;
    case 4 << 8 | COMMON_Q_AVAILLO: return vq->avail;
    case 4 << 8 | COMMON_Q_AVAILHI: return vq->avail >> 32;
    case 4 << 8 | COMMON_Q_USEDLO: return vq->used;
    case 4 << 8 | COMMON_Q_USEDHI: return vq->used >> 32;
    }
    return 0;
}

static void set_half(uint64_t *p, bool hi, uint32_t v)
{
    *p = hi ? (*p & 0xffffffffULL) | (uint64_t)v << 32 : (*p & ~0xffffffffULL) | v;
}

static void common_write(struct virtio_pci *vp, unsigned off, uint32_t val, unsigned size)
{
    struct virtio_device *vdev = vp->vdev;
    struct virtqueue *vq = selected_queue(vp);

    switch (size << 8 | off) {
    case 4 << 8 | COMMON_DFSELECT:
        vp->dfselect = val;
        return;
    case 4 << 8 | COMMON_GFSELECT:
        vp->gfselect = val;
        return;
    case 4 << 8 | COMMON_GF:
        /* section 3.1.1: features are written before FEATURES_OK and fixed after it */
        if (vp->gfselect < 2 && !(vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
            vp->guest_features[vp->gfselect] = val;
            virtio_set_features(vdev, ((uint64_t)vp->guest_features[1] << 32 | vp->guest_features[0]) &
                                      modern_features(vdev));
        }
        return;
    case 2 << 8 | COMMON_MSIX:
        __atomic_store_n(&vdev->config_vector, vector_checked(vp, val), __ATOMIC_RELAXED);
        return;
    case 1 << 8 | COMMON_STATUS:
        /* a driver of the modern interface is a virtio 1.x driver (section 7.2.1) */
        if ((val & VIRTIO_STATUS_FEATURES_OK) && !virtio_has_feature(vdev, VIRTIO_F_VERSION_1))
            val &= ~VIRTIO_STATUS_FEATURES_OK;
        set_status(vp, val);
        return;
    case 2 << 8 | COMMON_Q_SELECT:
        vp->queue_sel = val;
        return;
    }
    if (!vq)
        return;
    if (size == 2 && off == COMMON_Q_MSIX) {
        __atomic_store_n(&vq->vector, vector_checked(vp, val), __ATOMIC_RELAXED);
        return;
    }
    /* section 4.1.4.3.2: a queue's size and addresses are the driver's until it enables it */
    if (vq->enabled) {
        if (off != COMMON_Q_ENABLE)
            log_guest_error("%s: queue %u's setup written after it was enabled: ignored",
                            vdev->name, vq->index);
        return;
    }
    switch (size << 8 | off) {
    case 2 << 8 | COMMON_Q_SIZE: vq->num = val; break;
    case 2 << 8 | COMMON_Q_ENABLE: if (val == 1) virtio_queue_enable(vq); break;
    case 4 << 8 | COMMON_Q_DESCLO: set_half(&vq->desc, false, val); break;
    case 4 << 8 | COMMON_Q_DESCHI: set_half(&vq->desc, true, val); break;
    case 4 << 8 | COMMON_Q_AVAILLO: set_half(&vq->avail, false, val); break;
    case 4 << 8 | COMMON_Q_AVAILHI: set_half(&vq->avail, true, val); break;
    case 4 << 8 | COMMON_Q_USEDLO: set_half(&vq->used, false, val); break;
    case 4 << 8 | COMMON_Q_USEDHI: set_half(&vq->used, true, val); break;
    }
}

static uint64_t modern_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    unsigned window = off & ~(uint64_t)(MODERN_WINDOW - 1), in = off & (MODERN_WINDOW - 1);

    switch (window) {
    case MODERN_COMMON:
        return common_read(vp, in, size);
    case MODERN_ISR:
        return in == 0 && size == 1 ? isr_read(vp) : 0;
    case MODERN_DEVICE:
        return virtio_config_read(vp->vdev, in, size);
    }
    return 0;
}

static void modern_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct virtio_pci *vp = opaque;
    unsigned window = off & ~(uint64_t)(MODERN_WINDOW - 1), in = off & (MODERN_WINDOW - 1);

    switch (window) {
    case MODERN_COMMON:
        common_write(vp, in, val, size);
        break;
    case MODERN_DEVICE:
        virtio_config_write(vp->vdev, in, val, size);
        break;
    case MODERN_NOTIFY:
        /* where no ioeventfd caught it: the queue is the one whose notify address this is */
        if (in % NOTIFY_MULTIPLIER == 0 && in / NOTIFY_MULTIPLIER < vp->vdev->nvq)
            virtio_queue_notify(&vp->vdev->vq[in / NOTIFY_MULTIPLIER]);
        break;
    }
}

static const struct io_region_ops modern_ops = {
    .read = modern_read,
    .write = modern_write,
    .valid = { .min = 1, .max = 8 },
    .impl = { .min = 1, .max = 4 },
};

/*
 * The PCI configuration access capability (4.1.4.9): a window through configuration space
 * into the BARs, for firmware that cannot reach them (a BAR above 4 GiB).
 */
static bool cfg_window(struct virtio_pci *vp, unsigned off, unsigned size, uint8_t *bar,
                       uint32_t *at, uint32_t *len)
{
    const uint8_t *c = vp->pci->config + vp->cfg_cap;

    if (!vp->cfg_cap || off + size <= vp->cfg_cap + CAP_PCI_CFG_DATA || off >= vp->cfg_cap + CAP_EXT_SIZE)
        return false;
    *bar = c[CAP_BAR];
    *at = ldl_le(c + CAP_OFFSET);
    *len = ldl_le(c + CAP_LENGTH);
    return *len == 1 || *len == 2 || *len == 4;
}

static void cfg_access(struct virtio_pci *vp, unsigned off, unsigned size, bool write)
{
    uint8_t *data = vp->pci->config + vp->cfg_cap + CAP_PCI_CFG_DATA;
    uint32_t at, len, v;
    uint8_t bar;

    if (!cfg_window(vp, off, size, &bar, &at, &len))
        return;
    if (bar == VIRTIO_PCI_MODERN_BAR && !vp->disable_modern && at < MODERN_BAR_SIZE &&
        len <= MODERN_BAR_SIZE - at) {
        if (write)
            modern_write(vp, at, ldl_le(data) & (UINT32_MAX >> (32 - 8 * len)), len);
        else
            v = modern_read(vp, at, len), stl_le(data, v);
    } else if (bar == VIRTIO_PCI_LEGACY_BAR && !vp->disable_legacy && at < vp->legacy.size &&
               len <= vp->legacy.size - at) {
        if (write)
            legacy_write(vp, at, ldl_le(data) & (UINT32_MAX >> (32 - 8 * len)), len);
        else
            v = legacy_read(vp, at, len), stl_le(data, v);
    }
}

/* pci_device_ops have no opaque: the transport is found through the instance's layout. */
static struct virtio_pci *vp_of(struct pci_device *d)
{
    return &container_of(d, struct virtio_pci_dev, pci)->vp;
}

static void vp_config_read(struct pci_device *d, unsigned off, unsigned size)
{
    cfg_access(vp_of(d), off, size, false);
}

static void vp_config_write(struct pci_device *d, unsigned off, uint32_t val, unsigned size)
{
    (void)val;
    cfg_access(vp_of(d), off, size, true);
}

static const struct pci_device_ops vp_pci_ops = {
    .config_read = vp_config_read,
    .config_write = vp_config_write,
};

/* A vendor capability (4.1.4) pointing at [off, off+len) of `bar`; its offset, or -errno. */
static int add_cap(struct virtio_pci *vp, uint8_t type, uint8_t bar, uint32_t off, uint32_t len,
                   unsigned size)
{
    int at = pci_add_capability(vp->pci, PCI_CAP_ID_VNDR, size);
    uint8_t *c;

    if (at < 0)
        return at;
    c = vp->pci->config + at;
    c[2] = size;
    c[CAP_CFG_TYPE] = type;
    c[CAP_BAR] = bar;
    stl_le(c + CAP_OFFSET, off);
    stl_le(c + CAP_LENGTH, len);
    return at;
}

static int add_modern_caps(struct virtio_pci *vp)
{
    unsigned notify_len = NOTIFY_MULTIPLIER * vp->vdev->nvq;
    int r;

    if ((r = add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_MODERN_BAR, MODERN_COMMON, MODERN_WINDOW, CAP_SIZE)) < 0 ||
        (r = add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_MODERN_BAR, MODERN_ISR, MODERN_WINDOW, CAP_SIZE)) < 0 ||
        (r = add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_MODERN_BAR, MODERN_DEVICE, MODERN_WINDOW, CAP_SIZE)) < 0 ||
        (r = add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_MODERN_BAR, MODERN_NOTIFY, notify_len, CAP_EXT_SIZE)) < 0)
        return r;
    stl_le(vp->pci->config + r + CAP_NOTIFY_MULT, NOTIFY_MULTIPLIER);
    if ((r = add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, CAP_EXT_SIZE)) < 0)
        return r;
    vp->cfg_cap = r;
    /* the driver picks the BAR, offset and length of its window and moves data through it */
    pci_config_set_wmask(vp->pci, r + CAP_BAR, 1, 0xff);
    pci_config_set_wmask(vp->pci, r + CAP_OFFSET, 4, 0xff);
    pci_config_set_wmask(vp->pci, r + CAP_LENGTH, 4, 0xff);
    pci_config_set_wmask(vp->pci, r + CAP_PCI_CFG_DATA, 4, 0xff);
    return 0;
}

static void close_fds(struct virtio_pci *vp)
{
    for (unsigned v = 0; v < vp->nvec; v++) {
        pci_msix_vector_unuse_eventfd(vp->pci, v);
        if (vp->vector_fd[v] >= 0)
            close(vp->vector_fd[v]);
        vp->vector_fd[v] = -1;
    }
    if (vp->intx_fd >= 0) {
        loop_del_fd(vp->intx_fd);
        close(vp->intx_fd);
        vp->intx_fd = -1;
    }
}

static int open_fds(struct virtio_pci *vp)
{
    int r;

    vp->intx_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (vp->intx_fd < 0)
        return -errno;
    if ((r = loop_add_fd(vp->intx_fd, EPOLLIN, intx_event, vp)) < 0) {
        close(vp->intx_fd);
        vp->intx_fd = -1;
        return r;
    }
    for (unsigned v = 0; v < vp->nvec; v++) {
        vp->vector_fd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (vp->vector_fd[v] < 0)
            return -errno;
        if ((r = pci_msix_vector_use_eventfd(vp->pci, v, vp->vector_fd[v])) < 0)
            return r;
    }
    return 0;
}

/* Queue notifications by ioeventfd: legacy by queue number, modern by address (4.1.4.4). */
static int add_notifiers(struct virtio_pci *vp)
{
    int r;

    for (unsigned i = 0; i < vp->vdev->nvq && vp->ioeventfd; i++) {
        int fd = virtio_queue_host_fd(&vp->vdev->vq[i]);

        if (!vp->disable_legacy &&
            (r = io_region_add_eventfd(&vp->legacy, VIRTIO_PCI_QUEUE_NOTIFY, 2, true, i, fd)) < 0)
            return r;
        if (!vp->disable_modern &&
            (r = io_region_add_eventfd(&vp->modern, MODERN_NOTIFY + NOTIFY_MULTIPLIER * i, 0, false, 0, fd)) < 0)
            return r;
    }
    return 0;
}

int virtio_pci_realize(struct virtio_pci_dev *d, struct virtio_device *vdev,
                       const struct virtio_pci_id *id, char **err)
{
    struct virtio_pci *vp = &d->vp;
    const char *name = d->dev.type->name;
    struct pci_id pid = {
        .vendor = PCI_VENDOR_ID_REDHAT_QUMRANET,
        .class_code = id->class_code,
        .subsys_vendor = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .intx_pin = 1,
    };
    uint64_t legacy_size;
    int r;

    vp->pci = &d->pci;
    vp->vdev = vdev;
    vp->intx_fd = -1;
    for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++)
        vp->vector_fd[v] = -1;
    if (vp->disable_legacy && vp->disable_modern) {
        *err = xasprintf("%s: disable-legacy=on and disable-modern=on leave no interface", name);
        return -EINVAL;
    }
    vp->nvec = vp->vectors == VIRTIO_PCI_VECTORS_AUTO ? id->default_vectors : vp->vectors;
    if (vp->nvec > PCI_MSIX_MAX_VECTORS) {
        *err = xasprintf("%s: vectors=%u: at most %u", name, vp->nvec, PCI_MSIX_MAX_VECTORS);
        return -EINVAL;
    }
    /* section 4.1.2.1: transitional devices keep the legacy IDs, modern-only ones 0x1040 + ID */
    if (vp->disable_legacy) {
        pid.device = VIRTIO_PCI_DEVICE_ID_MODERN(vdev->device_id);
        pid.revision = 1;
        pid.subsys = 0x1100;
    } else {
        pid.device = VIRTIO_PCI_DEVICE_ID_TRANSITIONAL(id->legacy_device_id);
        pid.subsys = vdev->device_id;
    }
    if (!vp->disable_modern)
        vdev->host_features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
    d->pci.devfn = -1;
    r = pci_device_register(&d->pci, name, &pid, -1, &vp_pci_ops, err);
    if (r < 0)
        return r;
    snprintf(vp->legacy_name, sizeof(vp->legacy_name), "%s-legacy", name);
    snprintf(vp->modern_name, sizeof(vp->modern_name), "%s-modern", name);
    if (!vp->disable_legacy) {
        legacy_size = 1;
        while (legacy_size < VIRTIO_PCI_CONFIG_OFF(true) + vdev->config_len)
            legacy_size <<= 1;
        io_region_init(&vp->legacy, IO_SPACE_PIO, vp->legacy_name, legacy_size, &legacy_ops, vp);
        pci_register_bar(&d->pci, VIRTIO_PCI_LEGACY_BAR, PCI_BAR_IO, &vp->legacy);
    }
    if (vp->nvec && (r = pci_msix_init(&d->pci, &vp->msix, vp->nvec, VIRTIO_PCI_MSIX_BAR)) < 0) {
        *err = xasprintf("%s: cannot give it MSI-X: %s", name, strerror(-r));
        goto fail;
    }
    if (!vp->disable_modern) {
        io_region_init(&vp->modern, IO_SPACE_MMIO, vp->modern_name, MODERN_BAR_SIZE, &modern_ops, vp);
        pci_register_bar(&d->pci, VIRTIO_PCI_MODERN_BAR, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, &vp->modern);
        if ((r = add_modern_caps(vp)) < 0) {
            *err = xasprintf("%s: no room for its capabilities: %s", name, strerror(-r));
            goto fail;
        }
    }
    if ((r = open_fds(vp)) < 0 || (r = add_notifiers(vp)) < 0) {
        *err = xasprintf("%s: cannot set up its eventfds: %s", name, strerror(-r));
        goto fail_fds;
    }
    vdev->transport = &vp_transport;
    vdev->transport_opaque = vp;
    return 0;

fail_fds:
    close_fds(vp);
fail:
    if (vp->nvec)
        pci_msix_uninit(&d->pci);
    pci_device_unregister(&d->pci);
    return r;
}

void virtio_pci_unrealize(struct virtio_pci *vp)
{
    for (unsigned i = 0; i < vp->vdev->nvq; i++) {
        int fd = virtio_queue_host_fd(&vp->vdev->vq[i]);

        if (!vp->disable_legacy)
            io_region_del_eventfd(&vp->legacy, fd);
        if (!vp->disable_modern)
            io_region_del_eventfd(&vp->modern, fd);
    }
    close_fds(vp);
    if (vp->nvec)
        pci_msix_uninit(vp->pci);
    pci_device_unregister(vp->pci);
    vp->vdev->transport = NULL;
}

void virtio_pci_reset(struct virtio_pci *vp)
{
    set_status(vp, 0);
    pci_device_reset(vp->pci);
}

int virtio_pci_check_loaded(const struct virtio_pci *vp)
{
    const struct virtio_device *vdev = vp->vdev;

    if (vdev->config_vector != VIRTIO_NO_VECTOR && vdev->config_vector >= vp->nvec)
        return -EINVAL;
    for (unsigned i = 0; i < vdev->nvq; i++)
        if (vdev->vq[i].vector != VIRTIO_NO_VECTOR && vdev->vq[i].vector >= vp->nvec)
            return -EINVAL;
    return 0;
}

void virtio_pci_state_loaded(struct virtio_pci *vp)
{
    pci_device_state_loaded(vp->pci);
    virtio_state_loaded(vp->vdev);
    if (!msix_on(vp))
        intx_update(vp);
}

static const struct vmstate_field virtio_pci_fields[] = {
    VMSTATE_U32(dfselect, struct virtio_pci),
    VMSTATE_U32(gfselect, struct virtio_pci),
    VMSTATE_U32_ARRAY(guest_features, struct virtio_pci, 2),
    VMSTATE_U16(queue_sel, struct virtio_pci),
    VMSTATE_STRUCT(msix, struct virtio_pci, pci_msix_vmsd, struct pci_msix),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc virtio_pci_vmsd = {
    .name = "virtio-pci",
    .version = 1,
    .min_version = 1,
    .fields = virtio_pci_fields,
};
