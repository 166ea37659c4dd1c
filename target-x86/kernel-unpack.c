/* kernel-unpack.c: unpacking a bzImage's compressed vmlinux on the host (gzip, xz, lz4, zstd), with a cache */
#define LOG_PREFIX "kernel-unpack: "
#include "target-x86/boot.h"
#include "util/log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef CONFIG_LZMA
#include <lzma.h>
#endif
#ifdef CONFIG_LZ4
#include <lz4.h>
#endif
#ifdef CONFIG_ZSTD
#include <zstd.h>
#endif

/* A vmlinux is tens of MiB; refuse anything claiming more (a damaged or hostile image). */
#define UNPACK_MAX (512 * MiB)

static int unpack_gzip(const uint8_t *in, size_t len, uint8_t *out, size_t out_len, size_t *got)
{
    z_stream z = { 0 };
    int r;

    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return -ENOMEM;
    z.next_in = (uint8_t *)in;
    z.avail_in = len;
    z.next_out = out;
    z.avail_out = out_len;
    r = inflate(&z, Z_FINISH);
    *got = z.total_out;
    inflateEnd(&z);
    return r == Z_STREAM_END ? 0 : -EINVAL;
}

#ifdef CONFIG_LZMA
static int unpack_xz(const uint8_t *in, size_t len, uint8_t *out, size_t out_len, size_t *got)
{
    uint64_t memlimit = 256 * MiB;
    size_t in_pos = 0, out_pos = 0;
    lzma_ret r;

    /* the kernel's xz streams use the x86 BCJ filter and CRC32; liblzma handles both */
    r = lzma_stream_buffer_decode(&memlimit, LZMA_IGNORE_CHECK, NULL, in, &in_pos, len, out,
                                  &out_pos, out_len);
    *got = out_pos;
    return r == LZMA_OK ? 0 : -EINVAL;
}
#endif

#ifdef CONFIG_LZ4
/* The kernel uses lz4's legacy frame: magic, then blocks of [le32 size][data], each <= 8 MiB out. */
static int unpack_lz4(const uint8_t *in, size_t len, uint8_t *out, size_t out_len, size_t *got)
{
    size_t pos = 4, o = 0;

    if (len < 4 || ldl_le(in) != 0x184c2102)
        return -EINVAL;
    while (pos + 4 <= len) {
        uint32_t bsz = ldl_le(in + pos);
        int n;

        if (bsz == 0x184c2102) {    /* concatenated stream */
            pos += 4;
            continue;
        }
        pos += 4;
        if (bsz > len - pos)
            break;      /* the trailing size field of the kernel's payload */
        n = LZ4_decompress_safe((const char *)in + pos, (char *)out + o, bsz,
                                (int)MIN(out_len - o, (size_t)INT32_MAX));
        if (n < 0)
            return -EINVAL;
        o += n;
        pos += bsz;
    }
    *got = o;
    return o ? 0 : -EINVAL;
}
#endif

#ifdef CONFIG_ZSTD
static int unpack_zstd(const uint8_t *in, size_t len, uint8_t *out, size_t out_len, size_t *got)
{
    ZSTD_DStream *d = ZSTD_createDStream();
    ZSTD_inBuffer ib = { in, len, 0 };
    ZSTD_outBuffer ob = { out, out_len, 0 };
    size_t r;

    if (!d)
        return -ENOMEM;
    ZSTD_initDStream(d);
    do {
        r = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(r)) {
            ZSTD_freeDStream(d);
            return -EINVAL;
        }
    } while (r != 0 && ib.pos < ib.size && ob.pos < ob.size);
    ZSTD_freeDStream(d);
    *got = ob.pos;
    return r == 0 ? 0 : -EINVAL;
}
#endif

static const char *format_name(const uint8_t *p, size_t len)
{
    if (len >= 2 && p[0] == 0x1f && (p[1] == 0x8b || p[1] == 0x9e))
        return "gzip";
    if (len >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
        return "xz";
    if (len >= 4 && ldl_le(p) == 0x184c2102)
        return "lz4";
    if (len >= 4 && ldl_le(p) == 0xfd2fb528)
        return "zstd";
    if (len >= 3 && !memcmp(p, "BZh", 3))
        return "bzip2";
    if (len >= 3 && p[0] == 0x5d && p[1] == 0 && p[2] == 0)
        return "lzma";
    if (len >= 4 && !memcmp(p, "\x89LZO", 4))
        return "lzo";
    return "unknown";
}

static int decompress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len, char **err)
{
    const char *fmt = format_name(in, len);
    uint32_t claimed;
    size_t got = 0;
    uint8_t *buf;
    int r = -ENOTSUP;

    /* every kernel payload ends with the unpacked size (le32), appended by the kernel build */
    if (len < 8) {
        *err = xstrdup("payload too short");
        return -EINVAL;
    }
    claimed = ldl_le(in + len - 4);
    /* kernels compress a few times over, not a thousand: refuse sizes no kernel has */
    if (claimed < 4096 || claimed > UNPACK_MAX || claimed > 64 * (uint64_t)len + MiB) {
        *err = xasprintf("payload claims an unpacked size of %u bytes", claimed);
        return -EINVAL;
    }
    buf = xmalloc(claimed);
    if (!strcmp(fmt, "gzip"))
        r = unpack_gzip(in, len, buf, claimed, &got);
#ifdef CONFIG_LZMA
    else if (!strcmp(fmt, "xz"))
        r = unpack_xz(in, len - 4, buf, claimed, &got);
#endif
#ifdef CONFIG_LZ4
    else if (!strcmp(fmt, "lz4"))
        r = unpack_lz4(in, len, buf, claimed, &got);
#endif
#ifdef CONFIG_ZSTD
    else if (!strcmp(fmt, "zstd"))
        r = unpack_zstd(in, len - 4, buf, claimed, &got);
#endif
    if (r == -ENOTSUP)
        *err = xasprintf("%s payloads are not unpacked by this build", fmt);
    else if (r < 0 || got != claimed)
        *err = xasprintf("the %s payload did not unpack cleanly (%zu of %u bytes)", fmt, got, claimed);
    if (r < 0 || got != claimed) {
        free(buf);
        return r < 0 ? r : -EINVAL;
    }
    *out = buf;
    *out_len = got;
    return 0;
}

static int mkdir_p(const char *dir)
{
    char *p = xstrdup(dir);

    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
    free(p);
    return access(dir, W_OK) == 0 ? 0 : -errno;
}

/* Map a cached vmlinux: no copy through a heap buffer. */
static int cache_map(const char *path, struct unpacked_kernel *out)
{
    struct stat st;
    void *p;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || st.st_size < 64) {
        close(fd);
        return -EINVAL;
    }
    p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -errno;
    if (memcmp(p, "\x7f" "ELF", 4)) {
        munmap(p, st.st_size);
        return -EINVAL;
    }
    out->data = p;
    out->len = st.st_size;
    out->mapped = true;
    return 0;
}

void kernel_unpacked_free(struct unpacked_kernel *k)
{
    if (k->mapped)
        munmap(k->data, k->len);
    else
        free(k->data);
    memset(k, 0, sizeof(*k));
}

char *kernel_cache_key_lookup(const char *cache_dir, const char *kernel_id)
{
    char *path = xasprintf("%s/%s.key", cache_dir, kernel_id), buf[65] = { 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok;

    free(path);
    if (fd < 0)
        return NULL;
    ok = read(fd, buf, 64) == 64 && strspn(buf, "0123456789abcdef") == 64;
    close(fd);
    return ok ? xstrdup(buf) : NULL;
}

void kernel_cache_key_remember(const char *cache_dir, const char *kernel_id, const char *key)
{
    char *path = xasprintf("%s/%s.key", cache_dir, kernel_id);
    char *tmp = xasprintf("%s.%d.tmp", path, (int)getpid());
    int fd;

    if (access(path, F_OK) != 0 && mkdir_p(cache_dir) == 0) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0 && write_full(fd, key, 64) == 0 && close(fd) == 0)
            rename(tmp, path);
        else if (fd >= 0)
            close(fd);
        unlink(tmp);
    }
    free(tmp);
    free(path);
}

int kernel_unpack(const uint8_t *payload, size_t len, const char *cache_dir, const char *key,
                  struct unpacked_kernel *out, char **err)
{
    char *path = NULL, *tmp;
    uint8_t **elf = &out->data;
    size_t *elf_len = &out->len;
    int r, fd;

    *err = NULL;
    memset(out, 0, sizeof(*out));
    if (cache_dir) {
        path = xasprintf("%s/%s.vmlinux", cache_dir, key);
        if (cache_map(path, out) == 0) {
            log_debug("using the unpacked kernel cached at %s", path);
            free(path);
            return 0;
        }
    }
    r = decompress(payload, len, elf, elf_len, err);
    if (r < 0 || !cache_dir) {
        free(path);
        return r;
    }
    /* write the cache entry atomically; failing to cache is not an error */
    if (mkdir_p(cache_dir) == 0) {
        tmp = xasprintf("%s.%d.tmp", path, (int)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0 && write_full(fd, *elf, *elf_len) == 0 && close(fd) == 0)
            rename(tmp, path);
        else if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(tmp);
    }
    free(path);
    return 0;
}
