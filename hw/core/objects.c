/* objects.c: the -object types (iothread, rng-random, rng-builtin, filter-dump): device types flagged .object over util/iothread, rng/ and net/ */
#define LOG_PREFIX "object: "
#include "hw/core/device.h"
#include "net/dump.h"
#include "rng/rng.h"
#include "util/iothread.h"

/* ---- iothread ---- */

struct iothread_object {
    struct device dev;
    uint64_t poll_max_ns, poll_grow, poll_shrink;
    struct iothread *t;
};

static const struct prop_desc iothread_props[] = {
    /* QEMU's default polls for 32 us; skiff's threads sleep in epoll_wait until there is work */
    DEFINE_PROP("poll-max-ns", struct iothread_object, poll_max_ns, PROP_U64, "0",
                "how long to busy-poll before sleeping: 0 only, skiff's I/O threads never poll"),
    /* with polling off they tune nothing, in QEMU as here */
    DEFINE_PROP("poll-grow", struct iothread_object, poll_grow, PROP_U64, "0",
                "how polling time grows: accepted, and nothing to tune without polling"),
    DEFINE_PROP("poll-shrink", struct iothread_object, poll_shrink, PROP_U64, "0",
                "how polling time shrinks: accepted, and nothing to tune without polling"),
    DEFINE_PROP_END,
};

static int iothread_object_realize(struct device *dev, char **err)
{
    struct iothread_object *o = (struct iothread_object *)dev;

    if (o->poll_max_ns) {
        *err = xasprintf("iothread '%s': poll-max-ns=%" PRIu64 ": skiff's I/O threads sleep until there is "
                         "work and never busy-poll; give poll-max-ns=0 or leave it out", dev->id, o->poll_max_ns);
        return -EINVAL;
    }
    return iothread_new(&o->t, dev->id, err);
}

/* Every device that used it has been drained and unrealized before (objects go last). */
static void iothread_object_unrealize(struct device *dev)
{
    iothread_free(((struct iothread_object *)dev)->t);
}

static struct device_type iothread_object_type = {
    .name = "iothread",
    .desc = "an I/O thread: its own event loop for the devices that name it (iothread=ID)",
    .bus = BUS_SYSTEM,
    .instance_size = sizeof(struct iothread_object),
    .props = iothread_props,
    .object = true,
    .realize = iothread_object_realize,
    .unrealize = iothread_object_unrealize,
};
DEVICE_TYPE_REGISTER(iothread_object_type)

/* ---- rng-random, rng-builtin ---- */

struct rng_object {
    struct device dev;
    char *filename;
    struct rng_backend *r;
};

static const struct prop_desc rng_random_props[] = {
    DEFINE_PROP("filename", struct rng_object, filename, PROP_STRING, "/dev/urandom",
                "the file entropy is read from, opened at start-up"),
    DEFINE_PROP_END,
};

static int rng_random_realize(struct device *dev, char **err)
{
    struct rng_object *o = (struct rng_object *)dev;

    return rng_random_new(&o->r, dev->id, o->filename, err);
}

static int rng_builtin_realize(struct device *dev, char **err)
{
    return rng_builtin_new(&((struct rng_object *)dev)->r, dev->id, err);
}

static void rng_object_unrealize(struct device *dev)
{
    rng_free(((struct rng_object *)dev)->r);
}

static struct device_type rng_random_type = {
    .name = "rng-random",
    .desc = "entropy read from a host file (filename=, default /dev/urandom), for virtio-rng (rng=ID)",
    .bus = BUS_SYSTEM,
    .instance_size = sizeof(struct rng_object),
    .props = rng_random_props,
    .object = true,
    .realize = rng_random_realize,
    .unrealize = rng_object_unrealize,
};
DEVICE_TYPE_REGISTER(rng_random_type)

static struct device_type rng_builtin_type = {
    .name = "rng-builtin",
    .desc = "entropy from the host kernel's getrandom(), for virtio-rng (rng=ID)",
    .bus = BUS_SYSTEM,
    .instance_size = sizeof(struct rng_object),
    .object = true,
    .realize = rng_builtin_realize,
    .unrealize = rng_object_unrealize,
};
DEVICE_TYPE_REGISTER(rng_builtin_type)

/* ---- filter-dump ---- */

struct filter_dump_object {
    struct device dev;
    char *netdev, *file, *queue;
    uint32_t maxlen;
    bool status;
    struct net_dump *d;
};

static const struct prop_desc filter_dump_props[] = {
    DEFINE_PROP("netdev", struct filter_dump_object, netdev, PROP_STRING, NULL,
                "the -netdev whose frames are written (its id)"),
    DEFINE_PROP("file", struct filter_dump_object, file, PROP_STRING, NULL, "the pcap file, made anew"),
    DEFINE_PROP("maxlen", struct filter_dump_object, maxlen, PROP_U32, "65536",
                "bytes kept of each frame"),
    DEFINE_PROP("queue", struct filter_dump_object, queue, PROP_STRING, "all",
                "all, rx (the frames the netdev receives) or tx (those it sends)"),
    DEFINE_PROP("status", struct filter_dump_object, status, PROP_BOOL, "on", "off: write nothing"),
    DEFINE_PROP_END,
};

static int filter_dump_realize(struct device *dev, char **err)
{
    struct filter_dump_object *o = (struct filter_dump_object *)dev;

    return net_dump_new(&o->d, dev->id, o->netdev, o->file, o->maxlen, o->queue, o->status, err);
}

static void filter_dump_unrealize(struct device *dev)
{
    net_dump_free(((struct filter_dump_object *)dev)->d);
}

/* made after the netdevs it names, as QEMU makes its filters after them */
static struct device_type filter_dump_type = {
    .name = "filter-dump",
    .desc = "the frames a netdev receives and sends, into a pcap file (netdev=ID,file=PATH)",
    .bus = BUS_SYSTEM,
    .instance_size = sizeof(struct filter_dump_object),
    .props = filter_dump_props,
    .object = true,
    .realize = filter_dump_realize,
    .unrealize = filter_dump_unrealize,
};
DEVICE_TYPE_REGISTER(filter_dump_type)
