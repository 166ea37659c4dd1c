/* boot.h: direct kernel boot: where things go in low memory, and the loaders (bzImage, PVH ELF, multiboot) */
#ifndef TARGET_X86_BOOT_H
#define TARGET_X86_BOOT_H

#include "util/osdep.h"
#include "target-x86/cpu.h"
#include "target-x86/e820.h"

/*
 * Low-memory layout of a bzImage's direct boot (all below the EBDA, in RAM the e820 map gives
 * the guest; the kernel itself is always loaded at 1 MiB, above all of it). PVH and multiboot
 * images name their own load addresses, low ones included, so those loaders place their boot
 * information in whatever RAM the image leaves free (struct boot_mem below) instead.
 */
#define BOOT_GDT_ADDR       0x0500ULL   /* 4 descriptors */
#define BOOT_PML4_ADDR      0x1000ULL   /* identity page tables: PML4, PDPT, 4 page directories */
#define BOOT_PDPT_ADDR      0x2000ULL
#define BOOT_PD_ADDR        0x3000ULL
#define BOOT_ZEROPAGE_ADDR  0x7000ULL   /* Linux boot_params */
#define BOOT_CMDLINE_ADDR   0x20000ULL
#define BOOT_CMDLINE_MAX    0x10000ULL
#define BOOT_STACK_ADDR     0x8ff0ULL
#define BOOT_EBDA_ADDR      0x9fc00ULL
#define BOOT_BIOS_AREA      0xe0000ULL  /* reserved: ACPI tables and the MP table live here */
#define BOOT_ACPI_ADDR      0xe0000ULL
#define BOOT_ACPI_SIZE      0x10000ULL
#define BOOT_MPTABLE_ADDR   0xf0000ULL
#define BOOT_SMBIOS_ADDR    0xf8000ULL  /* the SMBIOS entry point, its structures after it */
#define BOOT_KERNEL_ADDR    0x100000ULL /* where a bzImage's protected-mode part is loaded */

struct boot_request {
    const char *kernel;
    const char *initrd;
    const char *cmdline;
    const struct e820_table *e820;
    uint64_t ram_below_4g;      /* initrds go below this */
    uint64_t rsdp_addr;         /* 0 when there are no ACPI tables */
    bool unpack;                /* unpack compressed kernels on the host */
    const char *cache_dir;      /* where unpacked kernels are kept, NULL for no cache */
    bool ram_is_zero;           /* guest RAM was never written: no need to zero bss */
    char kernel_id[65];         /* the kernel file's identity (device, inode, size, times),
                                 * hashed; set by boot_load_kernel, "" when unknown */
};

/*
 * Load -kernel (a bzImage, an ELF vmlinux with a PVH note, or a multiboot image), its
 * initrd or modules and its command line into guest memory, and describe how the boot
 * processor enters it. 0, or -errno with *err set to one line for the user.
 */
int boot_load_kernel(const struct boot_request *req, struct cpu_entry *entry, char **err);

/*
 * -kernel with firmware (-bios): the parts of the bzImage img (and of req->initrd, read here),
 * set up for QEMU's Linux loader option ROM, which copies each to its address from fw_cfg's
 * kernel items (fw_cfg.rst) and enters the kernel's real-mode setup. 0, or -errno with *err
 * (-ENOEXEC, with *err too, for a file that is not a bzImage); free with fw_kernel_free.
 */
struct fw_kernel_part {
    uint32_t addr;
    uint8_t *data;
    size_t len;
};
struct fw_kernel {
    struct fw_kernel_part setup, kernel, initrd, cmdline;
};
int bzimage_for_firmware(const struct boot_request *req, const uint8_t *img, size_t len,
                         struct fw_kernel *fk, char **err);
void fw_kernel_free(struct fw_kernel *fk);

/* Loaders tried in order by boot_load_kernel; each returns -ENOEXEC when the file is not its kind. */
int bzimage_load(const struct boot_request *req, const uint8_t *img, size_t len,
                 struct cpu_entry *entry, char **err);
int pvh_load(const struct boot_request *req, const uint8_t *img, size_t len,
             struct cpu_entry *entry, char **err);
int multiboot_load(const struct boot_request *req, const uint8_t *img, size_t len,
                   struct cpu_entry *entry, char **err);

/* Shared helpers */
/* Read a whole file, with errors phrased for the user ("initrd 'x': No such file"). */
int boot_read_file(const char *what, const char *path, uint8_t **data, size_t *len, char **err);
/* Write flat-segment GDT (at BOOT_GDT_ADDR, or at addr: BOOT_GDT_SIZE bytes) and, for long
 * mode, identity page tables over the first 4 GiB. */
#define BOOT_GDT_SIZE 32
void boot_setup_gdt(struct cpu_entry *e);
void boot_setup_gdt_at(struct cpu_entry *e, uint64_t addr);
void boot_setup_pagetables(struct cpu_entry *e);
/* Place `len` bytes as high as possible below `limit` (page aligned), avoiding [avoid_lo, avoid_hi). */
int boot_place_high(const struct boot_request *req, uint64_t len, uint64_t limit,
                    uint64_t avoid_lo, uint64_t avoid_hi, uint64_t *addr);

/*
 * The guest RAM a PVH or multiboot boot may still write: the memory map's RAM below
 * ram_below_4g, less what is taken. The image's segments are checked against it and taken
 * first, at the addresses the image names; the boot information, modules and initrd are then
 * placed where the image is not. Nothing is placed in the first page (address 0 would read as
 * a null pointer to the guest).
 */
struct boot_range {
    uint64_t lo, hi;            /* [lo, hi) */
};
#define BOOT_MEM_MAX 80         /* e820 RAM ranges (E820_MAX) + segments + the few placements */
#define BOOT_MAX_SEGMENTS 32    /* loadable segments of an image; real kernels have a handful */
#define BOOT_ALLOC_FLOOR 0x1000ULL
struct boot_mem {
    int n;
    struct boot_range free[BOOT_MEM_MAX];  /* sorted, disjoint, none empty */
};
void boot_mem_init(struct boot_mem *m, const struct boot_request *req);
/*
 * Check that each of the image's n segments lies in free RAM and take them all; 0, or -ENOMEM
 * with *err saying which part of the image lies where (past the end of RAM, on memory the map
 * reserves, on a hole), so that no guest runs over a corrupted image.
 */
int boot_mem_claim_image(struct boot_mem *m, const struct boot_request *req,
                         const struct boot_range *seg, int n, char **err);
/* Take len bytes aligned to align: the lowest free place at or above `from`, or failing that
 * the lowest anywhere. 0 with *addr, or -ENOSPC. */
int boot_mem_alloc(struct boot_mem *m, uint64_t len, uint64_t align, uint64_t from,
                   uint64_t *addr);
/* Take len bytes aligned to align, as high as possible in [floor, limit). */
int boot_mem_alloc_high(struct boot_mem *m, uint64_t len, uint64_t align, uint64_t floor,
                        uint64_t limit, uint64_t *addr);

/*
 * Host-side unpacking of a bzImage's compressed payload into the vmlinux ELF it holds
 * (gzip, xz, lz4, zstd), through a cache keyed by the bzImage's SHA-256.
 * 0 with *elf (to free) or -errno (-ENOTSUP: format not built in).
 */
struct unpacked_kernel {
    uint8_t *data;
    size_t len;
    bool mapped;                /* a mapping of the cache file, not a heap buffer */
};
int kernel_unpack(const uint8_t *payload, size_t len, const char *cache_dir, const char *key,
                  struct unpacked_kernel *out, char **err);
void kernel_unpacked_free(struct unpacked_kernel *k);
/*
 * The cache key (SHA-256 of the bzImage) remembered by the file's identity, so that a
 * kernel booted again is not hashed again. NULL when not remembered; free the result.
 */
char *kernel_cache_key_lookup(const char *cache_dir, const char *kernel_id);
void kernel_cache_key_remember(const char *cache_dir, const char *kernel_id, const char *key);


/* ELF images (elf.c) */
struct elf_info {
    bool is64;
    uint64_t entry;
    uint64_t lo, hi;        /* physical range the loadable segments cover */
    uint64_t pvh_entry;     /* XEN_ELFNOTE_PHYS32_ENTRY, or 0 */
};
/* Check an ELF image and find its PT_LOAD range and notes; -ENOEXEC when not ELF. */
int elf_probe(const uint8_t *img, size_t len, struct elf_info *info, char **err);
/* The physical ranges of a probed image's PT_LOAD segments (memsz, bss included): their
 * number, or -E2BIG when there are more than max. */
int elf_segments(const uint8_t *img, size_t len, const struct elf_info *info,
                 struct boot_range *seg, int max);
/* Copy the PT_LOAD segments to their physical addresses and zero their bss (unless the RAM
 * is known to be zero). */
int elf_load(const uint8_t *img, size_t len, const struct elf_info *info, bool ram_is_zero,
             char **err);
#endif
