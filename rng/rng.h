/* rng.h: entropy backends (-object rng-random, rng-builtin) by id, read asynchronously by a device (virtio-rng) */
#ifndef RNG_RNG_H
#define RNG_RNG_H

#include "util/osdep.h"

struct rng_backend;

/* What a request got: how many bytes were written to its buffer (1 to its length), or -errno. */
typedef void rng_cb(void *opaque, int ret);

/* The most one request is given; a longer one gets this much (fewer bytes are a success). */
#define RNG_REQUEST_MAX (64 * KiB)

/*
 * Ask for up to len bytes into buf: 0, or -EINVAL when len is 0. The callback runs later,
 * never from inside this call, in the requester's loop (event_loop_current(): the device's I/O
 * thread, or the main loop with the device lock held); buf stays valid until then. Requests
 * are served in the order made.
 */
int rng_request(struct rng_backend *r, void *buf, size_t len, rng_cb *cb, void *opaque);
/*
 * Drop the requests made with this opaque whose callbacks have not run: none of them runs
 * after this returns (a device's reset or unrealize). From the main thread or a vCPU thread
 * (device lock held), or the requester's I/O thread.
 */
void rng_cancel(struct rng_backend *r, void *opaque);

struct rng_backend *rng_find(const char *id);
const char *rng_id(struct rng_backend *r);
const char *rng_type(struct rng_backend *r);

/* rng-random: reads `filename` (a character device such as /dev/urandom, a FIFO, a file), opened now. */
int rng_random_new(struct rng_backend **out, const char *id, const char *filename, char **err);
/* rng-builtin: the kernel's getrandom(). */
int rng_builtin_new(struct rng_backend **out, const char *id, char **err);
/* From the main thread; requests still pending are dropped, their callbacks never run. */
void rng_free(struct rng_backend *r);

#endif
