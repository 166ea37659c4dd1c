/* pc-drives.c: the command line's IDE drives, placed as QEMU places them: index = bus * 2 + unit */
#include "hw/pc/pc-drives.h"
#include "block/block.h" // block_parse_cache, block_parse_aio
#include "util/opts.h"

#include <limits.h>

const char pc_drives_device_help[] =
    "  ide-hd                   IDE disk: drive=ID (a -drive if=none,id=ID), bus=ide.0|ide.1, unit=0|1, bootindex=N,\n"
    "                           serial=S (20 characters), model=S (40)\n"
    "  ide-cd                   IDE CD-ROM: the same, drive= optional (an empty drive)\n";

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* the open options, with a string of the set's own */
static struct block_open_opts open_copy(const struct block_open_opts *o)
{
    struct block_open_opts c = *o;

    c.format = dup_or_null(o->format);
    return c;
}

/* Is INDEX a free place? 0, or -errno with *err. */
static int check_free(struct pc_drive_set *s, int index, const char *what, char **err)
{
    if (index < 0 || index >= PC_MAX_IDE) {
        *err = xasprintf("%s: IDE has indexes 0-3 (two buses of two units)", what);
        return -EINVAL;
    }
    if (s->ide[index].present) {
        *err = xasprintf("%s: IDE index %d (bus %d, unit %d) is taken by another drive", what, index,
                         index / 2, index % 2);
        return -EEXIST;
    }
    return 0;
}

/* Place a drive with its open options (copied) at INDEX, which is free. */
static void place(struct pc_drive_set *s, int index, const char *file, bool cdrom,
                  const struct block_open_opts *o)
{
    struct pc_drive *d = &s->ide[index];

    d->present = true;
    d->cdrom = cdrom;
    d->file = dup_or_null(file);
    d->open = open_copy(o);
    /* a CD-ROM's disc cannot be written */
    if (cdrom)
        d->open.read_only = true;
}

int pc_drives_add(struct pc_drive_set *s, int index, const char *file, bool cdrom, const char *what,
                  char **err)
{
    int r = check_free(s, index, what, err);

    if (r == 0)
        place(s, index, file, cdrom, &(struct block_open_opts){ .discard_ignore = true });
    return r;
}

/* the named drive ID, or -1 */
static int named_find(struct pc_drive_set *s, const char *id)
{
    for (int n = 0; n < s->nnamed; n++)
        if (!strcmp(s->named[n].id, id))
            return n;
    return -1;
}

/* -drive if=none,id=ID: a backend for -device ide-hd or ide-cd to place (QEMU's, and libvirt's, way) */
static int add_named(struct pc_drive_set *s, const char *spec, const char *id, const char *file,
                     const struct block_open_opts *bo, bool placed, char **err)
{
    if (!id || !*id) {
        *err = xasprintf("-drive %s: if=none needs id= for -device ide-hd,drive=ID to name it", spec);
        return -EINVAL;
    }
    if (placed) {
        *err = xasprintf("-drive %s: with if=none the device says where the drive goes "
                         "(-device ide-hd,bus=ide.B,unit=U)", spec);
        return -EINVAL;
    }
    if (named_find(s, id) >= 0) {
        *err = xasprintf("-drive id=%s: there is already a drive with that id", id);
        return -EEXIST;
    }
    if (s->nnamed == PC_MAX_IDE) {
        *err = xasprintf("-drive %s: IDE has room for %d drives", spec, PC_MAX_IDE);
        return -ENOSPC;
    }
    s->named[s->nnamed].id = xstrdup(id);
    s->named[s->nnamed].file = dup_or_null(file);
    s->named[s->nnamed].open = open_copy(bo);
    s->nnamed++;
    return 0;
}

/* the -drive options that say how to open the image; -EINVAL with *err */
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
    if (opts_get_bool(o, "readonly", &ro) < 0) {
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

int pc_drives_parse_drive(struct pc_drive_set *s, const char *spec, char **err)
{
    struct block_open_opts bo = { 0 };
    const char *v, *file, *unused, *id;
    uint64_t index = UINT64_MAX, bus = UINT64_MAX, unit = UINT64_MAX;
    bool cdrom = false, if_none = false;
    struct opts *o = opts_parse(spec, NULL, err);
    int r = -EINVAL;

    if (!o) {
        char *e = *err;

        *err = xasprintf("-drive: %s", e);
        free(e);
        return -EINVAL;
    }
    if ((v = opts_get(o, "if")) && !strcmp(v, "none")) {
        if_none = true;
    } else if (v && strcmp(v, "ide")) {
        *err = xasprintf("-drive if=%s: skiff has IDE drives (if=ide, or if=none with -device ide-hd) so far", v);
        goto out;
    }
    if ((v = opts_get(o, "media"))) {
        if (!strcmp(v, "cdrom")) {
            cdrom = true;
        } else if (strcmp(v, "disk")) {
            *err = xasprintf("-drive media=%s: media is disk or cdrom", v);
            goto out;
        }
    }
    if (parse_open(o, spec, &bo, err) < 0)
        goto out;
    if (opts_get_uint(o, "index", &index) < 0 || opts_get_uint(o, "bus", &bus) < 0 ||
        opts_get_uint(o, "unit", &unit) < 0) {
        *err = xasprintf("-drive %s: index, bus and unit are numbers", spec);
        goto out;
    }
    id = opts_get(o, "id");
    file = opts_get(o, "file");
    if (file && !*file)
        file = NULL;
    if (!file && !cdrom && !if_none) {
        *err = xasprintf("-drive %s: a disk needs file=", spec);
        goto out;
    }
    if ((unused = opts_first_unused(o))) {
        *err = xasprintf("-drive: skiff does not implement '%s'", unused);
        goto out;
    }
    if (if_none) {
        r = add_named(s, spec, id, file, &bo, index != UINT64_MAX || bus != UINT64_MAX ||
                      unit != UINT64_MAX, err);
        goto out;
    }
    if (index == UINT64_MAX && (bus != UINT64_MAX || unit != UINT64_MAX)) {
        if (bus > 1 || (unit != UINT64_MAX && unit > 1)) {
            *err = xasprintf("-drive %s: IDE has buses 0-1 and units 0-1", spec);
            goto out;
        }
        bus = bus == UINT64_MAX ? 0 : bus;
        if (unit == UINT64_MAX)
            unit = s->ide[bus * 2].present ? 1 : 0;
        index = bus * 2 + unit;
    } else if (index == UINT64_MAX) {
        /* the first free index, as QEMU assigns them */
        for (index = 0; index < PC_MAX_IDE && s->ide[index].present; index++)
            ;
    } else if (index >= PC_MAX_IDE) {
        *err = xasprintf("-drive index=%" PRIu64 ": IDE has indexes 0-3", index);
        goto out;
    }
    r = check_free(s, index, "-drive", err);
    if (r == 0)
        place(s, index, file, cdrom, &bo);
out:
    opts_free(o);
    return r;
}

/*
 * -device ide-hd|ide-cd,drive=ID[,bus=ide.B][,unit=U][,bootindex=N][,serial=S][,model=S][,id=NAME]:
 * put a named drive on the PIIX3's IDE bus B (QEMU's names ide.0 and ide.1); without bus= or
 * unit=, in the first free place that fits.
 */
int pc_drives_parse_device(struct pc_drive_set *s, const char *spec, char **err)
{
    const char *driver, *drive, *bus, *unused, *serial, *model;
    uint64_t unit = UINT64_MAX, bootindex = UINT64_MAX;
    int b = -1, index = -1, n = -1, r = -EINVAL;
    struct opts *o = opts_parse(spec, "driver", err);
    bool cd;

    if (!o) {
        char *e = *err;

        *err = xasprintf("-device %s: %s", spec, e);
        free(e);
        return -EINVAL;
    }
    driver = opts_get(o, "driver");
    if (!driver || (strcmp(driver, "ide-hd") && strcmp(driver, "ide-cd"))) {
        opts_free(o);
        return 0;
    }
    cd = !strcmp(driver, "ide-cd");
    drive = opts_get(o, "drive");
    bus = opts_get(o, "bus");
    serial = opts_get(o, "serial");
    model = opts_get(o, "model");
    opts_get(o, "id");
    if (opts_get_uint(o, "unit", &unit) < 0 || opts_get_uint(o, "bootindex", &bootindex) < 0) {
        *err = xasprintf("-device %s: unit and bootindex are numbers", spec);
        goto out;
    }
    if ((unused = opts_first_unused(o))) {
        *err = xasprintf("-device %s: skiff's %s takes drive=, bus=, unit=, bootindex=, serial=, "
                         "model= and id= (not '%s')", spec, driver, unused);
        goto out;
    }
    if (bus) {
        if (strcmp(bus, "ide.0") && strcmp(bus, "ide.1")) {
            *err = xasprintf("-device %s: the IDE buses are ide.0 and ide.1", spec);
            goto out;
        }
        b = bus[4] - '0';
    }
    if (unit != UINT64_MAX && unit > 1) {
        *err = xasprintf("-device %s: an IDE bus has units 0 and 1", spec);
        goto out;
    }
    for (int i = 0; i < PC_MAX_IDE && index < 0; i++)
        if (!s->ide[i].present && (b < 0 || i / 2 == b) && (unit == UINT64_MAX || i % 2 == (int)unit))
            index = i;
    if (index < 0) {
        *err = xasprintf("-device %s: that place on the IDE bus is taken (or both buses are full)", spec);
        goto out;
    }
    if (!drive && !cd) {
        *err = xasprintf("-device %s: ide-hd needs drive= (a -drive if=none,id=ID)", spec);
        goto out;
    }
    if (drive) {
        n = named_find(s, drive);
        if (n < 0) {
            *err = xasprintf("-device %s: no drive '%s' (give it as -drive if=none,id=%s,file=...)",
                             spec, drive, drive);
            goto out;
        }
        if (s->named[n].used) {
            *err = xasprintf("-device %s: drive '%s' is already another device's", spec, drive);
            goto out;
        }
        if (!s->named[n].file && !cd) {
            *err = xasprintf("-device %s: drive '%s' has no file, and a disk needs one", spec, drive);
            goto out;
        }
        s->named[n].used = true;
        place(s, index, s->named[n].file, cd, &s->named[n].open);
    } else {
        place(s, index, NULL, true, &(struct block_open_opts){ 0 });
    }
    s->ide[index].serial = dup_or_null(serial);
    s->ide[index].model = dup_or_null(model);
    if (bootindex != UINT64_MAX) {
        s->ide[index].has_bootindex = true;
        s->ide[index].bootindex = bootindex > UINT_MAX ? UINT_MAX : (unsigned)bootindex;
    }
    r = 1;
out:
    opts_free(o);
    return r;
}

void pc_drives_snapshot_all(struct pc_drive_set *s)
{
    for (int i = 0; i < PC_MAX_IDE; i++)
        s->ide[i].open.snapshot = true;
}

void pc_drives_free(struct pc_drive_set *s)
{
    for (int i = 0; i < PC_MAX_IDE; i++) {
        free((char *)s->ide[i].file);
        free((char *)s->ide[i].open.format);
        free((char *)s->ide[i].serial);
        free((char *)s->ide[i].model);
    }
    for (int i = 0; i < s->nnamed; i++) {
        free(s->named[i].id);
        free(s->named[i].file);
        free((char *)s->named[i].open.format);
    }
    memset(s, 0, sizeof(*s));
}
