/* bzimage.c: the Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 2.06 and later, 64-bit entry */
#define LOG_PREFIX "bzimage: "
#include "target-x86/boot.h"
#include "hw/core/guest-mem.h"
#include "util/log.h"
#include "util/sha256.h"

/* setup header fields, as offsets into the image and into boot_params (boot.rst "The real-mode kernel header") */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_SYSSIZE         0x1f4   /* protected-mode code size in 16-byte paragraphs */
#define HDR_BOOT_FLAG       0x1fe
#define HDR_JUMP            0x200
#define HDR_MAGIC           0x202   /* "HdrS" */
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_CODE32_START    0x214
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_HEAP_END_PTR    0x224
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN    0x230
#define HDR_RELOCATABLE     0x234
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PAYLOAD_OFFSET  0x248
#define HDR_PAYLOAD_LENGTH  0x24c
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260

/* boot_params ("zero page") fields outside the header (Documentation/arch/x86/zero-page.rst) */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_E820_TABLE       0x2d0
#define BP_E820_MAX         128

#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64       0x01

static const char *cache_key(const uint8_t *img, size_t len, char buf[65])
{
    sha256_hex(img, len, buf);
    return buf;
}

/* Try the fast path: unpack the payload on the host and enter the vmlinux through PVH. */
static int try_unpacked(const struct boot_request *req, const uint8_t *img, size_t len,
                        size_t setup_size, struct cpu_entry *entry)
{
    uint32_t off = ldl_le(img + HDR_PAYLOAD_OFFSET), plen = ldl_le(img + HDR_PAYLOAD_LENGTH);
    struct unpacked_kernel k;
    char key[65], *err = NULL, *known = NULL;
    int r;

    if (!plen || setup_size + (uint64_t)off + plen > len)
        return -ENOEXEC;
    /* hashing 8 MiB each boot costs more than the rest of the setup: remember it */
    if (req->cache_dir && req->kernel_id[0])
        known = kernel_cache_key_lookup(req->cache_dir, req->kernel_id);
    if (known) {
        snprintf(key, sizeof(key), "%s", known);
        free(known);
    } else {
        cache_key(img, len, key);
    }
    r = kernel_unpack(img + setup_size + off, plen, req->cache_dir, key, &k, &err);
    if (r == 0 && req->cache_dir && req->kernel_id[0])
        kernel_cache_key_remember(req->cache_dir, req->kernel_id, key);
    if (r < 0) {
        log_debug("unpacking on the host failed (%s); the kernel will unpack itself",
                  err ? err : strerror(-r));
        free(err);
        return r;
    }
    r = pvh_load(req, k.data, k.len, entry, &err);
    if (r < 0) {
        log_debug("the unpacked kernel cannot boot through PVH (%s); the kernel will unpack "
                  "itself", err ? err : strerror(-r));
        free(err);
    }
    kernel_unpacked_free(&k);
    return r;
}

/*
 * What both ways of loading a bzImage check first: the header, the sizes it claims against the
 * file's, and the command line's length. 0 with *setup_size set, -ENOEXEC when the file is not
 * a bzImage, or -EINVAL with *err.
 */
static int bzimage_check(const struct boot_request *req, const uint8_t *img, size_t len,
                         size_t *setup_size, char **err)
{
    uint16_t version;
    size_t cmdlen;
    uint32_t cmdline_max;

    if (len < 0x270 || memcmp(img + HDR_MAGIC, "HdrS", 4))
        return -ENOEXEC;
    version = lduw_le(img + HDR_VERSION);
    if (version < 0x206) {
        *err = xasprintf("kernel '%s' uses boot protocol %u.%02u; skiff needs 2.06 or later",
                         req->kernel, version >> 8, version & 0xff);
        return -EINVAL;
    }
    *setup_size = ((img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4) + 1) * 512;
    if (*setup_size >= len) {
        *err = xasprintf("kernel '%s' is truncated: its setup code claims %zu of %zu bytes",
                         req->kernel, *setup_size, len);
        return -EINVAL;
    }
    {
        uint64_t pm_size = (uint64_t)ldl_le(img + HDR_SYSSIZE) * 16;
        uint64_t payload_end = (uint64_t)ldl_le(img + HDR_PAYLOAD_OFFSET) + ldl_le(img + HDR_PAYLOAD_LENGTH);

        if ((pm_size && *setup_size + pm_size > len + 15) ||
            (version >= 0x208 && *setup_size + payload_end > len)) {
            *err = xasprintf("kernel '%s' is truncated: its header describes %" PRIu64
                             " bytes, the file has %zu", req->kernel,
                             *setup_size + MAX(pm_size, payload_end), len);
            return -EINVAL;
        }
    }
    cmdlen = req->cmdline ? strlen(req->cmdline) : 0;
    cmdline_max = ldl_le(img + HDR_CMDLINE_SIZE);
    if (cmdlen > cmdline_max || cmdlen >= BOOT_CMDLINE_MAX) {
        *err = xasprintf("the kernel command line is %zu bytes; this kernel takes at most %u",
                         cmdlen, cmdline_max);
        return -EINVAL;
    }
    return 0;
}

/* Where the decompressing kernel ends: it needs init_size bytes from its (aligned) address. */
static int bzimage_kernel_end(const struct boot_request *req, const uint8_t *img, size_t len,
                              size_t setup_size, uint64_t *kend, char **err)
{
    uint32_t init_size = ldl_le(img + HDR_INIT_SIZE);
    uint64_t pref = ldq_le(img + HDR_PREF_ADDRESS);

    *kend = MAX(pref, BOOT_KERNEL_ADDR) + MAX((uint64_t)init_size, len - setup_size);
    if (*kend > req->ram_below_4g) {
        *err = xasprintf("kernel '%s' needs %" PRIu64 " MiB of RAM to start; give it more with -m",
                         req->kernel, DIV_ROUND_UP(*kend, MiB) + 16);
        return -ENOMEM;
    }
    return 0;
}

/*
 * A bzImage cannot be under what skiff writes for it, as a low PVH or multiboot image could: its
 * protected-mode code is always copied to 1 MiB (pref_address only sizes the space it needs),
 * the setup code is not loaded at all, the initrd goes above the kernel's end, and the rest
 * sits in these fixed places below the EBDA.
 */
_Static_assert(BOOT_GDT_ADDR + BOOT_GDT_SIZE <= BOOT_PML4_ADDR &&
               BOOT_PD_ADDR + 4 * 0x1000 <= BOOT_ZEROPAGE_ADDR &&
               BOOT_ZEROPAGE_ADDR + 0x1000 < BOOT_STACK_ADDR &&
               BOOT_STACK_ADDR <= BOOT_CMDLINE_ADDR &&
               BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX <= BOOT_EBDA_ADDR &&
               BOOT_EBDA_ADDR < BOOT_KERNEL_ADDR, "the bzImage's low-memory layout overlaps");

int bzimage_load(const struct boot_request *req, const uint8_t *img, size_t len,
                 struct cpu_entry *entry, char **err)
{
    uint8_t bp[4096];
    uint16_t version, xlf;
    size_t setup_size, hdr_end, cmdlen;
    uint32_t initrd_max;
    uint64_t kend;
    int r;

    r = bzimage_check(req, img, len, &setup_size, err);
    if (r < 0)
        return r;
    version = lduw_le(img + HDR_VERSION);
    xlf = lduw_le(img + HDR_XLOADFLAGS);
    cmdlen = req->cmdline ? strlen(req->cmdline) : 0;

    if (req->unpack && version >= 0x208 && (xlf & XLF_KERNEL_64) &&
        try_unpacked(req, img, len, setup_size, entry) == 0)
        return 0;

    /* the kernel decompresses itself */
    r = bzimage_kernel_end(req, img, len, setup_size, &kend, err);
    if (r < 0)
        return r;
    memset(bp, 0, sizeof(bp));
    hdr_end = 0x202 + img[0x201];
    if (hdr_end > 0x280 || hdr_end > len)
        hdr_end = 0x280;
    memcpy(bp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
    bp[HDR_TYPE_OF_LOADER] = 0xff;  /* "undefined" boot loader */
    bp[HDR_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP | LOADFLAG_LOADED_HIGH;
    stw_le(bp + HDR_HEAP_END_PTR, 0xfe00);
    stl_le(bp + HDR_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
    stl_le(bp + HDR_CODE32_START, BOOT_KERNEL_ADDR);
    if (version >= 0x20e)
        stq_le(bp + BP_ACPI_RSDP_ADDR, req->rsdp_addr);

    if (gmem_write(BOOT_KERNEL_ADDR, img + setup_size, len - setup_size) < 0) {
        *err = xasprintf("kernel '%s' does not fit in guest RAM", req->kernel);
        return -ENOMEM;
    }
    if (req->initrd) {
        uint8_t *rd;
        size_t rdlen;
        uint64_t addr;

        r = boot_read_file("initrd", req->initrd, &rd, &rdlen, err);
        if (r < 0)
            return r;
        initrd_max = ldl_le(img + HDR_INITRD_ADDR_MAX);
        if (!initrd_max)
            initrd_max = 0x37ffffff;
        r = boot_place_high(req, rdlen, (uint64_t)initrd_max + 1, BOOT_KERNEL_ADDR, kend, &addr);
        if (r < 0) {
            *err = xasprintf("initrd '%s' (%zu MiB) does not fit in guest RAM beside the kernel; "
                             "give it more with -m", req->initrd, DIV_ROUND_UP(rdlen, MiB));
            free(rd);
            return -ENOMEM;
        }
        gmem_write(addr, rd, rdlen);
        free(rd);
        stl_le(bp + HDR_RAMDISK_IMAGE, addr);
        stl_le(bp + HDR_RAMDISK_SIZE, rdlen);
    }
    {
        int n = MIN(req->e820->n, BP_E820_MAX);

        bp[BP_E820_ENTRIES] = n;
        memcpy(bp + BP_E820_TABLE, req->e820->e, n * sizeof(struct e820_entry));
    }
    gmem_write(BOOT_ZEROPAGE_ADDR, bp, sizeof(bp));
    {
        char *cl = xzalloc(cmdlen + 1);

        if (cmdlen)
            memcpy(cl, req->cmdline, cmdlen);
        gmem_write(BOOT_CMDLINE_ADDR, cl, cmdlen + 1);
        free(cl);
    }

    memset(entry, 0, sizeof(*entry));
    if (xlf & XLF_KERNEL_64) {
        entry->mode = CPU_ENTRY_LONG64;
        entry->rip = BOOT_KERNEL_ADDR + 0x200;  /* startup_64 */
        boot_setup_pagetables(entry);
    } else {
        entry->mode = CPU_ENTRY_PROT32;
        entry->rip = BOOT_KERNEL_ADDR;          /* startup_32 */
    }
    entry->rsi = BOOT_ZEROPAGE_ADDR;
    entry->rsp = BOOT_STACK_ADDR;
    boot_setup_gdt(entry);
    return 0;
}

/*
 * -kernel with firmware: the kernel cut into the pieces the Linux loader option ROM (QEMU's
 * linuxboot_dma.bin) copies from fw_cfg before it enters the real-mode setup code, which then
 * asks the BIOS for the memory map and switches to protected mode itself. The header is
 * patched as a boot loader patches it (boot.rst "Loading the rest of the kernel"), in the
 * layout QEMU uses: setup at 0x10000 with its heap up to the command line at 0x20000, the
 * protected-mode code at 1 MiB, the initrd as high as initrd_addr_max and RAM allow (the ROM
 * moves it below what the BIOS keeps at the top of RAM when RAM is the limit).
 */
#define FW_SETUP_ADDR       0x10000u
#define FW_CMDLINE_ADDR     0x20000u
#define FW_ACPI_RESERVE     0x28000u    /* QEMU's allowance for the firmware's tables */
#define TYPE_OF_LOADER_QEMU 0xb0

int bzimage_for_firmware(const struct boot_request *req, const uint8_t *img, size_t len,
                         struct fw_kernel *fk, char **err)
{
    uint8_t *setup;
    size_t setup_size, cmdlen;
    uint64_t kend = 0, initrd_max;
    int r;

    *err = NULL;
    memset(fk, 0, sizeof(*fk));
    r = bzimage_check(req, img, len, &setup_size, err);
    if (r == -ENOEXEC)
        *err = xasprintf("kernel '%s' is not a bzImage: with -bios, skiff hands only bzImages "
                         "to the firmware (drop -bios to boot it directly)", req->kernel);
    if (r == 0 && setup_size > FW_CMDLINE_ADDR - FW_SETUP_ADDR - 0x200) {
        *err = xasprintf("kernel '%s': its %zu bytes of setup code leave no room below the "
                         "command line", req->kernel, setup_size);
        r = -EINVAL;
    }
    if (r == 0)
        r = bzimage_kernel_end(req, img, len, setup_size, &kend, err);
    if (r < 0)
        goto out;

    setup = xmalloc(setup_size);
    memcpy(setup, img, setup_size);
    setup[HDR_TYPE_OF_LOADER] = TYPE_OF_LOADER_QEMU;
    setup[HDR_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
    stw_le(setup + HDR_HEAP_END_PTR, FW_CMDLINE_ADDR - FW_SETUP_ADDR - 0x200);
    stl_le(setup + HDR_CMD_LINE_PTR, FW_CMDLINE_ADDR);
    fk->setup = (struct fw_kernel_part){ FW_SETUP_ADDR, setup, setup_size };
    fk->kernel.addr = BOOT_KERNEL_ADDR;
    fk->kernel.len = len - setup_size;
    fk->kernel.data = xmalloc(fk->kernel.len);
    memcpy(fk->kernel.data, img + setup_size, fk->kernel.len);
    cmdlen = req->cmdline ? strlen(req->cmdline) : 0;
    fk->cmdline.addr = FW_CMDLINE_ADDR;
    fk->cmdline.len = cmdlen + 1;
    fk->cmdline.data = xzalloc(cmdlen + 1);
    memcpy(fk->cmdline.data, req->cmdline ? req->cmdline : "", cmdlen);

    if (req->initrd) {
        r = boot_read_file("initrd", req->initrd, &fk->initrd.data, &fk->initrd.len, err);
        if (r < 0)
            goto out;
        /* initrd_max is the last byte the initrd may occupy, as in the header */
        initrd_max = ldl_le(img + HDR_INITRD_ADDR_MAX);
        if (!initrd_max)
            initrd_max = 0x37ffffff;
        if (req->ram_below_4g > FW_ACPI_RESERVE)
            initrd_max = MIN(initrd_max, req->ram_below_4g - FW_ACPI_RESERVE - 1);
        if (fk->initrd.len > initrd_max ||
            ALIGN_DOWN(initrd_max - fk->initrd.len, 4096ULL) < kend) {
            *err = xasprintf("initrd '%s' (%zu MiB) does not fit in guest RAM beside the kernel; "
                             "give it more with -m", req->initrd, DIV_ROUND_UP(fk->initrd.len, MiB));
            r = -ENOMEM;
            goto out;
        }
        fk->initrd.addr = ALIGN_DOWN(initrd_max - fk->initrd.len, 4096ULL);
        stl_le(setup + HDR_RAMDISK_IMAGE, fk->initrd.addr);
        stl_le(setup + HDR_RAMDISK_SIZE, fk->initrd.len);
    }
    r = 0;
out:
    if (r < 0)
        fw_kernel_free(fk);
    return r;
}

void fw_kernel_free(struct fw_kernel *fk)
{
    free(fk->setup.data);
    free(fk->kernel.data);
    free(fk->initrd.data);
    free(fk->cmdline.data);
    memset(fk, 0, sizeof(*fk));
}
