/* qcow2.h: the qcow2 driver's shared state and the operations skiff-img uses (create, check, snapshots, info) */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include "block/block-int.h"

/* docs/interop/qcow2.txt, "Header" */
#define QCOW2_MAGIC             0x514649fbu
#define QCOW2_V2_HEADER_LEN     72
#define QCOW2_V3_HEADER_LEN     104
#define QCOW2_MIN_CLUSTER_BITS  9
#define QCOW2_MAX_CLUSTER_BITS  21
#define QCOW2_MAX_L1_BYTES      (32 * MiB)      /* as QEMU: larger tables are refused */
#define QCOW2_MAX_REFTABLE_BYTES (8 * MiB)
#define QCOW2_MAX_SNAPSHOTS     65536
#define QCOW2_MAX_BACKING_NAME  1023

/* incompatible, compatible and autoclear feature bits */
#define QCOW2_INCOMPAT_DIRTY        (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ULL << 4)
#define QCOW2_INCOMPAT_KNOWN        (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
#define QCOW2_AUTOCLEAR_BITMAPS     (1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW    (1ULL << 1)

/* header extension types ("Header extensions") */
#define QCOW2_EXT_END           0x00000000u
#define QCOW2_EXT_BACKING_FMT   0xe2792acau
#define QCOW2_EXT_FEATURES      0x6803f857u
#define QCOW2_EXT_BITMAPS       0x23852875u
#define QCOW2_EXT_CRYPTO        0x0537be77u
#define QCOW2_EXT_DATA_FILE     0x44415441u

/* table entries ("Cluster mapping") */
#define QCOW2_OFLAG_COPIED      (1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED  (1ULL << 62)
#define QCOW2_OFLAG_ZERO        (1ULL << 0)
#define QCOW2_L1E_OFFSET_MASK   0x00fffffffffffe00ULL
#define QCOW2_L2E_OFFSET_MASK   0x00fffffffffffe00ULL
#define QCOW2_REFT_OFFSET_MASK  0xfffffffffffffe00ULL
#define QCOW2_L1E_RESERVED      0x7f000000000001ffULL
#define QCOW2_L2E_RESERVED      0x3f000000000001feULL

/* what an L2 entry means */
enum qcow2_ctype {
    QCOW2_UNALLOCATED,      /* from the backing file, or zeros */
    QCOW2_ZERO_PLAIN,       /* v3 zero flag, no cluster */
    QCOW2_ZERO_ALLOC,       /* v3 zero flag over an allocated cluster */
    QCOW2_NORMAL,
    QCOW2_COMPRESSED,
};

struct qcow2_cache_entry {
    uint64_t offset;        /* 0: empty */
    uint8_t *data;
    uint64_t lru;
    int pinned;
    bool dirty;
    int hnext;              /* next entry in the hash chain, -1 */
};

struct qcow2_cache {
    const char *what;       /* "L2 table", "refcount block" */
    int n;
    struct qcow2_cache_entry *e;
    int *bucket;
    int nbuckets;
    uint64_t tick;
    uint8_t *mem;           /* the entries' tables, one after another */
    size_t table_size;
    int ndirty;
};

struct qcow2_snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id, *name;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint64_t icount;        /* -1: none recorded */
    uint8_t *extra;         /* extra data beyond what we know, kept as is */
    uint32_t extra_size;
};

/* An allocating write between choosing its clusters and linking them into the L2 table */
struct qcow2_inflight {
    uint64_t first, n;          /* guest clusters */
    struct qcow2_inflight *next;
};

struct qcow2 {
    struct block_state *bs;
    pthread_mutex_t lock;
    pthread_cond_t inflight_done;
    struct qcow2_inflight *inflight;
    uint32_t version;
    uint32_t header_length;
    int cluster_bits;
    uint64_t cluster_size;
    int l2_bits;                /* log2 of entries per L2 table */
    int csize_shift;
    uint64_t csize_mask, coffset_mask;
    uint64_t incompat, compat, autoclear;
    uint8_t compression_type;

    uint64_t *l1;
    uint32_t l1_size;
    uint64_t l1_offset;
    bool l1_dirty;

    uint64_t *reftable;
    uint64_t reftable_size;     /* entries */
    uint64_t reftable_used;     /* entries from here on are all zero */
    uint64_t reftable_offset;
    uint32_t reftable_clusters;
    int refcount_order;
    int refcount_bits;
    uint64_t refcount_max;
    int rb_bits;                /* log2 of entries per refcount block */

    struct qcow2_cache l2c, rbc;
    uint64_t free_cluster_index;
    uint64_t free_byte_offset;  /* packing of compressed clusters */
    uint64_t file_end;          /* bytes: the file's length as we grow it */

    /* clusters whose references were dropped in memory: decremented once the tables are on disk */
    uint64_t *pending_free;
    size_t npending, pending_alloc;

    struct qcow2_snapshot *snaps;
    int nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;

    uint8_t *unknown_ext;       /* header extensions we keep verbatim */
    size_t unknown_ext_len;
    bool has_feature_table;
    bool corrupt;
    bool corrupt_logged;
    bool lazy;
    bool dirty_on_disk;
    bool check_mode;
};

#define QCOW2_CLUSTER_OF(s, off) ((off) >> (s)->cluster_bits)

/*
 * Can an image with these clusters have this virtual size? As QEMU: at most 2^56 bytes, and an
 * L1 table of at most 32 MiB (with 512-byte clusters exactly 128 GiB still fits). Create, open,
 * resize and snapshot -a all ask this one question, so none makes an image another refuses.
 */
static inline bool qcow2_size_fits(uint64_t cluster_size, uint64_t size)
{
    return size <= (1ULL << 56) && DIV_ROUND_UP(size, cluster_size * (cluster_size / 8)) <= QCOW2_MAX_L1_BYTES / 8;
}

/* qcow2.c */
int qcow2_update_header(struct qcow2 *s);
/* Flush the metadata, rewrite the header and sync, taking the lock. */
int qcow2_update_header_synced(struct qcow2 *s);
/* Log, set the corrupt bit in the header and sync it; -EIO. Lock held (or the image not yet shared). */
int qcow2_mark_corrupt(struct qcow2 *s, const char *fmt, ...) PRINTF_FMT(2, 3);
int qcow2_set_dirty(struct qcow2 *s, bool dirty);
int qcow2_write_l1(struct qcow2 *s);
struct qcow2 *qcow2_of(struct block_state *bs);     /* NULL when bs is not qcow2 */

/* qcow2-cache.c */
void qcow2_cache_init(struct qcow2_cache *c, const char *what, int n, size_t cluster_size);
void qcow2_cache_destroy(struct qcow2_cache *c);
/* Get the table at `offset` (read from disk, or zeroed when `fresh`), pinned until put. */
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, bool fresh, uint8_t **data);
void qcow2_cache_put(struct qcow2_cache *c, uint8_t *data);
/* The table at `offset` if it is cached, else NULL: never reads. */
uint8_t *qcow2_cache_peek(struct qcow2_cache *c, uint64_t offset);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint8_t *data);
int qcow2_cache_write(struct qcow2 *s, struct qcow2_cache *c);
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset);
bool qcow2_cache_is_dirty(struct qcow2_cache *c);
/* Write the metadata in crash-safe order and apply deferred frees. */
int qcow2_flush_metadata(struct qcow2 *s);

/* Does [off, off+len) overlap the header, the L1 table, the refcount table or the snapshot table? NULL or its name. */
const char *qcow2_overlaps_metadata(struct qcow2 *s, uint64_t off, uint64_t len);
/* Or an active L2 table, a refcount block or a snapshot's L1 table? NULL or what. Lock held. */
const char *qcow2_overlaps_tables(struct qcow2 *s, uint64_t off, uint64_t len);

/* qcow2-refcount.c */
int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc);
int qcow2_update_refcount(struct qcow2 *s, uint64_t offset, uint64_t len, int64_t addend);
int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t rc);
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *offset);
int qcow2_alloc_bytes(struct qcow2 *s, uint64_t size, uint64_t *offset);
/* Drop one reference to each cluster of [offset, offset+len) once the tables are on disk. */
void qcow2_free_deferred(struct qcow2 *s, uint64_t offset, uint64_t len);
int qcow2_apply_pending_frees(struct qcow2 *s);
/* Drop the references an L2 entry holds (data cluster or compressed range). */
void qcow2_free_l2_entry(struct qcow2 *s, uint64_t entry);
uint64_t qcow2_refblock_get(struct qcow2 *s, const uint8_t *rb, uint64_t i);
void qcow2_refblock_set(struct qcow2 *s, uint8_t *rb, uint64_t i, uint64_t v);

/* qcow2-cluster.c */
enum qcow2_ctype qcow2_l2e_type(struct qcow2 *s, uint64_t e);
int qcow2_get_l2(struct qcow2 *s, uint64_t l1i, bool alloc, uint8_t **l2);
int qcow2_read_compressed(struct qcow2 *s, uint64_t entry, uint8_t *out);
int qcow2_grow_l1(struct qcow2 *s, uint32_t min_size);
int qcow2_write_compressed(struct block_state *bs, uint64_t off, const uint8_t *buf, size_t len);
int qcow2_drv_preadv(struct block_state *bs, uint64_t off, const struct qiov *q);
int qcow2_drv_pwritev(struct block_state *bs, uint64_t off, const struct qiov *q);
int qcow2_drv_discard(struct block_state *bs, uint64_t off, uint64_t len);
int qcow2_drv_write_zeroes(struct block_state *bs, uint64_t off, uint64_t len, unsigned flags);
int qcow2_drv_map_direct(struct block_state *bs, uint64_t off, uint64_t len, bool write, uint64_t *host);
int qcow2_drv_block_status(struct block_state *bs, uint64_t off, uint64_t len, uint64_t *pnum, uint64_t *map);
/* Set or clear the COPIED flags of the active tables from the refcounts. */
int qcow2_fix_copied(struct qcow2 *s);
int qcow2_make_empty(struct block_state *bs);

/* qcow2-snapshot.c */
int qcow2_read_snapshots(struct qcow2 *s, char **err);
void qcow2_free_snapshots(struct qcow2 *s);
int qcow2_snapshot_create(struct block_state *bs, const char *name, char **err);
int qcow2_snapshot_apply(struct block_state *bs, const char *name, char **err);
int qcow2_snapshot_delete(struct block_state *bs, const char *name, char **err);
int qcow2_snapshot_find(struct qcow2 *s, const char *name);

/* qcow2-check.c */
struct qcow2_check_result {
    uint64_t corruptions, leaks, check_errors;
    uint64_t corruptions_fixed, leaks_fixed;
    uint64_t image_end_offset;
    uint64_t total_clusters, allocated_clusters, fragmented_clusters, compressed_clusters;
};
#define QCOW2_FIX_LEAKS 1
#define QCOW2_FIX_ERRORS 2
/* Compare the refcounts with the references; print each finding to `out` (may be NULL). */
int qcow2_check(struct block_state *bs, int fix, struct qcow2_check_result *res, FILE *out);

/* qcow2-create.c */
struct qcow2_create_opts {
    uint64_t size;
    int version;                /* 2 or 3 */
    uint64_t cluster_size;
    int refcount_bits;
    bool lazy_refcounts;
    const char *backing_file;
    const char *backing_format;
};
int qcow2_create(const char *filename, const struct qcow2_create_opts *o, char **err);
/* Point the image at another backing file (rebase); NULL removes it. */
int qcow2_change_backing(struct block_state *bs, const char *file, const char *fmt);

#endif
