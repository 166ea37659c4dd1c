/* iov.c: scatter-gather lists: copies in and out, byte ranges */
#include "util/iov.h"

size_t iov_size(const struct iovec *iov, unsigned n)
{
    size_t total = 0;

    for (unsigned i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len, bool to_buf)
{
    uint8_t *p = buf;
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t k;

        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        k = MIN(iov[i].iov_len - off, len - done);
        if (to_buf)
            memcpy(p + done, (uint8_t *)iov[i].iov_base + off, k);
        else
            memcpy((uint8_t *)iov[i].iov_base + off, p + done, k);
        done += k;
        off = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
    return iov_copy(iov, n, off, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
    return iov_copy(iov, n, off, (void *)buf, len, false);
}

unsigned iov_slice(struct iovec *dst, unsigned max, const struct iovec *iov, unsigned n, size_t off, size_t len)
{
    unsigned out = 0;

    for (unsigned i = 0; i < n && len && out < max; i++) {
        size_t k;

        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        k = MIN(iov[i].iov_len - off, len);
        dst[out++] = (struct iovec){ .iov_base = (uint8_t *)iov[i].iov_base + off, .iov_len = k };
        len -= k;
        off = 0;
    }
    return out;
}
