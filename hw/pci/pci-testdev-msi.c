/* pci-testdev-msi.c: a PCI function for tests of the interrupt and doorbell fast paths: MSI and MSI-X, vectors sent by irqfd, ioeventfd doorbells, INTx by irqfd (skiff's own) */
#define LOG_PREFIX "pci-testdev-msi: "
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci-testdev-msi.h"
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h" // loop_add_fd, loop_del_fd

#include <sys/eventfd.h>
#include <unistd.h>

struct testdev_msi {
    struct device dev;
    struct pci_device pci;
    struct pci_msix msix;
    struct io_region mmio, pio;
    int ring_fd, match_fd;
    int vec_fd[TD_NVEC];
    bool fds_open;
    uint32_t scratch, rings, rings_match, misses;
    bool intx_irqfd;
};
PCI_DEVICE_CHECK(struct testdev_msi);

/* The doorbells' handlers: what the eventfd counted since they last ran. */
static void ring_event(void *opaque, uint32_t events)
{
    struct testdev_msi *t = opaque;
    eventfd_t n;

    if (eventfd_read(t->ring_fd, &n) == 0)
        t->rings += n;
}

static void ring_match_event(void *opaque, uint32_t events)
{
    struct testdev_msi *t = opaque;
    eventfd_t n;

    if (eventfd_read(t->match_fd, &n) == 0)
        t->rings_match += n;
}

static void testdev_set_intx_irqfd(struct testdev_msi *t, bool on)
{
    if (on && pci_intx_irqfd_enable(&t->pci) < 0)
        on = false;
    if (!on)
        pci_intx_irqfd_disable(&t->pci);
    t->intx_irqfd = on;
}

static uint64_t testdev_read(void *opaque, uint64_t off, unsigned size)
{
    struct testdev_msi *t = opaque;

    switch (off) {
    case TD_SCRATCH:
        return t->scratch;
    case TD_INTX:
        return t->pci.intx_level;
    case TD_RINGS:
        return t->rings;
    case TD_RINGS_MATCH:
        return t->rings_match;
    case TD_MISSES:
        return t->misses;
    case TD_INTX_IRQFD:
        return t->intx_irqfd;
    default:
        return 0;
    }
}

static void testdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct testdev_msi *t = opaque;

    switch (off) {
    case TD_SCRATCH:
        t->scratch = val;
        break;
    case TD_INTX:
        pci_set_irq(&t->pci, val & 1);
        break;
    case TD_NOTIFY:
        if (val >= TD_NVEC)
            break;
        if (pci_msix_enabled(&t->pci))
            pci_msix_notify(&t->pci, val);
        else if (pci_msi_enabled(&t->pci))
            pci_msi_notify(&t->pci, val);
        break;
    case TD_NOTIFY_FAST:
        if (val < TD_NVEC)
            eventfd_write(t->vec_fd[val], 1);
        break;
    case TD_DOORBELL:
    case TD_DOORBELL_MATCH:
        /* an ioeventfd catches these before they get here; a value it does not match comes */
        t->misses++;
        break;
    case TD_INTX_IRQFD:
        testdev_set_intx_irqfd(t, val & 1);
        break;
    }
}

static const struct io_region_ops testdev_ops = {
    .read = testdev_read,
    .write = testdev_write,
    .valid = { .min = 4, .max = 4 },
};

static const struct pci_id testdev_id = {
    .vendor = 0x1b36,           /* the pci-testdev family's identity, revision 1 */
    .device = 0x0005,
    .revision = 1,
    .class_code = 0x00ff00,
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
    .intx_pin = 1,
};

static void testdev_reset(struct device *dev)
{
    struct testdev_msi *t = container_of(dev, struct testdev_msi, dev);

    testdev_set_intx_irqfd(t, false);
    pci_device_reset(&t->pci);
    t->scratch = t->rings = t->rings_match = t->misses = 0;
}

static void testdev_close_fds(struct testdev_msi *t)
{
    if (!t->fds_open)
        return;
    for (int v = 0; v < TD_NVEC; v++) {
        pci_msix_vector_unuse_eventfd(&t->pci, v);
        close(t->vec_fd[v]);
    }
    io_region_del_eventfd(&t->mmio, t->ring_fd);
    io_region_del_eventfd(&t->pio, t->ring_fd);
    io_region_del_eventfd(&t->mmio, t->match_fd);
    loop_del_fd(t->ring_fd);
    loop_del_fd(t->match_fd);
    close(t->ring_fd);
    close(t->match_fd);
    t->fds_open = false;
}

static int testdev_open_fds(struct testdev_msi *t, char **err)
{
    bool made;
    int r;

    t->ring_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->match_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    made = t->ring_fd >= 0 && t->match_fd >= 0;
    for (int v = 0; v < TD_NVEC; v++) {
        t->vec_fd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        made &= t->vec_fd[v] >= 0;
    }
    if (!made) {
        r = -EMFILE;
        goto fail;
    }
    if ((r = loop_add_fd(t->ring_fd, EPOLLIN, ring_event, t)) < 0)
        goto fail;
    if ((r = loop_add_fd(t->match_fd, EPOLLIN, ring_match_event, t)) < 0) {
        loop_del_fd(t->ring_fd);
        goto fail;
    }
    t->fds_open = true;
    if ((r = io_region_add_eventfd(&t->mmio, TD_DOORBELL, 4, false, 0, t->ring_fd)) < 0 ||
        (r = io_region_add_eventfd(&t->pio, TD_DOORBELL, 4, false, 0, t->ring_fd)) < 0 ||
        (r = io_region_add_eventfd(&t->mmio, TD_DOORBELL_MATCH, 4, true, TD_MATCH_VALUE, t->match_fd)) < 0)
        goto fail_open;
    for (int v = 0; v < TD_NVEC; v++)
        if ((r = pci_msix_vector_use_eventfd(&t->pci, v, t->vec_fd[v])) < 0)
            goto fail_open;
    return 0;

fail_open:
    testdev_close_fds(t);
    *err = xasprintf("pci-testdev-msi: cannot set up its eventfds: %s", strerror(-r));
    return r;
fail:
    for (int v = 0; v < TD_NVEC; v++)
        if (t->vec_fd[v] >= 0)
            close(t->vec_fd[v]);
    if (t->ring_fd >= 0)
        close(t->ring_fd);
    if (t->match_fd >= 0)
        close(t->match_fd);
    *err = xasprintf("pci-testdev-msi: cannot make its eventfds: %s", strerror(-r));
    return r;
}

static int testdev_realize(struct device *dev, char **err)
{
    struct testdev_msi *t = container_of(dev, struct testdev_msi, dev);
    int r;

    t->pci.devfn = -1;
    r = pci_device_register(&t->pci, "pci-testdev-msi", &testdev_id, -1, NULL, err);
    if (r < 0)
        return r;
    io_region_init(&t->mmio, IO_SPACE_MMIO, "pci-testdev-msi-mmio", 4096, &testdev_ops, t);
    io_region_init(&t->pio, IO_SPACE_PIO, "pci-testdev-msi-io", 256, &testdev_ops, t);
    pci_register_bar(&t->pci, 0, PCI_BAR_MEM32, &t->mmio);
    pci_register_bar(&t->pci, 1, PCI_BAR_IO, &t->pio);
    if ((r = pci_msi_init(&t->pci, TD_NVEC, true, true)) < 0 ||
        (r = pci_msix_init(&t->pci, &t->msix, TD_NVEC, TD_MSIX_BAR)) < 0) {
        *err = xasprintf("pci-testdev-msi: no room for its capabilities: %s", strerror(-r));
        pci_device_unregister(&t->pci);
        return r;
    }
    r = testdev_open_fds(t, err);
    if (r < 0) {
        pci_device_unregister(&t->pci);
        return r;
    }
    testdev_reset(dev);
    return 0;
}

static void testdev_unrealize(struct device *dev)
{
    struct testdev_msi *t = container_of(dev, struct testdev_msi, dev);

    testdev_set_intx_irqfd(t, false);
    testdev_close_fds(t);
    pci_device_unregister(&t->pci);
}

static void testdev_state_loaded(struct device *dev)
{
    struct testdev_msi *t = container_of(dev, struct testdev_msi, dev);

    /* the loaded flag says which way INTx goes; the irqfd itself is this process's */
    testdev_set_intx_irqfd(t, t->intx_irqfd);
    pci_device_state_loaded(&t->pci);
}

static const struct vmstate_field testdev_fields[] = {
    VMSTATE_STRUCT(pci, struct testdev_msi, pci_device_vmsd, struct pci_device),
    VMSTATE_STRUCT(msix, struct testdev_msi, pci_msix_vmsd, struct pci_msix),
    VMSTATE_U32(scratch, struct testdev_msi),
    VMSTATE_U32(rings, struct testdev_msi),
    VMSTATE_U32(rings_match, struct testdev_msi),
    VMSTATE_U32(misses, struct testdev_msi),
    VMSTATE_BOOL(intx_irqfd, struct testdev_msi),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc testdev_vmsd = {
    .name = "pci-testdev-msi",
    .version = 1,
    .min_version = 1,
    .fields = testdev_fields,
};

static struct device_type testdev_msi_type = {
    .name = "pci-testdev-msi",
    .desc = "PCI test function for MSI, MSI-X, irqfd and ioeventfd (device tests and payloads)",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct testdev_msi),
    .user_creatable = true,
    .realize = testdev_realize,
    .reset = testdev_reset,
    .unrealize = testdev_unrealize,
    .vmsd = &testdev_vmsd,
    .state_loaded = testdev_state_loaded,
};
DEVICE_TYPE_REGISTER(testdev_msi_type)
