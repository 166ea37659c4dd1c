/* cmd-input.c: the command core send-key: QEMU's key names as PC scan code set 1, pressed together and let go after a hold time */
#include "monitor/commands.h"
#include "ui/input.h"           // input_key_event
#include "util/main-loop.h"     // timer_new, clock_get_ns

/* QEMU's key names (its QKeyCode), as set 1 codes with the 0xe0 prefix as 0x1xx (ui/input.h) */
static const struct { const char *name; unsigned key; } keys[] = {
    { "esc", 0x01 }, { "1", 0x02 }, { "2", 0x03 }, { "3", 0x04 }, { "4", 0x05 }, { "5", 0x06 },
    { "6", 0x07 }, { "7", 0x08 }, { "8", 0x09 }, { "9", 0x0a }, { "0", 0x0b }, { "minus", 0x0c },
    { "equal", 0x0d }, { "backspace", 0x0e }, { "tab", 0x0f }, { "q", 0x10 }, { "w", 0x11 },
    { "e", 0x12 }, { "r", 0x13 }, { "t", 0x14 }, { "y", 0x15 }, { "u", 0x16 }, { "i", 0x17 },
    { "o", 0x18 }, { "p", 0x19 }, { "bracket_left", 0x1a }, { "bracket_right", 0x1b },
    { "ret", 0x1c }, { "ctrl", 0x1d }, { "a", 0x1e }, { "s", 0x1f }, { "d", 0x20 }, { "f", 0x21 },
    { "g", 0x22 }, { "h", 0x23 }, { "j", 0x24 }, { "k", 0x25 }, { "l", 0x26 },
    { "semicolon", 0x27 }, { "apostrophe", 0x28 }, { "grave_accent", 0x29 }, { "shift", 0x2a },
    { "backslash", 0x2b }, { "z", 0x2c }, { "x", 0x2d }, { "c", 0x2e }, { "v", 0x2f },
    { "b", 0x30 }, { "n", 0x31 }, { "m", 0x32 }, { "comma", 0x33 }, { "dot", 0x34 },
    { "slash", 0x35 }, { "shift_r", 0x36 }, { "asterisk", 0x37 }, { "kp_multiply", 0x37 },
    { "alt", 0x38 }, { "spc", 0x39 }, { "caps_lock", 0x3a }, { "f1", 0x3b }, { "f2", 0x3c },
    { "f3", 0x3d }, { "f4", 0x3e }, { "f5", 0x3f }, { "f6", 0x40 }, { "f7", 0x41 },
    { "f8", 0x42 }, { "f9", 0x43 }, { "f10", 0x44 }, { "num_lock", 0x45 },
    { "scroll_lock", 0x46 }, { "kp_7", 0x47 }, { "kp_8", 0x48 }, { "kp_9", 0x49 },
    { "kp_subtract", 0x4a }, { "kp_4", 0x4b }, { "kp_5", 0x4c }, { "kp_6", 0x4d },
    { "kp_add", 0x4e }, { "kp_1", 0x4f }, { "kp_2", 0x50 }, { "kp_3", 0x51 }, { "kp_0", 0x52 },
    { "kp_decimal", 0x53 }, { "less", 0x56 }, { "f11", 0x57 }, { "f12", 0x58 },
    { "kp_enter", 0x11c }, { "ctrl_r", 0x11d }, { "kp_divide", 0x135 }, { "print", 0x137 },
    { "sysrq", 0x137 }, { "alt_r", 0x138 }, { "home", 0x147 }, { "up", 0x148 },
    { "pgup", 0x149 }, { "left", 0x14b }, { "right", 0x14d }, { "end", 0x14f },
    { "down", 0x150 }, { "pgdn", 0x151 }, { "insert", 0x152 }, { "delete", 0x153 },
    { "meta_l", 0x15b }, { "meta_r", 0x15c }, { "menu", 0x15d }, { "pause", 0x245 },
};

/* One keyboard: the keys pressed by the last send-key, held until the timer lets them go */
static struct {
    struct timer *release;
    unsigned held[MON_SEND_KEY_MAX];
    int nheld;
} keyboard;

/* A key by QEMU's name, or as a number (0x1d: a set 1 code, 0xe0 prefix as 0x1xx). */
static int key_parse(const char *s, unsigned *key)
{
    char *end;
    unsigned long v;

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (!strcmp(keys[i].name, s)) {
            *key = keys[i].key;
            return 0;
        }
    }
    errno = 0;
    v = strtoul(s, &end, 0);
    if (!errno && *s && !*end && v > 0 && v < 0x200 && (v & 0x7f)) {
        *key = v;
        return 0;
    }
    return -EINVAL;
}

/* last pressed, first released */
static void keyboard_release(void *opaque)
{
    while (keyboard.nheld)
        input_key_event(keyboard.held[--keyboard.nheld], false);
}

int mon_send_key(const char *const *names, int nkeys, int hold_time, char **err)
{
    unsigned codes[MON_SEND_KEY_MAX];

    for (int i = 0; i < nkeys; i++) {
        if (i == MON_SEND_KEY_MAX) {
            *err = xasprintf("at most %d keys at once", MON_SEND_KEY_MAX);
            return -EINVAL;
        }
        if (key_parse(names[i], &codes[i]) < 0) {
            *err = xasprintf("unknown key '%s'", names[i]);
            return -EINVAL;
        }
    }
    if (hold_time < 0 || hold_time > MON_SEND_KEY_HOLD_MAX) {
        *err = xasprintf("hold time %d: milliseconds, 0 to %d", hold_time, MON_SEND_KEY_HOLD_MAX);
        return -EINVAL;
    }
    if (!keyboard.release)
        keyboard.release = timer_new(CLK_REALTIME, keyboard_release, NULL);
    timer_del(keyboard.release);
    keyboard_release(NULL);
    for (int i = 0; i < nkeys; i++) {
        input_key_event(codes[i], true);
        keyboard.held[keyboard.nheld++] = codes[i];
    }
    timer_mod(keyboard.release, clock_get_ns(CLK_REALTIME) + hold_time * 1000000LL);
    return 0;
}

void mon_send_key_cleanup(void)
{
    timer_free(keyboard.release);
    keyboard.release = NULL;
    keyboard.nheld = 0;
}
