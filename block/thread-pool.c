/* thread-pool.c: worker threads that run blocking block I/O and post each completion to its submitter's event loop */
#define LOG_PREFIX "thread-pool: "
#include "block/block-int.h"
#include "util/log.h"
#include "util/main-loop.h" // event_loop_post

#include <unistd.h>

#define POOL_MAX_THREADS 64
#define POOL_SLOW_NS 50000         /* work this long means the device, not the CPU, is the limit */
#define POOL_SPIN_NS 30000         /* a worker that just finished looks for more this long before sleeping */
#define POOL_IDLE_NS (10 * 1000000000LL)

struct pool_item {
    pool_work_fn *work;
    pool_done_fn *done;
    void *arg;
    int ret;
    struct event_loop *loop;    /* where done runs */
    struct loop_work posted;
    struct pool_item *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct pool_item *head, **tail;     /* waiting for a worker */
    int threads, idle, queued, sleeping;
    int ncpu;
    int64_t avg_ns;             /* decaying average time of one piece of work */
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .tail = &pool.head,
};

/* In the submitter's loop: hand the finished item to its completion. */
static void pool_item_done(void *opaque)
{
    struct pool_item *it = opaque;

    it->done(it->arg, it->ret);
    free(it);
}

static void *pool_worker(void *opaque)
{
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        struct pool_item *it;

        if (!pool.head && pool.avg_ns < POOL_SLOW_NS && pool.threads <= pool.ncpu) {
            /*
             * The next request of a queue-depth-1 stream served from the page cache
             * comes within microseconds: wait awake. Never when requests wait on a
             * device: spinning workers would take the CPUs the others need.
             */
            int64_t until = clock_monotonic_ns() + POOL_SPIN_NS;

            pool.idle++;
            pthread_mutex_unlock(&pool.lock);
            while (!__atomic_load_n(&pool.queued, __ATOMIC_RELAXED) && clock_monotonic_ns() < until)
                __builtin_ia32_pause();
            pthread_mutex_lock(&pool.lock);
            pool.idle--;
        }
        while (!pool.head) {
            struct timespec ts;
            int r;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += POOL_IDLE_NS / 1000000000LL;
            pool.idle++;
            pool.sleeping++;
            r = pthread_cond_timedwait(&pool.cond, &pool.lock, &ts);
            pool.sleeping--;
            pool.idle--;
            if (r == ETIMEDOUT && !pool.head) {
                pool.threads--;
                pthread_mutex_unlock(&pool.lock);
                return NULL;
            }
        }
        it = pool.head;
        pool.head = it->next;
        __atomic_store_n(&pool.queued, pool.queued - 1, __ATOMIC_RELAXED);
        if (!pool.head)
            pool.tail = &pool.head;
        pthread_mutex_unlock(&pool.lock);

        {
            int64_t t = clock_monotonic_ns();

            it->ret = it->work(it->arg);
            t = clock_monotonic_ns() - t;
            /* the loop batches what comes while it is busy: one wake-up for them all */
            event_loop_post(it->loop, &it->posted);
            pthread_mutex_lock(&pool.lock);
            pool.avg_ns = (pool.avg_ns * 7 + t) / 8;
        }
    }
}

/*
 * How many workers: work served from the page cache is CPU-bound, and more
 * threads than CPUs only fight over the file's locks; work that waits for a
 * device needs many threads in flight to keep the device busy.
 */
static int pool_limit(bool device_bound)
{
    if (!pool.ncpu) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        pool.ncpu = n > 0 ? (int)n : 1;
    }
    if (device_bound && pool.avg_ns > POOL_SLOW_NS)
        return POOL_MAX_THREADS;
    return MIN(MAX(pool.ncpu, 2), POOL_MAX_THREADS);
}

void pool_submit(struct event_loop *l, pool_work_fn *work, pool_done_fn *done, void *arg, bool device_bound)
{
    struct pool_item *it = xnew(struct pool_item);
    bool wake;

    it->work = work;
    it->done = done;
    it->arg = arg;
    it->loop = l;
    it->posted = (struct loop_work){ pool_item_done, it, NULL };
    pthread_mutex_lock(&pool.lock);
    *pool.tail = it;
    pool.tail = &it->next;
    __atomic_store_n(&pool.queued, pool.queued + 1, __ATOMIC_RELAXED);
    if (pool.queued > pool.idle && pool.threads < pool_limit(device_bound)) {
        pthread_t t;
        pthread_attr_t a;

        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, pool_worker, NULL) == 0)
            pool.threads++;
        else if (pool.threads == 0)
            log_error("cannot start an I/O worker thread; requests wait");
        pthread_attr_destroy(&a);
    }
    /* spinning workers see the queue by themselves; only sleeping ones need waking */
    wake = pool.sleeping > 0;
    pthread_mutex_unlock(&pool.lock);
    if (wake)
        pthread_cond_signal(&pool.cond);
}
