/* e820.c: building the guest's memory map from the board's RAM layout */
#include "target-x86/e820.h"
#include "target-x86/boot.h"

void e820_add(struct e820_table *t, uint64_t addr, uint64_t size, uint32_t type)
{
    if (t->n < E820_MAX && size)
        t->e[t->n++] = (struct e820_entry){ addr, size, type };
}

void e820_build(struct e820_table *t, uint64_t below_4g, uint64_t above_4g)
{
    t->n = 0;
    /* conventional memory up to the EBDA; the BIOS area holds our MP and ACPI tables */
    e820_add(t, 0, BOOT_EBDA_ADDR, E820_RAM);
    e820_add(t, BOOT_EBDA_ADDR, 0xa0000 - BOOT_EBDA_ADDR, E820_RESERVED);
    e820_add(t, BOOT_BIOS_AREA, 0x100000 - BOOT_BIOS_AREA, E820_RESERVED);
    e820_add(t, 0x100000, below_4g - 0x100000, E820_RAM);
    /* KVM's identity map and TSS pages for real-mode emulation */
    e820_add(t, 0xfeffc000, 0x4000, E820_RESERVED);
    if (above_4g)
        e820_add(t, 4 * GiB, above_4g, E820_RAM);
}
