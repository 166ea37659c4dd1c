/* main-loop.h: event loops (epoll: fds, timers, bottom halves, posted work); the main loop with its signals, virtual clock and the device lock */
#ifndef UTIL_MAIN_LOOP_H
#define UTIL_MAIN_LOOP_H

#include "util/osdep.h"

#include <pthread.h>
#include <sys/epoll.h>

/*
 * The device lock. The main loop holds it while it runs handlers, timers and
 * bottom halves; a vCPU thread takes it before calling device code. Device
 * models therefore need not be thread-safe unless they say so. An I/O thread
 * (util/iothread.h) runs its loop without it and never waits for it.
 */
void devlock_lock(void);
void devlock_unlock(void);
/* Wait on a condition variable with the device lock as its mutex. */
void devlock_cond_wait(pthread_cond_t *cond);

/*
 * Event loops. The main loop is the one the calls without a loop argument use
 * (loop_add_fd, bh_new, timer_new, loop_iterate, loop_run ...); it runs in the
 * main thread with the device lock. Other loops are made with event_loop_new and
 * run by a thread of their own (an I/O thread), without the device lock; the
 * calls that name a loop (event_loop_*, bh_new_in, timer_new_in) reach them.
 *
 * From any thread: event_loop_add_fd, event_loop_mod_fd, bh_new_in, bh_schedule,
 * event_loop_post, event_loop_kick, event_loop_quit. event_loop_del_fd and bh_free
 * from another thread than the loop's wait until the handler cannot be running.
 * Timers are armed and removed in their loop's thread (the main loop's: with the
 * device lock held).
 */
struct event_loop;

void loop_init(void);
void loop_cleanup(void);
struct event_loop *event_loop_main(void);
/* The loop the calling thread serves: an I/O thread's own, else the main loop (main and vCPU threads). */
struct event_loop *event_loop_current(void);

/* A loop for a thread of its own; 0 or -errno. Free it when no thread runs it. */
int event_loop_new(struct event_loop **out);
/* Work still posted to it runs here; fd handlers and bottom halves left in it are freed. */
void event_loop_free(struct event_loop *l);
/*
 * The calling thread runs l from now on (bind) or no longer (unbind): while a loop is
 * bound, event_loop_run_sync from other threads waits for its thread. Unbinding runs what
 * was posted to it before.
 */
void event_loop_bind_thread(struct event_loop *l);
void event_loop_unbind_thread(struct event_loop *l);

/* fd handlers: `events` is EPOLLIN/EPOLLOUT; the handler sees the epoll events that fired. */
typedef void fd_handler_fn(void *opaque, uint32_t events);
int event_loop_add_fd(struct event_loop *l, int fd, uint32_t events, fd_handler_fn *fn, void *opaque);
int event_loop_mod_fd(struct event_loop *l, int fd, uint32_t events);
void event_loop_del_fd(struct event_loop *l, int fd);
int loop_add_fd(int fd, uint32_t events, fd_handler_fn *fn, void *opaque);
int loop_mod_fd(int fd, uint32_t events);
void loop_del_fd(int fd);

/*
 * Clocks. CLK_VIRTUAL is the guest's time: it stops while the VM is stopped
 * and, under the test accelerator, moves only when the test steps it.
 * CLK_REALTIME is host monotonic time (UI, rate limits); CLK_HOST is wall time.
 */
enum loop_clock { CLK_VIRTUAL, CLK_REALTIME, CLK_HOST, CLK_MAX };
int64_t clock_get_ns(enum loop_clock c);
/* Stop or resume CLK_VIRTUAL (VM stop/cont). */
void clock_virtual_stop(void);
void clock_virtual_resume(void);
/* Test accelerator: CLK_VIRTUAL is driven by clock_virtual_step only. */
void clock_virtual_set_manual(void);
bool clock_virtual_is_manual(void);
/* Advance the manual clock by ns (or to the next timer deadline when ns < 0), running timers due. */
int64_t clock_virtual_step(int64_t ns);
/* The next CLK_VIRTUAL deadline, or -1 when no timer is armed. */
int64_t clock_virtual_next_deadline(void);

struct timer;
typedef void timer_fn(void *opaque);
/* A main-loop timer. */
struct timer *timer_new(enum loop_clock c, timer_fn *fn, void *opaque);
/* A timer of loop l; CLK_VIRTUAL is the main loop's only (it follows the VM's run state). */
struct timer *timer_new_in(struct event_loop *l, enum loop_clock c, timer_fn *fn, void *opaque);
void timer_free(struct timer *t);
/* Arm (or re-arm) at absolute time expire_ns on the timer's clock, in the timer's loop (see above). */
void timer_mod(struct timer *t, int64_t expire_ns);
void timer_del(struct timer *t);
bool timer_pending(struct timer *t);
int64_t timer_expire_time(struct timer *t);

/* Bottom halves: work scheduled from any thread, run once by their loop. */
struct bh;
typedef void bh_fn(void *opaque);
struct bh *bh_new(bh_fn *fn, void *opaque);     /* in the main loop */
struct bh *bh_new_in(struct event_loop *l, bh_fn *fn, void *opaque);
void bh_schedule(struct bh *bh);     /* thread-safe, lock-free */
/*
 * Run bh as soon as the device callback in hand has returned: a vCPU thread handling an exit
 * runs it itself right after the exit (between bh_local_begin and bh_local_end), so the guest's
 * next access sees the result without a main loop wake-up; anywhere else, or for a bottom half
 * of another loop than the main one, it is bh_schedule.
 * For completions that need no other thread (a request the page cache served in place).
 */
void bh_schedule_soon(struct bh *bh);
void bh_local_begin(void);
void bh_local_end(void);
void bh_cancel(struct bh *bh);
void bh_free(struct bh *bh);

/*
 * Posted work: fn(opaque) runs once in l's thread, in the order posted. The caller's
 * struct stays valid until fn has run (or event_loop_unpost took it back): no allocation,
 * for completions posted by worker threads. From any thread.
 */
struct loop_work {
    void (*fn)(void *opaque);
    void *opaque;
    struct loop_work *next;
};
void event_loop_post(struct event_loop *l, struct loop_work *w);
/* Take back work not yet run; true if it was. From l's own thread (main loop: device lock held). */
bool event_loop_unpost(struct event_loop *l, struct loop_work *w);
/*
 * Run fn(opaque) in l's thread and wait until it has run (directly when the caller is that
 * thread, or no thread runs l). For the main loop, the caller holds the device lock and fn
 * runs in place. The loop's thread never waits for the caller, so this cannot deadlock as
 * long as I/O threads never wait for the device lock.
 */
void event_loop_run_sync(struct event_loop *l, void (*fn)(void *opaque), void *opaque);

/* Signals through signalfd, in the main loop: the signal is blocked in every thread started after this call. */
typedef void signal_fn(void *opaque, int signo);
int loop_add_signal(int signo, signal_fn *fn, void *opaque);

/*
 * Run until quit; returns the status passed to event_loop_quit. One pass of iterate waits
 * (if blocking) for events and runs what is ready. The main loop's calls (loop_run,
 * loop_iterate) are made with the device lock held, which they drop while waiting.
 */
int event_loop_run(struct event_loop *l);
void event_loop_iterate(struct event_loop *l, bool blocking);
void event_loop_quit(struct event_loop *l, int status);     /* thread-safe */
/* Wake the loop from another thread so it re-reads timers and bottom halves. */
void event_loop_kick(struct event_loop *l);
int loop_run(void);
void loop_iterate(bool blocking);
void loop_quit(int status);
bool loop_quit_requested(void);
void loop_kick(void);

#endif
