/* log.c: message output and rate limiting */
#include "util/log.h"

#include <stdarg.h>
#include <unistd.h>

int log_level_max = LOG_INFO;

static const char *const level_names[] = { "error: ", "warning: ", "", "debug: " };

void log_msg(enum log_level level, const char *prefix, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    if ((int)level > log_level_max)
        return;
    n = snprintf(buf, sizeof(buf), "skiff: %s%s", level_names[level], prefix);
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

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "skiff: %s\n", buf);
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
