/* rng-random.c: -object rng-random,filename=F: entropy read from a file (/dev/urandom by default), waiting in the main loop when it has none */
#define LOG_PREFIX "rng-random: "
#include "rng/rng-int.h"
#include "util/log.h"

#include <fcntl.h>
#include <unistd.h>

struct rng_random {
    struct rng_backend r;
    char *filename;
    int fd;
    bool pollable;              /* epoll takes it (not a regular file, which is always readable) */
    bool armed;                 /* the main loop will tell when it is readable */
};

static void random_readable(void *opaque, uint32_t events);

static void random_serve(struct rng_backend *r)
{
    struct rng_random *s = container_of(r, struct rng_random, r);
    struct rng_req *q;

    while ((q = rng_next_queued(r))) {
        ssize_t n = read(s->fd, q->buf, q->len);

        if (n > 0) {
            rng_complete(q, (int)n);
        } else if (n == 0) {
            log_guest_error("'%s': end of file: a request gets nothing", s->filename);
            rng_complete(q, -EIO);
        } else if (errno == EAGAIN && s->pollable) {
            /*
             * One shot, re-armed here: the main loop hears of it once, and a FIFO whose
             * writer has gone does not wake it again and again.
             */
            if (!s->armed && event_loop_mod_fd(event_loop_main(), s->fd, EPOLLIN | EPOLLONESHOT) == 0)
                s->armed = true;
            return;
        } else if (errno != EINTR) {
            rng_complete(q, -errno);
        }
    }
}

static void random_readable(void *opaque, uint32_t events)
{
    struct rng_random *s = opaque;

    pthread_mutex_lock(&s->r.lock);
    s->armed = false;
    random_serve(&s->r);
    pthread_mutex_unlock(&s->r.lock);
}

static void random_close(struct rng_backend *r)
{
    struct rng_random *s = container_of(r, struct rng_random, r);

    if (s->pollable)
        loop_del_fd(s->fd);
    close(s->fd);
    free(s->filename);
    free(s);
}

static const struct rng_ops random_ops = {
    .type = "rng-random",
    .serve = random_serve,
    .close = random_close,
};

int rng_random_new(struct rng_backend **out, const char *id, const char *filename, char **err)
{
    struct rng_random *s;
    int fd, r;

    fd = open(filename, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        *err = xasprintf("rng-random '%s': cannot open '%s': %s", id, filename, strerror(-r));
        return r;
    }
    s = xnew(struct rng_random);
    s->fd = fd;
    s->filename = xstrdup(filename);
    /* registered disarmed (a one-shot with no events); serving arms it when the file has nothing */
    r = event_loop_add_fd(event_loop_main(), fd, EPOLLONESHOT, random_readable, s);
    if (r < 0 && r != -EPERM) {
        *err = xasprintf("rng-random '%s': cannot watch '%s': %s", id, filename, strerror(-r));
        goto fail;
    }
    s->pollable = r == 0;
    r = rng_backend_init(&s->r, id, &random_ops, err);
    if (r < 0) {
        if (s->pollable)
            loop_del_fd(fd);
        goto fail;
    }
    *out = &s->r;
    return 0;
fail:
    close(fd);
    free(s->filename);
    free(s);
    return r;
}
