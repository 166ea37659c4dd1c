/* virtio-balloon.c: the memory balloon (virtio 1.2 section 5.5): pages the guest inflates go back to the host, the statistics queue, deflate-on-oom, and the virtio-balloon-pci device type */
#define LOG_PREFIX "virtio-balloon: "
#include "hw/virtio/virtio-balloon.h"
#include "hw/core/guest-mem.h"
#include "hw/core/machine.h" // machine_ram
#include "hw/virtio/virtio-pci.h"
#include "migration/vmstate.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/main-loop.h" // timers

#include <fcntl.h>
#include <sys/mman.h>

#define BALLOON_PAGE        (1ULL << VIRTIO_BALLOON_PFN_SHIFT)
#define BALLOON_QUEUE_SIZE  128
enum { BALLOON_INFLATE, BALLOON_DEFLATE, BALLOON_STATS, BALLOON_NVQ };

struct virtio_balloon {
    struct virtio_device vdev;
    /* properties */
    bool deflate_on_oom;
    uint32_t stats_interval;        /* guest-stats-polling-interval, seconds (0: off) */
    /* state */
    uint32_t num_pages;             /* the host's target: pages the guest should give */
    uint32_t actual;                /* pages the guest says it gave */
    struct virtq_elem *stats_elem;  /* the driver's statistics buffer, held until the next poll */
    bool stats_held;                /* for the state stream: stats_elem's chain starts at stats_head */
    uint16_t stats_head;
    bool has_stats;
    uint64_t stats[VIRTIO_BALLOON_S_NR];
    int64_t stats_time;             /* CLK_HOST, when they came */
    struct timer *stats_timer;
    struct ratelimit outside_rl;
};

struct virtio_balloon_pci {
    struct virtio_pci_dev base;
    struct virtio_balloon b;
};

static struct virtio_balloon *the_balloon;

static struct virtio_balloon *balloon_of(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_balloon, vdev);
}

/*
 * Give a page the guest put in its balloon back to the host. Only main RAM can go: a frame
 * number elsewhere (video memory, a ROM, a hole, past the end) is refused with a log line.
 */
static void discard_page(struct virtio_balloon *s, uint64_t gpa)
{
    uint64_t off;
    struct ram_region *r = gmem_region_at(gpa, &off);

    if (!r || r != machine_ram.region || off + BALLOON_PAGE > r->size) {
        if (ratelimit_ok(&s->outside_rl))
            log_warn("the guest put page 0x%" PRIx64 ", which is not in its RAM, in the balloon: ignored", gpa);
        return;
    }
    /* shared memory (memfd) gives pages back only by punching them out of the file */
    if (r->fd >= 0)
        fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, BALLOON_PAGE);
    else
        madvise(r->hva + off, BALLOON_PAGE, MADV_DONTNEED);
}

/* Inflate and deflate (5.5.6.1): each buffer is an array of le32 page frame numbers. */
static void handle_pages(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_balloon *s = balloon_of(vdev);
    bool inflate = vq->index == BALLOON_INFLATE;
    struct virtq_elem *e;

    while ((e = virtqueue_pop(vq, sizeof(*e)))) {
        for (size_t off = 0; off + 4 <= e->out_len; off += 4) {
            uint8_t raw[4];

            iov_to_buf(e->out_sg, e->out_num, off, raw, sizeof(raw));
            /* a deflated page is the guest's again: it refaults as zeros, nothing to do */
            if (inflate)
                discard_page(s, (uint64_t)ldl_le(raw) << VIRTIO_BALLOON_PFN_SHIFT);
        }
        virtqueue_push(vq, e, 0);
        virtio_notify(vdev, vq);
        free(e);
    }
}

static void stats_timer_arm(struct virtio_balloon *s)
{
    if (s->stats_interval && s->stats_timer)
        timer_mod(s->stats_timer, clock_get_ns(CLK_VIRTUAL) + (int64_t)s->stats_interval * 1000000000);
}

/* Statistics (5.5.6.3): the driver's buffer comes filled; giving it back asks for fresh ones. */
static void handle_stats(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_balloon *s = balloon_of(vdev);
    struct virtq_elem *e = virtqueue_pop(vq, sizeof(*e));

    if (!e)
        return;
    if (s->stats_elem) {
        virtio_error(vdev, "a second statistics buffer while the device holds one");
        free(e);
        return;
    }
    for (size_t off = 0; off + VIRTIO_BALLOON_STAT_SIZE <= e->out_len; off += VIRTIO_BALLOON_STAT_SIZE) {
        uint8_t raw[VIRTIO_BALLOON_STAT_SIZE];
        uint16_t tag;

        iov_to_buf(e->out_sg, e->out_num, off, raw, sizeof(raw));
        tag = lduw_le(raw);
        if (tag < VIRTIO_BALLOON_S_NR)
            s->stats[tag] = ldq_le(raw + 2);
    }
    s->has_stats = true;
    s->stats_time = clock_get_ns(CLK_HOST);
    s->stats_elem = e;
    stats_timer_arm(s);
}

static void stats_poll(void *opaque)
{
    struct virtio_balloon *s = opaque;
    struct virtqueue *vq = &s->vdev.vq[BALLOON_STATS];

    if (!s->stats_elem || !virtio_has_feature(&s->vdev, VIRTIO_BALLOON_F_STATS_VQ))
        return;
    virtqueue_push(vq, s->stats_elem, 0);
    virtio_notify(&s->vdev, vq);
    free(s->stats_elem);
    s->stats_elem = NULL;
}

static void balloon_get_config(struct virtio_device *vdev, uint8_t *c)
{
    struct virtio_balloon *s = balloon_of(vdev);

    stl_le(c + VIRTIO_BALLOON_CFG_NUM_PAGES, s->num_pages);
    stl_le(c + VIRTIO_BALLOON_CFG_ACTUAL, s->actual);
}

static void balloon_set_config(struct virtio_device *vdev, const uint8_t *c)
{
    struct virtio_balloon *s = balloon_of(vdev);
    uint32_t actual = ldl_le(c + VIRTIO_BALLOON_CFG_ACTUAL);

    /* what the driver says it gave is its word, but never more than all of RAM */
    s->actual = MIN((uint64_t)actual, machine_ram.size >> VIRTIO_BALLOON_PFN_SHIFT);
}

static void drop_stats(struct virtio_balloon *s)
{
    free(s->stats_elem);
    s->stats_elem = NULL;
    if (s->stats_timer)
        timer_del(s->stats_timer);
}

static void balloon_reset(struct virtio_device *vdev)
{
    struct virtio_balloon *s = balloon_of(vdev);

    /* the target stays (as QEMU's); what the guest gave is forgotten with its driver */
    drop_stats(s);
    s->actual = 0;
}

static const struct virtio_device_ops balloon_ops = {
    .get_config = balloon_get_config,
    .set_config = balloon_set_config,
    .reset = balloon_reset,
};

int balloon_set_target(uint64_t target, char **err)
{
    struct virtio_balloon *s = the_balloon;

    if (!s) {
        *err = xstrdup("No balloon device has been activated");
        return -ENODEV;
    }
    if (!target) {
        *err = xstrdup("the target must be more than 0");
        return -EINVAL;
    }
    target = MIN(target, machine_ram.size);
    s->num_pages = (machine_ram.size - target) >> VIRTIO_BALLOON_PFN_SHIFT;
    virtio_notify_config(&s->vdev);
    return 0;
}

int balloon_query(struct balloon_info *info, char **err)
{
    struct virtio_balloon *s = the_balloon;

    if (!s) {
        *err = xstrdup("No balloon device has been activated");
        return -ENODEV;
    }
    memset(info, 0, sizeof(*info));
    info->actual = machine_ram.size - ((uint64_t)s->actual << VIRTIO_BALLOON_PFN_SHIFT);
    info->target = machine_ram.size - ((uint64_t)s->num_pages << VIRTIO_BALLOON_PFN_SHIFT);
    info->has_stats = s->has_stats;
    info->stats_age_ns = s->has_stats ? clock_get_ns(CLK_HOST) - s->stats_time : 0;
    memcpy(info->stats, s->stats, sizeof(info->stats));
    return 0;
}

static struct virtio_balloon_pci *balloon_pci_of(struct device *dev)
{
    return container_of(dev, struct virtio_balloon_pci, base.dev);
}

static int balloon_realize(struct device *dev, char **err)
{
    struct virtio_balloon_pci *d = balloon_pci_of(dev);
    struct virtio_balloon *s = &d->b;
    struct virtio_pci_id id = {
        .legacy_device_id = 2,
        .class_code = 0x00ff00,         /* unclassified, as QEMU's */
        .default_vectors = BALLOON_NVQ + 1,
    };
    int r;

    if (the_balloon) {
        *err = xstrdup("virtio-balloon-pci: there is one already (the monitor's balloon command has one balloon)");
        return -EBUSY;
    }
    s->vdev.host_features = VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ);
    if (s->deflate_on_oom)
        s->vdev.host_features |= VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
    r = virtio_init(&s->vdev, "virtio-balloon", VIRTIO_ID_BALLOON, &balloon_ops, VIRTIO_BALLOON_CFG_SIZE,
                    BALLOON_NVQ, BALLOON_QUEUE_SIZE);
    if (r < 0) {
        *err = xasprintf("virtio-balloon-pci: cannot set up its queues: %s", strerror(-r));
        return r;
    }
    virtio_queue_set_handler(&s->vdev.vq[BALLOON_INFLATE], handle_pages);
    virtio_queue_set_handler(&s->vdev.vq[BALLOON_DEFLATE], handle_pages);
    virtio_queue_set_handler(&s->vdev.vq[BALLOON_STATS], handle_stats);
    r = virtio_pci_realize(&d->base, &s->vdev, &id, err);
    if (r < 0) {
        virtio_cleanup(&s->vdev);
        return r;
    }
    s->stats_timer = timer_new(CLK_VIRTUAL, stats_poll, s);
    the_balloon = s;
    return 0;
}

static void balloon_dev_reset(struct device *dev)
{
    virtio_pci_reset(&balloon_pci_of(dev)->base.vp);
}

static void balloon_unrealize(struct device *dev)
{
    struct virtio_balloon_pci *d = balloon_pci_of(dev);
    struct virtio_balloon *s = &d->b;

    virtio_reset(&s->vdev);
    timer_free(s->stats_timer);
    s->stats_timer = NULL;
    virtio_pci_unrealize(&d->base.vp);
    virtio_cleanup(&s->vdev);
    the_balloon = NULL;
}

/* State: the statistics buffer the device holds travels as its chain's head, read again on load. */
static int balloon_pre_save(void *opaque)
{
    struct virtio_balloon *s = opaque;

    s->stats_held = s->stats_elem != NULL;
    s->stats_head = s->stats_elem ? s->stats_elem->head : 0;
    return 0;
}

static int balloon_post_load(void *opaque, int version)
{
    struct virtio_balloon *s = opaque;
    const struct virtqueue *svq = &s->vdev.vq[BALLOON_STATS];

    (void)version;
    if (s->vdev.vq[BALLOON_INFLATE].inuse || s->vdev.vq[BALLOON_DEFLATE].inuse ||
        svq->inuse != (s->stats_held ? 1u : 0u) || (s->stats_held && s->stats_head >= svq->num))
        return -EINVAL;
    if (s->actual > machine_ram.size >> VIRTIO_BALLOON_PFN_SHIFT ||
        s->num_pages > machine_ram.size >> VIRTIO_BALLOON_PFN_SHIFT)
        return -EINVAL;
    return 0;
}

static const struct vmstate_field balloon_fields[] = {
    VMSTATE_STRUCT(vdev, struct virtio_balloon, virtio_vmsd, struct virtio_device),
    VMSTATE_U32(num_pages, struct virtio_balloon),
    VMSTATE_U32(actual, struct virtio_balloon),
    VMSTATE_BOOL(stats_held, struct virtio_balloon),
    VMSTATE_U16(stats_head, struct virtio_balloon),
    VMSTATE_BOOL(has_stats, struct virtio_balloon),
    VMSTATE_U64_ARRAY(stats, struct virtio_balloon, VIRTIO_BALLOON_S_NR),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc balloon_vmsd = {
    .name = "virtio-balloon",
    .version = 1,
    .min_version = 1,
    .fields = balloon_fields,
    .pre_save = balloon_pre_save,
    .post_load = balloon_post_load,
};

static int balloon_pci_post_load(void *opaque, int version)
{
    (void)version;
    return virtio_pci_check_loaded(&((struct virtio_balloon_pci *)opaque)->base.vp);
}

static const struct vmstate_field balloon_pci_fields[] = {
    VMSTATE_STRUCT(base.pci, struct virtio_balloon_pci, pci_device_vmsd, struct pci_device),
    VMSTATE_STRUCT(base.vp, struct virtio_balloon_pci, virtio_pci_vmsd, struct virtio_pci),
    VMSTATE_STRUCT(b, struct virtio_balloon_pci, balloon_vmsd, struct virtio_balloon),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc balloon_pci_vmsd = {
    .name = "virtio-balloon-pci",
    .version = 1,
    .min_version = 1,
    .fields = balloon_pci_fields,
    .post_load = balloon_pci_post_load,
};

static void balloon_state_loaded(struct device *dev)
{
    struct virtio_balloon_pci *d = balloon_pci_of(dev);
    struct virtio_balloon *s = &d->b;

    /* the buffer this process held is the stream's now */
    drop_stats(s);
    if (s->stats_held) {
        s->stats_elem = virtqueue_pop_head(&s->vdev.vq[BALLOON_STATS], s->stats_head, sizeof(*s->stats_elem));
        stats_timer_arm(s);
    }
    virtio_pci_state_loaded(&d->base.vp);
}

static const struct prop_desc balloon_props[] = {
    DEFINE_PROP("deflate-on-oom", struct virtio_balloon_pci, b.deflate_on_oom, PROP_BOOL, "off",
                "the guest may take pages back from the balloon when it runs out of memory"),
    DEFINE_PROP("guest-stats-polling-interval", struct virtio_balloon_pci, b.stats_interval, PROP_U32, "0",
                "ask the guest for its memory statistics every N seconds (info balloon shows them)"),
    VIRTIO_PCI_PROPS(struct virtio_balloon_pci, base.vp),
    DEFINE_PROP_END,
};

static struct device_type virtio_balloon_pci_type = {
    .name = "virtio-balloon-pci",
    .desc = "virtio memory balloon",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct virtio_balloon_pci),
    .props = balloon_props,
    .user_creatable = true,
    .realize = balloon_realize,
    .reset = balloon_dev_reset,
    .unrealize = balloon_unrealize,
    .vmsd = &balloon_pci_vmsd,
    .state_loaded = balloon_state_loaded,
};
DEVICE_TYPE_REGISTER(virtio_balloon_pci_type);
