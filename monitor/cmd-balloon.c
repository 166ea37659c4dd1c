/* cmd-balloon.c: the command cores balloon and query-balloon, over the virtio balloon */
#include "monitor/commands.h"
#include "hw/virtio/virtio-balloon.h"

_Static_assert(sizeof(((struct mon_balloon_info *)0)->stats) ==
               VIRTIO_BALLOON_S_NR * sizeof(uint64_t), "a slot for every statistic");

int mon_query_balloon(struct mon_balloon_info *info, char **err)
{
    struct balloon_info b;
    int r = balloon_query(&b, err);

    if (r < 0)
        return r;
    info->actual = (int64_t)b.actual;
    info->has_stats = b.has_stats;
    memcpy(info->stats, b.stats, sizeof(info->stats));
    return 0;
}

int mon_balloon(uint64_t value, char **err)
{
    return balloon_set_target(value, err);
}
