/* virtio.h: the virtio device core (virtio 1.2 spec, OASIS): feature bits, device status, split virtqueues read through checked accessors, and the interface between a device and its transport */
#ifndef HW_VIRTIO_VIRTIO_H
#define HW_VIRTIO_VIRTIO_H

#include "util/osdep.h"
#include "util/log.h" // struct ratelimit

#include <sys/uio.h>

/* Device status (section 2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE   0x01
#define VIRTIO_STATUS_DRIVER        0x02
#define VIRTIO_STATUS_DRIVER_OK     0x04
#define VIRTIO_STATUS_FEATURES_OK   0x08
#define VIRTIO_STATUS_NEEDS_RESET   0x40
#define VIRTIO_STATUS_FAILED        0x80

/* Reserved feature bits (section 6) and the legacy ones (section 7.3.1) */
#define VIRTIO_F_NOTIFY_ON_EMPTY    24  /* legacy: interrupt when a queue runs empty, whatever NO_INTERRUPT says */
#define VIRTIO_F_ANY_LAYOUT         27  /* legacy: the driver may frame requests freely */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_BAD_FEATURE        30  /* legacy drivers that ack this are broken (never offered) */
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33
#define VIRTIO_F_RING_PACKED        34

#define VIRTIO_BIT(b)               (1ULL << (b))

/* Device IDs (section 5) */
#define VIRTIO_ID_NET               1
#define VIRTIO_ID_BLOCK             2
#define VIRTIO_ID_CONSOLE           3
#define VIRTIO_ID_RNG               4
#define VIRTIO_ID_BALLOON           5

/* MSI-X: "no vector" for a queue or the configuration (section 4.1.4.3) */
#define VIRTIO_NO_VECTOR            0xffff

/* ISR status bits (section 4.1.4.5) */
#define VIRTIO_ISR_QUEUE            0x1
#define VIRTIO_ISR_CONFIG           0x2

/* Split virtqueue layout (section 2.7) */
#define VRING_DESC_F_NEXT           1
#define VRING_DESC_F_WRITE          2
#define VRING_DESC_F_INDIRECT       4
#define VRING_AVAIL_F_NO_INTERRUPT  1
#define VRING_USED_F_NO_NOTIFY      1
#define VRING_DESC_SIZE             16
#define VRING_USED_ELEM_SIZE        8
/* The legacy layout (section 2.7.2's alignment, and 4.1.5.1.2's page frame numbers) */
#define VIRTIO_LEGACY_PFN_SHIFT     12
#define VIRTIO_LEGACY_ALIGN         4096

/* The largest queue, and the longest indirect table (as Linux and QEMU) */
#define VIRTQUEUE_MAX_SIZE          1024
/* Queues per device (MSI-X gives at most 64 vectors: one per queue and the configuration's) */
#define VIRTIO_QUEUE_MAX            64

struct virtio_device;
struct virtqueue;
struct iothread;

/*
 * A request taken from a queue: the driver's descriptor chain as host memory, device-readable
 * pieces (out) first, device-writable pieces (in) after. A device that keeps state per request
 * embeds this first in its own struct (virtqueue_pop's `size`).
 */
struct virtq_elem {
    uint16_t head;              /* the chain's first descriptor: what the used ring names */
    unsigned out_num, in_num;
    struct iovec *out_sg, *in_sg;
    uint64_t *in_addr;          /* where each in piece is in guest memory, marked dirty on push */
    size_t out_len, in_len;     /* total bytes each way */
};

typedef void virtio_handle_fn(struct virtio_device *vdev, struct virtqueue *vq);

struct virtqueue {
    struct virtio_device *vdev;
    unsigned index;
    uint16_t num_max;           /* what the device offers (the legacy size) */
    uint16_t num;               /* what the driver chose: 0 while the queue is off */
    bool enabled;               /* modern queue_enable, or a legacy PFN was written */
    uint64_t desc, avail, used; /* guest-physical addresses of the three parts */
    uint16_t vector;            /* the MSI-X vector, or VIRTIO_NO_VECTOR */
    /* the device's side of the ring: touched only by the thread that serves the queue */
    uint16_t last_avail_idx;    /* the next available entry to take */
    uint16_t used_idx;          /* the next used entry to write */
    uint16_t shadow_avail_idx;  /* the driver's avail->idx as last read */
    uint16_t signalled_used;    /* used_idx when the driver was last interrupted */
    bool signalled_used_valid;
    bool notification;          /* the device wants kicks (what set_notification last said) */
    unsigned inuse;             /* requests popped and not yet pushed */
    virtio_handle_fn *handle;   /* the driver kicked the queue */
    int host_fd;                /* the queue's notifier (the transport's ioeventfd), or -1 */
    /* a chain's pieces while it is walked, before they are copied into the request */
    struct iovec *scratch_iov;
    uint64_t *scratch_addr;
    bool *scratch_write;
};

/*
 * What a device type gives the core. get_config fills vdev->config before the driver reads
 * it; set_config hears of the driver's writes to it. reset stops the device's work (I/O
 * drained, every popped request pushed or freed) before the core clears the queues.
 * set_status hears of each status change (DRIVER_OK: start serving; the core has already
 * started watching the queues). features_ok may refuse a combination of features.
 */
struct virtio_device_ops {
    void (*get_config)(struct virtio_device *vdev, uint8_t *config);
    void (*set_config)(struct virtio_device *vdev, const uint8_t *config);
    void (*reset)(struct virtio_device *vdev);
    void (*set_status)(struct virtio_device *vdev, uint8_t old_status, uint8_t status);
    bool (*features_ok)(struct virtio_device *vdev, uint64_t features);
};

/*
 * What a transport gives the core. notify raises an interrupt for `vector` (a queue's, or the
 * configuration's with `config`): callable from any thread, without the device lock (an I/O
 * thread's completions), so it only sets bits and signals eventfds.
 */
struct virtio_transport_ops {
    void (*notify)(void *opaque, uint16_t vector, bool config);
};

struct virtio_device {
    const char *name;                   /* "virtio-blk": logs, region names */
    uint16_t device_id;                 /* VIRTIO_ID_* */
    const struct virtio_device_ops *ops;
    const struct virtio_transport_ops *transport;
    void *transport_opaque;
    uint64_t host_features;             /* what the device offers */
    uint64_t guest_features;            /* what the driver accepted */
    uint8_t status;
    uint8_t isr;                        /* VIRTIO_ISR_* bits, set from any thread, read-and-cleared by the guest */
    bool broken;                        /* virtio_error said so: queues are not served until reset */
    uint16_t config_vector;
    uint8_t generation;                 /* config_generation: bumped on every configuration change */
    uint8_t *config;
    size_t config_len;
    unsigned nvq;
    struct virtqueue vq[VIRTIO_QUEUE_MAX];
    struct iothread *iothread;          /* where the queues are served, or NULL: the main loop */
    struct virtio_watch *watch;         /* which notifiers are watched (virtio.c: outside the instance) */
    struct ratelimit error_rl;
};

/*
 * Set up the core for a device with `nvq` queues of `queue_size` entries and a configuration of
 * `config_len` bytes. The queues' handlers are set with virtio_queue_set_handler. 0 or -errno.
 */
int virtio_init(struct virtio_device *vdev, const char *name, uint16_t device_id,
                const struct virtio_device_ops *ops, size_t config_len, unsigned nvq,
                uint16_t queue_size);
void virtio_cleanup(struct virtio_device *vdev);
void virtio_queue_set_handler(struct virtqueue *vq, virtio_handle_fn *fn);

static inline bool virtio_has_feature(const struct virtio_device *vdev, unsigned bit)
{
    return vdev->guest_features & VIRTIO_BIT(bit);
}

/* The transport's calls, under the device lock. */
void virtio_set_status(struct virtio_device *vdev, uint8_t status);
/* Reset (status 0, or the machine's reset): the device stops, the queues are forgotten. */
void virtio_reset(struct virtio_device *vdev);
/* The driver's features: those the device does not offer are dropped. */
void virtio_set_features(struct virtio_device *vdev, uint64_t features);
/* Configuration space accesses (1, 2 or 4 bytes); out of range reads as all ones. */
uint32_t virtio_config_read(struct virtio_device *vdev, unsigned off, unsigned size);
void virtio_config_write(struct virtio_device *vdev, unsigned off, uint32_t val, unsigned size);
/* A legacy driver's page frame number: the queue at pfn << 12 in the legacy layout (0: off). */
void virtio_queue_set_legacy_pfn(struct virtqueue *vq, uint32_t pfn);
uint32_t virtio_queue_legacy_pfn(const struct virtqueue *vq);
/* A modern driver enabled the queue: its size and addresses are set. */
void virtio_queue_enable(struct virtqueue *vq);
/* The queue's notifier: the transport signals it, or hands it to the accelerator as an ioeventfd. */
static inline int virtio_queue_host_fd(const struct virtqueue *vq) { return vq->host_fd; }
/* A notification that reached the transport's handler instead (no ioeventfd there). */
void virtio_queue_notify(struct virtqueue *vq);
uint8_t virtio_isr_read_clear(struct virtio_device *vdev);

/*
 * The device's calls, from the thread that serves the queue.
 *
 * virtqueue_pop takes the next available chain into a request of `size` bytes (at least
 * sizeof(struct virtq_elem)) that the caller frees; NULL when the queue is empty, off, or
 * broken. A chain that is not what the spec allows (an address outside RAM, a loop, a chain
 * longer than the queue, a bad index, a writable piece before a readable one, an indirect table
 * inside an indirect table) puts the device in NEEDS_RESET and gives NULL.
 */
void *virtqueue_pop(struct virtqueue *vq, size_t size);
/* The chain that starts at `head` again (a request saved in a state stream), or NULL. */
void *virtqueue_pop_head(struct virtqueue *vq, uint16_t head, size_t size);
/* Give a request back unserved: the next pop takes it again. */
void virtqueue_unpop(struct virtqueue *vq, struct virtq_elem *elem);
/* Complete a request that wrote `len` bytes into its in pieces; fill + flush do it in batches. */
void virtqueue_push(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len);
void virtqueue_fill(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len, unsigned i);
void virtqueue_flush(struct virtqueue *vq, unsigned count);
/* Interrupt the driver for vq unless it said not to (NO_INTERRUPT, or the event index). */
void virtio_notify(struct virtio_device *vdev, struct virtqueue *vq);
/* The device's configuration changed: a new generation and a configuration interrupt. */
void virtio_notify_config(struct virtio_device *vdev);
/* Ask for kicks or not (used->flags, or the event index). */
void virtio_queue_set_notification(struct virtqueue *vq, bool enable);
bool virtqueue_empty(struct virtqueue *vq);
bool virtio_queue_ready(const struct virtqueue *vq);
/*
 * The driver broke the rules: the device stops serving its queues and, for a virtio 1.x driver,
 * sets NEEDS_RESET and raises a configuration interrupt. One rate-limited log line. Any thread.
 */
void virtio_error(struct virtio_device *vdev, const char *fmt, ...) PRINTF_FMT(2, 3);

/*
 * Where the queues are served: the main loop (NULL, the default) or an I/O thread. Set before
 * the driver starts the device; the core watches the queues' notifiers there from DRIVER_OK
 * until reset.
 */
void virtio_set_iothread(struct virtio_device *vdev, struct iothread *t);
/* Run fn in the thread that serves the queues, and wait (the device lock is held). */
void virtio_run_in_queue_thread(struct virtio_device *vdev, void (*fn)(void *), void *opaque);

/* The state of the core and its queues, to include in a device's own description. */
extern const struct vmstate_desc virtio_vmsd;
/* After a load: the queues are watched again if the driver had started the device. */
void virtio_state_loaded(struct virtio_device *vdev);

#endif
