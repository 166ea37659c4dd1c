/* noreboot.c: payload that resets the machine under -no-reboot: skiff must exit 0 instead */
#include "lib/intr.h"

/* skiff-args: -no-reboot */
/* skiff-expect-exit: 0 */

void test_main(uint32_t magic, uint32_t mbi)
{
    check(true, "about to reset under -no-reboot");
    printf("1..1\n");
    outb(0xcf9, 0x06);
    udelay(200000);
    check(false, "skiff exited on the reset");
}
