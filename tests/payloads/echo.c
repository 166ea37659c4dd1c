/* echo.c: payload for the console tests: echoes each line typed on COM1 until "quit", and says when an NMI came (run by tests/cli/t-console.sh) */
#include "lib/intr.h"

/* skiff-no-auto-run: needs input on its console */

#define COM1 0x3f8

static volatile uint32_t nmis;

static void on_nmi(int vector)
{
    nmis++;
}

void test_main(uint32_t magic, uint32_t mbi)
{
    char line[128];
    unsigned n = 0;
    uint32_t nmis_told = 0;

    idt_init();
    isr_set(2, on_nmi);
    printf("echo ready\n");
    for (;;) {
        char c;

        while (!(inb(COM1 + 5) & 1)) {
            /* the monitor's nmi: said here, where printing is safe */
            if (nmis != nmis_told) {
                nmis_told = nmis;
                printf("echo: NMI %u\n", nmis_told);
            }
            pause();
        }
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
