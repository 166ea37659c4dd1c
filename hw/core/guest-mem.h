/* guest-mem.h: guest RAM and ROM blocks, and the checked helpers that are the only way device code touches them */
#ifndef HW_CORE_GUEST_MEM_H
#define HW_CORE_GUEST_MEM_H

#include "util/osdep.h"

#define GUEST_PAGE_SIZE 4096ULL

struct ram_block {
    const char *name;
    uint64_t gpa;
    uint64_t size;
    uint8_t *hva;
    bool readonly;          /* ROM: guest writes exit to user space and are dropped */
    int fd;                 /* backing memfd, or -1 */
    uint64_t fd_offset;
    int slot;               /* the accelerator's slot number */
    bool log_dirty;         /* the accelerator logs guest writes (migration turns it on) */
    unsigned long *dirty;   /* one bit per page written by devices or (after sync) the guest */
    struct ram_block *next;
};

/*
 * Allocate `size` bytes of shared guest memory (memfd) and return the host
 * mapping. The caller maps parts of it with gmem_map_block. -errno on failure.
 */
int gmem_alloc(const char *name, uint64_t size, uint8_t **hva, int *fd);
/* Register host memory as guest-physical [gpa, gpa+size). */
int gmem_map_block(const char *name, uint64_t gpa, uint64_t size, uint8_t *hva, int fd,
                   uint64_t fd_offset, bool readonly, struct ram_block **out);
void gmem_unmap_block(struct ram_block *b);
void gmem_cleanup(void);
struct ram_block *gmem_blocks(void);

/*
 * Host pointer for [gpa, gpa+len) when the whole range lies in one RAM block,
 * else NULL. For writes, use gmem_ptr_w, which marks the pages dirty.
 */
void *gmem_ptr(uint64_t gpa, uint64_t len);
void *gmem_ptr_w(uint64_t gpa, uint64_t len);
/* Copy to or from guest memory, across blocks; -EFAULT when any byte is not RAM. */
int gmem_read(uint64_t gpa, void *buf, size_t len);
int gmem_write(uint64_t gpa, const void *buf, size_t len);
/* Writes that also reach ROM blocks (firmware loading, not guest DMA). */
int gmem_write_rom(uint64_t gpa, const void *buf, size_t len);
bool gmem_is_ram(uint64_t gpa, uint64_t len);
void gmem_mark_dirty(uint64_t gpa, uint64_t len);
/* Allocate the host pages behind a range about to be written in bulk (a hint; errors ignored). */
void gmem_populate(void *hva, uint64_t len);

#endif
