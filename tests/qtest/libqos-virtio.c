/* libqos-virtio.c: a virtio driver for device tests: the PCI transport's two interfaces (virtio 1.2 sections 4.1.4 and 4.1.4.8), feature negotiation (3.1.1), split virtqueues (2.7), MSI-X and INTx */
#include "tests/qtest/libqos-virtio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCI_VENDOR_REDHAT       0x1af4
#define PCI_STATUS              0x06
#define PCI_STATUS_CAP_LIST     0x10
#define PCI_CAPABILITY_LIST     0x34
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_CAP_ID_VNDR         0x09
#define PCI_CAP_ID_MSIX         0x11
#define PIIX3_DEVFN             PCI_DEVFN(1, 0)
#define PIIX3_PIRQRC            0x60

static void __attribute__((noreturn, format(printf, 1, 2))) qvirtio_fatal(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "libqos-virtio: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    printf("not ok - qtest harness: libqos-virtio was misused (see the log)\n");
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (!p)
        qvirtio_fatal("out of memory");
    return p;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* ---- finding the function and its interfaces ---- */

static bool is_virtio(struct qpci_dev *d, uint16_t id)
{
    if (d->vendor != PCI_VENDOR_REDHAT)
        return false;
    if (d->device == 0x1040 + id)
        return true;
    /* 4.1.2.1: a transitional device's subsystem device ID is the virtio device ID */
    return d->device >= 0x1000 && d->device <= 0x103f &&
           pci_cfg_readw(d->bus->q, d->devfn, PCI_SUBSYSTEM_ID) == id;
}

static uint64_t bar_addr(struct qvirtio_dev *vd, uint8_t bar)
{
    return bar < QPCI_NUM_BARS ? vd->pci->bar[bar].addr : 0;
}

static void parse_caps(struct qvirtio_dev *vd)
{
    struct qtest *q = vd->q;
    int devfn = vd->pci->devfn;
    unsigned at;

    if (!(pci_cfg_readw(q, devfn, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return;
    at = pci_cfg_readb(q, devfn, PCI_CAPABILITY_LIST) & ~3u;
    for (int n = 0; at >= 0x40 && n < 48; n++) {
        uint8_t id = pci_cfg_readb(q, devfn, at);

        if (id == PCI_CAP_ID_VNDR) {
            uint8_t type = pci_cfg_readb(q, devfn, at + 3);

            if (type < 6 && !vd->cap[type].at) {
                vd->cap[type].at = at;
                vd->cap[type].bar = pci_cfg_readb(q, devfn, at + 4);
                vd->cap[type].offset = pci_cfg_readl(q, devfn, at + 8);
                vd->cap[type].length = pci_cfg_readl(q, devfn, at + 12);
                if (type == QVIRTIO_CAP_NOTIFY)
                    vd->notify_mult = pci_cfg_readl(q, devfn, at + 16);
            }
        } else if (id == PCI_CAP_ID_MSIX && !vd->msix_cap) {
            uint32_t table = pci_cfg_readl(q, devfn, at + 4), pba = pci_cfg_readl(q, devfn, at + 8);

            vd->msix_cap = at;
            vd->msix_size = (pci_cfg_readw(q, devfn, at + 2) & 0x7ff) + 1;
            vd->msix_table = bar_addr(vd, table & 7) + (table & ~7u);
            vd->msix_pba = bar_addr(vd, pba & 7) + (pba & ~7u);
        }
        at = pci_cfg_readb(q, devfn, at + 1) & ~3u;
    }
}

unsigned qvirtio_find_cap(struct qvirtio_dev *vd, uint8_t cfg_type, int nth)
{
    struct qtest *q = vd->q;
    int devfn = vd->pci->devfn;
    unsigned at = pci_cfg_readb(q, devfn, PCI_CAPABILITY_LIST) & ~3u;

    for (int n = 0; at >= 0x40 && n < 48; n++) {
        if (pci_cfg_readb(q, devfn, at) == PCI_CAP_ID_VNDR && pci_cfg_readb(q, devfn, at + 3) == cfg_type &&
            nth-- == 0)
            return at;
        at = pci_cfg_readb(q, devfn, at + 1) & ~3u;
    }
    return 0;
}

static uint64_t cap_addr(struct qvirtio_dev *vd, int type)
{
    struct qvirtio_cap *c = &vd->cap[type];

    return c->at && bar_addr(vd, c->bar) ? bar_addr(vd, c->bar) + c->offset : 0;
}

struct qvirtio_dev *qvirtio_pci_new(struct qpci_bus *bus, uint16_t virtio_id, int index, enum qvirtio_mode mode)
{
    struct qpci_dev *d = NULL;
    struct qvirtio_dev *vd;

    for (int i = 0; i < bus->ndevs && !d; i++)
        if (is_virtio(&bus->devs[i], virtio_id) && index-- == 0)
            d = &bus->devs[i];
    if (!d)
        return NULL;
    vd = xcalloc(1, sizeof(*vd));
    vd->q = bus->q;
    vd->pci = d;
    vd->mode = mode;
    vd->virtio_id = virtio_id;
    vd->gsi = -1;
    vd->config_vector = QVIRTIO_NO_VECTOR;
    for (int n = 0; n < QPCI_NUM_BARS; n++)
        qpci_iomap(d, n, NULL);
    qpci_enable(d);
    parse_caps(vd);
    vd->common = cap_addr(vd, QVIRTIO_CAP_COMMON);
    vd->isr = cap_addr(vd, QVIRTIO_CAP_ISR);
    vd->device = cap_addr(vd, QVIRTIO_CAP_DEVICE);
    vd->notify = cap_addr(vd, QVIRTIO_CAP_NOTIFY);
    if (mode == QVIRTIO_LEGACY) {
        vd->io = d->bar[0].io ? d->bar[0].addr : 0;
        if (!vd->io)
            goto none;
    } else if (!vd->common || !vd->isr || !vd->device || !vd->notify) {
        goto none;
    }
    return vd;

none:
    free(vd);
    return NULL;
}

void qvirtio_free(struct qvirtio_dev *vd)
{
    free(vd);
}

/* ---- registers ---- */

static uint32_t mmio_read(struct qtest *q, uint64_t a, unsigned size)
{
    switch (size) {
    case 1: return qtest_readb(q, a);
    case 2: return qtest_readw(q, a);
    default: return qtest_readl(q, a);
    }
}

static void mmio_write(struct qtest *q, uint64_t a, uint32_t v, unsigned size)
{
    switch (size) {
    case 1: qtest_writeb(q, a, v); break;
    case 2: qtest_writew(q, a, v); break;
    default: qtest_writel(q, a, v); break;
    }
}

static uint32_t io_read(struct qtest *q, uint64_t port, unsigned size)
{
    switch (size) {
    case 1: return qtest_inb(q, port);
    case 2: return qtest_inw(q, port);
    default: return qtest_inl(q, port);
    }
}

static void io_write(struct qtest *q, uint64_t port, uint32_t v, unsigned size)
{
    switch (size) {
    case 1: qtest_outb(q, port, v); break;
    case 2: qtest_outw(q, port, v); break;
    default: qtest_outl(q, port, v); break;
    }
}

uint32_t qvirtio_common_read(struct qvirtio_dev *vd, unsigned off, unsigned size)
{
    if (!vd->common)
        qvirtio_fatal("common configuration of a device without the modern interface");
    return mmio_read(vd->q, vd->common + off, size);
}

void qvirtio_common_write(struct qvirtio_dev *vd, unsigned off, uint32_t val, unsigned size)
{
    if (!vd->common)
        qvirtio_fatal("common configuration of a device without the modern interface");
    mmio_write(vd->q, vd->common + off, val, size);
}

static void cfgcap_setup(struct qvirtio_dev *vd, uint8_t bar, uint32_t off, unsigned len)
{
    unsigned at = vd->cap[QVIRTIO_CAP_PCI_CFG].at;

    if (!at)
        qvirtio_fatal("no PCI configuration access capability");
    pci_cfg_writeb(vd->q, vd->pci->devfn, at + 4, bar);
    pci_cfg_writel(vd->q, vd->pci->devfn, at + 8, off);
    pci_cfg_writel(vd->q, vd->pci->devfn, at + 12, len);
}

uint32_t qvirtio_cfgcap_read(struct qvirtio_dev *vd, uint8_t bar, uint32_t off, unsigned len)
{
    uint32_t v;

    cfgcap_setup(vd, bar, off, len);
    v = pci_cfg_readl(vd->q, vd->pci->devfn, vd->cap[QVIRTIO_CAP_PCI_CFG].at + 16);
    return len >= 4 ? v : v & ((1u << (8 * len)) - 1);
}

void qvirtio_cfgcap_write(struct qvirtio_dev *vd, uint8_t bar, uint32_t off, unsigned len, uint32_t val)
{
    cfgcap_setup(vd, bar, off, len);
    pci_cfg_writel(vd->q, vd->pci->devfn, vd->cap[QVIRTIO_CAP_PCI_CFG].at + 16, val);
}

uint8_t qvirtio_get_status(struct qvirtio_dev *vd)
{
    if (vd->mode == QVIRTIO_LEGACY)
        return qtest_inb(vd->q, vd->io + QVIRTIO_L_STATUS);
    return qvirtio_common_read(vd, QVIRTIO_C_STATUS, 1);
}

void qvirtio_set_status(struct qvirtio_dev *vd, uint8_t status)
{
    if (vd->mode == QVIRTIO_LEGACY)
        qtest_outb(vd->q, vd->io + QVIRTIO_L_STATUS, status);
    else
        qvirtio_common_write(vd, QVIRTIO_C_STATUS, status, 1);
}

bool qvirtio_reset(struct qvirtio_dev *vd)
{
    qvirtio_set_status(vd, 0);
    for (int i = 0; i < 1000; i++) {
        if (qvirtio_get_status(vd) == 0)
            return true;
        usleep(1000);
    }
    return false;
}

uint64_t qvirtio_host_features(struct qvirtio_dev *vd)
{
    uint64_t f;

    if (vd->mode == QVIRTIO_LEGACY)
        return qtest_inl(vd->q, vd->io + QVIRTIO_L_HOST_FEATURES);
    qvirtio_common_write(vd, QVIRTIO_C_DFSELECT, 0, 4);
    f = qvirtio_common_read(vd, QVIRTIO_C_DF, 4);
    qvirtio_common_write(vd, QVIRTIO_C_DFSELECT, 1, 4);
    return f | (uint64_t)qvirtio_common_read(vd, QVIRTIO_C_DF, 4) << 32;
}

void qvirtio_write_features(struct qvirtio_dev *vd, uint64_t features)
{
    if (vd->mode == QVIRTIO_LEGACY) {
        qtest_outl(vd->q, vd->io + QVIRTIO_L_GUEST_FEATURES, (uint32_t)features);
        return;
    }
    qvirtio_common_write(vd, QVIRTIO_C_GFSELECT, 0, 4);
    qvirtio_common_write(vd, QVIRTIO_C_GF, (uint32_t)features, 4);
    qvirtio_common_write(vd, QVIRTIO_C_GFSELECT, 1, 4);
    qvirtio_common_write(vd, QVIRTIO_C_GF, features >> 32, 4);
}

uint64_t qvirtio_read_guest_features(struct qvirtio_dev *vd)
{
    uint64_t f;

    if (vd->mode == QVIRTIO_LEGACY)
        return qtest_inl(vd->q, vd->io + QVIRTIO_L_GUEST_FEATURES);
    qvirtio_common_write(vd, QVIRTIO_C_GFSELECT, 0, 4);
    f = qvirtio_common_read(vd, QVIRTIO_C_GF, 4);
    qvirtio_common_write(vd, QVIRTIO_C_GFSELECT, 1, 4);
    return f | (uint64_t)qvirtio_common_read(vd, QVIRTIO_C_GF, 4) << 32;
}

bool qvirtio_negotiate(struct qvirtio_dev *vd, uint64_t wanted)
{
    uint64_t f;

    vd->features = 0;
    if (!qvirtio_reset(vd))
        return false;
    qvirtio_set_status(vd, QVIRTIO_ACKNOWLEDGE);
    qvirtio_set_status(vd, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER);
    f = qvirtio_host_features(vd) & wanted;
    qvirtio_write_features(vd, f);
    if (vd->mode == QVIRTIO_MODERN) {
        qvirtio_set_status(vd, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_FEATURES_OK);
        if (!(qvirtio_get_status(vd) & QVIRTIO_FEATURES_OK))
            return false;
    }
    vd->features = f;
    /* a reset forgot the vectors (4.1.4.3): the configuration's goes back where the library keeps it */
    vd->config_vector = QVIRTIO_NO_VECTOR;
    if (vd->msix_on)
        qvirtio_set_config_vector(vd, 0);
    return true;
}

void qvirtio_driver_ok(struct qvirtio_dev *vd)
{
    qvirtio_set_status(vd, qvirtio_get_status(vd) | QVIRTIO_DRIVER_OK);
}

uint8_t qvirtio_read_isr(struct qvirtio_dev *vd)
{
    uint8_t v = vd->mode == QVIRTIO_LEGACY ? qtest_inb(vd->q, vd->io + QVIRTIO_L_ISR)
                                           : qtest_readb(vd->q, vd->isr);

    vd->isr_seen |= v;
    return v;
}

uint8_t qvirtio_config_generation(struct qvirtio_dev *vd)
{
    return qvirtio_common_read(vd, QVIRTIO_C_CFGGEN, 1);
}

static uint32_t config_read(struct qvirtio_dev *vd, unsigned off, unsigned size)
{
    if (vd->mode == QVIRTIO_LEGACY)
        return io_read(vd->q, vd->io + (vd->msix_on ? 24 : 20) + off, size);
    return mmio_read(vd->q, vd->device + off, size);
}

uint8_t qvirtio_config_readb(struct qvirtio_dev *vd, unsigned off) { return config_read(vd, off, 1); }
uint16_t qvirtio_config_readw(struct qvirtio_dev *vd, unsigned off) { return config_read(vd, off, 2); }
uint32_t qvirtio_config_readl(struct qvirtio_dev *vd, unsigned off) { return config_read(vd, off, 4); }

uint64_t qvirtio_config_readq(struct qvirtio_dev *vd, unsigned off)
{
    /* 4.1.3.1: wider fields are read in 32-bit halves, the generation unchanged around them */
    uint64_t v;
    uint8_t gen;

    for (int i = 0; i < 100; i++) {
        gen = vd->mode == QVIRTIO_MODERN ? qvirtio_config_generation(vd) : 0;
        v = config_read(vd, off, 4) | (uint64_t)config_read(vd, off + 4, 4) << 32;
        if (vd->mode == QVIRTIO_LEGACY || gen == qvirtio_config_generation(vd))
            break;
    }
    return v;
}

void qvirtio_config_writeb(struct qvirtio_dev *vd, unsigned off, uint8_t v)
{
    if (vd->mode == QVIRTIO_LEGACY)
        io_write(vd->q, vd->io + (vd->msix_on ? 24 : 20) + off, v, 1);
    else
        mmio_write(vd->q, vd->device + off, v, 1);
}

/* ---- MSI-X ---- */

static void msix_entry(struct qvirtio_dev *vd, unsigned v, uint64_t addr, uint32_t data, bool masked)
{
    uint64_t e = vd->msix_table + 16 * v;

    qtest_writel(vd->q, e + 12, 1);
    qtest_writel(vd->q, e, (uint32_t)addr);
    qtest_writel(vd->q, e + 4, addr >> 32);
    qtest_writel(vd->q, e + 8, data);
    qtest_writel(vd->q, e + 12, masked);
}

static void msix_ctrl(struct qvirtio_dev *vd, uint16_t set, uint16_t clear)
{
    uint16_t c = pci_cfg_readw(vd->q, vd->pci->devfn, vd->msix_cap + 2);

    pci_cfg_writew(vd->q, vd->pci->devfn, vd->msix_cap + 2, (c | set) & ~clear);
}

bool qvirtio_msix_enable(struct qvirtio_dev *vd)
{
    if (!vd->msix_cap)
        return false;
    for (unsigned v = 0; v < vd->msix_size; v++)
        msix_entry(vd, v, QVIRTIO_MSI_ADDR, QVIRTIO_MSI_DATA(v), false);
    msix_ctrl(vd, 0x8000, 0x4000);
    vd->msix_on = true;
    qvirtio_set_config_vector(vd, 0);
    return true;
}

void qvirtio_msix_disable(struct qvirtio_dev *vd)
{
    if (!vd->msix_cap)
        return;
    msix_ctrl(vd, 0, 0x8000);
    vd->msix_on = false;
}

void qvirtio_msix_mask(struct qvirtio_dev *vd, unsigned v, bool masked)
{
    qtest_writel(vd->q, vd->msix_table + 16 * v + 12, masked);
}

void qvirtio_msix_function_mask(struct qvirtio_dev *vd, bool masked)
{
    msix_ctrl(vd, masked ? 0x4000 : 0, masked ? 0 : 0x4000);
}

bool qvirtio_msix_pending(struct qvirtio_dev *vd, unsigned v)
{
    return qtest_readl(vd->q, vd->msix_pba + 4 * (v / 32)) >> (v % 32) & 1;
}

uint16_t qvirtio_set_config_vector(struct qvirtio_dev *vd, uint16_t v)
{
    if (vd->mode == QVIRTIO_LEGACY) {
        /* the register is there only while MSI-X is on (4.1.4.8) */
        qtest_outw(vd->q, vd->io + QVIRTIO_L_CONFIG_VECTOR, v);
        return vd->config_vector = qtest_inw(vd->q, vd->io + QVIRTIO_L_CONFIG_VECTOR);
    }
    qvirtio_common_write(vd, QVIRTIO_C_MSIX, v, 2);
    return vd->config_vector = qvirtio_common_read(vd, QVIRTIO_C_MSIX, 2);
}

uint16_t qvirtio_set_queue_vector(struct qvirtio_dev *vd, unsigned queue, uint16_t v)
{
    if (vd->mode == QVIRTIO_LEGACY) {
        qtest_outw(vd->q, vd->io + QVIRTIO_L_QUEUE_SEL, queue);
        qtest_outw(vd->q, vd->io + QVIRTIO_L_QUEUE_VECTOR, v);
        return qtest_inw(vd->q, vd->io + QVIRTIO_L_QUEUE_VECTOR);
    }
    qvirtio_common_write(vd, QVIRTIO_C_Q_SELECT, queue, 2);
    qvirtio_common_write(vd, QVIRTIO_C_Q_MSIX, v, 2);
    return qvirtio_common_read(vd, QVIRTIO_C_Q_MSIX, 2);
}

/* Take the messages that have come, counting each by the vector its data names. */
static void msi_collect(struct qvirtio_dev *vd)
{
    uint64_t a;
    uint32_t d;

    while (qtest_msi_next(vd->q, &a, &d, 0)) {
        if (a == QVIRTIO_MSI_ADDR && d >= QVIRTIO_MSI_DATA(0) && d < QVIRTIO_MSI_DATA(64))
            vd->msi_seen[d - QVIRTIO_MSI_DATA(0)]++;
        else
            printf("# libqos-virtio: an MSI not of this device's table: 0x%llx 0x%x\n",
                   (unsigned long long)a, d);
    }
}

bool qvirtio_wait_msi(struct qvirtio_dev *vd, unsigned v, int timeout_ms)
{
    if (v >= 64)
        return false;
    for (int t = 0;; t++) {
        msi_collect(vd);
        if (vd->msi_seen[v]) {
            vd->msi_seen[v]--;
            return true;
        }
        if (t >= timeout_ms)
            return false;
        usleep(1000);
    }
}

int qvirtio_msi_count(struct qvirtio_dev *vd, unsigned v)
{
    msi_collect(vd);
    return v < 64 ? vd->msi_seen[v] : 0;
}

void qvirtio_msi_forget(struct qvirtio_dev *vd)
{
    msi_collect(vd);
    memset(vd->msi_seen, 0, sizeof(vd->msi_seen));
}

/* ---- INTx ---- */

void qvirtio_intx_route(struct qvirtio_dev *vd, int irq)
{
    /* INTA# of slot s reaches PIRQ (s - 1) & 3 (the board's swizzle, hw/pci/pci.h) */
    int pirq = ((vd->pci->devfn >> 3) - 1) & 3;

    pci_cfg_writeb(vd->q, PIIX3_DEVFN, PIIX3_PIRQRC + pirq, irq);
    vd->gsi = irq;
}

bool qvirtio_wait_isr(struct qvirtio_dev *vd, uint8_t bits, int timeout_ms)
{
    for (int t = 0;; t++) {
        if (vd->isr_seen & bits) {
            vd->isr_seen &= ~bits;
            return true;
        }
        if (t >= timeout_ms)
            return false;
        /* the line first, where it is routed: reading the ISR lowers it */
        if (vd->gsi < 0 || qtest_get_irq(vd->q, vd->gsi)) {
            if (qvirtio_read_isr(vd) & bits)
                continue;
        }
        usleep(1000);
    }
}

/* ---- split virtqueues ---- */

uint64_t qvring_size(uint16_t num)
{
    uint64_t used = align_up(QVRING_DESC_SIZE * (uint64_t)num + 6 + 2 * (uint64_t)num, 4096);

    return used + 6 + 8 * (uint64_t)num;
}

struct qvirtqueue *qvirtqueue_setup(struct qvirtio_dev *vd, struct qalloc *alloc, unsigned index, uint16_t size)
{
    struct qtest *q = vd->q;
    struct qvirtqueue *vq;
    uint16_t max;

    if (vd->mode == QVIRTIO_LEGACY) {
        qtest_outw(q, vd->io + QVIRTIO_L_QUEUE_SEL, index);
        max = qtest_inw(q, vd->io + QVIRTIO_L_QUEUE_NUM);
        size = max;
    } else {
        qvirtio_common_write(vd, QVIRTIO_C_Q_SELECT, index, 2);
        max = qvirtio_common_read(vd, QVIRTIO_C_Q_SIZE, 2);
        if (!size)
            size = max;
    }
    if (!max || size > max)
        return NULL;
    vq = xcalloc(1, sizeof(*vq));
    vq->vd = vd;
    vq->alloc = alloc;
    vq->index = index;
    vq->size = size;
    vq->num_free = size;
    vq->mem = qalloc_aligned(alloc, qvring_size(size), 4096);
    if (!vq->mem)
        qvirtio_fatal("no guest memory for a queue of %u", size);
    qtest_cmd(q, "memset 0x%llx 0x%llx 0", (unsigned long long)vq->mem, (unsigned long long)qvring_size(size));
    vq->desc = vq->mem;
    vq->avail = vq->mem + QVRING_DESC_SIZE * size;
    vq->used = align_up(vq->avail + 6 + 2 * size, 4096);
    vq->busy = xcalloc(size, 1);
    vq->next = xcalloc(size, sizeof(*vq->next));
    vq->chain_len = xcalloc(size, sizeof(*vq->chain_len));
    vq->indirect = xcalloc(size, sizeof(*vq->indirect));
    vq->vector = vd->msix_on && 1 + index < vd->msix_size ? 1 + index : QVIRTIO_NO_VECTOR;
    if (vd->msix_on)
        qvirtio_set_queue_vector(vd, index, vq->vector);
    if (vd->mode == QVIRTIO_LEGACY) {
        qtest_outw(q, vd->io + QVIRTIO_L_QUEUE_SEL, index);
        qtest_outl(q, vd->io + QVIRTIO_L_QUEUE_PFN, vq->mem >> 12);
        return vq;
    }
    qvirtio_common_write(vd, QVIRTIO_C_Q_SELECT, index, 2);
    qvirtio_common_write(vd, QVIRTIO_C_Q_SIZE, size, 2);
    qvirtio_common_write(vd, QVIRTIO_C_Q_DESCLO, (uint32_t)vq->desc, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_DESCHI, vq->desc >> 32, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_AVAILLO, (uint32_t)vq->avail, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_AVAILHI, vq->avail >> 32, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_USEDLO, (uint32_t)vq->used, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_USEDHI, vq->used >> 32, 4);
    vq->notify_addr = vd->notify + (uint64_t)vd->notify_mult * qvirtio_common_read(vd, QVIRTIO_C_Q_NOFF, 2);
    qvirtio_common_write(vd, QVIRTIO_C_Q_ENABLE, 1, 2);
    if (qvirtio_common_read(vd, QVIRTIO_C_Q_ENABLE, 2) != 1) {
        qvirtqueue_free(vq);
        return NULL;
    }
    return vq;
}

void qvirtqueue_free(struct qvirtqueue *vq)
{
    if (!vq)
        return;
    for (unsigned h = 0; h < vq->size; h++)
        if (vq->indirect[h])
            qfree(vq->alloc, vq->indirect[h]);
    qfree(vq->alloc, vq->mem);
    free(vq->busy);
    free(vq->next);
    free(vq->chain_len);
    free(vq->indirect);
    free(vq);
}

static void desc_encode(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    for (int i = 0; i < 8; i++)
        p[i] = addr >> (8 * i);
    for (int i = 0; i < 4; i++)
        p[8 + i] = len >> (8 * i);
    p[12] = flags;
    p[13] = flags >> 8;
    p[14] = next;
    p[15] = next >> 8;
}

void qvring_write_desc(struct qtest *q, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                       uint16_t flags, uint16_t next)
{
    uint8_t d[QVRING_DESC_SIZE];

    desc_encode(d, addr, len, flags, next);
    qtest_memwrite(q, table + QVRING_DESC_SIZE * (uint64_t)i, d, sizeof(d));
}

/* n free descriptors, linked in the driver's copy; the first. */
static uint16_t desc_take(struct qvirtqueue *vq, unsigned n, uint16_t *idx)
{
    unsigned got = 0;

    if (!n || n > vq->num_free)
        qvirtio_fatal("queue %u: %u descriptors wanted, %u free", vq->index, n, vq->num_free);
    for (unsigned i = 0; i < vq->size && got < n; i++)
        if (!vq->busy[i])
            idx[got++] = i;
    for (unsigned k = 0; k < n; k++) {
        vq->busy[idx[k]] = 1;
        vq->next[idx[k]] = k + 1 < n ? idx[k + 1] : 0;
    }
    vq->num_free -= n;
    vq->chain_len[idx[0]] = n;
    vq->indirect[idx[0]] = 0;
    return idx[0];
}

uint16_t qvirtqueue_add(struct qvirtqueue *vq, const struct qvirtio_buf *bufs, unsigned n)
{
    uint16_t *idx = xcalloc(n, sizeof(*idx)), head;

    head = desc_take(vq, n, idx);
    for (unsigned k = 0; k < n; k++)
        qvring_write_desc(vq->vd->q, vq->desc, idx[k], bufs[k].addr, bufs[k].len,
                          (bufs[k].write ? QVRING_F_WRITE : 0) | (k + 1 < n ? QVRING_F_NEXT : 0),
                          k + 1 < n ? idx[k + 1] : 0);
    free(idx);
    return head;
}

uint16_t qvirtqueue_add_indirect(struct qvirtqueue *vq, const struct qvirtio_buf *bufs, unsigned n)
{
    uint8_t *t = xcalloc(n, QVRING_DESC_SIZE);
    uint64_t table = qalloc(vq->alloc, QVRING_DESC_SIZE * (uint64_t)n);
    uint16_t head;

    if (!table)
        qvirtio_fatal("no guest memory for an indirect table of %u", n);
    for (unsigned k = 0; k < n; k++)
        desc_encode(t + QVRING_DESC_SIZE * k, bufs[k].addr, bufs[k].len,
                    (bufs[k].write ? QVRING_F_WRITE : 0) | (k + 1 < n ? QVRING_F_NEXT : 0),
                    k + 1 < n ? k + 1 : 0);
    qtest_memwrite(vq->vd->q, table, t, QVRING_DESC_SIZE * n);
    free(t);
    desc_take(vq, 1, &head);
    vq->indirect[head] = table;
    qvring_write_desc(vq->vd->q, vq->desc, head, table, QVRING_DESC_SIZE * n, QVRING_F_INDIRECT, 0);
    return head;
}

void qvirtqueue_publish_raw(struct qvirtqueue *vq, uint16_t head, uint16_t idx)
{
    qtest_writew(vq->vd->q, vq->avail + 4 + 2 * (uint64_t)(vq->avail_idx % vq->size), head);
    vq->avail_idx = idx;
    qtest_writew(vq->vd->q, vq->avail + 2, idx);
}

void qvirtqueue_publish(struct qvirtqueue *vq, uint16_t head)
{
    qvirtqueue_publish_raw(vq, head, vq->avail_idx + 1);
}

void qvirtqueue_kick(struct qvirtqueue *vq)
{
    struct qvirtio_dev *vd = vq->vd;

    if (vd->mode == QVIRTIO_LEGACY)
        qtest_outw(vd->q, vd->io + QVIRTIO_L_QUEUE_NOTIFY, vq->index);
    else
        qtest_writew(vd->q, vq->notify_addr, vq->index);
}

bool qvirtqueue_kick_if_needed(struct qvirtqueue *vq, uint16_t old)
{
    uint16_t now = vq->avail_idx, event;

    if (vq->vd->features & QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX)) {
        event = qvirtqueue_avail_event(vq);
        if ((uint16_t)(now - event - 1) >= (uint16_t)(now - old))
            return false;
    } else if (qvirtqueue_used_flags(vq) & QVRING_USED_F_NO_NOTIFY) {
        return false;
    }
    qvirtqueue_kick(vq);
    return true;
}

uint16_t qvirtqueue_submit(struct qvirtqueue *vq, const struct qvirtio_buf *bufs, unsigned n, bool indirect)
{
    uint16_t head = indirect ? qvirtqueue_add_indirect(vq, bufs, n) : qvirtqueue_add(vq, bufs, n);

    qvirtqueue_publish(vq, head);
    qvirtqueue_kick(vq);
    return head;
}

uint16_t qvirtqueue_used_idx(struct qvirtqueue *vq)
{
    return qtest_readw(vq->vd->q, vq->used + 2);
}

uint16_t qvirtqueue_used_flags(struct qvirtqueue *vq)
{
    return qtest_readw(vq->vd->q, vq->used);
}

uint16_t qvirtqueue_avail_event(struct qvirtqueue *vq)
{
    return qtest_readw(vq->vd->q, vq->used + 4 + 8 * (uint64_t)vq->size);
}

bool qvirtqueue_get_used(struct qvirtqueue *vq, uint16_t *head, uint32_t *len)
{
    struct qtest *q = vq->vd->q;
    uint64_t e = vq->used + 4 + 8 * (uint64_t)(vq->last_used % vq->size);
    uint32_t id, n;

    if (qvirtqueue_used_idx(vq) == vq->last_used)
        return false;
    id = qtest_readl(q, e);
    n = qtest_readl(q, e + 4);
    vq->last_used++;
    if (id < vq->size && vq->busy[id]) {
        uint16_t d = id;

        for (unsigned k = vq->chain_len[id]; k > 0; k--) {
            vq->busy[d] = 0;
            vq->num_free++;
            d = vq->next[d];
        }
        if (vq->indirect[id])
            qfree(vq->alloc, vq->indirect[id]);
        vq->indirect[id] = 0;
    }
    /* 2.7.10: interrupt me when the device passes the entry I look at next */
    if (vq->vd->features & QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX))
        qtest_writew(q, vq->avail + 4 + 2 * (uint64_t)vq->size, vq->last_used);
    if (head)
        *head = id;
    if (len)
        *len = n;
    return true;
}

bool qvirtqueue_wait_used(struct qvirtqueue *vq, uint16_t *head, uint32_t *len, int timeout_ms)
{
    for (int t = 0;; t++) {
        if (qvirtqueue_get_used(vq, head, len))
            return true;
        if (t >= timeout_ms)
            return false;
        usleep(1000);
    }
}

bool qvirtqueue_wait_irq(struct qvirtqueue *vq, int timeout_ms)
{
    struct qvirtio_dev *vd = vq->vd;

    if (vd->msix_on)
        return vq->vector != QVIRTIO_NO_VECTOR && qvirtio_wait_msi(vd, vq->vector, timeout_ms);
    return qvirtio_wait_isr(vd, QVIRTIO_ISR_QUEUE, timeout_ms);
}

bool qvirtio_wait_config_irq(struct qvirtio_dev *vd, int timeout_ms)
{
    if (vd->msix_on)
        return vd->config_vector != QVIRTIO_NO_VECTOR && qvirtio_wait_msi(vd, vd->config_vector, timeout_ms);
    return qvirtio_wait_isr(vd, QVIRTIO_ISR_CONFIG, timeout_ms);
}
