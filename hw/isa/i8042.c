/* i8042.c: the 8042 keyboard controller: its commands, the output buffer the keyboard and mouse (ps2.c) share, translation, A20 and the reset line (IBM PS/2 Technical Reference) */
#define LOG_PREFIX "i8042: "
#include "hw/core/device.h"
#include "hw/isa/ps2.h"
#include "hw/core/ioregion.h"
#include "hw/isa/isa.h"
#include "hw/core/machine.h"
#include "migration/vmstate.h"
#include "util/log.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64

/* status register */
#define STAT_OBF     0x01
#define STAT_SYS     0x04
#define STAT_CMD     0x08
#define STAT_UNLOCK  0x10
#define STAT_AUX_OBF 0x20

/* command byte */
#define CB_KBD_INT   0x01
#define CB_AUX_INT   0x02
#define CB_SYS       0x04
#define CB_KBD_OFF   0x10
#define CB_AUX_OFF   0x20
#define CB_XLATE     0x40

/* where the byte in the output buffer came from */
enum { SRC_NONE, SRC_CTRL, SRC_KBD, SRC_AUX };

struct i8042 {
    struct device dev;
    struct io_region data_io, cmd_io;
    struct irq *kbd_irq, *aux_irq;
    struct ps2_port port;
    uint8_t status;
    uint8_t cmd_byte;
    uint8_t outport;
    uint8_t pending_cmd;        /* a controller command waiting for its data byte */
    uint8_t obuf, obuf_src;
    struct ps2_queue cq;        /* the controller's replies */
    struct ps2_queue caq;       /* bytes the controller puts out as the mouse's (0xd3) */
    struct ps2_kbd kbd;
    struct ps2_mouse mouse;
};

static void i8042_update_irq(struct i8042 *k)
{
    bool full = k->status & STAT_OBF;

    irq_set(k->kbd_irq, full && k->obuf_src != SRC_AUX && (k->cmd_byte & CB_KBD_INT));
    irq_set(k->aux_irq, full && k->obuf_src == SRC_AUX && (k->cmd_byte & CB_AUX_INT));
}

/* Move the next byte into the output buffer: the controller's first, then keyboard, mouse. */
static void i8042_fill(struct i8042 *k)
{
    if (!(k->status & STAT_OBF)) {
        if (k->cq.count) {
            k->obuf = ps2_queue_get(&k->cq);
            k->obuf_src = SRC_CTRL;
        } else if (k->caq.count) {
            /* written by the controller itself: not held back by the aux port's disable bit */
            k->obuf = ps2_queue_get(&k->caq);
            k->obuf_src = SRC_AUX;
        } else if (k->kbd.q.count && !(k->cmd_byte & CB_KBD_OFF)) {
            k->obuf = ps2_queue_get(&k->kbd.q);
            k->obuf_src = SRC_KBD;
        } else if (k->mouse.q.count && !(k->cmd_byte & CB_AUX_OFF)) {
            k->obuf = ps2_queue_get(&k->mouse.q);
            k->obuf_src = SRC_AUX;
        } else {
            k->obuf_src = SRC_NONE;
        }
        if (k->obuf_src != SRC_NONE)
            k->status |= STAT_OBF;
        k->status = (k->status & ~STAT_AUX_OBF) | (k->obuf_src == SRC_AUX ? STAT_AUX_OBF : 0);
    }
    i8042_update_irq(k);
}

static void ctrl_reply(struct i8042 *k, uint8_t v)
{
    ps2_queue_put(&k->cq, v);
    i8042_fill(k);
}

static void i8042_notify(void *opaque)
{
    i8042_fill(opaque);
}

static bool i8042_translating(void *opaque)
{
    return ((struct i8042 *)opaque)->cmd_byte & CB_XLATE;
}

/* ---- the controller ---- */

static void i8042_write_outport(struct i8042 *k, uint8_t v)
{
    k->outport = v;
    /* bit 0 low holds the processor in reset; bit 1 is A20, which KVM keeps on */
    if (!(v & 1)) {
        log_debug("output port 0x%02x holds the processor in reset", v);
        machine_request_reset();
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8042 *k = opaque;
    uint8_t v = k->obuf;

    /* with nothing new the last byte reads again */
    k->status &= ~(STAT_OBF | STAT_AUX_OBF);
    /* drop the line before the next byte raises it: ISA interrupts are edge-triggered, and
     * without the edge the guest would not hear of a byte that follows at once */
    i8042_update_irq(k);
    i8042_fill(k);
    return v;
}

static void i8042_data_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i8042 *k = opaque;
    uint8_t v = val, cmd = k->pending_cmd;

    k->status &= ~STAT_CMD;
    k->pending_cmd = 0;
    switch (cmd) {
    case 0x60:              /* write command byte */
        k->cmd_byte = v;
        k->status = (k->status & ~STAT_SYS) | (v & CB_SYS ? STAT_SYS : 0);
        i8042_fill(k);
        break;
    case 0xd1:              /* write output port */
        i8042_write_outport(k, v);
        break;
    case 0xd2:              /* write keyboard output buffer: as if from the keyboard */
        ctrl_reply(k, v);
        break;
    case 0xd3:              /* write aux output buffer: as if from the mouse, whatever its
                             * disable bit (Linux's multiplexer probe loops bytes with it set) */
        ps2_queue_put(&k->caq, v);
        i8042_fill(k);
        break;
    case 0xd4:              /* write to the aux device */
        ps2_mouse_write(&k->mouse, v);
        break;
    default:
        if (cmd >= 0x61 && cmd <= 0x7f)
            break;          /* controller RAM: accepted, not kept */
        /* writing to the keyboard enables its interface again */
        k->cmd_byte &= ~CB_KBD_OFF;
        ps2_kbd_write(&k->kbd, v);
        break;
    }
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t off, unsigned size)
{
    return ((struct i8042 *)opaque)->status;
}

static void i8042_cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i8042 *k = opaque;
    uint8_t v = val;

    k->status |= STAT_CMD;
    switch (v) {
    case 0x20:              /* read command byte */
        ctrl_reply(k, k->cmd_byte);
        break;
    case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        k->pending_cmd = v;
        break;
    case 0xa7:              /* disable aux */
        k->cmd_byte |= CB_AUX_OFF;
        break;
    case 0xa8:              /* enable aux */
        k->cmd_byte &= ~CB_AUX_OFF;
        i8042_fill(k);
        break;
    case 0xa9:              /* test aux port: passed */
    case 0xab:              /* test keyboard port: passed */
        ctrl_reply(k, 0x00);
        break;
    case 0xaa:              /* controller self-test: passed */
        k->status |= STAT_SYS;
        ctrl_reply(k, 0x55);
        break;
    case 0xad:              /* disable keyboard */
        k->cmd_byte |= CB_KBD_OFF;
        break;
    case 0xae:              /* enable keyboard */
        k->cmd_byte &= ~CB_KBD_OFF;
        i8042_fill(k);
        break;
    case 0xc0:              /* read input port: keyboard not inhibited */
        ctrl_reply(k, 0x80);
        break;
    case 0xd0:              /* read output port, with the output buffer full bits */
        ctrl_reply(k, (k->outport & 0xcf) | ((k->status & STAT_OBF) && k->obuf_src != SRC_AUX ? 0x10 : 0) |
                          ((k->status & STAT_AUX_OBF) ? 0x20 : 0));
        break;
    case 0xdd:              /* A20 off; KVM keeps A20 on, as every guest wants */
        k->outport &= ~2;
        break;
    case 0xdf:              /* A20 on */
        k->outport |= 2;
        break;
    case 0xe0:              /* read test inputs */
        ctrl_reply(k, 0x00);
        break;
    default:
        if (v >= 0x20 && v <= 0x3f) {
            ctrl_reply(k, v == 0x20 ? k->cmd_byte : 0);    /* controller RAM */
        } else if (v >= 0x61 && v <= 0x7f) {
            k->pending_cmd = v;
        } else if (v >= 0xf0) {
            /* pulse output port bits 3:0 low for 6 us; bit 0 is the reset line */
            if (!(v & 1)) {
                log_debug("command 0x%02x pulses the reset line", v);
                machine_request_reset();
            }
        } else {
            log_guest_error("unknown controller command 0x%02x", v);
        }
        break;
    }
}

static const struct io_region_ops i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
    .impl = { .min = 1, .max = 1 },
};

static const struct io_region_ops i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
    .impl = { .min = 1, .max = 1 },
};

static void i8042_reset(struct device *dev)
{
    struct i8042 *k = container_of(dev, struct i8042, dev);

    k->status = STAT_UNLOCK;
    k->cmd_byte = CB_KBD_INT | CB_AUX_INT | CB_XLATE;
    k->outport = 0x03;      /* reset line high, A20 on */
    k->pending_cmd = 0;
    k->obuf = 0;
    k->obuf_src = SRC_NONE;
    memset(&k->cq, 0, sizeof(k->cq));
    memset(&k->caq, 0, sizeof(k->caq));
    ps2_kbd_reset(&k->kbd);
    ps2_mouse_reset(&k->mouse);
    i8042_update_irq(k);
}

static int i8042_realize(struct device *dev, char **err)
{
    struct i8042 *k = container_of(dev, struct i8042, dev);
    int r;

    k->kbd_irq = isa_get_irq(1);
    k->aux_irq = isa_get_irq(12);
    /* a region that cannot be mapped (a port taken) fails the realize; device.c unmaps the rest */
    if ((r = io_region_add(&k->data_io, IO_SPACE_PIO, "i8042-data", I8042_DATA, 1, &i8042_data_ops, k)) < 0 ||
        (r = io_region_add(&k->cmd_io, IO_SPACE_PIO, "i8042-cmd", I8042_CMD, 1, &i8042_cmd_ops, k)) < 0)
        return r;
    k->port = (struct ps2_port){ .notify = i8042_notify, .translating = i8042_translating, .opaque = k };
    ps2_kbd_init(&k->kbd, &k->port);
    ps2_mouse_init(&k->mouse, &k->port);
    i8042_reset(dev);
    return 0;
}

static void i8042_unrealize(struct device *dev)
{
    struct i8042 *k = container_of(dev, struct i8042, dev);

    ps2_kbd_cleanup(&k->kbd);
    ps2_mouse_cleanup(&k->mouse);
    io_region_unmap(&k->data_io);
    io_region_unmap(&k->cmd_io);
}

/* After a load the lines follow the output buffer, which takes a queued byte if it can. */
static void i8042_state_loaded(struct device *dev)
{
    i8042_fill(container_of(dev, struct i8042, dev));
}

static const struct vmstate_field i8042_fields[] = {
    VMSTATE_U8(status, struct i8042),
    VMSTATE_U8(cmd_byte, struct i8042),
    VMSTATE_U8(outport, struct i8042),
    VMSTATE_U8(pending_cmd, struct i8042),
    VMSTATE_U8(obuf, struct i8042),
    VMSTATE_U8_MAX(obuf_src, struct i8042, SRC_AUX),
    VMSTATE_STRUCT(cq, struct i8042, ps2_queue_vmsd, struct ps2_queue),
    VMSTATE_STRUCT(caq, struct i8042, ps2_queue_vmsd, struct ps2_queue),
    VMSTATE_STRUCT(kbd, struct i8042, ps2_kbd_vmsd, struct ps2_kbd),
    VMSTATE_STRUCT(mouse, struct i8042, ps2_mouse_vmsd, struct ps2_mouse),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc i8042_vmsd = {
    .name = "i8042",
    .version = 3,
    .min_version = 3,
    .fields = i8042_fields,
};

static struct device_type i8042_type = {
    .name = "i8042",
    .desc = "PS/2 keyboard controller with keyboard and mouse",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct i8042),
    .realize = i8042_realize,
    .reset = i8042_reset,
    .unrealize = i8042_unrealize,
    .vmsd = &i8042_vmsd,
    .state_loaded = i8042_state_loaded,
};
DEVICE_TYPE_REGISTER(i8042_type)
