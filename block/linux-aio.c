/* linux-aio.c: Linux native AIO (libaio) for O_DIRECT reads and writes, one context per drive, completions through an eventfd in the drive's event loop */
#define LOG_PREFIX "linux-aio: "
#include "block/block-int.h"
#include "util/log.h"
#include "util/main-loop.h" // event_loop_add_fd

#ifdef CONFIG_LINUX_AIO
#include <libaio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LAIO_DEPTH 256

struct laio_req {
    struct iocb iocb;
    struct iovec *iov;
    laio_done_fn *done;
    void *arg;
    size_t size;
    struct laio_req *next;      /* waiting for a free slot */
};

/*
 * A drive's context: its requests are submitted and completed in the drive's loop only, so
 * nothing here needs a lock. Moving the drive to another loop moves the eventfd.
 */
struct laio_ctx {
    io_context_t ctx;
    int efd;
    struct event_loop *loop;
    int in_flight;
    struct laio_req *wait_head, **wait_tail;
};

static void laio_submit_waiting(struct laio_ctx *s);

static void laio_complete(void *opaque, uint32_t events)
{
    struct laio_ctx *s = opaque;
    struct io_event ev[64];
    uint64_t cnt;
    int n;

    if (read(s->efd, &cnt, sizeof(cnt)) < 0) {
        /* EAGAIN: already drained by an earlier pass */
    }
    do {
        struct timespec zero = { 0, 0 };

        n = io_getevents(s->ctx, 0, ARRAY_SIZE(ev), ev, &zero);
        for (int i = 0; i < n; i++) {
            struct laio_req *r = ev[i].data;
            long res = (long)ev[i].res;
            int ret;

            s->in_flight--;
            if (res < 0)
                ret = (int)res;
            else if ((size_t)res == r->size)
                ret = 0;
            else if (r->iocb.aio_lio_opcode == IO_CMD_PREADV)
                ret = -EAGAIN;          /* short read: let the caller retry it synchronously */
            else
                ret = -ENOSPC;
            r->done(r->arg, ret);
            free(r->iov);
            free(r);
        }
    } while (n == (int)ARRAY_SIZE(ev));
    laio_submit_waiting(s);
}

struct laio_ctx *laio_new(struct event_loop *l)
{
    struct laio_ctx *s = xnew(struct laio_ctx);
    int r;

    s->wait_tail = &s->wait_head;
    s->loop = l;
    r = io_setup(LAIO_DEPTH, &s->ctx);
    if (r != 0) {
        log_warn("io_setup failed (%s): native AIO unavailable, using threads", strerror(-r));
        free(s);
        return NULL;
    }
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0 || event_loop_add_fd(l, s->efd, EPOLLIN, laio_complete, s) < 0) {
        log_warn("no eventfd for native AIO, using threads");
        if (s->efd >= 0)
            close(s->efd);
        io_destroy(s->ctx);
        free(s);
        return NULL;
    }
    return s;
}

void laio_free(struct laio_ctx *s)
{
    if (!s)
        return;
    /* from another thread than the loop's, this waits until laio_complete cannot be running */
    event_loop_del_fd(s->loop, s->efd);
    io_destroy(s->ctx);
    close(s->efd);
    free(s);
}

int laio_set_loop(struct laio_ctx *s, struct event_loop *l)
{
    int r;

    if (l == s->loop)
        return 0;
    event_loop_del_fd(s->loop, s->efd);
    r = event_loop_add_fd(l, s->efd, EPOLLIN, laio_complete, s);
    if (r < 0) {
        event_loop_add_fd(s->loop, s->efd, EPOLLIN, laio_complete, s);
        return r;
    }
    s->loop = l;
    return 0;
}

static void laio_submit_waiting(struct laio_ctx *s)
{
    while (s->wait_head && s->in_flight < LAIO_DEPTH) {
        struct laio_req *r = s->wait_head;
        struct iocb *cbs[1] = { &r->iocb };
        int ret;

        ret = io_submit(s->ctx, 1, cbs);
        if (ret == -EAGAIN)
            return;
        s->wait_head = r->next;
        if (!s->wait_head)
            s->wait_tail = &s->wait_head;
        if (ret < 0) {
            r->done(r->arg, ret);
            free(r->iov);
            free(r);
            continue;
        }
        s->in_flight++;
    }
}

int laio_submit(struct laio_ctx *s, int fd, bool write, uint64_t off, const struct qiov *q,
                laio_done_fn *done, void *arg)
{
    struct laio_req *r;

    r = xnew(struct laio_req);
    r->iov = xcalloc(q->niov, sizeof(struct iovec));
    memcpy(r->iov, q->iov, q->niov * sizeof(struct iovec));
    r->done = done;
    r->arg = arg;
    r->size = q->size;
    if (write)
        io_prep_pwritev(&r->iocb, fd, r->iov, q->niov, off);
    else
        io_prep_preadv(&r->iocb, fd, r->iov, q->niov, off);
    io_set_eventfd(&r->iocb, s->efd);
    r->iocb.data = r;
    *s->wait_tail = r;
    s->wait_tail = &r->next;
    laio_submit_waiting(s);
    return 0;
}

#else

struct laio_ctx *laio_new(struct event_loop *l)
{
    return NULL;
}

void laio_free(struct laio_ctx *s)
{
}

int laio_set_loop(struct laio_ctx *s, struct event_loop *l)
{
    return -ENOTSUP;
}

int laio_submit(struct laio_ctx *s, int fd, bool write, uint64_t off, const struct qiov *q,
                laio_done_fn *done, void *arg)
{
    return -ENOTSUP;
}

#endif
