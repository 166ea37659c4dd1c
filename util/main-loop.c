/* main-loop.c: epoll event loops (the main one and I/O threads'), timers, bottom halves, posted work, signalfd and the device lock */
#define LOG_PREFIX "main-loop: "
#include "util/main-loop.h"
#include "util/log.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

static pthread_mutex_t devlock = PTHREAD_MUTEX_INITIALIZER;

void devlock_lock(void) { pthread_mutex_lock(&devlock); }
void devlock_unlock(void) { pthread_mutex_unlock(&devlock); }
void devlock_cond_wait(pthread_cond_t *cond) { pthread_cond_wait(cond, &devlock); }

/*
 * What fd handlers and bottom halves have in common: a list that other threads add to, and
 * entries marked deleted that are freed once no pass can hold them (nodes_reap).
 */
struct loop_node {
    struct loop_node *next;
    atomic_bool deleted;
};

struct fd_handler {
    struct loop_node node;      /* first: freeing the node frees the handler */
    int fd;
    fd_handler_fn *fn;
    void *opaque;
};

struct timer {
    struct event_loop *loop;
    enum loop_clock clock;
    timer_fn *fn;
    void *opaque;
    int64_t expire;         /* -1 when not armed */
    struct timer *next;     /* in the clock's sorted active list */
};

struct bh {
    struct loop_node node;      /* first, likewise */
    struct event_loop *loop;
    bh_fn *fn;
    void *opaque;
    atomic_bool scheduled;
};

struct event_loop {
    /*
     * Guards the handler and bottom-half lists, the posted work and the thread binding,
     * which other threads change. What the loop's own thread alone touches (timers,
     * walking, polling, batch) needs no lock; for the main loop, the device lock is that.
     */
    pthread_mutex_t lock;
    bool is_main;
    int epfd, kick_fd;
    struct loop_node *handlers;     /* fd handlers, including deleted ones until reaped */
    struct loop_node *bhs;          /* bottom halves, likewise */
    struct timer *active[CLK_MAX];
    struct loop_work *posts, **posts_tail;
    struct loop_work *batch;        /* taken from posts, being run */
    /*
     * Passes over the handlers or bottom halves in progress (nested ones too), and threads
     * in epoll_wait holding events not yet dispatched: a deleted entry is freed only when
     * neither is, so that no event or walk is left holding it.
     */
    unsigned walking, polling;
    atomic_int quit;
    int quit_status;
    pthread_t thread;               /* who runs it */
    bool bound;                     /* a thread of its own runs it (event_loop_bind_thread) */
};

struct sig_handler {
    int signo;
    signal_fn *fn;
    void *opaque;
};

static struct event_loop main_loop = {
    .lock = PTHREAD_MUTEX_INITIALIZER, .is_main = true, .epfd = -1, .kick_fd = -1,
    .posts_tail = &main_loop.posts,
};

/* What only the main loop has: signals and the virtual clock. */
static struct {
    int sig_fd;
    sigset_t sigmask;
    struct sig_handler sigs[16];
    int nsigs;
    bool vclock_manual;
    bool vclock_stopped;
    int64_t vclock_offset;          /* virtual = monotonic - offset while running */
    int64_t vclock_stopped_at;
    int64_t vclock_manual_ns;
    bool initialized;
} main_state;

/* The loop this thread runs, when it is an I/O thread's (NULL: the main loop). */
static __thread struct event_loop *current_loop;

struct event_loop *event_loop_main(void)
{
    return &main_loop;
}

struct event_loop *event_loop_current(void)
{
    return current_loop ? current_loop : &main_loop;
}

/* Is the caller a thread other than the one that runs l? Main-loop callers hold the device lock, so never. */
static bool loop_is_foreign(struct event_loop *l)
{
    return !l->is_main && current_loop != l;
}

static void kick_read(void *opaque, uint32_t events)
{
    struct event_loop *l = opaque;
    uint64_t v;

    if (read(l->kick_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: someone else drained it */
    }
}

static void signal_read(void *opaque, uint32_t events)
{
    struct signalfd_siginfo si;

    while (read(main_state.sig_fd, &si, sizeof(si)) == sizeof(si)) {
        for (int i = 0; i < main_state.nsigs; i++)
            if (main_state.sigs[i].signo == (int)si.ssi_signo)
                main_state.sigs[i].fn(main_state.sigs[i].opaque, si.ssi_signo);
    }
}

static int loop_setup(struct event_loop *l)
{
    int r;

    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        return -errno;
    l->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->kick_fd < 0) {
        r = -errno;
        close(l->epfd);
        return r;
    }
    l->posts_tail = &l->posts;
    l->thread = pthread_self();
    r = event_loop_add_fd(l, l->kick_fd, EPOLLIN, kick_read, l);
    if (r < 0) {
        close(l->kick_fd);
        close(l->epfd);
    }
    return r;
}

static void nodes_free(struct loop_node *n)
{
    while (n) {
        struct loop_node *next = n->next;

        free(n);
        n = next;
    }
}

/* Free what the loop holds; posted work is run first where `run_posts` says so. */
static void loop_teardown(struct event_loop *l, bool run_posts)
{
    while (run_posts && (l->posts || l->batch)) {
        struct loop_work *w;

        if (!l->batch) {
            l->batch = l->posts;
            l->posts = NULL;
            l->posts_tail = &l->posts;
        }
        w = l->batch;
        l->batch = w->next;
        w->fn(w->opaque);
    }
    nodes_free(l->handlers);
    nodes_free(l->bhs);
    close(l->kick_fd);
    close(l->epfd);
}

void loop_init(void)
{
    int r;

    if (main_state.initialized)
        return;
    r = loop_setup(&main_loop);
    if (r < 0)
        die("cannot create the event loop: %s", strerror(-r));
    main_state.sig_fd = -1;
    sigemptyset(&main_state.sigmask);
    main_state.vclock_offset = 0;
    main_state.initialized = true;
}

void loop_cleanup(void)
{
    if (!main_state.initialized)
        return;
    loop_teardown(&main_loop, false);
    if (main_state.sig_fd >= 0)
        close(main_state.sig_fd);
    memset(&main_state, 0, sizeof(main_state));
    main_loop.handlers = NULL;
    main_loop.bhs = NULL;
    memset(main_loop.active, 0, sizeof(main_loop.active));
    main_loop.posts = main_loop.batch = NULL;
    main_loop.posts_tail = &main_loop.posts;
    main_loop.epfd = main_loop.kick_fd = -1;
    atomic_store(&main_loop.quit, 0);
    main_loop.quit_status = 0;
}

int event_loop_new(struct event_loop **out)
{
    struct event_loop *l = xnew(struct event_loop);
    int r;

    pthread_mutex_init(&l->lock, NULL);
    r = loop_setup(l);
    if (r < 0) {
        pthread_mutex_destroy(&l->lock);
        free(l);
        return r;
    }
    *out = l;
    return 0;
}

void event_loop_free(struct event_loop *l)
{
    if (!l)
        return;
    loop_teardown(l, true);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* ---- posted work ---- */

void event_loop_post(struct event_loop *l, struct loop_work *w)
{
    bool was_empty;

    w->next = NULL;
    pthread_mutex_lock(&l->lock);
    was_empty = !l->posts;
    *l->posts_tail = w;
    l->posts_tail = &w->next;
    pthread_mutex_unlock(&l->lock);
    /* a non-empty list has had its kick */
    if (was_empty)
        event_loop_kick(l);
}

bool event_loop_unpost(struct event_loop *l, struct loop_work *w)
{
    struct loop_work **pp;
    bool found = false;

    /* the batch being run is the loop thread's own, as is the caller */
    for (pp = &l->batch; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            return true;
        }
    }
    pthread_mutex_lock(&l->lock);
    for (pp = &l->posts; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            if (l->posts_tail == &w->next)
                l->posts_tail = pp;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return found;
}

/* Run what was posted so far (and what that posts, next time). Returns whether any ran. */
static bool posts_run(struct event_loop *l)
{
    struct loop_work *w;
    bool ran = false;

    pthread_mutex_lock(&l->lock);
    if (l->posts) {
        /* appended behind a batch that a nested pass left unfinished */
        struct loop_work **tail = &l->batch;

        while (*tail)
            tail = &(*tail)->next;
        *tail = l->posts;
        l->posts = NULL;
        l->posts_tail = &l->posts;
    }
    pthread_mutex_unlock(&l->lock);
    while ((w = l->batch)) {
        l->batch = w->next;
        w->fn(w->opaque);
        ran = true;
    }
    return ran;
}

struct sync_call {
    struct loop_work w;
    void (*fn)(void *opaque);
    void *opaque;
    bool done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void sync_call_run(void *opaque)
{
    struct sync_call *sc = opaque;

    sc->fn(sc->opaque);
    pthread_mutex_lock(&sc->lock);
    sc->done = true;
    /* the waiter may free sc as soon as the lock is dropped */
    pthread_cond_signal(&sc->cond);
    pthread_mutex_unlock(&sc->lock);
}

void event_loop_run_sync(struct event_loop *l, void (*fn)(void *opaque), void *opaque)
{
    struct sync_call sc = { .w = { sync_call_run, &sc, NULL }, .fn = fn, .opaque = opaque };

    if (!loop_is_foreign(l)) {
        fn(opaque);
        return;
    }
    pthread_mutex_lock(&l->lock);
    if (!l->bound) {
        /* no thread runs it: nothing can run beside the caller */
        pthread_mutex_unlock(&l->lock);
        fn(opaque);
        return;
    }
    pthread_mutex_init(&sc.lock, NULL);
    pthread_cond_init(&sc.cond, NULL);
    sc.w.next = NULL;
    *l->posts_tail = &sc.w;
    l->posts_tail = &sc.w.next;
    pthread_mutex_unlock(&l->lock);
    event_loop_kick(l);
    pthread_mutex_lock(&sc.lock);
    while (!sc.done)
        pthread_cond_wait(&sc.cond, &sc.lock);
    pthread_mutex_unlock(&sc.lock);
    pthread_cond_destroy(&sc.cond);
    pthread_mutex_destroy(&sc.lock);
}

/* Run by a foreign thread's round trip: once it has run, the loop's thread is past any pass that began before. */
static void nothing(void *opaque)
{
}

void event_loop_bind_thread(struct event_loop *l)
{
    pthread_mutex_lock(&l->lock);
    l->thread = pthread_self();
    l->bound = true;
    pthread_mutex_unlock(&l->lock);
    current_loop = l;
}

void event_loop_unbind_thread(struct event_loop *l)
{
    pthread_mutex_lock(&l->lock);
    l->bound = false;
    pthread_mutex_unlock(&l->lock);
    /* a run_sync caller that posted before the flag fell is waiting for this */
    while (posts_run(l))
        ;
    current_loop = NULL;
}

/* ---- fd handlers ---- */

/* Unlink and free the deleted entries of a list, unless a pass may hold one (l's thread only). */
static void nodes_reap(struct event_loop *l, struct loop_node **head)
{
    struct loop_node **pp, *dead = NULL;

    if (l->walking || l->polling)
        return;
    pthread_mutex_lock(&l->lock);
    pp = head;
    while (*pp) {
        struct loop_node *n = *pp;

        if (atomic_load(&n->deleted)) {
            *pp = n->next;
            n->next = dead;
            dead = n;
        } else {
            pp = &n->next;
        }
    }
    pthread_mutex_unlock(&l->lock);
    nodes_free(dead);
}

static void nodes_add(struct loop_node **head, struct loop_node *n)
{
    n->next = *head;
    *head = n;
}

static struct fd_handler *handler_find(struct event_loop *l, int fd)
{
    for (struct loop_node *n = l->handlers; n; n = n->next) {
        struct fd_handler *h = container_of(n, struct fd_handler, node);

        if (h->fd == fd && !atomic_load(&n->deleted))
            return h;
    }
    return NULL;
}

int event_loop_add_fd(struct event_loop *l, int fd, uint32_t events, fd_handler_fn *fn, void *opaque)
{
    struct fd_handler *h = xnew(struct fd_handler);
    struct epoll_event ev = { .events = events, .data.ptr = h };

    h->fd = fd;
    h->fn = fn;
    h->opaque = opaque;
    /* linked before epoll knows it: an event may come at once, in the loop's thread */
    pthread_mutex_lock(&l->lock);
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = -errno;

        pthread_mutex_unlock(&l->lock);
        free(h);
        return e;
    }
    nodes_add(&l->handlers, &h->node);
    pthread_mutex_unlock(&l->lock);
    return 0;
}

int event_loop_mod_fd(struct event_loop *l, int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events };
    struct fd_handler *h;
    int r = 0;

    pthread_mutex_lock(&l->lock);
    h = handler_find(l, fd);
    ev.data.ptr = h;
    if (!h)
        r = -ENOENT;
    else if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        r = -errno;
    pthread_mutex_unlock(&l->lock);
    return r;
}

void event_loop_del_fd(struct event_loop *l, int fd)
{
    struct fd_handler *h;

    pthread_mutex_lock(&l->lock);
    h = handler_find(l, fd);
    if (h) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        /* freed when no dispatch pass can hold it: its event may be in a batch */
        atomic_store(&h->node.deleted, true);
    }
    pthread_mutex_unlock(&l->lock);
    if (!h)
        return;
    if (loop_is_foreign(l))
        event_loop_run_sync(l, nothing, NULL);
    else
        nodes_reap(l, &l->handlers);
}

int loop_add_fd(int fd, uint32_t events, fd_handler_fn *fn, void *opaque)
{
    return event_loop_add_fd(&main_loop, fd, events, fn, opaque);
}

int loop_mod_fd(int fd, uint32_t events)
{
    return event_loop_mod_fd(&main_loop, fd, events);
}

void loop_del_fd(int fd)
{
    event_loop_del_fd(&main_loop, fd);
}

/* ---- clocks ---- */

int64_t clock_get_ns(enum loop_clock c)
{
    switch (c) {
    case CLK_VIRTUAL:
        if (main_state.vclock_manual)
            return main_state.vclock_manual_ns;
        if (main_state.vclock_stopped)
            return main_state.vclock_stopped_at;
        return clock_monotonic_ns() - main_state.vclock_offset;
    case CLK_REALTIME:
        return clock_monotonic_ns();
    case CLK_HOST:
    default:
        return clock_realtime_ns();
    }
}

void clock_virtual_stop(void)
{
    if (main_state.vclock_manual || main_state.vclock_stopped)
        return;
    main_state.vclock_stopped_at = clock_get_ns(CLK_VIRTUAL);
    main_state.vclock_stopped = true;
}

void clock_virtual_resume(void)
{
    if (main_state.vclock_manual || !main_state.vclock_stopped)
        return;
    main_state.vclock_offset = clock_monotonic_ns() - main_state.vclock_stopped_at;
    main_state.vclock_stopped = false;
    loop_kick();
}

void clock_virtual_set_manual(void)
{
    main_state.vclock_manual = true;
    main_state.vclock_manual_ns = 0;
}

bool clock_virtual_is_manual(void)
{
    return main_state.vclock_manual;
}

/* Does the loop's clock c run (the virtual one stands while the VM is stopped or a test holds it)? */
static bool clock_runs(struct event_loop *l, int c)
{
    return c != CLK_VIRTUAL || (l->is_main && !main_state.vclock_manual && !main_state.vclock_stopped);
}

/* Has clock c a timer that can fall due (one armed on a clock that runs)? */
static bool clock_armed(struct event_loop *l, int c)
{
    return l->active[c] && clock_runs(l, c);
}

/* ---- timers ---- */

struct timer *timer_new_in(struct event_loop *l, enum loop_clock c, timer_fn *fn, void *opaque)
{
    struct timer *t;

    if (c == CLK_VIRTUAL && !l->is_main) {
        log_error("internal error: a virtual-clock timer outside the main loop");
        abort();
    }
    t = xnew(struct timer);
    t->loop = l;
    t->clock = c;
    t->fn = fn;
    t->opaque = opaque;
    t->expire = -1;
    return t;
}

struct timer *timer_new(enum loop_clock c, timer_fn *fn, void *opaque)
{
    return timer_new_in(&main_loop, c, fn, opaque);
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
    for (pp = &t->loop->active[t->clock]; *pp; pp = &(*pp)->next) {
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
    struct event_loop *l = t->loop;
    struct timer **pp;

    timer_del(t);
    if (expire_ns < 0)
        expire_ns = 0;
    t->expire = expire_ns;
    for (pp = &l->active[t->clock]; *pp && (*pp)->expire <= expire_ns; pp = &(*pp)->next)
        ;
    t->next = *pp;
    *pp = t;
    /* a vCPU thread arming an earlier timer must wake the sleeping loop */
    if (t == l->active[t->clock] && !pthread_equal(pthread_self(), l->thread))
        event_loop_kick(l);
}

bool timer_pending(struct timer *t)
{
    return t->expire >= 0;
}

int64_t timer_expire_time(struct timer *t)
{
    return t->expire;
}

/* Run the timers of l's clock c that are due at `now`. Returns whether any ran. */
static bool timers_run(struct event_loop *l, enum loop_clock c, int64_t now)
{
    bool ran = false;

    while (l->active[c] && l->active[c]->expire <= now) {
        struct timer *t = l->active[c];

        l->active[c] = t->next;
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
    struct timer **active = &main_loop.active[CLK_VIRTUAL];
    int64_t target;

    if (ns < 0) {
        int64_t d = clock_virtual_next_deadline();

        target = d >= 0 ? MAX(d, main_state.vclock_manual_ns) : main_state.vclock_manual_ns;
    } else {
        target = main_state.vclock_manual_ns + ns;
    }
    /* step through each deadline so that timers see their own time */
    while (*active && (*active)->expire <= target) {
        main_state.vclock_manual_ns = MAX(main_state.vclock_manual_ns, (*active)->expire);
        timers_run(&main_loop, CLK_VIRTUAL, main_state.vclock_manual_ns);
    }
    main_state.vclock_manual_ns = target;
    return target;
}

/* Nanoseconds until the earliest deadline (-1 = none, 0 = due). */
static int64_t next_timeout_ns(struct event_loop *l)
{
    int64_t best = INT64_MAX;

    for (int c = 0; c < CLK_MAX; c++) {
        int64_t d;

        if (!clock_armed(l, c))
            continue;
        d = l->active[c]->expire - clock_get_ns(c);
        if (d < best)
            best = d;
    }
    if (best == INT64_MAX)
        return -1;
    return MAX(best, 0);
}

/*
 * epoll_wait for timeout_ns (-1 = forever). epoll_pwait2 (Linux 5.11) keeps a timer's
 * nanoseconds; before it, the wait rounds up to a millisecond so as never to wake early.
 */
static int loop_wait(int epfd, struct epoll_event *evs, int max, int64_t timeout_ns)
{
    static atomic_bool no_pwait2;
    struct timespec ts = { timeout_ns / 1000000000, timeout_ns % 1000000000 };
    int n;

    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        n = epoll_pwait2(epfd, evs, max, timeout_ns < 0 ? NULL : &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store(&no_pwait2, true);
    }
    if (timeout_ns < 0)
        return epoll_wait(epfd, evs, max, -1);
    return epoll_wait(epfd, evs, max, (int)MIN((timeout_ns + 999999) / 1000000, (int64_t)INT32_MAX));
}

/* ---- bottom halves ---- */

struct bh *bh_new_in(struct event_loop *l, bh_fn *fn, void *opaque)
{
    struct bh *b = xnew(struct bh);

    b->loop = l;
    b->fn = fn;
    b->opaque = opaque;
    pthread_mutex_lock(&l->lock);
    nodes_add(&l->bhs, &b->node);
    pthread_mutex_unlock(&l->lock);
    return b;
}

struct bh *bh_new(bh_fn *fn, void *opaque)
{
    return bh_new_in(&main_loop, fn, opaque);
}

void bh_schedule(struct bh *b)
{
    if (!atomic_exchange(&b->scheduled, true))
        event_loop_kick(b->loop);
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
    /*
     * A full list (a chain of completions) goes on in the main loop: the exit stays short.
     * Another loop's bottom half runs in its own thread, never under the device lock.
     */
    if (nlocal < 0 || nlocal == BH_LOCAL_MAX || b->loop != &main_loop) {
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
    struct event_loop *l;

    if (!b)
        return;
    l = b->loop;
    atomic_store(&b->node.deleted, true);
    if (loop_is_foreign(l))
        event_loop_run_sync(l, nothing, NULL);  /* its thread reaps it, past a run that began before */
    else
        nodes_reap(l, &l->bhs);
}

static bool bhs_run(struct event_loop *l)
{
    struct loop_node *n;
    bool ran = false;

    /* others only add at the head, and nothing is unlinked while walking */
    pthread_mutex_lock(&l->lock);
    n = l->bhs;
    pthread_mutex_unlock(&l->lock);
    l->walking++;
    for (; n; n = n->next) {
        struct bh *b = container_of(n, struct bh, node);

        if (!atomic_load(&n->deleted) && atomic_exchange(&b->scheduled, false)) {
            b->fn(b->opaque);
            ran = true;
        }
    }
    l->walking--;
    nodes_reap(l, &l->bhs);
    return ran;
}

/* ---- signals ---- */

int loop_add_signal(int signo, signal_fn *fn, void *opaque)
{
    if (main_state.nsigs == (int)ARRAY_SIZE(main_state.sigs))
        return -ENOSPC;
    sigaddset(&main_state.sigmask, signo);
    if (pthread_sigmask(SIG_BLOCK, &main_state.sigmask, NULL) != 0)
        return -EINVAL;
    if (main_state.sig_fd < 0) {
        main_state.sig_fd = signalfd(-1, &main_state.sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (main_state.sig_fd < 0)
            return -errno;
        loop_add_fd(main_state.sig_fd, EPOLLIN, signal_read, NULL);
    } else if (signalfd(main_state.sig_fd, &main_state.sigmask, 0) < 0) {
        return -errno;
    }
    main_state.sigs[main_state.nsigs++] = (struct sig_handler){ signo, fn, opaque };
    return 0;
}

/* ---- the loop ---- */

void event_loop_kick(struct event_loop *l)
{
    uint64_t one = 1;

    if (write(l->kick_fd, &one, sizeof(one)) < 0) {
        /* counter full means a kick is pending anyway */
    }
}

void event_loop_quit(struct event_loop *l, int status)
{
    l->quit_status = status;
    atomic_store(&l->quit, 1);
    event_loop_kick(l);
}

void event_loop_iterate(struct event_loop *l, bool blocking)
{
    struct epoll_event evs[32];
    int64_t timeout;
    bool work;
    int n;

    work = bhs_run(l);
    work |= posts_run(l);
    timeout = (blocking && !work) ? next_timeout_ns(l) : 0;
    if (atomic_load(&l->quit))
        timeout = 0;

    l->polling++;
    if (l->is_main)
        devlock_unlock();
    n = loop_wait(l->epfd, evs, ARRAY_SIZE(evs), timeout);
    if (l->is_main)
        devlock_lock();
    l->polling--;

    l->walking++;
    for (int i = 0; i < n; i++) {
        struct fd_handler *h = evs[i].data.ptr;

        if (!atomic_load(&h->node.deleted))
            h->fn(h->opaque, evs[i].events);
    }
    l->walking--;
    nodes_reap(l, &l->handlers);
    /* a clock is read only for its timers: in an emulated host each read is a system call */
    for (int c = 0; c < CLK_MAX; c++)
        if (clock_armed(l, c))
            timers_run(l, c, clock_get_ns(c));
    bhs_run(l);
    posts_run(l);
}

int event_loop_run(struct event_loop *l)
{
    while (!atomic_load(&l->quit))
        event_loop_iterate(l, true);
    return l->quit_status;
}

void loop_kick(void)
{
    event_loop_kick(&main_loop);
}

void loop_quit(int status)
{
    event_loop_quit(&main_loop, status);
}

bool loop_quit_requested(void)
{
    return atomic_load(&main_loop.quit);
}

void loop_iterate(bool blocking)
{
    event_loop_iterate(&main_loop, blocking);
}

int loop_run(void)
{
    return event_loop_run(&main_loop);
}
