/* pvh.c: booting an ELF vmlinux through its PVH entry (Xen's "x86/HVM direct boot ABI", start_info v1) */
#define LOG_PREFIX "pvh: "
#include "target-x86/boot.h"
#include "hw/guest-mem.h"
#include "util/log.h"

#define HVM_START_MAGIC 0x336ec578  /* "xEn3" */

/* xen/include/public/arch-x86/hvm/start_info.h */
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

int pvh_load(const struct boot_request *req, const uint8_t *img, size_t len,
             struct cpu_entry *entry, char **err)
{
    struct elf_info info;
    struct hvm_start_info si = { 0 };
    struct hvm_modlist_entry mod = { 0 };
    struct hvm_memmap_entry mm[E820_MAX];
    uint64_t si_addr = BOOT_INFO_ADDR, mod_addr = si_addr + 64, mm_addr = mod_addr + 64;
    size_t cmdlen = req->cmdline ? strlen(req->cmdline) : 0;
    char *probe_err = NULL;
    int r;

    r = elf_probe(img, len, &info, &probe_err);
    if (r == -ENOEXEC || (r == 0 && !info.pvh_entry)) {
        free(probe_err);
        return -ENOEXEC;    /* perhaps multiboot */
    }
    if (r < 0) {
        *err = xasprintf("kernel '%s': %s", req->kernel, probe_err);
        free(probe_err);
        return r;
    }
    if (cmdlen >= BOOT_CMDLINE_MAX) {
        *err = xasprintf("the kernel command line is too long (%zu bytes)", cmdlen);
        return -EINVAL;
    }
    if (info.hi > req->ram_below_4g) {
        *err = xasprintf("kernel '%s' needs %" PRIu64 " MiB of RAM; give it more with -m",
                         req->kernel, DIV_ROUND_UP(info.hi, MiB) + 16);
        return -ENOMEM;
    }
    r = elf_load(img, len, &info, req->ram_is_zero, err);
    if (r < 0)
        return r;

    if (req->initrd) {
        uint8_t *rd;
        size_t rdlen;
        uint64_t addr;

        r = boot_read_file("initrd", req->initrd, &rd, &rdlen, err);
        if (r < 0)
            return r;
        r = boot_place_high(req, rdlen, 4 * GiB, info.lo, info.hi, &addr);
        if (r < 0) {
            *err = xasprintf("initrd '%s' (%zu MiB) does not fit in guest RAM beside the kernel; "
                             "give it more with -m", req->initrd, DIV_ROUND_UP(rdlen, MiB));
            free(rd);
            return -ENOMEM;
        }
        gmem_write(addr, rd, rdlen);
        free(rd);
        mod.paddr = addr;
        mod.size = rdlen;
        si.nr_modules = 1;
        si.modlist_paddr = mod_addr;
        gmem_write(mod_addr, &mod, sizeof(mod));
    }
    for (int i = 0; i < req->e820->n; i++)
        mm[i] = (struct hvm_memmap_entry){ req->e820->e[i].addr, req->e820->e[i].size,
                                           req->e820->e[i].type, 0 };
    gmem_write(mm_addr, mm, req->e820->n * sizeof(mm[0]));
    {
        char *cl = xzalloc(cmdlen + 1);

        if (cmdlen)
            memcpy(cl, req->cmdline, cmdlen);
        gmem_write(BOOT_CMDLINE_ADDR, cl, cmdlen + 1);
        free(cl);
    }
    si.magic = HVM_START_MAGIC;
    si.version = 1;
    si.cmdline_paddr = BOOT_CMDLINE_ADDR;
    si.rsdp_paddr = req->rsdp_addr;
    si.memmap_paddr = mm_addr;
    si.memmap_entries = req->e820->n;
    gmem_write(si_addr, &si, sizeof(si));

    memset(entry, 0, sizeof(*entry));
    entry->mode = CPU_ENTRY_PROT32;
    entry->rip = info.pvh_entry;
    entry->ebx = si_addr;
    entry->rsp = BOOT_STACK_ADDR;
    boot_setup_gdt(entry);
    return 0;
}
