/* debugexit.c: isa-debug-exit, QEMU's test device: a write ends skiff with status (value << 1) | 1 */
#define LOG_PREFIX "isa-debug-exit: "
#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "hw/core/machine.h"
#include "util/log.h"

struct debug_exit {
    struct device dev;
    uint32_t iobase;
    uint32_t iosize;
    struct io_region io;
};

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    /* the same status as QEMU, so that test runners written for it work unchanged */
    machine_request_exit((int)(((val << 1) | 1) & 0xff));
}

static const struct io_region_ops debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
    .valid = { .unaligned = true },
};

static int debug_exit_realize(struct device *dev, char **err)
{
    struct debug_exit *d = container_of(dev, struct debug_exit, dev);

    if (!d->iosize || d->iosize > 8 || d->iobase + d->iosize > 0x10000) {
        *err = xasprintf("isa-debug-exit: iobase 0x%x, iosize %u do not fit the port space",
                         d->iobase, d->iosize);
        return -EINVAL;
    }
    return io_region_add(&d->io, IO_SPACE_PIO, "isa-debug-exit", d->iobase, d->iosize,
                         &debug_exit_ops, d);
}

static void debug_exit_unrealize(struct device *dev)
{
    io_region_unmap(&container_of(dev, struct debug_exit, dev)->io);
}

static const struct prop_desc debug_exit_props[] = {
    DEFINE_PROP("iobase", struct debug_exit, iobase, PROP_U32, "0x501", "I/O port"),
    DEFINE_PROP("iosize", struct debug_exit, iosize, PROP_U32, "2", "width of the port window"),
    DEFINE_PROP_END,
};

static struct device_type debug_exit_type = {
    .name = "isa-debug-exit",
    .desc = "exit skiff with a status the guest writes",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct debug_exit),
    .props = debug_exit_props,
    .user_creatable = true,
    .realize = debug_exit_realize,
    .unrealize = debug_exit_unrealize,
};
DEVICE_TYPE_REGISTER(debug_exit_type)
