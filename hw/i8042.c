/* i8042.c: the 8042 keyboard controller: its command set, A20 and the reset line (keyboard and mouse devices: the PC board issue) */
#define LOG_PREFIX "i8042: "
#include "hw/device.h"
#include "hw/ioregion.h"
#include "hw/isa.h"
#include "hw/machine.h"
#include "migration/vmstate.h"
#include "util/log.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64

/* status register bits */
#define STAT_OBF     0x01
#define STAT_IBF     0x02
#define STAT_SYS     0x04
#define STAT_CMD     0x08
#define STAT_UNLOCK  0x10
#define STAT_AUX_OBF 0x20

/* command byte bits */
#define CB_KBD_INT   0x01
#define CB_AUX_INT   0x02
#define CB_SYS       0x04
#define CB_KBD_OFF   0x10
#define CB_AUX_OFF   0x20
#define CB_XLATE     0x40

#define OUTQ_SIZE 16

struct i8042 {
    struct device dev;
    struct io_region data_io, cmd_io;
    struct irq *kbd_irq, *aux_irq;
    uint8_t status;
    uint8_t cmd_byte;
    uint8_t pending_cmd;        /* controller command waiting for its data byte */
    uint8_t outport;
    uint8_t outq[OUTQ_SIZE];
    uint8_t outq_head, outq_count;
    uint8_t outq_aux[OUTQ_SIZE];    /* which queued bytes come from the aux port */
    uint8_t kbd_pending_cmd;    /* keyboard command waiting for its argument */
    uint8_t kbd_scanning;
};

static void i8042_update_irq(struct i8042 *k)
{
    bool kbd = false, aux = false;

    k->status &= ~(STAT_OBF | STAT_AUX_OBF);
    if (k->outq_count) {
        k->status |= STAT_OBF;
        if (k->outq_aux[k->outq_head]) {
            k->status |= STAT_AUX_OBF;
            aux = k->cmd_byte & CB_AUX_INT;
        } else {
            kbd = k->cmd_byte & CB_KBD_INT;
        }
    }
    irq_set(k->kbd_irq, kbd);
    irq_set(k->aux_irq, aux);
}

static void i8042_queue(struct i8042 *k, uint8_t v, bool aux)
{
    unsigned pos;

    if (k->outq_count == OUTQ_SIZE)
        return;
    pos = (k->outq_head + k->outq_count) % OUTQ_SIZE;
    k->outq[pos] = v;
    k->outq_aux[pos] = aux;
    k->outq_count++;
    i8042_update_irq(k);
}

static void i8042_write_outport(struct i8042 *k, uint8_t v)
{
    k->outport = v;
    /* bit 0 low holds the processor in reset (8042 output port, bit 0 = system reset) */
    if (!(v & 1))
        machine_request_reset();
}

/* A byte written to port 0x60 goes to the keyboard: answer as an MF2 keyboard does. */
static void i8042_kbd_write(struct i8042 *k, uint8_t v)
{
    if (k->kbd_pending_cmd) {
        k->kbd_pending_cmd = 0;
        i8042_queue(k, 0xfa, false);    /* ACK of the argument (LEDs, rate, scancode set) */
        return;
    }
    switch (v) {
    case 0xff:              /* reset: ACK, then self-test passed */
        i8042_queue(k, 0xfa, false);
        i8042_queue(k, 0xaa, false);
        k->kbd_scanning = 1;
        break;
    case 0xf2:              /* identify: MF2 keyboard */
        i8042_queue(k, 0xfa, false);
        i8042_queue(k, 0xab, false);
        i8042_queue(k, 0x83, false);
        break;
    case 0xed: case 0xf3: case 0xf0:    /* LEDs, typematic rate, scancode set: take an argument */
        k->kbd_pending_cmd = v;
        i8042_queue(k, 0xfa, false);
        break;
    case 0xf4:              /* enable scanning */
        k->kbd_scanning = 1;
        i8042_queue(k, 0xfa, false);
        break;
    case 0xf5:              /* disable scanning */
        k->kbd_scanning = 0;
        i8042_queue(k, 0xfa, false);
        break;
    case 0xee:              /* echo */
        i8042_queue(k, 0xee, false);
        break;
    default:
        i8042_queue(k, 0xfa, false);
        break;
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8042 *k = opaque;
    uint8_t v;

    if (!k->outq_count)
        return k->outq[(k->outq_head + OUTQ_SIZE - 1) % OUTQ_SIZE];   /* last byte again */
    v = k->outq[k->outq_head];
    k->outq_head = (k->outq_head + 1) % OUTQ_SIZE;
    k->outq_count--;
    i8042_update_irq(k);
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
        i8042_update_irq(k);
        break;
    case 0xd1:              /* write output port */
        i8042_write_outport(k, v);
        break;
    case 0xd2:              /* write keyboard output buffer */
        i8042_queue(k, v, false);
        break;
    case 0xd3:              /* write aux output buffer */
        i8042_queue(k, v, true);
        break;
    case 0xd4:              /* write to the aux device: no mouse yet, so it does not answer */
        i8042_queue(k, 0xfe, true);
        break;
    default:
        i8042_kbd_write(k, v);
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
        i8042_queue(k, k->cmd_byte, false);
        break;
    case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        k->pending_cmd = v;
        break;
    case 0xa7:              /* disable aux */
        k->cmd_byte |= CB_AUX_OFF;
        break;
    case 0xa8:              /* enable aux */
        k->cmd_byte &= ~CB_AUX_OFF;
        break;
    case 0xa9:              /* test aux port: passed */
        i8042_queue(k, 0x00, false);
        break;
    case 0xaa:              /* controller self-test: passed */
        k->status |= STAT_SYS;
        i8042_queue(k, 0x55, false);
        break;
    case 0xab:              /* test keyboard port: passed */
        i8042_queue(k, 0x00, false);
        break;
    case 0xad:              /* disable keyboard */
        k->cmd_byte |= CB_KBD_OFF;
        break;
    case 0xae:              /* enable keyboard */
        k->cmd_byte &= ~CB_KBD_OFF;
        break;
    case 0xc0:              /* read input port */
        i8042_queue(k, 0x80, false);
        break;
    case 0xd0:              /* read output port */
        i8042_queue(k, k->outport, false);
        break;
    case 0xdd:              /* A20 off; KVM keeps A20 on, as every guest wants */
    case 0xdf:              /* A20 on */
        break;
    default:
        /* 0xf0-0xff pulse output port bits low for 6 us; bit 0 is the reset line */
        if (v >= 0xf0 && !(v & 1))
            machine_request_reset();
        else if (v < 0xf0)
            log_guest_error("unknown controller command 0x%02x", v);
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
    k->outq_head = k->outq_count = 0;
    k->kbd_pending_cmd = 0;
    k->kbd_scanning = 1;
    i8042_update_irq(k);
}

static int i8042_realize(struct device *dev, char **err)
{
    struct i8042 *k = container_of(dev, struct i8042, dev);

    k->kbd_irq = isa_get_irq(1);
    k->aux_irq = isa_get_irq(12);
    io_region_add(&k->data_io, IO_SPACE_PIO, "i8042-data", I8042_DATA, 1, &i8042_data_ops, k);
    io_region_add(&k->cmd_io, IO_SPACE_PIO, "i8042-cmd", I8042_CMD, 1, &i8042_cmd_ops, k);
    i8042_reset(dev);
    return 0;
}

static void i8042_unrealize(struct device *dev)
{
    struct i8042 *k = container_of(dev, struct i8042, dev);

    io_region_unmap(&k->data_io);
    io_region_unmap(&k->cmd_io);
}

static const struct vmstate_field i8042_fields[] = {
    VMSTATE_U8(status, struct i8042),
    VMSTATE_U8(cmd_byte, struct i8042),
    VMSTATE_U8(pending_cmd, struct i8042),
    VMSTATE_U8(outport, struct i8042),
    VMSTATE_U8_ARRAY(outq, struct i8042, OUTQ_SIZE),
    VMSTATE_U8_MAX(outq_head, struct i8042, OUTQ_SIZE - 1),
    VMSTATE_U8_MAX(outq_count, struct i8042, OUTQ_SIZE),
    VMSTATE_U8_ARRAY(outq_aux, struct i8042, OUTQ_SIZE),
    VMSTATE_U8(kbd_pending_cmd, struct i8042),
    VMSTATE_U8_MAX(kbd_scanning, struct i8042, 1),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc i8042_vmsd = {
    .name = "i8042",
    .version = 1,
    .min_version = 1,
    .fields = i8042_fields,
};

static struct device_type i8042_type = {
    .name = "i8042",
    .desc = "PS/2 keyboard controller",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct i8042),
    .realize = i8042_realize,
    .reset = i8042_reset,
    .unrealize = i8042_unrealize,
    .vmsd = &i8042_vmsd,
};
DEVICE_TYPE_REGISTER(i8042_type)
