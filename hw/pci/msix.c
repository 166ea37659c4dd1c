/* msix.c: MSI-X (PCI Local Bus spec 3.0 section 6.8.2): the capability, the vector table and pending bits in a BAR, masking, and vectors that KVM sends by irqfd */
#define LOG_PREFIX "msix: "
#include "hw/pci/msix.h"
#include "hw/core/accel.h"
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h" // loop_add_fd, loop_del_fd

#include <poll.h>
#include <unistd.h>

static uint16_t msix_flags(const struct pci_device *d)
{
    return pci_get_word(d->config + d->msix->cap + PCI_MSIX_FLAGS);
}

bool pci_msix_enabled(const struct pci_device *d)
{
    return d->msix && (msix_flags(d) & PCI_MSIX_FLAGS_ENABLE);
}

/* Masked: by the function mask or the vector's own (6.8.2.3, 6.8.2.9). */
static bool msix_masked(const struct pci_msix *m, unsigned v)
{
    return (msix_flags(m->pci) & PCI_MSIX_FLAGS_MASKALL) ||
           (m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static struct msi_msg msix_message(const struct pci_msix *m, unsigned v)
{
    const uint8_t *e = m->table + v * PCI_MSIX_ENTRY_SIZE;

    return (struct msi_msg){
        .addr = ldl_le(e + PCI_MSIX_ENTRY_LOWER_ADDR) | (uint64_t)ldl_le(e + PCI_MSIX_ENTRY_UPPER_ADDR) << 32,
        .data = ldl_le(e + PCI_MSIX_ENTRY_DATA),
    };
}

bool pci_msix_is_pending(const struct pci_device *d, unsigned v)
{
    return d->msix && v < d->msix->nvec && (d->msix->pba[v / 64] >> (v % 64) & 1);
}

static void msix_set_pending(struct pci_msix *m, unsigned v, bool on)
{
    if (on)
        m->pba[v / 64] |= 1ULL << (v % 64);
    else
        m->pba[v / 64] &= ~(1ULL << (v % 64));
}

void pci_msix_notify(struct pci_device *d, unsigned v)
{
    struct pci_msix *m = d->msix;

    if (!m || v >= m->nvec || !pci_msix_enabled(d))
        return;
    if (msix_masked(m, v)) {
        msix_set_pending(m, v, true);
        return;
    }
    pci_msi_send(d, msix_message(m, v));
}

/* ---- the fast path: vectors signalled by eventfd ---- */

/* What the eventfd counted since it was last read (0 when nothing; never blocks). */
static uint64_t eventfd_take(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint64_t n = 0;

    if (poll(&p, 1, 0) != 1 || read(fd, &n, sizeof(n)) != sizeof(n))
        return 0;
    return n;
}

/* A signal skiff reads itself (masked, or no irqfd): as pci_msix_notify. */
static void msix_fast_event(void *opaque, uint32_t events)
{
    struct pci_msix_fast *f = opaque;

    if (eventfd_take(f->fd))
        pci_msix_notify(f->msix->pci, f->vector);
}

/* Whether KVM may send v by irqfd: unmasked, bus mastering on, and to the APICs. */
static bool msix_fast_wanted(const struct pci_msix *m, unsigned v)
{
    const struct pci_device *d = m->pci;

    return m->fast[v].used && pci_msix_enabled(d) && !msix_masked(m, v) &&
           (pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_MASTER) &&
           msi_addr_is_apic(msix_message(m, v).addr);
}

/* First pass: the route of a vector KVM is to send follows its table entry. */
static bool msix_fast_route(struct pci_msix *m, unsigned v)
{
    struct pci_msix_fast *f = &m->fast[v];
    struct msi_msg msg = msix_message(m, v);

    if (!msix_fast_wanted(m, v))
        return false;
    if (f->gsi < 0) {
        f->gsi = accel_msi_route_add(msg);
        if (f->gsi < 0) {
            f->gsi = -1;
            return false;
        }
        return true;
    }
    return accel_msi_route_update(f->gsi, msg) == 0;
}

/* Second pass, after the routes are committed: irqfd where wanted, else skiff reads the eventfd. */
static void msix_fast_apply(struct pci_msix *m, unsigned v, bool want)
{
    struct pci_msix_fast *f = &m->fast[v];

    if (want && !f->irqfd) {
        int r;

        if (f->watched) {
            loop_del_fd(f->fd);
            f->watched = false;
        }
        /* what came while skiff watched is sent now (the vector is unmasked); KVM takes the rest */
        if (eventfd_take(f->fd))
            pci_msix_notify(m->pci, v);
        r = accel_irqfd(f->fd, f->gsi, -1, true);
        f->irqfd = r == 0;
        if (r < 0) {
            static bool said;

            if (!said)
                log_debug("%s: no irqfd for MSI-X vectors (%s): skiff sends them from its main loop",
                          m->pci->name, strerror(-r));
            said = true;
        }
    } else if (!want && f->irqfd) {
        accel_irqfd(f->fd, f->gsi, -1, false);
        f->irqfd = false;
    }
    if (f->used && !f->irqfd && !f->watched) {
        if (loop_add_fd(f->fd, EPOLLIN, msix_fast_event, f) == 0)
            f->watched = true;
    }
}

/* Bring every fast vector in line with the table, the masks and the command register. */
static void msix_fast_sync(struct pci_msix *m)
{
    bool want[PCI_MSIX_MAX_VECTORS] = { false }, any = false;

    for (unsigned v = 0; v < m->nvec; v++) {
        if (!m->fast[v].used)
            continue;
        want[v] = msix_fast_route(m, v);
        any = true;
    }
    if (!any)
        return;
    /* one commit for every route that changed */
    if (accel_routes_commit() < 0)
        memset(want, 0, sizeof(want));
    for (unsigned v = 0; v < m->nvec; v++)
        if (m->fast[v].used)
            msix_fast_apply(m, v, want[v]);
}

int pci_msix_vector_use_eventfd(struct pci_device *d, unsigned v, int fd)
{
    struct pci_msix *m = d->msix;

    if (!m || v >= m->nvec || fd < 0 || m->fast[v].used)
        return -EINVAL;
    m->fast[v] = (struct pci_msix_fast){ .msix = m, .vector = v, .used = true, .fd = fd, .gsi = -1 };
    msix_fast_sync(m);
    return 0;
}

void pci_msix_vector_unuse_eventfd(struct pci_device *d, unsigned v)
{
    struct pci_msix *m = d->msix;
    struct pci_msix_fast *f;

    if (!m || v >= m->nvec || !m->fast[v].used)
        return;
    f = &m->fast[v];
    if (f->irqfd)
        accel_irqfd(f->fd, f->gsi, -1, false);
    if (f->watched)
        loop_del_fd(f->fd);
    if (f->gsi >= 0) {
        accel_msi_route_release(f->gsi);
        accel_routes_commit();
    }
    *f = (struct pci_msix_fast){ .gsi = -1 };
}

/* ---- the guest's side: unmasking sends what is pending ---- */

static void msix_update(struct pci_msix *m)
{
    if (pci_msix_enabled(m->pci)) {
        for (unsigned v = 0; v < m->nvec; v++) {
            if (pci_msix_is_pending(m->pci, v) && !msix_masked(m, v)) {
                msix_set_pending(m, v, false);
                pci_msi_send(m->pci, msix_message(m, v));
            }
        }
    }
    msix_fast_sync(m);
}

void pci_msix_config_write(struct pci_device *d)
{
    if (d->msix)
        msix_update(d->msix);
}

/* The BAR: the table (DWORD or QWORD accesses, 6.8.2), then the pending bits, read-only. */
static uint64_t msix_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_msix *m = opaque;

    if (off + 4 <= m->nvec * PCI_MSIX_ENTRY_SIZE)
        return ldl_le(m->table + off);
    if (off >= PCI_MSIX_PBA_OFFSET && off - PCI_MSIX_PBA_OFFSET < 8 * DIV_ROUND_UP(m->nvec, 64)) {
        off -= PCI_MSIX_PBA_OFFSET;
        return (uint32_t)(m->pba[off / 8] >> (8 * (off % 8)));
    }
    return 0;
}

static void msix_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pci_msix *m = opaque;

    if (off + 4 > m->nvec * PCI_MSIX_ENTRY_SIZE)
        return;
    /* vector control: only the mask bit is defined; the rest reads zero */
    if (off % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_VECTOR_CTRL)
        val &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
    stl_le(m->table + off, val);
    msix_update(m);
}

static const struct io_region_ops msix_mmio_ops = {
    .read = msix_mmio_read,
    .write = msix_mmio_write,
    .valid = { .min = 4, .max = 8 },
    .impl = { .min = 4, .max = 4 },
};

void pci_msix_reset(struct pci_device *d)
{
    struct pci_msix *m = d->msix;

    if (!m)
        return;
    memset(m->table, 0, sizeof(m->table));
    memset(m->pba, 0, sizeof(m->pba));
    for (unsigned v = 0; v < m->nvec; v++)
        m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    msix_fast_sync(m);
}

int pci_msix_init(struct pci_device *d, struct pci_msix *m, unsigned nvec, int bar)
{
    int c;

    if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar < 0 || bar >= PCI_ROM_SLOT || d->msix)
        return -EINVAL;
    c = pci_add_capability(d, PCI_CAP_ID_MSIX, 12);
    if (c < 0)
        return c;
    m->pci = d;
    m->nvec = nvec;
    m->cap = c;
    for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++)
        m->fast[v].gsi = -1;
    d->msix = m;
    pci_set_word(d->config + c + PCI_MSIX_FLAGS, nvec - 1);
    pci_set_long(d->config + c + PCI_MSIX_TABLE, 0 | bar);
    pci_set_long(d->config + c + PCI_MSIX_PBA, PCI_MSIX_PBA_OFFSET | bar);
    pci_set_word(d->wmask + c + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    snprintf(m->name, sizeof(m->name), "%s-msix", d->name ? d->name : "pci");
    io_region_init(&m->io, IO_SPACE_MMIO, m->name, PCI_MSIX_BAR_SIZE, &msix_mmio_ops, m);
    pci_register_bar(d, bar, PCI_BAR_MEM32, &m->io);
    pci_msix_reset(d);
    return 0;
}

void pci_msix_uninit(struct pci_device *d)
{
    if (!d->msix)
        return;
    for (unsigned v = 0; v < d->msix->nvec; v++)
        pci_msix_vector_unuse_eventfd(d, v);
}

void pci_msix_state_loaded(struct pci_device *d)
{
    if (d->msix)
        msix_update(d->msix);
}

int pci_msix_check_loaded(const struct pci_device *d)
{
    const struct pci_msix *m = d->msix;

    if (!m)
        return 0;
    for (unsigned v = m->nvec; v < PCI_MSIX_MAX_VECTORS; v++) {
        if (m->pba[v / 64] >> (v % 64) & 1) {
            log_warn("%s: a state load sets the MSI-X pending bit of vector %u; the function has %u",
                     d->name, v, m->nvec);
            return -EINVAL;
        }
    }
    return 0;
}

static int pci_msix_post_load(void *opaque, int version)
{
    struct pci_msix *m = opaque;

    /* a copy that no function owns (a state round trip) has nothing to compare with */
    return m->pci ? pci_msix_check_loaded(m->pci) : 0;
}

static const struct vmstate_field pci_msix_fields[] = {
    VMSTATE_U8_ARRAY(table, struct pci_msix, PCI_MSIX_MAX_VECTORS * PCI_MSIX_ENTRY_SIZE),
    VMSTATE_U64_ARRAY(pba, struct pci_msix, PCI_MSIX_MAX_VECTORS / 64),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc pci_msix_vmsd = {
    .name = "pci-msix",
    .version = 1,
    .min_version = 1,
    .fields = pci_msix_fields,
    .post_load = pci_msix_post_load,
};
