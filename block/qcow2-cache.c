/* qcow2-cache.c: write-back caches of L2 tables and refcount blocks, and the order in which metadata reaches the disk */
#define LOG_PREFIX "qcow2: "
#include "block/qcow2.h"
#include "util/log.h"

void qcow2_cache_init(struct qcow2_cache *c, const char *what, int n, size_t cluster_size)
{
    c->what = what;
    c->n = n;
    c->e = xcalloc(n, sizeof(*c->e));
    c->nbuckets = 1;
    while (c->nbuckets < 2 * n)
        c->nbuckets <<= 1;
    c->bucket = xmalloc(c->nbuckets * sizeof(int));
    for (int i = 0; i < c->nbuckets; i++)
        c->bucket[i] = -1;
    c->table_size = cluster_size;
    c->mem = bfile_memalign((size_t)n * cluster_size);
    for (int i = 0; i < n; i++) {
        c->e[i].data = c->mem + (size_t)i * cluster_size;
        c->e[i].hnext = -1;
    }
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
    free(c->mem);
    free(c->e);
    free(c->bucket);
    memset(c, 0, sizeof(*c));
}

static int cache_hash(struct qcow2_cache *c, uint64_t offset)
{
    return (int)((offset >> 9) * 0x9E3779B97F4A7C15ULL >> 40) & (c->nbuckets - 1);
}

static int cache_find(struct qcow2_cache *c, uint64_t offset)
{
    for (int i = c->bucket[cache_hash(c, offset)]; i >= 0; i = c->e[i].hnext)
        if (c->e[i].offset == offset)
            return i;
    return -1;
}

static void cache_unhash(struct qcow2_cache *c, int i)
{
    int *pp = &c->bucket[cache_hash(c, c->e[i].offset)];

    while (*pp != i)
        pp = &c->e[*pp].hnext;
    *pp = c->e[i].hnext;
    c->e[i].hnext = -1;
    c->e[i].offset = 0;
}

static void cache_set_dirty(struct qcow2_cache *c, int i, bool dirty)
{
    if (c->e[i].dirty != dirty)
        c->ndirty += dirty ? 1 : -1;
    c->e[i].dirty = dirty;
}

static int cache_write_entry(struct qcow2 *s, struct qcow2_cache *c, int i)
{
    int ret;

    if (!c->e[i].dirty)
        return 0;
    /* an L2 table may point at clusters only once their refcounts are on disk */
    if (c == &s->l2c && !s->lazy && qcow2_cache_is_dirty(&s->rbc)) {
        ret = qcow2_cache_write(s, &s->rbc);
        if (ret == 0)
            ret = bfile_flush(s->bs->file);
        if (ret < 0)
            return ret;
    }
    ret = bfile_pwrite(s->bs->file, c->e[i].offset, c->e[i].data, s->cluster_size);
    if (ret < 0) {
        log_error("'%s': cannot write a %s at 0x%" PRIx64 ": %s", s->bs->filename, c->what,
                  c->e[i].offset, strerror(-ret));
        return ret;
    }
    cache_set_dirty(c, i, false);
    return 0;
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, bool fresh, uint8_t **data)
{
    int i = cache_find(c, offset), victim = -1, ret;

    if (i >= 0) {
        if (fresh)
            memset(c->e[i].data, 0, s->cluster_size);
        goto hit;
    }
    /* the least recently used unpinned entry */
    for (int j = 0; j < c->n; j++) {
        if (c->e[j].pinned)
            continue;
        if (victim < 0 || c->e[j].offset == 0 || (c->e[victim].offset && c->e[j].lru < c->e[victim].lru))
            victim = j;
        if (c->e[victim].offset == 0)
            break;
    }
    if (victim < 0) {
        log_error("'%s': every %s cache entry is in use", s->bs->filename, c->what);
        return -ENOMEM;
    }
    i = victim;
    if (c->e[i].offset) {
        ret = cache_write_entry(s, c, i);
        if (ret < 0)
            return ret;
        cache_unhash(c, i);
    }
    if (fresh) {
        memset(c->e[i].data, 0, s->cluster_size);
    } else {
        ret = bfile_pread(s->bs->file, offset, c->e[i].data, s->cluster_size);
        if (ret < 0) {
            log_error("'%s': cannot read a %s at 0x%" PRIx64 ": %s", s->bs->filename, c->what, offset,
                      strerror(-ret));
            return ret;
        }
    }
    c->e[i].offset = offset;
    cache_set_dirty(c, i, false);
    {
        int h = cache_hash(c, offset);

        c->e[i].hnext = c->bucket[h];
        c->bucket[h] = i;
    }
hit:
    c->e[i].lru = ++c->tick;
    c->e[i].pinned++;
    *data = c->e[i].data;
    return 0;
}

uint8_t *qcow2_cache_peek(struct qcow2_cache *c, uint64_t offset)
{
    int i = cache_find(c, offset);

    if (i < 0)
        return NULL;
    c->e[i].lru = ++c->tick;
    return c->e[i].data;
}

static int cache_index(struct qcow2_cache *c, uint8_t *data)
{
    return (int)((size_t)(data - c->mem) / c->table_size);
}


void qcow2_cache_put(struct qcow2_cache *c, uint8_t *data)
{
    c->e[cache_index(c, data)].pinned--;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint8_t *data)
{
    cache_set_dirty(c, cache_index(c, data), true);
}

bool qcow2_cache_is_dirty(struct qcow2_cache *c)
{
    return c->ndirty > 0;
}

int qcow2_cache_write(struct qcow2 *s, struct qcow2_cache *c)
{
    int ret = 0;

    for (int i = 0; i < c->n && ret == 0 && c->ndirty; i++)
        ret = cache_write_entry(s, c, i);
    return ret;
}

void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset)
{
    int i = cache_find(c, offset);

    if (i >= 0 && !c->e[i].pinned) {
        cache_set_dirty(c, i, false);
        cache_unhash(c, i);
    }
}

/*
 * The order that keeps a crash from corrupting anything (at worst clusters leak):
 *   1. refcount blocks (a new cluster is counted before anything points at it)
 *   2. sync; L2 tables (which now may point at it)
 *   3. sync; the L1 table (which now may point at new L2 tables)
 *   4. sync; then the references dropped since the last flush are decremented,
 *      since no table on disk names those clusters any more.
 * With lazy refcounts (compat bit 0) the dirty bit covers steps 1-2 instead.
 */
int qcow2_flush_metadata(struct qcow2 *s)
{
    bool l2_dirty = qcow2_cache_is_dirty(&s->l2c);
    int ret;

    ret = qcow2_cache_write(s, &s->rbc);
    if (ret == 0 && (l2_dirty || s->l1_dirty))
        ret = bfile_flush(s->bs->file);
    if (ret == 0 && l2_dirty)
        ret = qcow2_cache_write(s, &s->l2c);
    if (ret == 0 && s->l1_dirty) {
        ret = bfile_flush(s->bs->file);
        if (ret == 0)
            ret = qcow2_write_l1(s);
    }
    if (ret == 0 && s->npending) {
        ret = bfile_flush(s->bs->file);
        if (ret == 0)
            ret = qcow2_apply_pending_frees(s);
        if (ret == 0)
            ret = qcow2_cache_write(s, &s->rbc);
    }
    return ret;
}
