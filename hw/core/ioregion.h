/* ioregion.h: the one registry of port I/O and MMIO regions, looked up by address on every exit */
#ifndef HW_CORE_IOREGION_H
#define HW_CORE_IOREGION_H

#include "util/osdep.h"

enum io_space { IO_SPACE_PIO, IO_SPACE_MMIO, IO_SPACE_MAX };

/*
 * A region's access rules are declared once here and enforced by the dispatcher:
 *  valid: sizes (1..8 bytes) a guest may use; others read as all ones and are not written.
 *         `unaligned` allows accesses not aligned to their size.
 *  impl:  sizes the handlers take; a wider valid access is split into several
 *         little-endian pieces, a narrower one is widened (read-modify for reads).
 * Zero means "1" for the minimums and "8" for the maximums.
 */
struct io_access {
    uint8_t min;
    uint8_t max;
    bool unaligned;
};

struct io_region_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
    struct io_access valid;
    struct io_access impl;
};

struct io_region {
    enum io_space space;
    const char *owner;          /* device name, for logs and "info mtree" */
    uint64_t base;
    uint64_t size;
    int priority;               /* higher wins where regions overlap */
    const struct io_region_ops *ops;
    void *opaque;
    bool mapped;
    uint64_t seq;               /* mapping order; later wins among equal priorities */
};

void io_region_init(struct io_region *r, enum io_space space, const char *owner,
                    uint64_t size, const struct io_region_ops *ops, void *opaque);
/* Map at base (re-mapping an already mapped region moves it). 0 or -EINVAL. */
int io_region_map(struct io_region *r, uint64_t base);
void io_region_unmap(struct io_region *r);
/* init + map in one call */
int io_region_add(struct io_region *r, enum io_space space, const char *owner, uint64_t base,
                  uint64_t size, const struct io_region_ops *ops, void *opaque);

/*
 * Dispatch one guest access of `size` bytes (1, 2, 4 or 8) at `addr`. Data is
 * little-endian in `data`. Returns true when a region claimed the address;
 * unclaimed reads return all ones, unclaimed writes are dropped.
 * Callers hold the device lock.
 */
bool io_dispatch(enum io_space space, uint64_t addr, void *data, unsigned size, bool is_write);

/* For tests and the monitor: the region at addr, or NULL. */
const struct io_region *io_region_lookup(enum io_space space, uint64_t addr);
/* Print the flat map of a space, one line per piece. */
void io_region_dump(enum io_space space, FILE *out);

#endif
