/* virtio-balloon.h: the memory balloon's interface to the monitor (QEMU's balloon and query-balloon) and its wire format (virtio 1.2 section 5.5) */
#ifndef HW_VIRTIO_VIRTIO_BALLOON_H
#define HW_VIRTIO_VIRTIO_BALLOON_H

#include "util/osdep.h"

/* Feature bits (5.5.3) */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2

/* struct virtio_balloon_config (5.5.4): le32 num_pages (the host's), le32 actual (the driver's) */
#define VIRTIO_BALLOON_CFG_NUM_PAGES    0
#define VIRTIO_BALLOON_CFG_ACTUAL       4
#define VIRTIO_BALLOON_CFG_SIZE         8
/* Page frame numbers in the queues are of 4 KiB pages, whatever the guest's page size (5.5.6) */
#define VIRTIO_BALLOON_PFN_SHIFT        12

/* The memory statistics (5.5.6.3): {le16 tag, le64 val} entries */
enum virtio_balloon_stat {
    VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_SWAP_OUT, VIRTIO_BALLOON_S_MAJFLT,
    VIRTIO_BALLOON_S_MINFLT, VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT,
    VIRTIO_BALLOON_S_AVAIL, VIRTIO_BALLOON_S_CACHES, VIRTIO_BALLOON_S_HTLB_PGALLOC,
    VIRTIO_BALLOON_S_HTLB_PGFAIL, VIRTIO_BALLOON_S_NR,
};
#define VIRTIO_BALLOON_STAT_SIZE        10

/* What query-balloon reports; stats only once the guest sent some (UINT64_MAX: not sent). */
struct balloon_info {
    uint64_t actual;                    /* bytes of RAM the guest has (RAM minus its balloon) */
    uint64_t target;                    /* what the host asked for */
    bool has_stats;
    int64_t stats_age_ns;               /* how long ago they came */
    uint64_t stats[VIRTIO_BALLOON_S_NR];
};

/*
 * The monitor's balloon: ask the guest to leave it `target` bytes of RAM (at most all of it), or
 * read what it did. -ENODEV with *err when there is no balloon.
 */
int balloon_set_target(uint64_t target, char **err);
int balloon_query(struct balloon_info *info, char **err);

#endif
