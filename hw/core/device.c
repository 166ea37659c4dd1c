/* device.c: the registry of device types, property setting, and the list of live devices */
#define LOG_PREFIX "device: "
#include "hw/core/device.h"
#include "hw/core/bus.h"
#include "hw/core/ioregion.h" // io_region_set_default_owner, io_region_unmap_owned
#include "hw/core/props.h"
#include "util/log.h"
#include "util/opts.h"
#include "migration/vmstate.h"

static struct device_type *types;
static struct device *devices;      /* realized devices, in creation order */
static struct device **devices_tail = &devices;

void device_type_register(struct device_type *t)
{
    t->next = types;
    types = t;
}

const struct device_type *device_type_find(const char *name)
{
    for (struct device_type *t = types; t; t = t->next)
        if (!strcmp(t->name, name))
            return t;
    return NULL;
}

const struct device_type *device_type_next(const struct device_type *t)
{
    return t ? t->next : types;
}

struct device *device_new(const char *type_name)
{
    const struct device_type *t = device_type_find(type_name);
    struct device *dev;
    char *err = NULL;

    if (!t)
        return NULL;
    dev = xzalloc(t->instance_size);
    dev->type = t;
    if (props_set_defaults(dev, &err) < 0)
        die("%s", err);     /* a bad default is a programming error */
    return dev;
}

int device_set_prop(struct device *dev, const char *name, const char *value, char **err)
{
    struct bus *b;

    if (!strcmp(name, "id")) {
        free(dev->id);
        dev->id = xstrdup(value);
        return 0;
    }
    if (!strcmp(name, "bus") && !dev->type->object) {
        b = bus_find(value);
        if (!b) {
            *err = xasprintf("%s: bus '%s' not found", dev->type->name, value);
            return -ENOENT;
        }
        if (b->type != dev->type->bus) {
            *err = xasprintf("%s: bus '%s' takes %s devices, and this is a %s device", dev->type->name,
                             value, bus_type_name(b->type), bus_type_name(dev->type->bus));
            return -EINVAL;
        }
        dev->bus = b;
        return 0;
    }
    return prop_set_by_name(dev, name, value, err);
}

void device_free(struct device *dev)
{
    props_free(dev);
    free(dev->id);
    free(dev);
}

int device_realize(struct device *dev, char **err)
{
    struct device *prev_owner;
    unsigned n = 0;
    char *why;
    int r;

    *err = NULL;
    if (dev->id && device_find_by_id(dev->id)) {
        *err = xasprintf("duplicate device id '%s'", dev->id);
        return -EEXIST;
    }
    for (struct device *d = devices; d; d = d->next)
        if (d->type == dev->type)
            n++;
    dev->instance = n;
    /* a device of a bus type goes on the first bus of that type with room, unless bus= said */
    if (dev->type->bus != BUS_SYSTEM) {
        if (!dev->bus && !(dev->bus = bus_pick(dev->type->bus, dev, err)))
            return -ENODEV;
        if (dev->bus->ops && dev->bus->ops->check && (r = dev->bus->ops->check(dev->bus, dev, err)) < 0)
            return r;
    }
    /* the regions it makes are its own; one it could not map (an overlap) fails the realize */
    prev_owner = io_region_set_default_owner(dev);
    r = dev->type->realize ? dev->type->realize(dev, err) : 0;
    why = io_region_owner_failure(dev);
    io_region_set_default_owner(prev_owner);
    if (r == 0 && why) {
        if (dev->type->unrealize)
            dev->type->unrealize(dev);
        r = -EBUSY;
    }
    if (r < 0) {
        io_region_unmap_owned(dev);
        if (!*err && why)
            *err = xasprintf("%s: %s", dev->type->name, why);
        else if (!*err)
            *err = xasprintf("%s: %s", dev->type->name, strerror(-r));
        free(why);
        return r;
    }
    dev->realized = true;
    dev->next = NULL;
    *devices_tail = dev;
    devices_tail = &dev->next;
    return 0;
}

/* Set every option but the one naming the type, and realize; the device is freed on failure. */
static struct device *device_build(struct device *dev, struct opts *o, const char *type_key, char **err)
{
    for (int i = 0; i < o->n; i++) {
        if (!strcmp(o->v[i].key, type_key))
            continue;
        o->v[i].used = true;
        if (device_set_prop(dev, o->v[i].key, o->v[i].val, err) < 0) {
            device_free(dev);
            return NULL;
        }
    }
    if (device_realize(dev, err) < 0) {
        device_free(dev);
        return NULL;
    }
    return dev;
}

struct device *device_create_from_opts(struct opts *o, char **err)
{
    const char *name = opts_get(o, "driver");
    const struct device_type *t;

    *err = NULL;
    if (!name) {
        *err = xstrdup("-device needs a device name (see -device help)");
        return NULL;
    }
    t = device_type_find(name);
    if (t && t->object) {
        *err = xasprintf("'%s' is an object, not a device: give it as -object %s,id=ID", name, name);
        return NULL;
    }
    if (!t || !t->user_creatable) {
        *err = xasprintf("'%s' is not a device skiff can create (see -device help)", name);
        return NULL;
    }
    return device_build(device_new(name), o, "driver", err);
}

struct device *object_create_from_opts(struct opts *o, char **err)
{
    const char *name = opts_get(o, "qom-type"), *id = opts_get(o, "id");
    const struct device_type *t;

    *err = NULL;
    if (!name) {
        *err = xstrdup("-object needs a type (see -object help)");
        return NULL;
    }
    t = device_type_find(name);
    if (!t) {
        *err = xasprintf("no object type '%s' (see -object help)", name);
        return NULL;
    }
    if (!t->object) {
        *err = xasprintf("'%s' is a device, not an object: give it with -device", name);
        return NULL;
    }
    if (!id || !*id) {
        *err = xstrdup("an object needs an id (id=...)");
        return NULL;
    }
    if (device_find_by_id(id)) {
        *err = xasprintf("there is already an object or device with id '%s'", id);
        return NULL;
    }
    return device_build(device_new(name), o, "qom-type", err);
}

struct device *device_create_simple(const char *type_name, const char *props)
{
    struct device *dev = device_new(type_name);
    struct opts *o;
    char *err = NULL;

    if (!dev)
        die("internal error: no device type '%s'", type_name);
    if (props && *props) {
        o = opts_parse(props, NULL, &err);
        if (!o)
            die("%s", err);
        for (int i = 0; i < o->n; i++)
            if (device_set_prop(dev, o->v[i].key, o->v[i].val, &err) < 0)
                die("%s", err);
        opts_free(o);
    }
    if (device_realize(dev, &err) < 0)
        die("%s", err);
    return dev;
}

struct device *device_first(void)
{
    return devices;
}

struct device *device_find_by_id(const char *id)
{
    for (struct device *d = devices; d; d = d->next)
        if (d->id && !strcmp(d->id, id))
            return d;
    return NULL;
}

struct device *device_find(const char *name)
{
    struct device *d = device_find_by_id(name);

    for (d = d ? d : devices; d; d = d->next)
        if ((d->id && !strcmp(d->id, name)) || !strcmp(d->type->name, name))
            return d;
    return NULL;
}

int device_vmstate_load(struct device *dev, struct vmbuf *b, char **err)
{
    const struct vmstate_desc *vmsd = dev->type->vmsd;
    void *backup;
    int r;

    *err = NULL;
    if (!vmsd) {
        *err = xasprintf("%s: has no state to load", dev->type->name);
        return -EINVAL;
    }
    /* nothing in flight may land in the state being replaced */
    if (dev->type->drain)
        dev->type->drain(dev);
    /* a refused stream leaves the device as it was, byte for byte */
    backup = xmalloc(dev->type->instance_size);
    memcpy(backup, dev, dev->type->instance_size);
    r = vmstate_load(vmsd, dev, b, err);
    if (r < 0)
        memcpy(dev, backup, dev->type->instance_size);
    free(backup);
    if (r == 0 && dev->type->state_loaded)
        dev->type->state_loaded(dev);
    return r;
}

void device_reset_all(void)
{
    for (struct device *d = devices; d; d = d->next)
        if (d->type->reset)
            d->type->reset(d);
}

void device_drain_all(void)
{
    for (struct device *d = devices; d; d = d->next)
        if (d->type->drain)
            d->type->drain(d);
}

void device_destroy_all(void)
{
    /*
     * First every device's requests end: a DMA may target memory that another device owns (a
     * disk read into video memory), and that device may go first.
     */
    device_drain_all();
    /* unrealize in reverse creation order: later devices may use earlier ones */
    while (devices) {
        struct device *last = devices, **pp = &devices;

        while (last->next) {
            pp = &last->next;
            last = last->next;
        }
        *pp = NULL;
        if (last->type->unrealize)
            last->type->unrealize(last);
        /* what the type's unrealize left mapped goes with it */
        io_region_unmap_owned(last);
        device_free(last);
    }
    devices_tail = &devices;
}

void device_print_types(FILE *out)
{
    fprintf(out, "Devices (-device NAME,help lists a device's properties):\n");
    for (int bus = BUS_SYSTEM; bus < BUS_TYPES; bus++) {
        bool header = false;

        for (struct device_type *t = types; t; t = t->next) {
            if ((int)t->bus != bus || !t->user_creatable || t->object)
                continue;
            if (!header)
                fprintf(out, "\n%s devices:\n", bus_type_name(bus));
            header = true;
            fprintf(out, "  %-24s %s\n", t->name, t->desc ? t->desc : "");
        }
    }
}

void object_print_types(FILE *out)
{
    fprintf(out, "Objects (-object TYPE,help lists an object's properties):\n");
    for (struct device_type *t = types; t; t = t->next)
        if (t->object)
            fprintf(out, "  %-24s %s\n", t->name, t->desc ? t->desc : "");
}

int device_vmstate_roundtrip_all(int *count, char **err)
{
    *count = 0;
    *err = NULL;
    for (struct device *d = devices; d; d = d->next) {
        struct vmbuf a, c;
        int r;

        if (!d->type->vmsd)
            continue;
        vmbuf_init(&a);
        vmbuf_init(&c);
        r = vmstate_save(d->type->vmsd, d, &a);
        if (r < 0)
            *err = xasprintf("%s: save failed: %s", d->type->vmsd->name, strerror(-r));
        if (r == 0)
            r = device_vmstate_load(d, &a, err);
        if (r == 0)
            r = vmstate_save(d->type->vmsd, d, &c);
        if (r == 0 && (c.len != a.len || memcmp(c.data, a.data, a.len))) {
            *err = xasprintf("%s: state saved after its own load differs from the original",
                             d->type->vmsd->name);
            r = -EINVAL;
        }
        vmbuf_free(&a);
        vmbuf_free(&c);
        if (r < 0)
            return r;
        (*count)++;
    }
    return 0;
}
