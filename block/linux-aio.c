/* linux-aio.c: Linux native AIO (libaio) for O_DIRECT reads and writes, completions through an eventfd in the main loop */
#define LOG_PREFIX "linux-aio: "
#include "block/block-int.h"
#include "util/log.h"
#include "util/main-loop.h" // loop_add_fd

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

static struct {
    bool tried, ok;
    io_context_t ctx;
    int efd;
    int in_flight;
    struct laio_req *wait_head, **wait_tail;
} laio;

static void laio_submit_waiting(void);

static void laio_complete(void *opaque, uint32_t events)
{
    struct io_event ev[64];
    uint64_t cnt;
    int n;

    if (read(laio.efd, &cnt, sizeof(cnt)) < 0) {
        /* EAGAIN: already drained by an earlier pass */
    }
    do {
        struct timespec zero = { 0, 0 };

        n = io_getevents(laio.ctx, 0, ARRAY_SIZE(ev), ev, &zero);
        for (int i = 0; i < n; i++) {
            struct laio_req *r = ev[i].data;
            long res = (long)ev[i].res;
            int ret;

            laio.in_flight--;
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
    laio_submit_waiting();
}

static bool laio_init(void)
{
    if (laio.tried)
        return laio.ok;
    laio.tried = true;
    laio.wait_tail = &laio.wait_head;
    if (io_setup(LAIO_DEPTH, &laio.ctx) != 0) {
        log_warn("io_setup failed: native AIO unavailable, using threads");
        return false;
    }
    laio.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (laio.efd < 0 || loop_add_fd(laio.efd, EPOLLIN, laio_complete, NULL) < 0) {
        io_destroy(laio.ctx);
        return false;
    }
    laio.ok = true;
    return true;
}

bool laio_available(void)
{
    return laio_init();
}

static void laio_submit_waiting(void)
{
    while (laio.wait_head && laio.in_flight < LAIO_DEPTH) {
        struct laio_req *r = laio.wait_head;
        struct iocb *cbs[1] = { &r->iocb };
        int ret;

        ret = io_submit(laio.ctx, 1, cbs);
        if (ret == -EAGAIN)
            return;
        laio.wait_head = r->next;
        if (!laio.wait_head)
            laio.wait_tail = &laio.wait_head;
        if (ret < 0) {
            r->done(r->arg, ret);
            free(r->iov);
            free(r);
            continue;
        }
        laio.in_flight++;
    }
}

int laio_submit(int fd, bool write, uint64_t off, const struct qiov *q, laio_done_fn *done, void *arg)
{
    struct laio_req *r;

    if (!laio_init())
        return -ENOTSUP;
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
    io_set_eventfd(&r->iocb, laio.efd);
    r->iocb.data = r;
    *laio.wait_tail = r;
    laio.wait_tail = &r->next;
    laio_submit_waiting();
    return 0;
}

#else

bool laio_available(void)
{
    return false;
}

int laio_submit(int fd, bool write, uint64_t off, const struct qiov *q, laio_done_fn *done, void *arg)
{
    return -ENOTSUP;
}

#endif
