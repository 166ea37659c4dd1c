/* bus.h: named bus instances that devices plug into (pci.0, isa.0, ide.0, ide.1): -device's bus= finds them, and a bus type declares the properties every device on it has */
#ifndef HW_CORE_BUS_H
#define HW_CORE_BUS_H

#include "hw/core/device.h"

struct bus;

struct bus_ops {
    /* Can dev plug in here (a free unit, room)? 0, or -errno with *err saying why not. */
    int (*check)(struct bus *b, struct device *dev, char **err);
};

struct bus {
    char name[32];
    enum bus_type type;
    struct device *parent;          /* the controller it belongs to, or NULL (the board's) */
    const struct bus_ops *ops;
    struct bus *next;
};

/* Name and register a bus; its name must be new. */
void bus_register(struct bus *b, enum bus_type type, const char *name, struct device *parent,
                  const struct bus_ops *ops);
void bus_unregister(struct bus *b);
struct bus *bus_find(const char *name);
/* The first bus of a type where dev fits (ops->check), or NULL with *err (when err is given). */
struct bus *bus_pick(enum bus_type type, struct device *dev, char **err);
const char *bus_type_name(enum bus_type type);
/* The properties every device on a bus of this type has (PCI: addr, romfile, multifunction),
 * which the bus type's own code declares once (hw/pci/pci.c, from a constructor). */
void bus_type_set_props(enum bus_type type, const struct prop_desc *props);
const struct prop_desc *bus_type_props(enum bus_type type);

#endif
