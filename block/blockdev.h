/* blockdev.h: the named drives that -drive, -blockdev, -hda..-hdd and -cdrom make, which disk devices refer to by id (drive=) and the monitor by name */
#ifndef BLOCK_BLOCKDEV_H
#define BLOCK_BLOCKDEV_H

#include "block/block.h"

struct device;

/* -drive if=: which controller the board puts the drive on (none: a -device says) */
enum blockdev_if { BLOCKDEV_IF_NONE, BLOCKDEV_IF_IDE, BLOCKDEV_IF_VIRTIO };

/* -drive werror=, rerror=: what a device does when a request fails (QEMU's BlockdevOnError) */
enum blockdev_error_action { BLOCKDEV_ERROR_REPORT, BLOCKDEV_ERROR_IGNORE, BLOCKDEV_ERROR_STOP };
enum blockdev_werror { BLOCKDEV_WERROR_ENOSPC, BLOCKDEV_WERROR_REPORT, BLOCKDEV_WERROR_IGNORE, BLOCKDEV_WERROR_STOP };

/* What the device a drive is attached to does when the monitor changes its medium. */
struct blockdev_dev_ops {
    /*
     * Take a new medium (bd, NULL: eject) after the requests in flight end; the guest hears of
     * it. A tray the guest locked stays shut unless force. 0, or -errno with *err.
     */
    int (*change_medium)(void *opaque, struct block_dev *bd, bool force, char **err);
    /* Removable media: whether the guest locked the tray, whether it is open. */
    void (*tray)(void *opaque, bool *locked, bool *open);
};

struct blockdev {
    char *id;                   /* ide0-hd0 (if=ide), the user's id= or node-name= */
    enum blockdev_if iface;
    int bus, unit;              /* if=ide: where the board puts it; if=virtio: unit is the index */
    enum blockdev_werror werror;        /* enospc (stop on a full disk, else report), as QEMU */
    enum blockdev_error_action rerror;  /* report, as QEMU */
    bool cdrom;                 /* media=cdrom: removable, read-only */
    bool boot;                  /* boot=on: extboot serves it to the BIOS, which boots it first */
    char *file;                 /* the image; NULL for no medium */
    struct block_open_opts open;
    struct block_dev *bd;       /* open image, or NULL (no medium) */
    char *consumed_by;          /* -blockdev: the format node that reads this file node */
    struct device *dev;         /* the device it is attached to */
    const struct blockdev_dev_ops *dev_ops;
    void *dev_opaque;
    struct blockdev *next;
};

/* Each returns 0, or -errno with *err saying what is wrong. */
/* -drive file=F[,if=ide|virtio|none][,index=|bus=,unit=][,media=][,format=][,readonly=][,snapshot=][,cache=][,aio=][,discard=][,werror=][,rerror=][,id=][,boot=] */
int blockdev_add_drive(const char *spec, char **err);
/* -hda..-hdd (index 0-3), -cdrom (index 2, media=cdrom), and a bare image name (index 0) */
int blockdev_add_legacy(int index, const char *file, bool cdrom, const char *what, char **err);
/* -blockdev driver=raw|qcow2|file,node-name=N,file=NODE|file.filename=F|filename=F[,read-only=][,cache.direct=][,cache.no-flush=][,discard=][,aio=] */
int blockdev_add_blockdev(const char *spec, char **err);
/* An empty removable drive for a device that was given none (-device ide-cd without drive=). */
struct blockdev *blockdev_add_empty(const char *id, bool cdrom);
/* -snapshot: every writable drive's writes go to a temporary overlay */
void blockdev_snapshot_all(void);
/* Open every drive's image (once the command line is read). */
int blockdev_open_all(char **err);
void blockdev_cleanup(void);

struct blockdev *blockdev_find(const char *id);
/* The drives in the order they were given: blockdev_next(NULL) is the first. */
struct blockdev *blockdev_next(struct blockdev *b);
/* The if=ide drive the board puts at bus/unit, or NULL. */
struct blockdev *blockdev_find_ide(int bus, int unit);
/* The if=virtio drive with this index, or NULL. */
struct blockdev *blockdev_find_virtio(int index);
/* What a device does with a request that failed with `ret` (-errno): werror= or rerror=. */
enum blockdev_error_action blockdev_error_action(const struct blockdev *b, bool is_read, int ret);

/* A device takes the drive: one device per drive. 0, or -EBUSY with *err. */
int blockdev_attach(struct blockdev *b, struct device *dev, const struct blockdev_dev_ops *ops,
                    void *opaque, char **err);
void blockdev_detach(struct blockdev *b);
/* The drive is a CD-ROM's disc: removable and read-only (an image opened for writing is reopened). */
int blockdev_set_cdrom(struct blockdev *b, char **err);
/* The monitor's change (file, format or NULL to probe) and eject (file NULL). */
int blockdev_change(struct blockdev *b, const char *file, const char *format, bool force, char **err);

#endif
