/* fuzz-qcow2.c: libFuzzer target over qcow2 open, check, reads, a few writes, the submission fast path and snapshots of an in-memory image */
#include "block/qcow2.h"
#include "util/log.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int image_fd(const uint8_t *data, size_t size, char *path, size_t plen)
{
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);

    if (fd < 0)
        return -1;
    if (pwrite_full(fd, data, size, 0) < 0) {
        close(fd);
        return -1;
    }
    snprintf(path, plen, "/proc/self/fd/%d", fd);
    return fd;
}

/*
 * Reads at a few places, the map, and the look-up a submitting thread makes (map_direct, for
 * reads and writes), through whatever the image's tables say. On a read-write image a read
 * that meets damage marks the image corrupt, rewriting the header.
 */
static void exercise_reads(struct block_state *bs, const uint8_t *data, size_t size)
{
    uint8_t buf[8192];
    uint64_t pnum, map, host;

    for (int i = 0; i < 8 && bs->size; i++) {
        uint64_t off = 0;

        if (size >= (size_t)(8 * i + 8))
            off = ldq_le(data + size - 8 * i - 8) % bs->size;
        bstate_pread(bs, off, buf, MIN(sizeof(buf), bs->size - off));
        bstate_block_status(bs, off, MIN((uint64_t)1 << 30, bs->size - off), &pnum, &map);
        if (bs->drv->map_direct)
            bs->drv->map_direct(bs, off, MIN(sizeof(buf), bs->size - off), i & 1, &host);
    }
}

/*
 * The image read-write, as a guest and skiff-img use it: reads (which may mark it corrupt), its
 * own first snapshot applied (its recorded disk size and L1 table as they come), writes in place
 * and allocating (through whatever the L2 entries name: the overlap checks), discard, zeroes,
 * a snapshot taken and one deleted, a flush.
 */
static void exercise_rw(const char *path, const uint8_t *data, size_t size)
{
    struct block_open_opts rw = { .format = "qcow2" };
    struct block_state *bs;
    char *err = NULL;

    if (bstate_open(&bs, path, &rw, NULL, &err) == 0) {
        uint8_t buf[4096];
        struct iovec v = { buf, sizeof(buf) };
        struct qiov q = { &v, 1, 1, sizeof(buf) };

        exercise_reads(bs, data, size);
        if (qcow2_of(bs) && qcow2_of(bs)->nb_snapshots) {
            qcow2_snapshot_apply(bs, qcow2_of(bs)->snaps[0].id, &err);
            free(err);
            err = NULL;
        }
        memset(buf, 0xa5, sizeof(buf));
        if (bs->size >= sizeof(buf)) {
            uint64_t off = size >= 16 ? ldq_le(data + 8) % (bs->size - sizeof(buf) + 1) : 0;

            bs->drv->pwritev(bs, off, &q);
            bs->drv->pwritev(bs, 0, &q);
            bs->drv->discard(bs, off, 65536);
            bs->drv->write_zeroes(bs, 0, MIN(bs->size, (uint64_t)131072), BLOCK_ZERO_MAY_UNMAP);
        }
        if (qcow2_of(bs) && qcow2_of(bs)->nb_snapshots < 4) {
            qcow2_snapshot_create(bs, "fuzz", &err);
            free(err);
            err = NULL;
            if (qcow2_of(bs)->nb_snapshots)
                qcow2_snapshot_delete(bs, qcow2_of(bs)->snaps[0].id, &err);
        }
        bs->drv->flush(bs);
        bstate_close(bs);
    }
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct block_open_opts ro = { .format = "qcow2", .read_only = true };
    struct block_open_opts ck = { .format = "qcow2", .check = true, .no_backing = true };
    struct block_state *bs;
    struct qcow2_check_result res;
    char path[64];
    char *err = NULL;
    int fd;

    log_level_max = -1;     /* every input is damaged in some way: no need to hear about it */
    if (size > 4 * MiB)
        return 0;
    fd = image_fd(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    if (bstate_open(&bs, path, &ro, NULL, &err) == 0) {
        exercise_reads(bs, data, size);
        bstate_close(bs);
    }
    free(err);
    err = NULL;
    /* read-write as it comes: the damage meets the data path before any repair */
    exercise_rw(path, data, size);
    close(fd);
    /* a fresh copy checked and repaired, then read-write again */
    fd = image_fd(data, size, path, sizeof(path));
    if (fd < 0)
        return 0;
    if (bstate_open(&bs, path, &ck, NULL, &err) == 0) {
        qcow2_check(bs, QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS, &res, NULL);
        bstate_close(bs);
    }
    free(err);
    exercise_rw(path, data, size);
    close(fd);
    return 0;
}
