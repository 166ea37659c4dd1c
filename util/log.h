/* log.h: messages to stderr, each prefixed by the file's LOG_PREFIX, with rate limiting for guest-triggered ones */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include "util/osdep.h"

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_level_max;
/* -d ITEMS beyond debug, as QEMU's: LOG_CPU_RESET (cpu_reset) dumps the vCPUs at each system reset */
extern unsigned log_items;
#define LOG_CPU_RESET (1u << 0)
/* -msg timestamp=on: each line starts with its UTC time, as QEMU's (2026-12-02T08:38:24.123456Z) */
extern bool log_timestamps;
/* The name each line starts with: "skiff", or the tool's */
extern const char *log_program;

void log_msg(enum log_level level, const char *prefix, const char *fmt, ...) PRINTF_FMT(3, 4);
/* Fatal start-up error: one line, exit status 1. Never on a guest's action. */
void NORETURN die(const char *fmt, ...) PRINTF_FMT(1, 2);

/* A rate limit: at most `burst` messages per `interval_ns`, then one "suppressed" note. */
struct ratelimit {
    int64_t window_start;
    unsigned count;
    unsigned suppressed;
};
bool ratelimit_ok(struct ratelimit *rl);

#define log_error(...) log_msg(LOG_ERROR, LOG_PREFIX, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, LOG_PREFIX, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, LOG_PREFIX, __VA_ARGS__)
#define log_debug(...) \
    do { if (unlikely(log_level_max >= LOG_DEBUG)) log_msg(LOG_DEBUG, LOG_PREFIX, __VA_ARGS__); } while (0)

/* For anything a guest can trigger: each call site has its own limit. */
#define log_guest_error(...)                              \
    do {                                                  \
        static struct ratelimit rl_;                      \
        if (ratelimit_ok(&rl_))                           \
            log_msg(LOG_WARN, LOG_PREFIX, __VA_ARGS__);   \
    } while (0)

#endif
