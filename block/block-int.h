/* block-int.h: what the block layer's files share: image nodes, format drivers, I/O vectors, the file protocol, the engines */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include "block/block.h"

#include <pthread.h>

/* ---- I/O vectors (iov.c) ---- */
struct qiov {
    struct iovec *iov;
    int niov, alloc;
    size_t size;
};
void qiov_init(struct qiov *q, int hint);
void qiov_destroy(struct qiov *q);
void qiov_reset(struct qiov *q);
void qiov_add(struct qiov *q, void *base, size_t len);
/* Append the slice [off, off+len) of src to dst. */
void qiov_concat(struct qiov *dst, const struct qiov *src, size_t off, size_t len);
size_t qiov_to_buf(const struct qiov *q, size_t off, void *buf, size_t len);
size_t qiov_from_buf(const struct qiov *q, size_t off, const void *buf, size_t len);
void qiov_memset(const struct qiov *q, size_t off, int c, size_t len);
bool qiov_is_aligned(const struct qiov *q, size_t align);
bool buf_is_zero(const void *buf, size_t len);

/* ---- the file protocol (file.c): a regular file or host block device ---- */
struct bfile {
    int fd;
    char *name;
    bool read_only;
    bool direct;            /* O_DIRECT: offsets, lengths and buffers aligned to `align` */
    bool no_flush;          /* cache=unsafe */
    bool blockdev;
    size_t align;
    bool no_nowait[2];      /* the file system refused RWF_NOWAIT reads [0] / writes [1] */
};
int bfile_open(struct bfile **out, const char *name, bool rw, enum block_cache cache, char **err);
void bfile_close(struct bfile *f);
int bfile_preadv(struct bfile *f, uint64_t off, const struct qiov *q);
int bfile_pwritev(struct bfile *f, uint64_t off, const struct qiov *q);
int bfile_pread(struct bfile *f, uint64_t off, void *buf, size_t len);
int bfile_pwrite(struct bfile *f, uint64_t off, const void *buf, size_t len);
int bfile_flush(struct bfile *f);
int bfile_discard(struct bfile *f, uint64_t off, uint64_t len);
int bfile_write_zeroes(struct bfile *f, uint64_t off, uint64_t len, bool may_unmap);
int bfile_truncate(struct bfile *f, uint64_t size);
int64_t bfile_length(struct bfile *f);
int64_t bfile_allocated(struct bfile *f);
/* Is [off, off+len) data or a hole? Sets *pnum to the length of the run with the same answer. */
int bfile_is_data(struct bfile *f, uint64_t off, uint64_t len, uint64_t *pnum, bool *data);
/* An aligned buffer for O_DIRECT I/O (free with free()). */
void *bfile_memalign(size_t len);

/* ---- format drivers ---- */
struct block_state;

/* What block_status says of a range (see map and convert). */
#define BSTAT_DATA      1   /* reads come from an allocated data area */
#define BSTAT_ZERO      2   /* reads return zeros */
#define BSTAT_ALLOCATED 4   /* this layer decides the content (else the backing file does) */
#define BSTAT_OFFSET    8   /* *map holds the host offset in the image file */
#define BSTAT_COMPRESSED 16

struct block_driver {
    const char *name;
    /* 0..100: how sure the driver is that these first bytes are its format */
    int (*probe)(const uint8_t *buf, size_t len);
    int (*open)(struct block_state *bs, const struct block_open_opts *o, char **err);
    void (*close)(struct block_state *bs);
    /* the data path: synchronous, thread-safe, in any thread */
    int (*preadv)(struct block_state *bs, uint64_t off, const struct qiov *q);
    int (*pwritev)(struct block_state *bs, uint64_t off, const struct qiov *q);
    int (*flush)(struct block_state *bs);
    int (*discard)(struct block_state *bs, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct block_state *bs, uint64_t off, uint64_t len, unsigned flags);
    int (*truncate)(struct block_state *bs, uint64_t size);
    /*
     * Without waiting: if [off, off+len) is one contiguous range of the file that
     * can be read (or written in place) with no metadata work, set *host and
     * return MAP_HOST; for a read of a range that is all zeros return MAP_ZERO;
     * otherwise -EAGAIN and the request goes the slow way (a worker thread).
     */
    int (*map_direct)(struct block_state *bs, uint64_t off, uint64_t len, bool write, uint64_t *host);
    /* status of [off, off+len): returns BSTAT_* flags, *pnum the run length (> 0) */
    int (*block_status)(struct block_state *bs, uint64_t off, uint64_t len, uint64_t *pnum, uint64_t *map);
};

#define MAP_HOST 0
#define MAP_ZERO 1

extern const struct block_driver block_driver_raw;
extern const struct block_driver block_driver_qcow2;

struct block_state {
    const struct block_driver *drv;
    char *filename;
    struct bfile *file;
    uint64_t size;              /* virtual disk size */
    bool read_only;
    bool probed;                /* format was probed, not given */
    enum block_cache cache;
    enum block_aio aio;
    struct block_state *backing;
    char *backing_file;         /* as stored in the image */
    char *backing_format;       /* as stored in the image, or NULL */
    struct block_state *overlay;    /* the image this one backs, or NULL */
    uint64_t dev, ino;          /* the file's identity, to find loops in a chain */
    void *opaque;               /* the driver's state */
};

/* Open a node: the probe/format logic shared by block_open and backing files. */
int bstate_open(struct block_state **out, const char *filename, const struct block_open_opts *o,
                struct block_state *overlay, char **err);
void bstate_close(struct block_state *bs);
/* Resolve a backing file name against the folder of the image that names it. */
char *bstate_backing_path(const char *image, const char *backing);
const struct block_driver *block_driver_find(const char *name);
/* Read through a node, padding reads past the node's end with zeros. */
int bstate_preadv(struct block_state *bs, uint64_t off, const struct qiov *q);
int bstate_pread(struct block_state *bs, uint64_t off, void *buf, size_t len);
int bstate_block_status(struct block_state *bs, uint64_t off, uint64_t len, uint64_t *pnum, uint64_t *map);
/* The node that block_dev wraps (for skiff-img). */
struct block_state *block_dev_state(struct block_dev *bd);

/* A named point a request passes in its worker (debug.c): waits there while a test holds it. */
void block_debug_event(const char *event);

/* ---- the thread pool (thread-pool.c) ---- */
struct event_loop;
typedef int pool_work_fn(void *arg);
typedef void pool_done_fn(void *arg, int ret);
/*
 * Run work(arg) in a worker; done(arg, ret) later in loop l (the drive's). `device_bound`
 * says the work waits on a device (O_DIRECT) rather than the page cache: only
 * such work makes the pool grow past the number of CPUs.
 */
void pool_submit(struct event_loop *l, pool_work_fn *work, pool_done_fn *done, void *arg, bool device_bound);

/* ---- Linux native AIO (linux-aio.c) ---- */
typedef void laio_done_fn(void *arg, int ret);
/* A drive's context, completing in loop l; NULL (with a warning) when native AIO cannot be had. */
struct laio_ctx *laio_new(struct event_loop *l);
/* With nothing in flight; from any thread. */
void laio_free(struct laio_ctx *s);
/* Complete in loop l from now on (nothing in flight); 0 or -errno, when it stays where it was. */
int laio_set_loop(struct laio_ctx *s, struct event_loop *l);
/* Submit an aligned O_DIRECT read or write, in the context's loop; -ENOTSUP when native AIO is not built in. */
int laio_submit(struct laio_ctx *s, int fd, bool write, uint64_t off, const struct qiov *q,
                laio_done_fn *done, void *arg);

#endif
