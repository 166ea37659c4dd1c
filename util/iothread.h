/* iothread.h: I/O threads (-object iothread): each runs an event loop of its own, without the device lock */
#ifndef UTIL_IOTHREAD_H
#define UTIL_IOTHREAD_H

#include "util/main-loop.h"

/*
 * What runs where. An I/O thread serves what a device hands it: fd handlers (a virtqueue's
 * ioeventfd), bottom halves, the completions of the device's drive (block_set_loop). It never
 * takes the device lock: work that needs it goes to the main loop as a bottom half. The main
 * thread (or a vCPU thread, holding the device lock) reaches into it with iothread_run,
 * which waits; a drain waits for the thread's completions from the main thread.
 *
 * Threads are made, found and freed from the main thread.
 */
struct iothread;

/* Start an I/O thread named `id` (unique among I/O threads): 0, or -errno with *err. */
int iothread_new(struct iothread **out, const char *id, char **err);
struct iothread *iothread_find(const char *id);
const char *iothread_id(struct iothread *t);
struct event_loop *iothread_loop(struct iothread *t);

/* Handlers and bottom halves in the thread's loop (event_loop_add_fd, bh_new_in on it). */
int iothread_add_fd(struct iothread *t, int fd, uint32_t events, fd_handler_fn *fn, void *opaque);
/* Once this returns, the handler is not running and will not run again. */
void iothread_del_fd(struct iothread *t, int fd);
struct bh *iothread_bh_new(struct iothread *t, bh_fn *fn, void *opaque);

/* Run fn(opaque) in the thread and return when it has run: a device's reset, configuration change, or drain. */
void iothread_run(struct iothread *t, void (*fn)(void *opaque), void *opaque);

/* Stop the thread, join it and free it; every device that used it has been drained and has let go of it. */
void iothread_free(struct iothread *t);
void iothread_free_all(void);

#endif
