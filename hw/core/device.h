/* device.h: the device-type registry, typed properties, and device life cycle (realize, reset, unrealize) */
#ifndef HW_CORE_DEVICE_H
#define HW_CORE_DEVICE_H

#include "util/osdep.h"

struct vmstate_desc;
struct device;
struct opts;

enum bus_type { BUS_SYSTEM, BUS_ISA, BUS_PCI, BUS_USB, BUS_VIRTIO, BUS_IDE, BUS_TYPES };

enum prop_type {
    PROP_BOOL,      /* bool */
    PROP_U8,        /* uint8_t */
    PROP_U16,       /* uint16_t */
    PROP_U32,       /* uint32_t */
    PROP_U64,       /* uint64_t */
    PROP_SIZE,      /* uint64_t, with K/M/G suffixes */
    PROP_STRING,    /* char *, owned by the device */
    PROP_CHARDEV,   /* struct chardev *, given by id */
    PROP_MACADDR,   /* struct mac_addr, "52:54:00:12:34:56" */
    PROP_BOOTINDEX, /* int32_t: the firmware's boot order, -1 for none */
    PROP_DRIVE,     /* struct blockdev *, given by id (-drive if=none,id= or -blockdev node-name=) */
    PROP_NETDEV,    /* struct netdev *, given by id (-netdev TYPE,id=) */
    PROP_IOTHREAD,  /* struct iothread *, given by id (-object iothread,id=) */
    PROP_RNG,       /* struct rng_backend *, given by id (-object rng-random|rng-builtin,id=) */
};

struct mac_addr {
    uint8_t a[6];
    bool set;               /* given (else the device picks one) */
};

struct prop_desc {
    const char *name;
    enum prop_type type;
    size_t offset;
    const char *def;        /* default value as text, or NULL */
    const char *help;
};

#define DEFINE_PROP(n, st, f, t, d, h) { .name = n, .type = t, .offset = offsetof(st, f), .def = d, .help = h }
#define DEFINE_PROP_END { .name = NULL }

struct device_type {
    const char *name;
    const char *desc;
    enum bus_type bus;
    size_t instance_size;       /* the device struct, which starts with struct device */
    const struct prop_desc *props;
    bool user_creatable;        /* may be made with -device */
    /*
     * An object (QEMU's -object): made with -object TYPE,id=ID, never -device; a backend a device
     * names by id (an I/O thread, an rng backend). Objects are made before the board, so they
     * are unrealized after every device.
     */
    bool object;
    /* realize: properties are set; claim ports, IRQs and backends. 0 or -errno with *err set. */
    int (*realize)(struct device *dev, char **err);
    void (*reset)(struct device *dev);
    /* Wait for the device's I/O in flight (DMA into guest memory that another device may own). */
    void (*drain)(struct device *dev);
    void (*unrealize)(struct device *dev);
    const struct vmstate_desc *vmsd;
    /* After a state load: re-arm timers, re-drive interrupt lines from the loaded registers. */
    void (*state_loaded)(struct device *dev);
    struct device_type *next;
};

struct bus;

struct device {
    const struct device_type *type;
    char *id;                   /* the user's id=, or NULL */
    struct bus *bus;            /* what it plugs into (bus=, or the first of its type with room) */
    bool realized;
    unsigned instance;          /* nth of its type, for state section names */
    struct device *next;
};

/* Called once per type, from a constructor: see DEVICE_TYPE_REGISTER. */
void device_type_register(struct device_type *t);
const struct device_type *device_type_find(const char *name);
/* Every registered type: the one after t (NULL: the first), NULL after the last. */
const struct device_type *device_type_next(const struct device_type *t);
#define DEVICE_TYPE_REGISTER(t) \
    static void __attribute__((constructor)) register_##t(void) { device_type_register(&(t)); }

/* Create a device of the named type with default properties (not yet realized). */
struct device *device_new(const char *type_name);
/* Set one property from text; 0 or -EINVAL with *err set. */
int device_set_prop(struct device *dev, const char *name, const char *value, char **err);
int device_realize(struct device *dev, char **err);
/* Free a device that was made and never realized (or whose realize failed). */
void device_free(struct device *dev);
/* -device NAME,prop=value,...: new + props + realize in one; NULL with *err set on failure. */
struct device *device_create_from_opts(struct opts *o, char **err);
/* new + realize with props in "a=b,c=d" form, for board code; dies on failure (start-up only). */
struct device *device_create_simple(const char *type_name, const char *props);

/* Every realized device, in creation order. */
struct device *device_first(void);
struct device *device_find_by_id(const char *id);
/* A device by its id, else the first of the type with that name. */
struct device *device_find(const char *name);
/*
 * Load a state stream into a running device, as an incoming migration will: the stream is
 * checked whole before the device uses it; a refused one (-EINVAL with *err naming the field)
 * leaves the device as it was. On success the device re-drives its lines and mappings.
 */
struct vmbuf;
int device_vmstate_load(struct device *dev, struct vmbuf *b, char **err);
void device_reset_all(void);
/* Wait for every device's I/O in flight. */
void device_drain_all(void);
/* Drain every device's I/O, then unrealize them all, the last created first. */
void device_destroy_all(void);

/* -object TYPE,id=ID,...: as device_create_from_opts, for object types only ("qom-type" names it). */
struct device *object_create_from_opts(struct opts *o, char **err);

/* "-device help" and "-device NAME,help"; "-object help" and "-object TYPE,help" (-ENOENT: no such type) */
void device_print_types(FILE *out);
void object_print_types(FILE *out);
int object_print_props(FILE *out, const char *type_name);
/*
 * Save every device's state, load it back into the device as an incoming load would, and save
 * again: the two streams must be the same. 0 or -EINVAL with *err. (That a guest sees the same
 * machine after a load is what tests/qtest/vmstate-test.c checks, across two processes.)
 */
int device_vmstate_roundtrip_all(int *count, char **err);
int device_print_props(FILE *out, const char *type_name);

#endif
