/* main-loop.h: the event loop (epoll), timers on three clocks, bottom halves, signals, and the device lock */
#ifndef UTIL_MAIN_LOOP_H
#define UTIL_MAIN_LOOP_H

#include "util/osdep.h"

#include <sys/epoll.h>

/*
 * The device lock. The main loop holds it while it runs handlers, timers and
 * bottom halves; a vCPU thread takes it before calling device code. Device
 * models therefore need not be thread-safe unless they say so.
 */
void devlock_lock(void);
void devlock_unlock(void);
/* Wait on a condition variable with the device lock as its mutex. */
#include <pthread.h>
void devlock_cond_wait(pthread_cond_t *cond);

void loop_init(void);
void loop_cleanup(void);

/* fd handlers: `events` is EPOLLIN/EPOLLOUT; the handler sees the epoll events that fired. */
typedef void fd_handler_fn(void *opaque, uint32_t events);
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
struct timer *timer_new(enum loop_clock c, timer_fn *fn, void *opaque);
void timer_free(struct timer *t);
/* Arm (or re-arm) at absolute time expire_ns on the timer's clock. Needs the device lock. */
void timer_mod(struct timer *t, int64_t expire_ns);
void timer_del(struct timer *t);
bool timer_pending(struct timer *t);
int64_t timer_expire_time(struct timer *t);

/* Bottom halves: work posted from any thread, run once by the main loop. */
struct bh;
typedef void bh_fn(void *opaque);
struct bh *bh_new(bh_fn *fn, void *opaque);
void bh_schedule(struct bh *bh);     /* thread-safe, lock-free */
/*
 * Run bh as soon as the device callback in hand has returned: a vCPU thread handling an exit
 * runs it itself right after the exit (between bh_local_begin and bh_local_end), so the guest's
 * next access sees the result without a main loop wake-up; anywhere else it is bh_schedule.
 * For completions that need no other thread (a request the page cache served in place).
 */
void bh_schedule_soon(struct bh *bh);
void bh_local_begin(void);
void bh_local_end(void);
void bh_cancel(struct bh *bh);
void bh_free(struct bh *bh);

/* Signals through signalfd: the signal is blocked in every thread started after this call. */
typedef void signal_fn(void *opaque, int signo);
int loop_add_signal(int signo, signal_fn *fn, void *opaque);

/* Run until loop_quit; returns the status passed to it. Call with the device lock held. */
int loop_run(void);
/* One pass: wait (if blocking) for events, run what is ready. Call with the device lock held. */
void loop_iterate(bool blocking);
/* Ask loop_run to return `status` (thread-safe). */
void loop_quit(int status);
bool loop_quit_requested(void);
/* Wake the loop from another thread so it re-reads timers and bottom halves. */
void loop_kick(void);

#endif
