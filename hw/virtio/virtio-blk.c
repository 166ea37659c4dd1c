/* virtio-blk.c: the virtio block device over the block layer (virtio 1.2 section 5.2): asynchronous reads and writes, flush, GET_ID, discard and write-zeroes, several queues, the write cache switch, werror/rerror, and the virtio-blk-pci device type */
#define LOG_PREFIX "virtio-blk: "
#include "hw/virtio/virtio-blk.h"
#include "block/blockdev.h"
#include "hw/core/bootdev.h"
#include "hw/core/guest-mem.h" // gmem_mark_dirty
#include "hw/core/machine.h" // machine_cfg, run state
#include "hw/virtio/virtio-pci.h"
#include "migration/vmstate.h"
#include "util/iothread.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/main-loop.h" // bh_new, event_loop_main

/* The requests a stopped device keeps to retry (werror/rerror=stop) and a state stream carries. */
#define VIRTIO_BLK_MAX_HELD         1024
#define VIRTIO_BLK_AUTO_QUEUES      0xffff
/* As QEMU: one request's data at most (BDRV_REQUEST_MAX_BYTES), and discard/zero limits */
#define VIRTIO_BLK_MAX_REQUEST      (INT32_MAX & ~(uint64_t)(VIRTIO_BLK_SECTOR_SIZE - 1))
#define VIRTIO_BLK_MAX_DWZ_SECTORS  (VIRTIO_BLK_MAX_REQUEST / VIRTIO_BLK_SECTOR_SIZE)
/* Request merging (request-merging=on, as QEMU's): reads or writes taken in one pass over a queue
 * are sorted by sector, and the runs that follow each other on the disk go as one block request
 * of at most this many guest requests, pieces (IOV_MAX) and bytes. */
#define VIRTIO_BLK_MERGE_REQS       32
#define VIRTIO_BLK_MERGE_IOV        1024
#define VIRTIO_BLK_MERGE_BYTES      (4u << 20)

struct virtio_blk;

struct vblk_req {
    struct virtq_elem elem;         /* first: the core allocates the request around it */
    struct virtio_blk *s;
    struct virtqueue *vq;
    uint32_t type;
    uint64_t sector;
    uint8_t *status;                /* the last byte of the device-writable pieces */
    uint64_t status_gpa;
    struct iovec *iov;              /* the data pieces, the header and status left out */
    unsigned niov;
    size_t len;
    bool flushing;                  /* a write-through write's flush is running */
    struct vblk_req *next;          /* on the held list */
};

struct virtio_blk {
    struct virtio_device vdev;
    /* properties */
    struct blockdev *drive;
    char *serial;
    int32_t bootindex;
    uint16_t num_queues;
    uint16_t queue_size;
    bool config_wce, discard, write_zeroes, request_merging;
    struct iothread *iothread;      /* iothread=: where the queues are served and the drive completes */
    /* state */
    bool wce;                       /* the disk's write cache is on (the driver may switch it) */
    struct vblk_req *held;          /* failed requests that wait for the VM to run again */
    uint32_t nheld;
    uint32_t held_ids[VIRTIO_BLK_MAX_HELD]; /* queue << 16 | head, for the state stream */
    bool listening;
    struct bh *stop_bh;             /* an I/O thread's request to stop the VM (io-error) */
};

struct virtio_blk_pci {
    struct virtio_pci_dev base;
    struct virtio_blk blk;
};

static struct virtio_blk *blk_of(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_blk, vdev);
}

static struct block_dev *blk_bd(struct virtio_blk *s)
{
    return s->drive ? s->drive->bd : NULL;
}

static uint64_t capacity_sectors(struct virtio_blk *s)
{
    struct block_dev *bd = blk_bd(s);

    return bd ? block_size(bd) / VIRTIO_BLK_SECTOR_SIZE : 0;
}

static bool read_only(struct virtio_blk *s)
{
    struct block_dev *bd = blk_bd(s);

    return !bd || block_is_read_only(bd);
}

static void req_free(struct vblk_req *r)
{
    free(r->iov);
    free(r);
}

static void req_complete(struct vblk_req *r, uint8_t status)
{
    struct virtio_blk *s = r->s;

    *r->status = status;
    gmem_mark_dirty(r->status_gpa, 1);
    virtqueue_push(r->vq, &r->elem, r->elem.in_len);
    virtio_notify(&s->vdev, r->vq);
    req_free(r);
}

static void req_submit(struct vblk_req *r);

/* werror/rerror (QEMU's -drive options): what a failed request does. */
static void req_failed(struct vblk_req *r, int ret)
{
    struct virtio_blk *s = r->s;
    bool is_read = r->type == VIRTIO_BLK_T_IN;
    enum blockdev_error_action a = s->drive ? blockdev_error_action(s->drive, is_read, ret)
                                            : BLOCKDEV_ERROR_REPORT;

    switch (a) {
    case BLOCKDEV_ERROR_IGNORE:
        req_complete(r, VIRTIO_BLK_S_OK);
        return;
    case BLOCKDEV_ERROR_STOP:
        if (s->nheld < VIRTIO_BLK_MAX_HELD) {
            r->next = s->held;
            s->held = r;
            s->nheld++;
            log_warn("%s: %s error (%s): the VM stops until 'cont'", s->drive->id,
                     is_read ? "read" : "write", strerror(-ret));
            /* the run state is the main loop's: from an I/O thread, ask it */
            bh_schedule(s->stop_bh);
            return;
        }
        break;
    case BLOCKDEV_ERROR_REPORT:
        break;
    }
    req_complete(r, VIRTIO_BLK_S_IOERR);
}

static void req_done(void *opaque, int ret)
{
    struct vblk_req *r = opaque;
    struct virtio_blk *s = r->s;

    if (ret < 0) {
        req_failed(r, ret);
        return;
    }
    /* write-through (the driver turned the write cache off, or cannot flush): durable before done */
    if (r->type == VIRTIO_BLK_T_OUT && !s->wce && !r->flushing && blk_bd(s)) {
        r->flushing = true;
        block_aio_flush(blk_bd(s), req_done, r);
        return;
    }
    req_complete(r, VIRTIO_BLK_S_OK);
}

/* Whether [sector, sector + bytes/512) is a whole-sector range of the disk. */
static bool range_ok(struct virtio_blk *s, uint64_t sector, uint64_t bytes)
{
    uint64_t cap = capacity_sectors(s);

    return bytes % VIRTIO_BLK_SECTOR_SIZE == 0 && bytes <= VIRTIO_BLK_MAX_REQUEST &&
           sector <= cap && bytes / VIRTIO_BLK_SECTOR_SIZE <= cap - sector;
}

/* Discard and write-zeroes: one segment {sector, num_sectors, flags} (5.2.6.2). */
static void req_dwz(struct vblk_req *r)
{
    struct virtio_blk *s = r->s;
    bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
    uint8_t seg[VIRTIO_BLK_DWZ_SIZE];
    uint64_t sector;
    uint32_t num, flags;

    if (r->elem.out_len - VIRTIO_BLK_HDR_SIZE != VIRTIO_BLK_DWZ_SIZE) {
        req_complete(r, VIRTIO_BLK_S_UNSUPP);   /* max_discard_seg and max_write_zeroes_seg are 1 */
        return;
    }
    iov_to_buf(r->elem.out_sg, r->elem.out_num, VIRTIO_BLK_HDR_SIZE, seg, sizeof(seg));
    sector = ldq_le(seg);
    num = ldl_le(seg + 8);
    flags = ldl_le(seg + 12);
    if (flags & ~(zeroes ? VIRTIO_BLK_WZ_FLAG_UNMAP : 0)) {
        req_complete(r, VIRTIO_BLK_S_UNSUPP);
        return;
    }
    if (read_only(s) || num > VIRTIO_BLK_MAX_DWZ_SECTORS ||
        !range_ok(s, sector, (uint64_t)num * VIRTIO_BLK_SECTOR_SIZE)) {
        req_complete(r, VIRTIO_BLK_S_IOERR);
        return;
    }
    if (zeroes)
        block_aio_write_zeroes(blk_bd(s), sector * VIRTIO_BLK_SECTOR_SIZE, (uint64_t)num * VIRTIO_BLK_SECTOR_SIZE,
                               flags & VIRTIO_BLK_WZ_FLAG_UNMAP ? BLOCK_ZERO_MAY_UNMAP : 0, req_done, r);
    else
        block_aio_discard(blk_bd(s), sector * VIRTIO_BLK_SECTOR_SIZE, (uint64_t)num * VIRTIO_BLK_SECTOR_SIZE,
                          req_done, r);
}

static void req_get_id(struct vblk_req *r)
{
    char id[VIRTIO_BLK_ID_BYTES] = { 0 };
    const char *serial = r->s->serial ? r->s->serial : "";

    /* as QEMU: the serial, padded with zeros, not terminated when it is 20 characters */
    memcpy(id, serial, MIN(strlen(serial), sizeof(id)));
    iov_from_buf(r->iov, r->niov, 0, id, MIN(r->len, sizeof(id)));
    req_complete(r, VIRTIO_BLK_S_OK);
}

/* Guest requests that went to the disk as one: each completes with the one's result. */
struct vblk_merged {
    unsigned n;
    struct vblk_req *reqs[VIRTIO_BLK_MERGE_REQS];
    struct iovec *iov;
};

static void merged_done(void *opaque, int ret)
{
    struct vblk_merged *m = opaque;

    /* as QEMU: a failed merged request fails each of its requests (werror/rerror decide each) */
    for (unsigned i = 0; i < m->n; i++)
        req_done(m->reqs[i], ret);
    free(m->iov);
    free(m);
}

/* The reads or the writes taken so far in this pass over a queue, not yet submitted. */
struct vblk_batch {
    struct vblk_req *reqs[VIRTIO_BLK_MERGE_REQS];
    unsigned n;
    bool write;
};

/* Whether the request may wait in a batch: a read or write the disk can take as it is. */
static bool req_mergeable(struct virtio_blk *s, struct vblk_req *r)
{
    if (!s->request_merging || !blk_bd(s) || r->len == 0 || r->len > VIRTIO_BLK_MERGE_BYTES ||
        r->niov > VIRTIO_BLK_MERGE_IOV)
        return false;
    if (r->type == VIRTIO_BLK_T_OUT)
        return !read_only(s) && range_ok(s, r->sector, r->len);
    return r->type == VIRTIO_BLK_T_IN && range_ok(s, r->sector, r->len);
}

/* reqs[0..n) follow each other on the disk: one block request for all of them. */
static void submit_run(struct virtio_blk *s, bool write, struct vblk_req **reqs, unsigned n)
{
    struct vblk_merged *m;
    unsigned niov = 0;

    if (n == 1) {
        req_submit(reqs[0]);
        return;
    }
    m = xnew(struct vblk_merged);
    for (unsigned i = 0; i < n; i++)
        niov += reqs[i]->niov;
    m->iov = xmalloc(niov * sizeof(*m->iov));
    niov = 0;
    for (unsigned i = 0; i < n; i++) {
        memcpy(m->iov + niov, reqs[i]->iov, reqs[i]->niov * sizeof(*m->iov));
        niov += reqs[i]->niov;
        m->reqs[i] = reqs[i];
        reqs[i]->flushing = false;
    }
    m->n = n;
    /* info blockstats counts the guest's requests, and how many went along with another */
    block_account_merged(blk_bd(s), write, n - 1);
    if (write)
        block_aio_writev(blk_bd(s), reqs[0]->sector * VIRTIO_BLK_SECTOR_SIZE, m->iov, niov, merged_done, m);
    else
        block_aio_readv(blk_bd(s), reqs[0]->sector * VIRTIO_BLK_SECTOR_SIZE, m->iov, niov, merged_done, m);
}

/* Submit the batch: sorted by sector (stable), adjacent requests merged within the limits. */
static void batch_flush(struct virtio_blk *s, struct vblk_batch *b)
{
    unsigned start = 0, niov, i;
    uint64_t bytes;

    for (i = 1; i < b->n; i++) {
        struct vblk_req *r = b->reqs[i];
        unsigned j = i;

        for (; j > 0 && b->reqs[j - 1]->sector > r->sector; j--)
            b->reqs[j] = b->reqs[j - 1];
        b->reqs[j] = r;
    }
    niov = b->n ? b->reqs[0]->niov : 0;
    bytes = b->n ? b->reqs[0]->len : 0;
    for (i = 1; i < b->n; i++) {
        struct vblk_req *prev = b->reqs[i - 1], *r = b->reqs[i];

        if (prev->sector + prev->len / VIRTIO_BLK_SECTOR_SIZE == r->sector &&
            niov + r->niov <= VIRTIO_BLK_MERGE_IOV && bytes + r->len <= VIRTIO_BLK_MERGE_BYTES) {
            niov += r->niov;
            bytes += r->len;
            continue;
        }
        submit_run(s, b->write, b->reqs + start, i - start);
        start = i;
        niov = r->niov;
        bytes = r->len;
    }
    if (b->n)
        submit_run(s, b->write, b->reqs + start, b->n - start);
    b->n = 0;
}

/* Start a request whose header was read and checked (again when a held one is retried). */
static void req_submit(struct vblk_req *r)
{
    struct virtio_blk *s = r->s;
    struct block_dev *bd = blk_bd(s);

    r->flushing = false;
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        if (!bd || !range_ok(s, r->sector, r->len) || (r->type == VIRTIO_BLK_T_OUT && read_only(s))) {
            req_complete(r, VIRTIO_BLK_S_IOERR);
            return;
        }
        if (r->type == VIRTIO_BLK_T_IN)
            block_aio_readv(bd, r->sector * VIRTIO_BLK_SECTOR_SIZE, r->iov, r->niov, req_done, r);
        else
            block_aio_writev(bd, r->sector * VIRTIO_BLK_SECTOR_SIZE, r->iov, r->niov, req_done, r);
        return;
    case VIRTIO_BLK_T_FLUSH:
        if (!bd) {
            req_complete(r, VIRTIO_BLK_S_IOERR);
            return;
        }
        /* as QEMU: a read-only drive has nothing to flush (the block layer refuses it with EROFS) */
        if (read_only(s)) {
            req_complete(r, VIRTIO_BLK_S_OK);
            return;
        }
        block_aio_flush(bd, req_done, r);
        return;
    case VIRTIO_BLK_T_GET_ID:
        req_get_id(r);
        return;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (!virtio_has_feature(&s->vdev, r->type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD
                                                                          : VIRTIO_BLK_F_WRITE_ZEROES)) {
            req_complete(r, VIRTIO_BLK_S_UNSUPP);
            return;
        }
        if (!bd) {
            req_complete(r, VIRTIO_BLK_S_IOERR);
            return;
        }
        req_dwz(r);
        return;
    default:
        req_complete(r, VIRTIO_BLK_S_UNSUPP);
        return;
    }
}

/*
 * A chain the driver gave: read its header (once, into the request) and find its data and
 * status. A request without room for both breaks the rules (5.2.6.1): NEEDS_RESET.
 */
static bool req_parse(struct virtio_blk *s, struct virtqueue *vq, struct vblk_req *r)
{
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
    struct iovec *last;
    size_t data_off = 0, data_len;
    const struct iovec *from;
    unsigned from_n;

    r->s = s;
    r->vq = vq;
    if (r->elem.out_len < VIRTIO_BLK_HDR_SIZE || r->elem.in_len < 1) {
        virtio_error(&s->vdev, "a request without its header or status byte");
        return false;
    }
    iov_to_buf(r->elem.out_sg, r->elem.out_num, 0, hdr, sizeof(hdr));
    r->type = ldl_le(hdr) & ~VIRTIO_BLK_T_BARRIER;
    r->sector = ldq_le(hdr + 8);
    last = &r->elem.in_sg[r->elem.in_num - 1];
    r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    r->status_gpa = r->elem.in_addr[r->elem.in_num - 1] + last->iov_len - 1;
    /* reads and GET_ID fill the writable pieces before the status; writes send what follows the header */
    if (r->type == VIRTIO_BLK_T_OUT) {
        from = r->elem.out_sg;
        from_n = r->elem.out_num;
        data_off = VIRTIO_BLK_HDR_SIZE;
        data_len = r->elem.out_len - VIRTIO_BLK_HDR_SIZE;
    } else {
        from = r->elem.in_sg;
        from_n = r->elem.in_num;
        data_len = r->elem.in_len - 1;
    }
    r->iov = xmalloc((from_n ? from_n : 1) * sizeof(*r->iov));
    r->niov = iov_slice(r->iov, from_n, from, from_n, data_off, data_len);
    r->len = data_len;
    return true;
}

static void handle_queue(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_blk *s = blk_of(vdev);
    struct vblk_req *r;

    /* a device stopped on an error takes nothing new until the VM runs again */
    if (s->held)
        return;
    do {
        struct vblk_batch b = { .n = 0 };

        virtio_queue_set_notification(vq, false);
        while ((r = virtqueue_pop(vq, sizeof(*r)))) {
            if (!req_parse(s, vq, r)) {
                req_free(r);
                batch_flush(s, &b);
                return;
            }
            if (!req_mergeable(s, r)) {
                /* what comes after a flush or the like is not taken before what came first */
                batch_flush(s, &b);
                req_submit(r);
                continue;
            }
            if (b.n == VIRTIO_BLK_MERGE_REQS || (b.n && b.write != (r->type == VIRTIO_BLK_T_OUT)))
                batch_flush(s, &b);
            b.write = r->type == VIRTIO_BLK_T_OUT;
            b.reqs[b.n++] = r;
        }
        batch_flush(s, &b);
        virtio_queue_set_notification(vq, true);
    } while (!virtqueue_empty(vq));
}

static void stop_vm(void *opaque)
{
    (void)opaque;
    machine_stop_error(RUN_STATE_IO_ERROR);
}

/* The held requests go again, oldest first (in the thread that serves the queues). */
static void retry_held(void *opaque)
{
    struct virtio_blk *s = opaque;
    struct vblk_req *list = NULL, *r;

    while ((r = s->held)) {
        s->held = r->next;
        r->next = list;
        list = r;
    }
    s->nheld = 0;
    while ((r = list)) {
        list = r->next;
        req_submit(r);
    }
    for (unsigned i = 0; i < s->vdev.nvq; i++)
        if (!s->held)
            virtio_queue_notify(&s->vdev.vq[i]);
}

/* The VM runs again after an io-error stop. */
static void run_state_changed(void *opaque, bool running, enum run_state state)
{
    struct virtio_blk *s = opaque;

    (void)state;
    if (running && s->nheld)
        virtio_run_in_queue_thread(&s->vdev, retry_held, s);
}

static void drop_held(struct virtio_blk *s)
{
    struct vblk_req *r;

    while ((r = s->held)) {
        s->held = r->next;
        req_free(r);
    }
    s->nheld = 0;
}

static void blk_get_config(struct virtio_device *vdev, uint8_t *c)
{
    struct virtio_blk *s = blk_of(vdev);
    uint64_t cap = capacity_sectors(s);
    uint64_t cyls = cap / (16 * 63);

    memset(c, 0, VIRTIO_BLK_CFG_SIZE);
    stq_le(c + VIRTIO_BLK_CFG_CAPACITY, cap);
    stl_le(c + VIRTIO_BLK_CFG_SEG_MAX, s->queue_size - 2);
    /* the geometry a BIOS would guess: 16 heads, 63 sectors */
    stw_le(c + VIRTIO_BLK_CFG_CYLINDERS, MIN(cyls, 65535));
    c[VIRTIO_BLK_CFG_HEADS] = 16;
    c[VIRTIO_BLK_CFG_SECTORS] = 63;
    stl_le(c + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR_SIZE);
    c[VIRTIO_BLK_CFG_WRITEBACK] = s->wce;
    stw_le(c + VIRTIO_BLK_CFG_NUM_QUEUES, s->num_queues);
    stl_le(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_DWZ_SECTORS);
    stl_le(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
    stl_le(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, 1);
    stl_le(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, VIRTIO_BLK_MAX_DWZ_SECTORS);
    stl_le(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
    c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

static void blk_set_config(struct virtio_device *vdev, const uint8_t *c)
{
    struct virtio_blk *s = blk_of(vdev);

    /* 5.2.5: only the write cache mode is writable, and only with CONFIG_WCE */
    if (virtio_has_feature(vdev, VIRTIO_BLK_F_CONFIG_WCE))
        s->wce = c[VIRTIO_BLK_CFG_WRITEBACK] & 1;
}

static void blk_set_status(struct virtio_device *vdev, uint8_t old, uint8_t status)
{
    struct virtio_blk *s = blk_of(vdev);

    /* 5.2.5.1: a driver that cannot flush gets a write-through disk */
    if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
        !virtio_has_feature(vdev, VIRTIO_BLK_F_FLUSH))
        s->wce = false;
}

static void blk_drain(struct virtio_blk *s)
{
    if (blk_bd(s))
        block_drain(blk_bd(s));
}

static void blk_reset(struct virtio_device *vdev)
{
    struct virtio_blk *s = blk_of(vdev);

    blk_drain(s);
    drop_held(s);
    s->wce = !(blk_bd(s) && block_write_through(blk_bd(s)));
}

static const struct virtio_device_ops blk_ops = {
    .get_config = blk_get_config,
    .set_config = blk_set_config,
    .reset = blk_reset,
    .set_status = blk_set_status,
};

static struct virtio_blk_pci *blk_pci_of(struct device *dev)
{
    return container_of(dev, struct virtio_blk_pci, base.dev);
}

static int blk_realize(struct device *dev, char **err)
{
    struct virtio_blk_pci *d = blk_pci_of(dev);
    struct virtio_blk *s = &d->blk;
    struct virtio_pci_id id = {
        .legacy_device_id = 1,
        .class_code = 0x010000,         /* mass storage, SCSI: what QEMU reports */
    };
    char path[64];
    int r;

    if (!s->drive) {
        *err = xasprintf("virtio-blk-pci: drive= is required (-drive if=none,id=ID,file=... -device virtio-blk-pci,drive=ID)");
        return -EINVAL;
    }
    if (s->num_queues == VIRTIO_BLK_AUTO_QUEUES)
        s->num_queues = MIN(MAX(machine_cfg.topo.cpus, 1), VIRTIO_QUEUE_MAX - 1);
    if (!s->num_queues || s->num_queues > VIRTIO_QUEUE_MAX - 1) {
        *err = xasprintf("virtio-blk-pci: num-queues=%u: from 1 to %u", s->num_queues, VIRTIO_QUEUE_MAX - 1);
        return -EINVAL;
    }
    if (s->queue_size < 4 || s->queue_size > VIRTQUEUE_MAX_SIZE || (s->queue_size & (s->queue_size - 1))) {
        *err = xasprintf("virtio-blk-pci: queue-size=%u: a power of two from 4 to %u", s->queue_size,
                         VIRTQUEUE_MAX_SIZE);
        return -EINVAL;
    }
    if (s->serial && strlen(s->serial) > VIRTIO_BLK_ID_BYTES)
        log_warn("virtio-blk-pci: serial '%s' is longer than %u characters: the guest sees the first %u",
                 s->serial, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_ID_BYTES);
    s->vdev.host_features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_GEOMETRY) |
                            VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) |
                            VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
    if (s->config_wce)
        s->vdev.host_features |= VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE);
    if (s->num_queues > 1)
        s->vdev.host_features |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    if (s->discard)
        s->vdev.host_features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD);
    if (s->write_zeroes)
        s->vdev.host_features |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    if (s->drive->cdrom || (s->drive->bd && block_is_read_only(s->drive->bd)) || s->drive->open.read_only)
        s->vdev.host_features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    r = blockdev_attach(s->drive, dev, NULL, s, err);
    if (r < 0)
        return r;
    r = virtio_init(&s->vdev, "virtio-blk", VIRTIO_ID_BLOCK, &blk_ops, VIRTIO_BLK_CFG_SIZE,
                    s->num_queues, s->queue_size);
    if (r < 0) {
        *err = xasprintf("virtio-blk-pci: cannot set up its queues: %s", strerror(-r));
        goto fail_attach;
    }
    for (unsigned i = 0; i < s->num_queues; i++)
        virtio_queue_set_handler(&s->vdev.vq[i], handle_queue);
    id.default_vectors = s->num_queues + 1;
    r = virtio_pci_realize(&d->base, &s->vdev, &id, err);
    if (r < 0)
        goto fail_virtio;
    run_state_add_listener(run_state_changed, s);
    s->listening = true;
    s->stop_bh = bh_new(stop_vm, s);
    if (s->iothread) {
        /* the queues' kicks and the drive's completions both arrive in the I/O thread */
        virtio_set_iothread(&s->vdev, s->iothread);
        if (blk_bd(s))
            block_set_loop(blk_bd(s), iothread_loop(s->iothread));
    }
    s->wce = !(blk_bd(s) && block_write_through(blk_bd(s)));
    if (s->bootindex >= 0) {
        int devfn = d->base.pci.devfn;

        if (PCI_FUNC(devfn))
            snprintf(path, sizeof(path), "/pci@i0cf8/scsi@%x,%x/disk@0,0", PCI_SLOT(devfn), PCI_FUNC(devfn));
        else
            snprintf(path, sizeof(path), "/pci@i0cf8/scsi@%x/disk@0,0", PCI_SLOT(devfn));
        bootdev_add(dev, s->bootindex, path);
    }
    return 0;

fail_virtio:
    virtio_cleanup(&s->vdev);
fail_attach:
    blockdev_detach(s->drive);
    return r;
}

static void blk_dev_drain(struct device *dev)
{
    blk_drain(&blk_pci_of(dev)->blk);
}

static void blk_dev_reset(struct device *dev)
{
    virtio_pci_reset(&blk_pci_of(dev)->base.vp);
}

static void blk_unrealize(struct device *dev)
{
    struct virtio_blk_pci *d = blk_pci_of(dev);
    struct virtio_blk *s = &d->blk;

    bootdev_remove(dev);
    if (s->listening)
        run_state_remove_listener(run_state_changed, s);
    virtio_reset(&s->vdev);
    /* the drive outlives the I/O thread: it goes back to the main loop */
    if (s->iothread && blk_bd(s))
        block_set_loop(blk_bd(s), event_loop_main());
    if (s->stop_bh)
        bh_free(s->stop_bh);
    virtio_pci_unrealize(&d->base.vp);
    virtio_cleanup(&s->vdev);
    blockdev_detach(s->drive);
}

/* State: the requests held for a retry travel as their queues and heads, and are read again on load. */
static int blk_pre_save(void *opaque)
{
    struct virtio_blk *s = opaque;
    uint32_t n = 0;

    for (struct vblk_req *r = s->held; r; r = r->next)
        s->held_ids[n++] = r->vq->index << 16 | r->elem.head;
    s->nheld = n;
    return 0;
}

static bool blk_held_needed(void *opaque)
{
    return ((struct virtio_blk *)opaque)->nheld > 0;
}

static int blk_held_post_load(void *opaque, int version)
{
    struct virtio_blk *s = opaque;

    (void)version;
    for (uint32_t i = 0; i < s->nheld; i++) {
        unsigned q = s->held_ids[i] >> 16, head = s->held_ids[i] & 0xffff;

        if (q >= s->vdev.nvq || head >= s->vdev.vq[q].num)
            return -EINVAL;
        /* a request is held once: the same chain twice would complete twice */
        for (uint32_t k = 0; k < i; k++)
            if (s->held_ids[k] == s->held_ids[i])
                return -EINVAL;
    }
    return 0;
}

static const struct vmstate_field blk_held_fields[] = {
    VMSTATE_U32_MAX(nheld, struct virtio_blk, VIRTIO_BLK_MAX_HELD),
    VMSTATE_U32_ARRAY(held_ids, struct virtio_blk, VIRTIO_BLK_MAX_HELD),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc blk_held_vmsd = {
    .name = "held",
    .version = 1,
    .min_version = 1,
    .fields = blk_held_fields,
    .needed = blk_held_needed,
    .post_load = blk_held_post_load,
};

static int blk_pre_load(void *opaque)
{
    struct virtio_blk *s = opaque;

    /* a stream without the subsection holds nothing */
    s->nheld = 0;
    return 0;
}

static int blk_post_load(void *opaque, int version)
{
    struct virtio_blk *s = opaque;
    unsigned per_queue[VIRTIO_QUEUE_MAX] = { 0 };

    (void)version;
    /* every request in flight is a held one (a drain came before the save) */
    for (uint32_t i = 0; i < s->nheld; i++)
        per_queue[s->held_ids[i] >> 16]++;
    for (unsigned q = 0; q < s->vdev.nvq; q++)
        if (s->vdev.vq[q].inuse != per_queue[q])
            return -EINVAL;
    return 0;
}

static const struct vmstate_desc *const blk_subsections[] = { &blk_held_vmsd, NULL };

static const struct vmstate_field blk_fields[] = {
    VMSTATE_STRUCT(vdev, struct virtio_blk, virtio_vmsd, struct virtio_device),
    VMSTATE_BOOL(wce, struct virtio_blk),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc blk_vmsd = {
    .name = "virtio-blk",
    .version = 1,
    .min_version = 1,
    .fields = blk_fields,
    .subsections = blk_subsections,
    .pre_save = blk_pre_save,
    .pre_load = blk_pre_load,
    .post_load = blk_post_load,
};

static int blk_pci_post_load(void *opaque, int version)
{
    struct virtio_blk_pci *d = opaque;

    (void)version;
    return virtio_pci_check_loaded(&d->base.vp);
}

static const struct vmstate_field blk_pci_fields[] = {
    VMSTATE_STRUCT(base.pci, struct virtio_blk_pci, pci_device_vmsd, struct pci_device),
    VMSTATE_STRUCT(base.vp, struct virtio_blk_pci, virtio_pci_vmsd, struct virtio_pci),
    VMSTATE_STRUCT(blk, struct virtio_blk_pci, blk_vmsd, struct virtio_blk),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc blk_pci_vmsd = {
    .name = "virtio-blk-pci",
    .version = 1,
    .min_version = 1,
    .fields = blk_pci_fields,
    .post_load = blk_pci_post_load,
};

/* The requests this process held are the stream's now: read them again from the rings. */
static void reload_held(void *opaque)
{
    struct virtio_blk *s = opaque;
    uint32_t n = s->nheld;

    drop_held(s);
    for (uint32_t i = n; i-- > 0;) {
        struct virtqueue *vq = &s->vdev.vq[s->held_ids[i] >> 16];
        struct vblk_req *r = virtqueue_pop_head(vq, s->held_ids[i] & 0xffff, sizeof(*r));

        if (!r)
            continue;
        if (!req_parse(s, vq, r)) {
            req_free(r);
            continue;
        }
        r->next = s->held;
        s->held = r;
        s->nheld++;
    }
}

static void blk_state_loaded(struct device *dev)
{
    struct virtio_blk_pci *d = blk_pci_of(dev);

    virtio_run_in_queue_thread(&d->blk.vdev, reload_held, &d->blk);
    virtio_pci_state_loaded(&d->base.vp);
}

static const struct prop_desc blk_props[] = {
    DEFINE_PROP("drive", struct virtio_blk_pci, blk.drive, PROP_DRIVE, NULL,
                "the drive (-drive if=none,id=ID or -blockdev node-name=ID)"),
    DEFINE_PROP("serial", struct virtio_blk_pci, blk.serial, PROP_STRING, NULL,
                "what GET_ID returns (20 characters)"),
    DEFINE_PROP("bootindex", struct virtio_blk_pci, blk.bootindex, PROP_BOOTINDEX, NULL,
                "the firmware's boot order"),
    DEFINE_PROP("num-queues", struct virtio_blk_pci, blk.num_queues, PROP_U16, "65535",
                "request queues (65535: one per vCPU, as QEMU)"),
    DEFINE_PROP("queue-size", struct virtio_blk_pci, blk.queue_size, PROP_U16, "256",
                "entries per queue (a power of two)"),
    DEFINE_PROP("config-wce", struct virtio_blk_pci, blk.config_wce, PROP_BOOL, "on",
                "the driver may switch the write cache"),
    DEFINE_PROP("discard", struct virtio_blk_pci, blk.discard, PROP_BOOL, "on",
                "offer DISCARD (what it does is the drive's discard=)"),
    DEFINE_PROP("write-zeroes", struct virtio_blk_pci, blk.write_zeroes, PROP_BOOL, "on",
                "offer WRITE_ZEROES"),
    DEFINE_PROP("request-merging", struct virtio_blk_pci, blk.request_merging, PROP_BOOL, "on",
                "send reads (or writes) that follow each other on the disk as one request"),
    DEFINE_PROP("iothread", struct virtio_blk_pci, blk.iothread, PROP_IOTHREAD, NULL,
                "serve the queues and complete the drive's requests in this I/O thread (-object iothread,id=)"),
    VIRTIO_PCI_PROPS(struct virtio_blk_pci, base.vp),
    DEFINE_PROP_END,
};

static struct device_type virtio_blk_pci_type = {
    .name = "virtio-blk-pci",
    .desc = "virtio block device",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct virtio_blk_pci),
    .props = blk_props,
    .user_creatable = true,
    .realize = blk_realize,
    .reset = blk_dev_reset,
    .drain = blk_dev_drain,
    .unrealize = blk_unrealize,
    .vmsd = &blk_pci_vmsd,
    .state_loaded = blk_state_loaded,
};
DEVICE_TYPE_REGISTER(virtio_blk_pci_type);
