/* input.h: the key and pointer input path: a display (VNC, SDL, the monitor's sendkey) sends events, the machine's keyboard and mouse take them */
#ifndef UI_INPUT_H
#define UI_INPUT_H

#include "util/osdep.h"

/*
 * Keys are numbered by their PC scan code set 1 make code; keys sent with an 0xe0
 * prefix have INPUT_KEY_E0 added (right Ctrl is 0x11d, cursor up 0x148).
 */
#define INPUT_KEY_E0        0x100
#define INPUT_KEY_PAUSE     0x245   /* sent as E1 1D 45 E1 9D C5 */
#define INPUT_KEY_PRINT     0x137   /* E0 37 (with E0 2A around it in set 1) */

#define INPUT_BUTTON_LEFT   0x01
#define INPUT_BUTTON_RIGHT  0x02
#define INPUT_BUTTON_MIDDLE 0x04

struct input_handler {
    void (*key)(void *opaque, unsigned key, bool down);
    /* relative motion (x right, y down, wheel z towards the user) and the buttons held */
    void (*rel)(void *opaque, int dx, int dy, int dz, unsigned buttons);
    void *opaque;
};

/* The device that takes keys / pointer events (the last to register wins); NULL removes. */
void input_set_keyboard(const struct input_handler *h);
void input_set_pointer(const struct input_handler *h);
/* Called with the device lock held. */
void input_key_event(unsigned key, bool down);
void input_rel_event(int dx, int dy, int dz, unsigned buttons);

#endif
