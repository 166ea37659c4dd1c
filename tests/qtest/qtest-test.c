/* qtest-test.c: the test protocol itself: a megabyte of guest memory in one reply, over-long lines, what the machine reports (EVENT lines), skiff's own exit */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024 * 1024)
#define BASE 0x200000

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 12));
}

/* Send one raw line of `len` bytes (with its newline) and return the reply (static). */
static const char *long_line(struct qtest *q, size_t len)
{
    char *line = malloc(len + 1);
    const char *r;

    memset(line, 'a', len);
    memcpy(line, "write 0x0 0x10 0x", 17);
    line[len] = '\0';
    r = qtest_cmd(q, "%s", line);
    free(line);
    return r;
}

int main(void)
{
    uint8_t *out = malloc(MiB), *in = malloc(MiB);
    struct qtest *q;
    const char *r;
    size_t bad;
    int status;

    for (size_t i = 0; i < MiB; i++)
        out[i] = pattern(i);

    q = qtest_start("-m 64");
    qtest_memwrite(q, BASE, out, MiB);
    memset(in, 0, MiB);
    qtest_memread(q, BASE, in, MiB);
    for (bad = 0; bad < MiB && in[bad] == out[bad]; bad++)
        ;
    CHECK(bad == MiB, "a 1 MiB read (a 2 MiB reply line) returns what a 1 MiB write put there "
          "(first difference at %zu)", bad);
    qtest_cmd(q, "memset 0x%x 0x%x 0x5a", BASE, MiB);
    qtest_memread(q, BASE, in, MiB);
    for (bad = 0; bad < MiB && in[bad] == 0x5a; bad++)
        ;
    CHECK(bad == MiB, "a 1 MiB memset reads back whole (first difference at %zu)", bad);

    r = long_line(q, 9 * MiB);
    CHECK(!r && qtest_readb(q, BASE) == 0x5a,
          "a line longer than skiff takes (9 MiB) is refused, and the next command is answered");
    CHECK(qtest_cmd(q, "read 0x0 0x1000001") == NULL, "a read of more than 16 MiB is refused");

    CHECK(qtest_reset_count(q) == 0 && qtest_shutdown_count(q) == 0 && qtest_exit_event(q) == -1,
          "a machine that nothing reset reports no reset, poweroff or exit");
    qtest_cmd(q, "system_reset");
    qtest_cmd(q, "system_reset");
    CHECK(qtest_reset_count(q) == 2, "two system_resets: skiff reports two resets (%d)",
          qtest_reset_count(q));
    status = qtest_wait_exit(q, 300);
    CHECK(status == -1, "a machine with nothing to end it runs on while the test waits (%d)", status);
    CHECK(qtest_quit(q) == 0, "closing the connection ends skiff with status 0");

    /* an exit the machine asks for is reported, and skiff ends with it by itself */
    q = qtest_start("-device isa-debug-exit,iobase=0xf4,iosize=4");
    qtest_outb(q, 0xf4, 0x02);
    status = qtest_wait_exit(q, 10000);
    CHECK(qtest_exit_event(q) == 5 && status == 5,
          "debug-exit: skiff reports the exit with status 5 and ends with it, the connection "
          "still open (event %d, status %d)", qtest_exit_event(q), status);
    qtest_quit(q);

    /* -no-reboot turns a reset into the end of skiff, after reporting it */
    q = qtest_start("-no-reboot");
    qtest_outb(q, 0xcf9, 0x06);
    status = qtest_wait_exit(q, 10000);
    CHECK(qtest_reset_count(q) == 1 && status == 0,
          "-no-reboot: a reset is reported and skiff ends with status 0 (resets %d, status %d)",
          qtest_reset_count(q), status);
    qtest_quit(q);
    free(out);
    free(in);
    return tap_done();
}
