/* rng.c: the registry of entropy backends by id, and their requests: queued, served, completed in the requester's loop, cancelled */
#define LOG_PREFIX "rng: "
#include "rng/rng-int.h"
#include "util/log.h"

static struct rng_backend *backends;

int rng_backend_init(struct rng_backend *r, const char *id, const struct rng_ops *ops, char **err)
{
    if (rng_find(id)) {
        *err = xasprintf("there is already an rng backend with id '%s'", id);
        return -EEXIST;
    }
    r->id = xstrdup(id);
    r->ops = ops;
    pthread_mutex_init(&r->lock, NULL);
    r->next = backends;
    backends = r;
    return 0;
}

struct rng_backend *rng_find(const char *id)
{
    for (struct rng_backend *r = backends; r; r = r->next)
        if (!strcmp(r->id, id))
            return r;
    return NULL;
}

const char *rng_id(struct rng_backend *r)
{
    return r->id;
}

const char *rng_type(struct rng_backend *r)
{
    return r->ops->type;
}

static void rng_unlink(struct rng_backend *r, struct rng_req *q)
{
    for (struct rng_req **pp = &r->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            return;
        }
    }
}

/* In the requester's loop. */
static void rng_req_done(void *opaque)
{
    struct rng_req *q = opaque;
    struct rng_backend *r = q->r;

    pthread_mutex_lock(&r->lock);
    rng_unlink(r, q);
    pthread_mutex_unlock(&r->lock);
    q->cb(q->opaque, q->ret);
    free(q);
}

struct rng_req *rng_next_queued(struct rng_backend *r)
{
    for (struct rng_req *q = r->reqs; q; q = q->next)
        if (!q->posted)
            return q;
    return NULL;
}

void rng_complete(struct rng_req *q, int ret)
{
    q->ret = ret;
    q->posted = true;
    event_loop_post(q->loop, &q->done);
}

int rng_request(struct rng_backend *r, void *buf, size_t len, rng_cb *cb, void *opaque)
{
    struct rng_req *q, **pp;

    if (!len)
        return -EINVAL;
    q = xnew(struct rng_req);
    q->r = r;
    q->buf = buf;
    q->len = MIN(len, RNG_REQUEST_MAX);
    q->cb = cb;
    q->opaque = opaque;
    q->loop = event_loop_current();
    q->done = (struct loop_work){ rng_req_done, q, NULL };
    pthread_mutex_lock(&r->lock);
    for (pp = &r->reqs; *pp; pp = &(*pp)->next)
        ;
    *pp = q;
    r->ops->serve(r);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

struct rng_drop {
    struct rng_backend *r;
    bool all;
    void *opaque;
    struct event_loop *loop;
};

static bool rng_drop_matches(const struct rng_drop *d, const struct rng_req *q)
{
    return d->all || q->opaque == d->opaque;
}

/*
 * In d->loop's thread: drop its matching requests. A served one's completion is taken back
 * from the loop: it cannot be running, since it runs in this thread.
 */
static void rng_drop_here(void *opaque)
{
    struct rng_drop *d = opaque;
    struct rng_req **pp, *q;

    pthread_mutex_lock(&d->r->lock);
    pp = &d->r->reqs;
    while ((q = *pp)) {
        if (rng_drop_matches(d, q) && q->loop == d->loop &&
            (!q->posted || event_loop_unpost(q->loop, &q->done))) {
            *pp = q->next;
            free(q);
        } else {
            pp = &q->next;
        }
    }
    pthread_mutex_unlock(&d->r->lock);
}

static void rng_drop(struct rng_backend *r, bool all, void *opaque)
{
    /* one round trip per loop that has matching requests: a device's are all in one */
    for (int pass = 0; pass < 64; pass++) {
        struct rng_drop d = { r, all, opaque, NULL };

        pthread_mutex_lock(&r->lock);
        for (struct rng_req *q = r->reqs; q && !d.loop; q = q->next)
            if (rng_drop_matches(&d, q))
                d.loop = q->loop;
        pthread_mutex_unlock(&r->lock);
        if (!d.loop)
            return;
        event_loop_run_sync(d.loop, rng_drop_here, &d);
    }
    log_error("'%s': requests still coming while being cancelled", r->id);
}

void rng_cancel(struct rng_backend *r, void *opaque)
{
    rng_drop(r, false, opaque);
}

void rng_free(struct rng_backend *r)
{
    if (!r)
        return;
    rng_drop(r, true, NULL);
    for (struct rng_backend **pp = &backends; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    pthread_mutex_destroy(&r->lock);
    free(r->id);
    r->ops->close(r);
}
