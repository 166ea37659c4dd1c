/* i8042.c: the 8042 keyboard controller with an MF2 keyboard (scan code sets 1-3, translation) and a PS/2 mouse with a wheel: commands, A20, the reset line, and the input path's keys and motion (IBM PS/2 Technical Reference) */
#define LOG_PREFIX "i8042: "
#include "hw/core/device.h"
#include "ui/input.h"
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

/* replies of the keyboard and the mouse */
#define PS2_ACK      0xfa
#define PS2_RESEND   0xfe
#define PS2_BAT_OK   0xaa

#define QSIZE 64

/* where the byte in the output buffer came from */
enum { SRC_NONE, SRC_CTRL, SRC_KBD, SRC_AUX };

struct ps2_queue {
    uint8_t data[QSIZE];
    uint8_t rptr, count;
};

struct i8042 {
    struct device dev;
    struct io_region data_io, cmd_io;
    struct irq *kbd_irq, *aux_irq;
    struct input_handler kbd_in, ptr_in;
    /* the controller */
    uint8_t status;
    uint8_t cmd_byte;
    uint8_t outport;
    uint8_t pending_cmd;        /* a controller command waiting for its data byte */
    uint8_t obuf, obuf_src;
    struct ps2_queue cq, kq, mq;    /* controller replies, keyboard, mouse */
    struct ps2_queue caq;           /* bytes the controller puts out as the mouse's (0xd3) */
    /* the keyboard */
    uint8_t kbd_cmd;            /* a keyboard command waiting for its argument */
    uint8_t kbd_scanning;
    uint8_t kbd_set;            /* scan code set 1, 2 or 3 */
    uint8_t kbd_leds, kbd_rate;
    /* the mouse */
    uint8_t mouse_cmd;
    uint8_t mouse_stream;       /* stream mode (else remote) */
    uint8_t mouse_enabled;
    uint8_t mouse_scaling;      /* 2:1 */
    uint8_t mouse_resolution, mouse_rate;
    uint8_t mouse_wrap;
    uint8_t mouse_type;         /* 0: standard, 3: IntelliMouse (wheel) */
    uint8_t mouse_detect;       /* progress through the 200, 100, 80 rate sequence */
    uint8_t mouse_buttons;
    int32_t mouse_dx, mouse_dy, mouse_dz;
};

static void q_put(struct ps2_queue *q, uint8_t v)
{
    if (q->count == QSIZE)
        return;
    q->data[(q->rptr + q->count) % QSIZE] = v;
    q->count++;
}

static uint8_t q_get(struct ps2_queue *q)
{
    uint8_t v = q->data[q->rptr];

    q->rptr = (q->rptr + 1) % QSIZE;
    q->count--;
    return v;
}

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
            k->obuf = q_get(&k->cq);
            k->obuf_src = SRC_CTRL;
        } else if (k->caq.count) {
            /* written by the controller itself: not held back by the aux port's disable bit */
            k->obuf = q_get(&k->caq);
            k->obuf_src = SRC_AUX;
        } else if (k->kq.count && !(k->cmd_byte & CB_KBD_OFF)) {
            k->obuf = q_get(&k->kq);
            k->obuf_src = SRC_KBD;
        } else if (k->mq.count && !(k->cmd_byte & CB_AUX_OFF)) {
            k->obuf = q_get(&k->mq);
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
    q_put(&k->cq, v);
    i8042_fill(k);
}

static void kbd_reply(struct i8042 *k, uint8_t v)
{
    q_put(&k->kq, v);
    i8042_fill(k);
}

static void aux_reply(struct i8042 *k, uint8_t v)
{
    q_put(&k->mq, v);
    i8042_fill(k);
}

/* ---- the keyboard ---- */

/* Scan code set 1 make code -> set 2 (IBM PS/2 Technical Reference, keyboard scan codes) */
static const uint8_t set1_to_set2[0x60] = {
    [0x01] = 0x76, [0x02] = 0x16, [0x03] = 0x1e, [0x04] = 0x26, [0x05] = 0x25, [0x06] = 0x2e,
    [0x07] = 0x36, [0x08] = 0x3d, [0x09] = 0x3e, [0x0a] = 0x46, [0x0b] = 0x45, [0x0c] = 0x4e,
    [0x0d] = 0x55, [0x0e] = 0x66, [0x0f] = 0x0d, [0x10] = 0x15, [0x11] = 0x1d, [0x12] = 0x24,
    [0x13] = 0x2d, [0x14] = 0x2c, [0x15] = 0x35, [0x16] = 0x3c, [0x17] = 0x43, [0x18] = 0x44,
    [0x19] = 0x4d, [0x1a] = 0x54, [0x1b] = 0x5b, [0x1c] = 0x5a, [0x1d] = 0x14, [0x1e] = 0x1c,
    [0x1f] = 0x1b, [0x20] = 0x23, [0x21] = 0x2b, [0x22] = 0x34, [0x23] = 0x33, [0x24] = 0x3b,
    [0x25] = 0x42, [0x26] = 0x4b, [0x27] = 0x4c, [0x28] = 0x52, [0x29] = 0x0e, [0x2a] = 0x12,
    [0x2b] = 0x5d, [0x2c] = 0x1a, [0x2d] = 0x22, [0x2e] = 0x21, [0x2f] = 0x2a, [0x30] = 0x32,
    [0x31] = 0x31, [0x32] = 0x3a, [0x33] = 0x41, [0x34] = 0x49, [0x35] = 0x4a, [0x36] = 0x59,
    [0x37] = 0x7c, [0x38] = 0x11, [0x39] = 0x29, [0x3a] = 0x58, [0x3b] = 0x05, [0x3c] = 0x06,
    [0x3d] = 0x04, [0x3e] = 0x0c, [0x3f] = 0x03, [0x40] = 0x0b, [0x41] = 0x83, [0x42] = 0x0a,
    [0x43] = 0x01, [0x44] = 0x09, [0x45] = 0x77, [0x46] = 0x7e, [0x47] = 0x6c, [0x48] = 0x75,
    [0x49] = 0x7d, [0x4a] = 0x7b, [0x4b] = 0x6b, [0x4c] = 0x73, [0x4d] = 0x74, [0x4e] = 0x79,
    [0x4f] = 0x69, [0x50] = 0x72, [0x51] = 0x7a, [0x52] = 0x70, [0x53] = 0x71, [0x54] = 0x84,
    [0x56] = 0x61, [0x57] = 0x78, [0x58] = 0x07,
    /* the Windows and menu keys come with an 0xe0 prefix */
    [0x5b] = 0x1f, [0x5c] = 0x27, [0x5d] = 0x2f,
};

/* What the host reads: set 1 when the keyboard speaks set 1 or the 8042 translates set 2. */
static bool kbd_sends_set1(const struct i8042 *k)
{
    return k->kbd_set == 1 || (k->kbd_set == 2 && (k->cmd_byte & CB_XLATE));
}

static void kbd_key(void *opaque, unsigned key, bool down)
{
    struct i8042 *k = opaque;
    unsigned code = key & 0xff;
    bool e0 = key & INPUT_KEY_E0;

    if (!k->kbd_scanning)
        return;
    if (key == INPUT_KEY_PAUSE) {
        /* Pause has no break code */
        static const uint8_t s1[6] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
        static const uint8_t s2[8] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };

        if (!down)
            return;
        if (kbd_sends_set1(k)) {
            for (size_t i = 0; i < sizeof(s1); i++)
                q_put(&k->kq, s1[i]);
        } else {
            for (size_t i = 0; i < sizeof(s2); i++)
                q_put(&k->kq, s2[i]);
        }
        i8042_fill(k);
        return;
    }
    if (code >= ARRAY_SIZE(set1_to_set2) || !set1_to_set2[code])
        return;
    if (kbd_sends_set1(k)) {
        /* Print Screen is shifted: E0 2A before its make, E0 AA after its break */
        if (key == INPUT_KEY_PRINT && down) {
            q_put(&k->kq, 0xe0);
            q_put(&k->kq, 0x2a);
        }
        if (e0)
            q_put(&k->kq, 0xe0);
        q_put(&k->kq, code | (down ? 0 : 0x80));
        if (key == INPUT_KEY_PRINT && !down) {
            q_put(&k->kq, 0xe0);
            q_put(&k->kq, 0xaa);
        }
    } else {
        /* set 2 (and set 3, which we answer with set 2's codes) */
        if (key == INPUT_KEY_PRINT && down) {
            q_put(&k->kq, 0xe0);
            q_put(&k->kq, 0x12);
        }
        if (e0 && k->kbd_set == 2)
            q_put(&k->kq, 0xe0);
        if (!down)
            q_put(&k->kq, 0xf0);
        q_put(&k->kq, set1_to_set2[code]);
        if (key == INPUT_KEY_PRINT && !down) {
            q_put(&k->kq, 0xe0);
            q_put(&k->kq, 0xf0);
            q_put(&k->kq, 0x12);
        }
    }
    i8042_fill(k);
}

static void kbd_defaults(struct i8042 *k)
{
    k->kbd_set = 2;
    k->kbd_rate = 0x2b;
    k->kbd_leds = 0;
}

/* A byte written to port 0x60 goes to the keyboard: answer as an MF2 keyboard does. */
static void kbd_write(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->kbd_cmd;

    if (cmd) {
        k->kbd_cmd = 0;
        switch (cmd) {
        case 0xed:
            k->kbd_leds = v & 7;
            kbd_reply(k, PS2_ACK);
            return;
        case 0xf3:
            k->kbd_rate = v & 0x7f;
            kbd_reply(k, PS2_ACK);
            return;
        case 0xf0:
            if (v == 0) {
                /* report the set; through the translation 1, 2, 3 read as 0x43, 0x41, 0x3f */
                static const uint8_t xlated[4] = { 0, 0x43, 0x41, 0x3f };

                kbd_reply(k, PS2_ACK);
                kbd_reply(k, (k->cmd_byte & CB_XLATE) ? xlated[k->kbd_set] : k->kbd_set);
            } else if (v <= 3) {
                k->kbd_set = v;
                kbd_reply(k, PS2_ACK);
            } else {
                kbd_reply(k, PS2_RESEND);
            }
            return;
        }
    }
    switch (v) {
    case 0xee:              /* echo */
        kbd_reply(k, 0xee);
        break;
    case 0xed: case 0xf3: case 0xf0:    /* LEDs, typematic rate, scan code set */
        k->kbd_cmd = v;
        kbd_reply(k, PS2_ACK);
        break;
    case 0xf2:              /* identify: MF2, 0x41 through the translation */
        kbd_reply(k, PS2_ACK);
        kbd_reply(k, 0xab);
        kbd_reply(k, (k->cmd_byte & CB_XLATE) ? 0x41 : 0x83);
        break;
    case 0xf4:
        k->kbd_scanning = 1;
        kbd_reply(k, PS2_ACK);
        break;
    case 0xf5:              /* disable: defaults, and stop scanning */
        kbd_defaults(k);
        k->kbd_scanning = 0;
        kbd_reply(k, PS2_ACK);
        break;
    case 0xf6:
        kbd_defaults(k);
        kbd_reply(k, PS2_ACK);
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        kbd_reply(k, PS2_ACK);      /* set-3 key types: accepted */
        break;
    case 0xff:              /* reset: ACK, then the self-test passed */
        k->kq.count = 0;
        kbd_defaults(k);
        k->kbd_scanning = 1;
        kbd_reply(k, PS2_ACK);
        kbd_reply(k, PS2_BAT_OK);
        break;
    default:
        kbd_reply(k, PS2_RESEND);
        break;
    }
}

/* ---- the mouse ---- */

static void mouse_defaults(struct i8042 *k)
{
    k->mouse_stream = 1;
    k->mouse_enabled = 0;
    k->mouse_scaling = 0;
    k->mouse_resolution = 2;
    k->mouse_rate = 100;
    k->mouse_dx = k->mouse_dy = k->mouse_dz = 0;
}

/* One movement packet (3 bytes, 4 with the wheel); y goes up on PS/2. */
static void mouse_packet(struct i8042 *k)
{
    int dx = MAX(-256, MIN(255, k->mouse_dx)), dy = MAX(-256, MIN(255, -k->mouse_dy));
    int dz = MAX(-8, MIN(7, k->mouse_dz));
    uint8_t b0 = 0x08 | (k->mouse_buttons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0);

    q_put(&k->mq, b0);
    q_put(&k->mq, dx);
    q_put(&k->mq, dy);
    if (k->mouse_type == 3)
        q_put(&k->mq, dz & 0x0f);
    k->mouse_dx -= dx;
    k->mouse_dy += dy;
    k->mouse_dz -= dz;
}

static void mouse_rel(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
    struct i8042 *k = opaque;
    bool changed = (buttons & 7) != k->mouse_buttons;

    k->mouse_dx += dx;
    k->mouse_dy += dy;
    k->mouse_dz += dz;
    k->mouse_buttons = buttons & 7;
    if (!k->mouse_stream || !k->mouse_enabled)
        return;
    /* send while there is motion to report and room for whole packets */
    while ((changed || k->mouse_dx || k->mouse_dy || k->mouse_dz) && QSIZE - k->mq.count >= 4) {
        mouse_packet(k);
        changed = false;
    }
    i8042_fill(k);
}

static void mouse_write(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->mouse_cmd;

    if (k->mouse_wrap && v != 0xec && v != 0xff) {
        aux_reply(k, v);
        return;
    }
    if (cmd) {
        k->mouse_cmd = 0;
        if (cmd == 0xe8) {
            k->mouse_resolution = v & 3;
        } else {
            /* IntelliMouse: sample rates 200, 100, 80 in a row turn on the wheel (ID 3) */
            k->mouse_rate = v;
            if ((k->mouse_detect == 0 && v == 200) || (k->mouse_detect == 1 && v == 100))
                k->mouse_detect++;
            else if (k->mouse_detect == 2 && v == 80)
                k->mouse_type = 3, k->mouse_detect = 0;
            else
                k->mouse_detect = v == 200;
        }
        aux_reply(k, PS2_ACK);
        return;
    }
    switch (v) {
    case 0xe6:
        k->mouse_scaling = 0;
        aux_reply(k, PS2_ACK);
        break;
    case 0xe7:
        k->mouse_scaling = 1;
        aux_reply(k, PS2_ACK);
        break;
    case 0xe8: case 0xf3:
        k->mouse_cmd = v;
        aux_reply(k, PS2_ACK);
        break;
    case 0xe9:              /* status: mode, enable, scaling, buttons; resolution; rate */
        aux_reply(k, PS2_ACK);
        aux_reply(k, (k->mouse_stream ? 0 : 0x40) | (k->mouse_enabled ? 0x20 : 0) |
                         (k->mouse_scaling ? 0x10 : 0) | (k->mouse_buttons & 7));
        aux_reply(k, k->mouse_resolution);
        aux_reply(k, k->mouse_rate);
        break;
    case 0xea:
        k->mouse_stream = 1;
        aux_reply(k, PS2_ACK);
        break;
    case 0xeb:              /* read data (remote mode) */
        aux_reply(k, PS2_ACK);
        mouse_packet(k);
        i8042_fill(k);
        break;
    case 0xec:
        k->mouse_wrap = 0;
        aux_reply(k, PS2_ACK);
        break;
    case 0xee:
        k->mouse_wrap = 1;
        aux_reply(k, PS2_ACK);
        break;
    case 0xf0:
        k->mouse_stream = 0;
        aux_reply(k, PS2_ACK);
        break;
    case 0xf2:
        aux_reply(k, PS2_ACK);
        aux_reply(k, k->mouse_type);
        break;
    case 0xf4:
        k->mouse_enabled = 1;
        aux_reply(k, PS2_ACK);
        break;
    case 0xf5:
        k->mouse_enabled = 0;
        aux_reply(k, PS2_ACK);
        break;
    case 0xf6:
        mouse_defaults(k);
        aux_reply(k, PS2_ACK);
        break;
    case 0xff:              /* reset: ACK, self-test passed, ID 0 */
        k->mq.count = 0;
        mouse_defaults(k);
        k->mouse_wrap = 0;
        k->mouse_type = 0;
        k->mouse_detect = 0;
        aux_reply(k, PS2_ACK);
        aux_reply(k, PS2_BAT_OK);
        aux_reply(k, 0x00);
        break;
    default:
        aux_reply(k, PS2_RESEND);
        break;
    }
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
        q_put(&k->caq, v);
        i8042_fill(k);
        break;
    case 0xd4:              /* write to the aux device */
        mouse_write(k, v);
        break;
    default:
        if (cmd >= 0x61 && cmd <= 0x7f)
            break;          /* controller RAM: accepted, not kept */
        /* writing to the keyboard enables its interface again */
        k->cmd_byte &= ~CB_KBD_OFF;
        kbd_write(k, v);
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
    memset(&k->kq, 0, sizeof(k->kq));
    memset(&k->mq, 0, sizeof(k->mq));
    k->kbd_cmd = 0;
    k->kbd_scanning = 1;
    kbd_defaults(k);
    k->mouse_cmd = 0;
    k->mouse_wrap = 0;
    k->mouse_type = 0;
    k->mouse_detect = 0;
    k->mouse_buttons = 0;
    mouse_defaults(k);
    i8042_update_irq(k);
}

static int i8042_realize(struct device *dev, char **err)
{
    struct i8042 *k = container_of(dev, struct i8042, dev);

    k->kbd_irq = isa_get_irq(1);
    k->aux_irq = isa_get_irq(12);
    io_region_add(&k->data_io, IO_SPACE_PIO, "i8042-data", I8042_DATA, 1, &i8042_data_ops, k);
    io_region_add(&k->cmd_io, IO_SPACE_PIO, "i8042-cmd", I8042_CMD, 1, &i8042_cmd_ops, k);
    k->kbd_in = (struct input_handler){ .key = kbd_key, .opaque = k };
    k->ptr_in = (struct input_handler){ .rel = mouse_rel, .opaque = k };
    input_set_keyboard(&k->kbd_in);
    input_set_pointer(&k->ptr_in);
    i8042_reset(dev);
    return 0;
}

static void i8042_unrealize(struct device *dev)
{
    struct i8042 *k = container_of(dev, struct i8042, dev);

    input_set_keyboard(NULL);
    input_set_pointer(NULL);
    io_region_unmap(&k->data_io);
    io_region_unmap(&k->cmd_io);
}

static void i8042_state_loaded(struct device *dev)
{
    i8042_update_irq(container_of(dev, struct i8042, dev));
}

static const struct vmstate_field ps2_queue_fields[] = {
    VMSTATE_U8_ARRAY(data, struct ps2_queue, QSIZE),
    VMSTATE_U8_MAX(rptr, struct ps2_queue, QSIZE - 1),
    VMSTATE_U8_MAX(count, struct ps2_queue, QSIZE),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc ps2_queue_vmsd = {
    .name = "ps2-queue",
    .version = 1,
    .min_version = 1,
    .fields = ps2_queue_fields,
};

static int i8042_post_load(void *opaque, int version)
{
    struct i8042 *k = opaque;

    if (k->kbd_set < 1 || k->kbd_set > 3 || (k->mouse_type != 0 && k->mouse_type != 3))
        return -EINVAL;
    return 0;
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
    VMSTATE_STRUCT(kq, struct i8042, ps2_queue_vmsd, struct ps2_queue),
    VMSTATE_STRUCT(mq, struct i8042, ps2_queue_vmsd, struct ps2_queue),
    VMSTATE_U8(kbd_cmd, struct i8042),
    VMSTATE_U8_MAX(kbd_scanning, struct i8042, 1),
    VMSTATE_U8_MAX(kbd_set, struct i8042, 3),
    VMSTATE_U8(kbd_leds, struct i8042),
    VMSTATE_U8(kbd_rate, struct i8042),
    VMSTATE_U8(mouse_cmd, struct i8042),
    VMSTATE_U8_MAX(mouse_stream, struct i8042, 1),
    VMSTATE_U8_MAX(mouse_enabled, struct i8042, 1),
    VMSTATE_U8_MAX(mouse_scaling, struct i8042, 1),
    VMSTATE_U8_MAX(mouse_resolution, struct i8042, 3),
    VMSTATE_U8(mouse_rate, struct i8042),
    VMSTATE_U8_MAX(mouse_wrap, struct i8042, 1),
    VMSTATE_U8_MAX(mouse_type, struct i8042, 3),
    VMSTATE_U8_MAX(mouse_detect, struct i8042, 2),
    VMSTATE_U8_MAX(mouse_buttons, struct i8042, 7),
    VMSTATE_I32(mouse_dx, struct i8042),
    VMSTATE_I32(mouse_dy, struct i8042),
    VMSTATE_I32(mouse_dz, struct i8042),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc i8042_vmsd = {
    .name = "i8042",
    .version = 2,
    .min_version = 2,
    .fields = i8042_fields,
    .post_load = i8042_post_load,
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
