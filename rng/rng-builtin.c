/* rng-builtin.c: -object rng-builtin: entropy from the kernel's getrandom(), served at once */
#define LOG_PREFIX "rng-builtin: "
#include "rng/rng-int.h"

#include <sys/random.h>

static void builtin_serve(struct rng_backend *r)
{
    struct rng_req *q;

    while ((q = rng_next_queued(r))) {
        /* blocks only before the kernel's pool is first seeded, long before a VM runs */
        ssize_t n = getrandom(q->buf, q->len, 0);

        if (n < 0 && errno == EINTR)
            continue;
        rng_complete(q, n > 0 ? (int)n : n == 0 ? -EIO : -errno);
    }
}

static void builtin_close(struct rng_backend *r)
{
    free(r);
}

static const struct rng_ops builtin_ops = {
    .type = "rng-builtin",
    .serve = builtin_serve,
    .close = builtin_close,
};

int rng_builtin_new(struct rng_backend **out, const char *id, char **err)
{
    struct rng_backend *r = xnew(struct rng_backend);
    int ret = rng_backend_init(r, id, &builtin_ops, err);

    if (ret < 0) {
        free(r);
        return ret;
    }
    *out = r;
    return 0;
}
