/* iov.c: growable I/O vectors, slicing, and copies between vectors and flat buffers */
#include "block/block-int.h"

void qiov_init(struct qiov *q, int hint)
{
    q->alloc = hint > 0 ? hint : 4;
    q->iov = xcalloc(q->alloc, sizeof(*q->iov));
    q->niov = 0;
    q->size = 0;
}

void qiov_destroy(struct qiov *q)
{
    free(q->iov);
    q->iov = NULL;
    q->niov = q->alloc = 0;
    q->size = 0;
}

void qiov_reset(struct qiov *q)
{
    q->niov = 0;
    q->size = 0;
}

void qiov_add(struct qiov *q, void *base, size_t len)
{
    if (!len)
        return;
    if (q->niov && (char *)q->iov[q->niov - 1].iov_base + q->iov[q->niov - 1].iov_len == (char *)base) {
        q->iov[q->niov - 1].iov_len += len;
    } else {
        if (q->niov == q->alloc) {
            q->alloc = q->alloc ? q->alloc * 2 : 4;
            q->iov = xrealloc(q->iov, q->alloc * sizeof(*q->iov));
        }
        q->iov[q->niov++] = (struct iovec){ base, len };
    }
    q->size += len;
}

void qiov_concat(struct qiov *dst, const struct qiov *src, size_t off, size_t len)
{
    for (int i = 0; i < src->niov && len; i++) {
        size_t l = src->iov[i].iov_len;

        if (off >= l) {
            off -= l;
            continue;
        }
        l = MIN(l - off, len);
        qiov_add(dst, (char *)src->iov[i].iov_base + off, l);
        len -= l;
        off = 0;
    }
}

/* Copy between the vector (from byte off) and buf, or fill the vector with c when buf is NULL. */
static size_t qiov_copy(const struct qiov *q, size_t off, void *buf, size_t len, bool to_buf, int c)
{
    size_t done = 0;

    for (int i = 0; i < q->niov && done < len; i++) {
        size_t l = q->iov[i].iov_len;
        char *p = (char *)q->iov[i].iov_base + off;

        if (off >= l) {
            off -= l;
            continue;
        }
        l = MIN(l - off, len - done);
        if (!buf)
            memset(p, c, l);
        else if (to_buf)
            memcpy((char *)buf + done, p, l);
        else
            memcpy(p, (char *)buf + done, l);
        done += l;
        off = 0;
    }
    return done;
}

size_t qiov_to_buf(const struct qiov *q, size_t off, void *buf, size_t len)
{
    return qiov_copy(q, off, buf, len, true, 0);
}

size_t qiov_from_buf(const struct qiov *q, size_t off, const void *buf, size_t len)
{
    return qiov_copy(q, off, (void *)buf, len, false, 0);
}

void qiov_memset(const struct qiov *q, size_t off, int c, size_t len)
{
    qiov_copy(q, off, NULL, len, false, c);
}

bool qiov_is_aligned(const struct qiov *q, size_t align)
{
    for (int i = 0; i < q->niov; i++)
        if (((uintptr_t)q->iov[i].iov_base | q->iov[i].iov_len) & (align - 1))
            return false;
    return true;
}

bool buf_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t head = MIN(len, (size_t)16);

    /* check a few bytes first, then compare the buffer with itself shifted */
    for (size_t i = 0; i < head; i++)
        if (p[i])
            return false;
    return len <= 16 || memcmp(p, p + 16, len - 16) == 0;
}
