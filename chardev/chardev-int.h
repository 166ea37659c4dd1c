/* chardev-int.h: what the chardev layer and its backends share: the chardev, a backend's ops table, the layer's helpers */
#ifndef CHARDEV_CHARDEV_INT_H
#define CHARDEV_CHARDEV_INT_H

#include "chardev/chardev.h"
#include "util/opts.h"

#define CHARDEV_MAX_FRONTENDS 4

struct chardev_frontend {
    const struct chardev_fe_ops *ops;
    void *opaque;
};

/*
 * A chardev moves bytes between its frontends and two file descriptors a backend opened:
 * the layer reads in_fd and writes out_fd from the main loop, buffers output the fd cannot
 * take yet, and feeds input to the frontend that has the focus (through the Ctrl-A escape
 * on a mux).
 */
struct chardev {
    char *id;
    const struct chardev_ops *ops;
    void *state;                /* the backend's own, zeroed, ops->state_size bytes */
    int in_fd;                  /* -1: no input */
    int out_fd;                 /* -1: output dropped */
    bool want_input;            /* input is being read (not paused, not at EOF) */
    bool in_paused;             /* the frontend is full: not polled until it asks for more */
    uint32_t in_events;         /* what in_fd is registered for in the loop (0: not registered) */
    uint32_t out_events;        /* same for out_fd when it differs from in_fd */
    /* frontends; more than one only for a mux */
    struct chardev_frontend fe[CHARDEV_MAX_FRONTENDS];
    int nfe, focus;
    bool mux, escape;
    /* output that the fd could not take yet */
    uint8_t *obuf;
    size_t olen;
    bool drop_warned;
    struct chardev *next;
};

/*
 * A backend, -chardev NAME. Each registers its table once from a constructor
 * (CHARDEV_BACKEND_REGISTER), so a new backend is one new file. Hooks left NULL do what the
 * comment says.
 */
struct chardev_ops {
    const char *name;
    size_t state_size;          /* c->state, allocated zeroed before parse */
    /*
     * Take the backend's options from o into c->state (each opts_get marks one taken; the
     * layer refuses what is left) and check them; nothing is opened yet, so a refused option
     * leaves no trace. 0 or -errno with *err. NULL: the backend takes no options.
     */
    int (*parse)(struct chardev *c, struct opts *o, char **err);
    /* Open what the options name: set in_fd and out_fd. 0 or -errno with *err. NULL: neither. */
    int (*open)(struct chardev *c, char **err);
    /*
     * The other end went away: EOF or an error reading in_fd, or a write that failed. NULL:
     * input ends there and output that could not be written is dropped.
     */
    void (*hangup)(struct chardev *c);
    /* Whether there is someone at the other end now. NULL: always. */
    bool (*is_connected)(const struct chardev *c);
    /* At start-up, block until a peer comes if the options say to wait. NULL: never waits. */
    int (*wait_connected)(struct chardev *c, char **err);
    /* Undo parse and open (also after either failed). NULL: close in_fd and out_fd. */
    void (*close)(struct chardev *c);
    /* Output goes nowhere: frontends are not told the chardev opened. */
    bool sink;
};

void chardev_backend_register(const struct chardev_ops *ops);
#define CHARDEV_BACKEND_REGISTER(ops) \
    static void __attribute__((constructor)) register_##ops(void) { chardev_backend_register(&(ops)); }

/* The layer, for its backends */
/* Poll in_fd and out_fd for what is wanted now: input unless paused or ended, output while buffered. */
void chardev_update_watch(struct chardev *c);
/* Stop reading and drop buffered output: before the backend closes its fds. */
void chardev_stop_io(struct chardev *c);
void chardev_close_fds(struct chardev *c);
/* A system call failed: *err = "chardev 'ID': WHAT: <errno's text>"; returns -errno. */
int chardev_syserr(struct chardev *c, char **err, const char *fmt, ...) PRINTF_FMT(3, 4);
/*
 * QEMU's options that a backend (or the layer) does not implement, refused by name rather
 * than ignored: "chardev 'ID': skiff does not implement KEY=VALUE (WHAT)". `accepted` is the
 * one value that asks for what skiff does anyway, "off" (of an on/off) or "0" (of a number),
 * or NULL.
 */
struct chardev_unimplemented {
    const char *key;
    const char *accepted;
    const char *what;
};
int chardev_refuse_unimplemented(struct chardev *c, struct opts *o,
                                 const struct chardev_unimplemented *list, char **err);
/* Tell every frontend. */
void chardev_send_event(struct chardev *c, enum chardev_event ev);

static inline struct chardev_frontend *chardev_focus(struct chardev *c)
{
    return c->nfe ? &c->fe[c->focus] : NULL;
}

/* char-mux.c: bytes typed on a mux, with its Ctrl-A escapes */
void chardev_mux_input(struct chardev *c, const uint8_t *buf, int len);

#endif
