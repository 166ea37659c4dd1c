/* boot.c: direct kernel boot: choosing the loader, and the helpers they share (files, GDT, page tables, placement) */
#define LOG_PREFIX "boot: "
#include "target-x86/boot.h"
#include "hw/guest-mem.h"
#include "util/log.h"
#include "util/sha256.h"

#include <sys/stat.h>

int boot_read_file(const char *what, const char *path, uint8_t **data, size_t *len, char **err)
{
    int r = file_read_all(path, data, len);

    if (r < 0)
        *err = xasprintf("cannot read %s '%s': %s", what, path, strerror(-r));
    return r;
}

void boot_setup_gdt(struct cpu_entry *e)
{
    /* null, null, 0x10: flat code (64-bit when L set at entry), 0x18: flat data (Intel SDM 3.4.5) */
    uint64_t gdt[4] = {
        0,
        0,
        e->mode == CPU_ENTRY_LONG64 ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL,
        0x00cf93000000ffffULL,
    };

    gmem_write(BOOT_GDT_ADDR, gdt, sizeof(gdt));
    e->gdt_base = BOOT_GDT_ADDR;
    e->gdt_limit = sizeof(gdt) - 1;
}

void boot_setup_pagetables(struct cpu_entry *e)
{
    uint64_t pml4[512] = { 0 }, pdpt[512] = { 0 }, pd[512];

    /* identity map of the first 4 GiB with 2 MiB pages: present, writable, (PS in PDEs) */
    pml4[0] = BOOT_PDPT_ADDR | 0x3;
    for (int i = 0; i < 4; i++) {
        pdpt[i] = (BOOT_PD_ADDR + i * 0x1000ULL) | 0x3;
        for (int j = 0; j < 512; j++)
            pd[j] = ((uint64_t)i * GiB + (uint64_t)j * 2 * MiB) | 0x83;
        gmem_write(BOOT_PD_ADDR + i * 0x1000ULL, pd, sizeof(pd));
    }
    gmem_write(BOOT_PML4_ADDR, pml4, sizeof(pml4));
    gmem_write(BOOT_PDPT_ADDR, pdpt, sizeof(pdpt));
    e->cr3 = BOOT_PML4_ADDR;
}

int boot_place_high(const struct boot_request *req, uint64_t len, uint64_t limit,
                    uint64_t avoid_lo, uint64_t avoid_hi, uint64_t *addr)
{
    uint64_t top = MIN(limit, req->ram_below_4g), a;

    if (len > top)
        return -ENOSPC;
    a = ALIGN_DOWN(top - len, 4096ULL);
    if (a < avoid_hi && a + len > avoid_lo)
        return -ENOSPC;     /* it would cover the kernel */
    if (a < BOOT_KERNEL_ADDR)
        return -ENOSPC;
    *addr = a;
    return 0;
}

int boot_load_kernel(const struct boot_request *req, struct cpu_entry *entry, char **err)
{
    uint8_t *img;
    size_t len;
    int r;

    *err = NULL;
    {
        struct boot_request *rq = (struct boot_request *)req;
        struct stat st;

        rq->kernel_id[0] = '\0';
        if (stat(req->kernel, &st) == 0) {
            char *id = xasprintf("%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st.st_dev,
                                 (unsigned long long)st.st_ino, (long long)st.st_size,
                                 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                                 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);

            sha256_hex(id, strlen(id), rq->kernel_id);
            free(id);
        }
    }
    r = boot_read_file("kernel", req->kernel, &img, &len, err);
    if (r < 0)
        return r;
    r = bzimage_load(req, img, len, entry, err);
    if (r == -ENOEXEC)
        r = pvh_load(req, img, len, entry, err);
    if (r == -ENOEXEC)
        r = multiboot_load(req, img, len, entry, err);
    if (r == -ENOEXEC)
        *err = xasprintf("kernel '%s' is not a bzImage, an ELF with a PVH note or a multiboot "
                         "image", req->kernel);
    free(img);
    return r;
}
