/* multiboot.c: Multiboot 0.6.96 (version 1) images, with -initrd files as modules, as QEMU loads them */
#define LOG_PREFIX "multiboot: "
#include "target-x86/boot.h"
#include "hw/guest-mem.h"
#include "util/log.h"

#define MB_HEADER_MAGIC 0x1badb002
#define MB_BOOT_MAGIC 0x2badb002
#define MB_SEARCH 8192

/* header flags (spec 3.1.2) */
#define MB_PAGE_ALIGN   (1u << 0)
#define MB_MEMORY_INFO  (1u << 1)
#define MB_VIDEO_MODE   (1u << 2)
#define MB_AOUT_KLUDGE  (1u << 16)

/* info flags (spec 3.3) */
#define MBI_MEM         (1u << 0)
#define MBI_CMDLINE     (1u << 2)
#define MBI_MODS        (1u << 3)
#define MBI_MMAP        (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe[6];
} __attribute__((packed));

struct mb_module {
    uint32_t mod_start, mod_end, string, reserved;
};

#define MAX_MODULES 32

/* Split "a args,b args" on commas; ",," is a literal comma (QEMU's -initrd for multiboot). */
static int split_modules(const char *s, char **out, int max)
{
    int n = 0;

    while (s && *s && n < max) {
        size_t cap = strlen(s) + 1, k = 0;
        char *m = xmalloc(cap);

        while (*s) {
            if (*s == ',' && s[1] == ',') {
                m[k++] = ',';
                s += 2;
            } else if (*s == ',') {
                s++;
                break;
            } else {
                m[k++] = *s++;
            }
        }
        m[k] = '\0';
        out[n++] = m;
    }
    return n;
}

int multiboot_load(const struct boot_request *req, const uint8_t *img, size_t len,
                   struct cpu_entry *entry, char **err)
{
    uint32_t flags = 0, hoff = 0, mb_entry;
    uint64_t load_end, strings, str_end;
    struct mb_info mbi = { 0 };
    struct mb_module mods[MAX_MODULES];
    char *modspec[MAX_MODULES];
    int nmods = 0, r = 0;
    bool found = false;
    char *cmd;

    for (size_t off = 0; off + 12 <= MIN(len, (size_t)MB_SEARCH); off += 4) {
        if (ldl_le(img + off) == MB_HEADER_MAGIC &&
            (uint32_t)(ldl_le(img + off) + ldl_le(img + off + 4) + ldl_le(img + off + 8)) == 0) {
            hoff = off;
            flags = ldl_le(img + off + 4);
            found = true;
            break;
        }
    }
    if (!found)
        return -ENOEXEC;

    if (flags & MB_AOUT_KLUDGE) {
        uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
        uint64_t file_off, copy;

        if (hoff + 32 > len) {
            *err = xasprintf("kernel '%s': truncated multiboot header", req->kernel);
            return -EINVAL;
        }
        header_addr = ldl_le(img + hoff + 12);
        load_addr = ldl_le(img + hoff + 16);
        load_end_addr = ldl_le(img + hoff + 20);
        bss_end_addr = ldl_le(img + hoff + 24);
        mb_entry = ldl_le(img + hoff + 28);
        if (header_addr < load_addr || header_addr - load_addr > hoff) {
            *err = xasprintf("kernel '%s': multiboot header addresses are inconsistent", req->kernel);
            return -EINVAL;
        }
        file_off = hoff - (header_addr - load_addr);
        copy = load_end_addr ? (uint64_t)load_end_addr - load_addr : len - file_off;
        if (load_end_addr && load_end_addr < load_addr)
            copy = 0;
        if (file_off + copy > len)
            copy = len - file_off;
        load_end = bss_end_addr > load_addr ? bss_end_addr : load_addr + copy;
        if (load_end > req->ram_below_4g || load_addr < BOOT_KERNEL_ADDR / 2) {
            *err = xasprintf("kernel '%s' loads at 0x%x-0x%" PRIx64 ", outside guest RAM",
                             req->kernel, load_addr, load_end);
            return -ENOMEM;
        }
        gmem_write(load_addr, img + file_off, copy);
        if (load_end > load_addr + copy) {
            uint8_t *z = gmem_ptr_w(load_addr + copy, load_end - (load_addr + copy));

            if (z)
                memset(z, 0, load_end - (load_addr + copy));
        }
    } else {
        struct elf_info info;
        char *e = NULL;

        r = elf_probe(img, len, &info, &e);
        if (r < 0) {
            *err = xasprintf("kernel '%s': multiboot image without an address header must be "
                             "ELF%s%s", req->kernel, e ? ": " : "", e ? e : "");
            free(e);
            return -EINVAL;
        }
        if (info.hi > req->ram_below_4g) {
            *err = xasprintf("kernel '%s' needs %" PRIu64 " MiB of RAM; give it more with -m",
                             req->kernel, DIV_ROUND_UP(info.hi, MiB) + 1);
            return -ENOMEM;
        }
        r = elf_load(img, len, &info, req->ram_is_zero, err);
        if (r < 0)
            return r;
        mb_entry = info.entry;
        load_end = info.hi;
    }

    /* modules go page-aligned after the kernel, then their strings and the info */
    nmods = split_modules(req->initrd, modspec, MAX_MODULES);
    load_end = ALIGN_UP(load_end, 4096ULL);
    for (int i = 0; i < nmods; i++) {
        char *sp = strchr(modspec[i], ' ');
        char *path = sp ? xstrndup(modspec[i], sp - modspec[i]) : xstrdup(modspec[i]);
        uint8_t *data;
        size_t dlen;

        r = boot_read_file("multiboot module", path, &data, &dlen, err);
        free(path);
        if (r < 0)
            goto out;
        if (load_end + dlen > req->ram_below_4g) {
            *err = xasprintf("multiboot module '%s' does not fit in guest RAM", modspec[i]);
            free(data);
            r = -ENOMEM;
            goto out;
        }
        gmem_write(load_end, data, dlen);
        free(data);
        mods[i].mod_start = load_end;
        mods[i].mod_end = load_end + dlen;
        mods[i].reserved = 0;
        load_end = ALIGN_UP(load_end + dlen, 4096ULL);
    }

    /* strings (command lines) in the boot info area after the info and tables */
    strings = BOOT_INFO_ADDR + 0x1000;
    str_end = BOOT_INFO_ADDR + BOOT_INFO_SIZE;
    cmd = xasprintf("%s%s%s", req->kernel, req->cmdline && *req->cmdline ? " " : "",
                    req->cmdline ? req->cmdline : "");
#define PUT_STRING(s, dst)                                       \
    do {                                                         \
        size_t l_ = strlen(s) + 1;                               \
        if (strings + l_ > str_end) {                            \
            *err = xstrdup("multiboot command lines are too long"); \
            free(cmd);                                           \
            r = -EINVAL;                                         \
            goto out;                                            \
        }                                                        \
        gmem_write(strings, s, l_);                              \
        dst = strings;                                           \
        strings += l_;                                           \
    } while (0)
    PUT_STRING(cmd, mbi.cmdline);
    free(cmd);
    cmd = NULL;
    for (int i = 0; i < nmods; i++)
        PUT_STRING(modspec[i], mods[i].string);
    {
        uint32_t loader;

        PUT_STRING("skiff", loader);
        mbi.boot_loader_name = loader;
    }
#undef PUT_STRING

    {
        uint64_t mods_addr = BOOT_INFO_ADDR + 0x100, mmap_addr = BOOT_INFO_ADDR + 0x400;
        uint8_t mm[E820_MAX * 24];
        int n = req->e820->n;

        gmem_write(mods_addr, mods, nmods * sizeof(struct mb_module));
        for (int i = 0; i < n; i++) {
            stl_le(mm + 24 * i, 20);
            stq_le(mm + 24 * i + 4, req->e820->e[i].addr);
            stq_le(mm + 24 * i + 12, req->e820->e[i].size);
            stl_le(mm + 24 * i + 20, req->e820->e[i].type);
        }
        gmem_write(mmap_addr, mm, n * 24);
        mbi.flags = MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
        mbi.mem_lower = 640;
        mbi.mem_upper = (uint32_t)MIN((req->ram_below_4g - 0x100000) / 1024, (uint64_t)UINT32_MAX);
        mbi.mods_count = nmods;
        mbi.mods_addr = mods_addr;
        mbi.mmap_length = n * 24;
        mbi.mmap_addr = mmap_addr;
        gmem_write(BOOT_INFO_ADDR, &mbi, sizeof(mbi));
    }

    memset(entry, 0, sizeof(*entry));
    entry->mode = CPU_ENTRY_PROT32;
    entry->rip = mb_entry;
    entry->eax = MB_BOOT_MAGIC;
    entry->ebx = BOOT_INFO_ADDR;
    entry->rsp = BOOT_STACK_ADDR;
    boot_setup_gdt(entry);
    r = 0;
out:
    for (int i = 0; i < nmods; i++)
        free(modspec[i]);
    return r;
}
