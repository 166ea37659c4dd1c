/* main-loop.c: epoll event loop, timers, bottom halves, signalfd and the device lock */
#define LOG_PREFIX "main-loop: "
#include "util/main-loop.h"
#include "util/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

static pthread_mutex_t devlock = PTHREAD_MUTEX_INITIALIZER;

void devlock_lock(void) { pthread_mutex_lock(&devlock); }
void devlock_unlock(void) { pthread_mutex_unlock(&devlock); }
void devlock_cond_wait(pthread_cond_t *cond) { pthread_cond_wait(cond, &devlock); }

struct fd_handler {
    int fd;
    fd_handler_fn *fn;
    void *opaque;
    bool deleted;
    struct fd_handler *next;
};

struct timer {
    enum loop_clock clock;
    timer_fn *fn;
    void *opaque;
    int64_t expire;         /* -1 when not armed */
    struct timer *next;     /* in the clock's sorted active list */
};

struct bh {
    bh_fn *fn;
    void *opaque;
    atomic_bool scheduled;
    struct bh *next;
};

struct sig_handler {
    int signo;
    signal_fn *fn;
    void *opaque;
};

static struct {
    int epfd;
    int kick_fd;
    int sig_fd;
    sigset_t sigmask;
    struct sig_handler sigs[16];
    int nsigs;
    struct fd_handler *handlers;    /* all registered, including deleted until reaped */
    struct timer *active[CLK_MAX];
    struct bh *bhs;
    atomic_int quit;
    int quit_status;
    pthread_t main_thread;
    /* virtual clock */
    bool vclock_manual;
    bool vclock_stopped;
    int64_t vclock_offset;          /* virtual = monotonic - offset while running */
    int64_t vclock_stopped_at;
    int64_t vclock_manual_ns;
    int64_t wait_deadline;          /* what the loop sleeps until, for kicks */
    bool initialized;
} main_loop;

static void kick_read(void *opaque, uint32_t events)
{
    uint64_t v;

    if (read(main_loop.kick_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: someone else drained it */
    }
}

static void signal_read(void *opaque, uint32_t events)
{
    struct signalfd_siginfo si;

    while (read(main_loop.sig_fd, &si, sizeof(si)) == sizeof(si)) {
        for (int i = 0; i < main_loop.nsigs; i++)
            if (main_loop.sigs[i].signo == (int)si.ssi_signo)
                main_loop.sigs[i].fn(main_loop.sigs[i].opaque, si.ssi_signo);
    }
}

void loop_init(void)
{
    if (main_loop.initialized)
        return;
    main_loop.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (main_loop.epfd < 0)
        die("cannot create the event loop: epoll_create1: %s", strerror(errno));
    main_loop.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (main_loop.kick_fd < 0)
        die("cannot create the event loop: eventfd: %s", strerror(errno));
    main_loop.sig_fd = -1;
    sigemptyset(&main_loop.sigmask);
    main_loop.main_thread = pthread_self();
    main_loop.vclock_offset = 0;
    main_loop.wait_deadline = INT64_MAX;
    main_loop.initialized = true;
    loop_add_fd(main_loop.kick_fd, EPOLLIN, kick_read, NULL);
}

void loop_cleanup(void)
{
    struct fd_handler *h, *hn;
    struct bh *b, *bn;

    if (!main_loop.initialized)
        return;
    for (h = main_loop.handlers; h; h = hn) {
        hn = h->next;
        free(h);
    }
    for (b = main_loop.bhs; b; b = bn) {
        bn = b->next;
        free(b);
    }
    close(main_loop.kick_fd);
    if (main_loop.sig_fd >= 0)
        close(main_loop.sig_fd);
    close(main_loop.epfd);
    memset(&main_loop, 0, sizeof(main_loop));
}

static struct fd_handler *handler_find(int fd)
{
    for (struct fd_handler *h = main_loop.handlers; h; h = h->next)
        if (h->fd == fd && !h->deleted)
            return h;
    return NULL;
}

int loop_add_fd(int fd, uint32_t events, fd_handler_fn *fn, void *opaque)
{
    struct fd_handler *h = xnew(struct fd_handler);
    struct epoll_event ev = { .events = events, .data.ptr = h };

    h->fd = fd;
    h->fn = fn;
    h->opaque = opaque;
    if (epoll_ctl(main_loop.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = -errno;

        free(h);
        return e;
    }
    h->next = main_loop.handlers;
    main_loop.handlers = h;
    return 0;
}

int loop_mod_fd(int fd, uint32_t events)
{
    struct fd_handler *h = handler_find(fd);
    struct epoll_event ev = { .events = events };

    if (!h)
        return -ENOENT;
    ev.data.ptr = h;
    return epoll_ctl(main_loop.epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void loop_del_fd(int fd)
{
    struct fd_handler *h = handler_find(fd);

    if (!h)
        return;
    epoll_ctl(main_loop.epfd, EPOLL_CTL_DEL, fd, NULL);
    /* freed after the current dispatch pass: its event may still be in the batch */
    h->deleted = true;
}

static void handlers_reap(void)
{
    struct fd_handler **pp = &main_loop.handlers;

    while (*pp) {
        struct fd_handler *h = *pp;

        if (h->deleted) {
            *pp = h->next;
            free(h);
        } else {
            pp = &h->next;
        }
    }
}

/* ---- clocks ---- */

int64_t clock_get_ns(enum loop_clock c)
{
    switch (c) {
    case CLK_VIRTUAL:
        if (main_loop.vclock_manual)
            return main_loop.vclock_manual_ns;
        if (main_loop.vclock_stopped)
            return main_loop.vclock_stopped_at;
        return clock_monotonic_ns() - main_loop.vclock_offset;
    case CLK_REALTIME:
        return clock_monotonic_ns();
    case CLK_HOST:
    default:
        return clock_realtime_ns();
    }
}

void clock_virtual_stop(void)
{
    if (main_loop.vclock_manual || main_loop.vclock_stopped)
        return;
    main_loop.vclock_stopped_at = clock_get_ns(CLK_VIRTUAL);
    main_loop.vclock_stopped = true;
}

void clock_virtual_resume(void)
{
    if (main_loop.vclock_manual || !main_loop.vclock_stopped)
        return;
    main_loop.vclock_offset = clock_monotonic_ns() - main_loop.vclock_stopped_at;
    main_loop.vclock_stopped = false;
    loop_kick();
}

void clock_virtual_set_manual(void)
{
    main_loop.vclock_manual = true;
    main_loop.vclock_manual_ns = 0;
}

bool clock_virtual_is_manual(void)
{
    return main_loop.vclock_manual;
}

/* ---- timers ---- */

struct timer *timer_new(enum loop_clock c, timer_fn *fn, void *opaque)
{
    struct timer *t = xnew(struct timer);

    t->clock = c;
    t->fn = fn;
    t->opaque = opaque;
    t->expire = -1;
    return t;
}

void timer_free(struct timer *t)
{
    if (!t)
        return;
    timer_del(t);
    free(t);
}

void timer_del(struct timer *t)
{
    struct timer **pp;

    if (t->expire < 0)
        return;
    for (pp = &main_loop.active[t->clock]; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->expire = -1;
    t->next = NULL;
}

void timer_mod(struct timer *t, int64_t expire_ns)
{
    struct timer **pp;

    timer_del(t);
    if (expire_ns < 0)
        expire_ns = 0;
    t->expire = expire_ns;
    for (pp = &main_loop.active[t->clock]; *pp && (*pp)->expire <= expire_ns; pp = &(*pp)->next)
        ;
    t->next = *pp;
    *pp = t;
    /* a vCPU thread arming an earlier timer must wake the sleeping loop */
    if (t == main_loop.active[t->clock] && !pthread_equal(pthread_self(), main_loop.main_thread))
        loop_kick();
}

bool timer_pending(struct timer *t)
{
    return t->expire >= 0;
}

int64_t timer_expire_time(struct timer *t)
{
    return t->expire;
}

/* Run the timers of clock c that are due at `now`. Returns whether any ran. */
static bool timers_run(enum loop_clock c, int64_t now)
{
    bool ran = false;

    while (main_loop.active[c] && main_loop.active[c]->expire <= now) {
        struct timer *t = main_loop.active[c];

        main_loop.active[c] = t->next;
        t->next = NULL;
        t->expire = -1;
        t->fn(t->opaque);
        ran = true;
    }
    return ran;
}

int64_t clock_virtual_next_deadline(void)
{
    return main_loop.active[CLK_VIRTUAL] ? main_loop.active[CLK_VIRTUAL]->expire : -1;
}

int64_t clock_virtual_step(int64_t ns)
{
    int64_t target;

    if (ns < 0) {
        int64_t d = clock_virtual_next_deadline();

        target = d >= 0 ? MAX(d, main_loop.vclock_manual_ns) : main_loop.vclock_manual_ns;
    } else {
        target = main_loop.vclock_manual_ns + ns;
    }
    /* step through each deadline so that timers see their own time */
    while (main_loop.active[CLK_VIRTUAL] && main_loop.active[CLK_VIRTUAL]->expire <= target) {
        main_loop.vclock_manual_ns = MAX(main_loop.vclock_manual_ns, main_loop.active[CLK_VIRTUAL]->expire);
        timers_run(CLK_VIRTUAL, main_loop.vclock_manual_ns);
    }
    main_loop.vclock_manual_ns = target;
    return target;
}

/* Milliseconds until the earliest deadline, for epoll_wait (-1 = forever). */
static int next_timeout_ms(void)
{
    int64_t best = INT64_MAX;

    for (int c = 0; c < CLK_MAX; c++) {
        int64_t d;

        if (!main_loop.active[c] || (c == CLK_VIRTUAL && (main_loop.vclock_manual || main_loop.vclock_stopped)))
            continue;
        d = main_loop.active[c]->expire - clock_get_ns(c);
        if (d < best)
            best = d;
    }
    if (best == INT64_MAX)
        return -1;
    if (best <= 0)
        return 0;
    /* round up so that we never wake just before the deadline */
    return (int)MIN((best + 999999) / 1000000, (int64_t)INT32_MAX);
}

/* ---- bottom halves ---- */

struct bh *bh_new(bh_fn *fn, void *opaque)
{
    struct bh *b = xnew(struct bh);

    b->fn = fn;
    b->opaque = opaque;
    b->next = main_loop.bhs;
    main_loop.bhs = b;
    return b;
}

void bh_schedule(struct bh *b)
{
    if (!atomic_exchange(&b->scheduled, true))
        loop_kick();
}

/* bottom halves a vCPU thread runs itself after the exit in hand; nlocal < 0 outside one */
#define BH_LOCAL_MAX 8
static __thread struct bh *local_bhs[BH_LOCAL_MAX];
static __thread int nlocal = -1;

void bh_local_begin(void)
{
    nlocal = 0;
}

void bh_schedule_soon(struct bh *b)
{
    /* a full list (a chain of completions) goes on in the main loop: the exit stays short */
    if (nlocal < 0 || nlocal == BH_LOCAL_MAX) {
        bh_schedule(b);
        return;
    }
    if (!atomic_exchange(&b->scheduled, true))
        local_bhs[nlocal++] = b;
}

void bh_local_end(void)
{
    /* what these run may schedule more: the list grows, bounded by its size */
    for (int i = 0; i < nlocal; i++)
        if (atomic_exchange(&local_bhs[i]->scheduled, false))
            local_bhs[i]->fn(local_bhs[i]->opaque);
    nlocal = -1;
}

void bh_cancel(struct bh *b)
{
    atomic_store(&b->scheduled, false);
}

void bh_free(struct bh *b)
{
    struct bh **pp;

    if (!b)
        return;
    for (pp = &main_loop.bhs; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    free(b);
}

static bool bhs_run(void)
{
    bool ran = false;

    for (struct bh *b = main_loop.bhs; b; b = b->next) {
        if (atomic_exchange(&b->scheduled, false)) {
            b->fn(b->opaque);
            ran = true;
        }
    }
    return ran;
}

/* ---- signals ---- */

int loop_add_signal(int signo, signal_fn *fn, void *opaque)
{
    if (main_loop.nsigs == (int)ARRAY_SIZE(main_loop.sigs))
        return -ENOSPC;
    sigaddset(&main_loop.sigmask, signo);
    if (pthread_sigmask(SIG_BLOCK, &main_loop.sigmask, NULL) != 0)
        return -EINVAL;
    if (main_loop.sig_fd < 0) {
        main_loop.sig_fd = signalfd(-1, &main_loop.sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (main_loop.sig_fd < 0)
            return -errno;
        loop_add_fd(main_loop.sig_fd, EPOLLIN, signal_read, NULL);
    } else if (signalfd(main_loop.sig_fd, &main_loop.sigmask, 0) < 0) {
        return -errno;
    }
    main_loop.sigs[main_loop.nsigs++] = (struct sig_handler){ signo, fn, opaque };
    return 0;
}

/* ---- the loop ---- */

void loop_kick(void)
{
    uint64_t one = 1;

    if (write(main_loop.kick_fd, &one, sizeof(one)) < 0) {
        /* counter full means a kick is pending anyway */
    }
}

void loop_quit(int status)
{
    main_loop.quit_status = status;
    atomic_store(&main_loop.quit, 1);
    loop_kick();
}

bool loop_quit_requested(void)
{
    return atomic_load(&main_loop.quit);
}

void loop_iterate(bool blocking)
{
    struct epoll_event evs[32];
    int n, timeout;
    bool work;

    work = bhs_run();
    timeout = (blocking && !work) ? next_timeout_ms() : 0;
    if (atomic_load(&main_loop.quit))
        timeout = 0;

    devlock_unlock();
    n = epoll_wait(main_loop.epfd, evs, ARRAY_SIZE(evs), timeout);
    devlock_lock();

    for (int i = 0; i < n; i++) {
        struct fd_handler *h = evs[i].data.ptr;

        if (!h->deleted)
            h->fn(h->opaque, evs[i].events);
    }
    handlers_reap();
    for (int c = 0; c < CLK_MAX; c++) {
        if (c == CLK_VIRTUAL && (main_loop.vclock_manual || main_loop.vclock_stopped))
            continue;
        timers_run(c, clock_get_ns(c));
    }
    bhs_run();
}

int loop_run(void)
{
    while (!atomic_load(&main_loop.quit))
        loop_iterate(true);
    return main_loop.quit_status;
}
