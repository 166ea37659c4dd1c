/* libqos-virtio.h: a virtio driver for device tests: find a virtio PCI function, drive it through its legacy registers or its modern capabilities, negotiate features, split virtqueues in guest memory with direct and indirect chains, interrupts by MSI-X or INTx and the ISR */
#ifndef TESTS_LIBQOS_VIRTIO_H
#define TESTS_LIBQOS_VIRTIO_H

#include "tests/qtest/libqos.h"

/* Device status (virtio 1.2 section 2.1) */
#define QVIRTIO_ACKNOWLEDGE     0x01
#define QVIRTIO_DRIVER          0x02
#define QVIRTIO_DRIVER_OK       0x04
#define QVIRTIO_FEATURES_OK     0x08
#define QVIRTIO_NEEDS_RESET     0x40
#define QVIRTIO_FAILED          0x80

/* Feature bits the transport and the rings use (section 6) */
#define QVIRTIO_F_NOTIFY_ON_EMPTY   24
#define QVIRTIO_F_ANY_LAYOUT        27
#define QVIRTIO_F_INDIRECT_DESC     28
#define QVIRTIO_F_EVENT_IDX         29
#define QVIRTIO_F_VERSION_1         32
#define QVIRTIO_BIT(b)              (1ULL << (b))

/* ISR bits (4.1.4.5), "no vector" (4.1.4.3) */
#define QVIRTIO_ISR_QUEUE       0x1
#define QVIRTIO_ISR_CONFIG      0x2
#define QVIRTIO_NO_VECTOR       0xffff

/* Descriptor flags (2.7.5) and the split ring's sizes */
#define QVRING_F_NEXT           1
#define QVRING_F_WRITE          2
#define QVRING_F_INDIRECT       4
#define QVRING_AVAIL_F_NO_INTERRUPT 1
#define QVRING_USED_F_NO_NOTIFY 1
#define QVRING_DESC_SIZE        16

/* The legacy registers (4.1.4.8), from BAR 0 */
#define QVIRTIO_L_HOST_FEATURES     0
#define QVIRTIO_L_GUEST_FEATURES    4
#define QVIRTIO_L_QUEUE_PFN         8
#define QVIRTIO_L_QUEUE_NUM         12
#define QVIRTIO_L_QUEUE_SEL         14
#define QVIRTIO_L_QUEUE_NOTIFY      16
#define QVIRTIO_L_STATUS            18
#define QVIRTIO_L_ISR               19
#define QVIRTIO_L_CONFIG_VECTOR     20
#define QVIRTIO_L_QUEUE_VECTOR      22

/* struct virtio_pci_common_cfg (4.1.4.3) */
#define QVIRTIO_C_DFSELECT      0x00
#define QVIRTIO_C_DF            0x04
#define QVIRTIO_C_GFSELECT      0x08
#define QVIRTIO_C_GF            0x0c
#define QVIRTIO_C_MSIX          0x10
#define QVIRTIO_C_NUMQ          0x12
#define QVIRTIO_C_STATUS        0x14
#define QVIRTIO_C_CFGGEN        0x15
#define QVIRTIO_C_Q_SELECT      0x16
#define QVIRTIO_C_Q_SIZE        0x18
#define QVIRTIO_C_Q_MSIX        0x1a
#define QVIRTIO_C_Q_ENABLE      0x1c
#define QVIRTIO_C_Q_NOFF        0x1e
#define QVIRTIO_C_Q_DESCLO      0x20
#define QVIRTIO_C_Q_DESCHI      0x24
#define QVIRTIO_C_Q_AVAILLO     0x28
#define QVIRTIO_C_Q_AVAILHI     0x2c
#define QVIRTIO_C_Q_USEDLO      0x30
#define QVIRTIO_C_Q_USEDHI      0x34

/* Vendor capability types (4.1.4) */
#define QVIRTIO_CAP_COMMON      1
#define QVIRTIO_CAP_NOTIFY      2
#define QVIRTIO_CAP_ISR         3
#define QVIRTIO_CAP_DEVICE      4
#define QVIRTIO_CAP_PCI_CFG     5

/* What the library programs into MSI-X table entry v (a fixed interrupt to CPU 0). */
#define QVIRTIO_MSI_ADDR        0xfee00000ULL
#define QVIRTIO_MSI_DATA(v)     (0x40u + (v))

enum qvirtio_mode {
    QVIRTIO_LEGACY,     /* the 0.9.5 registers in I/O BAR 0 */
    QVIRTIO_MODERN,     /* the 1.x capabilities */
};

/* A vendor capability as read from configuration space (its offset there: 0 when absent). */
struct qvirtio_cap {
    unsigned at;
    uint8_t bar;
    uint32_t offset, length;
};

struct qvirtio_dev {
    struct qtest *q;
    struct qpci_dev *pci;
    enum qvirtio_mode mode;
    uint16_t virtio_id;             /* VIRTIO_ID_* (section 5) */
    uint64_t io;                    /* legacy: BAR 0 */
    struct qvirtio_cap cap[6];      /* modern: by cfg_type (the first of each) */
    uint64_t common, isr, device, notify;   /* modern: the windows' guest addresses */
    uint32_t notify_mult;
    /* MSI-X */
    unsigned msix_cap;              /* its offset in configuration space (0: none) */
    unsigned msix_size;
    uint64_t msix_table, msix_pba;
    bool msix_on;
    uint16_t config_vector;         /* as last written and read back */
    int msi_seen[64];               /* messages taken from qtest per vector, not yet consumed */
    /* INTx */
    int gsi;                        /* where qvirtio_intx_route sent INTA#, or -1 */
    uint8_t isr_seen;               /* ISR bits read while waiting, not yet consumed */
    uint64_t features;              /* what the last negotiation settled on */
};

/*
 * The index'th virtio PCI function of type `virtio_id` (transitional 0x1000-0x103f with that
 * subsystem id, or modern 0x1040 + id), its BARs assigned and decoding on, ready to be driven
 * through `mode`; NULL when there is none or it lacks that interface. Free with qvirtio_free.
 * The test calls qtest_irq_intercept itself, before it waits for interrupts.
 */
struct qvirtio_dev *qvirtio_pci_new(struct qpci_bus *bus, uint16_t virtio_id, int index, enum qvirtio_mode mode);
void qvirtio_free(struct qvirtio_dev *vd);
/* The offset of the nth (from 0) vendor capability of cfg_type in configuration space, or 0. */
unsigned qvirtio_find_cap(struct qvirtio_dev *vd, uint8_t cfg_type, int nth);

/* Modern registers (struct virtio_pci_common_cfg): 1, 2 or 4 bytes. */
uint32_t qvirtio_common_read(struct qvirtio_dev *vd, unsigned off, unsigned size);
void qvirtio_common_write(struct qvirtio_dev *vd, unsigned off, uint32_t val, unsigned size);
/* Through the PCI configuration access capability (4.1.4.9): `len` bytes at `off` of `bar`. */
uint32_t qvirtio_cfgcap_read(struct qvirtio_dev *vd, uint8_t bar, uint32_t off, unsigned len);
void qvirtio_cfgcap_write(struct qvirtio_dev *vd, uint8_t bar, uint32_t off, unsigned len, uint32_t val);

/* Status, features, ISR, configuration: through whichever interface vd drives. */
uint8_t qvirtio_get_status(struct qvirtio_dev *vd);
void qvirtio_set_status(struct qvirtio_dev *vd, uint8_t status);
/* Write 0 and (modern) wait for the device to read back 0, as 4.1.4.3.2 asks; false if it never does. */
bool qvirtio_reset(struct qvirtio_dev *vd);
uint64_t qvirtio_host_features(struct qvirtio_dev *vd);
void qvirtio_write_features(struct qvirtio_dev *vd, uint64_t features);
uint64_t qvirtio_read_guest_features(struct qvirtio_dev *vd);
/*
 * Reset, ACKNOWLEDGE, DRIVER, accept what the device offers of `wanted` (modern: FEATURES_OK,
 * which must stay set). The features it settled on go in vd->features; false when refused.
 * DRIVER_OK is the caller's, once its queues are set up (qvirtio_driver_ok).
 */
bool qvirtio_negotiate(struct qvirtio_dev *vd, uint64_t wanted);
void qvirtio_driver_ok(struct qvirtio_dev *vd);
/* Read and clear the ISR; what it said is also remembered for qvirtio_wait_*. */
uint8_t qvirtio_read_isr(struct qvirtio_dev *vd);
uint8_t qvirtio_config_generation(struct qvirtio_dev *vd);
/* The device's own configuration (legacy: after the MSI-X registers while MSI-X is on). */
uint8_t qvirtio_config_readb(struct qvirtio_dev *vd, unsigned off);
uint16_t qvirtio_config_readw(struct qvirtio_dev *vd, unsigned off);
uint32_t qvirtio_config_readl(struct qvirtio_dev *vd, unsigned off);
uint64_t qvirtio_config_readq(struct qvirtio_dev *vd, unsigned off);
void qvirtio_config_writeb(struct qvirtio_dev *vd, unsigned off, uint8_t v);

/*
 * MSI-X: every table entry gets QVIRTIO_MSI_ADDR/QVIRTIO_MSI_DATA(v), unmasked, and MSI-X is
 * turned on (false when the function has none). The configuration's vector is set to 0; each
 * queue set up afterwards gets vector 1 + its index where the table has it.
 */
bool qvirtio_msix_enable(struct qvirtio_dev *vd);
void qvirtio_msix_disable(struct qvirtio_dev *vd);
void qvirtio_msix_mask(struct qvirtio_dev *vd, unsigned v, bool masked);
void qvirtio_msix_function_mask(struct qvirtio_dev *vd, bool masked);
bool qvirtio_msix_pending(struct qvirtio_dev *vd, unsigned v);
/* Write the configuration's vector (or the queue's); returns what reads back. */
uint16_t qvirtio_set_config_vector(struct qvirtio_dev *vd, uint16_t v);
uint16_t qvirtio_set_queue_vector(struct qvirtio_dev *vd, unsigned queue, uint16_t v);
/*
 * Wait up to timeout_ms for a message of vector v and consume it (messages of other vectors
 * are kept for their own waits); qvirtio_msi_count takes what has come (no wait) and says how
 * many of v are unconsumed.
 */
bool qvirtio_wait_msi(struct qvirtio_dev *vd, unsigned v, int timeout_ms);
int qvirtio_msi_count(struct qvirtio_dev *vd, unsigned v);
void qvirtio_msi_forget(struct qvirtio_dev *vd);

/* INTx: route the function's INTA# through PIIX3's PIRQ register to ISA interrupt `irq` (its GSI). */
void qvirtio_intx_route(struct qvirtio_dev *vd, int irq);
/*
 * Without MSI-X: wait up to timeout_ms for the line, then read the ISR (which lowers it) until
 * one of `bits` shows; the bits are consumed. True when they came.
 */
bool qvirtio_wait_isr(struct qvirtio_dev *vd, uint8_t bits, int timeout_ms);

/* ---- split virtqueues (2.7) ---- */

struct qvirtio_buf {
    uint64_t addr;
    uint32_t len;
    bool write;                     /* device-writable */
};

struct qvirtqueue {
    struct qvirtio_dev *vd;
    struct qalloc *alloc;
    unsigned index;
    uint16_t size;
    uint64_t mem;                   /* the qalloc'ed block the three parts live in */
    uint64_t desc, avail, used;
    uint64_t notify_addr;           /* modern: where a kick is written */
    uint16_t vector;
    uint16_t avail_idx;             /* the driver's next avail->idx */
    uint16_t last_used;             /* the next used entry the driver looks at */
    uint16_t num_free;
    uint8_t *busy;                  /* per descriptor */
    uint16_t *next;                 /* the driver's copy of each descriptor's next (a chain's links) */
    uint16_t *chain_len;            /* per head */
    uint64_t *indirect;             /* per head: its indirect table, to free when used (0: none) */
};

/*
 * Set up queue `index` with `size` entries (0: the device's largest; legacy queues always have
 * it) in memory from `alloc`, in the legacy layout (section 2.7.2's alignment) for both modes;
 * modern queues are enabled. NULL when the device has no such queue or refused it.
 */
struct qvirtqueue *qvirtqueue_setup(struct qvirtio_dev *vd, struct qalloc *alloc, unsigned index, uint16_t size);
/* Forget it (after a reset): its memory goes back to the allocator. */
void qvirtqueue_free(struct qvirtqueue *vq);
/* The ring sizes in the legacy layout, for tests that lay out rings themselves. */
uint64_t qvring_size(uint16_t num);

/* A direct chain of n buffers from the free descriptors; its head. Dies when there is no room. */
uint16_t qvirtqueue_add(struct qvirtqueue *vq, const struct qvirtio_buf *bufs, unsigned n);
/* An indirect table of n buffers (in memory from vq->alloc) behind one descriptor; its head. */
uint16_t qvirtqueue_add_indirect(struct qvirtqueue *vq, const struct qvirtio_buf *bufs, unsigned n);
/* Put head in the available ring and publish it (avail->idx), without a kick. */
void qvirtqueue_publish(struct qvirtqueue *vq, uint16_t head);
/* Notify the device of queue vq (legacy: QUEUE_NOTIFY; modern: its notify address). */
void qvirtqueue_kick(struct qvirtqueue *vq);
/*
 * Kick as a driver that honours the device's wishes does, after publishing the entries from
 * `old` (avail->idx before them) on: with EVENT_IDX when they pass the device's avail_event
 * (2.7.10), without it unless used->flags says NO_NOTIFY (2.7.7). Whether it kicked.
 */
bool qvirtqueue_kick_if_needed(struct qvirtqueue *vq, uint16_t old);
/* add (direct or indirect) + publish + kick: the head. */
uint16_t qvirtqueue_submit(struct qvirtqueue *vq, const struct qvirtio_buf *bufs, unsigned n, bool indirect);
/*
 * The next used entry, if the device has made one: its head and length; the chain's
 * descriptors (and indirect table) are freed. With EVENT_IDX, used_event follows.
 */
bool qvirtqueue_get_used(struct qvirtqueue *vq, uint16_t *head, uint32_t *len);
/* Poll for it up to timeout_ms. */
bool qvirtqueue_wait_used(struct qvirtqueue *vq, uint16_t *head, uint32_t *len, int timeout_ms);
/* The device's used->idx and used->flags, as they are in guest memory. */
uint16_t qvirtqueue_used_idx(struct qvirtqueue *vq);
uint16_t qvirtqueue_used_flags(struct qvirtqueue *vq);
/* The device's avail_event (EVENT_IDX, 2.7.10): the entry it wants a kick for */
uint16_t qvirtqueue_avail_event(struct qvirtqueue *vq);
/* Wait for this queue's interrupt: its MSI-X vector, or INTx with the ISR's queue bit. */
bool qvirtqueue_wait_irq(struct qvirtqueue *vq, int timeout_ms);
/* The configuration interrupt likewise. */
bool qvirtio_wait_config_irq(struct qvirtio_dev *vd, int timeout_ms);

/* For hostile tests: write descriptor i of a table in guest memory as the test likes. */
void qvring_write_desc(struct qtest *q, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                       uint16_t flags, uint16_t next);
/* Put `head` in the next available entry and set avail->idx to `idx` (whatever that says). */
void qvirtqueue_publish_raw(struct qvirtqueue *vq, uint16_t head, uint16_t idx);

#endif
