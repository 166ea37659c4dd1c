/* blockdev.c: the registry of named drives: -drive (with QEMU's index, bus and unit placement), -blockdev nodes, -hda..-hdd, -cdrom, -snapshot, and the monitor's change and eject */
#define LOG_PREFIX "blockdev: "
#include "block/blockdev.h"
#include "util/log.h"
#include "util/opts.h"

#include <unistd.h>

#define IDE_PLACES 4        /* two buses of two units: index = bus * 2 + unit */

static struct blockdev *drives;
static struct blockdev **drives_tail = &drives;

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

struct blockdev *blockdev_find(const char *id)
{
    for (struct blockdev *b = drives; b; b = b->next)
        if (b->id && !strcmp(b->id, id))
            return b;
    return NULL;
}

struct blockdev *blockdev_next(struct blockdev *b)
{
    return b ? b->next : drives;
}

struct blockdev *blockdev_find_ide(int bus, int unit)
{
    for (struct blockdev *b = drives; b; b = b->next)
        if (b->iface == BLOCKDEV_IF_IDE && b->bus == bus && b->unit == unit)
            return b;
    return NULL;
}

struct blockdev *blockdev_find_virtio(int index)
{
    for (struct blockdev *b = drives; b; b = b->next)
        if (b->iface == BLOCKDEV_IF_VIRTIO && b->unit == index)
            return b;
    return NULL;
}

enum blockdev_error_action blockdev_error_action(const struct blockdev *b, bool is_read, int ret)
{
    if (is_read)
        return b->rerror;
    switch (b->werror) {
    case BLOCKDEV_WERROR_ENOSPC:
        return ret == -ENOSPC ? BLOCKDEV_ERROR_STOP : BLOCKDEV_ERROR_REPORT;
    case BLOCKDEV_WERROR_IGNORE:
        return BLOCKDEV_ERROR_IGNORE;
    case BLOCKDEV_WERROR_STOP:
        return BLOCKDEV_ERROR_STOP;
    default:
        return BLOCKDEV_ERROR_REPORT;
    }
}

/* A new drive at the end of the list; strings are copied. */
static struct blockdev *blockdev_new(const char *id, enum blockdev_if iface, int bus, int unit, bool cdrom,
                                     const char *file, const struct block_open_opts *o)
{
    struct blockdev *b = xnew(struct blockdev);

    b->id = dup_or_null(id);
    b->iface = iface;
    b->bus = bus;
    b->unit = unit;
    b->cdrom = cdrom;
    b->file = dup_or_null(file);
    b->open = *o;
    b->open.format = dup_or_null(o->format);
    /* a CD-ROM's disc cannot be written */
    if (cdrom)
        b->open.read_only = true;
    *drives_tail = b;
    drives_tail = &b->next;
    return b;
}

/* QEMU's name of the if=ide drive at index: ide<bus>-hd<unit> or ide<bus>-cd<unit> */
static char *ide_name(int index, bool cdrom)
{
    return xasprintf("ide%d-%s%d", index / 2, cdrom ? "cd" : "hd", index % 2);
}

/* Is IDE index free? 0, or -errno with *err. */
static int ide_check_free(int index, const char *what, char **err)
{
    struct blockdev *b;

    if (index < 0 || index >= IDE_PLACES) {
        *err = xasprintf("%s: IDE has indexes 0-3 (two buses of two units)", what);
        return -EINVAL;
    }
    b = blockdev_find_ide(index / 2, index % 2);
    if (b) {
        *err = xasprintf("%s: IDE index %d (bus %d, unit %d) is taken by drive '%s'", what, index,
                         index / 2, index % 2, b->id);
        return -EEXIST;
    }
    return 0;
}

static int check_new_id(const char *id, const char *what, char **err)
{
    if (id && blockdev_find(id)) {
        *err = xasprintf("%s: there is already a drive with id '%s'", what, id);
        return -EEXIST;
    }
    return 0;
}

int blockdev_add_legacy(int index, const char *file, bool cdrom, const char *what, char **err)
{
    char *id = ide_name(index, cdrom);
    int r = ide_check_free(index, what, err);

    if (r == 0)
        r = check_new_id(id, what, err);
    if (r == 0)
        blockdev_new(id, BLOCKDEV_IF_IDE, index / 2, index % 2, cdrom, file,
                     &(struct block_open_opts){ .discard_ignore = true });
    free(id);
    return r;
}

struct blockdev *blockdev_add_empty(const char *id, bool cdrom)
{
    return blockdev_new(id, BLOCKDEV_IF_NONE, -1, -1, cdrom, NULL, &(struct block_open_opts){ 0 });
}

/* -drive's options that say how to open the image (QEMU's spellings); -EINVAL with *err */
static int parse_open(struct opts *o, const char *spec, struct block_open_opts *bo, char **err)
{
    const char *v;
    bool ro = false, snap = false;

    if ((v = opts_get(o, "format"))) {
        if (strcmp(v, "raw") && strcmp(v, "qcow2")) {
            *err = xasprintf("-drive format=%s: skiff reads raw and qcow2 images", v);
            return -EINVAL;
        }
        bo->format = v;
    }
    if ((v = opts_get(o, "cache")) && block_parse_cache(v, &bo->cache) < 0) {
        *err = xasprintf("-drive cache=%s: cache is writeback, none, unsafe, writethrough or directsync", v);
        return -EINVAL;
    }
    /* as QEMU's: writethrough is writeback with the disk's write cache off, directsync none's */
    bo->write_through = v && (!strcmp(v, "writethrough") || !strcmp(v, "directsync"));
    if ((v = opts_get(o, "aio")) && block_parse_aio(v, &bo->aio) < 0) {
        *err = xasprintf("-drive aio=%s: aio is threads or native", v);
        return -EINVAL;
    }
    if (opts_get_bool(o, "readonly", &ro) < 0 || opts_get_bool(o, "read-only", &ro) < 0) {
        *err = xasprintf("-drive %s: readonly= takes on or off", spec);
        return -EINVAL;
    }
    bo->read_only = ro;
    if (opts_get_bool(o, "snapshot", &snap) < 0) {
        *err = xasprintf("-drive %s: snapshot= takes on or off", spec);
        return -EINVAL;
    }
    bo->snapshot = snap;
    /* QEMU's default is to ignore the guest's discards; unmap passes them to the image */
    v = opts_get(o, "discard");
    if (v && strcmp(v, "ignore") && strcmp(v, "off") && strcmp(v, "unmap") && strcmp(v, "on")) {
        *err = xasprintf("-drive discard=%s: discard is ignore (off) or unmap (on)", v);
        return -EINVAL;
    }
    bo->discard_ignore = !v || !strcmp(v, "ignore") || !strcmp(v, "off");
    return 0;
}

/* -drive werror= and rerror= (QEMU's BlockdevOnError; enospc for writes only) */
static int parse_errors(struct opts *o, enum blockdev_werror *werror, enum blockdev_error_action *rerror,
                        char **err)
{
    static const char *const wnames[] = { "enospc", "report", "ignore", "stop" };
    static const char *const rnames[] = { "report", "ignore", "stop" };
    const char *v;
    size_t i;

    *werror = BLOCKDEV_WERROR_ENOSPC;
    *rerror = BLOCKDEV_ERROR_REPORT;
    if ((v = opts_get(o, "werror"))) {
        for (i = 0; i < ARRAY_SIZE(wnames) && strcmp(v, wnames[i]); i++)
            ;
        if (i == ARRAY_SIZE(wnames)) {
            *err = xasprintf("-drive werror=%s: werror is enospc, report, ignore or stop", v);
            return -EINVAL;
        }
        *werror = i;
    }
    if ((v = opts_get(o, "rerror"))) {
        for (i = 0; i < ARRAY_SIZE(rnames) && strcmp(v, rnames[i]); i++)
            ;
        if (i == ARRAY_SIZE(rnames)) {
            *err = xasprintf("-drive rerror=%s: rerror is report, ignore or stop", v);
            return -EINVAL;
        }
        *rerror = i;
    }
    return 0;
}

/* -drive if= values QEMU has that skiff does not (yet), each refused by what it would need */
static const struct {
    const char *name, *why;
} if_missing[] = {
    { "scsi", "skiff has no SCSI controller" },
    { "floppy", "skiff has no floppy controller" },
    { "sd", "skiff has no SD card controller" },
    { "mtd", "skiff has no flash (mtd) devices" },
    { "pflash", "skiff has no parallel flash (firmware comes from -bios)" },
    { "xen", "skiff is not a Xen device model" },
};

/*
 * boot=on, as qemu-kvm's: the BIOS boots the drive first through the extboot option ROM, which
 * serves int 13h for it. One drive may have it; a drive that a disk device puts on a bus of its
 * own (if=none, later if=virtio), not an IDE one the BIOS already reaches. -EINVAL with *err.
 */
static int check_boot(enum blockdev_if iface, bool cdrom, const char *file, char **err)
{
    for (struct blockdev *b = drives; b; b = b->next)
        if (b->boot) {
            *err = xasprintf("-drive boot=on: drive '%s' has it already; one drive boots through extboot", b->id);
            return -EINVAL;
        }
    if (iface == BLOCKDEV_IF_IDE) {
        *err = xstrdup("-drive boot=on: the BIOS boots IDE drives itself; boot=on is for if=virtio "
                       "or if=none (extboot serves the drive)");
        return -EINVAL;
    }
    if (cdrom || !file) {
        *err = xstrdup("-drive boot=on: extboot boots a disk image (file=, not media=cdrom)");
        return -EINVAL;
    }
    return 0;
}

int blockdev_add_drive(const char *spec, char **err)
{
    struct block_open_opts bo = { 0 };
    const char *v, *file, *unused, *id;
    uint64_t index = UINT64_MAX, bus = UINT64_MAX, unit = UINT64_MAX;
    enum blockdev_if iface = BLOCKDEV_IF_IDE;
    enum blockdev_werror werror = BLOCKDEV_WERROR_ENOSPC;
    enum blockdev_error_action rerror = BLOCKDEV_ERROR_REPORT;
    struct blockdev *made = NULL;
    bool cdrom = false, boot = false;
    struct opts *o = opts_parse(spec, "file", err);
    char *name = NULL;
    int r = -EINVAL;

    if (!o) {
        char *e = *err;

        *err = xasprintf("-drive: %s", e);
        free(e);
        return -EINVAL;
    }
    if ((v = opts_get(o, "if"))) {
        if (!strcmp(v, "none")) {
            iface = BLOCKDEV_IF_NONE;
        } else if (!strcmp(v, "virtio")) {
            iface = BLOCKDEV_IF_VIRTIO;
        } else if (strcmp(v, "ide")) {
            for (size_t i = 0; i < ARRAY_SIZE(if_missing); i++)
                if (!strcmp(v, if_missing[i].name)) {
                    *err = xasprintf("-drive if=%s: %s (if=ide, if=virtio, or if=none with -device)", v,
                                     if_missing[i].why);
                    goto out;
                }
            *err = xasprintf("-drive if=%s: if is ide, virtio or none", v);
            goto out;
        }
    }
    if ((v = opts_get(o, "media"))) {
        if (!strcmp(v, "cdrom")) {
            cdrom = true;
        } else if (strcmp(v, "disk")) {
            *err = xasprintf("-drive media=%s: media is disk or cdrom", v);
            goto out;
        }
    }
    if (parse_open(o, spec, &bo, err) < 0 || parse_errors(o, &werror, &rerror, err) < 0)
        goto out;
    if (opts_get_uint(o, "index", &index) < 0 || opts_get_uint(o, "bus", &bus) < 0 ||
        opts_get_uint(o, "unit", &unit) < 0) {
        *err = xasprintf("-drive %s: index, bus and unit are numbers", spec);
        goto out;
    }
    if (opts_get_bool(o, "boot", &boot) < 0) {
        *err = xasprintf("-drive %s: boot= takes on or off", spec);
        goto out;
    }
    id = opts_get(o, "id");
    file = opts_get(o, "file");
    if (file && !*file)
        file = NULL;
    if (!file && !cdrom && iface != BLOCKDEV_IF_NONE) {
        *err = xasprintf("-drive %s: a disk needs file=", spec);
        goto out;
    }
    if ((unused = opts_first_unused(o))) {
        *err = xasprintf("-drive: skiff does not implement '%s'", unused);
        goto out;
    }
    if (check_new_id(id, "-drive", err) < 0) {
        r = -EEXIST;
        goto out;
    }
    if (boot && check_boot(iface, cdrom, file, err) < 0)
        goto out;
    if (iface == BLOCKDEV_IF_NONE) {
        /* QEMU's, and libvirt's, way: a backend that -device ide-hd,drive=ID places */
        if (!id || !*id) {
            *err = xasprintf("-drive %s: if=none needs id= for -device ide-hd,drive=ID to name it", spec);
            goto out;
        }
        if (index != UINT64_MAX || bus != UINT64_MAX || unit != UINT64_MAX) {
            *err = xasprintf("-drive %s: with if=none the device says where the drive goes "
                             "(-device ide-hd,bus=ide.B,unit=U)", spec);
            goto out;
        }
        made = blockdev_new(id, iface, -1, -1, cdrom, file, &bo);
        r = 0;
        goto out;
    }
    if (iface == BLOCKDEV_IF_VIRTIO) {
        /* as QEMU: each is a virtio-blk-pci of its own, named virtio<index> */
        if (bus != UINT64_MAX || unit != UINT64_MAX) {
            *err = xasprintf("-drive %s: a virtio drive takes index=, not bus= or unit=", spec);
            goto out;
        }
        if (cdrom) {
            *err = xasprintf("-drive %s: a virtio disk is not a CD-ROM (media=cdrom is for if=ide)", spec);
            goto out;
        }
        if (index == UINT64_MAX)
            for (index = 0; blockdev_find_virtio(index); index++)
                ;
        if (index > INT32_MAX) {
            *err = xasprintf("-drive index=%" PRIu64 ": too large", index);
            goto out;
        }
        if (blockdev_find_virtio(index)) {
            *err = xasprintf("-drive %s: virtio index %" PRIu64 " is taken by drive '%s'", spec, index,
                             blockdev_find_virtio(index)->id);
            r = -EEXIST;
            goto out;
        }
        name = id ? NULL : xasprintf("virtio%" PRIu64, index);
        if (check_new_id(id ? id : name, "-drive", err) < 0) {
            r = -EEXIST;
            goto out;
        }
        made = blockdev_new(id ? id : name, iface, 0, index, false, file, &bo);
        r = 0;
        goto out;
    }
    if (index == UINT64_MAX && (bus != UINT64_MAX || unit != UINT64_MAX)) {
        if (bus > 1 || (unit != UINT64_MAX && unit > 1)) {
            *err = xasprintf("-drive %s: IDE has buses 0-1 and units 0-1", spec);
            goto out;
        }
        bus = bus == UINT64_MAX ? 0 : bus;
        if (unit == UINT64_MAX)
            unit = blockdev_find_ide(bus, 0) ? 1 : 0;
        index = bus * 2 + unit;
    } else if (index == UINT64_MAX) {
        /* the first free index, as QEMU assigns them */
        for (index = 0; index < IDE_PLACES && blockdev_find_ide(index / 2, index % 2); index++)
            ;
    } else if (index >= IDE_PLACES) {
        *err = xasprintf("-drive index=%" PRIu64 ": IDE has indexes 0-3", index);
        goto out;
    }
    r = ide_check_free(index, "-drive", err);
    if (r == 0) {
        name = id ? NULL : ide_name(index, cdrom);
        made = blockdev_new(id ? id : name, iface, index / 2, index % 2, cdrom, file, &bo);
    }
out:
    if (made) {
        made->werror = werror;
        made->rerror = rerror;
        made->boot = boot;
    }
    free(name);
    opts_free(o);
    return r;
}

/* ---- -blockdev: nodes with QEMU's driver names and dotted keys ---- */

/* The options of a file node (driver=file) under prefix ("" or "file."). */
static int parse_file_node(struct opts *o, const char *prefix, struct block_open_opts *bo, const char **filename,
                           char **err)
{
    char key[64];
    const char *v;

    snprintf(key, sizeof(key), "%sfilename", prefix);
    *filename = opts_get(o, key);
    if (!*filename || !**filename) {
        *err = xasprintf("-blockdev: a file node needs %s", key);
        return -EINVAL;
    }
    snprintf(key, sizeof(key), "%saio", prefix);
    if ((v = opts_get(o, key)) && block_parse_aio(v, &bo->aio) < 0) {
        *err = xasprintf("-blockdev %s=%s: aio is threads or native", key, v);
        return -EINVAL;
    }
    /* skiff takes no lock on an image file: off and auto are what it does, on it cannot */
    snprintf(key, sizeof(key), "%slocking", prefix);
    if ((v = opts_get(o, key)) && strcmp(v, "off") && strcmp(v, "auto")) {
        *err = xasprintf("-blockdev %s=%s: skiff takes no locks on images (locking=off)", key, v);
        return -EINVAL;
    }
    return 0;
}

static int parse_node_common(struct opts *o, struct block_open_opts *bo, char **err)
{
    const char *v;
    bool ro = false, direct = false, noflush = false;

    if (opts_get_bool(o, "read-only", &ro) < 0 || opts_get_bool(o, "auto-read-only", &(bool){ 0 }) < 0 ||
        opts_get_bool(o, "cache.direct", &direct) < 0 || opts_get_bool(o, "cache.no-flush", &noflush) < 0 ||
        opts_get_bool(o, "file.cache.direct", &direct) < 0 || opts_get_bool(o, "file.cache.no-flush", &noflush) < 0) {
        *err = xstrdup("-blockdev: read-only, cache.direct and cache.no-flush take on or off");
        return -EINVAL;
    }
    bo->read_only = ro;
    bo->cache = noflush ? BLOCK_CACHE_UNSAFE : direct ? BLOCK_CACHE_NONE : BLOCK_CACHE_WRITEBACK;
    v = opts_get(o, "discard");
    if (!v)
        v = opts_get(o, "file.discard");
    if (v && strcmp(v, "ignore") && strcmp(v, "off") && strcmp(v, "unmap") && strcmp(v, "on")) {
        *err = xasprintf("-blockdev discard=%s: discard is ignore (off) or unmap (on)", v);
        return -EINVAL;
    }
    bo->discard_ignore = !v || !strcmp(v, "ignore") || !strcmp(v, "off");
    return 0;
}

int blockdev_add_blockdev(const char *spec, char **err)
{
    struct block_open_opts bo = { 0 };
    const char *driver, *node, *filename = NULL, *v, *unused;
    struct blockdev *filenode = NULL;
    struct opts *o;
    int r = -EINVAL;

    if (spec[0] == '{') {
        *err = xstrdup("-blockdev: skiff takes the key=value form (driver=qcow2,node-name=...,file.filename=...), "
                       "not JSON yet");
        return -EINVAL;
    }
    o = opts_parse(spec, NULL, err);
    if (!o) {
        char *e = *err;

        *err = xasprintf("-blockdev: %s", e);
        free(e);
        return -EINVAL;
    }
    driver = opts_get(o, "driver");
    node = opts_get(o, "node-name");
    if (!driver || !node || !*node) {
        *err = xasprintf("-blockdev %s: give driver= and node-name=", spec);
        goto out;
    }
    if (check_new_id(node, "-blockdev", err) < 0) {
        r = -EEXIST;
        goto out;
    }
    if (parse_node_common(o, &bo, err) < 0)
        goto out;
    if (!strcmp(driver, "file") || !strcmp(driver, "host_device")) {
        /* a protocol node: what a device reads through it is the file as it is */
        if (parse_file_node(o, "", &bo, &filename, err) < 0)
            goto out;
        bo.format = "raw";
    } else if (!strcmp(driver, "raw") || !strcmp(driver, "qcow2")) {
        bo.format = driver;
        v = opts_get(o, "file");
        if (v) {
            filenode = blockdev_find(v);
            if (!filenode || !filenode->open.format || strcmp(filenode->open.format, "raw") ||
                filenode->iface != BLOCKDEV_IF_NONE) {
                *err = xasprintf("-blockdev %s: file=%s names no file node (-blockdev driver=file,node-name=%s,filename=...)",
                                 spec, v, v);
                goto out;
            }
            if (filenode->dev || filenode->consumed_by) {
                *err = xasprintf("-blockdev %s: node '%s' is already used", spec, v);
                goto out;
            }
            filename = filenode->file;
            bo.aio = filenode->open.aio;
            if (!opts_has(o, "cache.direct") && !opts_has(o, "cache.no-flush"))
                bo.cache = filenode->open.cache;
        } else {
            v = opts_get(o, "file.driver");
            if (v && strcmp(v, "file") && strcmp(v, "host_device")) {
                *err = xasprintf("-blockdev file.driver=%s: skiff's protocol nodes are file and host_device", v);
                goto out;
            }
            if (parse_file_node(o, "file.", &bo, &filename, err) < 0)
                goto out;
        }
        /* backing=null: no backing file, which skiff cannot leave out of an image that names one */
        if ((v = opts_get(o, "backing")) && strcmp(v, "null")) {
            *err = xasprintf("-blockdev backing=%s: skiff opens the backing file the image names", v);
            goto out;
        }
    } else {
        *err = xasprintf("-blockdev driver=%s: skiff's drivers are file, host_device, raw and qcow2", driver);
        goto out;
    }
    if ((unused = opts_first_unused(o))) {
        *err = xasprintf("-blockdev: skiff does not implement '%s'", unused);
        goto out;
    }
    blockdev_new(node, BLOCKDEV_IF_NONE, -1, -1, false, filename, &bo);
    if (filenode) {
        /* the format node reads the file: the file node is its, not a drive of its own */
        filenode->consumed_by = xstrdup(node);
        free(filenode->file);
        filenode->file = NULL;
    }
    r = 0;
out:
    opts_free(o);
    return r;
}

void blockdev_snapshot_all(void)
{
    for (struct blockdev *b = drives; b; b = b->next)
        b->open.snapshot = true;
}

int blockdev_open_all(char **err)
{
    for (struct blockdev *b = drives; b; b = b->next) {
        int r;

        if (!b->file || b->bd)
            continue;
        r = block_open(&b->bd, b->file, &b->open, err);
        if (r < 0)
            return r;
    }
    return 0;
}

void blockdev_cleanup(void)
{
    struct blockdev *b, *next;

    for (b = drives; b; b = next) {
        next = b->next;
        block_close(b->bd);
        free(b->id);
        free(b->consumed_by);
        free(b->file);
        free((char *)b->open.format);
        free(b);
    }
    drives = NULL;
    drives_tail = &drives;
}

int blockdev_attach(struct blockdev *b, struct device *dev, const struct blockdev_dev_ops *ops,
                    void *opaque, char **err)
{
    if (b->consumed_by) {
        *err = xasprintf("node '%s' is read through node '%s': give that one", b->id, b->consumed_by);
        return -EBUSY;
    }
    if (b->dev) {
        *err = xasprintf("drive '%s' is already another device's", b->id);
        return -EBUSY;
    }
    b->dev = dev;
    b->dev_ops = ops;
    b->dev_opaque = opaque;
    return 0;
}

int blockdev_set_cdrom(struct blockdev *b, char **err)
{
    struct block_dev *bd;
    int r;

    b->cdrom = true;
    if (b->open.read_only)
        return 0;
    b->open.read_only = true;
    if (!b->bd)
        return 0;
    /* a disc is read-only: the image is opened again that way */
    r = block_open(&bd, b->file, &b->open, err);
    if (r < 0)
        return r;
    block_close(b->bd);
    b->bd = bd;
    return 0;
}

void blockdev_detach(struct blockdev *b)
{
    b->dev = NULL;
    b->dev_ops = NULL;
    b->dev_opaque = NULL;
}

int blockdev_change(struct blockdev *b, const char *file, const char *format, bool force, char **err)
{
    struct block_open_opts o = b->open;
    struct block_dev *bd = NULL, *old = b->bd;
    int r;

    if (!b->dev || !b->dev_ops || !b->dev_ops->change_medium) {
        *err = xasprintf("Device '%s' is not removable", b->id);
        return -ENOTSUP;
    }
    if (file) {
        o.format = format;
        o.read_only = true;
        r = block_open(&bd, file, &o, err);
        if (r < 0)
            return r;
    }
    r = b->dev_ops->change_medium(b->dev_opaque, bd, force, err);
    if (r < 0) {
        block_close(bd);
        return r;
    }
    b->bd = bd;
    block_close(old);
    free(b->file);
    b->file = dup_or_null(file);
    free((char *)b->open.format);
    b->open.format = dup_or_null(format);
    return 0;
}
