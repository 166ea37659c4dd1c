/* guest-mem.h: guest memory as RAM regions (backing memory with dirty bitmaps) and the mappings that place them at guest-physical addresses, and the checked helpers that are the only way device code touches them */
#ifndef HW_CORE_GUEST_MEM_H
#define HW_CORE_GUEST_MEM_H

#include "util/osdep.h"

#define GUEST_PAGE_SIZE 4096ULL

/*
 * Who reads the dirty pages of a region: each client has its own bitmap, set by every write
 * (devices' writes as they complete, the guest's through the accelerator's log) and cleared by
 * that client alone.
 */
enum dirty_client { DIRTY_MIGRATION, DIRTY_DISPLAY, DIRTY_CLIENTS };

/* Backing memory: main RAM, video memory, an option ROM or the BIOS image. */
struct ram_region {
    const char *name;
    uint64_t size;
    uint8_t *hva;
    int fd;                         /* its memfd, or -1 (host memory given to it) */
    bool readonly;                  /* ROM: guest writes exit to user space and are dropped */
    bool owned;                     /* hva was allocated here (freed with the region) */
    unsigned long *dirty[DIRTY_CLIENTS];
    bool logging[DIRTY_CLIENTS];    /* the client wants the guest's writes too (the accelerator logs) */
    struct ram_region *next;
};

/* A part of a region at a guest-physical address: one accelerator slot. */
struct ram_mapping {
    const char *name;
    struct ram_region *region;
    uint64_t offset;                /* into the region */
    uint64_t gpa;
    uint64_t size;
    uint8_t *hva;                   /* region->hva + offset */
    int fd;                         /* the region's fd, at fd_offset (or -1) */
    uint64_t fd_offset;
    bool readonly;                  /* the region's, or a read-only view of RAM (PAM) */
    int slot;                       /* the accelerator's slot number */
    bool log_dirty;                 /* the accelerator logs guest writes */
    struct ram_mapping *next;
};

/* A region of shared memory (memfd): untouched pages cost nothing. -errno on failure. */
int ram_region_alloc(struct ram_region **out, const char *name, uint64_t size, bool readonly);
/* A region over host memory the caller owns (a ROM image mapped elsewhere). */
struct ram_region *ram_region_from_host(const char *name, uint8_t *hva, uint64_t size, bool readonly);
/* Free a region that no mapping uses any more. */
void ram_region_free(struct ram_region *r);
/* Copy into a region (the board's and firmware's writes, and the PAM write-only window), marking it. */
void ram_region_write(struct ram_region *r, uint64_t off, const void *buf, size_t len);
void ram_region_mark_dirty(struct ram_region *r, uint64_t off, uint64_t len);

/* Dirty tracking for one client: start (its bitmap clear, the accelerator logging guest writes),
 * stop, pull the accelerator's log in, and take a page's bit (test and clear). */
void ram_region_dirty_start(struct ram_region *r, enum dirty_client c);
void ram_region_dirty_stop(struct ram_region *r, enum dirty_client c);
/* Start a client on every region there is (migration does, for all of guest memory). */
void gmem_dirty_start_all(enum dirty_client c);
void gmem_dirty_sync(void);
bool ram_region_dirty_test_clear(struct ram_region *r, enum dirty_client c, uint64_t page);
/* The region behind a guest-physical address, and the offset there; NULL when none. */
struct ram_region *gmem_region_at(uint64_t gpa, uint64_t *off);

/* Place [offset, offset+size) of a region at gpa (readonly: a read-only view of it). */
int gmem_map(struct ram_region *r, uint64_t offset, uint64_t gpa, uint64_t size, bool readonly,
             const char *name, struct ram_mapping **out);
void gmem_unmap(struct ram_mapping *m);
/* Unmap every mapping and free every region (the machine goes). */
void gmem_cleanup(void);
struct ram_mapping *gmem_mappings(void);

/*
 * Host pointer for [gpa, gpa+len) when the whole range lies in one mapping, else NULL. Any
 * thread may look addresses up (an I/O thread serving a virtqueue). For
 * writes by the board (loaders), gmem_ptr_w, which marks the pages dirty. A device's DMA into
 * guest memory uses gmem_ptr_dma, which does not: the device marks what it wrote with
 * gmem_mark_dirty once the write has completed, so that a migration never sends a page before
 * the data arrived in it.
 */
void *gmem_ptr(uint64_t gpa, uint64_t len);
void *gmem_ptr_w(uint64_t gpa, uint64_t len);
void *gmem_ptr_dma(uint64_t gpa, uint64_t len);
/*
 * The host address of gpa and, in *got, how much of [gpa, gpa+len) follows it in the same
 * mapping (a scatter-gather list is built piece by piece); NULL where gpa is not RAM, or is
 * read-only and `write` is asked. Like gmem_ptr_dma, it marks nothing dirty.
 */
void *gmem_ptr_part(uint64_t gpa, uint64_t len, bool write, uint64_t *got);
/* Copy to or from guest memory, across mappings; -EFAULT when any byte is not RAM. */
int gmem_read(uint64_t gpa, void *buf, size_t len);
int gmem_write(uint64_t gpa, const void *buf, size_t len);
/* Writes that also reach ROM (firmware loading, not guest DMA). */
int gmem_write_rom(uint64_t gpa, const void *buf, size_t len);
bool gmem_is_ram(uint64_t gpa, uint64_t len);
void gmem_mark_dirty(uint64_t gpa, uint64_t len);
/* Allocate the host pages behind a range about to be written in bulk (a hint; errors ignored). */
void gmem_populate(void *hva, uint64_t len);

#endif
