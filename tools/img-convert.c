/* img-convert.c: skiff-img convert (sparse, compressed, with a backing file, with progress) and compare */
#define LOG_PREFIX "skiff-img: "
#include "tools/img.h"

#include <pthread.h>
#include <stdatomic.h>

#define CHUNK (2 * MiB)

struct convert {
    struct block_dev **src;
    uint64_t *src_size;
    int nsrc;
    uint64_t total;
    struct block_dev *dst;
    struct block_state *dbs;
    struct block_state *dst_backing;    /* what the target reads through, or NULL */
    bool compress, fresh, progress;
    uint64_t granule;                   /* -S: zero runs this long are not written */
    uint64_t chunk;
    atomic_uint_fast64_t next;          /* next chunk index */
    atomic_uint_fast64_t done_bytes;
    atomic_int error;
    pthread_mutex_t plock;
    int last_pct;
};

/* Read guest [off, off+len) of the concatenated sources. */
static int convert_read(struct convert *cv, uint64_t off, uint8_t *buf, uint64_t len)
{
    for (int i = 0; i < cv->nsrc && len; i++) {
        uint64_t sz = cv->src_size[i];

        if (off >= sz) {
            off -= sz;
            continue;
        }
        uint64_t n = MIN(len, sz - off);
        int ret = block_pread(cv->src[i], off, buf, n);

        if (ret < 0)
            return ret;
        buf += n;
        len -= n;
        off = 0;
    }
    if (len)
        memset(buf, 0, len);
    return 0;
}

/* Does [off, off+len) of the sources read as zeros without reading? Sets *pnum. */
static bool convert_is_zero(struct convert *cv, uint64_t off, uint64_t len, uint64_t *pnum)
{
    *pnum = len;
    for (int i = 0; i < cv->nsrc; i++) {
        uint64_t sz = cv->src_size[i];

        if (off >= sz) {
            off -= sz;
            continue;
        }
        struct block_state *bs = block_dev_state(cv->src[i]);
        uint64_t map, n;
        int st;

        /* down the chain until a layer decides */
        len = MIN(len, sz - off);
        for (;;) {
            st = bstate_block_status(bs, off, len, &n, &map);
            if (st < 0) {
                *pnum = MIN(len, (uint64_t)4096);
                return false;
            }
            if ((st & BSTAT_ALLOCATED) || !bs->backing)
                break;
            len = n;
            bs = bs->backing;
        }
        *pnum = n;
        return (st & BSTAT_ZERO) && !(st & BSTAT_DATA);
    }
    return true;
}

static void convert_progress(struct convert *cv, uint64_t n)
{
    uint64_t d = atomic_fetch_add(&cv->done_bytes, n) + n;
    int pct = cv->total ? (int)(d * 100 / cv->total) : 100;

    if (!cv->progress)
        return;
    pthread_mutex_lock(&cv->plock);
    if (pct > cv->last_pct) {
        cv->last_pct = pct;
        img_progress(true, cv->total ? d * 100.0 / cv->total : 100.0);
    }
    pthread_mutex_unlock(&cv->plock);
}

enum { GRAN_SKIP, GRAN_ZERO, GRAN_DATA };

static int convert_kind(struct convert *cv, const uint8_t *buf, const uint8_t *bbuf, uint64_t p, uint64_t n)
{
    if (cv->dst_backing && !memcmp(buf + p, bbuf + p, n))
        return GRAN_SKIP;
    if (buf_is_zero(buf + p, n))
        return cv->fresh && !cv->dst_backing ? GRAN_SKIP : GRAN_ZERO;
    return GRAN_DATA;
}

/* Write one chunk: the granules that hold data (and, over a backing file, those that differ from it). */
static int convert_chunk(struct convert *cv, uint64_t off, uint64_t len, uint8_t *buf, uint8_t *bbuf)
{
    uint64_t g = cv->granule, p = 0;
    int ret;

    ret = convert_read(cv, off, buf, len);
    if (ret < 0)
        return ret;
    if (cv->dst_backing) {
        ret = bstate_pread(cv->dst_backing, off, bbuf, len);
        if (ret < 0)
            return ret;
    }
    if (cv->compress) {
        struct qcow2 *s = qcow2_of(cv->dbs);

        for (p = 0; p < len && ret == 0; p += s->cluster_size) {
            uint64_t n = MIN(s->cluster_size, len - p);

            if (buf_is_zero(buf + p, n) && (!cv->dst_backing || buf_is_zero(bbuf + p, n)) && cv->fresh)
                continue;
            if (cv->dst_backing && !memcmp(buf + p, bbuf + p, n))
                continue;
            ret = qcow2_write_compressed(cv->dbs, off + p, buf + p, n);
        }
        return ret;
    }
    /* granules are skipped (as in the backing file, or zero in a fresh image), zeroed, or written */
    while (p < len && ret == 0) {
        uint64_t q = p;
        int kind = convert_kind(cv, buf, bbuf, p, MIN(g, len - p));

        while (q < len && convert_kind(cv, buf, bbuf, q, MIN(g, len - q)) == kind)
            q += MIN(g, len - q);
        if (kind == GRAN_ZERO)
            ret = block_write_zeroes(cv->dst, off + p, q - p, BLOCK_ZERO_MAY_UNMAP);
        else if (kind == GRAN_DATA)
            ret = block_pwrite(cv->dst, off + p, buf + p, q - p);
        p = q;
    }
    return ret;
}

static void *convert_worker(void *opaque)
{
    struct convert *cv = opaque;
    uint8_t *buf = bfile_memalign(cv->chunk), *bbuf = cv->dst_backing ? bfile_memalign(cv->chunk) : NULL;

    while (!atomic_load(&cv->error)) {
        uint64_t i = atomic_fetch_add(&cv->next, 1), off = i * cv->chunk, pnum, end;
        int ret = 0;

        if (off >= cv->total)
            break;
        end = MIN(cv->total, off + cv->chunk);
        /* whole regions that read as zeros need no reading */
        while (off < end && ret == 0) {
            if (convert_is_zero(cv, off, end - off, &pnum)) {
                if (!cv->fresh || cv->dst_backing)
                    ret = block_write_zeroes(cv->dst, off, pnum, BLOCK_ZERO_MAY_UNMAP);
            } else {
                uint64_t a = ALIGN_DOWN(off, cv->granule), b = MIN(end, ALIGN_UP(off + pnum, cv->granule));

                if (cv->compress) {
                    uint64_t cs = qcow2_of(cv->dbs)->cluster_size;

                    a = ALIGN_DOWN(off, cs);
                    b = MIN(end, ALIGN_UP(off + pnum, cs));
                }
                a = MAX(a, i * cv->chunk);
                ret = convert_chunk(cv, a, b - a, buf, bbuf);
                pnum = b - off;
            }
            off += pnum;
        }
        if (ret < 0) {
            atomic_store(&cv->error, ret);
            break;
        }
        convert_progress(cv, end - i * cv->chunk);
    }
    free(buf);
    free(bbuf);
    return NULL;
}

int img_convert(int argc, char **argv)
{
    struct img_create_opts co = { 0 };
    const char *fmt = NULL, *ofmt = "raw", *cache = "unsafe", *scache = NULL, *out;  /* qemu-img convert: unsafe */
    bool quiet = false, no_create = false, compress = false, progress = false;
    uint64_t sparse = 4096, nthreads = 8;
    struct convert cv = { .plock = PTHREAD_MUTEX_INITIALIZER, .last_pct = -1 };
    int c, ret = 1, nsrc;
    pthread_t th[16];

    while ((c = getopt(argc, argv, ":hcpqnf:t:T:O:B:F:o:S:m:WU")) != -1) {
        switch (c) {
        case 'c': compress = true; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 'n': no_create = true; break;
        case 'f': fmt = optarg; break;
        case 't': cache = optarg; break;
        case 'T': scache = optarg; break;
        case 'O': ofmt = optarg; break;
        case 'B': free(co.backing_file); co.backing_file = xstrdup(optarg); break;
        case 'F': free(co.backing_fmt); co.backing_fmt = xstrdup(optarg); break;
        case 'o':
            if (img_parse_create_opts(optarg, &co) < 0)
                goto out0;
            break;
        case 'S':
            if (parse_size(optarg, 1, &sparse) < 0 || !sparse || sparse & 511 || sparse > CHUNK) {
                img_error("Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to 2M.");
                goto out0;
            }
            break;
        case 'm':
            if (parse_uint(optarg, &nthreads) < 0 || !nthreads || nthreads > 16) {
                img_error("Invalid number of coroutines. Allowed number of coroutines is between 1 and 16");
                goto out0;
            }
            break;
        case 'W': case 'U': break;
        default:
            img_error("convert: invalid option -- '%c'", optopt);
            goto out0;
        }
    }
    if (quiet)
        progress = false;
    nsrc = argc - optind - 1;
    if (nsrc < 1) {
        img_error("Must specify image file name");
        goto out0;
    }
    if (compress && strcmp(ofmt, "qcow2")) {
        img_error("Compression not supported for this file format");
        goto out0;
    }
    out = argv[argc - 1];
    cv.src = xcalloc(nsrc, sizeof(*cv.src));
    cv.src_size = xcalloc(nsrc, sizeof(uint64_t));
    for (int i = 0; i < nsrc; i++) {
        cv.src[i] = img_open(argv[optind + i], fmt, false, scache, false, false);
        if (!cv.src[i])
            goto out;
        cv.nsrc++;
        cv.src_size[i] = block_size(cv.src[i]);
        cv.total += cv.src_size[i];
    }
    if (!no_create) {
        if (!co.size_set)
            co.q.size = cv.total;
        if (co.backing_file && !co.backing_fmt) {
            char *p = bstate_backing_path(out, co.backing_file);
            struct block_dev *b = img_open(p, NULL, false, NULL, false, false);

            free(p);
            if (!b)
                goto out;
            co.backing_fmt = xstrdup(block_format(b));
            block_close(b);
        }
        if (img_create_image(out, ofmt, &co, true) < 0)
            goto out;
    }
    cv.dst = img_open(out, no_create ? NULL : ofmt, true, cache, false, false);
    if (!cv.dst)
        goto out;
    cv.dbs = block_dev_state(cv.dst);
    if (compress && !qcow2_of(cv.dbs)) {
        img_error("Compression not supported for this file format");
        goto out;
    }
    if (no_create && block_size(cv.dst) < cv.total) {
        img_error("Target image is too small for the source (%" PRIu64 " < %" PRIu64 " bytes)", block_size(cv.dst),
                  cv.total);
        goto out;
    }
    cv.dst_backing = cv.dbs->backing;
    cv.fresh = !no_create;
    cv.compress = compress;
    cv.progress = progress;
    cv.granule = sparse;
    cv.chunk = CHUNK;
    if (compress)
        cv.chunk = MAX(CHUNK, qcow2_of(cv.dbs)->cluster_size);
    /* several chunks in flight, as qemu-img's coroutines: compression in parallel, copies overlapped */
    if (!compress)
        nthreads = MIN(nthreads, 4);
    img_progress(progress, 0);
    for (uint64_t i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, convert_worker, &cv);
    for (uint64_t i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    if (atomic_load(&cv.error)) {
        img_error("error while writing at byte %" PRIu64 ": %s", (uint64_t)atomic_load(&cv.done_bytes),
                  strerror(-atomic_load(&cv.error)));
        goto out;
    }
    ret = block_flush(cv.dst);
    if (ret < 0) {
        img_error("error while flushing '%s': %s", out, strerror(-ret));
        ret = 1;
        goto out;
    }
    img_progress(progress, 100);
    if (progress)
        printf("\n");
    ret = 0;
out:
    if (cv.dst)
        block_close(cv.dst);
    for (int i = 0; i < cv.nsrc; i++)
        block_close(cv.src[i]);
    free(cv.src);
    free(cv.src_size);
out0:
    free(co.backing_file);
    free(co.backing_fmt);
    return ret;
}

/* ---- compare ---- */

/* Is the whole range zero in image bd (by status, else by reading)? Sets *bad to the first non-zero byte. */
static int range_is_zero(struct block_dev *bd, uint64_t off, uint64_t len, uint8_t *buf, uint64_t *bad)
{
    while (len) {
        uint64_t n = MIN(len, (uint64_t)CHUNK);
        int ret = block_pread(bd, off, buf, n);

        if (ret < 0)
            return ret;
        if (!buf_is_zero(buf, n)) {
            for (uint64_t i = 0; i < n; i++)
                if (buf[i]) {
                    *bad = off + i;
                    return 1;
                }
        }
        off += n;
        len -= n;
    }
    return 0;
}

static uint64_t first_diff(const uint8_t *a, const uint8_t *b, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return i;
    return n;
}

static int status_of(struct block_dev *bd, uint64_t off, uint64_t len, uint64_t *pnum, bool *zero, bool *alloc)
{
    struct block_state *bs = block_dev_state(bd);
    uint64_t map;
    int st;

    for (;;) {
        st = bstate_block_status(bs, off, len, pnum, &map);
        if (st < 0)
            return st;
        if ((st & BSTAT_ALLOCATED) || !bs->backing)
            break;
        len = *pnum;
        bs = bs->backing;
    }
    *zero = (st & BSTAT_ZERO) && !(st & BSTAT_DATA);
    *alloc = st & BSTAT_ALLOCATED;
    return 0;
}

int img_compare(int argc, char **argv)
{
    const char *fmt1 = NULL, *fmt2 = NULL, *cache = NULL;
    bool quiet = false, strict = false, progress = false;
    struct block_dev *a = NULL, *b = NULL;
    uint8_t *ba = NULL, *bb = NULL;
    uint64_t sa, sb, common, off, bad;
    int c, ret = 2;

    while ((c = getopt(argc, argv, ":hf:F:T:pqsU")) != -1) {
        switch (c) {
        case 'f': fmt1 = optarg; break;
        case 'F': fmt2 = optarg; break;
        case 'T': cache = optarg; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 's': strict = true; break;
        case 'U': break;
        default:
            img_error("compare: invalid option -- '%c'", optopt);
            return 2;
        }
    }
    if (quiet)
        progress = false;
    if (optind + 2 != argc) {
        img_error("Expecting two image file names");
        return 2;
    }
    a = img_open(argv[optind], fmt1, false, cache, false, false);
    if (a)
        b = img_open(argv[optind + 1], fmt2 ? fmt2 : fmt1, false, cache, false, false);
    if (!a || !b)
        goto out;
    sa = block_size(a);
    sb = block_size(b);
    if (strict && sa != sb) {
        if (!quiet)
            printf("Strict mode: Image size mismatch!\n");
        ret = 1;
        goto out;
    }
    ba = xmalloc(CHUNK);
    bb = xmalloc(CHUNK);
    common = MIN(sa, sb);
    img_progress(progress, 0);
    for (off = 0; off < common;) {
        uint64_t na, nb, n;
        bool za, zb, aa, ab;
        int r;

        if (status_of(a, off, MIN(common - off, (uint64_t)CHUNK), &na, &za, &aa) < 0 ||
            status_of(b, off, MIN(common - off, (uint64_t)CHUNK), &nb, &zb, &ab) < 0) {
            img_error("error while reading metadata at offset %" PRIu64, off);
            goto out;
        }
        n = MIN(na, nb);
        if (strict && aa != ab) {
            if (!quiet)
                printf("Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
            ret = 1;
            goto out;
        }
        if (!(za && zb)) {
            r = block_pread(a, off, ba, n);
            if (r == 0)
                r = block_pread(b, off, bb, n);
            if (r < 0) {
                img_error("Error while reading offset %" PRIu64 ": %s", off, strerror(-r));
                goto out;
            }
            if (memcmp(ba, bb, n)) {
                if (!quiet)
                    printf("Content mismatch at offset %" PRIu64 "!\n", ALIGN_DOWN(off + first_diff(ba, bb, n), 512));
                ret = 1;
                goto out;
            }
        }
        off += n;
        img_progress(progress, common ? off * 100.0 / MAX(sa, sb) : 100);
    }
    if (sa != sb) {
        struct block_dev *big = sa > sb ? a : b;
        int r = range_is_zero(big, common, MAX(sa, sb) - common, ba, &bad);

        if (r < 0) {
            img_error("Error while reading offset %" PRIu64 ": %s", common, strerror(-r));
            goto out;
        }
        if (r > 0) {
            if (!quiet)
                printf("Content mismatch at offset %" PRIu64 "!\n", ALIGN_DOWN(bad, 512));
            ret = 1;
            goto out;
        }
        if (!quiet)
            printf("Warning: Image size mismatch!\n");
    }
    img_progress(progress, 100);
    if (progress)
        printf("\n");
    if (!quiet)
        printf("Images are identical.\n");
    ret = 0;
out:
    free(ba);
    free(bb);
    if (b)
        block_close(b);
    if (a)
        block_close(a);
    return ret;
}
