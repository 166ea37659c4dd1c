/* debug.c: test breakpoints in the block layer: a request stops at a named point in its worker until resumed (qtest's block_break, after QEMU's blkdebug break/resume) */
#include "block/block-int.h"

#include <time.h>

/*
 * One breakpoint at a time. Unarmed, an event costs one atomic load. Armed, the first request
 * (or several) to reach the named point waits there until block_debug_resume, which a test sends
 * after it has done what must happen in between (a guest changing a DMA buffer, a quit). A drain
 * resumes them too: it could never end with a request held.
 */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool armed;
    char event[32];
    unsigned stopped;       /* requests waiting at the point */
} bdbg = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

void block_debug_event(const char *event)
{
    if (!__atomic_load_n(&bdbg.armed, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&bdbg.lock);
    if (bdbg.armed && !strcmp(bdbg.event, event)) {
        bdbg.stopped++;
        pthread_cond_broadcast(&bdbg.cond);
        while (bdbg.armed)
            pthread_cond_wait(&bdbg.cond, &bdbg.lock);
        bdbg.stopped--;
    }
    pthread_mutex_unlock(&bdbg.lock);
}

int block_debug_break(const char *event)
{
    if (strlen(event) >= sizeof(bdbg.event))
        return -EINVAL;
    pthread_mutex_lock(&bdbg.lock);
    snprintf(bdbg.event, sizeof(bdbg.event), "%s", event);
    __atomic_store_n(&bdbg.armed, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&bdbg.lock);
    return 0;
}

int block_debug_wait(int timeout_ms)
{
    struct timespec until;
    int ret = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&bdbg.lock);
    while (bdbg.armed && !bdbg.stopped && ret == 0)
        ret = pthread_cond_timedwait(&bdbg.cond, &bdbg.lock, &until);
    ret = bdbg.stopped ? 0 : -ETIMEDOUT;
    pthread_mutex_unlock(&bdbg.lock);
    return ret;
}

void block_debug_resume(void)
{
    if (!__atomic_load_n(&bdbg.armed, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&bdbg.lock);
    __atomic_store_n(&bdbg.armed, false, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&bdbg.cond);
    pthread_mutex_unlock(&bdbg.lock);
}
