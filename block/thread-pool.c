/* thread-pool.c: worker threads that run blocking block I/O and post completions back to the main loop */
#define LOG_PREFIX "thread-pool: "
#include "block/block-int.h"
#include "util/log.h"
#include "util/main-loop.h" // bh_new, bh_schedule

#define POOL_MAX_THREADS 64
#define POOL_IDLE_NS (10 * 1000000000LL)

struct pool_item {
    pool_work_fn *work;
    pool_done_fn *done;
    void *arg;
    int ret;
    struct pool_item *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct pool_item *head, **tail;     /* waiting for a worker */
    struct pool_item *done_head, **done_tail;
    int threads, idle, queued;
    struct bh *bh;
} P = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

static void *pool_worker(void *opaque)
{
    pthread_mutex_lock(&P.lock);
    for (;;) {
        struct pool_item *it;

        while (!P.head) {
            struct timespec ts;
            int r;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += POOL_IDLE_NS / 1000000000LL;
            P.idle++;
            r = pthread_cond_timedwait(&P.cond, &P.lock, &ts);
            P.idle--;
            if (r == ETIMEDOUT && !P.head) {
                P.threads--;
                pthread_mutex_unlock(&P.lock);
                return NULL;
            }
        }
        it = P.head;
        P.head = it->next;
        P.queued--;
        if (!P.head)
            P.tail = &P.head;
        pthread_mutex_unlock(&P.lock);

        it->ret = it->work(it->arg);

        pthread_mutex_lock(&P.lock);
        it->next = NULL;
        *P.done_tail = it;
        P.done_tail = &it->next;
        bh_schedule(P.bh);
    }
}

/* In the main loop: hand every finished item to its completion. */
static void pool_bh(void *opaque)
{
    struct pool_item *list, *next;

    pthread_mutex_lock(&P.lock);
    list = P.done_head;
    P.done_head = NULL;
    P.done_tail = &P.done_head;
    pthread_mutex_unlock(&P.lock);
    for (; list; list = next) {
        next = list->next;
        list->done(list->arg, list->ret);
        free(list);
    }
}

void pool_submit(pool_work_fn *work, pool_done_fn *done, void *arg)
{
    struct pool_item *it = xnew(struct pool_item);

    it->work = work;
    it->done = done;
    it->arg = arg;
    pthread_mutex_lock(&P.lock);
    if (!P.bh) {
        /* the first submission comes with the device lock held, as bh_new needs */
        P.bh = bh_new(pool_bh, NULL);
        P.tail = &P.head;
        P.done_tail = &P.done_head;
    }
    *P.tail = it;
    P.tail = &it->next;
    P.queued++;
    if (P.queued > P.idle && P.threads < POOL_MAX_THREADS) {
        pthread_t t;
        pthread_attr_t a;

        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, pool_worker, NULL) == 0)
            P.threads++;
        else if (P.threads == 0)
            log_error("cannot start an I/O worker thread; requests wait");
        pthread_attr_destroy(&a);
    }
    pthread_cond_signal(&P.cond);
    pthread_mutex_unlock(&P.lock);
}
