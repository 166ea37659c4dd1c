/* guest-mem.c: guest memory blocks on memfd, checked access helpers and the device dirty bitmap */
#define LOG_PREFIX "guest-mem: "
#include "hw/core/guest-mem.h"
#include "hw/core/accel.h"
#include "util/log.h"

#include <sys/mman.h>
#include <unistd.h>

static struct ram_block *blocks;

int gmem_alloc(const char *name, uint64_t size, uint8_t **hva, int *fd_out)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    void *p;

    if (fd < 0)
        return -errno;
    if (ftruncate(fd, size) < 0) {
        int e = -errno;

        close(fd);
        return e;
    }
    /* MAP_NORESERVE: untouched guest RAM costs nothing on the host */
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        int e = -errno;

        close(fd);
        return e;
    }
    madvise(p, size, MADV_DONTDUMP);
    *hva = p;
    *fd_out = fd;
    return 0;
}

struct ram_block *gmem_blocks(void)
{
    return blocks;
}

int gmem_map_block(const char *name, uint64_t gpa, uint64_t size, uint8_t *hva, int fd,
                   uint64_t fd_offset, bool readonly, struct ram_block **out)
{
    struct ram_block *b = xnew(struct ram_block);
    uint64_t pages = DIV_ROUND_UP(size, GUEST_PAGE_SIZE);
    int r;

    b->name = name;
    b->gpa = gpa;
    b->size = size;
    b->hva = hva;
    b->fd = fd;
    b->fd_offset = fd_offset;
    b->readonly = readonly;
    b->slot = -1;
    b->dirty = xcalloc(DIV_ROUND_UP(pages, 64), sizeof(unsigned long));
    if (accel && accel->mem_map) {
        r = accel->mem_map(b);
        if (r < 0) {
            free(b->dirty);
            free(b);
            return r;
        }
    }
    b->next = blocks;
    blocks = b;
    if (out)
        *out = b;
    return 0;
}

void gmem_unmap_block(struct ram_block *b)
{
    struct ram_block **pp;

    for (pp = &blocks; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    if (accel && accel->mem_unmap)
        accel->mem_unmap(b);
    free(b->dirty);
    free(b);
}

void gmem_cleanup(void)
{
    while (blocks)
        gmem_unmap_block(blocks);
}

static struct ram_block *block_find(uint64_t gpa)
{
    for (struct ram_block *b = blocks; b; b = b->next)
        if (gpa >= b->gpa && gpa - b->gpa < b->size)
            return b;
    return NULL;
}

static void block_mark_dirty(struct ram_block *b, uint64_t off, uint64_t len)
{
    uint64_t first = off / GUEST_PAGE_SIZE, last = (off + len - 1) / GUEST_PAGE_SIZE;

    if (!len)
        return;
    for (uint64_t p = first; p <= last; p++)
        __atomic_fetch_or(&b->dirty[p / 64], 1UL << (p % 64), __ATOMIC_RELAXED);
}

void *gmem_ptr(uint64_t gpa, uint64_t len)
{
    struct ram_block *b = block_find(gpa);

    if (!b || len > b->size - (gpa - b->gpa))
        return NULL;
    return b->hva + (gpa - b->gpa);
}

void *gmem_ptr_w(uint64_t gpa, uint64_t len)
{
    struct ram_block *b = block_find(gpa);

    if (!b || b->readonly || len > b->size - (gpa - b->gpa))
        return NULL;
    block_mark_dirty(b, gpa - b->gpa, len);
    return b->hva + (gpa - b->gpa);
}

bool gmem_is_ram(uint64_t gpa, uint64_t len)
{
    while (len) {
        struct ram_block *b = block_find(gpa);
        uint64_t n;

        if (!b)
            return false;
        n = MIN(len, b->size - (gpa - b->gpa));
        gpa += n;
        len -= n;
    }
    return true;
}

static int gmem_copy(uint64_t gpa, void *buf, size_t len, bool write, bool rom_ok)
{
    uint8_t *p = buf;

    if (gpa + len < gpa)
        return -EFAULT;
    if (!gmem_is_ram(gpa, len))
        return -EFAULT;
    while (len) {
        struct ram_block *b = block_find(gpa);
        uint64_t off = gpa - b->gpa, n = MIN((uint64_t)len, b->size - off);

        if (write) {
            if (b->readonly && !rom_ok)
                return -EFAULT;
            memcpy(b->hva + off, p, n);
            block_mark_dirty(b, off, n);
        } else {
            memcpy(p, b->hva + off, n);
        }
        gpa += n;
        p += n;
        len -= n;
    }
    return 0;
}

int gmem_read(uint64_t gpa, void *buf, size_t len)
{
    return gmem_copy(gpa, buf, len, false, false);
}

int gmem_write(uint64_t gpa, const void *buf, size_t len)
{
    return gmem_copy(gpa, (void *)buf, len, true, false);
}

int gmem_write_rom(uint64_t gpa, const void *buf, size_t len)
{
    return gmem_copy(gpa, (void *)buf, len, true, true);
}

void gmem_mark_dirty(uint64_t gpa, uint64_t len)
{
    while (len) {
        struct ram_block *b = block_find(gpa);
        uint64_t n;

        if (!b)
            return;
        n = MIN(len, b->size - (gpa - b->gpa));
        block_mark_dirty(b, gpa - b->gpa, n);
        gpa += n;
        len -= n;
    }
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void gmem_populate(void *hva, uint64_t len)
{
    uintptr_t start = ALIGN_DOWN((uintptr_t)hva, (uintptr_t)GUEST_PAGE_SIZE);
    uintptr_t end = ALIGN_UP((uintptr_t)hva + len, (uintptr_t)GUEST_PAGE_SIZE);

    madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}
