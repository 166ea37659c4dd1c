/* rng-int.h: what the rng backends share: requests, the ops of a backend, and completing a request */
#ifndef RNG_RNG_INT_H
#define RNG_RNG_INT_H

#include "rng/rng.h"
#include "util/main-loop.h" // struct loop_work

struct rng_req {
    struct rng_backend *r;
    uint8_t *buf;
    size_t len;
    rng_cb *cb;
    void *opaque;
    struct event_loop *loop;    /* the requester's: where cb runs */
    struct loop_work done;
    int ret;
    bool posted;                /* served: its completion waits in its loop */
    struct rng_req *next;
};

struct rng_ops {
    const char *type;
    /* With r->lock held: serve the queued requests, in order, as far as it can without waiting. */
    void (*serve)(struct rng_backend *r);
    void (*close)(struct rng_backend *r);
};

/*
 * A backend. The lock covers the request list: requests come from any loop's thread and
 * are served in whichever thread finds data (the requester's, or the main loop's when a
 * backend waits for its file to become readable).
 */
struct rng_backend {
    char *id;
    const struct rng_ops *ops;
    pthread_mutex_t lock;
    struct rng_req *reqs;       /* not yet completed, in the order made */
    struct rng_backend *next;
};

/* Set up and list the backend under its id: 0, or -EEXIST with *err. */
int rng_backend_init(struct rng_backend *r, const char *id, const struct rng_ops *ops, char **err);
/* With r->lock held: the oldest request not yet served, or NULL. */
struct rng_req *rng_next_queued(struct rng_backend *r);
/* With r->lock held: q is served with ret (bytes or -errno); its callback runs in its loop. */
void rng_complete(struct rng_req *q, int ret);

#endif
