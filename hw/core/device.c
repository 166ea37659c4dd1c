/* device.c: the registry of device types, property setting, and the list of live devices */
#define LOG_PREFIX "device: "
#include "hw/core/device.h"
#include "chardev/chardev.h"
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

static const struct prop_desc *prop_find(const struct device_type *t, const char *name)
{
    for (const struct prop_desc *p = t->props; p && p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

static int prop_set(struct device *dev, const struct prop_desc *p, const char *value, char **err)
{
    uint8_t *field = (uint8_t *)dev + p->offset;
    uint64_t v = 0, limit = 0;
    bool b;

    switch (p->type) {
    case PROP_BOOL:
        if (parse_bool(value, &b) < 0)
            goto bad;
        *(bool *)field = b;
        return 0;
    case PROP_STRING:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case PROP_CHARDEV: {
        struct chardev *c = chardev_find(value);

        if (!c) {
            *err = xasprintf("%s: property '%s': no chardev with id '%s'", dev->type->name,
                             p->name, value);
            return -EINVAL;
        }
        *(struct chardev **)field = c;
        return 0;
    }
    case PROP_SIZE:
        if (parse_size(value, 1, &v) < 0)
            goto bad;
        *(uint64_t *)field = v;
        return 0;
    case PROP_U8: limit = UINT8_MAX; break;
    case PROP_U16: limit = UINT16_MAX; break;
    case PROP_U32: limit = UINT32_MAX; break;
    case PROP_U64: limit = UINT64_MAX; break;
    }
    if (parse_uint(value, &v) < 0 || v > limit)
        goto bad;
    switch (p->type) {
    case PROP_U8: *(uint8_t *)field = v; break;
    case PROP_U16: *(uint16_t *)field = v; break;
    case PROP_U32: *(uint32_t *)field = v; break;
    default: *(uint64_t *)field = v; break;
    }
    return 0;
bad:
    *err = xasprintf("%s: property '%s' does not take the value '%s'", dev->type->name, p->name,
                     value);
    return -EINVAL;
}

struct device *device_new(const char *type_name)
{
    const struct device_type *t = device_type_find(type_name);
    struct device *dev;

    if (!t)
        return NULL;
    dev = xzalloc(t->instance_size);
    dev->type = t;
    for (const struct prop_desc *p = t->props; p && p->name; p++) {
        char *err = NULL;

        if (p->def && prop_set(dev, p, p->def, &err) < 0) {
            /* a bad default is a programming error */
            die("%s", err);
        }
    }
    return dev;
}

int device_set_prop(struct device *dev, const char *name, const char *value, char **err)
{
    const struct prop_desc *p;

    if (!strcmp(name, "id")) {
        free(dev->id);
        dev->id = xstrdup(value);
        return 0;
    }
    p = prop_find(dev->type, name);
    if (!p) {
        *err = xasprintf("%s: no property '%s' (see -device %s,help)", dev->type->name, name,
                         dev->type->name);
        return -EINVAL;
    }
    return prop_set(dev, p, value, err);
}

static void device_free(struct device *dev)
{
    for (const struct prop_desc *p = dev->type->props; p && p->name; p++)
        if (p->type == PROP_STRING)
            free(*(char **)((uint8_t *)dev + p->offset));
    free(dev->id);
    free(dev);
}

int device_realize(struct device *dev, char **err)
{
    unsigned n = 0;
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
    r = dev->type->realize ? dev->type->realize(dev, err) : 0;
    if (r < 0) {
        if (!*err)
            *err = xasprintf("%s: %s", dev->type->name, strerror(-r));
        return r;
    }
    dev->realized = true;
    dev->next = NULL;
    *devices_tail = dev;
    devices_tail = &dev->next;
    return 0;
}

struct device *device_create_from_opts(struct opts *o, char **err)
{
    const char *name = opts_get(o, "driver");
    struct device *dev;

    *err = NULL;
    if (!name) {
        *err = xstrdup("-device needs a device name (see -device help)");
        return NULL;
    }
    dev = device_new(name);
    if (!dev || !dev->type->user_creatable) {
        if (dev)
            device_free(dev);
        *err = xasprintf("'%s' is not a device skiff can create (see -device help)", name);
        return NULL;
    }
    for (int i = 0; i < o->n; i++) {
        if (!strcmp(o->v[i].key, "driver"))
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
    if (r == 0 && b->pos != b->len) {
        *err = xasprintf("%s: %zu bytes left after its state", vmsd->name, b->len - b->pos);
        r = -EINVAL;
    }
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
        device_free(last);
    }
    devices_tail = &devices;
}

static const char *const bus_names[] = { "system", "ISA", "PCI", "USB", "virtio" };

void device_print_types(FILE *out)
{
    fprintf(out, "Devices (-device NAME,help lists a device's properties):\n");
    for (int bus = BUS_SYSTEM; bus <= BUS_VIRTIO; bus++) {
        bool header = false;

        for (struct device_type *t = types; t; t = t->next) {
            if ((int)t->bus != bus || !t->user_creatable)
                continue;
            if (!header)
                fprintf(out, "\n%s devices:\n", bus_names[bus]);
            header = true;
            fprintf(out, "  %-24s %s\n", t->name, t->desc ? t->desc : "");
        }
    }
}

static const char *const prop_type_names[] = { "bool", "uint8", "uint16", "uint32", "uint64",
                                                "size", "string", "chardev" };

int device_print_props(FILE *out, const char *type_name)
{
    const struct device_type *t = device_type_find(type_name);

    if (!t)
        return -ENOENT;
    fprintf(out, "%s options:\n", t->name);
    for (const struct prop_desc *p = t->props; p && p->name; p++)
        fprintf(out, "  %s=<%s>%s%s%s%s%s\n", p->name, prop_type_names[p->type],
                p->help ? "  - " : "", p->help ? p->help : "", p->def ? " (default: " : "",
                p->def ? p->def : "", p->def ? ")" : "");
    return 0;
}

int device_vmstate_roundtrip_all(int *count, char **err)
{
    *count = 0;
    *err = NULL;
    for (struct device *d = devices; d; d = d->next) {
        struct device *fresh;
        int r;

        if (!d->type->vmsd)
            continue;
        fresh = device_new(d->type->name);
        r = vmstate_roundtrip(d->type->vmsd, d, fresh, err);
        device_free(fresh);
        if (r < 0)
            return r;
        (*count)++;
    }
    return 0;
}
