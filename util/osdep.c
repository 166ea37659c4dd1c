/* osdep.c: allocation that cannot fail, clocks, whole reads and writes, number parsing */
#include "util/osdep.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void NORETURN oom(size_t n)
{
    fprintf(stderr, "skiff: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        oom(n);
    return p;
}

void *xzalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);

    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p;

    if (size && nmemb > SIZE_MAX / size)
        oom(SIZE_MAX);
    p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

char *xstrdup(const char *s)
{
    return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (!p)
        oom(n);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom(0);
    return s;
}

int64_t clock_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t clock_realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t r = read(fd, p, len);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        len -= r;
    }
    return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t r = write(fd, p, len);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        len -= r;
    }
    return 0;
}

int pread_full(int fd, void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t r = pread(fd, p, len, off);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        off += r;
        len -= r;
    }
    return 0;
}

int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t r = pwrite(fd, p, len, off);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        off += r;
        len -= r;
    }
    return 0;
}

int set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0)
        return -errno;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);

    if (fl < 0)
        return -errno;
    return fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ? -errno : 0;
}

int file_read_all(const char *path, uint8_t **data, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        goto out_close;
    }
    buf = xmalloc(st.st_size);
    r = read_full(fd, buf, st.st_size);
    if (r < 0) {
        free(buf);
        goto out_close;
    }
    *data = buf;
    *len = st.st_size;
out_close:
    close(fd);
    return r;
}

int parse_uint(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno)
        return -errno;
    if (*end)
        return -EINVAL;
    *out = v;
    return 0;
}

int parse_size(const char *s, uint64_t def_unit, uint64_t *out)
{
    char *end;
    double d;
    uint64_t unit = def_unit, v;

    if (!s || !*s || *s == '-')
        return -EINVAL;
    errno = 0;
    /* integers exactly; fractions like "1.5G" as QEMU allows */
    v = strtoull(s, &end, 10);
    if (*end == '.') {
        d = strtod(s, &end);
        v = 0;
    } else {
        d = -1;
    }
    if (errno || end == s)
        return -EINVAL;
    switch (*end) {
    case '\0': break;
    case 'b': case 'B': unit = 1; end++; break;
    case 'k': case 'K': unit = KiB; end++; break;
    case 'm': case 'M': unit = MiB; end++; break;
    case 'g': case 'G': unit = GiB; end++; break;
    case 't': case 'T': unit = 1024 * GiB; end++; break;
    case 'p': case 'P': unit = 1024 * 1024 * GiB; end++; break;
    case 'e': case 'E': unit = 1024ULL * 1024 * 1024 * GiB; end++; break;
    default: return -EINVAL;
    }
    if (*end == 'i' && end[-1] != 'b' && end[-1] != 'B')
        end++;              /* accept "MiB" */
    if ((*end == 'b' || *end == 'B') && end[1] == '\0')
        end++;
    if (*end)
        return -EINVAL;
    if (d >= 0) {
        if (d * (double)unit >= 18446744073709551615.0)
            return -ERANGE;
        *out = (uint64_t)(d * (double)unit);
        return 0;
    }
    if (unit && v > UINT64_MAX / unit)
        return -ERANGE;
    *out = v * unit;
    return 0;
}
