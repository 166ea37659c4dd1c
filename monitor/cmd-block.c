/* cmd-block.c: command cores for the drives, by their names in the drive registry (ide0-hd0, or the id= a -drive or -blockdev gave): query-block, query-blockstats, eject, blockdev-change-medium */
#include "monitor/commands.h"
#include "block/blockdev.h"
#include "hw/core/device.h" // struct device

#include <stdio.h>

/* The drives as the monitor names them (QEMU's query-block: every drive a device or -drive
 * made; a -blockdev file node read through a format node is that node's, not listed). */
static bool drive_listed(const struct blockdev *b)
{
    return !b->consumed_by;
}

static struct blockdev *drive_find(const char *name)
{
    struct blockdev *b = blockdev_find(name);

    return b && drive_listed(b) ? b : NULL;
}

struct mon_block_info *mon_query_block(void)
{
    struct mon_block_info *list = NULL, **tail = &list;

    for (struct blockdev *b = blockdev_next(NULL); b; b = blockdev_next(b)) {
        struct mon_block_info *info;

        if (!drive_listed(b))
            continue;
        info = xnew(struct mon_block_info);
        snprintf(info->device, sizeof(info->device), "%s", b->id);
        if (b->dev)
            snprintf(info->qdev, sizeof(info->qdev), "%s", b->dev->id ? b->dev->id : b->dev->type->name);
        info->removable = b->cdrom;
        if (b->cdrom && b->dev_ops && b->dev_ops->tray) {
            b->dev_ops->tray(b->dev_opaque, &info->locked, &info->tray_open);
            info->has_tray_open = true;
        }
        if (b->bd) {
            struct mon_block_device_info *ins = xnew(struct mon_block_device_info);

            ins->file = xstrdup(block_filename(b->bd));
            ins->ro = block_is_read_only(b->bd);
            ins->drv = xstrdup(block_format(b->bd));
            block_get_cache_info(b->bd, &ins->cache);
            info->inserted = ins;
        }
        *tail = info;
        tail = &info->next;
    }
    return list;
}

void mon_block_info_free(struct mon_block_info *list)
{
    while (list) {
        struct mon_block_info *next = list->next;

        if (list->inserted) {
            free(list->inserted->file);
            free(list->inserted->drv);
            free(list->inserted);
        }
        free(list);
        list = next;
    }
}

struct mon_block_stats *mon_query_blockstats(void)
{
    struct mon_block_stats *list = NULL, **tail = &list;

    for (struct blockdev *b = blockdev_next(NULL); b; b = blockdev_next(b)) {
        struct block_stats st = { 0 };
        struct mon_block_stats *info;

        if (!drive_listed(b))
            continue;
        if (b->bd)
            block_get_stats(b->bd, &st);
        info = xnew(struct mon_block_stats);
        snprintf(info->device, sizeof(info->device), "%s", b->id);
        info->stats.rd_bytes = st.rd_bytes;
        info->stats.wr_bytes = st.wr_bytes;
        info->stats.unmap_bytes = st.discard_bytes;
        info->stats.rd_operations = st.rd_ops;
        info->stats.wr_operations = st.wr_ops;
        info->stats.flush_operations = st.flush_ops;
        info->stats.unmap_operations = st.discard_ops;
        info->stats.rd_total_time_ns = st.rd_ns;
        info->stats.wr_total_time_ns = st.wr_ns;
        info->stats.flush_total_time_ns = st.flush_ns;
        info->stats.rd_merged = st.rd_merged;
        info->stats.wr_merged = st.wr_merged;
        info->stats.failed_operations = st.failed_ops;
        *tail = info;
        tail = &info->next;
    }
    return list;
}

int mon_drive_check(const char *device, char **err)
{
    if (!drive_find(device)) {
        *err = xasprintf("no drive '%s'", device);
        return -ENODEV;
    }
    return 0;
}

int mon_format_check(const char *format, char **err)
{
    if (strcmp(format, "raw") && strcmp(format, "qcow2")) {
        *err = xasprintf("format '%s': skiff reads raw and qcow2", format);
        return -EINVAL;
    }
    return 0;
}

int mon_eject(const char *device, bool force, char **err)
{
    int r = mon_drive_check(device, err);

    return r < 0 ? r : blockdev_change(drive_find(device), NULL, NULL, force, err);
}

int mon_blockdev_change_medium(const char *device, const char *filename, const char *format,
                               char **err)
{
    int r = mon_drive_check(device, err);

    if (r < 0 || (format && (r = mon_format_check(format, err)) < 0))
        return r;
    return blockdev_change(drive_find(device), filename, format, true, err);
}
