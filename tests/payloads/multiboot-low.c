/* multiboot-low.c: payload linked at 32 KiB (multiboot-low.ld), as small real-mode test kernels are: the multiboot information, memory map, command line, modules and GDT it gets must be intact and lie outside its image */

/* skiff-initrd: modules */
/* skiff-also-as: multiboot-low.bin (the same image as a flat binary with an a.out kludge header) */
#include "lib/payload.h"

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4], mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name;
} __attribute__((packed));

struct mb_mod {
    uint32_t start, end, string, reserved;
};

/* from multiboot-low.ld */
extern char __image_start[], __image_end[];

/* The image as the file has it: data the loader must leave alone, bss it must leave zero. */
#define SENTINEL 0x5a17c0deu
static volatile uint32_t sentinel[256] = { [0 ... 255] = SENTINEL };
static volatile uint8_t bss_probe[4096];

static uint32_t img_lo, img_hi;

/* [a, a + len) does not touch the image */
static bool outside(uint32_t a, uint32_t len)
{
    return a + len <= img_lo || a >= img_hi;
}

static bool str_outside(uint32_t s)
{
    return s && outside(s, strlen((const char *)s) + 1);
}

static void check_mmap(const struct mb_info *mbi)
{
    bool saw_low = false, saw_high = false, image_in_ram = false;

    check(mbi->mmap_length >= 3 * 24 && outside(mbi->mmap_addr, mbi->mmap_length),
          "the memory map (%u bytes at 0x%x) lies outside the image", mbi->mmap_length,
          mbi->mmap_addr);
    for (uint32_t off = 0; off + 24 <= mbi->mmap_length;) {
        uint32_t size = *(uint32_t *)(mbi->mmap_addr + off);
        uint64_t base = *(uint64_t *)(mbi->mmap_addr + off + 4);
        uint64_t len = *(uint64_t *)(mbi->mmap_addr + off + 12);
        uint32_t type = *(uint32_t *)(mbi->mmap_addr + off + 20);

        if (type == 1) {
            saw_low |= base == 0;
            saw_high |= base == 0x100000;
            image_in_ram |= base <= img_lo && img_hi <= base + len;
        }
        off += size + 4;
    }
    check(saw_low && saw_high, "the memory map has RAM at 0 and at 1 MiB");
    check(image_in_ram, "the memory map gives the image's memory (0x%x-0x%x) as RAM", img_lo,
          img_hi - 1);
}

static void check_modules(const struct mb_info *mbi)
{
    const struct mb_mod *m = (const void *)mbi->mods_addr;
    bool apart = true;

    check(mbi->mods_count == 2, "two modules from -initrd (%u)", mbi->mods_count);
    if (mbi->mods_count != 2)
        return;
    check(outside(mbi->mods_addr, 2 * sizeof(*m)), "the module list (at 0x%x) lies outside the image",
          mbi->mods_addr);
    check(m[0].end - m[0].start == 6 && !memcmp((void *)m[0].start, "first\n", 6),
          "module 1 (at 0x%x) holds its file's bytes", m[0].start);
    check(m[1].end - m[1].start == 7 && !memcmp((void *)m[1].start, "second\n", 7),
          "module 2 (at 0x%x) holds its file's bytes", m[1].start);
    check((m[0].start & 0xfff) == 0 && (m[1].start & 0xfff) == 0, "the modules are page aligned");
    for (int i = 0; i < 2; i++)
        apart &= outside(m[i].start, m[i].end - m[i].start) && str_outside(m[i].string) &&
                 (m[i].end <= (uint32_t)mbi || m[i].start >= (uint32_t)mbi + sizeof(*mbi));
    check(apart, "the modules and their strings lie outside the image and the info");
    check(!strcmp((const char *)m[0].string + strlen((const char *)m[0].string) - 4, "arg1"),
          "module 1 carries its argument (\"%s\")", (const char *)m[0].string);
}

void test_main(uint32_t magic, uint32_t mbi_addr)
{
    const struct mb_info *mbi = (const void *)mbi_addr;
    const char *cmdline = (const char *)mbi->cmdline;
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdtr;
    bool intact = true, zero = true;

    img_lo = (uint32_t)__image_start;
    img_hi = (uint32_t)__image_end;
    note("image at 0x%x-0x%x, multiboot info at 0x%x", img_lo, img_hi - 1, mbi_addr);
    check(img_lo == 0x8000, "the payload runs where it is linked, at 32 KiB (0x%x)", img_lo);
    check(magic == 0x2badb002, "multiboot magic in EAX (got 0x%x)", magic);
    check(mbi_addr && outside(mbi_addr, sizeof(*mbi)) &&
              (mbi_addr + sizeof(*mbi) <= 0x9fc00 || (mbi_addr >= 0x100000 && mbi_addr < (64u << 20))),
          "EBX points at the info (0x%x), in RAM, outside the image", mbi_addr);
    check((mbi->flags & 0x4d) == 0x4d, "the info has memory sizes, command line, modules and "
          "memory map (flags 0x%x)", mbi->flags);
    check(mbi->mem_lower == 640 && mbi->mem_upper == 63 * 1024,
          "mem_lower/mem_upper are 640 KiB and 63 MiB for -m 64 (%u, %u)", mbi->mem_lower,
          mbi->mem_upper);
    check(str_outside(mbi->cmdline) && strstr(cmdline, "hello=world"),
          "the command line (at 0x%x) lies outside the image and carries -append (\"%s\")",
          mbi->cmdline, mbi->cmdline ? cmdline : "");
    check((mbi->flags & (1 << 9)) && str_outside(mbi->boot_loader_name) &&
              !strcmp((const char *)mbi->boot_loader_name, "skiff"),
          "the boot loader's name is \"skiff\", outside the image");
    check_mmap(mbi);
    check_modules(mbi);
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    check(outside(gdtr.base, gdtr.limit + 1), "the GDT skiff set up (at 0x%x) lies outside the image",
          gdtr.base);
    for (int i = 0; i < 256; i++)
        intact &= sentinel[i] == SENTINEL;
    for (int i = 0; i < 4096; i++)
        zero &= bss_probe[i] == 0;
    check(intact && zero, "the image's data is as linked and its bss is zero");
}
