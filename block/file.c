/* file.c: the file protocol: positioned vectored I/O on a regular file or host block device, O_DIRECT bounce buffers, holes */
#define LOG_PREFIX "file: "
#include "block/block-int.h"
#include "util/log.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BFILE_MAX_ALIGN 4096

void *bfile_memalign(size_t len)
{
    void *p;

    if (posix_memalign(&p, BFILE_MAX_ALIGN, len ? ALIGN_UP(len, BFILE_MAX_ALIGN) : BFILE_MAX_ALIGN))
        return xmalloc(SIZE_MAX); /* reports and aborts */
    return p;
}

int bfile_open(struct bfile **out, const char *name, bool rw, enum block_cache cache, char **err)
{
    int flags = (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    struct bfile *f;
    struct stat st;
    int fd, e;

    if (cache == BLOCK_CACHE_NONE)
        flags |= O_DIRECT;
    /*
     * O_NONBLOCK until the type is known: opening a FIFO for reading would wait for a writer
     * (a backing file name is the image's to choose). Only regular files and block devices go on.
     */
    fd = open(name, flags | O_NONBLOCK);
    if (fd < 0 && errno == EINVAL && (flags & O_DIRECT)) {
        if (err)
            *err = xasprintf("'%s': cache=none needs O_DIRECT, which this file system refuses: use cache=writeback", name);
        return -EINVAL;
    }
    if (fd < 0) {
        e = -errno;
        if (err) {
            if (e == -ENOENT)
                *err = xasprintf("'%s': no such file", name);
            else if (e == -EACCES || e == -EROFS || e == -EPERM)
                *err = xasprintf("'%s': cannot open %s: %s%s", name, rw ? "for writing" : "for reading",
                                 strerror(-e), rw ? " (try a read-only open)" : "");
            else
                *err = xasprintf("'%s': cannot open: %s", name, strerror(-e));
        }
        return e;
    }
    if (fstat(fd, &st) < 0) {
        e = -errno;
        close(fd);
        if (err)
            *err = xasprintf("'%s': %s", name, strerror(-e));
        return e;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        close(fd);
        if (err)
            *err = xasprintf("'%s': is a %s, not a regular file or block device: an image must be one of those",
                             name, S_ISFIFO(st.st_mode) ? "FIFO" : S_ISCHR(st.st_mode) ? "character device" :
                             S_ISDIR(st.st_mode) ? "directory" : S_ISSOCK(st.st_mode) ? "socket" : "special file");
        return -EINVAL;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        e = -errno;
        close(fd);
        if (err)
            *err = xasprintf("'%s': %s", name, strerror(-e));
        return e;
    }
    f = xnew(struct bfile);
    f->fd = fd;
    f->name = xstrdup(name);
    f->read_only = !rw;
    f->direct = cache == BLOCK_CACHE_NONE;
    f->no_flush = cache == BLOCK_CACHE_UNSAFE;
    f->blockdev = S_ISBLK(st.st_mode);
    f->align = 1;
    if (f->direct) {
        int ssz = 0;

        /* a host block device tells its logical block size; files get the largest common one */
        if (f->blockdev && ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz >= 512 && ssz <= BFILE_MAX_ALIGN)
            f->align = ssz;
        else
            f->align = BFILE_MAX_ALIGN;
    }
    *out = f;
    return 0;
}

void bfile_close(struct bfile *f)
{
    if (!f)
        return;
    close(f->fd);
    free(f->name);
    free(f);
}

/* One preadv/pwritev loop over the whole vector, retrying short transfers; reads past EOF give zeros. */
static int bfile_rw_direct(struct bfile *f, uint64_t off, const struct qiov *q, bool write)
{
    struct qiov rest;
    size_t done = 0;
    int ret = 0;

    qiov_init(&rest, q->niov);
    while (done < q->size) {
        ssize_t r;

        qiov_reset(&rest);
        qiov_concat(&rest, q, done, q->size - done);
        if (write)
            r = pwritev(f->fd, rest.iov, MIN(rest.niov, IOV_MAX), off + done);
        else
            r = preadv(f->fd, rest.iov, MIN(rest.niov, IOV_MAX), off + done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            break;
        }
        if (r == 0) {
            if (write) {
                ret = -ENOSPC;
                break;
            }
            qiov_memset(q, done, 0, q->size - done);
            break;
        }
        done += r;
    }
    qiov_destroy(&rest);
    return ret;
}

/* O_DIRECT with an unaligned request: go through an aligned bounce buffer. */
static int bfile_rw_bounce(struct bfile *f, uint64_t off, const struct qiov *q, bool write)
{
    uint64_t start = ALIGN_DOWN(off, f->align);
    uint64_t end = ALIGN_UP(off + q->size, f->align);
    size_t len = end - start;
    uint8_t *buf = bfile_memalign(len);
    struct qiov b;
    int ret = 0;

    qiov_init(&b, 1);
    qiov_add(&b, buf, len);
    if (!write || start != off || end != off + q->size)
        ret = bfile_rw_direct(f, start, &b, false);
    if (ret == 0) {
        if (write) {
            qiov_to_buf(q, 0, buf + (off - start), q->size);
            ret = bfile_rw_direct(f, start, &b, true);
        } else {
            qiov_from_buf(q, 0, buf + (off - start), q->size);
        }
    }
    qiov_destroy(&b);
    free(buf);
    return ret;
}

static int bfile_rw(struct bfile *f, uint64_t off, const struct qiov *q, bool write)
{
    if (write && f->read_only)
        return -EROFS;
    if (f->direct && (!IS_ALIGNED(off, f->align) || !qiov_is_aligned(q, f->align)))
        return bfile_rw_bounce(f, off, q, write);
    return bfile_rw_direct(f, off, q, write);
}

int bfile_preadv(struct bfile *f, uint64_t off, const struct qiov *q)
{
    return bfile_rw(f, off, q, false);
}

int bfile_pwritev(struct bfile *f, uint64_t off, const struct qiov *q)
{
    return bfile_rw(f, off, q, true);
}

int bfile_pread(struct bfile *f, uint64_t off, void *buf, size_t len)
{
    struct iovec v = { buf, len };
    struct qiov q = { &v, 1, 1, len };

    return bfile_rw(f, off, &q, false);
}

int bfile_pwrite(struct bfile *f, uint64_t off, const void *buf, size_t len)
{
    struct iovec v = { (void *)buf, len };
    struct qiov q = { &v, 1, 1, len };

    return bfile_rw(f, off, &q, true);
}

int bfile_flush(struct bfile *f)
{
    if (f->no_flush || f->read_only)
        return 0;
    return fdatasync(f->fd) < 0 ? -errno : 0;
}

int bfile_discard(struct bfile *f, uint64_t off, uint64_t len)
{
    if (f->read_only)
        return -EROFS;
    if (f->blockdev) {
        uint64_t r[2] = { off, len };

        return ioctl(f->fd, BLKDISCARD, r) < 0 ? -errno : 0;
    }
    if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0)
        return -errno;
    return 0;
}

int bfile_write_zeroes(struct bfile *f, uint64_t off, uint64_t len, bool may_unmap)
{
    static const size_t chunk = 1 * MiB;
    uint8_t *zeros;
    int ret = 0;

    if (f->read_only)
        return -EROFS;
    if (!f->blockdev) {
        /* a punched range keeps the file's size: grow it when the range reaches past the end */
        if (may_unmap && fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0) {
            int64_t size = bfile_length(f);

            if (size >= 0 && off + len > (uint64_t)size)
                return bfile_truncate(f, off + len);
            return 0;
        }
        if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE, off, len) == 0)
            return 0;
    } else {
        uint64_t r[2] = { off, len };

        if (ioctl(f->fd, BLKZEROOUT, r) == 0)
            return 0;
    }
    zeros = bfile_memalign(MIN(len, chunk));
    memset(zeros, 0, MIN(len, chunk));
    while (len && ret == 0) {
        size_t l = MIN(len, chunk);

        ret = bfile_pwrite(f, off, zeros, l);
        off += l;
        len -= l;
    }
    free(zeros);
    return ret;
}

int bfile_truncate(struct bfile *f, uint64_t size)
{
    if (f->read_only)
        return -EROFS;
    if (f->blockdev) {
        int64_t cur = bfile_length(f);

        return cur >= 0 && (uint64_t)cur >= size ? 0 : -ENOSPC;
    }
    return ftruncate(f->fd, size) < 0 ? -errno : 0;
}

int64_t bfile_length(struct bfile *f)
{
    struct stat st;

    if (f->blockdev) {
        uint64_t sz;

        return ioctl(f->fd, BLKGETSIZE64, &sz) < 0 ? -errno : (int64_t)sz;
    }
    if (fstat(f->fd, &st) < 0)
        return -errno;
    return st.st_size;
}

int64_t bfile_allocated(struct bfile *f)
{
    struct stat st;

    if (f->blockdev)
        return bfile_length(f);
    if (fstat(f->fd, &st) < 0)
        return -errno;
    return (int64_t)st.st_blocks * 512;
}

int bfile_is_data(struct bfile *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data)
{
    off_t d, h;

    *pnum = len;
    *data = true;
    if (f->blockdev)
        return 0;
    d = lseek(f->fd, off, SEEK_DATA);
    if (d < 0) {
        if (errno == ENXIO) {           /* no data after off: a hole to EOF */
            *data = false;
            return 0;
        }
        return 0;                       /* SEEK_DATA unsupported: say data */
    }
    if ((uint64_t)d > off) {
        *data = false;
        *pnum = MIN(len, (uint64_t)d - off);
        return 0;
    }
    h = lseek(f->fd, off, SEEK_HOLE);
    if (h > (off_t)off)
        *pnum = MIN(len, (uint64_t)h - off);
    return 0;
}
