/* elf.c: loading ELF32/ELF64 executables by physical address, and finding the PVH entry note */
#define LOG_PREFIX "elf: "
#include "target-x86/boot.h"
#include "hw/core/guest-mem.h"
#include "util/log.h"

#include <elf.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18     /* xen/include/public/elfnote.h */

/* One program header, whichever class. */
struct phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

static bool get_phdr(const uint8_t *img, size_t len, bool is64, int i, struct phdr *p)
{
    uint64_t phoff, off;
    uint16_t phentsize;

    if (is64) {
        const Elf64_Ehdr *eh = (const void *)img;

        phoff = eh->e_phoff;
        phentsize = eh->e_phentsize;
        if (phentsize < sizeof(Elf64_Phdr))
            return false;
    } else {
        const Elf32_Ehdr *eh = (const void *)img;

        phoff = eh->e_phoff;
        phentsize = eh->e_phentsize;
        if (phentsize < sizeof(Elf32_Phdr))
            return false;
    }
    off = phoff + (uint64_t)i * phentsize;
    if (off < phoff || off + phentsize > len)
        return false;
    if (is64) {
        Elf64_Phdr ph;

        memcpy(&ph, img + off, sizeof(ph));
        *p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
    } else {
        Elf32_Phdr ph;

        memcpy(&ph, img + off, sizeof(ph));
        *p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
    }
    return true;
}

static void scan_notes(const uint8_t *img, size_t len, const struct phdr *p, struct elf_info *info)
{
    uint64_t pos = p->offset, end = p->offset + p->filesz;

    if (end < pos || end > len)
        return;
    while (pos + 12 <= end) {
        uint32_t namesz = ldl_le(img + pos), descsz = ldl_le(img + pos + 4);
        uint32_t type = ldl_le(img + pos + 8);
        uint64_t name = pos + 12, desc = name + ALIGN_UP((uint64_t)namesz, 4ULL);
        uint64_t next = desc + ALIGN_UP((uint64_t)descsz, 4ULL);

        if (next > end)
            return;
        if (namesz == 4 && !memcmp(img + name, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY &&
            descsz >= 4)
            info->pvh_entry = descsz >= 8 ? ldq_le(img + desc) & 0xffffffffULL : ldl_le(img + desc);
        pos = next;
    }
}

int elf_probe(const uint8_t *img, size_t len, struct elf_info *info, char **err)
{
    int phnum;

    memset(info, 0, sizeof(*info));
    if (len < sizeof(Elf32_Ehdr) || memcmp(img, ELFMAG, SELFMAG))
        return -ENOEXEC;
    if (img[EI_CLASS] == ELFCLASS64) {
        const Elf64_Ehdr *eh = (const void *)img;

        if (len < sizeof(Elf64_Ehdr))
            return -ENOEXEC;
        info->is64 = true;
        info->entry = eh->e_entry;
        phnum = eh->e_phnum;
        if (eh->e_machine != EM_X86_64)
            goto not_x86;
    } else if (img[EI_CLASS] == ELFCLASS32) {
        const Elf32_Ehdr *eh = (const void *)img;

        info->entry = eh->e_entry;
        phnum = eh->e_phnum;
        if (eh->e_machine != EM_386 && eh->e_machine != EM_X86_64)
            goto not_x86;
    } else {
        return -ENOEXEC;
    }
    if (img[EI_DATA] != ELFDATA2LSB)
        goto not_x86;
    info->lo = UINT64_MAX;
    for (int i = 0; i < phnum; i++) {
        struct phdr p;

        if (!get_phdr(img, len, info->is64, i, &p)) {
            *err = xstrdup("ELF program headers lie outside the file");
            return -EINVAL;
        }
        if (p.type == PT_NOTE)
            scan_notes(img, len, &p, info);
        if (p.type != PT_LOAD || !p.memsz)
            continue;
        if (p.filesz > p.memsz || p.offset + p.filesz > len || p.offset + p.filesz < p.offset ||
            p.paddr + p.memsz < p.paddr) {
            *err = xstrdup("an ELF segment lies outside the file or wraps around");
            return -EINVAL;
        }
        info->lo = MIN(info->lo, p.paddr);
        info->hi = MAX(info->hi, p.paddr + p.memsz);
    }
    if (info->lo == UINT64_MAX) {
        *err = xstrdup("the ELF image has nothing to load");
        return -EINVAL;
    }
    return 0;
not_x86:
    *err = xstrdup("the ELF image is not for x86");
    return -EINVAL;
}

int elf_segments(const uint8_t *img, size_t len, const struct elf_info *info,
                 struct boot_range *seg, int max)
{
    int phnum = info->is64 ? ((const Elf64_Ehdr *)img)->e_phnum : ((const Elf32_Ehdr *)img)->e_phnum;
    int n = 0;

    for (int i = 0; i < phnum; i++) {
        struct phdr p;

        if (!get_phdr(img, len, info->is64, i, &p) || p.type != PT_LOAD || !p.memsz)
            continue;
        if (n == max)
            return -E2BIG;
        seg[n++] = (struct boot_range){ p.paddr, p.paddr + p.memsz };
    }
    return n;
}

int elf_load(const uint8_t *img, size_t len, const struct elf_info *info, bool ram_is_zero,
             char **err)
{
    int phnum = info->is64 ? ((const Elf64_Ehdr *)img)->e_phnum : ((const Elf32_Ehdr *)img)->e_phnum;

    for (int i = 0; i < phnum; i++) {
        struct phdr p;
        uint8_t *dst;

        if (!get_phdr(img, len, info->is64, i, &p) || p.type != PT_LOAD || !p.memsz)
            continue;
        dst = gmem_ptr_w(p.paddr, p.memsz);
        if (!dst) {
            *err = xasprintf("an ELF segment at 0x%" PRIx64 " (%" PRIu64 " bytes) is outside "
                             "guest RAM; give the guest more with -m", p.paddr, p.memsz);
            return -ENOMEM;
        }
        /* fault the destination in with one call rather than page by page (Linux 5.14+) */
        gmem_populate(dst, p.filesz);
        memcpy(dst, img + p.offset, p.filesz);
        if (!ram_is_zero)
            memset(dst + p.filesz, 0, p.memsz - p.filesz);
    }
    return 0;
}
