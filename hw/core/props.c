/* props.c: typed device properties, the device type's and its bus type's: text to value, defaults, help */
#define LOG_PREFIX "device: "
#include "hw/core/props.h"
#include "hw/core/bus.h"
#include "block/blockdev.h" // blockdev_find
#include "chardev/chardev.h"
#include "rng/rng.h" // rng_find
#include "util/iothread.h" // iothread_find
#include "util/log.h"
#include "util/opts.h" // parse_bool, parse_uint, parse_size

#include <stdio.h>

static prop_netdev_resolver netdev_resolve;

void props_set_netdev_resolver(prop_netdev_resolver fn)
{
    netdev_resolve = fn;
}

/* The device type's property `name`, else its bus type's. */
static const struct prop_desc *prop_find(const struct device_type *t, const char *name)
{
    for (const struct prop_desc *p = t->props; p && p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    for (const struct prop_desc *p = bus_type_props(t->bus); p && p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

int mac_addr_parse(const char *s, struct mac_addr *mac)
{
    unsigned v[6];
    char end;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6 ||
        strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac->a[i] = v[i];
    mac->set = true;
    return 0;
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
    case PROP_DRIVE: {
        struct blockdev *drive = blockdev_find(value);

        if (!drive) {
            *err = xasprintf("%s: property '%s': no drive '%s' (give it as -drive if=none,id=%s,file=...)",
                             dev->type->name, p->name, value, value);
            return -EINVAL;
        }
        *(struct blockdev **)field = drive;
        return 0;
    }
    case PROP_NETDEV: {
        void *n = NULL;
        int r = netdev_resolve ? netdev_resolve(value, &n) : -ENOENT;

        if (r == -EBUSY) {
            *err = xasprintf("%s: property '%s': netdev '%s' is already another NIC's", dev->type->name,
                             p->name, value);
            return -EBUSY;
        }
        if (r < 0) {
            *err = xasprintf("%s: property '%s': no -netdev with id '%s'", dev->type->name, p->name, value);
            return -EINVAL;
        }
        *(void **)field = n;
        return 0;
    }
    case PROP_IOTHREAD: {
        struct iothread *t = iothread_find(value);

        if (!t) {
            *err = xasprintf("%s: property '%s': no I/O thread '%s' (give it as -object iothread,id=%s)",
                             dev->type->name, p->name, value, value);
            return -EINVAL;
        }
        *(struct iothread **)field = t;
        return 0;
    }
    case PROP_RNG: {
        struct rng_backend *r = rng_find(value);

        if (!r) {
            *err = xasprintf("%s: property '%s': no rng backend '%s' (give it as -object rng-random,id=%s or "
                             "rng-builtin,id=%s)", dev->type->name, p->name, value, value, value);
            return -EINVAL;
        }
        *(struct rng_backend **)field = r;
        return 0;
    }
    case PROP_SIZE:
        if (parse_size(value, 1, &v) < 0)
            goto bad;
        *(uint64_t *)field = v;
        return 0;
    case PROP_MACADDR: {
        struct mac_addr m = { 0 };

        /* as QEMU: a multicast address (bit 0 of the first byte) cannot be a NIC's own */
        if (mac_addr_parse(value, &m) < 0 || (m.a[0] & 1)) {
            *err = xasprintf("%s: property '%s': '%s' is not a unicast MAC address (52:54:00:12:34:56)",
                             dev->type->name, p->name, value);
            return -EINVAL;
        }
        *(struct mac_addr *)field = m;
        return 0;
    }
    case PROP_BOOTINDEX:
        /* as QEMU: -1 (none) or 0 and up */
        if (!strcmp(value, "-1")) {
            *(int32_t *)field = -1;
            return 0;
        }
        if (parse_uint(value, &v) < 0 || v > INT32_MAX)
            goto bad;
        *(int32_t *)field = (int32_t)v;
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


int prop_set_by_name(struct device *dev, const char *name, const char *value, char **err)
{
    const struct prop_desc *p = prop_find(dev->type, name);

    if (!p) {
        *err = xasprintf("%s: no property '%s' (see %s %s,help)", dev->type->name, name,
                         dev->type->object ? "-object" : "-device", dev->type->name);
        return -EINVAL;
    }
    return prop_set(dev, p, value, err);
}

static int props_defaults(struct device *dev, const struct prop_desc *p, char **err)
{
    for (; p && p->name; p++) {
        if (p->type == PROP_BOOTINDEX)
            *(int32_t *)((uint8_t *)dev + p->offset) = -1;
        if (p->def && prop_set(dev, p, p->def, err) < 0)
            return -EINVAL;
    }
    return 0;
}

int props_set_defaults(struct device *dev, char **err)
{
    if (props_defaults(dev, dev->type->props, err) < 0)
        return -EINVAL;
    return props_defaults(dev, bus_type_props(dev->type->bus), err);
}

static void props_free_list(struct device *dev, const struct prop_desc *p)
{
    for (; p && p->name; p++)
        if (p->type == PROP_STRING)
            free(*(char **)((uint8_t *)dev + p->offset));
}

void props_free(struct device *dev)
{
    props_free_list(dev, dev->type->props);
    props_free_list(dev, bus_type_props(dev->type->bus));
}

static const char *const prop_type_names[] = { "bool", "uint8", "uint16", "uint32", "uint64",
                                                "size", "string", "chardev", "macaddr", "int32", "drive", "netdev",
                                                "iothread", "rng" };

static void props_print(FILE *out, const struct prop_desc *p)
{
    for (; p && p->name; p++)
        fprintf(out, "  %s=<%s>%s%s%s%s%s\n", p->name, prop_type_names[p->type],
                p->help ? "  - " : "", p->help ? p->help : "", p->def ? " (default: " : "",
                p->def ? p->def : "", p->def ? ")" : "");
}

int device_print_props(FILE *out, const char *type_name)
{
    const struct device_type *t = device_type_find(type_name);

    if (!t || t->object)
        return -ENOENT;
    fprintf(out, "%s options:\n", t->name);
    props_print(out, t->props);
    props_print(out, bus_type_props(t->bus));
    if (t->bus != BUS_SYSTEM)
        fprintf(out, "  bus=<%s bus>  - which one (the first with room without it)\n", bus_type_name(t->bus));
    return 0;
}

int object_print_props(FILE *out, const char *type_name)
{
    const struct device_type *t = device_type_find(type_name);

    if (!t || !t->object)
        return -ENOENT;
    fprintf(out, "%s options:\n  id=<string>  - what devices name it by (required)\n", t->name);
    props_print(out, t->props);
    return 0;
}
