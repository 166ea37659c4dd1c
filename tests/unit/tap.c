/* tap.c: the TAP writer shared by unit and device tests */
#include "tests/unit/tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned n_run, n_failed;

static void line(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
    printf("%s %u - ", prefix, n_run);
    vprintf(fmt, ap);
    printf("%s\n", suffix);
    fflush(stdout);
}

bool tap_check(bool cond, const char *fmt, ...)
{
    va_list ap;

    n_run++;
    if (!cond)
        n_failed++;
    va_start(ap, fmt);
    line(cond ? "ok" : "not ok", fmt, ap, "");
    va_end(ap);
    return cond;
}

void tap_skip(const char *reason, const char *fmt, ...)
{
    va_list ap;

    n_run++;
    va_start(ap, fmt);
    printf("ok %u - ", n_run);
    vprintf(fmt, ap);
    printf(" # SKIP %s\n", reason);
    va_end(ap);
    fflush(stdout);
}

void tap_note(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

char *tap_tmp_path(const char *name)
{
    const char *dir = tap_tmp_dir();
    size_t len;
    char *p;

    len = strlen(dir) + strlen(name) + 2;
    p = malloc(len);
    if (!p) {
        printf("not ok - out of memory\n");
        exit(2);
    }
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

int tap_done(void)
{
    printf("1..%u\n", n_run);
    fflush(stdout);
    return n_failed ? 1 : 0;
}
