/* virtio.c: the virtio device core: status and features, configuration space, and split virtqueues (virtio 1.2 section 2.7) whose every guest-memory access goes through one checked accessor */
#define LOG_PREFIX "virtio: "
#include "hw/virtio/virtio.h"
#include "hw/core/guest-mem.h"
#include "migration/vmstate.h"
#include "util/iothread.h"
#include "util/log.h"
#include "util/main-loop.h" // loop_add_fd, loop_del_fd, bh_new

#include <stdarg.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A chain's pieces: every descriptor of the longest chain, each split over a few mappings. */
#define VIRTQ_MAX_PIECES    (VIRTQUEUE_MAX_SIZE + 64)

/*
 * The split ring (section 2.7): the descriptor table, the driver area (avail: flags, idx,
 * ring[num], used_event) and the device area (used: flags, idx, ring[num] of {id, len},
 * avail_event).
 */
#define AVAIL_FLAGS(vq)         ((vq)->avail)
#define AVAIL_IDX(vq)           ((vq)->avail + 2)
#define AVAIL_RING(vq, i)       ((vq)->avail + 4 + 2 * (uint64_t)(i))
#define AVAIL_USED_EVENT(vq)    ((vq)->avail + 4 + 2 * (uint64_t)(vq)->num)
#define USED_FLAGS(vq)          ((vq)->used)
#define USED_IDX(vq)            ((vq)->used + 2)
#define USED_RING(vq, i)        ((vq)->used + 4 + VRING_USED_ELEM_SIZE * (uint64_t)(i))
#define USED_AVAIL_EVENT(vq)    ((vq)->used + 4 + VRING_USED_ELEM_SIZE * (uint64_t)(vq)->num)

static uint64_t desc_area_size(unsigned num) { return VRING_DESC_SIZE * (uint64_t)num; }
static uint64_t avail_area_size(unsigned num) { return 6 + 2 * (uint64_t)num; }
static uint64_t used_area_size(unsigned num) { return 6 + VRING_USED_ELEM_SIZE * (uint64_t)num; }

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

void virtio_error(struct virtio_device *vdev, const char *fmt, ...)
{
    bool was = __atomic_exchange_n(&vdev->broken, true, __ATOMIC_SEQ_CST);
    char msg[256];
    va_list ap;

    if (was)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ratelimit_ok(&vdev->error_rl))
        log_msg(LOG_WARN, "", "%s: %s: the device needs a reset", vdev->name, msg);
    if (virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
        __atomic_or_fetch(&vdev->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
        virtio_notify_config(vdev);
    }
}

/*
 * The one way the core touches a ring: 2- and 4-byte fields of RAM, naturally aligned (the
 * queue's addresses were checked when it was enabled), each read once by the caller.
 */
static bool ring_load16(struct virtqueue *vq, uint64_t gpa, uint16_t *v)
{
    uint16_t *p = gmem_ptr(gpa, 2);

    if (unlikely(!p || (gpa & 1))) {
        virtio_error(vq->vdev, "queue %u: its ring at 0x%" PRIx64 " is not in RAM", vq->index, gpa);
        return false;
    }
    *v = __atomic_load_n(p, __ATOMIC_RELAXED);
    return true;
}

static bool ring_store16(struct virtqueue *vq, uint64_t gpa, uint16_t v)
{
    uint16_t *p = gmem_ptr_dma(gpa, 2);

    if (unlikely(!p || (gpa & 1))) {
        virtio_error(vq->vdev, "queue %u: its used ring at 0x%" PRIx64 " is not in writable RAM",
                     vq->index, gpa);
        return false;
    }
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
    gmem_mark_dirty(gpa, 2);
    return true;
}

static bool ring_store_used_elem(struct virtqueue *vq, uint64_t gpa, uint32_t id, uint32_t len)
{
    uint32_t *p = gmem_ptr_dma(gpa, 8);

    if (unlikely(!p || (gpa & 3))) {
        virtio_error(vq->vdev, "queue %u: its used ring at 0x%" PRIx64 " is not in writable RAM",
                     vq->index, gpa);
        return false;
    }
    __atomic_store_n(&p[0], id, __ATOMIC_RELAXED);
    __atomic_store_n(&p[1], len, __ATOMIC_RELAXED);
    gmem_mark_dirty(gpa, 8);
    return true;
}

/* A descriptor, copied out of guest memory once: the copy is what gets checked and used. */
static bool desc_load(struct virtqueue *vq, uint64_t table, unsigned i, struct vring_desc *d)
{
    uint8_t raw[VRING_DESC_SIZE];

    if (unlikely(gmem_read(table + VRING_DESC_SIZE * (uint64_t)i, raw, sizeof(raw)) < 0)) {
        virtio_error(vq->vdev, "queue %u: descriptor table at 0x%" PRIx64 " is not in RAM",
                     vq->index, table);
        return false;
    }
    d->addr = ldq_le(raw);
    d->len = ldl_le(raw + 8);
    d->flags = lduw_le(raw + 12);
    d->next = lduw_le(raw + 14);
    return true;
}

bool virtio_queue_ready(const struct virtqueue *vq)
{
    return vq->enabled && vq->num;
}

static bool vq_live(struct virtqueue *vq)
{
    return virtio_queue_ready(vq) && !__atomic_load_n(&vq->vdev->broken, __ATOMIC_ACQUIRE);
}

/* Read avail->idx; a driver that claims more new entries than the queue holds is broken. */
static bool avail_idx_refresh(struct virtqueue *vq)
{
    uint16_t idx;

    if (!ring_load16(vq, AVAIL_IDX(vq), &idx))
        return false;
    if (unlikely((uint16_t)(idx - vq->last_avail_idx) > vq->num)) {
        virtio_error(vq->vdev, "queue %u: the driver made %u entries available in a queue of %u",
                     vq->index, (uint16_t)(idx - vq->last_avail_idx), vq->num);
        return false;
    }
    vq->shadow_avail_idx = idx;
    return true;
}

bool virtqueue_empty(struct virtqueue *vq)
{
    if (!vq_live(vq))
        return true;
    if (vq->shadow_avail_idx != vq->last_avail_idx)
        return false;
    if (!avail_idx_refresh(vq))
        return true;
    return vq->shadow_avail_idx == vq->last_avail_idx;
}

void virtio_queue_set_notification(struct virtqueue *vq, bool enable)
{
    if (!vq_live(vq))
        return;
    vq->notification = enable;
    if (virtio_has_feature(vq->vdev, VIRTIO_F_RING_EVENT_IDX)) {
        /* section 2.7.10: kick me once the driver passes the entry I will look at next */
        if (enable && avail_idx_refresh(vq))
            ring_store16(vq, USED_AVAIL_EVENT(vq), vq->shadow_avail_idx);
    } else {
        ring_store16(vq, USED_FLAGS(vq), enable ? 0 : VRING_USED_F_NO_NOTIFY);
    }
    if (enable)
        /* the driver's next avail->idx must be read after it can see that kicks are wanted */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Append [addr, addr+len) to the chain's pieces, split where guest memory is not contiguous. */
static bool chain_add(struct virtqueue *vq, unsigned *n, uint64_t addr, uint32_t len, bool write)
{
    uint64_t left = len;

    if (unlikely(addr + len < addr)) {
        virtio_error(vq->vdev, "queue %u: a buffer wraps around the address space", vq->index);
        return false;
    }
    while (left) {
        uint64_t got;
        void *p = gmem_ptr_part(addr, left, write, &got);

        if (unlikely(!p)) {
            virtio_error(vq->vdev, "queue %u: a %s buffer at 0x%" PRIx64 " is not in %sRAM",
                         vq->index, write ? "device-writable" : "device-readable", addr,
                         write ? "writable " : "");
            return false;
        }
        if (unlikely(*n >= VIRTQ_MAX_PIECES)) {
            virtio_error(vq->vdev, "queue %u: a chain of more than %u pieces", vq->index, VIRTQ_MAX_PIECES);
            return false;
        }
        vq->scratch_iov[*n] = (struct iovec){ .iov_base = p, .iov_len = got };
        vq->scratch_addr[*n] = addr;
        vq->scratch_write[*n] = write;
        (*n)++;
        addr += got;
        left -= got;
    }
    return true;
}

/*
 * Walk the chain at `head` (section 2.7.5): direct descriptors in the queue's table, or one
 * indirect table (section 2.7.5.3) that is the whole chain. Every count is bounded by the table
 * it walks, so a loop ends as "longer than the table". Returns the piece count, or -1 (broken).
 */
static int chain_walk(struct virtqueue *vq, uint16_t head, unsigned *out_pieces)
{
    uint64_t table = vq->desc;
    unsigned max = vq->num, i = head, count = 0, n = 0, outs = 0;
    bool indirect = false, seen_write = false;
    struct vring_desc d;

    if (unlikely(head >= vq->num)) {
        virtio_error(vq->vdev, "queue %u: head %u is outside a queue of %u", vq->index, head, vq->num);
        return -1;
    }
    for (;;) {
        if (!desc_load(vq, table, i, &d))
            return -1;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (unlikely(!virtio_has_feature(vq->vdev, VIRTIO_F_RING_INDIRECT_DESC))) {
                virtio_error(vq->vdev, "queue %u: an indirect descriptor, a feature not negotiated", vq->index);
                return -1;
            }
            if (unlikely(indirect || count)) {
                virtio_error(vq->vdev, "queue %u: an indirect descriptor %s", vq->index,
                             indirect ? "inside an indirect table" : "after the head of a chain");
                return -1;
            }
            if (unlikely(d.flags & VRING_DESC_F_NEXT)) {
                virtio_error(vq->vdev, "queue %u: an indirect descriptor with NEXT", vq->index);
                return -1;
            }
            if (unlikely(!d.len || d.len % VRING_DESC_SIZE ||
                         d.len / VRING_DESC_SIZE > VIRTQUEUE_MAX_SIZE)) {
                virtio_error(vq->vdev, "queue %u: an indirect table of %u bytes", vq->index, d.len);
                return -1;
            }
            indirect = true;
            table = d.addr;
            max = d.len / VRING_DESC_SIZE;
            i = 0;
            continue;
        }
        if (d.flags & VRING_DESC_F_WRITE) {
            seen_write = true;
        } else if (unlikely(seen_write)) {
            virtio_error(vq->vdev, "queue %u: a device-readable buffer after a writable one", vq->index);
            return -1;
        }
        if (!chain_add(vq, &n, d.addr, d.len, d.flags & VRING_DESC_F_WRITE))
            return -1;
        if (!(d.flags & VRING_DESC_F_WRITE))
            outs = n;
        if (++count >= max && (d.flags & VRING_DESC_F_NEXT)) {
            virtio_error(vq->vdev, "queue %u: a descriptor chain longer than its table of %u (a loop?)",
                         vq->index, max);
            return -1;
        }
        if (!(d.flags & VRING_DESC_F_NEXT))
            break;
        i = d.next;
        if (unlikely(i >= max)) {
            virtio_error(vq->vdev, "queue %u: descriptor %u is outside its table of %u", vq->index, i, max);
            return -1;
        }
    }
    *out_pieces = outs;
    return n;
}

/* Copy the walked chain into a request of `size` bytes with its scatter-gather lists after it. */
static void *elem_make(struct virtqueue *vq, uint16_t head, unsigned n, unsigned outs, size_t size)
{
    unsigned ins = n - outs;
    size_t sg_off = ALIGN_UP(size, _Alignof(struct iovec));
    size_t addr_off = sg_off + n * sizeof(struct iovec);
    uint8_t *mem = xzalloc(addr_off + ins * sizeof(uint64_t));
    struct virtq_elem *e = (struct virtq_elem *)mem;

    e->head = head;
    e->out_num = outs;
    e->in_num = ins;
    e->out_sg = (struct iovec *)(mem + sg_off);
    e->in_sg = e->out_sg + outs;
    e->in_addr = (uint64_t *)(mem + addr_off);
    for (unsigned k = 0; k < n; k++) {
        e->out_sg[k] = vq->scratch_iov[k];
        if (k < outs) {
            e->out_len += vq->scratch_iov[k].iov_len;
        } else {
            e->in_addr[k - outs] = vq->scratch_addr[k];
            e->in_len += vq->scratch_iov[k].iov_len;
        }
    }
    return e;
}

void *virtqueue_pop_head(struct virtqueue *vq, uint16_t head, size_t size)
{
    unsigned outs = 0;
    int n;

    if (!vq_live(vq))
        return NULL;
    n = chain_walk(vq, head, &outs);
    if (n < 0)
        return NULL;
    return elem_make(vq, head, n, outs, size);
}

void *virtqueue_pop(struct virtqueue *vq, size_t size)
{
    uint16_t head;
    void *e;

    if (virtqueue_empty(vq))
        return NULL;
    /* the entries the driver made available are read after the index that says so */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (!ring_load16(vq, AVAIL_RING(vq, vq->last_avail_idx % vq->num), &head))
        return NULL;
    e = virtqueue_pop_head(vq, head, size);
    if (!e)
        return NULL;
    vq->last_avail_idx++;
    vq->inuse++;
    if (vq->notification && virtio_has_feature(vq->vdev, VIRTIO_F_RING_EVENT_IDX))
        ring_store16(vq, USED_AVAIL_EVENT(vq), vq->last_avail_idx);
    return e;
}

void virtqueue_unpop(struct virtqueue *vq, struct virtq_elem *elem)
{
    (void)elem;
    if (vq->inuse) {
        vq->last_avail_idx--;
        vq->inuse--;
    }
}

void virtqueue_fill(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len, unsigned i)
{
    uint32_t left = len;

    if (!vq_live(vq))
        return;
    /* what the device wrote is marked dirty now that it is there (guest-mem.h) */
    for (unsigned k = 0; k < elem->in_num && left; k++) {
        uint32_t n = MIN((uint64_t)left, elem->in_sg[k].iov_len);

        gmem_mark_dirty(elem->in_addr[k], n);
        left -= n;
    }
    ring_store_used_elem(vq, USED_RING(vq, (uint16_t)(vq->used_idx + i) % vq->num), elem->head, len);
}

void virtqueue_flush(struct virtqueue *vq, unsigned count)
{
    uint16_t old = vq->used_idx, new = old + count;

    if (!vq_live(vq))
        return;
    /* the used entries are visible before the index that publishes them */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    if (!ring_store16(vq, USED_IDX(vq), new))
        return;
    vq->used_idx = new;
    vq->inuse -= MIN(vq->inuse, count);
    if (unlikely((int16_t)(new - vq->signalled_used) < (uint16_t)(new - old)))
        vq->signalled_used_valid = false;
}

void virtqueue_push(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t len)
{
    virtqueue_fill(vq, elem, len, 0);
    virtqueue_flush(vq, 1);
}

/* Section 2.7.7.2 (event index) and 2.7.10's VRING_AVAIL_F_NO_INTERRUPT. */
static bool should_notify(struct virtqueue *vq)
{
    uint16_t old, new, event, flags;
    bool valid;

    /* the used index we published is ordered before the driver's flags or event we read */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (virtio_has_feature(vq->vdev, VIRTIO_F_NOTIFY_ON_EMPTY) && !vq->inuse && virtqueue_empty(vq))
        return true;
    if (!virtio_has_feature(vq->vdev, VIRTIO_F_RING_EVENT_IDX))
        return ring_load16(vq, AVAIL_FLAGS(vq), &flags) && !(flags & VRING_AVAIL_F_NO_INTERRUPT);
    valid = vq->signalled_used_valid;
    vq->signalled_used_valid = true;
    old = vq->signalled_used;
    new = vq->signalled_used = vq->used_idx;
    if (!ring_load16(vq, AVAIL_USED_EVENT(vq), &event))
        return false;
    return !valid || (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void virtio_notify(struct virtio_device *vdev, struct virtqueue *vq)
{
    if (!vq_live(vq) || !should_notify(vq))
        return;
    __atomic_or_fetch(&vdev->isr, VIRTIO_ISR_QUEUE, __ATOMIC_SEQ_CST);
    if (vdev->transport)
        vdev->transport->notify(vdev->transport_opaque, __atomic_load_n(&vq->vector, __ATOMIC_RELAXED), false);
}

void virtio_notify_config(struct virtio_device *vdev)
{
    if (!(__atomic_load_n(&vdev->status, __ATOMIC_RELAXED) & VIRTIO_STATUS_DRIVER_OK))
        return;
    __atomic_add_fetch(&vdev->generation, 1, __ATOMIC_SEQ_CST);
    __atomic_or_fetch(&vdev->isr, VIRTIO_ISR_CONFIG, __ATOMIC_SEQ_CST);
    if (vdev->transport)
        vdev->transport->notify(vdev->transport_opaque,
                                __atomic_load_n(&vdev->config_vector, __ATOMIC_RELAXED), true);
}

uint8_t virtio_isr_read_clear(struct virtio_device *vdev)
{
    return __atomic_exchange_n(&vdev->isr, 0, __ATOMIC_SEQ_CST);
}

/* The queue's notifier fired: serve it (in the loop that watches it). */
static void queue_kicked(void *opaque, uint32_t events)
{
    struct virtqueue *vq = opaque;
    eventfd_t n;

    (void)events;
    if (eventfd_read(vq->host_fd, &n) < 0)
        return;
    if (vq->handle && vq_live(vq))
        vq->handle(vq->vdev, vq);
}

void virtio_queue_notify(struct virtqueue *vq)
{
    /* through the notifier, so the queue is served in its own thread */
    if (vq->host_fd >= 0)
        eventfd_write(vq->host_fd, 1);
}

/*
 * Which queues' notifiers are watched is kept out of the device's instance: a state load that
 * is refused puts the instance back byte for byte (device_vmstate_load), and the notifiers its
 * pre_load stopped watching must not then pass for watched. The resync bottom half, scheduled
 * by every pre_load, watches them again as the device's status says once the load is over,
 * whichever way it went.
 */
struct virtio_watch {
    bool watched[VIRTIO_QUEUE_MAX];
    struct bh *resync;
};

static void queues_watch(struct virtio_device *vdev, bool on)
{
    if (!vdev->watch)
        return;
    for (unsigned i = 0; i < vdev->nvq; i++) {
        struct virtqueue *vq = &vdev->vq[i];

        if (vq->host_fd < 0 || vdev->watch->watched[i] == on)
            continue;
        if (on) {
            int r = vdev->iothread ? iothread_add_fd(vdev->iothread, vq->host_fd, EPOLLIN, queue_kicked, vq)
                                   : loop_add_fd(vq->host_fd, EPOLLIN, queue_kicked, vq);

            if (r < 0) {
                log_error("%s: cannot watch queue %u's notifier", vdev->name, i);
                continue;
            }
        } else if (vdev->iothread) {
            /* once this returns, the queue's handler is not running in the thread */
            iothread_del_fd(vdev->iothread, vq->host_fd);
        } else {
            loop_del_fd(vq->host_fd);
        }
        vdev->watch->watched[i] = on;
    }
}

static void queues_resync(void *opaque)
{
    struct virtio_device *vdev = opaque;

    queues_watch(vdev, vdev->status & VIRTIO_STATUS_DRIVER_OK);
}

void virtio_set_iothread(struct virtio_device *vdev, struct iothread *t)
{
    vdev->iothread = t;
}

void virtio_run_in_queue_thread(struct virtio_device *vdev, void (*fn)(void *), void *opaque)
{
    if (vdev->iothread)
        iothread_run(vdev->iothread, fn, opaque);
    else
        fn(opaque);
}

static void queue_clear(struct virtqueue *vq)
{
    eventfd_t n;

    /* 4.1.4.3: queue_size reads as the largest size after a reset */
    vq->num = vq->num_max;
    vq->enabled = false;
    vq->desc = vq->avail = vq->used = 0;
    vq->vector = VIRTIO_NO_VECTOR;
    vq->last_avail_idx = vq->used_idx = vq->shadow_avail_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->notification = true;
    vq->inuse = 0;
    if (vq->host_fd >= 0)
        eventfd_read(vq->host_fd, &n);  /* a kick from before the reset is forgotten */
}

void virtio_reset(struct virtio_device *vdev)
{
    queues_watch(vdev, false);
    /* as QEMU: the driver is gone (status 0) before the device forgets what it agreed with it */
    __atomic_store_n(&vdev->status, 0, __ATOMIC_SEQ_CST);
    if (vdev->ops->reset)
        vdev->ops->reset(vdev);
    vdev->isr = 0;
    vdev->guest_features = 0;
    vdev->broken = false;
    vdev->config_vector = VIRTIO_NO_VECTOR;
    for (unsigned i = 0; i < vdev->nvq; i++)
        queue_clear(&vdev->vq[i]);
}

void virtio_set_features(struct virtio_device *vdev, uint64_t features)
{
    vdev->guest_features = features & vdev->host_features;
}

void virtio_set_status(struct virtio_device *vdev, uint8_t status)
{
    uint8_t old = vdev->status;

    if (!status) {
        virtio_reset(vdev);
        return;
    }
    /* section 3.1.1: the device refuses features it cannot take by leaving FEATURES_OK clear */
    if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
        vdev->ops->features_ok && !vdev->ops->features_ok(vdev, vdev->guest_features))
        status &= ~VIRTIO_STATUS_FEATURES_OK;
    /* NEEDS_RESET is the device's: only a reset clears it */
    status = (status & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
    __atomic_store_n(&vdev->status, status, __ATOMIC_SEQ_CST);
    if ((status ^ old) & VIRTIO_STATUS_DRIVER_OK)
        queues_watch(vdev, status & VIRTIO_STATUS_DRIVER_OK);
    if (vdev->ops->set_status)
        vdev->ops->set_status(vdev, old, status);
    /*
     * The device broke before the driver was done setting up (a queue's rings not in RAM): the
     * configuration interrupt that 2.1.2 sends once DRIVER_OK is set goes now, so that a driver
     * that did not read the status back still hears that the device needs a reset.
     */
    if ((status & VIRTIO_STATUS_NEEDS_RESET) && (status & ~old & VIRTIO_STATUS_DRIVER_OK))
        virtio_notify_config(vdev);
}

uint32_t virtio_config_read(struct virtio_device *vdev, unsigned off, unsigned size)
{
    uint32_t v = 0;

    if (off > vdev->config_len || size > vdev->config_len - off)
        return UINT32_MAX >> (32 - 8 * size);
    if (vdev->ops->get_config)
        vdev->ops->get_config(vdev, vdev->config);
    memcpy(&v, vdev->config + off, size);
    return v;
}

void virtio_config_write(struct virtio_device *vdev, unsigned off, uint32_t val, unsigned size)
{
    if (off > vdev->config_len || size > vdev->config_len - off)
        return;
    if (vdev->ops->get_config)
        vdev->ops->get_config(vdev, vdev->config);
    memcpy(vdev->config + off, &val, size);
    if (vdev->ops->set_config)
        vdev->ops->set_config(vdev, vdev->config);
}

/* Whether [gpa, gpa + len) is RAM throughout, writable RAM for `write` (not ROM, not read-only PAM). */
static bool ring_area_ok(uint64_t gpa, uint64_t len, bool write)
{
    while (len) {
        uint64_t got;

        if (!gmem_ptr_part(gpa, len, write, &got))
            return false;
        gpa += got;
        len -= got;
    }
    return true;
}

/* The rings must lie in RAM, the device's part in RAM it can write, each aligned as section 2.7 says. */
static bool queue_check_rings(struct virtqueue *vq)
{
    const char *bad = NULL;

    if (vq->desc % 16 || vq->avail % 2 || vq->used % 4)
        bad = "misaligned";
    else if (!ring_area_ok(vq->desc, desc_area_size(vq->num), false) ||
             !ring_area_ok(vq->avail, avail_area_size(vq->num), false))
        bad = "not in RAM";
    else if (!ring_area_ok(vq->used, used_area_size(vq->num), true))
        bad = "not in RAM (the used ring must be in writable RAM)";
    if (bad) {
        virtio_error(vq->vdev, "queue %u: its rings (0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ") are %s",
                     vq->index, vq->desc, vq->avail, vq->used, bad);
        return false;
    }
    return true;
}

static void queue_start(struct virtqueue *vq)
{
    vq->last_avail_idx = vq->used_idx = vq->shadow_avail_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->notification = true;
    vq->inuse = 0;
    vq->enabled = queue_check_rings(vq);
}

void virtio_queue_set_legacy_pfn(struct virtqueue *vq, uint32_t pfn)
{
    uint64_t base = (uint64_t)pfn << VIRTIO_LEGACY_PFN_SHIFT;

    vq->num = vq->num_max;
    vq->desc = base;
    vq->avail = base + desc_area_size(vq->num);
    vq->used = ALIGN_UP(vq->avail + avail_area_size(vq->num), (uint64_t)VIRTIO_LEGACY_ALIGN);
    queue_start(vq);
}

uint32_t virtio_queue_legacy_pfn(const struct virtqueue *vq)
{
    return vq->enabled ? vq->desc >> VIRTIO_LEGACY_PFN_SHIFT : 0;
}

void virtio_queue_enable(struct virtqueue *vq)
{
    if (!vq->num || vq->num > vq->num_max || (vq->num & (vq->num - 1))) {
        virtio_error(vq->vdev, "queue %u: a size of %u (at most %u, a power of two)",
                     vq->index, vq->num, vq->num_max);
        return;
    }
    queue_start(vq);
}

void virtio_queue_set_handler(struct virtqueue *vq, virtio_handle_fn *fn)
{
    vq->handle = fn;
}

int virtio_init(struct virtio_device *vdev, const char *name, uint16_t device_id,
                const struct virtio_device_ops *ops, size_t config_len, unsigned nvq,
                uint16_t queue_size)
{
    if (!nvq || nvq > VIRTIO_QUEUE_MAX || !queue_size || queue_size > VIRTQUEUE_MAX_SIZE ||
        (queue_size & (queue_size - 1)))
        return -EINVAL;
    vdev->name = name;
    vdev->device_id = device_id;
    vdev->ops = ops;
    vdev->config_len = config_len;
    vdev->config = xzalloc(config_len ? config_len : 1);
    vdev->watch = xzalloc(sizeof(*vdev->watch));
    vdev->watch->resync = bh_new(queues_resync, vdev);
    vdev->nvq = nvq;
    vdev->host_features |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
                           VIRTIO_BIT(VIRTIO_F_NOTIFY_ON_EMPTY) | VIRTIO_BIT(VIRTIO_F_ANY_LAYOUT);
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        struct virtqueue *vq = &vdev->vq[i];

        vq->vdev = vdev;
        vq->index = i;
        vq->host_fd = -1;
        vq->vector = VIRTIO_NO_VECTOR;
        if (i >= nvq)
            continue;
        vq->num_max = queue_size;
        vq->host_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        vq->scratch_iov = xmalloc(VIRTQ_MAX_PIECES * sizeof(*vq->scratch_iov));
        vq->scratch_addr = xmalloc(VIRTQ_MAX_PIECES * sizeof(*vq->scratch_addr));
        vq->scratch_write = xmalloc(VIRTQ_MAX_PIECES * sizeof(*vq->scratch_write));
        if (vq->host_fd < 0) {
            int r = -errno;

            virtio_cleanup(vdev);
            return r;
        }
    }
    virtio_reset(vdev);
    return 0;
}

void virtio_cleanup(struct virtio_device *vdev)
{
    queues_watch(vdev, false);
    for (unsigned i = 0; i < vdev->nvq; i++) {
        struct virtqueue *vq = &vdev->vq[i];

        if (vq->host_fd >= 0)
            close(vq->host_fd);
        vq->host_fd = -1;
        free(vq->scratch_iov);
        free(vq->scratch_addr);
        free(vq->scratch_write);
        vq->scratch_iov = NULL;
        vq->scratch_addr = NULL;
        vq->scratch_write = NULL;
    }
    free(vdev->config);
    vdev->config = NULL;
    if (vdev->watch) {
        bh_free(vdev->watch->resync);
        free(vdev->watch);
        vdev->watch = NULL;
    }
}

/* State (see docs/developer.md, "Device state"): what the driver set up, and where each ring is. */
static int virtqueue_post_load(void *opaque, int version)
{
    struct virtqueue *vq = opaque;

    (void)version;
    if (vq->num && (vq->num & (vq->num - 1)))
        return -EINVAL;
    if (vq->num > vq->num_max || (vq->enabled && !vq->num))
        return -EINVAL;
    if ((uint16_t)(vq->last_avail_idx - vq->used_idx) > vq->num)
        return -EINVAL;
    vq->inuse = (uint16_t)(vq->last_avail_idx - vq->used_idx);
    vq->shadow_avail_idx = vq->last_avail_idx;
    return 0;
}

static const struct vmstate_field virtqueue_fields[] = {
    VMSTATE_U16(num, struct virtqueue),
    VMSTATE_BOOL(enabled, struct virtqueue),
    VMSTATE_U64(desc, struct virtqueue),
    VMSTATE_U64(avail, struct virtqueue),
    VMSTATE_U64(used, struct virtqueue),
    VMSTATE_U16(vector, struct virtqueue),
    VMSTATE_U16(last_avail_idx, struct virtqueue),
    VMSTATE_U16(used_idx, struct virtqueue),
    VMSTATE_U16(signalled_used, struct virtqueue),
    VMSTATE_BOOL(signalled_used_valid, struct virtqueue),
    VMSTATE_BOOL(notification, struct virtqueue),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc virtqueue_vmsd = {
    .name = "virtqueue",
    .version = 1,
    .min_version = 1,
    .fields = virtqueue_fields,
    .post_load = virtqueue_post_load,
};

static int virtio_pre_load(void *opaque)
{
    struct virtio_device *vdev = opaque;

    /*
     * The queues are reloaded whole: nothing may be served from the old ones meanwhile (an I/O
     * thread would). Whether the load succeeds (state_loaded) or is refused (the instance put
     * back), the resync watches the notifiers again as the status then says.
     */
    queues_watch(vdev, false);
    bh_schedule(vdev->watch->resync);
    return 0;
}

static int virtio_post_load(void *opaque, int version)
{
    struct virtio_device *vdev = opaque;

    (void)version;
    if (vdev->guest_features & ~vdev->host_features)
        return -EINVAL;
    for (unsigned i = vdev->nvq; i < VIRTIO_QUEUE_MAX; i++)
        if (vdev->vq[i].num || vdev->vq[i].enabled)
            return -EINVAL;
    return 0;
}

static const struct vmstate_field virtio_fields[] = {
    VMSTATE_U8(status, struct virtio_device),
    VMSTATE_U8(isr, struct virtio_device),
    VMSTATE_U64(guest_features, struct virtio_device),
    VMSTATE_BOOL(broken, struct virtio_device),
    VMSTATE_U16(config_vector, struct virtio_device),
    VMSTATE_U8(generation, struct virtio_device),
    VMSTATE_STRUCT_ARRAY(vq, struct virtio_device, VIRTIO_QUEUE_MAX, virtqueue_vmsd, struct virtqueue),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc virtio_vmsd = {
    .name = "virtio",
    .version = 1,
    .min_version = 1,
    .fields = virtio_fields,
    .pre_load = virtio_pre_load,
    .post_load = virtio_post_load,
};

void virtio_state_loaded(struct virtio_device *vdev)
{
    queues_watch(vdev, vdev->status & VIRTIO_STATUS_DRIVER_OK);
}
