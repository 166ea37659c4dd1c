/* ps2.c: the PS/2 keyboard (MF2, scan code sets 1-3) and mouse (IntelliMouse wheel): their commands and the bytes they send (IBM PS/2 Technical Reference) */
#define LOG_PREFIX "ps2: "
#include "hw/isa/ps2.h"
#include "migration/vmstate.h"
#include "util/log.h"

/* replies of the keyboard and the mouse */
#define PS2_ACK      0xfa
#define PS2_RESEND   0xfe
#define PS2_BAT_OK   0xaa

void ps2_queue_put(struct ps2_queue *q, uint8_t v)
{
    if (q->count == PS2_QSIZE)
        return;
    q->data[(q->rptr + q->count) % PS2_QSIZE] = v;
    q->count++;
}

uint8_t ps2_queue_get(struct ps2_queue *q)
{
    uint8_t v = q->data[q->rptr];

    q->rptr = (q->rptr + 1) % PS2_QSIZE;
    q->count--;
    return v;
}

static void ps2_notify(const struct ps2_port *port)
{
    port->notify(port->opaque);
}

static void ps2_reply(const struct ps2_port *port, struct ps2_queue *q, uint8_t v)
{
    ps2_queue_put(q, v);
    ps2_notify(port);
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
static bool kbd_sends_set1(const struct ps2_kbd *k)
{
    return k->set == 1 || (k->set == 2 && k->port->translating(k->port->opaque));
}

static void kbd_key(void *opaque, unsigned key, bool down)
{
    struct ps2_kbd *k = opaque;
    unsigned code = key & 0xff;
    bool e0 = key & INPUT_KEY_E0;

    if (!k->scanning)
        return;
    if (key == INPUT_KEY_PAUSE) {
        /* Pause has no break code */
        static const uint8_t s1[6] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
        static const uint8_t s2[8] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };

        if (!down)
            return;
        if (kbd_sends_set1(k)) {
            for (size_t i = 0; i < sizeof(s1); i++)
                ps2_queue_put(&k->q, s1[i]);
        } else {
            for (size_t i = 0; i < sizeof(s2); i++)
                ps2_queue_put(&k->q, s2[i]);
        }
        ps2_notify(k->port);
        return;
    }
    if (code >= ARRAY_SIZE(set1_to_set2) || !set1_to_set2[code])
        return;
    if (kbd_sends_set1(k)) {
        /* Print Screen is shifted: E0 2A before its make, E0 AA after its break */
        if (key == INPUT_KEY_PRINT && down) {
            ps2_queue_put(&k->q, 0xe0);
            ps2_queue_put(&k->q, 0x2a);
        }
        if (e0)
            ps2_queue_put(&k->q, 0xe0);
        ps2_queue_put(&k->q, code | (down ? 0 : 0x80));
        if (key == INPUT_KEY_PRINT && !down) {
            ps2_queue_put(&k->q, 0xe0);
            ps2_queue_put(&k->q, 0xaa);
        }
    } else {
        /* set 2 (and set 3, which we answer with set 2's codes) */
        if (key == INPUT_KEY_PRINT && down) {
            ps2_queue_put(&k->q, 0xe0);
            ps2_queue_put(&k->q, 0x12);
        }
        if (e0 && k->set == 2)
            ps2_queue_put(&k->q, 0xe0);
        if (!down)
            ps2_queue_put(&k->q, 0xf0);
        ps2_queue_put(&k->q, set1_to_set2[code]);
        if (key == INPUT_KEY_PRINT && !down) {
            ps2_queue_put(&k->q, 0xe0);
            ps2_queue_put(&k->q, 0xf0);
            ps2_queue_put(&k->q, 0x12);
        }
    }
    ps2_notify(k->port);
}

static void kbd_defaults(struct ps2_kbd *k)
{
    k->set = 2;
    k->rate = 0x2b;
    k->leds = 0;
}

/* A byte written to port 0x60 goes to the keyboard: answer as an MF2 keyboard does. */
void ps2_kbd_write(struct ps2_kbd *k, uint8_t v)
{
    uint8_t cmd = k->cmd;

    if (cmd) {
        k->cmd = 0;
        switch (cmd) {
        case 0xed:
            k->leds = v & 7;
            ps2_reply(k->port, &k->q, PS2_ACK);
            return;
        case 0xf3:
            k->rate = v & 0x7f;
            ps2_reply(k->port, &k->q, PS2_ACK);
            return;
        case 0xf0:
            if (v == 0) {
                /* report the set; through the translation 1, 2, 3 read as 0x43, 0x41, 0x3f */
                static const uint8_t xlated[4] = { 0, 0x43, 0x41, 0x3f };

                ps2_reply(k->port, &k->q, PS2_ACK);
                ps2_reply(k->port, &k->q, k->port->translating(k->port->opaque) ? xlated[k->set] : k->set);
            } else if (v <= 3) {
                k->set = v;
                ps2_reply(k->port, &k->q, PS2_ACK);
            } else {
                ps2_reply(k->port, &k->q, PS2_RESEND);
            }
            return;
        }
    }
    switch (v) {
    case 0xee:              /* echo */
        ps2_reply(k->port, &k->q, 0xee);
        break;
    case 0xed: case 0xf3: case 0xf0:    /* LEDs, typematic rate, scan code set */
        k->cmd = v;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf2:              /* identify: MF2, 0x41 through the translation */
        ps2_reply(k->port, &k->q, PS2_ACK);
        ps2_reply(k->port, &k->q, 0xab);
        ps2_reply(k->port, &k->q, k->port->translating(k->port->opaque) ? 0x41 : 0x83);
        break;
    case 0xf4:
        k->scanning = 1;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf5:              /* disable: defaults, and stop scanning */
        kbd_defaults(k);
        k->scanning = 0;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf6:
        kbd_defaults(k);
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        ps2_reply(k->port, &k->q, PS2_ACK);      /* set-3 key types: accepted */
        break;
    case 0xff:              /* reset: ACK, then the self-test passed */
        k->q.count = 0;
        kbd_defaults(k);
        k->scanning = 1;
        ps2_reply(k->port, &k->q, PS2_ACK);
        ps2_reply(k->port, &k->q, PS2_BAT_OK);
        break;
    default:
        ps2_reply(k->port, &k->q, PS2_RESEND);
        break;
    }
}

void ps2_kbd_init(struct ps2_kbd *k, const struct ps2_port *port)
{
    k->port = port;
    k->in = (struct input_handler){ .key = kbd_key, .opaque = k };
    input_set_keyboard(&k->in);
}

void ps2_kbd_cleanup(struct ps2_kbd *k)
{
    input_set_keyboard(NULL);
}

void ps2_kbd_reset(struct ps2_kbd *k)
{
    memset(&k->q, 0, sizeof(k->q));
    k->cmd = 0;
    k->scanning = 1;
    kbd_defaults(k);
}

/* ---- the mouse ---- */

static void mouse_defaults(struct ps2_mouse *k)
{
    k->stream = 1;
    k->enabled = 0;
    k->scaling = 0;
    k->resolution = 2;
    k->rate = 100;
    k->dx = k->dy = k->dz = 0;
}

/* One movement packet (3 bytes, 4 with the wheel); y goes up on PS/2. */
static void mouse_packet(struct ps2_mouse *k)
{
    int dx = MAX(-256, MIN(255, k->dx)), dy = MAX(-256, MIN(255, -k->dy));
    int dz = MAX(-8, MIN(7, k->dz));
    uint8_t b0 = 0x08 | (k->buttons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0);

    ps2_queue_put(&k->q, b0);
    ps2_queue_put(&k->q, dx);
    ps2_queue_put(&k->q, dy);
    if (k->type == 3)
        ps2_queue_put(&k->q, dz & 0x0f);
    k->dx -= dx;
    k->dy += dy;
    k->dz -= dz;
}

static void mouse_rel(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
    struct ps2_mouse *k = opaque;
    bool changed = (buttons & 7) != k->buttons;

    k->dx += dx;
    k->dy += dy;
    k->dz += dz;
    k->buttons = buttons & 7;
    if (!k->stream || !k->enabled)
        return;
    /* send while there is motion to report and room for whole packets */
    while ((changed || k->dx || k->dy || k->dz) && PS2_QSIZE - k->q.count >= 4) {
        mouse_packet(k);
        changed = false;
    }
    ps2_notify(k->port);
}

void ps2_mouse_write(struct ps2_mouse *k, uint8_t v)
{
    uint8_t cmd = k->cmd;

    if (k->wrap && v != 0xec && v != 0xff) {
        ps2_reply(k->port, &k->q, v);
        return;
    }
    if (cmd) {
        k->cmd = 0;
        if (cmd == 0xe8) {
            k->resolution = v & 3;
        } else {
            /* IntelliMouse: sample rates 200, 100, 80 in a row turn on the wheel (ID 3) */
            k->rate = v;
            if ((k->detect == 0 && v == 200) || (k->detect == 1 && v == 100))
                k->detect++;
            else if (k->detect == 2 && v == 80)
                k->type = 3, k->detect = 0;
            else
                k->detect = v == 200;
        }
        ps2_reply(k->port, &k->q, PS2_ACK);
        return;
    }
    switch (v) {
    case 0xe6:
        k->scaling = 0;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xe7:
        k->scaling = 1;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xe8: case 0xf3:
        k->cmd = v;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xe9:              /* status: mode, enable, scaling, buttons; resolution; rate */
        ps2_reply(k->port, &k->q, PS2_ACK);
        ps2_reply(k->port, &k->q, (k->stream ? 0 : 0x40) | (k->enabled ? 0x20 : 0) |
                         (k->scaling ? 0x10 : 0) | (k->buttons & 7));
        ps2_reply(k->port, &k->q, k->resolution);
        ps2_reply(k->port, &k->q, k->rate);
        break;
    case 0xea:
        k->stream = 1;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xeb:              /* read data (remote mode) */
        ps2_reply(k->port, &k->q, PS2_ACK);
        mouse_packet(k);
        ps2_notify(k->port);
        break;
    case 0xec:
        k->wrap = 0;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xee:
        k->wrap = 1;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf0:
        k->stream = 0;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf2:
        ps2_reply(k->port, &k->q, PS2_ACK);
        ps2_reply(k->port, &k->q, k->type);
        break;
    case 0xf4:
        k->enabled = 1;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf5:
        k->enabled = 0;
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xf6:
        mouse_defaults(k);
        ps2_reply(k->port, &k->q, PS2_ACK);
        break;
    case 0xff:              /* reset: ACK, self-test passed, ID 0 */
        k->q.count = 0;
        mouse_defaults(k);
        k->wrap = 0;
        k->type = 0;
        k->detect = 0;
        ps2_reply(k->port, &k->q, PS2_ACK);
        ps2_reply(k->port, &k->q, PS2_BAT_OK);
        ps2_reply(k->port, &k->q, 0x00);
        break;
    default:
        ps2_reply(k->port, &k->q, PS2_RESEND);
        break;
    }
}

void ps2_mouse_init(struct ps2_mouse *m, const struct ps2_port *port)
{
    m->port = port;
    m->in = (struct input_handler){ .rel = mouse_rel, .opaque = m };
    input_set_pointer(&m->in);
}

void ps2_mouse_cleanup(struct ps2_mouse *m)
{
    input_set_pointer(NULL);
}

void ps2_mouse_reset(struct ps2_mouse *m)
{
    memset(&m->q, 0, sizeof(m->q));
    m->cmd = 0;
    m->wrap = 0;
    m->type = 0;
    m->detect = 0;
    m->buttons = 0;
    mouse_defaults(m);
}

/* ---- state ---- */

static const struct vmstate_field ps2_queue_fields[] = {
    VMSTATE_U8_ARRAY(data, struct ps2_queue, PS2_QSIZE),
    VMSTATE_U8_MAX(rptr, struct ps2_queue, PS2_QSIZE - 1),
    VMSTATE_U8_MAX(count, struct ps2_queue, PS2_QSIZE),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc ps2_queue_vmsd = {
    .name = "ps2-queue",
    .version = 1,
    .min_version = 1,
    .fields = ps2_queue_fields,
};

static int ps2_kbd_post_load(void *opaque, int version)
{
    struct ps2_kbd *k = opaque;

    return k->set < 1 || k->set > 3 ? -EINVAL : 0;
}

static const struct vmstate_field ps2_kbd_fields[] = {
    VMSTATE_STRUCT(q, struct ps2_kbd, ps2_queue_vmsd, struct ps2_queue),
    VMSTATE_U8(cmd, struct ps2_kbd),
    VMSTATE_U8_MAX(scanning, struct ps2_kbd, 1),
    VMSTATE_U8_MAX(set, struct ps2_kbd, 3),
    VMSTATE_U8(leds, struct ps2_kbd),
    VMSTATE_U8(rate, struct ps2_kbd),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc ps2_kbd_vmsd = {
    .name = "ps2-kbd",
    .version = 1,
    .min_version = 1,
    .fields = ps2_kbd_fields,
    .post_load = ps2_kbd_post_load,
};

static int ps2_mouse_post_load(void *opaque, int version)
{
    struct ps2_mouse *m = opaque;

    return m->type != 0 && m->type != 3 ? -EINVAL : 0;
}

static const struct vmstate_field ps2_mouse_fields[] = {
    VMSTATE_STRUCT(q, struct ps2_mouse, ps2_queue_vmsd, struct ps2_queue),
    VMSTATE_U8(cmd, struct ps2_mouse),
    VMSTATE_U8_MAX(stream, struct ps2_mouse, 1),
    VMSTATE_U8_MAX(enabled, struct ps2_mouse, 1),
    VMSTATE_U8_MAX(scaling, struct ps2_mouse, 1),
    VMSTATE_U8_MAX(resolution, struct ps2_mouse, 3),
    VMSTATE_U8(rate, struct ps2_mouse),
    VMSTATE_U8_MAX(wrap, struct ps2_mouse, 1),
    VMSTATE_U8_MAX(type, struct ps2_mouse, 3),
    VMSTATE_U8_MAX(detect, struct ps2_mouse, 2),
    VMSTATE_U8_MAX(buttons, struct ps2_mouse, 7),
    VMSTATE_I32(dx, struct ps2_mouse),
    VMSTATE_I32(dy, struct ps2_mouse),
    VMSTATE_I32(dz, struct ps2_mouse),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc ps2_mouse_vmsd = {
    .name = "ps2-mouse",
    .version = 1,
    .min_version = 1,
    .fields = ps2_mouse_fields,
    .post_load = ps2_mouse_post_load,
};
