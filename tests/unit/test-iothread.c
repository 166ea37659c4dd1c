/* test-iothread.c: event loops as instances and I/O threads: what runs where, what waits for what, and that a stopped thread leaves nothing behind */
#include "util/iothread.h"
#include "tests/unit/tap.h"

#include <dirent.h>
#include <stdatomic.h>
#include <unistd.h>

/* budget: 60 */

/* Wait up to 5 s for *flag to reach n. */
static bool wait_for(atomic_int *flag, int n)
{
    for (int i = 0; i < 5000 && atomic_load(flag) < n; i++)
        usleep(1000);
    return atomic_load(flag) >= n;
}

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* What a handler saw: how often it ran, in which thread, in which loop. */
struct seen {
    atomic_int runs;
    pthread_t thread;
    struct event_loop *loop;
    int fd;
    int sleep_ms;
    atomic_int entered, finished;
};

static void seen_note(struct seen *s)
{
    s->thread = pthread_self();
    s->loop = event_loop_current();
    atomic_fetch_add(&s->runs, 1);
}

static void on_readable(void *opaque, uint32_t events)
{
    struct seen *s = opaque;
    char buf[64];

    atomic_fetch_add(&s->entered, 1);
    if (s->sleep_ms)
        usleep(s->sleep_ms * 1000);
    if (read(s->fd, buf, sizeof(buf)) < 0) {
        /* nothing to read: the test looks at runs */
    }
    seen_note(s);
    atomic_fetch_add(&s->finished, 1);
}

static void on_bh(void *opaque)
{
    struct seen *s = opaque;

    atomic_fetch_add(&s->entered, 1);
    if (s->sleep_ms)
        usleep(s->sleep_ms * 1000);
    seen_note(s);
    atomic_fetch_add(&s->finished, 1);
}

static void on_work(void *opaque)
{
    on_bh(opaque);
}

static void on_timer(void *opaque)
{
    seen_note(opaque);
}

struct sched { struct bh *bh; };

static void *schedule_from_thread(void *opaque)
{
    struct sched *s = opaque;

    usleep(20000);
    bh_schedule(s->bh);
    return NULL;
}

static void test_instance(void)
{
    struct event_loop *l;
    struct seen fd_seen = { 0 }, bh_seen = { 0 }, tm_seen = { 0 }, w1 = { 0 }, w2 = { 0 };
    struct loop_work work1 = { on_work, &w1, NULL }, work2 = { on_work, &w2, NULL };
    struct sched sc;
    struct timer *tm;
    pthread_t th;
    int p[2];
    int64_t t0;

    CHECK(event_loop_new(&l) == 0 && l != event_loop_main(), "a loop of its own can be made beside the main loop");
    if (pipe(p) < 0)
        abort();
    fd_seen.fd = p[0];
    CHECK(event_loop_add_fd(l, p[0], EPOLLIN, on_readable, &fd_seen) == 0, "an fd is added to that loop");
    if (write(p[1], "x", 1) != 1)
        abort();
    loop_iterate(false);
    CHECK(atomic_load(&fd_seen.runs) == 0, "the main loop does not serve another loop's fd");
    event_loop_iterate(l, false);
    CHECK(atomic_load(&fd_seen.runs) == 1, "the loop itself serves it");

    sc.bh = bh_new_in(l, on_bh, &bh_seen);
    pthread_create(&th, NULL, schedule_from_thread, &sc);
    t0 = clock_monotonic_ns();
    event_loop_iterate(l, true);
    pthread_join(th, NULL);
    CHECK(atomic_load(&bh_seen.runs) == 1 && clock_monotonic_ns() - t0 >= 15000000,
          "a bottom half scheduled from another thread wakes the loop that sleeps, and runs in it");

    tm = timer_new_in(l, CLK_REALTIME, on_timer, &tm_seen);
    timer_mod(tm, clock_get_ns(CLK_REALTIME) + 30000000);
    t0 = clock_monotonic_ns();
    while (!atomic_load(&tm_seen.runs) && clock_monotonic_ns() - t0 < 2000000000)
        event_loop_iterate(l, true);
    CHECK(atomic_load(&tm_seen.runs) == 1 && clock_monotonic_ns() - t0 >= 29000000,
          "a CLK_REALTIME timer of the loop fires at its time");

    /* 20 timers of 100 us in a row: a loop that waits in whole milliseconds takes 20 ms or more */
    t0 = clock_monotonic_ns();
    for (int i = 1; i <= 20; i++) {
        int64_t wait0 = clock_monotonic_ns();

        timer_mod(tm, clock_get_ns(CLK_REALTIME) + 100000);
        while (atomic_load(&tm_seen.runs) == i && clock_monotonic_ns() - wait0 < 2000000000)
            event_loop_iterate(l, true);
    }
    CHECK(atomic_load(&tm_seen.runs) == 21 && clock_monotonic_ns() - t0 < 15000000,
          "timers keep their microseconds: 20 of 100 us, one after the other, take %.1f ms (not 20 or more)",
          (clock_monotonic_ns() - t0) / 1e6);
    timer_free(tm);

    event_loop_post(l, &work1);
    event_loop_post(l, &work2);
    CHECK(event_loop_unpost(l, &work2) && !event_loop_unpost(l, &work2), "posted work can be taken back once");
    event_loop_iterate(l, false);
    CHECK(atomic_load(&w1.runs) == 1 && atomic_load(&w2.runs) == 0, "posted work runs once; what was taken back does not");

    bh_free(sc.bh);
    event_loop_del_fd(l, p[0]);
    event_loop_free(l);
    close(p[0]);
    close(p[1]);
}

/* A bottom half that schedules itself again, `again` times. */
struct resched { struct bh *bh; atomic_int runs; int again; };

static void on_resched(void *opaque)
{
    struct resched *r = opaque;

    if (atomic_fetch_add(&r->runs, 1) < r->again)
        bh_schedule(r->bh);
}

/* The other thread of the wakeup race: schedule, wait for the run, n times; how many waited over 1 s. */
struct race { struct bh *bh; atomic_int runs, slow, done, stop; int n; };

static void on_race(void *opaque)
{
    struct race *r = opaque;

    atomic_fetch_add(&r->runs, 1);
}

static void *race_thread(void *opaque)
{
    struct race *r = opaque;

    for (int i = 1; i <= r->n && !atomic_load(&r->stop); i++) {
        int64_t t0 = clock_monotonic_ns();

        bh_schedule(r->bh);
        while (atomic_load(&r->runs) < i)
            if (clock_monotonic_ns() - t0 > 1000000000) {
                /* (the next one counts from the runs there are) */
                atomic_fetch_add(&r->slow, 1);
                i = atomic_load(&r->runs);
                break;
            }
    }
    atomic_store(&r->done, 1);
    return NULL;
}

static struct timer *ticker;

static void on_tick(void *opaque)
{
    (void)opaque;
    timer_mod(ticker, clock_get_ns(CLK_REALTIME) + 3000000000);
}

/*
 * A bottom half the loop's own thread schedules runs before the loop sleeps again, and one
 * scheduled from another thread wakes it however close to its poll it comes (a loop that kicks
 * itself only for a polling thread must count itself polling before its last check). A 3 s
 * timer bounds each wait, so that a missed wakeup shows as a run that waited over 1 s, not a hang.
 */
static void test_wakeups(void)
{
    struct event_loop *l;
    struct resched rs = { .again = 2 };
    struct race rc = { .n = 5000 };
    pthread_t th;
    int64_t t0;

    CHECK(event_loop_new(&l) == 0, "a loop for the wakeup checks");
    ticker = timer_new_in(l, CLK_REALTIME, on_tick, NULL);
    on_tick(NULL);
    rs.bh = bh_new_in(l, on_resched, &rs);
    bh_schedule(rs.bh);
    t0 = clock_monotonic_ns();
    for (int i = 0; i < 5 && atomic_load(&rs.runs) < 3; i++)
        event_loop_iterate(l, true);
    CHECK(atomic_load(&rs.runs) == 3 && clock_monotonic_ns() - t0 < 500000000,
          "a bottom half the loop's own thread schedules (itself, twice) runs without the loop sleeping (%d runs)",
          atomic_load(&rs.runs));

    rc.bh = bh_new_in(l, on_race, &rc);
    pthread_create(&th, NULL, race_thread, &rc);
    t0 = clock_monotonic_ns();
    while (!atomic_load(&rc.done) && clock_monotonic_ns() - t0 < 30000000000)
        event_loop_iterate(l, true);
    atomic_store(&rc.stop, 1);
    pthread_join(th, NULL);
    CHECK(atomic_load(&rc.runs) >= rc.n && atomic_load(&rc.slow) == 0,
          "%d bottom halves scheduled from another thread while the loop polls or is about to: each wakes it (%d ran, %d waited over 1 s)",
          rc.n, atomic_load(&rc.runs), atomic_load(&rc.slow));

    bh_free(rs.bh);
    bh_free(rc.bh);
    timer_free(ticker);
    event_loop_free(l);
}

static void run_here(void *opaque)
{
    on_bh(opaque);
}

static void test_iothread(void)
{
    struct seen fd_seen = { 0 }, bh_seen = { 0 }, run_seen = { .sleep_ms = 100 };
    struct iothread *t, *t2;
    struct bh *bh;
    char *err = NULL;
    int p[2], before, during, runs, r;
    int64_t t0;

    before = count_threads();
    CHECK(iothread_new(&t, "io0", &err) == 0, "an I/O thread starts");
    during = count_threads();
    CHECK(iothread_find("io0") == t && !strcmp(iothread_id(t), "io0") && !iothread_find("io1"),
          "it is found by its id, and only by its id");
    r = iothread_new(&t2, "io0", &err);
    CHECK(r == -EEXIST && err && strstr(err, "'io0'"), "a second I/O thread with the same id is refused: %s",
          err ? err : "");
    free(err);

    /* an fd added from the main thread while the thread's loop runs */
    if (pipe(p) < 0)
        abort();
    fd_seen.fd = p[0];
    CHECK(iothread_add_fd(t, p[0], EPOLLIN, on_readable, &fd_seen) == 0, "the main thread adds an fd to the running I/O thread");
    if (write(p[1], "x", 1) != 1)
        abort();
    CHECK(wait_for(&fd_seen.runs, 1) && !pthread_equal(fd_seen.thread, pthread_self()) &&
          fd_seen.loop == iothread_loop(t),
          "its handler runs in the I/O thread, whose current loop is its own");

    /* removal waits for a handler that is running */
    fd_seen.sleep_ms = 200;
    if (write(p[1], "x", 1) != 1)
        abort();
    wait_for(&fd_seen.entered, 2);
    iothread_del_fd(t, p[0]);
    CHECK(atomic_load(&fd_seen.finished) == 2, "removing an fd from the main thread returns once its running handler has finished");
    runs = atomic_load(&fd_seen.runs);
    if (write(p[1], "x", 1) != 1)
        abort();
    usleep(100000);
    CHECK(atomic_load(&fd_seen.runs) == runs, "a removed fd's handler never runs again");

    bh = iothread_bh_new(t, on_bh, &bh_seen);
    bh_schedule(bh);
    CHECK(wait_for(&bh_seen.runs, 1) && !pthread_equal(bh_seen.thread, pthread_self()) &&
          bh_seen.loop == iothread_loop(t), "a bottom half scheduled from the main thread runs in the I/O thread");
    bh_seen.sleep_ms = 200;
    bh_schedule(bh);
    wait_for(&bh_seen.entered, 2);
    bh_free(bh);
    CHECK(atomic_load(&bh_seen.finished) == 2, "freeing a bottom half from the main thread returns once its running call has finished");

    t0 = clock_monotonic_ns();
    iothread_run(t, run_here, &run_seen);
    CHECK(atomic_load(&run_seen.finished) == 1 && clock_monotonic_ns() - t0 >= 100000000 &&
          !pthread_equal(run_seen.thread, pthread_self()) && run_seen.loop == iothread_loop(t),
          "iothread_run runs the function in the I/O thread and returns only when it is done");

    iothread_free(t);
    CHECK(!iothread_find("io0"), "a freed I/O thread is no longer found");
    CHECK(before > 0 && during == before + 1 && count_threads() == before,
          "the thread is there while it runs and gone once freed (%d, %d, %d threads)", before, during,
          count_threads());
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    loop_init();
    devlock_lock();
    test_instance();
    test_wakeups();
    test_iothread();
    iothread_free_all();
    loop_cleanup();
    devlock_unlock();
    return tap_done();
}
