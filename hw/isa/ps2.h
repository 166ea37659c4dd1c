/* ps2.h: PS/2 devices as a controller embeds them: an MF2 keyboard and a mouse, each with its queue of bytes for the host */
#ifndef HW_ISA_PS2_H
#define HW_ISA_PS2_H

#include "ui/input.h"
#include "util/osdep.h"

struct vmstate_desc;

#define PS2_QSIZE 64

/* Bytes a device (or the controller) has for the host, oldest first. */
struct ps2_queue {
    uint8_t data[PS2_QSIZE];
    uint8_t rptr, count;
};
void ps2_queue_put(struct ps2_queue *q, uint8_t v);
uint8_t ps2_queue_get(struct ps2_queue *q);
extern const struct vmstate_desc ps2_queue_vmsd;

/* What a PS/2 device needs of the port it is plugged into (the 8042). */
struct ps2_port {
    /* bytes were queued: the controller moves one to its output buffer when it can */
    void (*notify)(void *opaque);
    /* the controller translates set 2 to set 1 (the keyboard reports its set that way) */
    bool (*translating)(void *opaque);
    void *opaque;
};

struct ps2_kbd {
    const struct ps2_port *port;
    struct input_handler in;
    struct ps2_queue q;
    uint8_t cmd;                /* a command waiting for its argument */
    uint8_t scanning;
    uint8_t set;                /* scan code set 1, 2 or 3 */
    uint8_t leds, rate;
};

struct ps2_mouse {
    const struct ps2_port *port;
    struct input_handler in;
    struct ps2_queue q;
    uint8_t cmd;
    uint8_t stream;             /* stream mode (else remote) */
    uint8_t enabled;
    uint8_t scaling;            /* 2:1 */
    uint8_t resolution, rate;
    uint8_t wrap;
    uint8_t type;               /* 0: standard, 3: IntelliMouse (wheel) */
    uint8_t detect;             /* progress through the 200, 100, 80 rate sequence */
    uint8_t buttons;
    int32_t dx, dy, dz;
};

/* Plug in: the keyboard and mouse take the input router's keys and relative motion. */
void ps2_kbd_init(struct ps2_kbd *k, const struct ps2_port *port);
void ps2_mouse_init(struct ps2_mouse *m, const struct ps2_port *port);
void ps2_kbd_cleanup(struct ps2_kbd *k);
void ps2_mouse_cleanup(struct ps2_mouse *m);
/* Power-on state (queue empty, defaults). */
void ps2_kbd_reset(struct ps2_kbd *k);
void ps2_mouse_reset(struct ps2_mouse *m);
/* A byte the host sends the device (a command or its argument). */
void ps2_kbd_write(struct ps2_kbd *k, uint8_t v);
void ps2_mouse_write(struct ps2_mouse *m, uint8_t v);
extern const struct vmstate_desc ps2_kbd_vmsd;
extern const struct vmstate_desc ps2_mouse_vmsd;

#endif
