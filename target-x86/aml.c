/* aml.c: an ACPI Machine Language encoder: names, package lengths, blocks, operators and resource templates (ACPI 6.4 chapters 6.4 and 20) */
#define LOG_PREFIX "aml: "
#include "target-x86/aml.h"
#include "util/log.h"

/* opcodes (ACPI 6.4 section 20.3) */
#define ZERO_OP         0x00
#define ONE_OP          0x01
#define NAME_OP         0x08
#define BYTE_PREFIX     0x0a
#define WORD_PREFIX     0x0b
#define DWORD_PREFIX    0x0c
#define STRING_PREFIX   0x0d
#define QWORD_PREFIX    0x0e
#define SCOPE_OP        0x10
#define BUFFER_OP       0x11
#define PACKAGE_OP      0x12
#define METHOD_OP       0x14
#define DUAL_NAME       0x2e
#define MULTI_NAME      0x2f
#define EXT_OP          0x5b
#define LOCAL0_OP       0x60
#define ARG0_OP         0x68
#define STORE_OP        0x70
#define AND_OP          0x7b
#define OR_OP           0x7d
#define CREATE_DWORD_FIELD_OP 0x8a
#define LLESS_OP        0x95
#define IF_OP           0xa0
#define RETURN_OP       0xa4
#define ONES_OP         0xff
#define EXT_REGION_OP   0x80
#define EXT_FIELD_OP    0x81
#define EXT_DEVICE_OP   0x82

struct aml {
    uint8_t op[2];
    int oplen;
    bool block;         /* encoded with a PkgLength */
    uint8_t *buf;       /* what follows the PkgLength: names, arguments, children */
    size_t len, cap;
};

static struct aml *aml_new(int op, bool block)
{
    struct aml *a = xnew(struct aml);

    if (op >= 0x100) {
        a->op[0] = EXT_OP;
        a->op[1] = op & 0xff;
        a->oplen = 2;
    } else if (op >= 0) {
        a->op[0] = op;
        a->oplen = 1;
    }
    a->block = block;
    return a;
}

static void put(struct aml *a, const void *p, size_t n)
{
    if (!n)
        return;
    if (a->len + n > a->cap) {
        a->cap = MAX(a->cap * 2, a->len + n + 64);
        a->buf = xrealloc(a->buf, a->cap);
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

static void put8(struct aml *a, uint8_t v)
{
    put(a, &v, 1);
}

/* PkgLength (20.2.4): one byte up to 63, else 2-4 bytes with the low nibble first */
static void put_pkglen(struct aml *a, size_t body)
{
    size_t total;

    if (body + 1 <= 0x3f) {
        put8(a, body + 1);
        return;
    }
    for (int n = 2; n <= 4; n++) {
        total = body + n;
        if (total < (1ULL << (4 + 8 * (n - 1)))) {
            put8(a, (n - 1) << 6 | (total & 0x0f));
            for (int i = 1; i < n; i++)
                put8(a, total >> (4 + 8 * (i - 1)));
            return;
        }
    }
    die("internal error: AML object of %zu bytes", body);
}

void aml_append(struct aml *parent, struct aml *child)
{
    put(parent, child->op, child->oplen);
    if (child->block)
        put_pkglen(parent, child->len);
    put(parent, child->buf, child->len);
    free(child->buf);
    free(child);
}

struct aml *aml_block_new(void)
{
    return aml_new(-1, false);
}

uint8_t *aml_finish(struct aml *a, size_t *len)
{
    uint8_t *d = a->buf;

    *len = a->len;
    free(a);
    return d;
}

/* NameString (20.2.2): root and parent prefixes, then one, two (DualName) or more segments */
static void put_name(struct aml *a, const char *path)
{
    const char *p = path;
    int nseg = 0;

    while (*p == '\\' || *p == '^')
        put8(a, *p++);
    for (const char *s = p; *s; nseg++) {
        const char *dot = strchr(s, '.');

        s = dot ? dot + 1 : s + strlen(s);
    }
    if (nseg == 0) {
        put8(a, ZERO_OP);       /* NullName */
        return;
    }
    if (nseg == 2) {
        put8(a, DUAL_NAME);
    } else if (nseg > 2) {
        put8(a, MULTI_NAME);
        put8(a, nseg);
    }
    while (*p) {
        char seg[4] = { '_', '_', '_', '_' };
        size_t n = strcspn(p, ".");

        if (n == 0 || n > 4)
            die("internal error: bad AML name '%s'", path);
        memcpy(seg, p, n);
        put(a, seg, 4);
        p += n;
        if (*p == '.')
            p++;
    }
}

struct aml *aml_int(uint64_t v)
{
    struct aml *a = aml_new(-1, false);
    uint8_t b[8];

    if (v == 0) {
        put8(a, ZERO_OP);
    } else if (v == 1) {
        put8(a, ONE_OP);
    } else if (v == UINT64_MAX) {
        put8(a, ONES_OP);
    } else if (v <= 0xff) {
        put8(a, BYTE_PREFIX);
        put8(a, v);
    } else if (v <= 0xffff) {
        put8(a, WORD_PREFIX);
        stw_le(b, v);
        put(a, b, 2);
    } else if (v <= 0xffffffff) {
        put8(a, DWORD_PREFIX);
        stl_le(b, v);
        put(a, b, 4);
    } else {
        put8(a, QWORD_PREFIX);
        stq_le(b, v);
        put(a, b, 8);
    }
    return a;
}

struct aml *aml_string(const char *s)
{
    struct aml *a = aml_new(STRING_PREFIX, false);

    put(a, s, strlen(s) + 1);
    return a;
}

static unsigned hexdigit(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* EisaId(): three letters in five bits each and four hex digits, stored big-endian */
struct aml *aml_eisaid(const char *id)
{
    uint32_t v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
                 (uint32_t)(id[2] - 0x40) << 16 | hexdigit(id[3]) << 12 | hexdigit(id[4]) << 8 |
                 hexdigit(id[5]) << 4 | hexdigit(id[6]);

    return aml_int(__builtin_bswap32(v));
}

struct aml *aml_name(const char *path)
{
    struct aml *a = aml_new(-1, false);

    put_name(a, path);
    return a;
}

struct aml *aml_arg(int n)
{
    struct aml *a = aml_new(-1, false);

    put8(a, ARG0_OP + n);
    return a;
}

struct aml *aml_local(int n)
{
    struct aml *a = aml_new(-1, false);

    put8(a, LOCAL0_OP + n);
    return a;
}

struct aml *aml_package(uint8_t nelems)
{
    struct aml *a = aml_new(PACKAGE_OP, true);

    put8(a, nelems);
    return a;
}

struct aml *aml_buffer(const uint8_t *data, size_t len)
{
    struct aml *a = aml_new(BUFFER_OP, true);

    aml_append(a, aml_int(len));
    put(a, data, len);
    return a;
}

struct aml *aml_name_decl(const char *name, struct aml *value)
{
    struct aml *a = aml_new(NAME_OP, false);

    put_name(a, name);
    aml_append(a, value);
    return a;
}

struct aml *aml_scope(const char *name)
{
    struct aml *a = aml_new(SCOPE_OP, true);

    put_name(a, name);
    return a;
}

struct aml *aml_device(const char *name)
{
    struct aml *a = aml_new(0x100 | EXT_DEVICE_OP, true);

    put_name(a, name);
    return a;
}

struct aml *aml_method(const char *name, int nargs, bool serialized)
{
    struct aml *a = aml_new(METHOD_OP, true);

    put_name(a, name);
    put8(a, (nargs & 7) | (serialized ? 0x08 : 0));
    return a;
}

struct aml *aml_if(struct aml *predicate)
{
    struct aml *a = aml_new(IF_OP, true);

    aml_append(a, predicate);
    return a;
}

struct aml *aml_operation_region(const char *name, enum aml_region_space space, uint64_t offset,
                                 uint64_t len)
{
    struct aml *a = aml_new(0x100 | EXT_REGION_OP, false);

    put_name(a, name);
    put8(a, space);
    aml_append(a, aml_int(offset));
    aml_append(a, aml_int(len));
    return a;
}

struct aml *aml_field(const char *region, uint8_t flags)
{
    struct aml *a = aml_new(0x100 | EXT_FIELD_OP, true);

    put_name(a, region);
    put8(a, flags);
    return a;
}

void aml_field_unit(struct aml *field, const char *name, unsigned bits)
{
    char seg[4] = { '_', '_', '_', '_' };

    memcpy(seg, name, MIN(strlen(name), 4));
    put(field, seg, 4);
    /* a field's width is encoded as a PkgLength without the length's own bytes */
    if (bits <= 0x3f) {
        put8(field, bits);
    } else {
        put8(field, 0x40 | (bits & 0x0f));
        put8(field, bits >> 4);
    }
}

struct aml *aml_create_dword_field(struct aml *buf, struct aml *index, const char *name)
{
    struct aml *a = aml_new(CREATE_DWORD_FIELD_OP, false);

    aml_append(a, buf);
    aml_append(a, index);
    put_name(a, name);
    return a;
}

struct aml *aml_return(struct aml *v)
{
    struct aml *a = aml_new(RETURN_OP, false);

    aml_append(a, v);
    return a;
}

struct aml *aml_store(struct aml *src, struct aml *dst)
{
    struct aml *a = aml_new(STORE_OP, false);

    aml_append(a, src);
    aml_append(a, dst);
    return a;
}

static struct aml *binop(int op, struct aml *x, struct aml *y, struct aml *target)
{
    struct aml *a = aml_new(op, false);

    aml_append(a, x);
    aml_append(a, y);
    if (target)
        aml_append(a, target);
    else
        put8(a, ZERO_OP);       /* NullName: no target */
    return a;
}

struct aml *aml_and(struct aml *x, struct aml *y, struct aml *target)
{
    return binop(AND_OP, x, y, target);
}

struct aml *aml_or(struct aml *x, struct aml *y, struct aml *target)
{
    return binop(OR_OP, x, y, target);
}

struct aml *aml_lless(struct aml *x, struct aml *y)
{
    struct aml *a = aml_new(LLESS_OP, false);

    aml_append(a, x);
    aml_append(a, y);
    return a;
}

struct aml *aml_call1(const char *method, struct aml *arg)
{
    struct aml *a = aml_new(-1, false);

    put_name(a, method);
    aml_append(a, arg);
    return a;
}

/* ---- resource descriptors (ACPI 6.4 section 6.4) ---- */

static void res_put(struct resources *r, const uint8_t *p, size_t n)
{
    r->data = xrealloc(r->data, r->len + n);
    memcpy(r->data + r->len, p, n);
    r->len += n;
}

/* I/O port descriptor (6.4.2.5): 16-bit decode, fixed base */
void res_io(struct resources *r, uint16_t base, uint8_t len)
{
    uint8_t d[8] = { 0x47, 0x01, base, base >> 8, base, base >> 8, 0x01, len };

    res_put(r, d, sizeof(d));
}

/* IRQ descriptor without flags (6.4.2.1): edge, active high */
void res_irq_noflags(struct resources *r, uint16_t mask)
{
    uint8_t d[3] = { 0x22, mask, mask >> 8 };

    res_put(r, d, sizeof(d));
}

/* Extended interrupt descriptor (6.4.3.6), consumer */
void res_interrupts(struct resources *r, bool level, bool active_low, bool shared,
                    const uint32_t *irqs, int n)
{
    uint8_t d[5 + 4 * 8];
    size_t len = 2 + 4 * n;

    d[0] = 0x89;
    d[1] = len;
    d[2] = len >> 8;
    d[3] = 0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0) | (shared ? 0x08 : 0);
    d[4] = n;
    for (int i = 0; i < n && i < 8; i++)
        stl_le(d + 5 + 4 * i, irqs[i]);
    res_put(r, d, 5 + 4 * MIN(n, 8));
}

/* Word address space descriptor (6.4.3.5.3): producer, min/max fixed, positive decode */
static void res_word(struct resources *r, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
    uint8_t d[16] = { 0x88, 0x0d, 0x00, type, 0x0c, tflags };
    uint16_t len = max - min + 1;

    stw_le(d + 8, min);
    stw_le(d + 10, max);
    stw_le(d + 14, len);
    res_put(r, d, sizeof(d));
}

void res_word_bus(struct resources *r, uint16_t min, uint16_t max)
{
    res_word(r, 2, 0, min, max);
}

void res_word_io(struct resources *r, uint16_t min, uint16_t max)
{
    res_word(r, 1, 0x03, min, max);     /* ISA and non-ISA ranges */
}

/* DWord address space descriptor (6.4.3.5.2), memory, read/write */
void res_dword_mem(struct resources *r, uint32_t min, uint32_t max, bool cacheable)
{
    uint8_t d[26] = { 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01 | (cacheable ? 0x02 : 0) };

    stl_le(d + 10, min);
    stl_le(d + 14, max);
    stl_le(d + 22, max - min + 1);
    res_put(r, d, sizeof(d));
}

struct aml *aml_resource_template(struct resources *r)
{
    static const uint8_t end_tag[2] = { 0x79, 0x00 };
    struct aml *a;

    res_put(r, end_tag, sizeof(end_tag));
    a = aml_buffer(r->data, r->len);
    free(r->data);
    r->data = NULL;
    r->len = 0;
    return a;
}
