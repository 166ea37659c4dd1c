/* pvh.c: booting an ELF vmlinux through its PVH entry (Xen's "x86/HVM direct boot ABI", start_info v1) */
#define LOG_PREFIX "pvh: "
#include "target-x86/boot.h"
#include "hw/core/guest-mem.h"
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

#define PVH_STACK_SIZE 4096    /* the ABI gives none (Linux uses start_info for its first call) */

int pvh_load(const struct boot_request *req, const uint8_t *img, size_t len,
             struct cpu_entry *entry, char **err)
{
    struct elf_info info;
    struct boot_range seg[BOOT_MAX_SEGMENTS];
    struct boot_mem mem;
    struct hvm_start_info si = { 0 };
    struct hvm_modlist_entry mod = { 0 };
    struct hvm_memmap_entry mm[E820_MAX];
    uint64_t off_si, off_mod, off_mm, off_cmd, block_len, block;
    size_t cmdlen = req->cmdline ? strlen(req->cmdline) : 0;
    char *probe_err = NULL;
    int nseg, r;

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
    nseg = elf_segments(img, len, &info, seg, BOOT_MAX_SEGMENTS);
    if (nseg < 0) {
        *err = xasprintf("kernel '%s' has more than %d loadable segments", req->kernel,
                         BOOT_MAX_SEGMENTS);
        return -EINVAL;
    }
    /* the image goes where it asks to be, if that is RAM the guest may use */
    boot_mem_init(&mem, req);
    r = boot_mem_claim_image(&mem, req, seg, nseg, err);
    if (r < 0)
        return r;
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
        /* as high as it fits, above 1 MiB, where the kernel is not */
        r = boot_mem_alloc_high(&mem, MAX(rdlen, (size_t)1), 4096, BOOT_KERNEL_ADDR, 4 * GiB,
                                &addr);
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
    }

    /*
     * One block for the GDT, start_info, the module list, the memory map and the command line
     * (then a small stack), in the lowest free RAM: the first pages, where a vmlinux (at 16 MiB)
     * never is, and where a low-linked image is not.
     */
    off_si = BOOT_GDT_SIZE;
    off_mod = off_si + ALIGN_UP(sizeof(si), 16);
    off_mm = off_mod + sizeof(mod);
    off_cmd = off_mm + (uint64_t)req->e820->n * sizeof(mm[0]);
    block_len = ALIGN_UP(off_cmd + cmdlen + 1, 16ULL) + PVH_STACK_SIZE;
    if (boot_mem_alloc(&mem, block_len, 4096, 0, &block) < 0) {
        *err = xasprintf("the PVH start_info and command line do not fit in guest RAM beside "
                         "kernel '%s'; give it more with -m", req->kernel);
        return -ENOMEM;
    }
    if (si.nr_modules) {
        si.modlist_paddr = block + off_mod;
        gmem_write(block + off_mod, &mod, sizeof(mod));
    }
    for (int i = 0; i < req->e820->n; i++)
        mm[i] = (struct hvm_memmap_entry){ req->e820->e[i].addr, req->e820->e[i].size,
                                           req->e820->e[i].type, 0 };
    gmem_write(block + off_mm, mm, req->e820->n * sizeof(mm[0]));
    {
        char *cl = xzalloc(cmdlen + 1);

        if (cmdlen)
            memcpy(cl, req->cmdline, cmdlen);
        gmem_write(block + off_cmd, cl, cmdlen + 1);
        free(cl);
    }
    si.magic = HVM_START_MAGIC;
    si.version = 1;
    si.cmdline_paddr = block + off_cmd;
    si.rsdp_paddr = req->rsdp_addr;
    si.memmap_paddr = block + off_mm;
    si.memmap_entries = req->e820->n;
    gmem_write(block + off_si, &si, sizeof(si));

    memset(entry, 0, sizeof(*entry));
    entry->mode = CPU_ENTRY_PROT32;
    entry->rip = info.pvh_entry;
    entry->ebx = block + off_si;
    entry->rsp = block + block_len;
    boot_setup_gdt_at(entry, block);
    return 0;
}
