/* bus.c: the registry of named buses and what each bus type gives its devices */
#define LOG_PREFIX "bus: "
#include "hw/core/bus.h"
#include "util/log.h"

static struct bus *buses;

static const char *const type_names[] = {
    [BUS_SYSTEM] = "system", [BUS_ISA] = "ISA", [BUS_PCI] = "PCI", [BUS_USB] = "USB",
    [BUS_VIRTIO] = "virtio", [BUS_IDE] = "IDE",
};

const char *bus_type_name(enum bus_type type)
{
    return (size_t)type < ARRAY_SIZE(type_names) && type_names[type] ? type_names[type] : "?";
}

void bus_register(struct bus *b, enum bus_type type, const char *name, struct device *parent,
                  const struct bus_ops *ops)
{
    struct bus **pp = &buses;

    snprintf(b->name, sizeof(b->name), "%s", name);
    b->type = type;
    b->parent = parent;
    b->ops = ops;
    b->next = NULL;
    /* in registration order, so that the first free one is the first made */
    while (*pp)
        pp = &(*pp)->next;
    *pp = b;
}

void bus_unregister(struct bus *b)
{
    for (struct bus **pp = &buses; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            return;
        }
    }
}

struct bus *bus_find(const char *name)
{
    for (struct bus *b = buses; b; b = b->next)
        if (!strcmp(b->name, name))
            return b;
    return NULL;
}

struct bus *bus_pick(enum bus_type type, struct device *dev, char **err)
{
    char *why = NULL;
    bool any = false;

    for (struct bus *b = buses; b; b = b->next) {
        if (b->type != type)
            continue;
        any = true;
        free(why);
        why = NULL;
        if (!b->ops || !b->ops->check || b->ops->check(b, dev, &why) == 0) {
            free(why);
            return b;
        }
    }
    if (err)
        *err = any ? xasprintf("%s: no %s bus has room for it%s%s", dev->type->name, bus_type_name(type),
                               why ? ": " : "", why ? why : "")
                   : xasprintf("%s: there is no %s bus to plug it into", dev->type->name, bus_type_name(type));
    free(why);
    return NULL;
}

/* ---- what each bus type declares for its devices ---- */

static const struct prop_desc *type_props[BUS_TYPES];

void bus_type_set_props(enum bus_type type, const struct prop_desc *props)
{
    type_props[type] = props;
}

const struct prop_desc *bus_type_props(enum bus_type type)
{
    return (size_t)type < ARRAY_SIZE(type_props) ? type_props[type] : NULL;
}
