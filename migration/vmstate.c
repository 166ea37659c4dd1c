/* vmstate.c: the generic engine that saves, loads and validates state descriptions */
#include "migration/vmstate.h"
#include "util/log.h"

/*
 * The stream of one section; every number is big-endian.
 *
 *   section := u8 name length, name, be32 version, body
 *   body    := fields, tail
 *   fields  := the description's fields in order, those of the body's version and older: a
 *              scalar in 1 (bool, u8), 2, 4 (u32, i32) or 8 bytes, an array element by element,
 *              a buffer's raw bytes, one nested structure per element, or pages
 *   nested  := u8 0xfe, be32 the nested description's version, body
 *              (a nested structure is read by its own version: a field added to it later is
 *              absent from older streams and keeps the value it had)
 *   tail    := { u8 0x01, u8 name length, name, be32 version, body }*, u8 0x00
 *              one entry for each subsection that was needed at save time; every body has a
 *              tail, so a subsection added later leaves older streams loadable
 *   pages   := { be32 page index, VMS_PAGE_SIZE bytes }*, be32 0xffffffff
 *              the pages that are not all zero, in increasing order; a page not named is zero
 *
 * A machine's stream frames the sections of its devices (migration/savevm.c).
 */

#define MARK_NESTED 0xfe
#define MARK_SUBSECTION 0x01
#define MARK_END 0x00

void vmbuf_init(struct vmbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void vmbuf_free(struct vmbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void vmbuf_put(struct vmbuf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = MAX(b->cap * 2, b->len + n + 256);
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void vmbuf_put_u8(struct vmbuf *b, uint8_t v) { vmbuf_put(b, &v, 1); }
void vmbuf_put_be16(struct vmbuf *b, uint16_t v) { uint8_t t[2]; stw_be(t, v); vmbuf_put(b, t, 2); }
void vmbuf_put_be32(struct vmbuf *b, uint32_t v) { uint8_t t[4]; stl_be(t, v); vmbuf_put(b, t, 4); }
void vmbuf_put_be64(struct vmbuf *b, uint64_t v) { uint8_t t[8]; stq_be(t, v); vmbuf_put(b, t, 8); }

void vmbuf_get(struct vmbuf *b, void *p, size_t n)
{
    if (b->overrun || n > b->len - b->pos) {
        b->overrun = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, b->data + b->pos, n);
    b->pos += n;
}

uint8_t vmbuf_get_u8(struct vmbuf *b) { uint8_t v; vmbuf_get(b, &v, 1); return v; }
uint16_t vmbuf_get_be16(struct vmbuf *b) { uint8_t t[2]; vmbuf_get(b, t, 2); return lduw_be(t); }
uint32_t vmbuf_get_be32(struct vmbuf *b) { uint8_t t[4]; vmbuf_get(b, t, 4); return ldl_be(t); }
uint64_t vmbuf_get_be64(struct vmbuf *b) { uint8_t t[8]; vmbuf_get(b, t, 8); return ldq_be(t); }

static void put_scalar(struct vmbuf *b, enum vmstate_type t, const void *p)
{
    switch (t) {
    case VMS_BOOL: vmbuf_put_u8(b, *(const bool *)p); break;
    case VMS_U8: vmbuf_put_u8(b, *(const uint8_t *)p); break;
    case VMS_U16: vmbuf_put_be16(b, *(const uint16_t *)p); break;
    case VMS_U32: case VMS_I32: vmbuf_put_be32(b, *(const uint32_t *)p); break;
    case VMS_U64: case VMS_I64: vmbuf_put_be64(b, *(const uint64_t *)p); break;
    default: break;
    }
}

static void put_name(struct vmbuf *b, const char *name)
{
    size_t n = strlen(name);

    vmbuf_put_u8(b, n);
    vmbuf_put(b, name, n);
}

/* Read a u8-counted name into buf[256]. */
static void get_name(struct vmbuf *b, char *buf)
{
    uint8_t n = vmbuf_get_u8(b);

    vmbuf_get(b, buf, n);
    buf[n] = '\0';
}

bool vmstate_page_is_zero(const uint8_t *p, size_t len)
{
    return !len || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

void vmstate_put_pages(struct vmbuf *b, const uint8_t *mem, uint64_t from, uint64_t to)
{
    for (uint64_t off = from; off < to; off += VMS_PAGE_SIZE) {
        size_t len = MIN(VMS_PAGE_SIZE, to - off);

        if (vmstate_page_is_zero(mem + off, len))
            continue;
        vmbuf_put_be32(b, off / VMS_PAGE_SIZE);
        vmbuf_put(b, mem + off, len);
    }
}

int vmpages_read(struct vmpages *pg, struct vmbuf *b, uint64_t size, const char **why)
{
    uint64_t npages = DIV_ROUND_UP(size, VMS_PAGE_SIZE);
    int64_t last = -1;

    for (;;) {
        uint32_t i = vmbuf_get_be32(b);
        size_t len;

        if (b->overrun) {
            *why = "the stream ends inside its pages";
            return -EINVAL;
        }
        if (i == VMS_PAGES_END)
            return 0;
        if (i >= npages) {
            *why = "a page lies beyond its memory";
            return -EINVAL;
        }
        if ((int64_t)i <= last) {
            *why = "its pages are out of order";
            return -EINVAL;
        }
        last = i;
        len = MIN(VMS_PAGE_SIZE, size - (uint64_t)i * VMS_PAGE_SIZE);
        if (len > b->len - b->pos) {
            b->overrun = true;
            *why = "the stream ends inside its pages";
            return -EINVAL;
        }
        if (pg->n == pg->cap) {
            pg->cap = pg->cap ? 2 * pg->cap : 64;
            pg->index = xrealloc(pg->index, pg->cap * sizeof(*pg->index));
            pg->pos = xrealloc(pg->pos, pg->cap * sizeof(*pg->pos));
        }
        pg->index[pg->n] = i;
        pg->pos[pg->n++] = b->pos;
        b->pos += len;
    }
}

void vmpages_apply(const struct vmpages *pg, const struct vmbuf *b, uint8_t *mem, uint64_t size)
{
    uint64_t npages = DIV_ROUND_UP(size, VMS_PAGE_SIZE);
    size_t k = 0;

    for (uint64_t i = 0; i < npages; i++) {
        uint8_t *p = mem + i * VMS_PAGE_SIZE;
        size_t len = MIN(VMS_PAGE_SIZE, size - i * VMS_PAGE_SIZE);

        if (k < pg->n && pg->index[k] == i)
            memcpy(p, b->data + pg->pos[k++], len);
        else if (!vmstate_page_is_zero(p, len))     /* reading leaves untouched memory alone */
            memset(p, 0, len);
    }
}

void vmpages_free(struct vmpages *pg)
{
    free(pg->index);
    free(pg->pos);
    memset(pg, 0, sizeof(*pg));
}

/* ---- saving ---- */

static int save_body(const struct vmstate_desc *d, void *opaque, struct vmbuf *b)
{
    int r;

    if (d->pre_save && (r = d->pre_save(opaque)) < 0)
        return r;
    for (const struct vmstate_field *f = d->fields; f->type != VMS_END; f++) {
        if (f->version > d->version)
            continue;       /* a description's version says which of its fields exist */
        for (unsigned i = 0; i < f->count; i++) {
            uint8_t *p = (uint8_t *)opaque + f->offset + (size_t)i * f->size;

            switch (f->type) {
            case VMS_BUFFER:
                vmbuf_put(b, p, f->size);
                break;
            case VMS_STRUCT:
                vmbuf_put_u8(b, MARK_NESTED);
                vmbuf_put_be32(b, f->sub->version);
                if ((r = save_body(f->sub, p, b)) < 0)
                    return r;
                break;
            case VMS_PAGES: {
                const uint8_t *mem = *(uint8_t *const *)p;

                if (mem)
                    vmstate_put_pages(b, mem, 0, f->size);
                vmbuf_put_be32(b, VMS_PAGES_END);
                break;
            }
            default:
                put_scalar(b, f->type, p);
                break;
            }
        }
    }
    for (const struct vmstate_desc *const *sp = d->subsections; sp && *sp; sp++) {
        const struct vmstate_desc *sub = *sp;

        if (sub->needed && !sub->needed(opaque))
            continue;
        vmbuf_put_u8(b, MARK_SUBSECTION);
        put_name(b, sub->name);
        vmbuf_put_be32(b, sub->version);
        if ((r = save_body(sub, opaque, b)) < 0)
            return r;
    }
    vmbuf_put_u8(b, MARK_END);
    return 0;
}

int vmstate_save(const struct vmstate_desc *d, void *opaque, struct vmbuf *b)
{
    put_name(b, d->name);
    vmbuf_put_be32(b, d->version);
    return save_body(d, opaque, b);
}

/* ---- loading ---- */

/* Memory of VMS_PAGES fields, written once the whole section was accepted. */
struct load_pages {
    uint8_t *mem;
    uint64_t size;
    struct vmpages pg;
};

struct load_ctx {
    struct vmbuf *b;
    char **err;
    struct load_pages *pages;
    size_t npages;
};

static int load_version(const struct vmstate_desc *d, int version, const char *path, char **err)
{
    if (version > d->version || version < d->min_version) {
        *err = xasprintf("%s: version %d is outside what this skiff loads (%d..%d)", path,
                         version, d->min_version, d->version);
        return -EINVAL;
    }
    return 0;
}

static int load_body(const struct vmstate_desc *d, void *opaque, int version, const char *path,
                     struct load_ctx *c);

/* A nested structure or a subsection: its version, pre_load, body. */
static int load_part(const struct vmstate_desc *d, void *opaque, int version, const char *path,
                     struct load_ctx *c)
{
    int r = load_version(d, version, path, c->err);

    if (r < 0)
        return r;
    if (d->pre_load && (r = d->pre_load(opaque)) < 0) {
        *c->err = xasprintf("%s: cannot load now: %s", path, strerror(-r));
        return r;
    }
    return load_body(d, opaque, version, path, c);
}

static int load_pages(const struct vmstate_field *f, uint8_t *p, const char *path, struct load_ctx *c)
{
    struct load_pages *lp;
    const char *why = NULL;
    uint8_t *mem = *(uint8_t **)p;

    if (!mem) {
        *c->err = xasprintf("%s: field '%s' has no memory to load into", path, f->name);
        return -EINVAL;
    }
    c->pages = xrealloc(c->pages, (c->npages + 1) * sizeof(*c->pages));
    lp = &c->pages[c->npages++];
    *lp = (struct load_pages){ .mem = mem, .size = f->size };
    if (vmpages_read(&lp->pg, c->b, f->size, &why) < 0) {
        *c->err = xasprintf("%s: field '%s': %s", path, f->name, why);
        return -EINVAL;
    }
    return 0;
}

static int load_scalar(const struct vmstate_field *f, uint8_t *p, const char *path, struct load_ctx *c)
{
    struct vmbuf *b = c->b;
    uint64_t v;

    switch (f->type) {
    case VMS_BOOL: case VMS_U8: v = vmbuf_get_u8(b); break;
    case VMS_U16: v = vmbuf_get_be16(b); break;
    case VMS_U32: case VMS_I32: v = vmbuf_get_be32(b); break;
    case VMS_U64: case VMS_I64: v = vmbuf_get_be64(b); break;
    default:
        *c->err = xasprintf("%s: field '%s' has an unknown type", path, f->name);
        return -EINVAL;
    }
    if (b->overrun)
        return 0;       /* the caller names the field */
    if (f->type == VMS_BOOL) {
        if (v > 1) {
            *c->err = xasprintf("%s: field '%s' is %" PRIu64 ", not a boolean", path, f->name, v);
            return -EINVAL;
        }
        *(bool *)p = v;
        return 0;
    }
    if (f->max && v > f->max) {
        *c->err = xasprintf("%s: field '%s' is %" PRIu64 ", above its limit %" PRIu64,
                            path, f->name, v, f->max);
        return -EINVAL;
    }
    memcpy(p, &v, f->size);     /* little-endian host: the low bytes */
    return 0;
}

static int load_nested(const struct vmstate_field *f, uint8_t *p, unsigned i, const char *path,
                       struct load_ctx *c)
{
    char *sub = f->count > 1 ? xasprintf("%s.%s[%u]", path, f->name, i)
                             : xasprintf("%s.%s", path, f->name);
    uint8_t mark = vmbuf_get_u8(c->b);
    int version = (int)vmbuf_get_be32(c->b), r;

    if (c->b->overrun) {
        *c->err = xasprintf("%s: stream ends inside field '%s'", path, f->name);
        r = -EINVAL;
    } else if (mark != MARK_NESTED) {
        *c->err = xasprintf("%s: the stream does not follow the description here (a nested "
                            "structure's mark is 0x%02x)", sub, mark);
        r = -EINVAL;
    } else {
        r = load_part(f->sub, p, version, sub, c);
    }
    free(sub);
    return r;
}

/* After the fields: the subsections the stream has, up to the end mark. */
static int load_tail(const struct vmstate_desc *d, void *opaque, const char *path, struct load_ctx *c)
{
    unsigned seen = 0;

    for (;;) {
        uint8_t mark = vmbuf_get_u8(c->b);
        const struct vmstate_desc *sub = NULL;
        char name[256], *subpath;
        unsigned k = 0;
        int version, r;

        if (c->b->overrun) {
            *c->err = xasprintf("%s: stream ends before its end mark", path);
            return -EINVAL;
        }
        if (mark == MARK_END)
            return 0;
        if (mark != MARK_SUBSECTION) {
            *c->err = xasprintf("%s: the stream does not follow the description here (0x%02x "
                                "after the fields)", path, mark);
            return -EINVAL;
        }
        get_name(c->b, name);
        version = (int)vmbuf_get_be32(c->b);
        if (c->b->overrun) {
            *c->err = xasprintf("%s: stream ends inside a subsection's header", path);
            return -EINVAL;
        }
        for (const struct vmstate_desc *const *sp = d->subsections; sp && *sp; sp++, k++) {
            if (!strcmp((*sp)->name, name)) {
                sub = *sp;
                break;
            }
        }
        if (!sub) {
            *c->err = xasprintf("%s: subsection '%s' is not one this skiff knows", path, name);
            return -EINVAL;
        }
        if (k < 32 && (seen & (1u << k))) {
            *c->err = xasprintf("%s: subsection '%s' comes twice", path, name);
            return -EINVAL;
        }
        seen |= k < 32 ? 1u << k : 0;
        subpath = xasprintf("%s.%s", path, name);
        r = load_part(sub, opaque, version, subpath, c);
        free(subpath);
        if (r < 0)
            return r;
    }
}

static int load_body(const struct vmstate_desc *d, void *opaque, int version, const char *path,
                     struct load_ctx *c)
{
    struct vmbuf *b = c->b;
    int r;

    for (const struct vmstate_field *f = d->fields; f->type != VMS_END; f++) {
        if (f->version > version)
            continue;
        for (unsigned i = 0; i < f->count && !b->overrun; i++) {
            uint8_t *p = (uint8_t *)opaque + f->offset + (size_t)i * f->size;

            switch (f->type) {
            case VMS_BUFFER:
                vmbuf_get(b, p, f->size);
                r = 0;
                break;
            case VMS_STRUCT:
                r = load_nested(f, p, i, path, c);
                break;
            case VMS_PAGES:
                r = load_pages(f, p, path, c);
                break;
            default:
                r = load_scalar(f, p, path, c);
                break;
            }
            if (r < 0)
                return r;
        }
        if (b->overrun) {
            *c->err = xasprintf("%s: stream ends inside field '%s'", path, f->name);
            return -EINVAL;
        }
    }
    if ((r = load_tail(d, opaque, path, c)) < 0)
        return r;
    if (d->post_load && d->post_load(opaque, version) < 0) {
        *c->err = xasprintf("%s: loaded state is not one the device can be in", path);
        return -EINVAL;
    }
    return 0;
}

int vmstate_load(const struct vmstate_desc *d, void *opaque, struct vmbuf *b, char **err)
{
    struct load_ctx c = { .b = b, .err = err };
    char name[256];
    int version, r;

    *err = NULL;
    get_name(b, name);
    version = (int)vmbuf_get_be32(b);
    if (b->overrun) {
        *err = xasprintf("%s: stream ends inside the section header", d->name);
        return -EINVAL;
    }
    if (strcmp(name, d->name)) {
        *err = xasprintf("expected section '%s', found '%s'", d->name, name);
        return -EINVAL;
    }
    r = load_part(d, opaque, version, d->name, &c);
    if (r == 0 && b->pos != b->len) {
        *err = xasprintf("%s: %zu bytes left after its state", d->name, b->len - b->pos);
        r = -EINVAL;
    }
    for (size_t i = 0; i < c.npages; i++) {
        if (r == 0)
            vmpages_apply(&c.pages[i].pg, b, c.pages[i].mem, c.pages[i].size);
        vmpages_free(&c.pages[i].pg);
    }
    free(c.pages);
    return r < 0 ? -EINVAL : 0;
}

int vmstate_roundtrip(const struct vmstate_desc *d, void *src, void *dst, char **err)
{
    struct vmbuf a, c;
    int r;

    vmbuf_init(&a);
    vmbuf_init(&c);
    *err = NULL;
    r = vmstate_save(d, src, &a);
    if (r < 0) {
        *err = xasprintf("%s: save failed: %s", d->name, strerror(-r));
        goto out;
    }
    r = vmstate_load(d, dst, &a, err);
    if (r < 0)
        goto out;
    r = vmstate_save(d, dst, &c);
    if (r == 0 && (c.len != a.len || memcmp(c.data, a.data, a.len))) {
        *err = xasprintf("%s: state saved after load differs from the original", d->name);
        r = -EINVAL;
    }
out:
    vmbuf_free(&a);
    vmbuf_free(&c);
    return r;
}

/* ---- patching a saved stream (device tests: a hostile stream made from a real one) ---- */

static size_t scalar_size(enum vmstate_type t)
{
    switch (t) {
    case VMS_BOOL: case VMS_U8: return 1;
    case VMS_U16: return 2;
    case VMS_U32: case VMS_I32: return 4;
    case VMS_U64: case VMS_I64: return 8;
    default: return 0;
    }
}

/* The first component of a path: "name" or "name[idx]", and what follows its dot (or NULL). */
struct path_part {
    const char *name;
    size_t len;
    unsigned idx;
    const char *rest;
};

static void path_split(const char *path, struct path_part *pp)
{
    const char *dot = strchr(path, '.'), *br = strchr(path, '[');

    pp->name = path;
    pp->len = dot ? (size_t)(dot - path) : strlen(path);
    pp->idx = 0;
    pp->rest = dot ? dot + 1 : NULL;
    if (br && (!dot || br < dot)) {
        pp->len = br - path;
        pp->idx = strtoul(br + 1, NULL, 0);
    }
}

static bool part_is(const struct path_part *pp, const char *name)
{
    return pp && strlen(name) == pp->len && !strncmp(name, pp->name, pp->len);
}

/*
 * Walk a body of the stream as d describes it, looking for `path` (NULL: only skip it). 1 with
 * *pos and *type when found, 0 when walked past, or -errno.
 */
static int walk_body(const struct vmstate_desc *d, struct vmbuf *b, int version, const char *path,
                     size_t *pos, enum vmstate_type *type)
{
    struct path_part part, *pp = NULL;
    int r;

    if (path) {
        path_split(path, &part);
        pp = &part;
    }
    for (const struct vmstate_field *f = d->fields; f->type != VMS_END; f++) {
        bool named = part_is(pp, f->name);

        if (f->version > version)
            continue;
        if (named && pp->idx >= f->count)
            return -ERANGE;
        for (unsigned i = 0; i < f->count; i++) {
            bool target = named && i == pp->idx;
            const char *why;

            if (target && f->type != VMS_STRUCT) {
                if (pp->rest || f->type == VMS_BUFFER || f->type == VMS_PAGES)
                    return -EINVAL;
                if (b->pos + scalar_size(f->type) > b->len)
                    return -ERANGE;
                *pos = b->pos;
                *type = f->type;
                return 1;
            }
            switch (f->type) {
            case VMS_BUFFER:
                if (f->size > b->len - b->pos)
                    return -ERANGE;
                b->pos += f->size;
                break;
            case VMS_STRUCT: {
                uint8_t mark = vmbuf_get_u8(b);
                int v = (int)vmbuf_get_be32(b);

                if (b->overrun)
                    return -ERANGE;
                if (mark != MARK_NESTED || v > f->sub->version || v < f->sub->min_version)
                    return -EINVAL;
                if (target && !pp->rest)
                    return -EINVAL;
                r = walk_body(f->sub, b, v, target ? pp->rest : NULL, pos, type);
                if (r != 0)
                    return r;
                break;
            }
            case VMS_PAGES: {
                struct vmpages pg = { 0 };

                r = vmpages_read(&pg, b, f->size, &why);
                vmpages_free(&pg);
                if (r < 0)
                    return b->overrun ? -ERANGE : -EINVAL;
                break;
            }
            default:
                if (scalar_size(f->type) > b->len - b->pos)
                    return -ERANGE;
                b->pos += scalar_size(f->type);
                break;
            }
        }
    }
    for (;;) {
        uint8_t mark = vmbuf_get_u8(b);
        const struct vmstate_desc *sub = NULL;
        char name[256];
        int v;

        if (b->overrun)
            return -ERANGE;
        if (mark == MARK_END)
            return 0;
        if (mark != MARK_SUBSECTION)
            return -EINVAL;
        get_name(b, name);
        v = (int)vmbuf_get_be32(b);
        if (b->overrun)
            return -ERANGE;
        for (const struct vmstate_desc *const *sp = d->subsections; sp && *sp; sp++)
            if (!strcmp((*sp)->name, name))
                sub = *sp;
        if (!sub)
            return -EINVAL;
        r = walk_body(sub, b, v, part_is(pp, name) ? pp->rest : NULL, pos, type);
        if (r != 0)
            return r;
    }
}

int vmstate_patch(const struct vmstate_desc *d, struct vmbuf *b, const char *path, uint64_t value)
{
    struct vmbuf w = { .data = b->data, .len = b->len };
    enum vmstate_type type = VMS_END;
    char name[256];
    size_t pos = 0;
    int version, r;

    get_name(&w, name);
    version = (int)vmbuf_get_be32(&w);
    if (w.overrun)
        return -ERANGE;
    if (strcmp(name, d->name))
        return -EINVAL;
    r = walk_body(d, &w, version, path, &pos, &type);
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    switch (scalar_size(type)) {
    case 1: b->data[pos] = value; break;
    case 2: stw_be(b->data + pos, value); break;
    case 4: stl_be(b->data + pos, value); break;
    case 8: stq_be(b->data + pos, value); break;
    }
    return 0;
}
