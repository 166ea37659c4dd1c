/* reset.c: payload that resets the machine every way a PC can, counting boots in CMOS RAM */
/* skiff-args: -d cpu_reset */
/* skiff-expect-stderr: vCPU 0: triple fault: the machine resets */
/* skiff-expect-stderr: CPU Reset (CPU 0) */
#include "lib/intr.h"

#define CMOS_BOOTS 0x50     /* CMOS RAM survives a reset; our boot counter lives there */

static uint8_t cmos(uint8_t r) { outb(0x70, r); return inb(0x71); }
static void cmos_write(uint8_t r, uint8_t v) { outb(0x70, r); outb(0x71, v); }

/* With no IDT, a #GP cannot be delivered: double fault, then triple fault, then reset. (A #GP
 * from a bad selector, not int3: the software KVM of the native lane cannot emulate int3.) */
static void triple_fault(void)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) none = { 0, 0 };

    __asm__ volatile("lidt %0; mov $0xfff8, %%ax; mov %%ax, %%ds" : : "m"(none) : "eax");
}

void test_main(uint32_t magic, uint32_t mbi)
{
    uint8_t boots = cmos(CMOS_BOOTS);
    static const char *const how[] = {
        "the reset control register (0xcf9)", "port 0x92's fast reset", "the 8042's reset line",
        "a triple fault", "the 8042's output port",
    };

    /* CMOS RAM starts as zeros: boot 0 */
    check(boots <= 5, "boot %u of this machine", boots);
    if (boots > 0)
        check(true, "the machine came back after a reset through %s", how[boots - 1]);
    check(*(volatile uint32_t *)0x100000 != 0, "the payload was loaded again after the reset");
    cmos_write(CMOS_BOOTS, boots + 1);
    switch (boots) {
    case 0: outb(0xcf9, 0x02); outb(0xcf9, 0x06); break;
    case 1: outb(0x92, inb(0x92) | 1); break;
    case 2: outb(0x64, 0xfe); break;
    case 3: triple_fault(); break;
    case 4:
        outb(0x64, 0xd1);       /* write output port: bit 0 low holds the CPU in reset */
        outb(0x60, 0x00);
        break;
    default:
        return;                 /* done: exit through debug-exit */
    }
    udelay(100000);
    check(false, "reset %u (%s) took effect", boots + 1, how[boots]);
}
