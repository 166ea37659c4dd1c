/* blk-io.c: the block layer's test driver: scripted and random asynchronous I/O on an image, checked against a model */
#include "block/block.h"
#include "block/qcow2.h"
#include "util/main-loop.h"

#include <fcntl.h>
#include <unistd.h>

/*
 * blk-io [-r] [-f fmt] [-t cache] [-i aio] IMAGE COMMAND [ARGS]... [-- COMMAND ...]
 *   write PAT OFF LEN | read PAT OFF LEN | discard OFF LEN | zero OFF LEN | flush
 *   workload SEED COUNT MODEL    random writes/discards/zeroes/flushes, 16 in flight, mirrored into
 *                                the raw file MODEL (the content the image must have); reads are
 *                                checked against the model
 *   crash SEED LOG               endless writes, discards and flushes, each logged in LOG
 *   verify LOG                   after a crash: what the completed flushes in LOG covered reads back
 *   snapshot-create NAME | snapshot-apply NAME | snapshot-delete NAME
 *   compressed OFF PAT           write one cluster compressed
 */

static struct block_dev *bd;
static int pending, failed;

static void done(void *opaque, int ret)
{
    pending--;
    if (ret < 0) {
        fprintf(stderr, "blk-io: request failed: %s\n", strerror(-ret));
        failed = 1;
    }
}

static void wait_all(void)
{
    while (pending)
        loop_iterate(true);
}

static uint64_t num(const char *s)
{
    uint64_t v;

    if (parse_size(s, 1, &v) < 0) {
        fprintf(stderr, "blk-io: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = seed * 0x9E3779B97F4A7C15ULL + i;

        memcpy(p + i, &v, MIN((size_t)8, len - i));
    }
}

struct wreq {
    struct iovec v;
    uint8_t *buf, *expect;
    uint64_t off;
    size_t len;
    bool read;
};

static void wdone(void *opaque, int ret)
{
    struct wreq *w = opaque;

    done(NULL, ret);
    if (w->read && ret == 0 && memcmp(w->buf, w->expect, w->len)) {
        fprintf(stderr, "blk-io: read at %" PRIu64 "+%zu returned wrong data\n", w->off, w->len);
        failed = 1;
    }
    free(w->buf);
    free(w->expect);
    free(w);
}

/* Random asynchronous requests on non-overlapping in-flight ranges, mirrored in the model. */
static int workload(uint64_t seed, long count, const char *model_path)
{
    uint64_t size = block_size(bd);
    int mfd = open(model_path, O_RDWR | O_CREAT, 0644);
    uint8_t *model;
    int ret = 0;

    rng_state = seed * 2654435761u + 1;
    if (mfd < 0 || ftruncate(mfd, size) < 0) {
        perror(model_path);
        return 1;
    }
    model = xzalloc(size);
    if (pread_full(mfd, model, size, 0) < 0) {
        perror(model_path);
        return 1;
    }
    for (long i = 0; i < count && !failed; i++) {
        unsigned op = rnd() % 100;
        uint64_t off = rnd() % size, len;

        /* mostly small, sometimes large, sometimes unaligned */
        len = (rnd() % 4 == 0) ? rnd() % (256 * 1024) + 1 : (rnd() % 16 + 1) * 4096;
        if (rnd() % 3)
            off = ALIGN_DOWN(off, 512);
        len = MIN(len, size - off);
        if (!len)
            continue;
        /* in-flight requests never overlap: wait for all before a conflicting mix */
        if (pending >= 16 || op >= 90)
            wait_all();
        if (op < 55) {
            struct wreq *w = xnew(struct wreq);

            w->buf = xmalloc(len);
            fill(w->buf, len, rnd());
            memcpy(model + off, w->buf, len);
            w->v = (struct iovec){ w->buf, len };
            pending++;
            block_aio_writev(bd, off, &w->v, 1, wdone, w);
            wait_all();
        } else if (op < 80) {
            struct wreq *w = xnew(struct wreq);

            w->buf = xmalloc(len);
            w->expect = xmalloc(len);
            memcpy(w->expect, model + off, len);
            w->off = off;
            w->len = len;
            w->read = true;
            w->v = (struct iovec){ w->buf, len };
            pending++;
            block_aio_readv(bd, off, &w->v, 1, wdone, w);
        } else if (op < 86) {
            pending++;
            memset(model + off, 0, len);
            block_aio_write_zeroes(bd, off, len, rnd() % 2 ? BLOCK_ZERO_MAY_UNMAP : 0, done, NULL);
            wait_all();
        } else if (op < 90) {
            /* a discard may drop whole clusters only: the model learns what the image says */
            pending++;
            block_aio_discard(bd, off, len, done, NULL);
            wait_all();
            if (block_pread(bd, off, model + off, len) < 0)
                failed = 1;
        } else {
            pending++;
            block_aio_flush(bd, done, NULL);
            wait_all();
        }
    }
    wait_all();
    if (pwrite_full(mfd, model, size, 0) < 0)
        ret = 1;
    close(mfd);
    free(model);
    return ret || failed;
}

/*
 * Write, discard and flush forever, logging each request before it is submitted
 * ("W off len seed", "D off len") and each completed flush ("F"). Killed from outside.
 */
static int crash(uint64_t seed, const char *log_path)
{
    uint64_t size = block_size(bd);
    FILE *log = fopen(log_path, "w");

    rng_state = seed * 2654435761u + 7;
    if (!log)
        return 1;
    for (;;) {
        unsigned op = rnd() % 16;

        if (op < 12) {
            uint64_t off = ALIGN_DOWN(rnd() % size, 512), len = (rnd() % 32 + 1) * 4096, s = rnd();

            len = MIN(len, size - off);     /* (MIN evaluates its arguments twice) */
            struct wreq *w = xnew(struct wreq);

            w->buf = xmalloc(len);
            fill(w->buf, len, s);
            w->v = (struct iovec){ w->buf, len };
            fprintf(log, "W %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", off, len, s);
            fflush(log);
            pending++;
            block_aio_writev(bd, off, &w->v, 1, wdone, w);
        } else if (op < 13) {
            uint64_t off = ALIGN_DOWN(rnd() % size, 65536);

            fprintf(log, "D %" PRIu64 " %" PRIu64 "\n", off, MIN((uint64_t)65536, size - off));
            fflush(log);
            pending++;
            block_aio_discard(bd, off, MIN((uint64_t)65536, size - off), done, NULL);
        } else {
            wait_all();
            pending++;
            block_aio_flush(bd, done, NULL);
            wait_all();
            if (failed)
                return 1;
            fprintf(log, "F\n");
            fflush(log);
        }
        /* requests in flight never overlap: one at a time, completions in any order */
        wait_all();
    }
}

/* After a crash: every write and discard that a completed flush covered must read back. */
static int verify(const char *log_path)
{
    uint64_t size = block_size(bd), off, len, s, checked = 0;
    uint8_t *expect = xzalloc(size), *unsure = xzalloc(size), *img = xmalloc(size), *tmp;
    FILE *log = fopen(log_path, "r");
    long last_f = -1, n = 0;
    char line[128];
    int bad = 0;

    if (!log)
        return 1;
    while (fgets(line, sizeof(line), log)) {
        if (line[0] == 'F')
            last_f = n;
        n++;
    }
    rewind(log);
    n = 0;
    tmp = xmalloc(size);
    while (fgets(line, sizeof(line), log)) {
        bool durable = n++ < last_f;

        if (line[0] == 'W' && sscanf(line + 2, "%" SCNu64 " %" SCNu64 " %" SCNu64, &off, &len, &s) == 3 &&
            off + len <= size) {
            if (durable) {
                fill(tmp, len, s);
                memcpy(expect + off, tmp, len);
            } else {
                memset(unsure + off, 1, len);
            }
        } else if (line[0] == 'D' && sscanf(line + 2, "%" SCNu64 " %" SCNu64, &off, &len) == 2 && off + len <= size) {
            if (durable)
                memset(expect + off, 0, len);
            else
                memset(unsure + off, 1, len);
        }
    }
    fclose(log);
    free(tmp);
    if (block_pread(bd, 0, img, size) < 0) {
        fprintf(stderr, "blk-io: cannot read the image back\n");
        return 1;
    }
    for (uint64_t i = 0; i < size; i++) {
        if (unsure[i])
            continue;
        checked++;
        if (img[i] != expect[i]) {
            fprintf(stderr, "blk-io: byte %" PRIu64 " lost: a flushed write does not read back\n", i);
            bad = 1;
            break;
        }
    }
    printf("verified %" PRIu64 " bytes of flushed data (%ld log lines)\n", checked, n);
    free(expect);
    free(unsure);
    free(img);
    return bad;
}

int main(int argc, char **argv)
{
    struct block_open_opts o = { 0 };
    char *err = NULL;
    int c, i;

    while ((c = getopt(argc, argv, "+f:t:i:r")) != -1) {
        switch (c) {
        case 'r': o.read_only = true; break;
        case 'f': o.format = optarg; break;
        case 't':
            if (block_parse_cache(optarg, &o.cache) < 0)
                return 2;
            break;
        case 'i':
            if (block_parse_aio(optarg, &o.aio) < 0)
                return 2;
            break;
        default:
            return 2;
        }
    }
    if (optind + 2 > argc) {
        fprintf(stderr, "usage: blk-io [-f fmt] [-t cache] [-i aio] IMAGE COMMAND...\n");
        return 2;
    }
    loop_init();
    devlock_lock();
    if (block_open(&bd, argv[optind], &o, &err) < 0) {
        fprintf(stderr, "blk-io: %s\n", err);
        free(err);
        return 1;
    }
    for (i = optind + 1; i < argc && !failed;) {
        const char *cmd = argv[i];
        int left = argc - i - 1;

        if (!strcmp(cmd, "--")) {
            i++;
        } else if ((!strcmp(cmd, "write") || !strcmp(cmd, "read")) && left >= 3) {
            uint64_t pat = num(argv[i + 1]), off = num(argv[i + 2]), len = num(argv[i + 3]);
            struct wreq *w = xnew(struct wreq);

            w->buf = xmalloc(len);
            memset(w->buf, (int)pat, len);
            w->off = off;
            w->len = len;
            w->v = (struct iovec){ w->buf, len };
            pending++;
            if (cmd[0] == 'w') {
                block_aio_writev(bd, off, &w->v, 1, wdone, w);
            } else {
                w->expect = w->buf;
                w->buf = xmalloc(len);
                w->v.iov_base = w->buf;
                w->read = true;
                block_aio_readv(bd, off, &w->v, 1, wdone, w);
            }
            wait_all();
            i += 4;
        } else if ((!strcmp(cmd, "discard") || !strcmp(cmd, "zero")) && left >= 2) {
            pending++;
            if (cmd[0] == 'd')
                block_aio_discard(bd, num(argv[i + 1]), num(argv[i + 2]), done, NULL);
            else
                block_aio_write_zeroes(bd, num(argv[i + 1]), num(argv[i + 2]), BLOCK_ZERO_MAY_UNMAP, done, NULL);
            wait_all();
            i += 3;
        } else if (!strcmp(cmd, "flush")) {
            pending++;
            block_aio_flush(bd, done, NULL);
            wait_all();
            i++;
        } else if (!strcmp(cmd, "workload") && left >= 3) {
            failed |= workload(num(argv[i + 1]), (long)num(argv[i + 2]), argv[i + 3]);
            i += 4;
        } else if (!strcmp(cmd, "crash") && left >= 2) {
            failed |= crash(num(argv[i + 1]), argv[i + 2]);
            i += 3;
        } else if (!strcmp(cmd, "verify") && left >= 1) {
            failed |= verify(argv[i + 1]);
            i += 2;
        } else if (!strncmp(cmd, "snapshot-", 9) && left >= 1) {
            struct block_state *bs = block_dev_state(bd);
            int r;

            block_drain(bd);
            if (!strcmp(cmd, "snapshot-create"))
                r = qcow2_snapshot_create(bs, argv[i + 1], &err);
            else if (!strcmp(cmd, "snapshot-apply"))
                r = qcow2_snapshot_apply(bs, argv[i + 1], &err);
            else
                r = qcow2_snapshot_delete(bs, argv[i + 1], &err);
            if (r < 0) {
                fprintf(stderr, "blk-io: %s\n", err ? err : strerror(-r));
                failed = 1;
            }
            i += 2;
        } else if (!strcmp(cmd, "compressed") && left >= 2) {
            struct block_state *bs = block_dev_state(bd);
            struct qcow2 *s = qcow2_of(bs);
            uint8_t *buf = xmalloc(s->cluster_size);

            memset(buf, (int)num(argv[i + 2]), s->cluster_size);
            if (qcow2_write_compressed(bs, num(argv[i + 1]), buf, s->cluster_size) < 0)
                failed = 1;
            free(buf);
            i += 3;
        } else {
            fprintf(stderr, "blk-io: unknown command or missing arguments: %s\n", cmd);
            failed = 1;
        }
    }
    block_close(bd);
    return failed;
}
