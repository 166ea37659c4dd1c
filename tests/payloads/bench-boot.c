/* bench-boot.c: the payload bench/boot times: COM1 output, then its markers on port 0x402, then exit */
#include "lib/payload.h"
#include "lib/intr.h"

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
    /* give the probe time to stop the VMM and read its memory before we end: without the wait
     * the VMM could exit first and the figure went missing (seen in CI, on QEMU) */
    if (pmtimer_port())
        udelay(20000);
    else
        for (int i = 0; i < 20000; i++)
            outb(0x80, 0);
    outb(DEBUGCON, MARK_POWEROFF);
}
