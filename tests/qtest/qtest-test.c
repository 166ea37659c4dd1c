/* qtest-test.c: the test protocol itself: a megabyte of guest memory in one reply, over-long lines */
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
    CHECK(qtest_quit(q) == 0, "closing the connection ends skiff with status 0");

    free(out);
    free(in);
    return tap_done();
}
