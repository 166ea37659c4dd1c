/* libqos.h: a driver library for device tests: the PCI functions of bus 0 with their BARs assigned as firmware does, a guest-memory allocator */
#ifndef TESTS_LIBQOS_H
#define TESTS_LIBQOS_H

#include "tests/qtest/libpci.h"

#define QPCI_NUM_BARS 6

struct qpci_bar {
    uint64_t addr;          /* where it was assigned (0: not yet) */
    uint64_t size;          /* 0: the function has no such BAR (or it is a 64-bit BAR's upper half) */
    bool io, mem64, prefetch;
};

struct qpci_dev {
    struct qpci_bus *bus;
    int devfn;
    uint16_t vendor, device;
    uint32_t class_code;    /* base class, subclass, programming interface */
    struct qpci_bar bar[QPCI_NUM_BARS];
    bool sized;
};

/*
 * Bus 0 as the test sees it through conf1 (0xcf8/0xcfc), and the windows BARs are assigned
 * from: I/O [io_next, io_end), memory [mem_next, mem_end). The defaults are those of the PC's
 * firmware: I/O from 0xc000, memory from 0xe0000000 to the IOAPIC at 0xfec00000; a test may
 * change them before it assigns.
 */
struct qpci_bus {
    struct qtest *q;
    uint64_t io_next, io_end;
    uint64_t mem_next, mem_end;
    int ndevs;
    struct qpci_dev devs[256];
};

/* Scan bus 0: every function whose vendor id is not all ones (functions 1-7 only of a slot
 * whose function 0 says it is multi-function). Free with free(). */
struct qpci_bus *qpci_bus_new(struct qtest *q);
/* The index'th function (from 0, in devfn order) with these ids, or NULL. */
struct qpci_dev *qpci_find(struct qpci_bus *bus, uint16_t vendor, uint16_t device, int index);
/* The function at devfn, or NULL. */
struct qpci_dev *qpci_at(struct qpci_bus *bus, int devfn);
/*
 * Size every BAR of a function (decoding off meanwhile, as firmware sizes them), then give BAR n
 * an address in its window, naturally aligned, and return it (0 when the function has no BAR
 * n, or the window is full). *size, when not NULL, gets its size. Decoding stays as it was:
 * qpci_enable turns it on.
 */
uint64_t qpci_iomap(struct qpci_dev *d, int n, uint64_t *size);
/* Turn on I/O and memory decoding and bus mastering in the command register. */
void qpci_enable(struct qpci_dev *d);
/*
 * What firmware does for the whole bus: size every BAR of every function, assign them largest
 * first (so that each is naturally aligned and none overlaps), and enable each function that
 * has one. Returns how many BARs did not fit (0 normally).
 */
int qpci_assign_all(struct qpci_bus *bus);

/*
 * Guest memory for descriptors and buffers, out of a RAM range [start, end) the test gives
 * (it knows what -m it started skiff with and what its device reaches). First fit over a free
 * list; freed blocks merge with their neighbours.
 */
struct qalloc;
struct qalloc *qalloc_new(uint64_t start, uint64_t end);
/* size bytes aligned to align (a power of two; 0 means 16); 0 when no free block fits. */
uint64_t qalloc_aligned(struct qalloc *a, uint64_t size, uint64_t align);
static inline uint64_t qalloc(struct qalloc *a, uint64_t size) { return qalloc_aligned(a, size, 16); }
/* Give back what qalloc returned; anything else ends the test (exit 2). */
void qfree(struct qalloc *a, uint64_t addr);
/* Bytes still allocated. */
uint64_t qalloc_in_use(const struct qalloc *a);
void qalloc_destroy(struct qalloc *a);

#endif
