/* ioregion.h: the one registry of port I/O and MMIO regions, looked up by address on every exit */
#ifndef HW_CORE_IOREGION_H
#define HW_CORE_IOREGION_H

#include "util/osdep.h"
#include "hw/core/accel.h" // struct accel_ioeventfd

struct device;

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

/* An ioeventfd on a region: it follows the region wherever the region is mapped. */
struct io_eventfd {
    uint64_t offset;
    struct accel_ioeventfd e;   /* e.addr: where it is registered now */
    bool assigned;              /* the accelerator catches it */
    bool user;                  /* mapped, but the accelerator refused it: io_dispatch signals it */
};

struct io_region {
    enum io_space space;
    const char *name;           /* for logs and "info mtree" */
    struct device *owner;       /* the device whose unrealize unmaps it (NULL: the board's) */
    uint64_t base;
    uint64_t size;
    int priority;               /* higher wins where regions overlap; equal ones may not overlap */
    const struct io_region_ops *ops;
    void *opaque;
    bool mapped;
    uint64_t seq;               /* mapping order */
    struct io_eventfd *eventfds;
    unsigned n_eventfds;
};

/*
 * A region made while a device is being realized belongs to that device (io_region_set_owner
 * says otherwise): its unrealize unmaps it, and a realize that fails or leaves one of them
 * unmappable is undone.
 */
void io_region_init(struct io_region *r, enum io_space space, const char *name,
                    uint64_t size, const struct io_region_ops *ops, void *opaque);
void io_region_set_owner(struct io_region *r, struct device *owner);
/*
 * Map at base (re-mapping an already mapped region moves it). 0, -EINVAL (outside the space),
 * or -EBUSY where it would overlap another region of the same priority (a failed move leaves
 * the region where it was).
 */
int io_region_map(struct io_region *r, uint64_t base);
void io_region_unmap(struct io_region *r);
/* init + map in one call */
int io_region_add(struct io_region *r, enum io_space space, const char *name, uint64_t base,
                  uint64_t size, const struct io_region_ops *ops, void *opaque);

/*
 * An ioeventfd at `offset` in r: a guest write of `len` bytes there (0: of any width, no
 * `match`) signals fd instead of calling the write handler, where `match` says only when the
 * value is `data`. It is registered with the accelerator wherever r is mapped, moves with it
 * and goes when it is unmapped; where the accelerator refuses it, io_dispatch signals fd itself.
 * 0 or -EINVAL; del removes every ioeventfd of r on fd.
 */
int io_region_add_eventfd(struct io_region *r, uint64_t offset, unsigned len, bool match,
                          uint64_t data, int fd);
void io_region_del_eventfd(struct io_region *r, int fd);

/* Listeners hear of every map (r->base is the new address) and unmap (still the old one). */
struct io_listener {
    void (*map)(struct io_listener *l, struct io_region *r);
    void (*unmap)(struct io_listener *l, struct io_region *r);
    struct io_listener *next;
};
/* Register: the listener hears of every region mapped now, then of every change. */
void io_listener_register(struct io_listener *l);
void io_listener_unregister(struct io_listener *l);

/*
 * For device.c: regions made from now on belong to dev (NULL: none); returns the previous owner.
 * io_region_owner_failure says what kept one of dev's regions from mapping since, and clears it.
 */
struct device *io_region_set_default_owner(struct device *dev);
char *io_region_owner_failure(struct device *dev);
/* Unmap every region that dev owns; returns how many were mapped. */
unsigned io_region_unmap_owned(struct device *dev);

/*
 * Dispatch one guest access of `size` bytes (1, 2, 4 or 8) at `addr`. Data is
 * little-endian in `data`. Returns true when a region claimed the address;
 * unclaimed reads return all ones, unclaimed writes are dropped.
 * Callers hold the device lock.
 */
bool io_dispatch(enum io_space space, uint64_t addr, void *data, unsigned size, bool is_write);

/* A port write or read of `size` bytes as a vCPU's OUT or IN makes it (device tests, fuzzers) */
static inline void io_pio_write(uint16_t port, uint32_t v, unsigned size)
{
    io_dispatch(IO_SPACE_PIO, port, &v, size, true);
}

static inline uint32_t io_pio_read(uint16_t port, unsigned size)
{
    uint32_t v = 0;

    io_dispatch(IO_SPACE_PIO, port, &v, size, false);
    return v;
}

/* For tests and the monitor: the region at addr, or NULL. */
const struct io_region *io_region_lookup(enum io_space space, uint64_t addr);
/* Print the flat map of a space, one line per piece. */
void io_region_dump(enum io_space space, FILE *out);

#endif
