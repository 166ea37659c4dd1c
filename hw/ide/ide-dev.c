/* ide-dev.c: the ide-hd and ide-cd devices, which put a named drive on a unit of an IDE bus (ide.0, ide.1) with its serial number, model and boot index, as QEMU's */
#define LOG_PREFIX "ide: "
#include "hw/ide/ide.h"
#include "block/blockdev.h"
#include "hw/core/bootdev.h"
#include "util/log.h"

#define IDE_UNIT_ANY UINT32_MAX

struct ide_dev {
    struct device dev;
    struct blockdev *drive;
    uint32_t unit;
    int32_t bootindex;
    char *serial, *model;
    struct ide_channel *ch;
    bool cd;
};

static bool ide_dev_is_cd(const struct device *dev)
{
    return !strcmp(dev->type->name, "ide-cd");
}

static struct ide_dev *ide_dev_of(struct device *dev)
{
    return container_of(dev, struct ide_dev, dev);
}

/* The unit dev asks for (unit=), or the first free one; -1 when there is none. */
static int ide_bus_free_unit(struct ide_bus *b, uint32_t unit)
{
    for (int u = 0; u < 2; u++)
        if ((unit == IDE_UNIT_ANY || unit == (uint32_t)u) && b->ch->drive[u].kind == IDE_NONE)
            return u;
    return -1;
}

static int ide_bus_check(struct bus *bus, struct device *dev, char **err)
{
    struct ide_bus *b = container_of(bus, struct ide_bus, bus);
    uint32_t unit = ide_dev_of(dev)->unit;

    if (unit != IDE_UNIT_ANY && unit > 1) {
        *err = xasprintf("%s: an IDE bus has units 0 and 1", dev->type->name);
        return -EINVAL;
    }
    if (ide_bus_free_unit(b, unit) < 0) {
        *err = unit == IDE_UNIT_ANY ? xasprintf("%s: both units of %s are taken", dev->type->name, bus->name)
                                    : xasprintf("%s: unit %u of %s is taken", dev->type->name, unit, bus->name);
        return -EBUSY;
    }
    return 0;
}

static const struct bus_ops ide_bus_ops = {
    .check = ide_bus_check,
};

void ide_bus_register(struct ide_bus *b, int index, struct device *parent, struct ide_channel *ch,
                      const char *fw_path)
{
    char name[16];

    snprintf(name, sizeof(name), "ide.%d", index);
    b->index = index;
    b->ch = ch;
    snprintf(b->fw_path, sizeof(b->fw_path), "%s", fw_path);
    bus_register(&b->bus, BUS_IDE, name, parent, &ide_bus_ops);
}

/* ---- the monitor's change and eject of an ide-cd's disc ---- */

static int ide_cd_change_medium(void *opaque, struct block_dev *bd, bool force, char **err)
{
    struct ide_dev *s = opaque;
    struct ide_drive *d = &s->ch->drive[s->unit];

    if (d->locked && !force) {
        *err = xstrdup("the guest has locked the tray; use -f to force it");
        return -EBUSY;
    }
    /* as QEMU's: forcing it undoes the guest's lock */
    if (force)
        d->locked = 0;
    /* a read of the old disc may be in flight: it ends before the disc goes */
    ide_channel_drain(s->ch);
    ide_cd_change(d, bd);
    return 0;
}

static void ide_cd_tray(void *opaque, bool *locked, bool *open)
{
    struct ide_dev *s = opaque;

    *locked = s->ch->drive[s->unit].locked;
    *open = s->ch->drive[s->unit].tray_open;
}

static const struct blockdev_dev_ops ide_cd_blk_ops = {
    .change_medium = ide_cd_change_medium,
    .tray = ide_cd_tray,
};

/* ---- the devices ---- */

static int ide_dev_realize(struct device *dev, char **err)
{
    struct ide_dev *s = ide_dev_of(dev);
    struct ide_bus *b = container_of(dev->bus, struct ide_bus, bus);
    char path[96];
    int unit = ide_bus_free_unit(b, s->unit), r;

    s->cd = ide_dev_is_cd(dev);
    if (unit < 0)
        return ide_bus_check(dev->bus, dev, err);
    if (!s->drive) {
        char *id;

        if (!s->cd) {
            *err = xasprintf("ide-hd needs drive= (a -drive if=none,id=ID or -blockdev node-name=ID)");
            return -EINVAL;
        }
        /* an empty CD-ROM drive still takes discs from the monitor: a drive of its own */
        id = dev->id ? xstrdup(dev->id) : xasprintf("ide%d-cd%d", b->index, unit);
        s->drive = blockdev_add_empty(id, true);
        free(id);
    }
    if (!s->drive->bd && !s->cd) {
        *err = xasprintf("drive '%s' has no image, and a disk needs one", s->drive->id);
        return -EINVAL;
    }
    if (s->cd && !s->drive->dev && !s->drive->consumed_by && (r = blockdev_set_cdrom(s->drive, err)) < 0)
        return r;
    r = blockdev_attach(s->drive, dev, s->cd ? &ide_cd_blk_ops : NULL, s, err);
    if (r < 0)
        return r;
    r = ide_drive_attach(b->ch, unit, s->drive->bd, s->cd, err);
    if (r < 0) {
        blockdev_detach(s->drive);
        return r;
    }
    s->ch = b->ch;
    s->unit = unit;
    b->ch->drive[unit].blk = s->drive;
    ide_drive_set_ident(b->ch, unit, s->serial, s->model);
    if (s->bootindex >= 0) {
        snprintf(path, sizeof(path), "%s/disk@%x", b->fw_path, unit);
        bootdev_add(dev, s->bootindex, path);
    }
    return 0;
}

static void ide_dev_unrealize(struct device *dev)
{
    struct ide_dev *s = ide_dev_of(dev);

    bootdev_remove(dev);
    if (s->drive)
        blockdev_detach(s->drive);
}

static const struct prop_desc ide_dev_props[] = {
    DEFINE_PROP("drive", struct ide_dev, drive, PROP_DRIVE, NULL,
                "the drive (-drive if=none,id=ID or -blockdev node-name=ID); ide-cd without it is empty"),
    DEFINE_PROP("unit", struct ide_dev, unit, PROP_U32, "4294967295", "0 (master) or 1 (slave); the first free without it"),
    DEFINE_PROP("bootindex", struct ide_dev, bootindex, PROP_BOOTINDEX, NULL,
                "its place in the firmware's boot order (lowest first)"),
    DEFINE_PROP("serial", struct ide_dev, serial, PROP_STRING, NULL, "IDENTIFY's serial number (20 characters)"),
    DEFINE_PROP("model", struct ide_dev, model, PROP_STRING, NULL, "IDENTIFY's model (40 characters)"),
    DEFINE_PROP_END,
};

static struct device_type ide_hd_type = {
    .name = "ide-hd",
    .desc = "IDE disk",
    .bus = BUS_IDE,
    .instance_size = sizeof(struct ide_dev),
    .props = ide_dev_props,
    .user_creatable = true,
    .realize = ide_dev_realize,
    .unrealize = ide_dev_unrealize,
};
DEVICE_TYPE_REGISTER(ide_hd_type)

static struct device_type ide_cd_type = {
    .name = "ide-cd",
    .desc = "IDE CD-ROM (ATAPI)",
    .bus = BUS_IDE,
    .instance_size = sizeof(struct ide_dev),
    .props = ide_dev_props,
    .user_creatable = true,
    .realize = ide_dev_realize,
    .unrealize = ide_dev_unrealize,
};
DEVICE_TYPE_REGISTER(ide_cd_type)
