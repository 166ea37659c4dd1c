/* iov.h: scatter-gather lists (struct iovec arrays): copying into and out of them, and taking a byte range of one as another */
#ifndef UTIL_IOV_H
#define UTIL_IOV_H

#include "util/osdep.h"

#include <sys/uio.h>

size_t iov_size(const struct iovec *iov, unsigned n);
/* Copy up to len bytes from offset off of the list into buf (or from buf into the list); the count copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);
/* Fill dst (room for max entries) with the pieces of [off, off+len) of the list: the entry count. */
unsigned iov_slice(struct iovec *dst, unsigned max, const struct iovec *iov, unsigned n, size_t off, size_t len);

#endif
