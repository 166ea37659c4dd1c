/* poweroff.c: payload that powers off through ACPI (PM1a_CNT, SLP_TYP from \_S5, SLP_EN): skiff exits 0 */
#include "lib/intr.h"

/* skiff-expect-exit: 0 */

void test_main(uint32_t magic, uint32_t mbi)
{
    const uint8_t *fadt = acpi_find("FACP");
    uint16_t cnt = fadt ? *(const uint32_t *)(fadt + 64) : 0;

    check(cnt != 0, "the FADT names PM1a_CNT (0x%x)", cnt);
    printf("1..1\n");
    /* \_S5 is Package {0, 0, 0, 0}: SLP_TYP 0; SLP_EN is bit 13 */
    outw(cnt, (0 << 10) | (1 << 13));
    udelay(200000);
    check(false, "skiff exited on ACPI poweroff");
}
