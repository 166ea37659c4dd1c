/* qcow2-create.c: new qcow2 images (the layout qemu-img makes: header, refcount table, refcount block, L1) and backing file changes */
#define LOG_PREFIX "qcow2: "
#include "block/qcow2.h"
#include "util/log.h"

#include <fcntl.h>
#include <unistd.h>

int qcow2_create(const char *filename, const struct qcow2_create_opts *o, char **err)
{
    uint64_t cs = o->cluster_size ? o->cluster_size : 64 * KiB;
    int version = o->version ? o->version : 3, rbits = o->refcount_bits ? o->refcount_bits : 16;
    int cbits = __builtin_ctzll(cs), order = __builtin_ctz(rbits), fd, ret;
    struct block_open_opts oo = { .format = "qcow2", .no_backing = true };
    struct block_state *bs = NULL;
    uint8_t *buf;

    if (cs & (cs - 1) || cbits < QCOW2_MIN_CLUSTER_BITS || cbits > QCOW2_MAX_CLUSTER_BITS) {
        *err = xasprintf("cluster size must be a power of two between 512 and 2M (not %" PRIu64 ")", cs);
        return -EINVAL;
    }
    if (rbits & (rbits - 1) || rbits > 64) {
        *err = xasprintf("refcount width must be a power of two between 1 and 64 (not %d)", rbits);
        return -EINVAL;
    }
    if (version == 2 && (rbits != 16 || o->lazy_refcounts)) {
        *err = xasprintf("%s needs compat=1.1 (qcow2 version 3)",
                         o->lazy_refcounts ? "lazy_refcounts" : "a refcount width other than 16");
        return -EINVAL;
    }
    if (!qcow2_size_fits(cs, o->size)) {
        *err = xasprintf("%" PRIu64 " bytes is too large for a qcow2 image with %" PRIu64 "-byte clusters", o->size, cs);
        return -EFBIG;
    }
    fd = open(filename, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        *err = xasprintf("'%s': cannot create: %s", filename, strerror(errno));
        return ret;
    }
    /* cluster 0 the header, 1 the refcount table, 2 its first refcount block */
    buf = xzalloc(3 * cs);
    stl_be(buf, QCOW2_MAGIC);
    stl_be(buf + 4, version);
    stl_be(buf + 20, cbits);
    stq_be(buf + 48, cs);
    stl_be(buf + 56, 1);
    if (version >= 3) {
        stq_be(buf + 80, o->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
        stl_be(buf + 96, order);
        stl_be(buf + 100, 112);
    }
    stq_be(buf + cs, 2 * cs);
    {
        struct qcow2 tmp = { .refcount_order = order };

        for (int i = 0; i < 3; i++)
            qcow2_refblock_set(&tmp, buf + 2 * cs, i, 1);
    }
    ret = pwrite_full(fd, buf, 3 * cs, 0);
    free(buf);
    close(fd);
    if (ret < 0) {
        *err = xasprintf("'%s': cannot write: %s", filename, strerror(-ret));
        return ret;
    }
    ret = bstate_open(&bs, filename, &oo, NULL, err);
    if (ret < 0)
        return ret;
    if (o->backing_file) {
        bs->backing_file = xstrdup(o->backing_file);
        bs->backing_format = o->backing_format ? xstrdup(o->backing_format) : NULL;
    }
    ret = block_driver_qcow2.truncate(bs, o->size);
    if (ret == 0)
        ret = qcow2_update_header(qcow2_of(bs));
    if (ret < 0)
        *err = xasprintf("'%s': cannot set up the image: %s", filename, strerror(-ret));
    bstate_close(bs);
    return ret;
}

int qcow2_change_backing(struct block_state *bs, const char *file, const char *fmt)
{
    struct qcow2 *s = qcow2_of(bs);

    if (!s)
        return -ENOTSUP;
    if (file && strlen(file) > QCOW2_MAX_BACKING_NAME)
        return -ENAMETOOLONG;
    free(bs->backing_file);
    free(bs->backing_format);
    bs->backing_file = file ? xstrdup(file) : NULL;
    bs->backing_format = file && fmt ? xstrdup(fmt) : NULL;
    return qcow2_update_header_synced(s);
}
