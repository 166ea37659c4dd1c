/* smbios.c: the SMBIOS 2.8 structures (DMTF DSP0134) for the firmware to publish */
#include "target-x86/smbios.h"
#include "hw/core/guest-mem.h" // gmem_write
#include "util/opts.h"

#include <ctype.h>

#define SMBIOS_MANUFACTURER "skiff"
#define SMBIOS_PRODUCT "Standard PC (i440FX + PIIX, 1996)"
#define SMBIOS_VERSION "skiff-" SKIFF_VERSION
#define DIMM_MAX (16 * GiB)     /* as QEMU: one memory device per 16 GiB */

/* the strings -smbios may set, with the offsets of their fields */
struct smbios_field {
    const char *key;
    uint8_t offset;
};

static const struct smbios_field smbios_type1_fields[] = {
    { "manufacturer", 0x04 }, { "product", 0x05 }, { "version", 0x06 }, { "serial", 0x07 },
    { "sku", 0x19 }, { "family", 0x1a },
};
static const struct smbios_field smbios_type3_fields[] = {
    { "manufacturer", 0x04 }, { "version", 0x06 }, { "serial", 0x07 }, { "asset", 0x08 },
    { "sku", 0x15 },
};
#define SMBIOS_FIELDS_MAX 6

/* what -smbios and -uuid set: NULL for a default, "" for no string */
static struct {
    char *type1[SMBIOS_FIELDS_MAX];
    char *type3[SMBIOS_FIELDS_MAX];
    uint8_t uuid[16];
} smbios_user;

/* one structure being written: its formatted area, then its strings */
struct smbios_writer {
    struct smbios_tables *t;
    size_t start;               /* where the structure in hand begins */
    int nstrings;
    int count;                  /* structures written */
    size_t max_size;            /* the largest, strings included */
};

static uint8_t *smbios_grow(struct smbios_writer *w, size_t n)
{
    w->t->data = xrealloc(w->t->data, w->t->len + n);
    memset(w->t->data + w->t->len, 0, n);
    w->t->len += n;
    return w->t->data + w->t->len - n;
}

/* A new structure of TYPE whose formatted area is LEN bytes (zeroed); returns that area. */
static uint8_t *smbios_begin(struct smbios_writer *w, uint8_t type, uint8_t len, uint16_t handle)
{
    uint8_t *p;

    w->start = w->t->len;
    w->nstrings = 0;
    p = smbios_grow(w, len);
    p[0] = type;
    p[1] = len;
    stw_le(p + 2, handle);
    return p;
}

/* Append a string to the structure in hand and store its number at OFFSET (7.1.3). */
static void smbios_string(struct smbios_writer *w, size_t offset, const char *s)
{
    size_t n = strlen(s) + 1;

    memcpy(smbios_grow(w, n), s, n);
    w->t->data[w->start + offset] = ++w->nstrings;
}

/* Close the structure: one NUL after its strings, two when it has none (6.1.3). */
static void smbios_end(struct smbios_writer *w)
{
    smbios_grow(w, w->nstrings ? 1 : 2);
    w->count++;
    w->max_size = MAX(w->max_size, w->t->len - w->start);
}

/* The strings of a structure: the user's, else the defaults given (NULL: none). */
static void smbios_strings(struct smbios_writer *w, const struct smbios_field *f, size_t n,
                           char *const *user, const char *const *defaults)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = user[i] ? user[i] : defaults[i];

        if (s && *s)
            smbios_string(w, f[i].offset, s);
    }
}

/* 7.2 System Information */
static void smbios_type1(struct smbios_writer *w)
{
    static const char *const defaults[SMBIOS_FIELDS_MAX] = {
        SMBIOS_MANUFACTURER, SMBIOS_PRODUCT, SMBIOS_VERSION,
    };
    const uint8_t *u = smbios_user.uuid;
    uint8_t *p = smbios_begin(w, 1, 0x1b, 0x100);

    /* 7.2.1: the first three fields of the UUID little-endian (all zero: none given) */
    for (int i = 0; i < 4; i++)
        p[0x08 + i] = u[3 - i];
    p[0x0c] = u[5];
    p[0x0d] = u[4];
    p[0x0e] = u[7];
    p[0x0f] = u[6];
    memcpy(p + 0x10, u + 8, 8);
    p[0x18] = 0x06;                     /* woken by the power switch */
    smbios_strings(w, smbios_type1_fields, ARRAY_SIZE(smbios_type1_fields), smbios_user.type1,
                   defaults);
    smbios_end(w);
}

/* 7.4 System Enclosure or Chassis */
static void smbios_type3(struct smbios_writer *w)
{
    static const char *const defaults[SMBIOS_FIELDS_MAX] = { SMBIOS_MANUFACTURER, SMBIOS_VERSION };
    uint8_t *p = smbios_begin(w, 3, 0x16, 0x300);

    p[0x05] = 0x01;                     /* other */
    p[0x09] = p[0x0a] = p[0x0b] = 0x03; /* boot-up, power supply, thermal: safe */
    p[0x0c] = 0x02;                     /* security: unknown */
    smbios_strings(w, smbios_type3_fields, ARRAY_SIZE(smbios_type3_fields), smbios_user.type3,
                   defaults);
    smbios_end(w);
}

/* 7.5 Processor Information, one per socket */
static void smbios_type4(struct smbios_writer *w, const struct smbios_config *c, int socket)
{
    uint8_t *p = smbios_begin(w, 4, 0x2a, 0x400 + socket);
    int threads = c->topo->cores * c->topo->threads;
    char name[16];

    p[0x05] = 0x03;                     /* central processor */
    p[0x06] = 0x01;                     /* family: other */
    stl_le(p + 0x08, c->cpuid_signature);
    stl_le(p + 0x0c, c->cpuid_features);
    stw_le(p + 0x14, 2000);             /* max and current speed, MHz: QEMU's figure */
    stw_le(p + 0x16, 2000);
    p[0x18] = 0x41;                     /* socket populated, CPU enabled */
    p[0x19] = 0x01;                     /* upgrade: other */
    stw_le(p + 0x1a, 0xffff);           /* no cache structures */
    stw_le(p + 0x1c, 0xffff);
    stw_le(p + 0x1e, 0xffff);
    p[0x23] = p[0x24] = MIN(c->topo->cores, 255);
    p[0x25] = MIN(threads, 255);
    stw_le(p + 0x26, 0x02);             /* characteristics: unknown */
    stw_le(p + 0x28, 0x01);             /* family 2: other */
    snprintf(name, sizeof(name), "CPU %d", socket);
    smbios_string(w, 0x04, name);
    smbios_string(w, 0x07, SMBIOS_MANUFACTURER);
    smbios_string(w, 0x10, SMBIOS_VERSION);
    smbios_end(w);
}

/* 7.17 Physical Memory Array */
static void smbios_type16(struct smbios_writer *w, uint64_t ram, int ndimms)
{
    uint8_t *p = smbios_begin(w, 16, 0x17, 0x1000);
    uint64_t kib = ram / KiB;

    p[0x04] = 0x01;                     /* location: other */
    p[0x05] = 0x03;                     /* system memory */
    p[0x06] = 0x06;                     /* multi-bit ECC, as QEMU */
    if (kib < 0x80000000u) {
        stl_le(p + 0x07, kib);
    } else {
        stl_le(p + 0x07, 0x80000000u);  /* see the extended field, in bytes */
        stq_le(p + 0x0f, ram);
    }
    stw_le(p + 0x0b, 0xfffe);           /* no error information */
    stw_le(p + 0x0d, ndimms);
    smbios_end(w);
}

/* 7.18 Memory Device */
static void smbios_type17(struct smbios_writer *w, uint64_t size, int index)
{
    uint8_t *p = smbios_begin(w, 17, 0x28, 0x1100 + index);
    uint64_t mib = size / MiB;
    char name[16];

    stw_le(p + 0x04, 0x1000);
    stw_le(p + 0x06, 0xfffe);
    stw_le(p + 0x08, 0xffff);           /* total and data width unknown */
    stw_le(p + 0x0a, 0xffff);
    if (mib < 0x7fff) {
        stw_le(p + 0x0c, mib);
    } else {
        stw_le(p + 0x0c, 0x7fff);       /* see the extended size, in MiB */
        stl_le(p + 0x1c, mib);
    }
    p[0x0e] = 0x09;                     /* DIMM */
    p[0x12] = 0x07;                     /* RAM */
    stw_le(p + 0x13, 0x02);             /* type detail: other */
    snprintf(name, sizeof(name), "DIMM %d", index);
    smbios_string(w, 0x10, name);
    smbios_string(w, 0x17, SMBIOS_MANUFACTURER);
    smbios_end(w);
}

/* 7.20 Memory Array Mapped Address */
static void smbios_type19(struct smbios_writer *w, uint64_t start, uint64_t size, int index)
{
    uint8_t *p = smbios_begin(w, 19, 0x1f, 0x1300 + index);
    uint64_t end = start + size - 1;

    if (end / KiB < 0xffffffffu) {
        stl_le(p + 0x04, start / KiB);
        stl_le(p + 0x08, end / KiB);
    } else {
        stl_le(p + 0x04, 0xffffffffu);  /* see the extended fields, in bytes */
        stl_le(p + 0x08, 0xffffffffu);
        stq_le(p + 0x0f, start);
        stq_le(p + 0x17, end);
    }
    stw_le(p + 0x0c, 0x1000);
    p[0x0e] = 1;                        /* partition width */
    smbios_end(w);
}

/* the intermediate checksum covers 0x10-0x1e, the entry point's the first 16 bytes (5.2.1) */
static void smbios_anchor_sum(uint8_t *a)
{
    a[0x15] = 0;
    a[0x15] = checksum_zero(a + 0x10, SMBIOS_ANCHOR_LEN - 0x10);
    a[0x04] = 0;
    a[0x04] = checksum_zero(a, 0x10);
}

void smbios_build(struct smbios_tables *t, const struct smbios_config *c)
{
    struct smbios_writer w = { .t = t };
    uint64_t ram = c->ram_below_4g + c->ram_above_4g;
    int ndimms = MAX((ram + DIMM_MAX - 1) / DIMM_MAX, 1);
    uint8_t *a = t->anchor;

    t->data = NULL;
    t->len = 0;
    smbios_type1(&w);
    smbios_type3(&w);
    for (int i = 0; i < c->topo->sockets; i++)
        smbios_type4(&w, c, i);
    smbios_type16(&w, ram, ndimms);
    for (int i = 0; i < ndimms; i++)
        smbios_type17(&w, i < ndimms - 1 ? DIMM_MAX : ram - (uint64_t)i * DIMM_MAX, i);
    smbios_type19(&w, 0, c->ram_below_4g, 0);
    if (c->ram_above_4g)
        smbios_type19(&w, 4 * GiB, c->ram_above_4g, 1);
    /* 7.33 System Boot Information: no errors */
    smbios_begin(&w, 32, 0x0b, 0x2000);
    smbios_end(&w);
    /* 7.45 End-of-Table */
    smbios_begin(&w, 127, 4, 0x7f00);
    smbios_end(&w);

    /* 5.2.1: the 2.1 entry point, version 2.8 */
    memset(a, 0, SMBIOS_ANCHOR_LEN);
    memcpy(a, "_SM_", 4);
    a[0x05] = SMBIOS_ANCHOR_LEN;
    a[0x06] = 2;
    a[0x07] = 8;
    stw_le(a + 0x08, w.max_size);
    memcpy(a + 0x10, "_DMI_", 5);
    stw_le(a + 0x16, t->len);
    stw_le(a + 0x1c, w.count);
    a[0x1e] = 0x28;
    smbios_anchor_sum(a);
}

/* The values of one -smbios type's fields into SLOTS; the first unknown key is an error. */
static int smbios_option_fields(struct opts *o, const char *type, const struct smbios_field *f,
                                size_t n, char **slots, char **err)
{
    const char *bad;
    char *names = NULL;

    for (size_t i = 0; i < n; i++) {
        const char *v = opts_get(o, f[i].key);

        if (v) {
            free(slots[i]);
            slots[i] = xstrdup(v);
        }
    }
    if (!(bad = opts_first_unused(o)))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char *s = xasprintf("%s%s%s", names ? names : "", names ? ", " : "", f[i].key);

        free(names);
        names = s;
    }
    *err = xasprintf("-smbios type=%s: no field '%s' (skiff sets %s%s)", type, bad, names,
                     !strcmp(type, "1") ? ", uuid" : "");
    free(names);
    return -EINVAL;
}

int smbios_option(const char *spec, char **err)
{
    struct opts *o = opts_parse(spec, NULL, err);
    const char *type, *uuid;
    int r = -EINVAL;

    if (!o)
        return -EINVAL;
    type = opts_get(o, "type");
    if (type && !strcmp(type, "1")) {
        uuid = opts_get(o, "uuid");
        if (uuid && smbios_set_uuid(uuid, err) < 0) {
            char *e = *err;

            *err = xasprintf("-smbios type=1: %s", e);
            free(e);
            goto out;
        }
        r = smbios_option_fields(o, type, smbios_type1_fields, ARRAY_SIZE(smbios_type1_fields),
                                 smbios_user.type1, err);
    } else if (type && !strcmp(type, "3")) {
        r = smbios_option_fields(o, type, smbios_type3_fields, ARRAY_SIZE(smbios_type3_fields),
                                 smbios_user.type3, err);
    } else {
        *err = xasprintf("-smbios %s: skiff sets the system (type=1) and chassis (type=3) strings", spec);
    }
out:
    opts_free(o);
    return r;
}

int smbios_set_uuid(const char *s, char **err)
{
    /* RFC 4122 3: 8-4-4-4-12 hex digits */
    static const int dash[] = { 8, 13, 18, 23 };
    uint8_t u[16];
    int k = 0;

    if (strlen(s) != 36)
        goto bad;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash[d]) {
            if (s[i] != '-')
                goto bad;
            d++;
            continue;
        }
        if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]) ||
            (d < 4 && i + 1 == dash[d]))
            goto bad;
        u[k++] = (uint8_t)strtoul((char[]){ s[i], s[i + 1], 0 }, NULL, 16);
        i++;
    }
    memcpy(smbios_user.uuid, u, sizeof(u));
    return 0;
bad:
    *err = xasprintf("'%s' is not a UUID: give 32 hex digits as 8-4-4-4-12, e.g. "
                     "123e4567-e89b-12d3-a456-426614174000", s);
    return -EINVAL;
}

void smbios_get_uuid(uint8_t uuid[16])
{
    memcpy(uuid, smbios_user.uuid, 16);
}

void smbios_options_reset(void)
{
    for (int i = 0; i < SMBIOS_FIELDS_MAX; i++) {
        free(smbios_user.type1[i]);
        free(smbios_user.type3[i]);
    }
    memset(&smbios_user, 0, sizeof(smbios_user));
}

int smbios_place(struct smbios_tables *t, uint64_t addr)
{
    uint8_t *a = t->anchor;

    stl_le(a + 0x18, addr + 32);
    smbios_anchor_sum(a);
    if (gmem_write(addr, a, SMBIOS_ANCHOR_LEN) < 0 || gmem_write(addr + 32, t->data, t->len) < 0)
        return -EFAULT;
    return 0;
}

void smbios_tables_free(struct smbios_tables *t)
{
    free(t->data);
    t->data = NULL;
    t->len = 0;
}
