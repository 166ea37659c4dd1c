/* block.h: the block layer's API: open an image (raw, qcow2) and serve asynchronous vectored I/O that completes in the event loop */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include "util/osdep.h"

#include <sys/uio.h>

/*
 * Caching, as QEMU's -drive cache=:
 *   writeback  page cache; a flush (fdatasync) makes earlier writes durable
 *   none       O_DIRECT (bypass the page cache); flushes still reach the disk
 *   unsafe     page cache and flushes are ignored (scratch images)
 */
enum block_cache { BLOCK_CACHE_WRITEBACK, BLOCK_CACHE_NONE, BLOCK_CACHE_UNSAFE };
/* How the raw data path reaches the file: a thread pool, or Linux native AIO (libaio). */
enum block_aio { BLOCK_AIO_THREADS, BLOCK_AIO_NATIVE };

struct block_open_opts {
    const char *format;         /* "raw", "qcow2", or NULL to probe (a probed raw image keeps sector 0 from turning into another format) */
    bool read_only;
    enum block_cache cache;
    enum block_aio aio;
    bool no_backing;            /* do not open the backing chain (info, rebase -u, check) */
    bool check;                 /* opened for check/repair: tolerate a corrupt or dirty image */
    bool snapshot;              /* -snapshot: writes go to a temporary qcow2 overlay, dropped at close */
    bool discard_ignore;        /* -drive discard=ignore: the guest's discards succeed and do nothing */
    bool write_through;         /* cache=writethrough|directsync: the guest's disk write cache starts off */
};

/* Per-device statistics, for the monitor's "info blockstats". Times are nanoseconds. */
struct block_stats {
    uint64_t rd_ops, wr_ops, flush_ops, discard_ops, zero_ops;
    uint64_t rd_bytes, wr_bytes, discard_bytes, zero_bytes;
    uint64_t rd_ns, wr_ns, flush_ns;
    uint64_t failed_ops;
    uint64_t rd_merged, wr_merged;  /* guest requests that went to the disk with another */
};

struct block_dev;

/* Parse "writeback"/"none"/"unsafe" (and "writethrough"/"directsync" as their nearest) and "threads"/"native". */
int block_parse_cache(const char *s, enum block_cache *out);
int block_parse_aio(const char *s, enum block_aio *out);

/*
 * Open `filename`. On failure returns -errno and sets *err (when err is not NULL)
 * to a message naming the file and the problem, for the caller to print and free.
 */
int block_open(struct block_dev **out, const char *filename, const struct block_open_opts *o, char **err);
/* Wait for every request in flight, flush metadata (qcow2), close the chain. */
void block_close(struct block_dev *bd);

uint64_t block_size(struct block_dev *bd);
const char *block_filename(struct block_dev *bd);
const char *block_format(struct block_dev *bd);
bool block_is_read_only(struct block_dev *bd);
/* The cache mode as QEMU's query-block reports it (BlockdevCacheInfo) */
struct block_cache_info {
    bool writeback;             /* the disk's write cache starts on: not writethrough, directsync */
    bool direct;                /* O_DIRECT: none, directsync */
    bool no_flush;              /* flushes are ignored: unsafe */
};
void block_get_cache_info(struct block_dev *bd, struct block_cache_info *ci);
/* cache=writethrough or directsync: a disk on it starts with its write cache off (QEMU's WCE) */
bool block_write_through(struct block_dev *bd);
void block_get_stats(struct block_dev *bd, struct block_stats *st);
/* A device sent n + 1 of its guest's reads (or writes) as one request: count the n others too. */
void block_account_merged(struct block_dev *bd, bool write, unsigned n);
/* Grow or shrink the virtual disk (qcow2 grows only); 0 or -errno. */
int block_resize(struct block_dev *bd, uint64_t size);

/*
 * The event loop a drive's requests are submitted and completed in: the main loop (the
 * default) or a device's I/O thread's (util/iothread.h). Moving a drive drains it first; call
 * from the main thread, while no request is being submitted.
 */
struct event_loop;
void block_set_loop(struct block_dev *bd, struct event_loop *l);
struct event_loop *block_get_loop(struct block_dev *bd);

/*
 * Asynchronous requests. Submit them in the drive's loop: in the main loop's case with the
 * device lock held (main loop or vCPU thread), else in its I/O thread. The callback always
 * runs later in that loop (with the device lock held for the main loop), never
 * from inside the submitting call; `ret` is 0 or -errno (-EIO for a request beyond
 * the end of the disk or hitting a damaged image, -EROFS on a read-only device).
 * Any offset, length and buffer alignment is accepted. The iovec array is copied;
 * the buffers must stay valid until the callback.
 */
typedef void block_cb(void *opaque, int ret);
void block_aio_readv(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int niov,
                     block_cb *cb, void *opaque);
void block_aio_writev(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int niov,
                      block_cb *cb, void *opaque);
void block_aio_flush(struct block_dev *bd, block_cb *cb, void *opaque);
void block_aio_discard(struct block_dev *bd, uint64_t offset, uint64_t bytes, block_cb *cb, void *opaque);
#define BLOCK_ZERO_MAY_UNMAP 1  /* the zeroed range may be deallocated */
void block_aio_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t bytes, unsigned flags,
                            block_cb *cb, void *opaque);
/* Requests submitted and not yet completed (their callbacks not yet returned); from any thread. */
unsigned block_in_flight(struct block_dev *bd);
/*
 * Return once no request of bd is in flight. For a drive in the main loop, run that loop
 * (device lock held); in its I/O thread, run that loop; elsewhere (the main thread, for a
 * drive bound to an I/O thread) wait for the I/O thread's completions without running any
 * loop. The drive's device must have stopped submitting.
 */
void block_drain(struct block_dev *bd);

/*
 * Test breakpoints (qtest's block_break, block_wait_break, block_resume; see docs/testing.md):
 * arm one named point; the next request to reach it in a worker waits there until resumed (a
 * drain resumes it too). Points: "request" (a worker picks a request up), "raw-sector0-probed"
 * (a probed raw image's sector 0 write was checked and is about to be written).
 * block_debug_wait: 0 once a request waits at the point, -ETIMEDOUT after timeout_ms.
 */
int block_debug_break(const char *event);
int block_debug_wait(int timeout_ms);
void block_debug_resume(void);

/* Synchronous I/O for tools and start-up, in the calling thread; 0 or -errno. */
int block_pread(struct block_dev *bd, uint64_t offset, void *buf, size_t len);
int block_pwrite(struct block_dev *bd, uint64_t offset, const void *buf, size_t len);
int block_flush(struct block_dev *bd);
int block_discard(struct block_dev *bd, uint64_t offset, uint64_t bytes);
int block_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t bytes, unsigned flags);

#endif
