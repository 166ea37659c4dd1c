/* guest-mem.c: RAM regions (memfd backing, a dirty bitmap per client), their mappings at guest-physical addresses, and the checked access helpers */
#define LOG_PREFIX "guest-mem: "
#include "hw/core/guest-mem.h"
#include "hw/core/accel.h"
#include "util/log.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The mappings change under the device lock (PAM, BARs); I/O threads look addresses up without
 * it, so the list is read under mappings_lock. A region outlives its mappings, so a host pointer
 * stays valid after the lock is dropped even when the guest moves the mapping away.
 */
static struct ram_mapping *mappings;
static pthread_rwlock_t mappings_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct ram_region *regions;

static void region_link(struct ram_region *r)
{
    uint64_t words = DIV_ROUND_UP(DIV_ROUND_UP(r->size, GUEST_PAGE_SIZE), 64);

    for (int c = 0; c < DIRTY_CLIENTS; c++)
        r->dirty[c] = xcalloc(words ? words : 1, sizeof(unsigned long));
    r->next = regions;
    regions = r;
}

int ram_region_alloc(struct ram_region **out, const char *name, uint64_t size, bool readonly)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    struct ram_region *r;
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
    r = xnew(struct ram_region);
    r->name = name;
    r->size = size;
    r->hva = p;
    r->fd = fd;
    r->readonly = readonly;
    r->owned = true;
    region_link(r);
    *out = r;
    return 0;
}

struct ram_region *ram_region_from_host(const char *name, uint8_t *hva, uint64_t size, bool readonly)
{
    struct ram_region *r = xnew(struct ram_region);

    r->name = name;
    r->size = size;
    r->hva = hva;
    r->fd = -1;
    r->readonly = readonly;
    region_link(r);
    return r;
}

void ram_region_free(struct ram_region *r)
{
    if (!r)
        return;
    for (struct ram_region **pp = &regions; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    for (int c = 0; c < DIRTY_CLIENTS; c++)
        free(r->dirty[c]);
    if (r->owned) {
        munmap(r->hva, r->size);
        close(r->fd);
    }
    free(r);
}

void ram_region_mark_dirty(struct ram_region *r, uint64_t off, uint64_t len)
{
    uint64_t first, last;

    if (!len || off >= r->size)
        return;
    len = MIN(len, r->size - off);
    first = off / GUEST_PAGE_SIZE;
    last = (off + len - 1) / GUEST_PAGE_SIZE;
    for (uint64_t p = first; p <= last; p++)
        for (int c = 0; c < DIRTY_CLIENTS; c++)
            __atomic_fetch_or(&r->dirty[c][p / 64], 1UL << (p % 64), __ATOMIC_RELAXED);
}

void ram_region_write(struct ram_region *r, uint64_t off, const void *buf, size_t len)
{
    if (off > r->size || len > r->size - off)
        return;
    memcpy(r->hva + off, buf, len);
    ram_region_mark_dirty(r, off, len);
}

/* The accelerator logs a mapping's guest writes while a client of its region wants them. */
static void mapping_update_logging(struct ram_mapping *m)
{
    bool want = false;

    for (int c = 0; c < DIRTY_CLIENTS; c++)
        want |= m->region->logging[c];
    if (want == m->log_dirty || m->readonly)
        return;
    m->log_dirty = want;
    if (accel && accel->mem_map && accel->mem_map(m) < 0)
        log_warn("%s: the accelerator cannot %s its dirty log", m->name, want ? "start" : "stop");
}

void ram_region_dirty_start(struct ram_region *r, enum dirty_client c)
{
    uint64_t words = DIV_ROUND_UP(DIV_ROUND_UP(r->size, GUEST_PAGE_SIZE), 64);

    memset(r->dirty[c], 0, (words ? words : 1) * sizeof(unsigned long));
    r->logging[c] = true;
    for (struct ram_mapping *m = mappings; m; m = m->next)
        if (m->region == r)
            mapping_update_logging(m);
}

void gmem_dirty_start_all(enum dirty_client c)
{
    for (struct ram_region *r = regions; r; r = r->next)
        ram_region_dirty_start(r, c);
}

void ram_region_dirty_stop(struct ram_region *r, enum dirty_client c)
{
    r->logging[c] = false;
    for (struct ram_mapping *m = mappings; m; m = m->next)
        if (m->region == r)
            mapping_update_logging(m);
}

void gmem_dirty_sync(void)
{
    for (struct ram_mapping *m = mappings; m; m = m->next) {
        uint64_t pages = DIV_ROUND_UP(m->size, GUEST_PAGE_SIZE);
        unsigned long *bm;

        if (!m->log_dirty || !accel || !accel->mem_sync_dirty)
            continue;
        bm = xcalloc(DIV_ROUND_UP(pages, 64), sizeof(unsigned long));
        if (accel->mem_sync_dirty(m, bm) == 0) {
            for (uint64_t p = 0; p < pages; p++)
                if (bm[p / 64] & (1UL << (p % 64)))
                    ram_region_mark_dirty(m->region, m->offset + p * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
        }
        free(bm);
    }
}

bool ram_region_dirty_test_clear(struct ram_region *r, enum dirty_client c, uint64_t page)
{
    unsigned long bit = 1UL << (page % 64);

    if (page >= DIV_ROUND_UP(r->size, GUEST_PAGE_SIZE))
        return false;
    return __atomic_fetch_and(&r->dirty[c][page / 64], ~bit, __ATOMIC_RELAXED) & bit;
}

struct ram_mapping *gmem_mappings(void)
{
    return mappings;
}

int gmem_map(struct ram_region *r, uint64_t offset, uint64_t gpa, uint64_t size, bool readonly,
             const char *name, struct ram_mapping **out)
{
    struct ram_mapping *m;
    int ret;

    if (offset > r->size || size > r->size - offset)
        return -EINVAL;
    m = xnew(struct ram_mapping);
    m->name = name;
    m->region = r;
    m->offset = offset;
    m->gpa = gpa;
    m->size = size;
    m->hva = r->hva + offset;
    m->fd = r->fd;
    m->fd_offset = r->fd >= 0 ? offset : 0;
    m->readonly = readonly || r->readonly;
    m->slot = -1;
    for (int c = 0; c < DIRTY_CLIENTS; c++)
        m->log_dirty |= r->logging[c] && !m->readonly;
    if (accel && accel->mem_map) {
        ret = accel->mem_map(m);
        if (ret < 0) {
            free(m);
            return ret;
        }
    }
    pthread_rwlock_wrlock(&mappings_lock);
    m->next = mappings;
    mappings = m;
    pthread_rwlock_unlock(&mappings_lock);
    if (out)
        *out = m;
    return 0;
}

void gmem_unmap(struct ram_mapping *m)
{
    struct ram_mapping **pp;

    if (!m)
        return;
    pthread_rwlock_wrlock(&mappings_lock);
    for (pp = &mappings; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    pthread_rwlock_unlock(&mappings_lock);
    if (accel && accel->mem_unmap)
        accel->mem_unmap(m);
    free(m);
}

void gmem_cleanup(void)
{
    while (mappings)
        gmem_unmap(mappings);
    while (regions)
        ram_region_free(regions);
}

/* Lookups: callers hold mappings_lock for reading. */
static struct ram_mapping *block_find(uint64_t gpa)
{
    for (struct ram_mapping *b = mappings; b; b = b->next)
        if (gpa >= b->gpa && gpa - b->gpa < b->size)
            return b;
    return NULL;
}

static void block_mark_dirty(struct ram_mapping *b, uint64_t off, uint64_t len)
{
    ram_region_mark_dirty(b->region, b->offset + off, len);
}

static void read_lock(void)
{
    pthread_rwlock_rdlock(&mappings_lock);
}

static void read_unlock(void)
{
    pthread_rwlock_unlock(&mappings_lock);
}

struct ram_region *gmem_region_at(uint64_t gpa, uint64_t *off)
{
    struct ram_region *r = NULL;
    struct ram_mapping *m;

    read_lock();
    if ((m = block_find(gpa))) {
        *off = m->offset + (gpa - m->gpa);
        r = m->region;
    }
    read_unlock();
    return r;
}

/* The host address of [gpa, gpa+len) in one mapping (writable for `write`), or NULL. */
static void *ptr_locked(uint64_t gpa, uint64_t len, bool write)
{
    struct ram_mapping *b = block_find(gpa);

    if (!b || (write && b->readonly) || len > b->size - (gpa - b->gpa))
        return NULL;
    return b->hva + (gpa - b->gpa);
}

void *gmem_ptr(uint64_t gpa, uint64_t len)
{
    void *p;

    read_lock();
    p = ptr_locked(gpa, len, false);
    read_unlock();
    return p;
}

void *gmem_ptr_dma(uint64_t gpa, uint64_t len)
{
    void *p;

    read_lock();
    p = ptr_locked(gpa, len, true);
    read_unlock();
    return p;
}

void *gmem_ptr_part(uint64_t gpa, uint64_t len, bool write, uint64_t *got)
{
    struct ram_mapping *b;
    void *p = NULL;

    read_lock();
    b = block_find(gpa);
    if (b && !(write && b->readonly)) {
        *got = MIN(len, b->size - (gpa - b->gpa));
        p = b->hva + (gpa - b->gpa);
    }
    read_unlock();
    return p;
}

void *gmem_ptr_w(uint64_t gpa, uint64_t len)
{
    void *p = gmem_ptr_dma(gpa, len);

    if (p)
        gmem_mark_dirty(gpa, len);
    return p;
}

static bool is_ram_locked(uint64_t gpa, uint64_t len)
{
    while (len) {
        struct ram_mapping *b = block_find(gpa);
        uint64_t n;

        if (!b)
            return false;
        n = MIN(len, b->size - (gpa - b->gpa));
        gpa += n;
        len -= n;
    }
    return true;
}

bool gmem_is_ram(uint64_t gpa, uint64_t len)
{
    bool ok;

    read_lock();
    ok = is_ram_locked(gpa, len);
    read_unlock();
    return ok;
}

static int gmem_copy(uint64_t gpa, void *buf, size_t len, bool write, bool rom_ok)
{
    uint8_t *p = buf;
    int ret = 0;

    if (gpa + len < gpa)
        return -EFAULT;
    read_lock();
    if (!is_ram_locked(gpa, len))
        ret = -EFAULT;
    while (!ret && len) {
        struct ram_mapping *b = block_find(gpa);
        uint64_t off = gpa - b->gpa, n = MIN((uint64_t)len, b->size - off);

        if (write) {
            if (b->readonly && !rom_ok) {
                ret = -EFAULT;
                break;
            }
            memcpy(b->hva + off, p, n);
            block_mark_dirty(b, off, n);
        } else {
            memcpy(p, b->hva + off, n);
        }
        gpa += n;
        p += n;
        len -= n;
    }
    read_unlock();
    return ret;
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
    read_lock();
    while (len) {
        struct ram_mapping *b = block_find(gpa);
        uint64_t n;

        if (!b)
            break;
        n = MIN(len, b->size - (gpa - b->gpa));
        block_mark_dirty(b, gpa - b->gpa, n);
        gpa += n;
        len -= n;
    }
    read_unlock();
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
