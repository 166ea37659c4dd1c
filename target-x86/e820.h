/* e820.h: the BIOS memory map (ACPI spec "System Address Map Interfaces") that every boot path hands over */
#ifndef TARGET_X86_E820_H
#define TARGET_X86_E820_H

#include "util/osdep.h"

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4

#define E820_MAX 32

struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

struct e820_table {
    int n;
    struct e820_entry e[E820_MAX];
};

void e820_add(struct e820_table *t, uint64_t addr, uint64_t size, uint32_t type);
/* The map of a machine with `below_4g` bytes of RAM from 0 and `above_4g` from 4 GiB. */
void e820_build(struct e820_table *t, uint64_t below_4g, uint64_t above_4g);

#endif
