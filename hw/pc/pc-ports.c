/* pc-ports.c: the PC's small system ports: POST code 0x80 (and 0xed), fast reset and A20 at 0x92, reset control at 0xcf9 */
#define LOG_PREFIX "pc-ports: "
#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "hw/core/machine.h"
#include "migration/vmstate.h"
#include "util/log.h"

struct pc_ports {
    struct device dev;
    struct io_region post, delay, port92, rcr;
    uint8_t port92_val;
    uint8_t rcr_val;
    uint8_t post_code;
};

static uint64_t post_read(void *opaque, uint64_t off, unsigned size)
{
    return 0xff;
}

static void post_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    ((struct pc_ports *)opaque)->post_code = val;
}

static const struct io_region_ops post_ops = {
    .read = post_read,
    .write = post_write,
    .impl = { .min = 1, .max = 1 },
};

/* System Control Port A (PS/2): bit 0 fast reset, bit 1 A20 gate */
static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
    return ((struct pc_ports *)opaque)->port92_val;
}

static void port92_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pc_ports *p = opaque;
    bool reset = (val & 1) && !(p->port92_val & 1);

    p->port92_val = val & 0x02;     /* A20 stays as written; the reset bit self-clears */
    if (reset) {
        log_debug("port 0x92: fast reset");
        machine_request_reset();
    }
}

static const struct io_region_ops port92_ops = {
    .read = port92_read,
    .write = port92_write,
    .impl = { .min = 1, .max = 1 },
};

/* PIIX3 Reset Control Register (PIIX3 datasheet 4.1.5): bit 2 RST_CPU starts the reset */
static uint64_t rcr_read(void *opaque, uint64_t off, unsigned size)
{
    return ((struct pc_ports *)opaque)->rcr_val;
}

static void rcr_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pc_ports *p = opaque;

    if (val & 0x04) {
        p->rcr_val = 0;
        log_debug("port 0xcf9: reset (0x%02x)", (unsigned)val);
        machine_request_reset();
        return;
    }
    p->rcr_val = val & 0x02;
}

static const struct io_region_ops rcr_ops = {
    .read = rcr_read,
    .write = rcr_write,
    .valid = { .min = 1, .max = 1 },
};

static void pc_ports_reset(struct device *dev)
{
    struct pc_ports *p = container_of(dev, struct pc_ports, dev);

    p->port92_val = 0x02;   /* A20 on */
    p->rcr_val = 0;
    p->post_code = 0;
}

static int pc_ports_realize(struct device *dev, char **err)
{
    struct pc_ports *p = container_of(dev, struct pc_ports, dev);
    int r;

    if ((r = io_region_add(&p->post, IO_SPACE_PIO, "post", 0x80, 1, &post_ops, p)) < 0 ||
        (r = io_region_add(&p->delay, IO_SPACE_PIO, "io-delay", 0xed, 1, &post_ops, p)) < 0 ||
        (r = io_region_add(&p->port92, IO_SPACE_PIO, "port92", 0x92, 1, &port92_ops, p)) < 0)
        return r;
    /* 0xcf9 sits inside the PCI configuration window; it wins for byte accesses there */
    io_region_init(&p->rcr, IO_SPACE_PIO, "reset-control", 1, &rcr_ops, p);
    p->rcr.priority = 1;
    if ((r = io_region_map(&p->rcr, 0xcf9)) < 0)
        return r;
    pc_ports_reset(dev);
    return 0;
}

static void pc_ports_unrealize(struct device *dev)
{
    struct pc_ports *p = container_of(dev, struct pc_ports, dev);

    io_region_unmap(&p->post);
    io_region_unmap(&p->delay);
    io_region_unmap(&p->port92);
    io_region_unmap(&p->rcr);
}

static const struct vmstate_field pc_ports_fields[] = {
    VMSTATE_U8(port92_val, struct pc_ports),
    VMSTATE_U8(rcr_val, struct pc_ports),
    VMSTATE_U8(post_code, struct pc_ports),
    VMSTATE_END_OF_LIST,
};

/* Only A20 (0x92) and the reset type (0xcf9) are kept: the reset bits clear themselves. */
static int pc_ports_post_load(void *opaque, int version)
{
    struct pc_ports *p = opaque;

    return (p->port92_val | p->rcr_val) & ~0x02 ? -EINVAL : 0;
}

static const struct vmstate_desc pc_ports_vmsd = {
    .name = "pc-ports",
    .version = 1,
    .min_version = 1,
    .fields = pc_ports_fields,
    .post_load = pc_ports_post_load,
};

static struct device_type pc_ports_type = {
    .name = "pc-ports",
    .desc = "POST, port 0x92 and reset control ports",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct pc_ports),
    .realize = pc_ports_realize,
    .reset = pc_ports_reset,
    .unrealize = pc_ports_unrealize,
    .vmsd = &pc_ports_vmsd,
};
DEVICE_TYPE_REGISTER(pc_ports_type)
