/* img-ops.c: skiff-img rebase, commit and bench */
#define LOG_PREFIX "skiff-img: "
#include "tools/img.h"
#include "util/main-loop.h" // loop_iterate

#define STEP (1 * MiB)

/* ---- rebase ---- */

int img_rebase(int argc, char **argv)
{
    const char *fmt = NULL, *cache = "writeback", *scache = NULL, *nb = NULL, *nbfmt = NULL, *file;
    bool unsafe = false, progress = false, quiet = false, have_b = false;
    struct block_dev *bd = NULL, *newb = NULL;
    struct block_state *bs;
    uint8_t *b1 = NULL, *b2 = NULL;
    char *path = NULL;
    int c, ret = 1;

    while ((c = getopt(argc, argv, ":hqf:t:T:pub:F:U")) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 't': cache = optarg; break;
        case 'T': scache = optarg; break;
        case 'p': progress = true; break;
        case 'u': unsafe = true; break;
        case 'b': nb = optarg; have_b = true; break;
        case 'F': nbfmt = optarg; break;
        case 'U': break;
        default:
            img_error("rebase: invalid option -- '%c'", optopt);
            return 1;
        }
    }
    if (quiet)
        progress = false;
    if (optind + 1 != argc || !have_b) {
        img_error(!have_b ? "Must specify backing file (-b) or use '-b \"\"' to remove it" :
                  "Expecting one image file name");
        return 1;
    }
    file = argv[optind];
    if (nb && !*nb)
        nb = NULL;
    bd = img_open(file, fmt, true, cache, unsafe, false);
    if (!bd)
        return 1;
    bs = block_dev_state(bd);
    if (!qcow2_of(bs)) {
        img_error("%s: only qcow2 images have a backing file", file);
        goto out;
    }
    if (nb) {
        path = bstate_backing_path(file, nb);
        newb = img_open(path, nbfmt, false, scache, false, false);
        if (!newb)
            goto out;
        if (!nbfmt)
            nbfmt = block_format(newb);
    }
    if (!unsafe) {
        /* where the image does not decide, keep what it showed through the old backing file */
        b1 = xmalloc(STEP);
        b2 = xmalloc(STEP);
        img_progress(progress, 0);
        for (uint64_t off = 0; off < bs->size;) {
            uint64_t pnum, map, n;
            int st = bstate_block_status(bs, off, MIN(bs->size - off, STEP), &pnum, &map);

            if (st < 0) {
                img_error("error while reading image metadata: %s", strerror(-st));
                goto out;
            }
            n = pnum;
            if (!(st & BSTAT_ALLOCATED)) {
                uint64_t nsz = newb ? block_size(newb) : 0;

                ret = bs->backing ? bstate_pread(bs->backing, off, b1, n) : (memset(b1, 0, n), 0);
                memset(b2, 0, n);
                if (ret == 0 && newb && off < nsz)
                    ret = block_pread(newb, off, b2, MIN(n, nsz - off));
                if (ret == 0 && memcmp(b1, b2, n)) {
                    struct iovec v = { b1, n };
                    struct qiov q = { &v, 1, 1, n };

                    ret = bs->drv->pwritev(bs, off, &q);
                }
                if (ret < 0) {
                    img_error("error while rebasing at offset %" PRIu64 ": %s", off, strerror(-ret));
                    ret = 1;
                    goto out;
                }
            }
            off += n;
            img_progress(progress, off * 100.0 / bs->size);
        }
        if (progress)
            printf("\n");
    }
    ret = qcow2_change_backing(bs, nb, nb ? nbfmt : NULL);
    if (ret < 0) {
        img_error("Could not change the backing file to '%s': %s", nb ? nb : "", strerror(-ret));
        ret = 1;
        goto out;
    }
    ret = 0;
out:
    free(b1);
    free(b2);
    free(path);
    if (newb)
        block_close(newb);
    block_close(bd);
    return ret;
}

/* ---- commit ---- */

int img_commit(int argc, char **argv)
{
    const char *fmt = NULL, *cache = "writeback", *base_name = NULL, *file;
    bool quiet = false, keep = false, progress = false;
    struct block_dev *bd = NULL, *base = NULL;
    struct block_state *bs, *target = NULL;
    uint8_t *buf = NULL;
    int c, ret = 1, depth = 0;
    char *bpath = NULL;

    while ((c = getopt(argc, argv, ":hqf:t:b:dpr:")) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 't': cache = optarg; break;
        case 'b': base_name = optarg; break;
        case 'd': keep = true; break;
        case 'p': progress = true; break;
        case 'r': break;
        default:
            img_error("commit: invalid option -- '%c'", optopt);
            return 1;
        }
    }
    if (quiet)
        progress = false;
    if (!img_one_file(argc, argv))
        return 1;
    file = argv[optind];
    bd = img_open(file, fmt, !keep, cache, false, false);
    if (!bd)
        return 1;
    bs = block_dev_state(bd);
    if (!bs->backing) {
        img_error("Image does not have a backing file");
        goto out;
    }
    /* the base: the backing file, or the named image further down */
    for (struct block_state *p = bs->backing; p; p = p->backing, depth++) {
        if (!base_name || !strcmp(p->filename, base_name) ||
            (p->overlay && p->overlay->backing_file && !strcmp(p->overlay->backing_file, base_name))) {
            target = p;
            break;
        }
    }
    if (!target) {
        img_error("Did not find '%s' in the backing chain of '%s'", base_name, file);
        goto out;
    }
    bpath = xstrdup(target->filename);
    base = img_open(bpath, target->drv->name, true, cache, true, false);
    if (!base)
        goto out;
    if (block_size(base) < bs->size && block_resize(base, bs->size) < 0) {
        img_error("Could not resize the base image '%s' to %" PRIu64 " bytes", bpath, bs->size);
        goto out;
    }
    buf = xmalloc(STEP);
    img_progress(progress, 0);
    for (uint64_t off = 0; off < bs->size;) {
        uint64_t n = MIN(bs->size - off, STEP), pnum, map;
        struct block_state *p = bs;
        bool above = false;
        int st;

        /* copied when some layer above the base decides this range */
        for (; p != target; p = p->backing) {
            st = bstate_block_status(p, off, n, &pnum, &map);
            if (st < 0) {
                img_error("error while reading metadata: %s", strerror(-st));
                goto out;
            }
            n = pnum;
            if (st & BSTAT_ALLOCATED) {
                above = true;
                break;
            }
        }
        if (above) {
            ret = bstate_pread(bs, off, buf, n);
            if (ret == 0)
                ret = block_pwrite(base, off, buf, n);
            if (ret < 0) {
                img_error("error while committing at offset %" PRIu64 ": %s", off, strerror(-ret));
                ret = 1;
                goto out;
            }
        }
        off += n;
        img_progress(progress, off * 100.0 / bs->size);
    }
    ret = block_flush(base);
    if (ret == 0 && !keep && qcow2_of(bs) && target == bs->backing)
        ret = qcow2_make_empty(bs);
    if (ret < 0) {
        img_error("error while finishing the commit: %s", strerror(-ret));
        ret = 1;
        goto out;
    }
    if (progress)
        printf("\n");
    if (!quiet)
        printf("Image committed.\n");
    ret = 0;
out:
    free(buf);
    free(bpath);
    if (base)
        block_close(base);
    block_close(bd);
    return ret;
}

/* ---- bench ---- */

struct bench {
    struct block_dev *bd;
    uint64_t size, bufsize, step, offset, image_size;
    int depth, in_flight;
    long n;                 /* requests still to submit */
    bool write, drain;
    long flush_interval, since_flush;
    bool flushing;
    uint8_t *buf;
    int error;
};

static void bench_submit(struct bench *b);

static void bench_cb(void *opaque, int ret)
{
    struct bench *b = opaque;

    if (ret < 0 && !b->error) {
        img_error("Failed request: %s", strerror(-ret));
        b->error = ret;
        b->n = 0;
    }
    b->in_flight--;
    bench_submit(b);
}

static void bench_flush_cb(void *opaque, int ret)
{
    struct bench *b = opaque;

    b->flushing = false;
    bench_cb(opaque, ret);
}

static void bench_submit(struct bench *b)
{
    if (b->flushing)
        return;
    if (b->flush_interval && b->since_flush >= b->flush_interval && (!b->drain || b->in_flight == 0)) {
        b->since_flush = 0;
        b->flushing = true;
        b->in_flight++;
        block_aio_flush(b->bd, bench_flush_cb, b);
        return;
    }
    while (b->n > 0 && b->in_flight < b->depth) {
        struct iovec v = { b->buf + (uint64_t)b->in_flight * 0, b->bufsize };
        uint64_t off = b->offset;

        if (b->flush_interval && b->since_flush >= b->flush_interval)
            break;
        b->in_flight++;
        b->n--;
        b->since_flush++;
        b->offset += b->step;
        b->offset = b->image_size ? b->offset % b->image_size : 0;
        if (b->write)
            block_aio_writev(b->bd, off, &v, 1, bench_cb, b);
        else
            block_aio_readv(b->bd, off, &v, 1, bench_cb, b);
    }
}

int img_bench(int argc, char **argv)
{
    const char *fmt = NULL, *cache = "writeback", *aio = NULL;
    struct bench b = { .depth = 64, .bufsize = 4096, .drain = true };
    uint64_t count = 75000, v, pattern = 0;
    bool quiet = false, step_set = false;
    struct block_open_opts o = { 0 };
    char *err = NULL;
    int64_t t;
    int c;
    static const struct option lo[] = {
        { "flush-interval", required_argument, NULL, 'I' },
        { "no-drain", no_argument, NULL, 'D' },
        { "pattern", required_argument, NULL, 'P' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };

    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (parse_uint(optarg, &count) < 0) {
                img_error("Invalid request count specified");
                return 1;
            }
            break;
        case 'd':
            if (parse_uint(optarg, &v) < 0 || !v || v > 4096) {
                img_error("Invalid queue depth specified");
                return 1;
            }
            b.depth = v;
            break;
        case 'f': fmt = optarg; break;
        case 'n': aio = "native"; break;
        case 'i': aio = optarg; break;
        case 'o':
            if (parse_size(optarg, 1, &b.offset) < 0) {
                img_error("Invalid offset specified");
                return 1;
            }
            break;
        case 'q': quiet = true; break;
        case 's':
            if (parse_size(optarg, 1, &b.bufsize) < 0 || !b.bufsize || b.bufsize > 64 * MiB) {
                img_error("Invalid buffer size specified");
                return 1;
            }
            break;
        case 'S':
            if (parse_size(optarg, 1, &b.step) < 0) {
                img_error("Invalid step size specified");
                return 1;
            }
            step_set = true;
            break;
        case 't': cache = optarg; break;
        case 'w': b.write = true; break;
        case 'I':
            if (parse_uint(optarg, &v) < 0) {
                img_error("Invalid flush interval specified");
                return 1;
            }
            b.flush_interval = v;
            break;
        case 'D': b.drain = false; break;
        case 'P':
            if (parse_uint(optarg, &pattern) < 0 || pattern > 0xff) {
                img_error("Invalid pattern byte specified");
                return 1;
            }
            break;
        case 'U': break;
        default:
            img_error("bench: invalid option");
            return 1;
        }
    }
    if (!img_one_file(argc, argv))
        return 1;
    if (b.flush_interval && !b.write) {
        img_error("--flush-interval is only available in write tests");
        return 1;
    }
    if (!step_set)
        b.step = b.bufsize;
    o.format = fmt;
    o.read_only = !b.write;
    if (block_parse_cache(cache, &o.cache) < 0 || (aio && block_parse_aio(aio, &o.aio) < 0)) {
        img_error("Invalid %s option", aio && block_parse_aio(aio, &o.aio) < 0 ? "aio" : "cache");
        return 1;
    }
    if (o.aio == BLOCK_AIO_NATIVE && o.cache != BLOCK_CACHE_NONE) {
        img_error("Could not open '%s': aio=native was specified, but it requires cache.direct=on, which was not "
                  "specified.", argv[optind]);
        return 1;
    }
    if (block_open(&b.bd, argv[optind], &o, &err) < 0) {
        img_error("%s", err);
        free(err);
        return 1;
    }
    b.image_size = block_size(b.bd);
    b.n = count;
    b.buf = bfile_memalign(b.bufsize);
    memset(b.buf, (int)pattern, b.bufsize);
    if (!quiet)
        printf("Sending %" PRIu64 " %s requests, %" PRIu64 " bytes each, %d in parallel (starting at offset %" PRIu64
               ", step size %" PRIu64 ")\n", count, b.write ? "write" : "read", b.bufsize, b.depth, b.offset, b.step);
    t = clock_monotonic_ns();
    bench_submit(&b);
    while (b.n > 0 || b.in_flight > 0)
        loop_iterate(true);
    t = clock_monotonic_ns() - t;
    if (!quiet && !b.error)
        printf("Run completed in %3.3f seconds.\n", t / 1e9);
    block_close(b.bd);
    free(b.buf);
    return b.error ? 1 : 0;
}
