/* debugcon.c: isa-debugcon, the one-port console firmware writes its log to (SeaBIOS uses 0x402) */
#define LOG_PREFIX "isa-debugcon: "
#include "chardev/chardev.h"
#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "util/log.h"

struct debugcon {
    struct device dev;
    uint32_t iobase;
    uint32_t readback;
    struct chardev *chr;
    struct io_region io;
};

static uint64_t debugcon_read(void *opaque, uint64_t off, unsigned size)
{
    /* Bochs and QEMU read back 0xe9 so that firmware can detect the port */
    return ((struct debugcon *)opaque)->readback;
}

static void debugcon_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct debugcon *d = opaque;
    uint8_t ch = val;

    chardev_write(d->chr, &ch, 1);
}

static const struct io_region_ops debugcon_ops = {
    .read = debugcon_read,
    .write = debugcon_write,
    .impl = { .min = 1, .max = 1 },
};

static int debugcon_realize(struct device *dev, char **err)
{
    struct debugcon *d = container_of(dev, struct debugcon, dev);

    if (d->iobase > 0xffff) {
        *err = xasprintf("isa-debugcon: iobase 0x%x is outside the port space", d->iobase);
        return -EINVAL;
    }
    if (!d->chr) {
        *err = xstrdup("isa-debugcon needs chardev=ID");
        return -EINVAL;
    }
    return io_region_add(&d->io, IO_SPACE_PIO, "isa-debugcon", d->iobase, 1, &debugcon_ops, d);
}

static void debugcon_unrealize(struct device *dev)
{
    io_region_unmap(&container_of(dev, struct debugcon, dev)->io);
}

static const struct prop_desc debugcon_props[] = {
    DEFINE_PROP("iobase", struct debugcon, iobase, PROP_U32, "0xe9", "I/O port"),
    DEFINE_PROP("readback", struct debugcon, readback, PROP_U32, "0xe9", "value reads return"),
    DEFINE_PROP("chardev", struct debugcon, chr, PROP_CHARDEV, NULL, "where the bytes go"),
    DEFINE_PROP_END,
};

static struct device_type debugcon_type = {
    .name = "isa-debugcon",
    .desc = "debug console port",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct debugcon),
    .props = debugcon_props,
    .user_creatable = true,
    .realize = debugcon_realize,
    .unrealize = debugcon_unrealize,
};
DEVICE_TYPE_REGISTER(debugcon_type)
