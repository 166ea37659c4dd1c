/* osdep.h: the includes and small macros every skiff source uses */
#ifndef UTIL_OSDEP_H
#define UTIL_OSDEP_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ALIGN_UP(n, a) (((n) + (a) - 1) & ~((__typeof__(n))(a) - 1))
#define ALIGN_DOWN(n, a) ((n) & ~((__typeof__(n))(a) - 1))
#define IS_ALIGNED(n, a) (((n) & ((a) - 1)) == 0)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define NORETURN __attribute__((noreturn))
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))
#define UNUSED __attribute__((unused))

/* Allocation that cannot fail: on exhaustion the process reports and aborts. */
void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_FMT(1, 2);
#define xnew(type) ((type *)xzalloc(sizeof(type)))

/* Host helpers */
int64_t clock_monotonic_ns(void);
int64_t clock_realtime_ns(void);
int read_full(int fd, void *buf, size_t len);        /* 0 or -errno; -EIO on early EOF */
int write_full(int fd, const void *buf, size_t len); /* 0 or -errno */
int pread_full(int fd, void *buf, size_t len, off_t off);
int pwrite_full(int fd, const void *buf, size_t len, off_t off);
int set_nonblock(int fd, bool on);
int set_cloexec(int fd);
/* Read a whole file into a new buffer; 0 or -errno. */
int file_read_all(const char *path, uint8_t **data, size_t *len);

/* Parse a size such as "512", "512M", "2G", "4k" (suffix default in units of def_unit). */
int parse_size(const char *s, uint64_t def_unit, uint64_t *out);
/* Parse an unsigned number in C syntax (0x.., decimal); 0 or -EINVAL/-ERANGE. */
int parse_uint(const char *s, uint64_t *out);

static inline uint16_t lduw_le(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ldl_le(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ldq_le(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void stw_le(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void stl_le(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void stq_le(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t lduw_be(const void *p) { return __builtin_bswap16(lduw_le(p)); }
static inline uint32_t ldl_be(const void *p) { return __builtin_bswap32(ldl_le(p)); }
static inline uint64_t ldq_be(const void *p) { return __builtin_bswap64(ldq_le(p)); }
static inline void stw_be(void *p, uint16_t v) { stw_le(p, __builtin_bswap16(v)); }
static inline void stl_be(void *p, uint32_t v) { stl_le(p, __builtin_bswap32(v)); }
static inline void stq_be(void *p, uint64_t v) { stq_le(p, __builtin_bswap64(v)); }

/* The byte that makes N bytes sum to zero: the checksum of ACPI, MP and SMBIOS tables. */
static inline uint8_t checksum_zero(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return -s;
}

#endif
