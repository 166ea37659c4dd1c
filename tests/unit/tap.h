/* tap.h: TAP output for C test programs ("ok N - what", "not ok N - what", "1..N") */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <stdbool.h>
#include <stdlib.h> // getenv

/* Record one check; returns cond. The description says what a user would notice. */
bool tap_check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_skip(const char *reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The suite's TMPDIR (tests/run gives each suite one of its own and fails a suite that leaves
 * anything there), or /tmp. Scratch files go there, never to a fixed /tmp path. Inline, so that
 * the fuzz targets, which link no tap.o, use it too.
 */
static inline const char *tap_tmp_dir(void)
{
    const char *dir = getenv("TMPDIR");

    return dir && *dir ? dir : "/tmp";
}
/* NAME in tap_tmp_dir(); malloc'd. */
char *tap_tmp_path(const char *name);
/* Print the plan; the exit status for main: 0 when every check passed. */
int tap_done(void);

#define CHECK(cond, ...) tap_check((cond), __VA_ARGS__)

#endif
