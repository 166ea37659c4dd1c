/* ioregion.c: port I/O and MMIO dispatch through a flattened, sorted map (O(log n) lookups) */
#define LOG_PREFIX "ioregion: "
#include "hw/core/ioregion.h"
#include "util/log.h"

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

void io_region_init(struct io_region *r, enum io_space space, const char *owner,
                    uint64_t size, const struct io_region_ops *ops, void *opaque)
{
    memset(r, 0, sizeof(*r));
    r->space = space;
    r->owner = owner;
    r->size = size;
    r->ops = ops;
    r->opaque = opaque;
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

int io_region_map(struct io_region *r, uint64_t base)
{
    enum io_space s = r->space;

    if (r->size == 0 || base + r->size - 1 < base)
        return -EINVAL;
    if (s == IO_SPACE_PIO && base + r->size > 0x10000)
        return -EINVAL;
    if (!r->mapped) {
        if (spaces[s].n == spaces[s].cap) {
            spaces[s].cap = spaces[s].cap ? spaces[s].cap * 2 : 64;
            spaces[s].regions = xrealloc(spaces[s].regions, spaces[s].cap * sizeof(void *));
        }
        spaces[s].regions[spaces[s].n++] = r;
        r->mapped = true;
    }
    r->base = base;
    r->seq = ++map_seq;
    flat_view_rebuild(s);
    return 0;
}

void io_region_unmap(struct io_region *r)
{
    enum io_space s = r->space;

    if (!r->mapped)
        return;
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

int io_region_add(struct io_region *r, enum io_space space, const char *owner, uint64_t base,
                  uint64_t size, const struct io_region_ops *ops, void *opaque)
{
    io_region_init(r, space, owner, size, ops, opaque);
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
        log_guest_error("%s: invalid %u-byte %s at %s 0x%" PRIx64, r->owner, size,
                        is_write ? "write" : "read", space == IO_SPACE_PIO ? "port" : "address", addr);
        if (!is_write)
            memset(data, 0xff, size);
        return true;
    }
    if (is_write) {
        memcpy(&val, data, size);
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
                v->ranges[i].r->owner);
}
