/* pvh_main.c: the unpacked-kernel path: checks the PVH start_info skiff wrote (Xen HVM direct boot ABI) */
#include "lib/payload.h"

struct start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};

struct memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

/* from the link script (pvh.ld at 16 MiB, pvh-low.ld at 32 KiB) */
extern char __image_start[], __image_end[];

/* [a, a + len) does not touch this image */
static bool outside(uint64_t a, uint64_t len)
{
    return a + len <= (uintptr_t)__image_start || a >= (uintptr_t)__image_end;
}

void pvh_main(const struct start_info *si);
void pvh_main(const struct start_info *si)
{
    const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
    const uint64_t *mod = (const uint64_t *)(uintptr_t)si->modlist_paddr;
    const struct memmap_entry *mm = (const void *)(uintptr_t)si->memmap_paddr;
    uint64_t ram = 0;
    uint32_t cr0;

    serial_init();
    note("entered through the PVH entry of the unpacked vmlinux");
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    check((cr0 & 0x80000001) == 1, "the CPU is in 32-bit protected mode without paging");
    check(si->magic == 0x336ec578 && si->version >= 1, "start_info has the PVH magic, version %u",
          si->version);
    check(cmdline && strstr(cmdline, "hello=world"), "the command line is -append (\"%s\")",
          cmdline ? cmdline : "");
    check(si->nr_modules == 1 && mod && mod[1] == 4096 &&
              !memcmp((const void *)(uintptr_t)mod[0], "INITRD-MAGIC", 12),
          "the initrd is module 0 with its bytes");
    for (uint32_t i = 0; i < si->memmap_entries; i++)
        if (mm[i].type == 1)
            ram += mm[i].size;
    check(si->memmap_entries >= 3 && ram > (120ull << 20) && ram <= (128ull << 20),
          "the memory map has %u entries adding up to -m 128 (%u KiB)", si->memmap_entries,
          (uint32_t)(ram >> 10));
    check(si->rsdp_paddr && !memcmp((const void *)(uintptr_t)si->rsdp_paddr, "RSD PTR ", 8),
          "rsdp_paddr points at the RSDP");
    check(outside((uintptr_t)si, sizeof(*si)) && outside(si->cmdline_paddr, strlen(cmdline) + 1) &&
              outside(si->memmap_paddr, si->memmap_entries * sizeof(*mm)) &&
              (!si->nr_modules || (outside(si->modlist_paddr, 32) && outside(mod[0], mod[1]))),
          "start_info (0x%x), the command line, memory map, module list and initrd lie outside "
          "the image (0x%x-0x%x)", (uint32_t)(uintptr_t)si, (uint32_t)(uintptr_t)__image_start,
          (uint32_t)(uintptr_t)__image_end - 1);
    done();
}

void test_main(uint32_t magic, uint32_t mbi)
{
}
