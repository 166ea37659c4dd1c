/* iothread.c: I/O threads: a thread, its event loop, and the registry of them by id */
#define LOG_PREFIX "iothread: "
#include "util/iothread.h"
#include "util/log.h"

#include <signal.h>

struct iothread {
    char *id;
    struct event_loop *loop;
    pthread_t thread;
    /* the thread says it runs the loop: from then on iothread_run waits for it */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool started;
    struct iothread *next;
};

static struct iothread *iothreads;

static void *iothread_main(void *opaque)
{
    struct iothread *t = opaque;

    event_loop_bind_thread(t->loop);
    pthread_mutex_lock(&t->lock);
    t->started = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    event_loop_run(t->loop);
    event_loop_unbind_thread(t->loop);
    return NULL;
}

int iothread_new(struct iothread **out, const char *id, char **err)
{
    struct iothread *t;
    sigset_t all, old;
    char name[16];
    int r;

    if (iothread_find(id)) {
        *err = xasprintf("there is already an I/O thread with id '%s'", id);
        return -EEXIST;
    }
    t = xnew(struct iothread);
    r = event_loop_new(&t->loop);
    if (r < 0) {
        *err = xasprintf("I/O thread '%s': cannot make its event loop: %s", id, strerror(-r));
        free(t);
        return r;
    }
    t->id = xstrdup(id);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    /* signals are the main loop's (signalfd): the thread starts with them all blocked */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = -pthread_create(&t->thread, NULL, iothread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        *err = xasprintf("I/O thread '%s': cannot start it: %s", id, strerror(-r));
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        event_loop_free(t->loop);
        free(t->id);
        free(t);
        return r;
    }
    /* as QEMU names its I/O threads; cut to what the kernel keeps */
    snprintf(name, sizeof(name), "IO %s", id);
    pthread_setname_np(t->thread, name);
    pthread_mutex_lock(&t->lock);
    while (!t->started)
        pthread_cond_wait(&t->cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
    t->next = iothreads;
    iothreads = t;
    *out = t;
    return 0;
}

struct iothread *iothread_find(const char *id)
{
    for (struct iothread *t = iothreads; t; t = t->next)
        if (!strcmp(t->id, id))
            return t;
    return NULL;
}

const char *iothread_id(struct iothread *t)
{
    return t->id;
}

struct event_loop *iothread_loop(struct iothread *t)
{
    return t->loop;
}

int iothread_add_fd(struct iothread *t, int fd, uint32_t events, fd_handler_fn *fn, void *opaque)
{
    return event_loop_add_fd(t->loop, fd, events, fn, opaque);
}

void iothread_del_fd(struct iothread *t, int fd)
{
    event_loop_del_fd(t->loop, fd);
}

struct bh *iothread_bh_new(struct iothread *t, bh_fn *fn, void *opaque)
{
    return bh_new_in(t->loop, fn, opaque);
}

void iothread_run(struct iothread *t, void (*fn)(void *opaque), void *opaque)
{
    event_loop_run_sync(t->loop, fn, opaque);
}

void iothread_free(struct iothread *t)
{
    struct iothread **pp;

    if (!t)
        return;
    for (pp = &iothreads; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    event_loop_quit(t->loop, 0);
    pthread_join(t->thread, NULL);
    event_loop_free(t->loop);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->id);
    free(t);
}

void iothread_free_all(void)
{
    while (iothreads)
        iothread_free(iothreads);
}
