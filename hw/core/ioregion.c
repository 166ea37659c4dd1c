/* ioregion.c: port I/O and MMIO dispatch through a flattened, sorted map (O(log n) lookups), with owners, listeners and ioeventfds */
#define LOG_PREFIX "ioregion: "
#include "hw/core/ioregion.h"
#include "util/log.h"

#include <sys/eventfd.h>

/* One piece of the flattened map: [start, end] (inclusive) served by r. */
struct flat_range {
    uint64_t start;
    uint64_t end;
    struct io_region *r;
};

struct flat_view {
    struct flat_range *ranges;
    size_t n;
};

static struct {
    struct io_region **regions;     /* mapped regions, any order */
    size_t n, cap;
    struct flat_view view;
} spaces[IO_SPACE_MAX];

static uint64_t map_seq;
static struct io_listener *listeners;
static struct {
    struct device *dev;         /* the device being realized: it owns the regions made now */
    char *why;                  /* what kept one of its regions from mapping */
} owning;

void io_region_init(struct io_region *r, enum io_space space, const char *name,
                    uint64_t size, const struct io_region_ops *ops, void *opaque)
{
    memset(r, 0, sizeof(*r));
    r->space = space;
    r->name = name;
    r->owner = owning.dev;
    r->size = size;
    r->ops = ops;
    r->opaque = opaque;
}

void io_region_set_owner(struct io_region *r, struct device *owner)
{
    r->owner = owner;
}

struct device *io_region_set_default_owner(struct device *dev)
{
    struct device *prev = owning.dev;

    owning.dev = dev;
    return prev;
}

char *io_region_owner_failure(struct device *dev)
{
    char *why = NULL;

    if (owning.why && owning.dev == dev) {
        why = owning.why;
        owning.why = NULL;
    }
    return why;
}

static bool region_wins(const struct io_region *a, const struct io_region *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->seq > b->seq;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Rebuild the flat view: cut the address line at every region edge, give each
 * piece to the winning region covering it, merge neighbours with the same owner.
 * Quadratic in the number of regions, which is small and changes rarely.
 */
static void flat_view_rebuild(enum io_space space)
{
    size_t n = spaces[space].n, nb = 0, nr = 0;
    uint64_t *edges = xcalloc(2 * n + 1, sizeof(uint64_t));
    struct flat_range *out = xcalloc(2 * n + 1, sizeof(struct flat_range));

    for (size_t i = 0; i < n; i++) {
        struct io_region *r = spaces[space].regions[i];

        edges[nb++] = r->base;
        /* the end edge is exclusive; a region reaching 2^64 has none */
        if (r->base + r->size != 0)
            edges[nb++] = r->base + r->size;
    }
    qsort(edges, nb, sizeof(uint64_t), cmp_u64);
    for (size_t e = 0; e < nb; e++) {
        uint64_t start = edges[e], end;
        struct io_region *best = NULL;

        if (e + 1 < nb && edges[e + 1] == start)
            continue;
        end = (e + 1 < nb) ? edges[e + 1] - 1 : UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            struct io_region *r = spaces[space].regions[i];
            uint64_t rlast = r->base + r->size - 1;

            if (r->base <= start && start <= rlast && (!best || region_wins(r, best)))
                best = r;
        }
        if (!best)
            continue;
        if (nr && out[nr - 1].r == best && out[nr - 1].end + 1 == start) {
            out[nr - 1].end = end;
        } else {
            out[nr].start = start;
            out[nr].end = end;
            out[nr].r = best;
            nr++;
        }
    }
    free(edges);
    free(spaces[space].view.ranges);
    spaces[space].view.ranges = out;
    spaces[space].view.n = nr;
}

static const char *space_word(enum io_space s)
{
    return s == IO_SPACE_PIO ? "port" : "address";
}

/* Another mapped region of r's priority that [base, base + r->size) would overlap, or NULL. */
static const struct io_region *map_conflict(const struct io_region *r, uint64_t base)
{
    uint64_t last = base + r->size - 1;

    for (size_t i = 0; i < spaces[r->space].n; i++) {
        const struct io_region *o = spaces[r->space].regions[i];

        if (o != r && o->priority == r->priority && o->base <= last && base <= o->base + o->size - 1)
            return o;
    }
    return NULL;
}

/* ---- ioeventfds: registered with the accelerator wherever their region is mapped ---- */

static void eventfd_assign(struct io_region *r, struct io_eventfd *ev)
{
    int err;

    ev->e.addr = r->base + ev->offset;
    ev->e.pio = r->space == IO_SPACE_PIO;
    err = accel_ioeventfd(&ev->e, true);
    ev->assigned = err == 0;
    ev->user = err != 0;
    if (err) {
        static bool said;

        if (!said)
            log_debug("%s: the accelerator takes no ioeventfd at %s 0x%" PRIx64 " (%s): skiff signals "
                      "it on the write", r->name, space_word(r->space), ev->e.addr, strerror(-err));
        said = true;
    }
}

static void eventfd_deassign(struct io_eventfd *ev)
{
    if (ev->assigned)
        accel_ioeventfd(&ev->e, false);
    ev->assigned = ev->user = false;
}

int io_region_add_eventfd(struct io_region *r, uint64_t offset, unsigned len, bool match,
                          uint64_t data, int fd)
{
    struct io_eventfd *ev;

    if (fd < 0 || (len != 0 && len != 1 && len != 2 && len != 4 && len != 8) || (len == 0 && match) ||
        offset >= r->size || r->size - offset < MAX(len, 1u))
        return -EINVAL;
    r->eventfds = xrealloc(r->eventfds, (r->n_eventfds + 1) * sizeof(*r->eventfds));
    ev = &r->eventfds[r->n_eventfds++];
    *ev = (struct io_eventfd){
        .offset = offset,
        .e = { .fd = fd, .len = len, .match = match, .data = data },
    };
    if (r->mapped)
        eventfd_assign(r, ev);
    return 0;
}

void io_region_del_eventfd(struct io_region *r, int fd)
{
    unsigned k = 0;

    for (unsigned i = 0; i < r->n_eventfds; i++) {
        if (r->eventfds[i].e.fd == fd)
            eventfd_deassign(&r->eventfds[i]);
        else
            r->eventfds[k++] = r->eventfds[i];
    }
    r->n_eventfds = k;
    if (!k) {
        free(r->eventfds);
        r->eventfds = NULL;
    }
}

/* The user-space path: a write that an ioeventfd the accelerator refused would have caught. */
static bool eventfd_user_hit(struct io_region *r, uint64_t addr, uint64_t val, unsigned size)
{
    for (unsigned i = 0; i < r->n_eventfds; i++) {
        struct io_eventfd *ev = &r->eventfds[i];

        if (ev->user && accel_ioeventfd_hit(&ev->e, r->space == IO_SPACE_PIO, addr, val, size)) {
            eventfd_write(ev->e.fd, 1);
            return true;
        }
    }
    return false;
}

/* ---- listeners ---- */

static void notify_map(struct io_region *r)
{
    for (unsigned i = 0; i < r->n_eventfds; i++)
        eventfd_assign(r, &r->eventfds[i]);
    for (struct io_listener *l = listeners; l; l = l->next)
        if (l->map)
            l->map(l, r);
}

static void notify_unmap(struct io_region *r)
{
    for (struct io_listener *l = listeners; l; l = l->next)
        if (l->unmap)
            l->unmap(l, r);
    for (unsigned i = 0; i < r->n_eventfds; i++)
        eventfd_deassign(&r->eventfds[i]);
}

void io_listener_register(struct io_listener *l)
{
    l->next = listeners;
    listeners = l;
    if (l->map)
        for (int s = 0; s < IO_SPACE_MAX; s++)
            for (size_t i = 0; i < spaces[s].n; i++)
                l->map(l, spaces[s].regions[i]);
}

void io_listener_unregister(struct io_listener *l)
{
    for (struct io_listener **pp = &listeners; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
}

/* ---- mapping ---- */

int io_region_map(struct io_region *r, uint64_t base)
{
    enum io_space s = r->space;
    const struct io_region *o;

    if (r->size == 0 || base + r->size - 1 < base)
        return -EINVAL;
    if (s == IO_SPACE_PIO && base + r->size > 0x10000)
        return -EINVAL;
    o = map_conflict(r, base);
    if (o) {
        char *why = xasprintf("%s at %s 0x%" PRIx64 "-0x%" PRIx64 " overlaps %s at 0x%" PRIx64 "-0x%" PRIx64
                              ", of the same priority", r->name, space_word(s), base, base + r->size - 1,
                              o->name, o->base, o->base + o->size - 1);

        /* while its device is realized the refusal is the realize's error; else the guest's */
        if (r->owner && r->owner == owning.dev && !owning.why) {
            owning.why = why;
        } else {
            log_guest_error("%s", why);
            free(why);
        }
        return -EBUSY;
    }
    if (r->mapped && r->base == base) {
        r->seq = ++map_seq;
        return 0;
    }
    if (!r->mapped) {
        if (spaces[s].n == spaces[s].cap) {
            spaces[s].cap = spaces[s].cap ? spaces[s].cap * 2 : 64;
            spaces[s].regions = xrealloc(spaces[s].regions, spaces[s].cap * sizeof(void *));
        }
        spaces[s].regions[spaces[s].n++] = r;
        r->mapped = true;
    } else {
        notify_unmap(r);
    }
    r->base = base;
    r->seq = ++map_seq;
    flat_view_rebuild(s);
    notify_map(r);
    return 0;
}

void io_region_unmap(struct io_region *r)
{
    enum io_space s = r->space;

    if (!r->mapped)
        return;
    notify_unmap(r);
    for (size_t i = 0; i < spaces[s].n; i++) {
        if (spaces[s].regions[i] == r) {
            spaces[s].regions[i] = spaces[s].regions[--spaces[s].n];
            break;
        }
    }
    r->mapped = false;
    flat_view_rebuild(s);
    if (spaces[s].n == 0) {
        free(spaces[s].regions);
        free(spaces[s].view.ranges);
        memset(&spaces[s], 0, sizeof(spaces[s]));
    }
}

unsigned io_region_unmap_owned(struct device *dev)
{
    unsigned n = 0;

    if (!dev)
        return 0;
    for (int s = 0; s < IO_SPACE_MAX; s++) {
        for (size_t i = 0; i < spaces[s].n;) {
            struct io_region *r = spaces[s].regions[i];

            if (r->owner != dev) {
                i++;
                continue;
            }
            io_region_unmap(r);     /* moves the last region into slot i, or empties the space */
            n++;
        }
    }
    return n;
}

int io_region_add(struct io_region *r, enum io_space space, const char *name, uint64_t base,
                  uint64_t size, const struct io_region_ops *ops, void *opaque)
{
    io_region_init(r, space, name, size, ops, opaque);
    return io_region_map(r, base);
}

static const struct flat_range *flat_lookup(enum io_space space, uint64_t addr)
{
    const struct flat_view *v = &spaces[space].view;
    size_t lo = 0, hi = v->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct flat_range *fr = &v->ranges[mid];

        if (addr < fr->start)
            hi = mid;
        else if (addr > fr->end)
            lo = mid + 1;
        else
            return fr;
    }
    return NULL;
}

const struct io_region *io_region_lookup(enum io_space space, uint64_t addr)
{
    const struct flat_range *fr = flat_lookup(space, addr);

    return fr ? fr->r : NULL;
}

static unsigned acc_min(uint8_t v) { return v ? v : 1; }
static unsigned acc_max(uint8_t v) { return v ? v : 8; }

/* Call the handlers in impl-sized pieces covering [off, off+size). */
static uint64_t region_read(struct io_region *r, uint64_t off, unsigned size)
{
    const struct io_region_ops *ops = r->ops;
    unsigned imin = acc_min(ops->impl.min), imax = acc_max(ops->impl.max);
    uint64_t val = 0;

    if (!ops->read)
        return ~0ULL;
    if (size >= imin && size <= imax)
        return ops->read(r->opaque, off, size);
    if (size < imin) {
        /* widen: read the aligned impl-sized word and pick our bytes */
        uint64_t aligned = ALIGN_DOWN(off, (uint64_t)imin);
        uint64_t w = ops->read(r->opaque, aligned, imin);

        return w >> (8 * (off - aligned));
    }
    for (unsigned done = 0; done < size; done += imax)
        val |= (ops->read(r->opaque, off + done, imax) & (imax == 8 ? ~0ULL : ((1ULL << (8 * imax)) - 1)))
               << (8 * done);
    return val;
}

static void region_write(struct io_region *r, uint64_t off, uint64_t val, unsigned size)
{
    const struct io_region_ops *ops = r->ops;
    unsigned imin = acc_min(ops->impl.min), imax = acc_max(ops->impl.max);

    if (!ops->write)
        return;
    if (size >= imin && size <= imax) {
        ops->write(r->opaque, off, val, size);
        return;
    }
    if (size < imin) {
        uint64_t aligned = ALIGN_DOWN(off, (uint64_t)imin);
        unsigned shift = 8 * (off - aligned);
        uint64_t mask = ((1ULL << (8 * size)) - 1) << shift;
        uint64_t w = ops->read ? ops->read(r->opaque, aligned, imin) : 0;

        ops->write(r->opaque, aligned, (w & ~mask) | ((val << shift) & mask), imin);
        return;
    }
    for (unsigned done = 0; done < size; done += imax)
        ops->write(r->opaque, off + done, val >> (8 * done), imax);
}

bool io_dispatch(enum io_space space, uint64_t addr, void *data, unsigned size, bool is_write)
{
    const struct flat_range *fr;
    struct io_region *r;
    uint64_t val = 0, off;

    if (size == 0 || size > 8)
        return false;
    fr = flat_lookup(space, addr);
    /*
     * An access that the region at its first byte spans whole goes to that region, even
     * where another one wins some of its bytes: the width selects the register (a dword
     * at 0xcf8 is the PCI address register, a byte at 0xcf9 the reset control register).
     * Any other access straddling two pieces is split byte by byte so each owner sees its part.
     */
    if (fr && addr + size - 1 > fr->end &&
        addr + size - 1 > fr->r->base + fr->r->size - 1) {
        uint8_t *p = data;
        bool any = false;

        for (unsigned i = 0; i < size; i++)
            any |= io_dispatch(space, addr + i, p + i, 1, is_write);
        return any;
    }
    if (!fr) {
        if (!is_write)
            memset(data, 0xff, size);
        return false;
    }
    r = fr->r;
    off = addr - r->base;
    if (size < acc_min(r->ops->valid.min) || size > acc_max(r->ops->valid.max) ||
        (!r->ops->valid.unaligned && !IS_ALIGNED(addr, (uint64_t)size))) {
        log_guest_error("%s: invalid %u-byte %s at %s 0x%" PRIx64, r->name, size,
                        is_write ? "write" : "read", space_word(space), addr);
        if (!is_write)
            memset(data, 0xff, size);
        return true;
    }
    if (is_write) {
        memcpy(&val, data, size);
        if (unlikely(r->n_eventfds) && eventfd_user_hit(r, addr, val, size))
            return true;
        region_write(r, off, val, size);
    } else {
        val = region_read(r, off, size);
        memcpy(data, &val, size);
    }
    return true;
}

void io_region_dump(enum io_space space, FILE *out)
{
    const struct flat_view *v = &spaces[space].view;

    for (size_t i = 0; i < v->n; i++)
        fprintf(out, "%016" PRIx64 "-%016" PRIx64 " %s\n", v->ranges[i].start, v->ranges[i].end,
                v->ranges[i].r->name);
}
