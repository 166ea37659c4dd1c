/* skiff-img.c: the image tool: subcommand dispatch and what the subcommands share (qemu-img compatible) */
#define LOG_PREFIX "skiff-img: "
#include "tools/img.h"
#include "util/log.h"
#include "util/main-loop.h" // loop_init, devlock_lock
#include "util/opts.h"

#include <math.h>
#include <stdarg.h>
#include <unistd.h>

void img_error(const char *fmt, ...)
{
    va_list ap;

    fputs("skiff-img: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

struct block_dev *img_open(const char *name, const char *fmt, bool rw, const char *cache, bool no_backing,
                           bool check)
{
    struct block_open_opts o = { .format = fmt, .read_only = !rw, .no_backing = no_backing, .check = check };
    struct block_dev *bd;
    char *err = NULL;

    if (cache && block_parse_cache(cache, &o.cache) < 0) {
        img_error("invalid cache option: '%s' (use none, writeback or unsafe)", cache);
        return NULL;
    }
    if (block_open(&bd, name, &o, &err) < 0) {
        img_error("%s", err ? err : "cannot open");
        free(err);
        return NULL;
    }
    return bd;
}

char *img_size_str(uint64_t v)
{
    static const char *const suffix[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int e;

    /* as QEMU: switch to the next unit once the integer part reaches 1000 */
    frexp(v / (1000.0 / 1024.0), &e);
    e = (e - 1) / 10;
    if (e < 0)
        e = 0;
    return xasprintf("%0.3g %sB", (double)v / (double)(1ULL << (e * 10)), suffix[e]);
}

int img_parse_output(const char *s, enum img_output *out)
{
    if (!strcmp(s, "human"))
        *out = OUT_HUMAN;
    else if (!strcmp(s, "json"))
        *out = OUT_JSON;
    else {
        img_error("--output must be used with human or json as argument.");
        return -EINVAL;
    }
    return 0;
}

char *img_json_str(const char *s)
{
    size_t n = 0;
    char *o = xmalloc(strlen(s) * 6 + 3);

    o[n++] = '"';
    for (; *s; s++) {
        unsigned char c = *s;

        if (c == '"' || c == '\\') {
            o[n++] = '\\';
            o[n++] = c;
        } else if (c < 0x20) {
            n += sprintf(o + n, "\\u%04x", c);
        } else {
            o[n++] = c;
        }
    }
    o[n++] = '"';
    o[n] = 0;
    return o;
}

/* QEMU's qdict bucket for a key (tdb_hash modulo 512): it decides the order of JSON output */
static unsigned qdict_bucket(const char *k)
{
    unsigned v = 0x238F13AF * (unsigned)strlen(k);

    for (unsigned i = 0; k[i]; i++)
        v += (unsigned)(unsigned char)k[i] << (i * 5 % 24);
    return (1103515243u * v + 12345u) % 512;
}

static int jfield_cmp(const void *a, const void *b)
{
    return (int)qdict_bucket(((const struct img_jfield *)a)->key) -
           (int)qdict_bucket(((const struct img_jfield *)b)->key);
}

void img_json_fields(struct img_jfield *f, size_t n)
{
    bool first = true;

    qsort(f, n, sizeof(*f), jfield_cmp);
    printf("{\n");
    for (size_t i = 0; i < n; i++) {
        if (!f[i].always && !f[i].str && !f[i].num)
            continue;
        printf("%s    \"%s\": ", first ? "" : ",\n", f[i].key);
        if (f[i].str)
            printf("%s", f[i].str);
        else
            printf("%" PRIu64, f[i].num);
        first = false;
    }
    printf("\n}\n");
}

bool img_one_file(int argc, char **argv)
{
    if (optind + 1 == argc)
        return true;
    img_error("Expecting one image file name");
    return false;
}

void img_progress(bool on, double pct)
{
    if (!on)
        return;
    printf("    (%3.2f/100%%)\r", pct);
    fflush(stdout);
}

int img_parse_size_arg(const char *s, uint64_t cur, uint64_t *out, bool *shrink)
{
    uint64_t v;
    char sign = 0;

    if (*s == '+' || *s == '-')
        sign = *s++;
    if (parse_size(s, 1, &v) < 0)
        return -EINVAL;
    if (sign == '+')
        *out = cur + v;
    else if (sign == '-') {
        if (v > cur)
            return -ERANGE;
        *out = cur - v;
    } else
        *out = v;
    if (shrink)
        *shrink = *out < cur;
    return 0;
}

int img_parse_create_opts(const char *s, struct img_create_opts *o)
{
    char *err = NULL;
    struct opts *op = opts_parse(s, NULL, &err);
    const char *v;
    uint64_t n;
    bool b;
    int ret = -EINVAL;

    if (!op) {
        img_error("invalid options '%s': %s", s, err ? err : "");
        free(err);
        return -EINVAL;
    }
    if ((v = opts_get(op, "compat"))) {
        if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
            o->q.version = 2;
        else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
            o->q.version = 3;
        else {
            img_error("Invalid parameter '%s': compat must be 0.10 or 1.1", v);
            goto out;
        }
    }
    if (opts_has(op, "cluster_size")) {
        if (opts_get_size(op, "cluster_size", &n) < 0) {
            img_error("Parameter 'cluster_size' expects a size");
            goto out;
        }
        o->q.cluster_size = n;
    }
    if (opts_has(op, "refcount_bits")) {
        if (opts_get_uint(op, "refcount_bits", &n) < 0 || n > 64) {
            img_error("Parameter 'refcount_bits' expects a number");
            goto out;
        }
        o->q.refcount_bits = n;
    }
    if (opts_has(op, "lazy_refcounts")) {
        if (opts_get_bool(op, "lazy_refcounts", &b) < 0) {
            img_error("Parameter 'lazy_refcounts' expects 'on' or 'off'");
            goto out;
        }
        o->q.lazy_refcounts = b;
    }
    if (opts_has(op, "size")) {
        if (opts_get_size(op, "size", &n) < 0) {
            img_error("Parameter 'size' expects a size");
            goto out;
        }
        o->q.size = n;
        o->size_set = true;
    }
    if ((v = opts_get(op, "backing_file"))) {
        free(o->backing_file);
        o->backing_file = xstrdup(v);
    }
    if ((v = opts_get(op, "backing_fmt"))) {
        free(o->backing_fmt);
        o->backing_fmt = xstrdup(v);
    }
    if ((v = opts_get(op, "preallocation")) && strcmp(v, "off")) {
        img_error("preallocation=%s is not supported (only off)", v);
        goto out;
    }
    if ((v = opts_get(op, "compression_type")) && strcmp(v, "zlib")) {
        img_error("compression_type=%s is not supported (only zlib)", v);
        goto out;
    }
    if ((v = opts_get(op, "extended_l2")) && strcmp(v, "off")) {
        img_error("extended_l2=%s is not supported (only off)", v);
        goto out;
    }
    if ((v = opts_first_unused(op))) {
        img_error("Invalid parameter '%s'", v);
        goto out;
    }
    ret = 0;
out:
    opts_free(op);
    return ret;
}

int img_create_image(const char *name, const char *fmt, struct img_create_opts *o, bool quiet)
{
    char *err = NULL;
    int ret;

    if (!strcmp(fmt, "raw")) {
        struct block_state *bs;
        struct block_open_opts ro = { .format = "raw" };
        FILE *f;

        if (o->backing_file) {
            img_error("%s: raw images cannot have a backing file", name);
            return -EINVAL;
        }
        if (!quiet)
            printf("Formatting '%s', fmt=raw size=%" PRIu64 "\n", name, o->q.size);
        f = fopen(name, "w");
        if (!f) {
            img_error("%s: Could not create '%s': %s", name, name, strerror(errno));
            return -errno;
        }
        fclose(f);
        ret = bstate_open(&bs, name, &ro, NULL, &err);
        if (ret == 0) {
            ret = bs->drv->truncate(bs, o->q.size);
            bstate_close(bs);
        }
        if (ret < 0)
            img_error("%s: %s", name, err ? err : strerror(-ret));
        free(err);
        return ret;
    }
    if (strcmp(fmt, "qcow2")) {
        img_error("Unknown file format '%s' (skiff-img knows raw and qcow2)", fmt);
        return -EINVAL;
    }
    o->q.backing_file = o->backing_file;
    o->q.backing_format = o->backing_fmt;
    if (!quiet) {
        printf("Formatting '%s', fmt=qcow2 cluster_size=%" PRIu64 " extended_l2=off compression_type=zlib size=%" PRIu64,
               name, o->q.cluster_size ? o->q.cluster_size : 65536, o->q.size);
        if (o->backing_file)
            printf(" backing_file=%s", o->backing_file);
        if (o->backing_fmt)
            printf(" backing_fmt=%s", o->backing_fmt);
        if (o->q.version)
            printf(" compat=%s", o->q.version == 2 ? "0.10" : "1.1");
        printf(" lazy_refcounts=%s refcount_bits=%d\n", o->q.lazy_refcounts ? "on" : "off",
               o->q.refcount_bits ? o->q.refcount_bits : 16);
    }
    ret = qcow2_create(name, &o->q, &err);
    if (ret < 0) {
        img_error("%s: %s", name, err ? err : strerror(-ret));
        free(err);
    }
    return ret;
}

/* ---- create ---- */

int img_create(int argc, char **argv)
{
    struct img_create_opts o = { 0 };
    const char *fmt = "raw", *name;
    bool quiet = false, unsafe = false;
    int c, ret = 1;

    while ((c = getopt(argc, argv, ":hqf:b:F:uo:")) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 'b': free(o.backing_file); o.backing_file = xstrdup(optarg); break;
        case 'F': free(o.backing_fmt); o.backing_fmt = xstrdup(optarg); break;
        case 'u': unsafe = true; break;
        case 'o':
            if (img_parse_create_opts(optarg, &o) < 0)
                goto out;
            break;
        case 'h':
            printf("Usage: skiff-img create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]\n");
            ret = 0;
            goto out;
        default:
            img_error("create: invalid option -- '%c'", optopt);
            goto out;
        }
    }
    if (optind >= argc) {
        img_error("Expecting image file name");
        goto out;
    }
    name = argv[optind++];
    if (optind < argc) {
        if (parse_size(argv[optind], 1, &o.q.size) < 0) {
            img_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
            img_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
            goto out;
        }
        o.size_set = true;
        optind++;
    }
    if (optind < argc) {
        img_error("Unexpected argument: %s", argv[optind]);
        goto out;
    }
    if (o.backing_file && !unsafe) {
        char *path = bstate_backing_path(name, o.backing_file);
        struct block_dev *b = img_open(path, o.backing_fmt, false, NULL, false, false);

        free(path);
        if (!b)
            goto out;
        if (!o.backing_fmt)
            o.backing_fmt = xstrdup(block_format(b));
        if (!o.size_set) {
            o.q.size = block_size(b);
            o.size_set = true;
        }
        block_close(b);
    }
    if (!o.size_set) {
        img_error("%s: Size must be specified", name);
        goto out;
    }
    ret = img_create_image(name, fmt, &o, quiet) < 0 ? 1 : 0;
out:
    free(o.backing_file);
    free(o.backing_fmt);
    return ret;
}

/* ---- resize ---- */

int img_resize(int argc, char **argv)
{
    const char *fmt = NULL;
    bool quiet = false, allow_shrink = false, shrink;
    struct block_dev *bd;
    uint64_t size;
    int c, ret;
    static const struct option lo[] = {
        { "shrink", no_argument, NULL, 's' },
        { "preallocation", required_argument, NULL, 'P' },
        { "object", required_argument, NULL, 'O' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };

    /* "-1G" is a size, not an option: getopt stops at the last two arguments */
    if (argc >= 3 && argv[argc - 1][0] == '-' && argv[argc - 1][1] >= '0' && argv[argc - 1][1] <= '9')
        argc--, c = 1;
    else
        c = 0;
    {
        int saved = c;

        while ((c = getopt_long(argc, argv, ":hqf:", lo, NULL)) != -1) {
            switch (c) {
            case 'q': quiet = true; break;
            case 'f': fmt = optarg; break;
            case 's': allow_shrink = true; break;
            case 'P':
                if (strcmp(optarg, "off")) {
                    img_error("--preallocation=%s is not supported", optarg);
                    return 1;
                }
                break;
            default:
                img_error("resize: invalid option");
                return 1;
            }
        }
        if (saved)
            argc++;
    }
    if (optind + 2 != argc) {
        img_error("Expecting image file name and size");
        return 1;
    }
    bd = img_open(argv[optind], fmt, true, NULL, false, false);
    if (!bd)
        return 1;
    if (img_parse_size_arg(argv[optind + 1], block_size(bd), &size, &shrink) < 0) {
        img_error("Invalid size specified");
        block_close(bd);
        return 1;
    }
    if (shrink && !allow_shrink) {
        img_error("Use the --shrink option to perform a shrink operation.");
        block_close(bd);
        return 1;
    }
    ret = block_resize(bd, size);
    if (ret == -ENOTSUP)
        img_error("%s: qcow2 images can only grow (shrinking is not supported)", argv[optind]);
    else if (ret < 0)
        img_error("%s: resize failed: %s", argv[optind], strerror(-ret));
    else if (!quiet)
        printf("Image resized.\n");
    block_close(bd);
    return ret < 0 ? 1 : 0;
}

/* ---- snapshot ---- */

static void snapshot_list(struct qcow2 *s)
{
    if (!s->nb_snapshots)
        return;
    printf("Snapshot list:\n");
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
    for (int i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snaps[i];
        char date[64], clk[64], ic[32] = "";
        time_t t = sn->date_sec;
        struct tm tm;
        uint64_t secs = sn->vm_clock_nsec / 1000000000ULL;
        char *sz = img_size_str(sn->vm_state_size);

        localtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(clk, sizeof(clk), "%02u:%02u:%02u.%03u", (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
                 (unsigned)(secs % 60), (unsigned)(sn->vm_clock_nsec / 1000000 % 1000));
        if (sn->icount != UINT64_MAX)
            snprintf(ic, sizeof(ic), "%" PRIu64, sn->icount);
        printf("%-9s %-16s %8s%20s%13s%11s\n", sn->id, sn->name, sz, date, clk, ic);
        free(sz);
    }
}

/* Print the snapshot table (for info, too). */
void img_snapshot_dump(struct block_state *bs);
void img_snapshot_dump(struct block_state *bs)
{
    struct qcow2 *s = qcow2_of(bs);

    if (s)
        snapshot_list(s);
}

int img_snapshot(int argc, char **argv)
{
    int c, action = 0, ret = 0;
    const char *name = NULL, *file;
    bool quiet = false;
    struct block_dev *bd;
    struct block_state *bs;
    char *err = NULL;

    while ((c = getopt(argc, argv, ":hqUla:c:d:f:")) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case 'U': case 'f': break;
        case 'l': case 'a': case 'c': case 'd':
            if (action) {
                img_error("Cannot mix '-l', '-a', '-c', '-d'");
                return 1;
            }
            action = c;
            name = optarg;
            break;
        default:
            img_error("snapshot: invalid option -- '%c'", optopt);
            return 1;
        }
    }
    if (!img_one_file(argc, argv))
        return 1;
    file = argv[optind];
    bd = img_open(file, NULL, action && action != 'l', NULL, true, false);
    if (!bd)
        return 1;
    bs = block_dev_state(bd);
    if (!qcow2_of(bs)) {
        img_error("%s: snapshots need a qcow2 image (this one is %s)", file, block_format(bd));
        block_close(bd);
        return 1;
    }
    switch (action) {
    case 'c': ret = qcow2_snapshot_create(bs, name, &err); break;
    case 'a': ret = qcow2_snapshot_apply(bs, name, &err); break;
    case 'd': ret = qcow2_snapshot_delete(bs, name, &err); break;
    default: snapshot_list(qcow2_of(bs)); break;
    }
    (void)quiet;
    if (ret < 0) {
        img_error("%s", err ? err : strerror(-ret));
        free(err);
    }
    block_close(bd);
    return ret < 0 ? 1 : 0;
}

/* ---- dispatch ---- */

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} commands[] = {
    { "bench", img_bench, "bench [-c count] [-d depth] [-f fmt] [--flush-interval=n] [-i aio] [-n] [-o offset] [--pattern=p] [-q] [-s size] [-S step] [-t cache] [-w] filename" },
    { "check", img_check, "check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] filename" },
    { "commit", img_commit, "commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename" },
    { "compare", img_compare, "compare [-f fmt] [-F fmt] [-p] [-q] [-s] filename1 filename2" },
    { "convert", img_convert, "convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-S sparse_size] [-m num] [-W] filename [filename2 [...]] output_filename" },
    { "create", img_create, "create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]" },
    { "info", img_info, "info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename" },
    { "map", img_map, "map [-f fmt] [--output=ofmt] [--start-offset=offset] [--max-length=len] filename" },
    { "rebase", img_rebase, "rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename" },
    { "resize", img_resize, "resize [-q] [-f fmt] [--shrink] filename [+ | -]size" },
    { "snapshot", img_snapshot, "snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename" },
};

static void usage(FILE *f)
{
    fprintf(f, "skiff-img version " SKIFF_VERSION ": the skiff image tool, compatible with qemu-img\n"
            "usage: skiff-img [standard options] command [command options]\n\nCommand syntax:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(f, "  %s\n", commands[i].usage);
    fprintf(f, "\nSupported formats: raw qcow2\n");
}

int main(int argc, char **argv)
{
    const char *cmd;

    log_program = "skiff-img";
    if (argc < 2) {
        img_error("Not enough arguments\nTry 'skiff-img --help' for more information");
        return 1;
    }
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("skiff-img version " SKIFF_VERSION "\n");
        return 0;
    }
    loop_init();
    devlock_lock();
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!strcmp(cmd, commands[i].name)) {
            int ret;

            optind = 1;
            opterr = 0;
            ret = commands[i].fn(argc - 1, argv + 1);
            fflush(stdout);
            return ret;
        }
    }
    img_error("Command not found: %s", cmd);
    return 1;
}
