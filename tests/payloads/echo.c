/* echo.c: payload for the console tests: echoes each line typed on COM1 until "quit" (run by tests/cli/t-console.sh) */
#include "lib/payload.h"

/* skiff-no-auto-run: needs input on its console */

#define COM1 0x3f8

void test_main(uint32_t magic, uint32_t mbi)
{
    char line[128];
    unsigned n = 0;

    printf("echo ready\n");
    for (;;) {
        char c;

        while (!(inb(COM1 + 5) & 1))
            pause();
        c = inb(COM1);
        if (c == '\r' || c == '\n') {
            line[n] = '\0';
            if (n == 0)
                continue;
            printf("echo: %s\n", line);
            if (!strcmp(line, "quit"))
                break;
            n = 0;
        } else if (n < sizeof(line) - 1) {
            line[n++] = c;
        }
    }
    check(true, "the console delivered every line");
}
