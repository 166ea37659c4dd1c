/* bench-boot.c: the payload bench/boot times: COM1 output, then its markers on port 0x402, then exit */
#include "lib/payload.h"

/* bench/probe.c's control bytes on the debugcon: init started, measure memory, powering off */
#define DEBUGCON 0x402
#define MARK_INIT 0x01
#define MARK_MEASURE 0x02
#define MARK_POWEROFF 0x03

void test_main(uint32_t magic, uint32_t mbi)
{
    (void)mbi;
    /* the payload's "init": it is running, and COM1 (set up before us) carries its first bytes */
    check(magic == 0x2badb002, "bench-boot: started by a multiboot loader");
    outb(DEBUGCON, MARK_INIT);
    outb(DEBUGCON, MARK_MEASURE);
    outb(DEBUGCON, MARK_POWEROFF);
}
