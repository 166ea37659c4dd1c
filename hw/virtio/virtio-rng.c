/* virtio-rng.c: the entropy device (virtio 1.2 section 5.4) over an rng backend (-object rng-random or rng-builtin), with QEMU's max-bytes/period rate limit, and the virtio-rng-pci device type */
#define LOG_PREFIX "virtio-rng: "
#include "hw/virtio/virtio-pci.h"
#include "migration/vmstate.h"
#include "rng/rng.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/main-loop.h" // timers

#define RNG_QUEUE_SIZE  8

struct virtio_rng {
    struct virtio_device vdev;
    /* properties */
    struct rng_backend *rng;
    uint64_t max_bytes;             /* at most this many bytes ... */
    uint32_t period_ms;             /* ... per this many milliseconds (QEMU's defaults: no limit, 65536) */
    /* set up at realize */
    struct rng_backend *own_rng;    /* the rng-builtin made when rng= was not given, as QEMU */
    struct timer *period_timer;
    uint8_t buf[RNG_REQUEST_MAX];
    /* state */
    struct virtq_elem *pending;     /* the request the backend is filling */
    bool pending_held;              /* for the state stream: the pending chain's head */
    uint16_t pending_head;
    uint64_t quota;                 /* bytes left in this period */
};

struct virtio_rng_pci {
    struct virtio_pci_dev base;
    struct virtio_rng r;
};

static struct virtio_rng *rng_of(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_rng, vdev);
}

static void rng_serve(struct virtio_rng *s);

static void rng_got(void *opaque, int ret)
{
    struct virtio_rng *s = opaque;
    struct virtqueue *vq = &s->vdev.vq[0];
    struct virtq_elem *e = s->pending;
    size_t n = ret > 0 ? (size_t)ret : 0;

    s->pending = NULL;
    if (!e)
        return;
    if (ret < 0)
        log_guest_error("the entropy source failed: %s", strerror(-ret));
    iov_from_buf(e->in_sg, e->in_num, 0, s->buf, n);
    virtqueue_push(vq, e, n);
    virtio_notify(&s->vdev, vq);
    free(e);
    s->quota -= MIN(s->quota, n);
    rng_serve(s);
}

/* One request at a time, each as large as its buffers, the backend and the quota allow. */
static void rng_serve(struct virtio_rng *s)
{
    struct virtqueue *vq = &s->vdev.vq[0];
    struct virtq_elem *e;
    size_t len;

    if (s->pending)
        return;
    if (!s->quota) {
        /* the period's bytes are spent: the timer that starts the next one serves the rest */
        if (!timer_pending(s->period_timer))
            timer_mod(s->period_timer, clock_get_ns(CLK_VIRTUAL) + (int64_t)s->period_ms * 1000000);
        return;
    }
    e = virtqueue_pop(vq, sizeof(*e));
    if (!e)
        return;
    len = MIN(MIN(e->in_len, sizeof(s->buf)), s->quota);
    if (!len) {
        /* nothing to write into: done with nothing */
        virtqueue_push(vq, e, 0);
        virtio_notify(&s->vdev, vq);
        free(e);
        rng_serve(s);
        return;
    }
    s->pending = e;
    rng_request(s->rng, s->buf, len, rng_got, s);
}

static void rng_kicked(struct virtio_device *vdev, struct virtqueue *vq)
{
    (void)vq;
    rng_serve(rng_of(vdev));
}

static void rng_new_period(void *opaque)
{
    struct virtio_rng *s = opaque;

    s->quota = s->max_bytes;
    rng_serve(s);
}

static void rng_stop(struct virtio_rng *s)
{
    rng_cancel(s->rng, s);
    free(s->pending);
    s->pending = NULL;
}

static void rng_reset(struct virtio_device *vdev)
{
    struct virtio_rng *s = rng_of(vdev);

    rng_stop(s);
    timer_del(s->period_timer);
    s->quota = s->max_bytes;
}

static const struct virtio_device_ops rng_ops = {
    .reset = rng_reset,
};

static struct virtio_rng_pci *rng_pci_of(struct device *dev)
{
    return container_of(dev, struct virtio_rng_pci, base.dev);
}

static int rng_realize(struct device *dev, char **err)
{
    struct virtio_rng_pci *d = rng_pci_of(dev);
    struct virtio_rng *s = &d->r;
    struct virtio_pci_id id = {
        .legacy_device_id = 5,
        .class_code = 0x00ff00,         /* unclassified, as QEMU's */
        .default_vectors = 2,
    };
    int r;

    if (!s->period_ms || !s->max_bytes) {
        *err = xstrdup("virtio-rng-pci: period and max-bytes must be more than 0");
        return -EINVAL;
    }
    if (!s->rng) {
        char name[64];

        snprintf(name, sizeof(name), "virtio-rng-pci%u.builtin", dev->instance);
        r = rng_builtin_new(&s->own_rng, name, err);
        if (r < 0)
            return r;
        s->rng = s->own_rng;
    }
    s->period_timer = timer_new(CLK_VIRTUAL, rng_new_period, s);
    s->quota = s->max_bytes;
    r = virtio_init(&s->vdev, "virtio-rng", VIRTIO_ID_RNG, &rng_ops, 0, 1, RNG_QUEUE_SIZE);
    if (r < 0) {
        *err = xasprintf("virtio-rng-pci: cannot set up its queue: %s", strerror(-r));
        timer_free(s->period_timer);
        goto fail;
    }
    virtio_queue_set_handler(&s->vdev.vq[0], rng_kicked);
    r = virtio_pci_realize(&d->base, &s->vdev, &id, err);
    if (r < 0)
        goto fail_virtio;
    return 0;

fail_virtio:
    timer_free(s->period_timer);
    virtio_cleanup(&s->vdev);
fail:
    if (s->own_rng)
        rng_free(s->own_rng);
    s->own_rng = NULL;
    return r;
}

static void rng_dev_reset(struct device *dev)
{
    virtio_pci_reset(&rng_pci_of(dev)->base.vp);
}

static void rng_unrealize(struct device *dev)
{
    struct virtio_rng_pci *d = rng_pci_of(dev);
    struct virtio_rng *s = &d->r;

    virtio_reset(&s->vdev);
    timer_free(s->period_timer);
    virtio_pci_unrealize(&d->base.vp);
    virtio_cleanup(&s->vdev);
    if (s->own_rng)
        rng_free(s->own_rng);
}

/* State: the request the backend was filling travels as its chain's head, and is served again. */
static int rng_pre_save(void *opaque)
{
    struct virtio_rng *s = opaque;

    s->pending_held = s->pending != NULL;
    s->pending_head = s->pending ? s->pending->head : 0;
    return 0;
}

static int rng_post_load(void *opaque, int version)
{
    struct virtio_rng *s = opaque;
    const struct virtqueue *vq = &s->vdev.vq[0];

    (void)version;
    if (vq->inuse != (s->pending_held ? 1u : 0u) || (s->pending_held && s->pending_head >= vq->num))
        return -EINVAL;
    return 0;
}

static const struct vmstate_field rng_fields[] = {
    VMSTATE_STRUCT(vdev, struct virtio_rng, virtio_vmsd, struct virtio_device),
    VMSTATE_BOOL(pending_held, struct virtio_rng),
    VMSTATE_U16(pending_head, struct virtio_rng),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc rng_vmsd = {
    .name = "virtio-rng",
    .version = 1,
    .min_version = 1,
    .fields = rng_fields,
    .pre_save = rng_pre_save,
    .post_load = rng_post_load,
};

static int rng_pci_post_load(void *opaque, int version)
{
    (void)version;
    return virtio_pci_check_loaded(&((struct virtio_rng_pci *)opaque)->base.vp);
}

static const struct vmstate_field rng_pci_fields[] = {
    VMSTATE_STRUCT(base.pci, struct virtio_rng_pci, pci_device_vmsd, struct pci_device),
    VMSTATE_STRUCT(base.vp, struct virtio_rng_pci, virtio_pci_vmsd, struct virtio_pci),
    VMSTATE_STRUCT(r, struct virtio_rng_pci, rng_vmsd, struct virtio_rng),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc rng_pci_vmsd = {
    .name = "virtio-rng-pci",
    .version = 1,
    .min_version = 1,
    .fields = rng_pci_fields,
    .post_load = rng_pci_post_load,
};

static void rng_state_loaded(struct device *dev)
{
    struct virtio_rng_pci *d = rng_pci_of(dev);
    struct virtio_rng *s = &d->r;

    /* this process's request goes; the stream's is filled anew */
    rng_stop(s);
    if (s->pending_held) {
        s->pending = virtqueue_pop_head(&s->vdev.vq[0], s->pending_head, sizeof(*s->pending));
        if (s->pending) {
            size_t len = MIN(MIN(s->pending->in_len, sizeof(s->buf)), MAX(s->quota, 1));

            rng_request(s->rng, s->buf, len, rng_got, s);
        }
    }
    virtio_pci_state_loaded(&d->base.vp);
}

static const struct prop_desc rng_props[] = {
    DEFINE_PROP("rng", struct virtio_rng_pci, r.rng, PROP_RNG, NULL,
                "the entropy source (-object rng-random|rng-builtin,id=ID); without it, the kernel's getrandom()"),
    DEFINE_PROP("max-bytes", struct virtio_rng_pci, r.max_bytes, PROP_U64, "9223372036854775807",
                "give the guest at most this many bytes per period"),
    DEFINE_PROP("period", struct virtio_rng_pci, r.period_ms, PROP_U32, "65536",
                "the rate limit's period, in milliseconds"),
    VIRTIO_PCI_PROPS(struct virtio_rng_pci, base.vp),
    DEFINE_PROP_END,
};

static struct device_type virtio_rng_pci_type = {
    .name = "virtio-rng-pci",
    .desc = "virtio entropy device",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct virtio_rng_pci),
    .props = rng_props,
    .user_creatable = true,
    .realize = rng_realize,
    .reset = rng_dev_reset,
    .unrealize = rng_unrealize,
    .vmsd = &rng_pci_vmsd,
    .state_loaded = rng_state_loaded,
};
DEVICE_TYPE_REGISTER(virtio_rng_pci_type);
