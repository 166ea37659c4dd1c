/* chardev.h: character devices, the one byte-stream layer behind UARTs, the monitor, QMP and debugcon */
#ifndef CHARDEV_CHARDEV_H
#define CHARDEV_CHARDEV_H

#include "util/osdep.h"

enum chardev_event { CHR_EVENT_OPENED, CHR_EVENT_CLOSED, CHR_EVENT_BREAK, CHR_EVENT_FOCUS };

/* What a frontend (a UART, the monitor) gives its chardev. */
struct chardev_fe_ops {
    /* How many bytes the frontend can take now; 0 pauses input until chardev_accept_input. */
    int (*can_read)(void *opaque);
    void (*read)(void *opaque, const uint8_t *buf, int len);
    void (*event)(void *opaque, enum chardev_event ev);
};

struct chardev;

/* -chardev BACKEND,id=ID,... (stdio, file, pipe, pty, socket, null). NULL with *err on failure. */
struct chardev *chardev_new(const char *spec, char **err);
/*
 * The short forms of -serial, -monitor, -qtest: stdio, mon:stdio, null, none, file:PATH,
 * pipe:PATH, pty, unix:PATH[,server=on][,wait=off], tcp:[HOST]:PORT[,server=on][,wait=off],
 * chardev:ID. `id` names the new chardev. Returns NULL with *err, or NULL without *err for "none".
 */
struct chardev *chardev_new_legacy(const char *spec, const char *id, char **err);
struct chardev *chardev_find(const char *id);
const char *chardev_id(const struct chardev *c);

/*
 * Attach a frontend. A mux chardev (mon:stdio) takes several and switches
 * between them with Ctrl-A c; others take one. Returns 0 or -EBUSY.
 */
int chardev_attach(struct chardev *c, const struct chardev_fe_ops *ops, void *opaque);
void chardev_detach(struct chardev *c, void *opaque);
/* Whether input goes to this frontend now (on a mux: whether Ctrl-A c switched to it). */
bool chardev_has_focus(struct chardev *c, void *opaque);
/* Send bytes to the outside. Never blocks; output that cannot be taken is dropped. */
void chardev_write(struct chardev *c, const uint8_t *buf, size_t len);
void chardev_printf(struct chardev *c, const char *fmt, ...) PRINTF_FMT(2, 3);
/*
 * Send all of buf, waiting as long as the reader reads (as QEMU's qemu_chr_fe_write_all): for
 * the test protocol, whose replies (a megabyte of guest memory in hex) must arrive whole. It
 * blocks the calling thread; after 30 s without progress what is left goes to chardev_write.
 * Returns 0, -EPIPE when the reader went away, -ETIMEDOUT.
 */
int chardev_write_all(struct chardev *c, const uint8_t *buf, size_t len);
/* The frontend can take input again after its can_read returned 0. */
void chardev_accept_input(struct chardev *c);
bool chardev_is_connected(const struct chardev *c);

/* Wait for clients of servers with wait=on; called once the machine is built. */
int chardev_wait_clients(char **err);
/* Restore the terminal and free every chardev. */
void chardev_cleanup_all(void);

#endif
