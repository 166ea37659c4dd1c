/* qcow2.c: the qcow2 format: probing, opening (header, extensions, feature bits), header updates, flush, resize, close */
#define LOG_PREFIX "qcow2: "
#include "block/qcow2.h"
#include "util/log.h"

#include <stdarg.h>

/* "Feature name table" (header extension 0x6803f857): what QEMU 7.2 writes */
static const struct { uint8_t type, bit; const char *name; } qcow2_features[] = {
    { 0, 0, "dirty bit" },
    { 0, 1, "corrupt bit" },
    { 0, 2, "external data file" },
    { 0, 3, "compression type" },
    { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" },
    { 2, 0, "bitmaps" },
    { 2, 1, "raw external data" },
};

struct qcow2 *qcow2_of(struct block_state *bs)
{
    return bs && bs->drv == &block_driver_qcow2 ? bs->opaque : NULL;
}

static int qcow2_probe(const uint8_t *buf, size_t len)
{
    if (len >= 8 && ldl_be(buf) == QCOW2_MAGIC && ldl_be(buf + 4) >= 2)  /* as QEMU: a newer version gets refused by name */
        return 100;
    return 0;
}

int qcow2_mark_corrupt(struct qcow2 *s, const char *fmt, ...)
{
    char *msg;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (r < 0)
        msg = NULL;
    if (!s->corrupt && !s->corrupt_logged) {
        s->corrupt_logged = true;
        log_error("'%s': image is corrupt: %s%s", s->bs->filename, msg ? msg : "?",
                  s->bs->read_only || s->check_mode ? "" : "; further writes are refused (repair with 'skiff-img check -r all')");
        if (!s->bs->read_only && !s->check_mode) {
            s->incompat |= QCOW2_INCOMPAT_CORRUPT;
            if (qcow2_update_header(s) == 0)
                bfile_flush(s->bs->file);
        }
    }
    if (!s->check_mode)
        s->corrupt = true;
    free(msg);
    return -EIO;
}

/* Rewrite the header cluster: fields, extensions, backing file name ("Header", "Header extensions"). */
int qcow2_update_header(struct qcow2 *s)
{
    struct block_state *bs = s->bs;
    uint64_t cs = s->cluster_size;
    uint8_t *h = bfile_memalign(cs);
    size_t p, hl = s->version >= 3 ? s->header_length : QCOW2_V2_HEADER_LEN;
    int ret;

    memset(h, 0, cs);
    stl_be(h, QCOW2_MAGIC);
    stl_be(h + 4, s->version);
    stl_be(h + 20, s->cluster_bits);
    stq_be(h + 24, bs->size);
    stl_be(h + 36, s->l1_size);
    stq_be(h + 40, s->l1_offset);
    stq_be(h + 48, s->reftable_offset);
    stl_be(h + 56, s->reftable_clusters);
    stl_be(h + 60, s->nb_snapshots);
    stq_be(h + 64, s->snapshots_offset);
    if (s->version >= 3) {
        stq_be(h + 72, s->incompat);
        stq_be(h + 80, s->compat);
        stq_be(h + 88, s->autoclear);
        stl_be(h + 96, s->refcount_order);
        stl_be(h + 100, hl);
        if (hl > 104)
            h[104] = s->compression_type;
    }
    p = hl;
    if (bs->backing_format) {
        size_t l = strlen(bs->backing_format);

        if (p + 16 + ALIGN_UP(l, 8) > cs) {
            free(h);
            log_error("'%s': the backing format name does not fit in the header cluster", bs->filename);
            return -ENOSPC;
        }
        stl_be(h + p, QCOW2_EXT_BACKING_FMT);
        stl_be(h + p + 4, l);
        memcpy(h + p + 8, bs->backing_format, l);
        p += 8 + ALIGN_UP(l, 8);
    }
    /* the feature name table is optional: small clusters leave it out when it does not fit, as QEMU does */
    if (s->version >= 3 && p + 8 + ARRAY_SIZE(qcow2_features) * 48 + 8 +
                           (bs->backing_file ? strlen(bs->backing_file) : 0) <= cs) {
        stl_be(h + p, QCOW2_EXT_FEATURES);
        stl_be(h + p + 4, ARRAY_SIZE(qcow2_features) * 48);
        p += 8;
        for (size_t i = 0; i < ARRAY_SIZE(qcow2_features); i++, p += 48) {
            h[p] = qcow2_features[i].type;
            h[p + 1] = qcow2_features[i].bit;
            strncpy((char *)h + p + 2, qcow2_features[i].name, 46);
        }
    }
    if (s->unknown_ext_len && p + s->unknown_ext_len + 8 + (bs->backing_file ? strlen(bs->backing_file) : 0) <= cs) {
        memcpy(h + p, s->unknown_ext, s->unknown_ext_len);
        p += s->unknown_ext_len;
    }
    p += 8;     /* end of extensions: type 0, length 0 */
    if (bs->backing_file) {
        size_t l = strlen(bs->backing_file);

        if (p + l > cs) {
            free(h);
            log_error("'%s': the backing file name does not fit in the header cluster", bs->filename);
            return -ENOSPC;
        }
        stq_be(h + 8, p);
        stl_be(h + 16, l);
        memcpy(h + p, bs->backing_file, l);
        p += l;
    }
    ret = bfile_pwrite(bs->file, 0, h, MIN(cs, ALIGN_UP(p, 512)));
    free(h);
    return ret;
}

int qcow2_update_header_synced(struct qcow2 *s)
{
    int ret;

    pthread_mutex_lock(&s->lock);
    ret = qcow2_flush_metadata(s);
    if (ret == 0)
        ret = qcow2_update_header(s);
    pthread_mutex_unlock(&s->lock);
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    return ret;
}

int qcow2_write_l1(struct qcow2 *s)
{
    size_t bytes = ALIGN_UP((uint64_t)s->l1_size * 8, 512);
    uint8_t *buf;
    int ret;

    if (!s->l1_size) {
        s->l1_dirty = false;
        return 0;
    }
    buf = bfile_memalign(bytes);
    memset(buf, 0, bytes);
    for (uint32_t i = 0; i < s->l1_size; i++)
        stq_be(buf + 8 * i, s->l1[i]);
    ret = bfile_pwrite(s->bs->file, s->l1_offset, buf, (uint64_t)s->l1_size * 8);
    free(buf);
    if (ret == 0)
        s->l1_dirty = false;
    return ret;
}

/* The dirty bit (incompatible bit 0) says refcounts may be stale: lazy refcounts set it while writing. */
int qcow2_set_dirty(struct qcow2 *s, bool dirty)
{
    int ret;

    if (s->version < 3)
        return 0;
    if (dirty) {
        ret = bfile_flush(s->bs->file);
        if (ret < 0)
            return ret;
        s->incompat |= QCOW2_INCOMPAT_DIRTY;
    } else {
        s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
    }
    ret = qcow2_update_header(s);
    if (ret == 0)
        ret = bfile_flush(s->bs->file);
    if (ret == 0)
        s->dirty_on_disk = dirty;
    return ret;
}

static const char *feature_name(struct qcow2 *s, const uint8_t *table, size_t tlen, int type, int bit,
                                char *buf, size_t blen)
{
    for (size_t i = 0; i + 48 <= tlen; i += 48) {
        if (table[i] == type && table[i + 1] == bit) {
            snprintf(buf, blen, "%.46s", (const char *)table + i + 2);
            return buf;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(qcow2_features); i++)
        if (qcow2_features[i].type == type && qcow2_features[i].bit == bit)
            return qcow2_features[i].name;
    snprintf(buf, blen, "unnamed");
    return buf;
}

static int fail(char **err, int ret, const char *fmt, ...) PRINTF_FMT(3, 4);
static int fail(char **err, int ret, const char *fmt, ...)
{
    va_list ap;

    if (err && !*err) {
        va_start(ap, fmt);
        if (vasprintf(err, fmt, ap) < 0)
            *err = NULL;
        va_end(ap);
    }
    return ret;
}

/* A table's place in the file: aligned, inside the file, no overflow. */
static int check_table(struct qcow2 *s, uint64_t off, uint64_t bytes, const char *what, uint64_t flen, char **err)
{
    if (!IS_ALIGNED(off, s->cluster_size))
        return fail(err, -EINVAL, "'%s': the %s offset 0x%" PRIx64 " is not cluster aligned: the image is damaged",
                    s->bs->filename, what, off);
    if (bytes && (off + bytes < off || off + bytes > flen))
        return fail(err, -EINVAL, "'%s': the %s (0x%" PRIx64 "+0x%" PRIx64 ") lies past the end of the file "
                    "(%" PRIu64 " bytes): the image is truncated or damaged", s->bs->filename, what, off, bytes, flen);
    return 0;
}

static int read_table(struct qcow2 *s, uint64_t off, uint64_t n, uint64_t **out)
{
    uint8_t *buf;
    int ret;

    *out = xcalloc(n ? n : 1, 8);
    if (!n)
        return 0;
    buf = xmalloc(n * 8);
    ret = bfile_pread(s->bs->file, off, buf, n * 8);
    for (uint64_t i = 0; i < n && ret == 0; i++)
        (*out)[i] = ldq_be(buf + 8 * i);
    free(buf);
    return ret;
}

static int read_extensions(struct qcow2 *s, const uint8_t *h, size_t hlen, size_t start, size_t end, char **err)
{
    struct block_state *bs = s->bs;
    size_t p = start;

    while (p + 8 <= end) {
        uint32_t type = ldl_be(h + p), len = ldl_be(h + p + 4);
        size_t next;

        if (type == QCOW2_EXT_END)
            return 0;
        next = p + 8 + ALIGN_UP((uint64_t)len, 8);
        if ((uint64_t)p + 8 + len > end)
            return fail(err, -EINVAL, "'%s': header extension 0x%08x overruns the header cluster: the image is damaged",
                        bs->filename, type);
        switch (type) {
        case QCOW2_EXT_BACKING_FMT:
            free(bs->backing_format);
            bs->backing_format = xstrndup((const char *)h + p + 8, len);
            break;
        case QCOW2_EXT_FEATURES:
            s->has_feature_table = true;
            break;
        case QCOW2_EXT_CRYPTO:
            return fail(err, -ENOTSUP, "'%s': encrypted qcow2 images are not supported", bs->filename);
        case QCOW2_EXT_DATA_FILE:
            break;  /* refused with its feature bit */
        case QCOW2_EXT_BITMAPS:
            /* dropped: bitmaps are autoclear, so QEMU sees them invalidated once we write */
            break;
        default:
            s->unknown_ext = xrealloc(s->unknown_ext, s->unknown_ext_len + (next - p));
            memcpy(s->unknown_ext + s->unknown_ext_len, h + p, MIN(next, end) - p);
            memset(s->unknown_ext + s->unknown_ext_len + (MIN(next, end) - p), 0, next - MIN(next, end));
            s->unknown_ext_len += next - p;
            break;
        }
        p = next;
    }
    return 0;
}

static int feature_table(const uint8_t *h, size_t start, size_t end, const uint8_t **t, size_t *tlen)
{
    for (size_t p = start; p + 8 <= end;) {
        uint32_t type = ldl_be(h + p), len = ldl_be(h + p + 4);

        if (type == QCOW2_EXT_END || p + 8 + (uint64_t)len > end)
            break;
        if (type == QCOW2_EXT_FEATURES) {
            *t = h + p + 8;
            *tlen = len;
            return 0;
        }
        p += 8 + ALIGN_UP((uint64_t)len, 8);
    }
    *t = NULL;
    *tlen = 0;
    return 0;
}

static int qcow2_open(struct block_state *bs, const struct block_open_opts *o, char **err)
{
    struct qcow2 *s = xnew(struct qcow2);
    int64_t flen = bfile_length(bs->file);
    uint8_t *h = NULL;
    uint64_t boff, rt_bytes, l2_cache_n;
    uint32_t blen;
    size_t ext_end;
    int ret;

    s->bs = bs;
    bs->opaque = s;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->inflight_done, NULL);
    s->check_mode = o->check;
    if (flen < 0) {
        ret = fail(err, (int)flen, "'%s': cannot get its size: %s", bs->filename, strerror((int)-flen));
        goto out;
    }
    s->file_end = flen;
    if (flen < QCOW2_V2_HEADER_LEN) {
        ret = fail(err, -EINVAL, "'%s': too short for a qcow2 header (%" PRId64 " bytes)", bs->filename, flen);
        goto out;
    }
    h = xzalloc(4096);
    ret = bfile_pread(bs->file, 0, h, MIN(4096, flen));
    if (ret < 0) {
        fail(err, ret, "'%s': cannot read the header: %s", bs->filename, strerror(-ret));
        goto out;
    }
    if (ldl_be(h) != QCOW2_MAGIC) {
        ret = fail(err, -EINVAL, "'%s': not a qcow2 image (bad magic)", bs->filename);
        goto out;
    }
    s->version = ldl_be(h + 4);
    if (s->version != 2 && s->version != 3) {
        ret = fail(err, -ENOTSUP, "'%s': qcow2 version %u is not supported (skiff reads versions 2 and 3)",
                   bs->filename, s->version);
        goto out;
    }
    s->cluster_bits = ldl_be(h + 20);
    if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        ret = fail(err, -EINVAL, "'%s': cluster size 2^%d is out of range (512 B to 2 MiB): the image is damaged",
                   bs->filename, s->cluster_bits);
        goto out;
    }
    s->cluster_size = 1ULL << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ULL << (s->cluster_bits - 8)) - 1;
    s->coffset_mask = (1ULL << s->csize_shift) - 1;
    /* the whole header cluster, for the extensions */
    h = xrealloc(h, s->cluster_size);
    memset(h, 0, s->cluster_size);
    ret = bfile_pread(bs->file, 0, h, MIN((int64_t)s->cluster_size, flen));
    if (ret < 0)
        goto out;
    bs->size = ldq_be(h + 24);
    if (ldl_be(h + 32)) {
        ret = fail(err, -ENOTSUP, "'%s': encrypted qcow2 images are not supported", bs->filename);
        goto out;
    }
    s->l1_size = ldl_be(h + 36);
    s->l1_offset = ldq_be(h + 40);
    s->reftable_offset = ldq_be(h + 48);
    s->reftable_clusters = ldl_be(h + 56);
    s->nb_snapshots = ldl_be(h + 60);
    s->snapshots_offset = ldq_be(h + 64);
    s->refcount_order = 4;
    s->header_length = QCOW2_V2_HEADER_LEN;
    if (s->version >= 3) {
        const uint8_t *ft;
        size_t ftlen;
        char nb[64];

        s->incompat = ldq_be(h + 72);
        s->compat = ldq_be(h + 80);
        s->autoclear = ldq_be(h + 88);
        s->refcount_order = ldl_be(h + 96);
        s->header_length = ldl_be(h + 100);
        if (s->header_length < QCOW2_V3_HEADER_LEN || s->header_length > s->cluster_size ||
            s->header_length % 8) {
            ret = fail(err, -EINVAL, "'%s': header length %u is invalid: the image is damaged", bs->filename,
                       s->header_length);
            goto out;
        }
        if (s->header_length > 104)
            s->compression_type = h[104];
        feature_table(h, s->header_length, s->cluster_size, &ft, &ftlen);
        for (int bit = 0; bit < 64; bit++) {
            uint64_t m = 1ULL << bit;

            if (!(s->incompat & m) || (m & QCOW2_INCOMPAT_KNOWN))
                continue;
            if (m == QCOW2_INCOMPAT_COMPRESSION)
                continue;   /* the compression type itself is checked below */
            ret = fail(err, -ENOTSUP, "'%s': unknown incompatible feature '%s' (bit %d): this image needs a newer skiff",
                       bs->filename, feature_name(s, ft, ftlen, 0, bit, nb, sizeof(nb)), bit);
            goto out;
        }
        if (s->compression_type != 0) {
            ret = fail(err, -ENOTSUP, "'%s': compression type %u%s is not supported (skiff knows zlib)",
                       bs->filename, s->compression_type, s->compression_type == 1 ? " (zstd)" : "");
            goto out;
        }
    }
    if ((uint32_t)s->refcount_order > 6) {
        ret = fail(err, -EINVAL, "'%s': refcount order %d is out of range (0..6): the image is damaged", bs->filename,
                   s->refcount_order);
        goto out;
    }
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ULL << s->refcount_bits) - 1;
    s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
    s->lazy = (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) && !o->read_only;
    if (!qcow2_size_fits(s->cluster_size, bs->size)) {
        ret = fail(err, -EFBIG, "'%s': virtual size %" PRIu64 " is too large: the image is damaged", bs->filename,
                   bs->size);
        goto out;
    }
    if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
        s->l1_size < DIV_ROUND_UP(bs->size, s->cluster_size << s->l2_bits)) {
        ret = fail(err, -EINVAL, "'%s': L1 table size %u does not fit the virtual size: the image is damaged",
                   bs->filename, s->l1_size);
        goto out;
    }
    rt_bytes = (uint64_t)s->reftable_clusters << s->cluster_bits;
    if (rt_bytes > QCOW2_MAX_REFTABLE_BYTES || !s->reftable_clusters) {
        ret = fail(err, -EINVAL, "'%s': refcount table of %u clusters is invalid: the image is damaged", bs->filename,
                   s->reftable_clusters);
        goto out;
    }
    /* check looks at tables past the end of the file as zeros, to report them as QEMU does */
    ret = check_table(s, s->l1_offset, (uint64_t)s->l1_size * 8, "L1 table", o->check ? UINT64_MAX : (uint64_t)flen, err);
    if (ret == 0)
        ret = check_table(s, s->reftable_offset, rt_bytes, "refcount table", o->check ? UINT64_MAX : (uint64_t)flen, err);
    if (ret < 0)
        goto out;
    ext_end = s->cluster_size;
    boff = ldq_be(h + 8);
    blen = ldl_be(h + 16);
    if (boff) {
        if (blen > QCOW2_MAX_BACKING_NAME || boff >= s->cluster_size || boff + blen > s->cluster_size ||
            boff + blen > (uint64_t)flen) {
            ret = fail(err, -EINVAL, "'%s': the backing file name (offset %" PRIu64 ", %u bytes) is out of range: "
                       "the image is damaged", bs->filename, boff, blen);
            goto out;
        }
        bs->backing_file = xstrndup((const char *)h + boff, blen);
        ext_end = boff;
    }
    ret = read_extensions(s, h, s->cluster_size, s->header_length, ext_end, err);
    if (ret < 0)
        goto out;
    if (s->incompat & QCOW2_INCOMPAT_CORRUPT) {
        if (!o->read_only && !o->check) {
            ret = fail(err, -EACCES, "'%s': the image is marked corrupt: open it read-only, or repair it with "
                       "'skiff-img check -r all'", bs->filename);
            goto out;
        }
    }
    s->dirty_on_disk = s->incompat & QCOW2_INCOMPAT_DIRTY;

    ret = read_table(s, s->l1_offset, s->l1_size, &s->l1);
    if (ret == 0)
        ret = read_table(s, s->reftable_offset, rt_bytes / 8, &s->reftable);
    if (ret < 0) {
        fail(err, ret, "'%s': cannot read the tables: %s", bs->filename, strerror(-ret));
        goto out;
    }
    s->reftable_size = rt_bytes / 8;
    for (s->reftable_used = s->reftable_size; s->reftable_used && !s->reftable[s->reftable_used - 1];)
        s->reftable_used--;
    ret = qcow2_read_snapshots(s, err);
    if (ret < 0)
        goto out;

    /* caches: L2 tables for the whole disk up to 32 MiB, refcount blocks a quarter of that */
    l2_cache_n = DIV_ROUND_UP(bs->size, s->cluster_size << s->l2_bits) + 4;
    l2_cache_n = MIN(l2_cache_n, MAX(32 * MiB / s->cluster_size, 16));
    l2_cache_n = MAX(l2_cache_n, 16);
    qcow2_cache_init(&s->l2c, "L2 table", l2_cache_n, s->cluster_size);
    qcow2_cache_init(&s->rbc, "refcount block", MAX(l2_cache_n / 4, 16), s->cluster_size);

    if (!o->read_only && !o->check) {
        bool hdr = false;

        if (s->dirty_on_disk) {
            struct qcow2_check_result res;

            log_warn("'%s': the image was not closed cleanly (dirty bit): rebuilding its refcounts", bs->filename);
            ret = qcow2_check(bs, QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS, &res, NULL);
            if (ret == 0 && res.corruptions - res.corruptions_fixed) {
                ret = fail(err, -EIO, "'%s': repairing the refcounts after an unclean shutdown failed: run "
                           "'skiff-img check -r all'", bs->filename);
            }
            if (ret < 0)
                goto out;
            s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
            s->dirty_on_disk = false;
            hdr = true;
        }
        /* autoclear features we do not maintain are cleared, so others know they are stale */
        if (s->autoclear) {
            s->autoclear = 0;
            hdr = true;
        }
        if (hdr) {
            ret = qcow2_update_header(s);
            if (ret == 0)
                ret = bfile_flush(bs->file);
            if (ret < 0) {
                fail(err, ret, "'%s': cannot update the header: %s", bs->filename, strerror(-ret));
                goto out;
            }
        }
    }
    if (bs->backing_file && !o->no_backing) {
        struct block_open_opts bo = *o;
        char *path = bstate_backing_path(bs->filename, bs->backing_file), *berr = NULL;

        bo.read_only = true;
        bo.check = false;
        bo.format = bs->backing_format;
        if (bo.format && !block_driver_find(bo.format)) {
            ret = fail(err, -ENOTSUP, "'%s': backing file '%s' has format '%s', which skiff does not know",
                       bs->filename, path, bo.format);
        } else {
            ret = bstate_open(&bs->backing, path, &bo, bs, &berr);
            if (ret == -ELOOP && berr) {
                *err = berr;        /* already names the whole loop */
                berr = NULL;
            } else if (ret < 0)
                fail(err, ret, "'%s': cannot open backing file '%s': %s", bs->filename, bs->backing_file,
                     berr ? berr : strerror(-ret));
        }
        free(berr);
        free(path);
        if (ret < 0)
            goto out;
    }
    ret = 0;
out:
    free(h);
    if (ret < 0) {
        if (err && !*err)
            *err = xasprintf("'%s': cannot open: %s", bs->filename, strerror(-ret));
        block_driver_qcow2.close(bs);
    }
    return ret;
}

static int qcow2_flush(struct block_state *bs)
{
    struct qcow2 *s = bs->opaque;
    int ret;

    if (bs->read_only)
        return 0;
    pthread_mutex_lock(&s->lock);
    ret = qcow2_flush_metadata(s);
    pthread_mutex_unlock(&s->lock);
    if (ret == 0)
        ret = bfile_flush(bs->file);
    return ret;
}

static void qcow2_close(struct block_state *bs)
{
    struct qcow2 *s = bs->opaque;

    if (!s)
        return;
    if (!bs->read_only && s->l2c.e && !s->corrupt) {
        int ret = qcow2_flush(bs);

        if (ret == 0 && s->dirty_on_disk && s->lazy)
            ret = qcow2_set_dirty(s, false);
        if (ret < 0)
            log_error("'%s': flushing metadata on close failed: %s", bs->filename, strerror(-ret));
    }
    qcow2_cache_destroy(&s->l2c);
    qcow2_cache_destroy(&s->rbc);
    qcow2_free_snapshots(s);
    free(s->l1);
    free(s->reftable);
    free(s->pending_free);
    free(s->unknown_ext);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->inflight_done);
    free(s);
    bs->opaque = NULL;
}

static int qcow2_truncate(struct block_state *bs, uint64_t size)
{
    struct qcow2 *s = bs->opaque;
    uint64_t l1_need;
    int ret;

    if (size < bs->size)
        return -ENOTSUP;
    if (s->corrupt)
        return -EIO;
    if (!qcow2_size_fits(s->cluster_size, size))
        return -EFBIG;
    l1_need = DIV_ROUND_UP(size, s->cluster_size << s->l2_bits);
    pthread_mutex_lock(&s->lock);
    ret = qcow2_grow_l1(s, l1_need);
    if (ret == 0)
        bs->size = size;
    pthread_mutex_unlock(&s->lock);
    return ret ? ret : qcow2_update_header_synced(s);
}

const struct block_driver block_driver_qcow2 = {
    .name = "qcow2",
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .preadv = qcow2_drv_preadv,
    .pwritev = qcow2_drv_pwritev,
    .flush = qcow2_flush,
    .discard = qcow2_drv_discard,
    .write_zeroes = qcow2_drv_write_zeroes,
    .truncate = qcow2_truncate,
    .map_direct = qcow2_drv_map_direct,
    .block_status = qcow2_drv_block_status,
};
