/* vmstate.c: the generic engine that saves, loads and validates state descriptions */
#include "migration/vmstate.h"
#include "util/log.h"

/* Stream layout of one section: name (u8 length + bytes), version (be32), then the fields in
 * description order, each scalar big-endian, arrays element by element, buffers raw. */

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

static int save_fields(const struct vmstate_desc *d, void *opaque, struct vmbuf *b)
{
    int r;

    if (d->pre_save && (r = d->pre_save(opaque)) < 0)
        return r;
    for (const struct vmstate_field *f = d->fields; f->type != VMS_END; f++) {
        for (unsigned i = 0; i < f->count; i++) {
            uint8_t *p = (uint8_t *)opaque + f->offset + (size_t)i * f->size;

            if (f->type == VMS_BUFFER)
                vmbuf_put(b, p, f->size);
            else if (f->type == VMS_STRUCT) {
                if ((r = save_fields(f->sub, p, b)) < 0)
                    return r;
            } else
                put_scalar(b, f->type, p);
        }
    }
    return 0;
}

int vmstate_save(const struct vmstate_desc *d, void *opaque, struct vmbuf *b)
{
    size_t n = strlen(d->name);

    vmbuf_put_u8(b, n);
    vmbuf_put(b, d->name, n);
    vmbuf_put_be32(b, d->version);
    return save_fields(d, opaque, b);
}

static int load_fields(const struct vmstate_desc *d, void *opaque, struct vmbuf *b, int version,
                       const char *path, char **err)
{
    for (const struct vmstate_field *f = d->fields; f->type != VMS_END; f++) {
        if (f->version > version)
            continue;
        for (unsigned i = 0; i < f->count; i++) {
            uint8_t *p = (uint8_t *)opaque + f->offset + (size_t)i * f->size;
            uint64_t v = 0;

            switch (f->type) {
            case VMS_BUFFER:
                vmbuf_get(b, p, f->size);
                continue;
            case VMS_STRUCT: {
                char *sub = xasprintf("%s.%s", path, f->name);
                int r = f->sub->pre_load ? f->sub->pre_load(p) : 0;

                if (r < 0)
                    *err = xasprintf("%s: cannot load now: %s", sub, strerror(-r));
                else
                    r = load_fields(f->sub, p, b, f->sub->version, sub, err);

                free(sub);
                if (r < 0)
                    return r;
                continue;
            }
            case VMS_BOOL:
                v = vmbuf_get_u8(b);
                if (v > 1) {
                    *err = xasprintf("%s: field '%s' is %" PRIu64 ", not a boolean", path, f->name, v);
                    return -EINVAL;
                }
                *(bool *)p = v;
                continue;
            case VMS_U8: v = vmbuf_get_u8(b); break;
            case VMS_U16: v = vmbuf_get_be16(b); break;
            case VMS_U32: case VMS_I32: v = vmbuf_get_be32(b); break;
            case VMS_U64: case VMS_I64: v = vmbuf_get_be64(b); break;
            default:
                *err = xasprintf("%s: field '%s' has an unknown type", path, f->name);
                return -EINVAL;
            }
            if (b->overrun)
                break;
            if (f->max && v > f->max) {
                *err = xasprintf("%s: field '%s' is %" PRIu64 ", above its limit %" PRIu64,
                                 path, f->name, v, f->max);
                return -EINVAL;
            }
            memcpy(p, &v, f->size);     /* little-endian host: the low bytes */
        }
        if (b->overrun) {
            *err = xasprintf("%s: stream ends inside field '%s'", path, f->name);
            return -EINVAL;
        }
    }
    if (d->post_load && d->post_load(opaque, version) < 0) {
        *err = xasprintf("%s: loaded state is not one the device can be in", path);
        return -EINVAL;
    }
    return 0;
}

int vmstate_load(const struct vmstate_desc *d, void *opaque, struct vmbuf *b, char **err)
{
    int r;

    char name[256];
    uint8_t n = vmbuf_get_u8(b);
    int version;

    *err = NULL;
    vmbuf_get(b, name, n);
    name[n] = '\0';
    version = (int)vmbuf_get_be32(b);
    if (b->overrun) {
        *err = xasprintf("%s: stream ends inside the section header", d->name);
        return -EINVAL;
    }
    if (strcmp(name, d->name)) {
        *err = xasprintf("expected section '%s', found '%s'", d->name, name);
        return -EINVAL;
    }
    if (version > d->version || version < d->min_version) {
        *err = xasprintf("%s: version %d is outside what this skiff loads (%d..%d)", d->name,
                         version, d->min_version, d->version);
        return -EINVAL;
    }
    if (d->pre_load && (r = d->pre_load(opaque)) < 0) {
        *err = xasprintf("%s: cannot load now: %s", d->name, strerror(-r));
        return r;
    }
    return load_fields(d, opaque, b, version, d->name, err);
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
    if (a.pos != a.len) {
        *err = xasprintf("%s: %zu bytes left after load", d->name, a.len - a.pos);
        r = -EINVAL;
        goto out;
    }
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

static size_t stream_size(const struct vmstate_desc *d)
{
    size_t n = 0;

    for (const struct vmstate_field *f = d->fields; f->type != VMS_END; f++) {
        size_t one = f->type == VMS_BUFFER ? f->size : f->type == VMS_STRUCT ? stream_size(f->sub)
                                                                              : scalar_size(f->type);
        n += one * f->count;
    }
    return n;
}

/* Where field `path` ("ch[0].drive[1].nsectors_left") lies in d's fields; its type in *type. */
static int field_locate(const struct vmstate_desc *d, const char *path, size_t *pos, enum vmstate_type *type)
{
    const char *dot = strchr(path, '.'), *br = strchr(path, '[');
    size_t len = dot ? (size_t)(dot - path) : strlen(path), namelen = len;
    unsigned idx = 0;

    if (br && (!dot || br < dot)) {
        namelen = br - path;
        idx = strtoul(br + 1, NULL, 0);
    }
    for (const struct vmstate_field *f = d->fields; f->type != VMS_END; f++) {
        size_t one = f->type == VMS_BUFFER ? f->size : f->type == VMS_STRUCT ? stream_size(f->sub)
                                                                              : scalar_size(f->type);

        if (strlen(f->name) != namelen || strncmp(f->name, path, namelen)) {
            *pos += one * f->count;
            continue;
        }
        if (idx >= f->count)
            return -ERANGE;
        *pos += one * idx;
        if (f->type == VMS_STRUCT)
            return dot ? field_locate(f->sub, dot + 1, pos, type) : -EINVAL;
        if (dot || f->type == VMS_BUFFER)
            return -EINVAL;
        *type = f->type;
        return 0;
    }
    return -ENOENT;
}

int vmstate_patch(const struct vmstate_desc *d, struct vmbuf *b, const char *path, uint64_t value)
{
    size_t pos = 1 + strlen(d->name) + 4;      /* past the section header */
    enum vmstate_type type;
    int r = field_locate(d, path, &pos, &type);

    if (r < 0)
        return r;
    if (pos + scalar_size(type) > b->len)
        return -ERANGE;
    switch (scalar_size(type)) {
    case 1: b->data[pos] = value; break;
    case 2: stw_be(b->data + pos, value); break;
    case 4: stl_be(b->data + pos, value); break;
    case 8: stq_be(b->data + pos, value); break;
    }
    return 0;
}
