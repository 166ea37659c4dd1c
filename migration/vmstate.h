/* vmstate.h: device state described as data, and the one engine that saves, loads and validates it */
#ifndef MIGRATION_VMSTATE_H
#define MIGRATION_VMSTATE_H

#include "util/osdep.h"

/* A growable byte buffer that state is saved into and loaded from (big-endian fields). */
struct vmbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t pos;         /* read position */
    bool overrun;       /* a read went past the end */
};

void vmbuf_init(struct vmbuf *b);
void vmbuf_free(struct vmbuf *b);
void vmbuf_put(struct vmbuf *b, const void *p, size_t n);
void vmbuf_put_u8(struct vmbuf *b, uint8_t v);
void vmbuf_put_be16(struct vmbuf *b, uint16_t v);
void vmbuf_put_be32(struct vmbuf *b, uint32_t v);
void vmbuf_put_be64(struct vmbuf *b, uint64_t v);
/* Readers return 0 past the end and set b->overrun. */
void vmbuf_get(struct vmbuf *b, void *p, size_t n);
uint8_t vmbuf_get_u8(struct vmbuf *b);
uint16_t vmbuf_get_be16(struct vmbuf *b);
uint32_t vmbuf_get_be32(struct vmbuf *b);
uint64_t vmbuf_get_be64(struct vmbuf *b);

enum vmstate_type {
    VMS_END = 0,
    VMS_BOOL,
    VMS_U8,
    VMS_U16,
    VMS_U32,
    VMS_U64,
    VMS_I32,
    VMS_I64,
    VMS_BUFFER,     /* `size` raw bytes */
    VMS_STRUCT,     /* a nested description at `offset` */
    VMS_PAGES,      /* `size` bytes of memory that the pointer at `offset` holds (video memory) */
};

/* Memory in a stream goes in pages, and a page of zeros is left out (see vmstate.c). */
#define VMS_PAGE_SIZE 4096u
#define VMS_PAGES_END 0xffffffffu

struct vmstate_desc;

struct vmstate_field {
    const char *name;
    enum vmstate_type type;
    size_t offset;
    size_t size;            /* element size in memory (for VMS_BUFFER: the byte count) */
    unsigned count;         /* >1 for fixed arrays */
    int version;            /* the field exists in streams of this version and later */
    uint64_t max;           /* load rejects values above this (unsigned types); 0 = no bound */
    const struct vmstate_desc *sub;     /* for VMS_STRUCT */
};

struct vmstate_desc {
    const char *name;
    int version;            /* what we save */
    int min_version;        /* the oldest stream we can load */
    const struct vmstate_field *fields;
    /* Optional hooks: pre_save prepares fields; post_load checks the whole state
     * (a state the guest could not have produced is -EINVAL) and recomputes what is
     * derived from it. */
    int (*pre_save)(void *opaque);
    /* pre_load: note what the load must be compared with (0 or -errno: refuse to load now) */
    int (*pre_load)(void *opaque);
    int (*post_load)(void *opaque, int version);
    /*
     * Optional parts, NULL-terminated: each is a description of the same object, saved after
     * the fields when its needed() says so (always when it has none). On load a subsection this
     * skiff does not know is refused; one that is absent loads nothing, so the pre_load of the
     * description that holds it sets what its absence means.
     */
    const struct vmstate_desc *const *subsections;
    bool (*needed)(void *opaque);
};

/* Save `opaque` as described; returns 0 or -errno from pre_save. */
int vmstate_save(const struct vmstate_desc *d, void *opaque, struct vmbuf *b);
/*
 * Load into `opaque` the section that fills `b` from its read position to its end. On error
 * returns -EINVAL and sets *err to a message naming the section and field ("serial: field
 * 'lcr' ... "), to free. On error the fields of `opaque` may be partially overwritten (load
 * where a copy can be restored, as device_vmstate_load does); the memory of VMS_PAGES fields
 * is written only once the whole section was accepted, after every post_load.
 */
int vmstate_load(const struct vmstate_desc *d, void *opaque, struct vmbuf *b, char **err);

/*
 * Overwrite one scalar field of a stream that vmstate_save made with d ("bm[1].status",
 * "ch[0].drive[1].nsectors_left", "pci.config[61]", a subsection's "serial/rx-timeout.deadline"):
 * a device test's hostile stream, made from a real one. 0, -ENOENT (no such field, or a
 * subsection the stream lacks), -ERANGE (index, or a stream too short), -EINVAL (not a scalar,
 * or a stream that does not follow d).
 */
int vmstate_patch(const struct vmstate_desc *d, struct vmbuf *b, const char *path, uint64_t value);

/* Convenience: save, load into a fresh copy, and report whether the saved bytes round-trip. */
int vmstate_roundtrip(const struct vmstate_desc *d, void *src, void *dst, char **err);

/*
 * Memory as VMS_PAGES fields store it, for other memory of the machine (guest RAM): the pages of
 * [from, to) of mem that are not all zero, each as its index and its bytes (no end mark: put
 * VMS_PAGES_END after the last run).
 */
void vmstate_put_pages(struct vmbuf *b, const uint8_t *mem, uint64_t from, uint64_t to);
/* The pages a stream names for memory of `size` bytes, checked: in order, inside it. */
struct vmpages {
    uint32_t *index;
    size_t *pos;            /* where each page's bytes are in the stream */
    size_t n, cap;
};
/* Read up to VMS_PAGES_END; 0, or -EINVAL with a reason (static text) in *why. */
int vmpages_read(struct vmpages *pg, struct vmbuf *b, uint64_t size, const char **why);
/* Write the pages from b into mem; every page the stream did not name becomes zero. */
void vmpages_apply(const struct vmpages *pg, const struct vmbuf *b, uint8_t *mem, uint64_t size);
void vmpages_free(struct vmpages *pg);
bool vmstate_page_is_zero(const uint8_t *p, size_t len);

#define VMS_SIZEOF(st, f) sizeof(((st *)0)->f)
#define VMS_ELEM_SIZEOF(st, f) sizeof(((st *)0)->f[0])
#define VMS_CHECK(st, f, ctype) \
    (offsetof(st, f) + 0 * sizeof((ctype *){ &((st *)0)->f }))
#define VMS_CHECK_ARRAY(st, f, ctype, n) \
    (offsetof(st, f) + 0 * sizeof((ctype(*)[n]){ &((st *)0)->f }))

#define VMSTATE_FIELD_(st, f, t, ctype, v, m) \
    { .name = #f, .type = t, .offset = VMS_CHECK(st, f, ctype), .size = sizeof(ctype), \
      .count = 1, .version = v, .max = m }
#define VMSTATE_ARRAY_(st, f, t, ctype, n, v) \
    { .name = #f, .type = t, .offset = VMS_CHECK_ARRAY(st, f, ctype, n), .size = sizeof(ctype), \
      .count = n, .version = v }

#define VMSTATE_BOOL(f, st)         VMSTATE_FIELD_(st, f, VMS_BOOL, bool, 0, 0)
#define VMSTATE_U8(f, st)           VMSTATE_FIELD_(st, f, VMS_U8, uint8_t, 0, 0)
#define VMSTATE_U16(f, st)          VMSTATE_FIELD_(st, f, VMS_U16, uint16_t, 0, 0)
#define VMSTATE_U32(f, st)          VMSTATE_FIELD_(st, f, VMS_U32, uint32_t, 0, 0)
#define VMSTATE_U64(f, st)          VMSTATE_FIELD_(st, f, VMS_U64, uint64_t, 0, 0)
#define VMSTATE_I32(f, st)          VMSTATE_FIELD_(st, f, VMS_I32, int32_t, 0, 0)
#define VMSTATE_I64(f, st)          VMSTATE_FIELD_(st, f, VMS_I64, int64_t, 0, 0)
/* bounded: a loaded value above max is rejected */
#define VMSTATE_U8_MAX(f, st, m)    VMSTATE_FIELD_(st, f, VMS_U8, uint8_t, 0, m)
#define VMSTATE_U16_MAX(f, st, m)   VMSTATE_FIELD_(st, f, VMS_U16, uint16_t, 0, m)
#define VMSTATE_U32_MAX(f, st, m)   VMSTATE_FIELD_(st, f, VMS_U32, uint32_t, 0, m)
#define VMSTATE_U64_MAX(f, st, m)   VMSTATE_FIELD_(st, f, VMS_U64, uint64_t, 0, m)
/* added in a later version of the description */
#define VMSTATE_U8_V(f, st, v)      VMSTATE_FIELD_(st, f, VMS_U8, uint8_t, v, 0)
#define VMSTATE_U32_V(f, st, v)     VMSTATE_FIELD_(st, f, VMS_U32, uint32_t, v, 0)
#define VMSTATE_U64_V(f, st, v)     VMSTATE_FIELD_(st, f, VMS_U64, uint64_t, v, 0)

#define VMSTATE_U8_ARRAY(f, st, n)  VMSTATE_ARRAY_(st, f, VMS_U8, uint8_t, n, 0)
#define VMSTATE_U16_ARRAY(f, st, n) VMSTATE_ARRAY_(st, f, VMS_U16, uint16_t, n, 0)
#define VMSTATE_U32_ARRAY(f, st, n) VMSTATE_ARRAY_(st, f, VMS_U32, uint32_t, n, 0)
#define VMSTATE_U64_ARRAY(f, st, n) VMSTATE_ARRAY_(st, f, VMS_U64, uint64_t, n, 0)
#define VMSTATE_BOOL_ARRAY(f, st, n) VMSTATE_ARRAY_(st, f, VMS_BOOL, bool, n, 0)
#define VMSTATE_I64_ARRAY(f, st, n) VMSTATE_ARRAY_(st, f, VMS_I64, int64_t, n, 0)

#define VMSTATE_BUFFER(f, st) \
    { .name = #f, .type = VMS_BUFFER, .offset = offsetof(st, f), .size = VMS_SIZEOF(st, f), .count = 1 }
#define VMSTATE_STRUCT(f, st, desc, ctype) \
    { .name = #f, .type = VMS_STRUCT, .offset = VMS_CHECK(st, f, ctype), .size = sizeof(ctype), \
      .count = 1, .sub = &(desc) }
#define VMSTATE_STRUCT_ARRAY(f, st, n, desc, ctype) \
    { .name = #f, .type = VMS_STRUCT, .offset = VMS_CHECK_ARRAY(st, f, ctype, n), \
      .size = sizeof(ctype), .count = n, .sub = &(desc) }
/* `uint8_t *f` points to n bytes of memory (a multiple of VMS_PAGE_SIZE), saved page by page */
#define VMSTATE_PAGES(f, st, n) \
    { .name = #f, .type = VMS_PAGES, .offset = VMS_CHECK(st, f, uint8_t *), .size = n, .count = 1 }
#define VMSTATE_END_OF_LIST { .name = NULL, .type = VMS_END }

#endif
