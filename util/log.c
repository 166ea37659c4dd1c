/* log.c: message output and rate limiting */
#include "util/log.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

int log_level_max = LOG_INFO;
unsigned log_items;
bool log_timestamps;
const char *log_program = "skiff";

static const char *const level_names[] = { "error: ", "warning: ", "", "debug: " };

/* "2026-12-02T08:38:24.123456Z " with -msg timestamp=on, else nothing; the length written */
static int log_stamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    if (!log_timestamps || size < 32)
        return 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    return n + snprintf(buf + n, size - n, ".%06ldZ ", ts.tv_nsec / 1000);
}

void log_msg(enum log_level level, const char *prefix, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    if ((int)level > log_level_max)
        return;
    n = log_stamp(buf, sizeof(buf));
    n += snprintf(buf + n, sizeof(buf) - n, "%s: %s%s", log_program, level_names[level], prefix);
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof(buf))
        vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    /* one write per line so that lines from threads never interleave */
    n = strlen(buf);
    if (n > 0 && buf[n - 1] != '\n' && (size_t)n < sizeof(buf) - 1)
        buf[n++] = '\n';
    if (write(STDERR_FILENO, buf, n) < 0) {
        /* nothing more we can do */
    }
}

void die(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    char stamp[40];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_stamp(stamp, sizeof(stamp));
    fprintf(stderr, "%sskiff: %s\n", log_timestamps ? stamp : "", buf);
    exit(1);
}

#define RATELIMIT_INTERVAL_NS (5LL * 1000000000LL)
#define RATELIMIT_BURST 10

bool ratelimit_ok(struct ratelimit *rl)
{
    int64_t now = clock_monotonic_ns();

    if (now - rl->window_start > RATELIMIT_INTERVAL_NS) {
        if (rl->suppressed)
            log_msg(LOG_WARN, "", "%u similar messages suppressed", rl->suppressed);
        rl->window_start = now;
        rl->count = 0;
        rl->suppressed = 0;
    }
    if (rl->count < RATELIMIT_BURST) {
        rl->count++;
        return true;
    }
    rl->suppressed++;
    return false;
}
