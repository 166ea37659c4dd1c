/* img-info.c: skiff-img info, check and map, with qemu-img's human and JSON output */
#define LOG_PREFIX "skiff-img: "
#include "tools/img.h"

void img_snapshot_dump(struct block_state *bs);

static const struct option info_opts[] = {
    { "output", required_argument, NULL, 'o' },
    { "backing-chain", no_argument, NULL, 'B' },
    { "force-share", no_argument, NULL, 'U' },
    { "image-opts", no_argument, NULL, 'I' },
    { "start-offset", required_argument, NULL, 's' },
    { "max-length", required_argument, NULL, 'l' },
    { "repair", required_argument, NULL, 'r' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* ---- info ---- */

static void info_human(struct block_state *bs)
{
    struct qcow2 *s = qcow2_of(bs);
    int64_t actual = bfile_allocated(bs->file);
    char *vs = img_size_str(bs->size), *ds = actual >= 0 ? img_size_str(actual) : xstrdup("unavailable");

    printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRIu64 " bytes)\ndisk size: %s\n", bs->filename,
           bs->drv->name, vs, bs->size, ds);
    free(vs);
    free(ds);
    if (!s)
        return;
    printf("cluster_size: %" PRIu64 "\n", s->cluster_size);
    if (s->incompat & QCOW2_INCOMPAT_DIRTY)
        printf("cleanly shut down: no\n");
    if (bs->backing_file) {
        char *full = bstate_backing_path(bs->filename, bs->backing_file);

        printf("backing file: %s", bs->backing_file);
        if (strcmp(full, bs->backing_file))
            printf(" (actual path: %s)", full);
        printf("\n");
        if (bs->backing_format)
            printf("backing file format: %s\n", bs->backing_format);
        free(full);
    }
    img_snapshot_dump(bs);
    printf("Format specific information:\n    compat: %s\n    compression type: zlib\n",
           s->version >= 3 ? "1.1" : "0.10");
    if (s->version >= 3)
        printf("    lazy refcounts: %s\n", s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS ? "true" : "false");
    printf("    refcount bits: %d\n", s->refcount_bits);
    if (s->version >= 3)
        printf("    corrupt: %s\n    extended l2: false\n", s->incompat & QCOW2_INCOMPAT_CORRUPT ? "true" : "false");
}

static void info_json(struct block_state *bs, const char *ind)
{
    struct qcow2 *s = qcow2_of(bs);
    int64_t actual = bfile_allocated(bs->file);
    char *fn = img_json_str(bs->filename);

    printf("%s{\n", ind);
    if (bs->backing_format) {
        char *bf = img_json_str(bs->backing_format);

        printf("%s    \"backing-filename-format\": %s,\n", ind, bf);
        free(bf);
    }
    if (s && s->nb_snapshots) {
        printf("%s    \"snapshots\": [\n", ind);
        for (int i = 0; i < s->nb_snapshots; i++) {
            struct qcow2_snapshot *sn = &s->snaps[i];
            char *name = img_json_str(sn->name), *id = img_json_str(sn->id);

            printf("%s        {\n", ind);
            if (sn->icount != UINT64_MAX)
                printf("%s            \"icount\": %" PRIu64 ",\n", ind, sn->icount);
            printf("%s            \"vm-clock-nsec\": %" PRIu64 ",\n", ind, (uint64_t)(sn->vm_clock_nsec % 1000000000ULL));
            printf("%s            \"name\": %s,\n", ind, name);
            printf("%s            \"date-sec\": %u,\n", ind, sn->date_sec);
            printf("%s            \"date-nsec\": %u,\n", ind, sn->date_nsec);
            printf("%s            \"vm-clock-sec\": %" PRIu64 ",\n", ind, (uint64_t)(sn->vm_clock_nsec / 1000000000ULL));
            printf("%s            \"id\": %s,\n", ind, id);
            printf("%s            \"vm-state-size\": %" PRIu64 "\n", ind, sn->vm_state_size);
            printf("%s        }%s\n", ind, i + 1 < s->nb_snapshots ? "," : "");
            free(name);
            free(id);
        }
        printf("%s    ],\n", ind);
    }
    printf("%s    \"virtual-size\": %" PRIu64 ",\n", ind, bs->size);
    printf("%s    \"filename\": %s,\n", ind, fn);
    if (s)
        printf("%s    \"cluster-size\": %" PRIu64 ",\n", ind, s->cluster_size);
    printf("%s    \"format\": \"%s\",\n", ind, bs->drv->name);
    if (actual >= 0)
        printf("%s    \"actual-size\": %" PRId64 ",\n", ind, actual);
    if (s) {
        printf("%s    \"format-specific\": {\n%s        \"type\": \"qcow2\",\n%s        \"data\": {\n", ind, ind, ind);
        printf("%s            \"compat\": \"%s\",\n", ind, s->version >= 3 ? "1.1" : "0.10");
        printf("%s            \"compression-type\": \"zlib\",\n", ind);
        if (s->version >= 3)
            printf("%s            \"lazy-refcounts\": %s,\n", ind,
                   s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS ? "true" : "false");
        printf("%s            \"refcount-bits\": %d%s\n", ind, s->refcount_bits, s->version >= 3 ? "," : "");
        if (s->version >= 3)
            printf("%s            \"corrupt\": %s,\n%s            \"extended-l2\": false\n", ind,
                   s->incompat & QCOW2_INCOMPAT_CORRUPT ? "true" : "false", ind);
        printf("%s        }\n%s    },\n", ind, ind);
    }
    if (bs->backing_file) {
        char *full = bstate_backing_path(bs->filename, bs->backing_file);
        char *jf = img_json_str(full), *jb = img_json_str(bs->backing_file);

        printf("%s    \"full-backing-filename\": %s,\n", ind, jf);
        printf("%s    \"backing-filename\": %s,\n", ind, jb);
        free(full);
        free(jf);
        free(jb);
    }
    printf("%s    \"dirty-flag\": %s\n", ind, s && (s->incompat & QCOW2_INCOMPAT_DIRTY) ? "true" : "false");
    printf("%s}", ind);
    free(fn);
}

int img_info(int argc, char **argv)
{
    enum img_output out = OUT_HUMAN;
    const char *fmt = NULL;
    bool chain = false;
    struct block_dev *bd;
    struct block_state *bs;
    int c;

    while ((c = getopt_long(argc, argv, ":hf:U", info_opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o':
            if (img_parse_output(optarg, &out) < 0)
                return 1;
            break;
        case 'B': chain = true; break;
        case 'U': break;
        default:
            img_error("info: invalid option");
            return 1;
        }
    }
    if (!img_one_file(argc, argv))
        return 1;
    bd = img_open(argv[optind], fmt, false, NULL, !chain, false);
    if (!bd)
        return 1;
    bs = block_dev_state(bd);
    if (chain && out == OUT_JSON)
        printf("[\n");
    for (; bs; bs = chain ? bs->backing : NULL) {
        if (out == OUT_JSON) {
            info_json(bs, chain ? "    " : "");
            printf("%s\n", chain && bs->backing ? "," : "");
        } else {
            info_human(bs);
            if (chain && bs->backing)
                printf("\n");
        }
    }
    if (chain && out == OUT_JSON)
        printf("]\n");
    block_close(bd);
    return 0;
}

/* ---- check ---- */

int img_check(int argc, char **argv)
{
    enum img_output out = OUT_HUMAN;
    const char *fmt = NULL, *cache = NULL;
    struct qcow2_check_result r = { 0 };
    bool quiet = false;
    int fix = 0, c, ret;
    struct block_dev *bd;
    struct block_state *bs;

    while ((c = getopt_long(argc, argv, ":hf:r:T:qU", info_opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o':
            if (img_parse_output(optarg, &out) < 0)
                return 1;
            break;
        case 'r':
            if (!strcmp(optarg, "leaks"))
                fix = QCOW2_FIX_LEAKS;
            else if (!strcmp(optarg, "all"))
                fix = QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS;
            else {
                img_error("Unknown option value for -r (expecting 'leaks' or 'all'): %s", optarg);
                return 1;
            }
            break;
        case 'T': cache = optarg; break;
        case 'q': quiet = true; break;
        case 'U': break;
        default:
            img_error("check: invalid option");
            return 1;
        }
    }
    if (!img_one_file(argc, argv))
        return 1;
    bd = img_open(argv[optind], fmt, fix != 0, cache, true, true);
    if (!bd)
        return 1;
    bs = block_dev_state(bd);
    if (!qcow2_of(bs)) {
        img_error("This image format does not support checks");
        block_close(bd);
        return 63;
    }
    ret = qcow2_check(bs, fix, &r, stderr);
    if (ret < 0) {
        img_error("Check failed: %s", strerror(-ret));
        block_close(bd);
        return 1;
    }
    if (out == OUT_JSON) {
        char *fn = img_json_str(bs->filename);

        struct img_jfield f[] = {
            { "image-end-offset", r.image_end_offset }, { "total-clusters", r.total_clusters },
            { "check-errors", r.check_errors, true }, { "leaks", r.leaks }, { "corruptions", r.corruptions },
            { "leaks-fixed", r.leaks_fixed }, { "corruptions-fixed", r.corruptions_fixed },
            { "allocated-clusters", r.allocated_clusters }, { "fragmented-clusters", r.fragmented_clusters },
            { "compressed-clusters", r.compressed_clusters }, { "filename", 0, true, fn },
            { "format", 0, true, "\"qcow2\"" },
        };

        img_json_fields(f, ARRAY_SIZE(f));
        free(fn);
    } else if (!quiet) {
        if (r.leaks_fixed || r.corruptions_fixed)
            printf("The following inconsistencies were found and repaired:\n\n    %" PRIu64 " leaked clusters\n"
                   "    %" PRIu64 " corruptions\n\nDouble checking the fixed image now...\n", r.leaks_fixed,
                   r.corruptions_fixed);
        if (!r.corruptions && !r.leaks && !r.check_errors)
            printf("No errors were found on the image.\n");
        if (r.corruptions)
            printf("\n%" PRIu64 " errors were found on the image.\nData may be corrupted, or further writes to the "
                   "image may corrupt it.\n", r.corruptions);
        if (r.leaks)
            printf("\n%" PRIu64 " leaked clusters were found on the image.\nThis means waste of disk space, but no "
                   "harm to data.\n", r.leaks);
        if (r.check_errors)
            printf("\n%" PRIu64 " internal errors have occurred during the check.\n", r.check_errors);
        if (r.total_clusters && r.allocated_clusters)
            printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
                   r.allocated_clusters, r.total_clusters, r.allocated_clusters * 100.0 / r.total_clusters,
                   r.fragmented_clusters * 100.0 / r.allocated_clusters,
                   r.compressed_clusters * 100.0 / r.allocated_clusters);
        if (r.image_end_offset)
            printf("Image end offset: %" PRIu64 "\n", r.image_end_offset);
    }
    block_close(bd);
    if (r.check_errors)
        return 1;
    return r.corruptions ? 2 : r.leaks ? 3 : 0;
}

/* ---- map ---- */

struct map_entry {
    uint64_t start, length, offset;
    int depth;
    bool present, zero, data, has_offset;
    const char *file;
};

/* The status of guest [off, off+len) down the chain: the first layer that decides. */
static int map_status(struct block_state *bs, uint64_t off, uint64_t len, struct map_entry *e)
{
    int depth = 0;

    for (;;) {
        uint64_t pnum, map;
        int st = bstate_block_status(bs, off, len, &pnum, &map);

        if (st < 0)
            return st;
        if ((st & BSTAT_ALLOCATED) || !bs->backing) {
            *e = (struct map_entry){
                .start = off, .length = pnum, .depth = depth, .present = st & BSTAT_ALLOCATED,
                .zero = st & BSTAT_ZERO, .data = st & BSTAT_DATA, .has_offset = st & BSTAT_OFFSET,
                .offset = map, .file = bs->filename,
            };
            return 0;
        }
        len = pnum;
        bs = bs->backing;
        depth++;
    }
}

static int map_print(const struct map_entry *e, enum img_output out, bool first)
{
    if (out == OUT_HUMAN) {
        if (e->data && !e->has_offset) {
            img_error("File contains external, encrypted or compressed clusters.");
            return -ENOTSUP;
        }
        if (e->data && e->has_offset)
            printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length, e->offset, e->file);
        return 0;
    }
    printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, \"present\": %s, \"zero\": %s, "
           "\"data\": %s", first ? "" : ",\n", e->start, e->length, e->depth, e->present ? "true" : "false",
           e->zero ? "true" : "false", e->data ? "true" : "false");
    if (e->has_offset)
        printf(", \"offset\": %" PRIu64, e->offset);
    printf("}");
    return 0;
}

int img_map(int argc, char **argv)
{
    enum img_output out = OUT_HUMAN;
    const char *fmt = NULL;
    uint64_t start = 0, maxlen = UINT64_MAX, end;
    struct block_dev *bd;
    struct block_state *bs;
    struct map_entry cur = { 0 }, e;
    bool have = false, first = true;
    int c, ret = 0;

    while ((c = getopt_long(argc, argv, ":hf:U", info_opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o':
            if (img_parse_output(optarg, &out) < 0)
                return 1;
            break;
        case 's':
            if (parse_size(optarg, 1, &start) < 0) {
                img_error("Invalid start offset specified! You may use k, M, G, T, P or E suffixes for ");
                return 1;
            }
            break;
        case 'l':
            if (parse_size(optarg, 1, &maxlen) < 0) {
                img_error("Invalid length specified! You may use k, M, G, T, P or E suffixes for ");
                return 1;
            }
            break;
        case 'U': break;
        default:
            img_error("map: invalid option");
            return 1;
        }
    }
    if (!img_one_file(argc, argv))
        return 1;
    bd = img_open(argv[optind], fmt, false, NULL, false, false);
    if (!bd)
        return 1;
    bs = block_dev_state(bd);
    end = maxlen == UINT64_MAX || start + maxlen > bs->size ? bs->size : start + maxlen;
    if (out == OUT_HUMAN)
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    else
        printf("[");
    for (uint64_t off = start; off < end; off += e.length) {
        ret = map_status(bs, off, MIN(end - off, 1ULL << 30), &e);
        if (ret < 0) {
            img_error("Could not read file metadata: %s", strerror(-ret));
            break;
        }
        if (have && cur.depth == e.depth && cur.present == e.present && cur.zero == e.zero && cur.data == e.data &&
            cur.has_offset == e.has_offset && cur.file == e.file &&
            (!e.has_offset || cur.offset + cur.length == e.offset)) {
            cur.length += e.length;
            continue;
        }
        if (have) {
            ret = map_print(&cur, out, first);
            first = false;
            if (ret < 0)
                break;
        }
        cur = e;
        have = true;
    }
    if (have && ret == 0)
        ret = map_print(&cur, out, first);
    if (out == OUT_JSON)
        printf("]\n");
    block_close(bd);
    return ret < 0 ? 1 : 0;
}
