/* libqos-virtio-blk.h: a virtio-blk driver for device tests on top of libqos-virtio: requests (header, data, status) built in guest memory, test images checked on the host, skiff started with a log of its own */
#ifndef TESTS_LIBQOS_VIRTIO_BLK_H
#define TESTS_LIBQOS_VIRTIO_BLK_H

#include "tests/qtest/libqos-virtio.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VIRTIO_ID_BLOCK     2
#define SECTOR              512
#define MEM_START           0x100000
#define MEM_END             0x4000000
#define WAIT_MS             5000

/* Block features (5.2.3), configuration (5.2.4), requests (5.2.6) */
#define BLK_F_SEG_MAX       2
#define BLK_F_GEOMETRY      4
#define BLK_F_RO            5
#define BLK_F_BLK_SIZE      6
#define BLK_F_FLUSH         9
#define BLK_F_TOPOLOGY      10
#define BLK_F_CONFIG_WCE    11
#define BLK_F_MQ            12
#define BLK_F_DISCARD       13
#define BLK_F_WRITE_ZEROES  14
#define CFG_CAPACITY        0
#define CFG_SEG_MAX         12
#define CFG_BLK_SIZE        20
#define CFG_WRITEBACK       32
#define CFG_NUM_QUEUES      34
#define T_IN                0
#define T_OUT               1
#define T_FLUSH             4
#define T_GET_ID            8
#define T_DISCARD           11
#define T_WRITE_ZEROES      13
#define S_OK                0
#define S_IOERR             1
#define S_UNSUPP            2

/* What a test driver asks for: everything the block device has, and the ring features. */
#define BLK_FEATURES (QVIRTIO_BIT(BLK_F_SEG_MAX) | QVIRTIO_BIT(BLK_F_GEOMETRY) | QVIRTIO_BIT(BLK_F_RO) | \
                      QVIRTIO_BIT(BLK_F_BLK_SIZE) | QVIRTIO_BIT(BLK_F_FLUSH) | QVIRTIO_BIT(BLK_F_TOPOLOGY) | \
                      QVIRTIO_BIT(BLK_F_CONFIG_WCE) | QVIRTIO_BIT(BLK_F_MQ) | QVIRTIO_BIT(BLK_F_DISCARD) | \
                      QVIRTIO_BIT(BLK_F_WRITE_ZEROES) | QVIRTIO_BIT(QVIRTIO_F_INDIRECT_DESC) | \
                      QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX) | QVIRTIO_BIT(QVIRTIO_F_VERSION_1))

/* ---- the image on the host ---- */

/* Sector n of a test image: n in its first 8 bytes, then (n * 7 + 1) & 0xff. */
static inline void fill_sector(uint8_t *b, uint64_t n)
{
    memset(b, (n * 7 + 1) & 0xff, SECTOR);
    memcpy(b, &n, 8);
}

static inline char *make_image(const char *dir, uint64_t size, uint64_t filled)
{
    char *path;
    int fd;
    uint8_t b[SECTOR];

    if (dir) {
        if (asprintf(&path, "%s/disk.raw", dir) < 0)
            exit(2);
    } else {
        path = qtest_tmp_path(".raw");
    }
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, size) < 0)
        exit(2);
    for (uint64_t i = 0; i < filled; i++) {
        fill_sector(b, i);
        if (pwrite(fd, b, SECTOR, i * SECTOR) != SECTOR)
            exit(2);
    }
    close(fd);
    return path;
}

static inline bool file_read(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    bool ok = fd >= 0 && pread(fd, buf, len, off) == (ssize_t)len;

    if (fd >= 0)
        close(fd);
    return ok;
}

static inline bool file_sector_is(const char *path, uint64_t n, const uint8_t *want)
{
    uint8_t b[SECTOR];

    return file_read(path, n * SECTOR, b, SECTOR) && !memcmp(b, want, SECTOR);
}

static inline bool file_has(const char *path, const char *text)
{
    static char buf[65536];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    if (fd >= 0)
        close(fd);
    if (n < 0)
        return false;
    buf[n] = 0;
    return strstr(buf, text) != NULL;
}

static inline int count_lines_with(const char *path, const char *text)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    int n = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

/* ---- a guest's driver ---- */

struct blk {
    struct qtest *q;
    struct qpci_bus *bus;
    struct qvirtio_dev *vd;
    struct qalloc *alloc;
    struct qvirtqueue *vq[4];
    unsigned nvq;
};

/* Negotiate `features` and set up nvq queues of `size` (again, after a reset), then DRIVER_OK. */
static inline bool blk_setup(struct blk *b, uint64_t features, unsigned nvq, uint16_t size)
{
    for (unsigned i = 0; i < b->nvq; i++)
        qvirtqueue_free(b->vq[i]);
    b->nvq = 0;
    if (!qvirtio_negotiate(b->vd, features))
        return false;
    for (unsigned i = 0; i < nvq; i++) {
        b->vq[i] = qvirtqueue_setup(b->vd, b->alloc, i, size);
        if (!b->vq[i])
            return false;
        b->nvq++;
    }
    qvirtio_driver_ok(b->vd);
    return true;
}

/* Find the disk, drive it through `mode` with MSI-X or INTx (IRQ 11), and blk_setup it. */
static inline bool blk_init(struct blk *b, struct qtest *q, enum qvirtio_mode mode, bool msix, uint64_t features,
                     unsigned nvq, uint16_t size)
{
    memset(b, 0, sizeof(*b));
    b->q = q;
    b->bus = qpci_bus_new(q);
    b->alloc = qalloc_new(MEM_START, MEM_END);
    b->vd = qvirtio_pci_new(b->bus, VIRTIO_ID_BLOCK, 0, mode);
    if (!b->vd)
        return false;
    qtest_irq_intercept(q);
    if (msix)
        qvirtio_msix_enable(b->vd);
    else
        qvirtio_intx_route(b->vd, 11);
    return blk_setup(b, features, nvq, size);
}

static inline void blk_end(struct blk *b)
{
    for (unsigned i = 0; i < b->nvq; i++)
        qvirtqueue_free(b->vq[i]);
    qvirtio_free(b->vd);
    qalloc_destroy(b->alloc);
    free(b->bus);
}

/* The guest memory of one request: header, data, status. */
struct req {
    uint64_t hdr, data, status;
    uint16_t head;
};

static inline void req_prepare(struct blk *b, struct req *r, uint32_t type, uint64_t sector, uint32_t len)
{
    uint8_t h[16] = { 0 };

    r->hdr = qalloc(b->alloc, 16);
    r->data = len ? qalloc(b->alloc, len) : 0;
    r->status = qalloc(b->alloc, 16);
    for (int i = 0; i < 4; i++)
        h[i] = type >> (8 * i);
    for (int i = 0; i < 8; i++)
        h[8 + i] = sector >> (8 * i);
    qtest_memwrite(b->q, r->hdr, h, sizeof(h));
    qtest_writeb(b->q, r->status, 0xee);
}

static inline void req_release(struct blk *b, struct req *r)
{
    qfree(b->alloc, r->hdr);
    if (r->data)
        qfree(b->alloc, r->data);
    qfree(b->alloc, r->status);
}

/* Submit the request on queue qi: header, data (device-writable when `in`), status. */
static inline void req_submit(struct blk *b, unsigned qi, struct req *r, uint32_t len, bool in, bool indirect)
{
    struct qvirtio_buf bufs[3];
    unsigned n = 0;

    bufs[n++] = (struct qvirtio_buf){ r->hdr, 16, false };
    if (len)
        bufs[n++] = (struct qvirtio_buf){ r->data, len, in };
    bufs[n++] = (struct qvirtio_buf){ r->status, 1, true };
    r->head = qvirtqueue_submit(b->vq[qi], bufs, n, indirect);
}

/* Wait for the request's completion; its status byte, or -1 (it did not come, or named another head). */
static inline int req_wait(struct blk *b, unsigned qi, struct req *r, uint32_t *used_len)
{
    uint16_t head;
    uint32_t len;

    if (!qvirtqueue_wait_used(b->vq[qi], &head, &len, WAIT_MS))
        return -1;
    if (used_len)
        *used_len = len;
    if (head != r->head) {
        tap_note("used entry names head %u, the request was %u", head, r->head);
        return -1;
    }
    return qtest_readb(b->q, r->status);
}

/* A whole request: data from/to `buf`; the status, or -1. */
static inline int blk_rw(struct blk *b, unsigned qi, uint32_t type, uint64_t sector, void *buf, uint32_t len,
                  bool indirect)
{
    struct req r;
    int st;

    req_prepare(b, &r, type, sector, len);
    if (type != T_IN && type != T_GET_ID && len)
        qtest_memwrite(b->q, r.data, buf, len);
    req_submit(b, qi, &r, len, type == T_IN || type == T_GET_ID, indirect);
    st = req_wait(b, qi, &r, NULL);
    if (st == S_OK && (type == T_IN || type == T_GET_ID) && len)
        qtest_memread(b->q, r.data, buf, len);
    req_release(b, &r);
    return st;
}

/* Discard or write-zeroes of one segment. */
static inline int blk_dwz(struct blk *b, uint32_t type, uint64_t sector, uint32_t count, uint32_t flags)
{
    uint8_t seg[16];

    for (int i = 0; i < 8; i++)
        seg[i] = sector >> (8 * i);
    for (int i = 0; i < 4; i++) {
        seg[8 + i] = count >> (8 * i);
        seg[12 + i] = flags >> (8 * i);
    }
    return blk_rw(b, 0, type, 0, seg, sizeof(seg), false);
}

static inline const char *mode_name(enum qvirtio_mode m)
{
    return m == QVIRTIO_LEGACY ? "legacy" : "modern";
}

/* skiff with its stderr in a file of its own (*log) */
static inline struct qtest *start_logged(char **log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline struct qtest *start_logged(char **log, const char *fmt, ...)
{
    struct qtest *q;
    char *args;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&args, fmt, ap) < 0)
        exit(2);
    va_end(ap);
    *log = qtest_tmp_path(".log");
    qtest_stderr_path = *log;
    q = qtest_start("%s", args);
    qtest_stderr_path = NULL;
    free(args);
    return q;
}

static inline void end_logged(struct qtest *q, char *log, const char *what)
{
    int st = qtest_quit(q);

    CHECK(st == 0, "%s: skiff exits cleanly (%d)", what, st);
    if (st != 0)
        tap_note("its log: %s", log);
    else
        unlink(log);
    free(log);
}

/* skiff with a 1 MiB raw disk (its first 16 sectors filled) as virtio-blk-pci, stderr in vm.log */
struct disk_vm {
    char *img, *log;
    struct qtest *q;
};

/* dev: more of the -device (",vectors=0"), or "" */
static inline struct qtest *disk_vm_start(struct disk_vm *vm, const char *dev)
{
    vm->img = make_image(NULL, 1 << 20, 16);
    vm->q = start_logged(&vm->log, "-m 128 -drive if=none,id=d0,file=%s,format=raw "
                         "-device virtio-blk-pci,drive=d0%s", vm->img, dev);
    return vm->q;
}

/* skiff exits cleanly (checked as `what`), and the disk goes */
static inline void disk_vm_end(struct disk_vm *vm, const char *what)
{
    end_logged(vm->q, vm->log, what);
    unlink(vm->img);
    free(vm->img);
}

/* Start a read of sector 7 on queue 0 and wait for it to complete (not for its interrupt). */
static inline bool read_done(struct blk *b)
{
    uint8_t buf[SECTOR], want[SECTOR];

    fill_sector(want, 7);
    return blk_rw(b, 0, T_IN, 7, buf, SECTOR, false) == S_OK && !memcmp(buf, want, SECTOR);
}

/* No message of vector v came within 100 ms. */
static inline bool no_msi(struct qvirtio_dev *vd, unsigned v)
{
    usleep(100000);
    return qvirtio_msi_count(vd, v) == 0;
}

/*
 * Wait until the device has taken what was made available on vq: with EVENT_IDX it then asks
 * to be kicked at the next entry (used->avail_event). A test must know this before it blocks
 * skiff's main loop (block_wait_break), which is where the kick is served.
 */
static inline bool wait_taken(struct qvirtqueue *vq)
{
    for (int t = 0; t < WAIT_MS; t++) {
        if (qvirtqueue_avail_event(vq) == vq->avail_idx)
            return true;
        usleep(1000);
    }
    return false;
}

#endif
