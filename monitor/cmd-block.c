/* cmd-block.c: command cores for the drives, by QEMU's names (ide0-hd0 .. ide1-cd1): query-block, query-blockstats, eject, blockdev-change-medium */
#include "monitor/commands.h"
#include "hw/pc/pc.h"           // pc_ide_drive, pc_cd_change, pc_cd_tray

#include <stdio.h>

struct drive {
    char name[MON_DEVICE_NAME_MAX];
    bool cd;
    struct block_dev *bd;       /* NULL: no medium */
};

/* The drive at IDE index i (bus * 2 + unit), if there is one. */
static bool drive_at(int i, struct drive *d)
{
    if (!pc_ide_drive(i, &d->cd, &d->bd))
        return false;
    snprintf(d->name, sizeof(d->name), "ide%d-%s%d", i / 2, d->cd ? "cd" : "hd", i % 2);
    return true;
}

/* The drive index for a name, or -1. */
static int drive_find(const char *name)
{
    struct drive d;

    for (int i = 0; i < PC_MAX_IDE; i++)
        if (drive_at(i, &d) && !strcmp(d.name, name))
            return i;
    return -1;
}

struct mon_block_info *mon_query_block(void)
{
    struct mon_block_info *list = NULL, **tail = &list;
    struct drive d;

    for (int i = 0; i < PC_MAX_IDE; i++) {
        struct mon_block_info *info;

        if (!drive_at(i, &d))
            continue;
        info = xnew(struct mon_block_info);
        snprintf(info->device, sizeof(info->device), "%s", d.name);
        info->removable = d.cd;
        info->has_tray_open = d.cd && pc_cd_tray(i, &info->locked, &info->tray_open);
        if (d.bd) {
            struct mon_block_device_info *ins = xnew(struct mon_block_device_info);

            ins->file = xstrdup(block_filename(d.bd));
            ins->ro = block_is_read_only(d.bd);
            ins->drv = xstrdup(block_format(d.bd));
            block_get_cache_info(d.bd, &ins->cache);
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
    struct drive d;

    for (int i = 0; i < PC_MAX_IDE; i++) {
        struct block_stats st = { 0 };
        struct mon_block_stats *info;

        if (!drive_at(i, &d))
            continue;
        if (d.bd)
            block_get_stats(d.bd, &st);
        info = xnew(struct mon_block_stats);
        snprintf(info->device, sizeof(info->device), "%s", d.name);
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
        info->stats.failed_operations = st.failed_ops;
        *tail = info;
        tail = &info->next;
    }
    return list;
}

int mon_drive_check(const char *device, char **err)
{
    if (drive_find(device) < 0) {
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

    return r < 0 ? r : pc_cd_change(drive_find(device), NULL, NULL, force, err);
}

int mon_blockdev_change_medium(const char *device, const char *filename, const char *format,
                               char **err)
{
    int r = mon_drive_check(device, err);

    if (r < 0 || (format && (r = mon_format_check(format, err)) < 0))
        return r;
    return pc_cd_change(drive_find(device), filename, format, true, err);
}
