/* multiboot.c: Multiboot 0.6.96 (version 1) images, with -initrd files as modules, as QEMU loads them */
#define LOG_PREFIX "multiboot: "
#include "target-x86/boot.h"
#include "hw/core/guest-mem.h"
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

#define MB_MMAP_ENTRY   24      /* size field (20), base, length, type (spec 3.3) */
#define MB_STACK_SIZE   4096    /* ESP is the OS's to set (spec 3.2); it gets a page anyway */
#define MB_LOADER_NAME  "skiff"

/* One -initrd module: "path args" and the file's bytes. */
struct mb_file {
    char *spec;
    uint8_t *data;
    size_t len;
};

/* Split "a args,b args" on commas; ",," is a literal comma (QEMU's -initrd for multiboot). */
static int split_modules(const char *s, struct mb_file **out)
{
    int n = 0;

    *out = NULL;
    while (s && *s) {
        size_t k = 0;
        char *m = xmalloc(strlen(s) + 1);

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
        *out = xrealloc(*out, (n + 1) * sizeof(**out));
        (*out)[n++] = (struct mb_file){ .spec = m };
    }
    return n;
}

static void free_modules(struct mb_file *f, int n)
{
    for (int i = 0; i < n; i++) {
        free(f[i].spec);
        free(f[i].data);
    }
    free(f);
}

/* The header in the first 8 KiB, 4-byte aligned, whose three words add up to 0 (spec 3.1.1). */
static bool find_header(const uint8_t *img, size_t len, uint32_t *hoff, uint32_t *flags)
{
    for (size_t off = 0; off + 12 <= MIN(len, (size_t)MB_SEARCH); off += 4) {
        if (ldl_le(img + off) == MB_HEADER_MAGIC &&
            (uint32_t)(ldl_le(img + off) + ldl_le(img + off + 4) + ldl_le(img + off + 8)) == 0) {
            *hoff = off;
            *flags = ldl_le(img + off + 4);
            return true;
        }
    }
    return false;
}

/*
 * The a.out kludge's address fields (spec 3.1.3): the file from header_addr - load_addr bytes
 * before the header is loaded at load_addr up to load_end_addr (0: the rest of the file), then
 * zeroed up to bss_end_addr (0: no bss).
 */
static int aout_layout(const struct boot_request *req, const uint8_t *img, size_t len,
                       uint32_t hoff, struct boot_range *seg, uint64_t *file_off,
                       uint64_t *copy, uint32_t *entry, char **err)
{
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;

    if (hoff + 32 > len) {
        *err = xasprintf("kernel '%s': truncated multiboot header", req->kernel);
        return -EINVAL;
    }
    header_addr = ldl_le(img + hoff + 12);
    load_addr = ldl_le(img + hoff + 16);
    load_end_addr = ldl_le(img + hoff + 20);
    bss_end_addr = ldl_le(img + hoff + 24);
    *entry = ldl_le(img + hoff + 28);
    if (header_addr < load_addr || header_addr - load_addr > hoff ||
        (load_end_addr && load_end_addr < load_addr)) {
        *err = xasprintf("kernel '%s': multiboot header addresses are inconsistent", req->kernel);
        return -EINVAL;
    }
    *file_off = hoff - (header_addr - load_addr);
    *copy = load_end_addr ? (uint64_t)load_end_addr - load_addr : len - *file_off;
    if (*file_off + *copy > len)
        *copy = len - *file_off;
    seg->lo = load_addr;
    seg->hi = MAX((uint64_t)bss_end_addr, load_addr + *copy);
    return 0;
}

/*
 * The boot information after the image, as QEMU places it: one page-aligned block holding
 * the GDT, the info, the memory map, the module list and the strings (then a small stack), and
 * after it the modules, each page-aligned. Where no room is left after the image, the lowest
 * free RAM takes them.
 */
static int place_info(const struct boot_request *req, struct boot_mem *mem, uint64_t image_end,
                      uint32_t mb_entry, struct cpu_entry *entry, char **err)
{
    struct mb_info mbi = { 0 };
    struct mb_module *mods = NULL;
    struct mb_file *files;
    uint8_t mm[E820_MAX * MB_MMAP_ENTRY];
    uint64_t mods_total = 0, strings_len, off_info, off_mmap, off_mods, off_str, block_len;
    uint64_t block, mod_addr = 0, at;
    int nfiles = split_modules(req->initrd, &files), n = req->e820->n, r;
    char *cmd;

    for (int i = 0; i < nfiles; i++) {
        char *sp = strchr(files[i].spec, ' ');
        char *path = sp ? xstrndup(files[i].spec, sp - files[i].spec) : xstrdup(files[i].spec);

        r = boot_read_file("multiboot module", path, &files[i].data, &files[i].len, err);
        free(path);
        if (r < 0)
            goto out_files;
        mods_total += ALIGN_UP((uint64_t)files[i].len, 4096ULL);
    }
    cmd = xasprintf("%s%s%s", req->kernel, req->cmdline && *req->cmdline ? " " : "",
                    req->cmdline ? req->cmdline : "");
    strings_len = strlen(cmd) + 1 + sizeof(MB_LOADER_NAME);
    for (int i = 0; i < nfiles; i++)
        strings_len += strlen(files[i].spec) + 1;
    off_info = BOOT_GDT_SIZE;
    off_mmap = off_info + sizeof(mbi);
    off_mods = off_mmap + (uint64_t)n * MB_MMAP_ENTRY;
    off_str = off_mods + (uint64_t)nfiles * sizeof(struct mb_module);
    block_len = ALIGN_UP(off_str + strings_len, 16ULL) + MB_STACK_SIZE;

    if (boot_mem_alloc(mem, block_len, 4096, image_end, &block) < 0) {
        *err = xasprintf("the multiboot information (%" PRIu64 " KiB) does not fit in guest RAM "
                         "beside the kernel; give it more with -m", DIV_ROUND_UP(block_len, 1024));
        r = -ENOMEM;
        goto out;
    }
    if (nfiles && boot_mem_alloc(mem, MAX(mods_total, 1), 4096, block + block_len, &mod_addr) < 0) {
        *err = xasprintf("the multiboot modules (%d, %" PRIu64 " MiB in all) do not fit in guest "
                         "RAM beside the kernel; give it more with -m", nfiles,
                         DIV_ROUND_UP(mods_total, MiB));
        r = -ENOMEM;
        goto out;
    }

    /* the modules, and the strings: command line, each module's "path args", the loader */
    mods = xzalloc(MAX(nfiles, 1) * sizeof(*mods));
    at = block + off_str;
#define PUT_STRING(s, dst)                          \
    do {                                            \
        size_t l_ = strlen(s) + 1;                  \
        gmem_write(at, s, l_);                      \
        (dst) = at;                                 \
        at += l_;                                   \
    } while (0)
    PUT_STRING(cmd, mbi.cmdline);
    for (int i = 0; i < nfiles; i++) {
        gmem_write(mod_addr, files[i].data, files[i].len);
        mods[i].mod_start = mod_addr;
        mods[i].mod_end = mod_addr + files[i].len;
        PUT_STRING(files[i].spec, mods[i].string);
        mod_addr += ALIGN_UP((uint64_t)files[i].len, 4096ULL);
    }
    PUT_STRING(MB_LOADER_NAME, mbi.boot_loader_name);
#undef PUT_STRING
    gmem_write(block + off_mods, mods, nfiles * sizeof(*mods));

    for (int i = 0; i < n; i++) {
        stl_le(mm + MB_MMAP_ENTRY * i, MB_MMAP_ENTRY - 4);
        stq_le(mm + MB_MMAP_ENTRY * i + 4, req->e820->e[i].addr);
        stq_le(mm + MB_MMAP_ENTRY * i + 12, req->e820->e[i].size);
        stl_le(mm + MB_MMAP_ENTRY * i + 20, req->e820->e[i].type);
    }
    gmem_write(block + off_mmap, mm, n * MB_MMAP_ENTRY);

    mbi.flags = MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
    mbi.mem_lower = 640;
    mbi.mem_upper = (uint32_t)MIN((req->ram_below_4g - 0x100000) / 1024, (uint64_t)UINT32_MAX);
    mbi.mods_count = nfiles;
    mbi.mods_addr = block + off_mods;
    mbi.mmap_length = n * MB_MMAP_ENTRY;
    mbi.mmap_addr = block + off_mmap;
    gmem_write(block + off_info, &mbi, sizeof(mbi));

    memset(entry, 0, sizeof(*entry));
    entry->mode = CPU_ENTRY_PROT32;
    entry->rip = mb_entry;
    entry->eax = MB_BOOT_MAGIC;
    entry->ebx = block + off_info;
    entry->rsp = block + block_len;
    boot_setup_gdt_at(entry, block);
    r = 0;
out:
    free(mods);
    free(cmd);
out_files:
    free_modules(files, nfiles);
    return r;
}

int multiboot_load(const struct boot_request *req, const uint8_t *img, size_t len,
                   struct cpu_entry *entry, char **err)
{
    struct boot_range seg[BOOT_MAX_SEGMENTS];
    struct boot_mem mem;
    struct elf_info info;
    uint32_t flags, hoff, mb_entry;
    uint64_t file_off = 0, copy = 0, image_end = 0;
    int nseg = 1, r;

    if (!find_header(img, len, &hoff, &flags))
        return -ENOEXEC;

    if (flags & MB_AOUT_KLUDGE) {
        r = aout_layout(req, img, len, hoff, &seg[0], &file_off, &copy, &mb_entry, err);
        if (r < 0)
            return r;
    } else {
        char *e = NULL;

        r = elf_probe(img, len, &info, &e);
        if (r < 0) {
            *err = xasprintf("kernel '%s': multiboot image without an address header must be "
                             "ELF%s%s", req->kernel, e ? ": " : "", e ? e : "");
            free(e);
            return -EINVAL;
        }
        nseg = elf_segments(img, len, &info, seg, BOOT_MAX_SEGMENTS);
        if (nseg < 0) {
            *err = xasprintf("kernel '%s' has more than %d loadable segments", req->kernel,
                             BOOT_MAX_SEGMENTS);
            return -EINVAL;
        }
        mb_entry = info.entry;
    }

    /* the image goes where it asks to be, if that is RAM the guest may use */
    boot_mem_init(&mem, req);
    r = boot_mem_claim_image(&mem, req, seg, nseg, err);
    if (r < 0)
        return r;
    for (int i = 0; i < nseg; i++)
        image_end = MAX(image_end, seg[i].hi);
    if (flags & MB_AOUT_KLUDGE) {
        gmem_write(seg[0].lo, img + file_off, copy);
        if (seg[0].hi > seg[0].lo + copy && !req->ram_is_zero) {
            uint8_t *z = gmem_ptr_w(seg[0].lo + copy, seg[0].hi - (seg[0].lo + copy));

            if (z)
                memset(z, 0, seg[0].hi - (seg[0].lo + copy));
        }
    } else {
        r = elf_load(img, len, &info, req->ram_is_zero, err);
        if (r < 0)
            return r;
    }
    return place_info(req, &mem, image_end, mb_entry, entry, err);
}
