/* boot.c: direct kernel boot: choosing the loader, and the helpers they share (files, GDT, page tables, placement) */
#define LOG_PREFIX "boot: "
#include "target-x86/boot.h"
#include "hw/core/guest-mem.h"
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
    boot_setup_gdt_at(e, BOOT_GDT_ADDR);
}

void boot_setup_gdt_at(struct cpu_entry *e, uint64_t addr)
{
    /* null, null, 0x10: flat code (64-bit when L set at entry), 0x18: flat data (Intel SDM 3.4.5) */
    uint64_t gdt[4] = {
        0,
        0,
        e->mode == CPU_ENTRY_LONG64 ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL,
        0x00cf93000000ffffULL,
    };

    _Static_assert(sizeof(gdt) == BOOT_GDT_SIZE, "BOOT_GDT_SIZE");
    gmem_write(addr, gdt, sizeof(gdt));
    e->gdt_base = addr;
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

/* Remove [lo, hi) from the free ranges; -ENOSPC when a split finds the table full. */
static int boot_mem_take(struct boot_mem *m, uint64_t lo, uint64_t hi)
{
    for (int i = 0; i < m->n && lo < hi; i++) {
        struct boot_range *r = &m->free[i];

        if (r->hi <= lo || r->lo >= hi)
            continue;
        if (r->lo < lo && r->hi > hi) {         /* the middle goes: split in two */
            if (m->n == BOOT_MEM_MAX)
                return -ENOSPC;
            memmove(r + 2, r + 1, (m->n - i - 1) * sizeof(*r));
            r[1] = (struct boot_range){ hi, r->hi };
            r->hi = lo;
            m->n++;
            return 0;
        }
        if (r->lo >= lo && r->hi <= hi) {       /* all of it goes */
            memmove(r, r + 1, (m->n - i - 1) * sizeof(*r));
            m->n--;
            i--;
        } else if (r->lo < lo) {
            r->hi = lo;
        } else {
            r->lo = hi;
        }
    }
    return 0;
}

/* Add [lo, hi) to the free ranges, keeping them sorted and merged (at start-up, from e820). */
static void boot_mem_give(struct boot_mem *m, uint64_t lo, uint64_t hi)
{
    int i = 0, j;

    if (lo >= hi)
        return;
    while (i < m->n && m->free[i].hi < lo)
        i++;
    /* merge every range that touches [lo, hi) into it */
    for (j = i; j < m->n && m->free[j].lo <= hi; j++) {
        lo = MIN(lo, m->free[j].lo);
        hi = MAX(hi, m->free[j].hi);
    }
    if (j == i && m->n == BOOT_MEM_MAX)
        return;     /* cannot happen: E820_MAX ranges at most */
    memmove(&m->free[i + 1], &m->free[j], (m->n - j) * sizeof(m->free[0]));
    m->n -= j - i - 1;
    m->free[i] = (struct boot_range){ lo, hi };
}

void boot_mem_init(struct boot_mem *m, const struct boot_request *req)
{
    uint64_t top = MIN(req->ram_below_4g, 4 * GiB);

    m->n = 0;
    for (int i = 0; i < req->e820->n; i++) {
        const struct e820_entry *e = &req->e820->e[i];

        if (e->type == E820_RAM && e->addr < top)
            boot_mem_give(m, e->addr, MIN(e->addr + e->size, top));
    }
    /* an entry that reserves part of another's RAM wins */
    for (int i = 0; i < req->e820->n; i++) {
        const struct e820_entry *e = &req->e820->e[i];

        if (e->type != E820_RAM && e->addr + e->size > e->addr)
            boot_mem_take(m, e->addr, e->addr + e->size);
    }
}

/* The first byte of [lo, hi) that is not free, or hi. */
static uint64_t boot_mem_first_taken(const struct boot_mem *m, uint64_t lo, uint64_t hi)
{
    for (int i = 0; i < m->n; i++) {
        const struct boot_range *r = &m->free[i];

        if (r->lo <= lo && lo < r->hi)
            lo = r->hi;     /* free up to here; the next range starts past a gap */
    }
    return MIN(lo, hi);
}

/* What the board keeps below 1 MiB, for messages (e820.c reserves it, VGA and ROMs are holes). */
static const char *boot_low_area_name(uint64_t gpa)
{
    if (gpa >= BOOT_EBDA_ADDR && gpa < 0xa0000)
        return " (the EBDA)";
    if (gpa >= 0xa0000 && gpa < BOOT_BIOS_AREA)
        return " (VGA memory and option ROMs)";
    if (gpa >= BOOT_BIOS_AREA && gpa < BOOT_KERNEL_ADDR)
        return " (the BIOS area: ACPI, MP and SMBIOS tables)";
    return "";
}

/* Say what lies at gpa, which is not free RAM: "0x9fc00-0x9ffff, which the memory map reserves". */
static char *boot_mem_describe(const struct boot_mem *m, const struct boot_request *req,
                               uint64_t gpa)
{
    uint64_t lo = 0, hi = UINT64_MAX;

    for (int i = 0; i < req->e820->n; i++) {
        const struct e820_entry *e = &req->e820->e[i];

        if (e->type != E820_RAM && e->addr <= gpa && gpa - e->addr < e->size)
            return xasprintf("0x%" PRIx64 "-0x%" PRIx64 ", which the memory map reserves%s",
                             e->addr, e->addr + e->size - 1, boot_low_area_name(gpa));
    }
    /* a hole: from the end of the free range or reserved entry below to the start of the next */
    for (int i = 0; i < m->n; i++) {
        if (m->free[i].hi <= gpa)
            lo = MAX(lo, m->free[i].hi);
        else if (m->free[i].lo > gpa)
            hi = MIN(hi, m->free[i].lo);
    }
    for (int i = 0; i < req->e820->n; i++) {
        const struct e820_entry *e = &req->e820->e[i];

        if (e->type != E820_RAM && e->addr > gpa)
            hi = MIN(hi, e->addr);
        if (e->type != E820_RAM && e->addr + e->size <= gpa)
            lo = MAX(lo, e->addr + e->size);
    }
    return xasprintf("0x%" PRIx64 "-0x%" PRIx64 ", which is not RAM%s", lo, hi - 1,
                     boot_low_area_name(gpa));
}

int boot_mem_claim_image(struct boot_mem *m, const struct boot_request *req,
                         const struct boot_range *seg, int n, char **err)
{
    /* all checked before any is taken: an image's segments may overlap one another */
    for (int i = 0; i < n; i++) {
        uint64_t bad;
        char *what;

        if (seg[i].lo >= seg[i].hi)
            continue;
        if (seg[i].hi > req->ram_below_4g) {
            *err = xasprintf("kernel '%s' needs %" PRIu64 " MiB of RAM; give it more with -m",
                             req->kernel, DIV_ROUND_UP(seg[i].hi, MiB) + 1);
            return -ENOMEM;
        }
        bad = boot_mem_first_taken(m, seg[i].lo, seg[i].hi);
        if (bad == seg[i].hi)
            continue;
        what = boot_mem_describe(m, req, bad);
        *err = xasprintf("kernel '%s' loads at 0x%" PRIx64 "-0x%" PRIx64 ", over %s",
                         req->kernel, seg[i].lo, seg[i].hi - 1, what);
        free(what);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        if (boot_mem_take(m, seg[i].lo, seg[i].hi) < 0) {
            *err = xasprintf("kernel '%s' has too many loadable segments", req->kernel);
            return -E2BIG;
        }
    }
    return 0;
}

int boot_mem_alloc(struct boot_mem *m, uint64_t len, uint64_t align, uint64_t from,
                   uint64_t *addr)
{
    for (int pass = 0; pass < 2; pass++) {
        uint64_t floor = MAX(pass ? 0 : from, BOOT_ALLOC_FLOOR);

        for (int i = 0; i < m->n; i++) {
            uint64_t a = ALIGN_UP(MAX(m->free[i].lo, floor), align);

            if (a >= m->free[i].lo && a < m->free[i].hi && len <= m->free[i].hi - a) {
                if (boot_mem_take(m, a, a + len) < 0)
                    return -ENOSPC;
                *addr = a;
                return 0;
            }
        }
    }
    return -ENOSPC;
}

int boot_mem_alloc_high(struct boot_mem *m, uint64_t len, uint64_t align, uint64_t floor,
                        uint64_t limit, uint64_t *addr)
{
    floor = MAX(floor, BOOT_ALLOC_FLOOR);
    for (int i = m->n - 1; i >= 0; i--) {
        uint64_t top = MIN(m->free[i].hi, limit), a;

        if (top < len)
            continue;
        a = ALIGN_DOWN(top - len, align);
        if (a >= m->free[i].lo && a >= floor && a + len <= top) {
            if (boot_mem_take(m, a, a + len) < 0)
                return -ENOSPC;
            *addr = a;
            return 0;
        }
    }
    return -ENOSPC;
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
