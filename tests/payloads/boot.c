/* boot.c: payload that checks what skiff's multiboot loader handed over: magic, memory map, command line, modules */

/* skiff-initrd: modules */
#include "lib/payload.h"

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4], mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mod {
    uint32_t start, end, string, reserved;
};

void test_main(uint32_t magic, uint32_t mbi_addr)
{
    const struct mb_info *mbi = (const void *)mbi_addr;
    const char *cmdline;
    uint64_t ram = 0;
    bool saw_low = false, saw_high = false;

    check(magic == 0x2badb002, "multiboot magic in EAX (got 0x%x)", magic);
    check(mbi->flags & (1 << 6), "memory map present (flags 0x%x)", mbi->flags);
    for (uint32_t off = 0; off < mbi->mmap_length;) {
        uint32_t size = *(uint32_t *)(mbi->mmap_addr + off);
        uint64_t base = *(uint64_t *)(mbi->mmap_addr + off + 4);
        uint64_t len = *(uint64_t *)(mbi->mmap_addr + off + 12);
        uint32_t type = *(uint32_t *)(mbi->mmap_addr + off + 20);

        note("e820 %016llx-%016llx type %u", base, base + len - 1, type);
        if (type == 1) {
            ram += len;
            if (base == 0)
                saw_low = true;
            if (base == 0x100000)
                saw_high = true;
        }
        off += size + 4;
    }
    check(saw_low && saw_high, "RAM at 0 and at 1 MiB in the memory map");
    /* -m 64: 64 MiB less the holes below 1 MiB (at most 384 KiB) */
    check(ram > (64ull << 20) - (400 << 10) && ram <= (64ull << 20),
          "memory map adds up to -m 64 (%llu KiB of RAM)", ram >> 10);
    check(mbi->mem_lower == 640, "mem_lower is 640 KiB (%u)", mbi->mem_lower);
    cmdline = (const char *)mbi->cmdline;
    check((mbi->flags & (1 << 2)) && strstr(cmdline, "hello=world"),
          "command line carries -append (\"%s\")", cmdline);
    check(mbi->mods_count == 2, "two modules from -initrd (%u)", mbi->mods_count);
    if (mbi->mods_count == 2) {
        const struct mb_mod *m = (const void *)mbi->mods_addr;

        check(m[0].end - m[0].start == 6 && !memcmp((void *)m[0].start, "first\n", 6),
              "module 1 holds its file's bytes");
        check(!strcmp((const char *)m[0].string + strlen((const char *)m[0].string) - 4, "arg1"),
              "module 1 carries its argument (\"%s\")", (const char *)m[0].string);
        check(!memcmp((void *)m[1].start, "second\n", 7), "module 2 holds its file's bytes");
        check((m[1].start & 0xfff) == 0, "modules are page aligned");
    }
}
