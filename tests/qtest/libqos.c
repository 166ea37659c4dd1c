/* libqos.c: PCI enumeration and BAR assignment through conf1, and a guest-memory allocator, for device tests */
#include "tests/qtest/libqos.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mistake in the test itself: say so and stop, as libqtest does when skiff goes away. */
static void __attribute__((noreturn, format(printf, 1, 2))) qos_fatal(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "libqos: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    printf("not ok - qtest harness: libqos was misused (see the log)\n");
    exit(2);
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* ---- PCI (PCI Local Bus Specification 3.0, 6.2.5: base addresses) ---- */

#define PCI_VENDOR_ID       0x00
#define PCI_COMMAND         0x04
#define PCI_COMMAND_IO      0x1
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4
#define PCI_CLASS_REVISION  0x08
#define PCI_HEADER_TYPE     0x0e
#define PCI_HEADER_MULTI    0x80
#define PCI_BAR0            0x10

struct qpci_bus *qpci_bus_new(struct qtest *q)
{
    struct qpci_bus *bus = calloc(1, sizeof(*bus));

    if (!bus)
        qos_fatal("out of memory");
    bus->q = q;
    bus->io_next = 0xc000;
    bus->io_end = 0x10000;
    bus->mem_next = 0xe0000000;
    bus->mem_end = 0xfec00000;
    for (int slot = 0; slot < 32; slot++) {
        int nfn = 1;

        for (int fn = 0; fn < nfn; fn++) {
            int devfn = PCI_DEVFN(slot, fn);
            uint32_t id = pci_cfg_readl(q, devfn, PCI_VENDOR_ID);
            struct qpci_dev *d;

            if (fn == 0) {
                if ((id & 0xffff) == 0xffff)
                    break;
                if (pci_cfg_readb(q, devfn, PCI_HEADER_TYPE) & PCI_HEADER_MULTI)
                    nfn = 8;
            }
            if ((id & 0xffff) == 0xffff)
                continue;
            d = &bus->devs[bus->ndevs++];
            d->bus = bus;
            d->devfn = devfn;
            d->vendor = id & 0xffff;
            d->device = id >> 16;
            d->class_code = pci_cfg_readl(q, devfn, PCI_CLASS_REVISION) >> 8;
        }
    }
    return bus;
}

struct qpci_dev *qpci_find(struct qpci_bus *bus, uint16_t vendor, uint16_t device, int index)
{
    for (int i = 0; i < bus->ndevs; i++)
        if (bus->devs[i].vendor == vendor && bus->devs[i].device == device && index-- == 0)
            return &bus->devs[i];
    return NULL;
}

struct qpci_dev *qpci_at(struct qpci_bus *bus, int devfn)
{
    for (int i = 0; i < bus->ndevs; i++)
        if (bus->devs[i].devfn == devfn)
            return &bus->devs[i];
    return NULL;
}

/* Write all ones, read what sticks, put the old value back. */
static uint32_t bar_probe(struct qtest *q, int devfn, unsigned off)
{
    uint32_t old = pci_cfg_readl(q, devfn, off), v;

    pci_cfg_writel(q, devfn, off, 0xffffffff);
    v = pci_cfg_readl(q, devfn, off);
    pci_cfg_writel(q, devfn, off, old);
    return v;
}

/* Size every BAR, with decoding off meanwhile so that no BAR answers at all ones. */
static void qpci_size_bars(struct qpci_dev *d)
{
    struct qtest *q = d->bus->q;
    uint16_t cmd = pci_cfg_readw(q, d->devfn, PCI_COMMAND);

    if (d->sized)
        return;
    pci_cfg_writew(q, d->devfn, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    for (int n = 0; n < QPCI_NUM_BARS; n++) {
        struct qpci_bar *b = &d->bar[n];
        unsigned off = PCI_BAR0 + 4 * n;
        uint32_t v = bar_probe(q, d->devfn, off);
        uint64_t mask;

        if (!v)
            continue;
        if (v & 1) {
            /* I/O: bits 31:16 may be hard-wired to zero on a 64 KiB I/O space */
            b->io = true;
            b->size = (uint32_t)~((v & ~3u) | 0xffff0000u) + 1;
            continue;
        }
        b->prefetch = v & 8;
        b->mem64 = ((v >> 1) & 3) == 2 && n + 1 < QPCI_NUM_BARS;
        mask = v & ~0xfu;
        if (b->mem64)
            mask |= (uint64_t)bar_probe(q, d->devfn, off + 4) << 32;
        else
            mask |= 0xffffffff00000000ull;
        b->size = ~mask + 1;
        if (b->mem64)
            n++;            /* the upper half is no BAR of its own */
    }
    pci_cfg_writew(q, d->devfn, PCI_COMMAND, cmd);
    d->sized = true;
}

/* Give BAR n the next naturally aligned address of its window; 0 when it does not fit. */
static uint64_t qpci_place(struct qpci_dev *d, int n)
{
    struct qpci_bus *bus = d->bus;
    struct qpci_bar *b = &d->bar[n];
    uint64_t *next = b->io ? &bus->io_next : &bus->mem_next;
    uint64_t end = b->io ? bus->io_end : bus->mem_end;
    uint64_t a = align_up(*next, b->size);
    unsigned off = PCI_BAR0 + 4 * n;

    if (a < *next || a + b->size > end || a + b->size < a)
        return 0;
    *next = a + b->size;
    pci_cfg_writel(bus->q, d->devfn, off, (uint32_t)a);
    if (b->mem64)
        pci_cfg_writel(bus->q, d->devfn, off + 4, a >> 32);
    b->addr = a;
    return a;
}

uint64_t qpci_iomap(struct qpci_dev *d, int n, uint64_t *size)
{
    if (n < 0 || n >= QPCI_NUM_BARS)
        qos_fatal("%02x.%x: there is no BAR %d", d->devfn >> 3, d->devfn & 7, n);
    qpci_size_bars(d);
    if (size)
        *size = d->bar[n].size;
    if (!d->bar[n].size)
        return 0;
    return d->bar[n].addr ? d->bar[n].addr : qpci_place(d, n);
}

void qpci_enable(struct qpci_dev *d)
{
    struct qtest *q = d->bus->q;
    uint16_t cmd = pci_cfg_readw(q, d->devfn, PCI_COMMAND);

    pci_cfg_writew(q, d->devfn, PCI_COMMAND,
                   cmd | PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

struct bar_ref {
    struct qpci_dev *d;
    int n;
};

/* largest first; equal sizes in bus order, so that the layout is the same every run */
static int bar_ref_cmp(const void *pa, const void *pb)
{
    const struct bar_ref *a = pa, *b = pb;
    uint64_t sa = a->d->bar[a->n].size, sb = b->d->bar[b->n].size;

    if (sa != sb)
        return sa > sb ? -1 : 1;
    if (a->d->devfn != b->d->devfn)
        return a->d->devfn - b->d->devfn;
    return a->n - b->n;
}

int qpci_assign_all(struct qpci_bus *bus)
{
    struct bar_ref refs[256 * QPCI_NUM_BARS];
    int nrefs = 0, failed = 0;

    for (int i = 0; i < bus->ndevs; i++) {
        struct qpci_dev *d = &bus->devs[i];

        qpci_size_bars(d);
        for (int n = 0; n < QPCI_NUM_BARS; n++)
            if (d->bar[n].size && !d->bar[n].addr)
                refs[nrefs++] = (struct bar_ref){ d, n };
    }
    qsort(refs, nrefs, sizeof(refs[0]), bar_ref_cmp);
    for (int i = 0; i < nrefs; i++)
        if (!qpci_place(refs[i].d, refs[i].n))
            failed++;
    for (int i = 0; i < bus->ndevs; i++) {
        struct qpci_dev *d = &bus->devs[i];

        for (int n = 0; n < QPCI_NUM_BARS; n++) {
            if (d->bar[n].addr) {
                qpci_enable(d);
                break;
            }
        }
    }
    return failed;
}

/* ---- guest memory ---- */

struct qblock {
    uint64_t addr, size;
};

struct qblocks {
    struct qblock *b;
    int n, cap;
};

struct qalloc {
    struct qblocks free;        /* sorted by address, never adjacent */
    struct qblocks used;
};

static void blocks_insert(struct qblocks *l, int at, struct qblock blk)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->b = realloc(l->b, l->cap * sizeof(*l->b));
        if (!l->b)
            qos_fatal("out of memory");
    }
    memmove(&l->b[at + 1], &l->b[at], (l->n - at) * sizeof(*l->b));
    l->b[at] = blk;
    l->n++;
}

static void blocks_remove(struct qblocks *l, int at)
{
    memmove(&l->b[at], &l->b[at + 1], (l->n - at - 1) * sizeof(*l->b));
    l->n--;
}

struct qalloc *qalloc_new(uint64_t start, uint64_t end)
{
    struct qalloc *a = calloc(1, sizeof(*a));

    if (!a)
        qos_fatal("out of memory");
    /* page 0 (the real-mode interrupt table) is never handed out, so 0 can mean "none" */
    if (start < 0x1000)
        start = 0x1000;
    if (end <= start)
        qos_fatal("qalloc_new: the range 0x%llx-0x%llx is empty", (unsigned long long)start,
                  (unsigned long long)end);
    blocks_insert(&a->free, 0, (struct qblock){ start, end - start });
    return a;
}

uint64_t qalloc_aligned(struct qalloc *a, uint64_t size, uint64_t align)
{
    if (!align)
        align = 16;
    if (!size || (align & (align - 1)))
        qos_fatal("qalloc: %llu bytes aligned to %llu", (unsigned long long)size,
                  (unsigned long long)align);
    for (int i = 0; i < a->free.n; i++) {
        struct qblock f = a->free.b[i];
        uint64_t at = align_up(f.addr, align), end = f.addr + f.size;

        if (at < f.addr || at > end || end - at < size)
            continue;
        /* what is left before and after the new block stays free */
        blocks_remove(&a->free, i);
        if (at + size < end)
            blocks_insert(&a->free, i, (struct qblock){ at + size, end - at - size });
        if (at > f.addr)
            blocks_insert(&a->free, i, (struct qblock){ f.addr, at - f.addr });
        blocks_insert(&a->used, a->used.n, (struct qblock){ at, size });
        return at;
    }
    return 0;
}

void qfree(struct qalloc *a, uint64_t addr)
{
    struct qblock blk;
    int u, i;

    for (u = 0; u < a->used.n && a->used.b[u].addr != addr; u++)
        ;
    if (u == a->used.n)
        qos_fatal("qfree: 0x%llx was not allocated (or was freed already)", (unsigned long long)addr);
    blk = a->used.b[u];
    blocks_remove(&a->used, u);
    for (i = 0; i < a->free.n && a->free.b[i].addr < blk.addr; i++)
        ;
    /* merge with the free block after it, then with the one before */
    if (i < a->free.n && blk.addr + blk.size == a->free.b[i].addr) {
        blk.size += a->free.b[i].size;
        blocks_remove(&a->free, i);
    }
    if (i > 0 && a->free.b[i - 1].addr + a->free.b[i - 1].size == blk.addr) {
        a->free.b[i - 1].size += blk.size;
        return;
    }
    blocks_insert(&a->free, i, blk);
}

uint64_t qalloc_in_use(const struct qalloc *a)
{
    uint64_t n = 0;

    for (int i = 0; i < a->used.n; i++)
        n += a->used.b[i].size;
    return n;
}

void qalloc_destroy(struct qalloc *a)
{
    if (!a)
        return;
    free(a->free.b);
    free(a->used.b);
    free(a);
}
