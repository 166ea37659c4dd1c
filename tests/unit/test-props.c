/* test-props.c: device properties as -device spells them: each type's text, its default, what it refuses and why, and the properties a bus type gives its devices */
#include "block/blockdev.h"
#include "hw/core/bus.h"
#include "hw/core/device.h"
#include "net/net.h"
#include "rng/rng.h"
#include "util/iothread.h"
#include "tests/unit/tap.h"

struct test_dev {
    struct device dev;
    bool flag;
    uint32_t count;
    uint64_t size;
    char *name;
    struct mac_addr mac;
    int32_t bootindex;
    struct blockdev *drive;
    struct netdev *netdev;
    struct iothread *iothread;
    struct rng_backend *rng;
};

static const struct prop_desc test_props[] = {
    DEFINE_PROP("flag", struct test_dev, flag, PROP_BOOL, "on", "a switch"),
    DEFINE_PROP("count", struct test_dev, count, PROP_U32, "7", "a number"),
    DEFINE_PROP("size", struct test_dev, size, PROP_SIZE, "1M", "a size"),
    DEFINE_PROP("name", struct test_dev, name, PROP_STRING, NULL, "a name"),
    DEFINE_PROP("mac", struct test_dev, mac, PROP_MACADDR, NULL, "a MAC address"),
    DEFINE_PROP("bootindex", struct test_dev, bootindex, PROP_BOOTINDEX, NULL, "a boot index"),
    DEFINE_PROP("drive", struct test_dev, drive, PROP_DRIVE, NULL, "a drive"),
    DEFINE_PROP("netdev", struct test_dev, netdev, PROP_NETDEV, NULL, "a network backend"),
    DEFINE_PROP("iothread", struct test_dev, iothread, PROP_IOTHREAD, NULL, "an I/O thread"),
    DEFINE_PROP("rng", struct test_dev, rng, PROP_RNG, NULL, "an rng backend"),
    DEFINE_PROP_END,
};

static struct device_type test_type = {
    .name = "test-props",
    .bus = BUS_SYSTEM,
    .instance_size = sizeof(struct test_dev),
    .props = test_props,
};
DEVICE_TYPE_REGISTER(test_type)

/* A bus type with a property of its own, as PCI's addr (the test's type borrows BUS_USB). */
struct usb_part { char *port; };
struct usb_dev {
    struct device dev;
    struct usb_part usb;
};
static const struct prop_desc usb_bus_props[] = {
    { .name = "port", .type = PROP_STRING, .offset = offsetof(struct usb_dev, usb.port), .help = "the port" },
    DEFINE_PROP_END,
};
static struct device_type usb_type = {
    .name = "test-usb",
    .bus = BUS_USB,
    .instance_size = sizeof(struct usb_dev),
};
DEVICE_TYPE_REGISTER(usb_type)

static bool set(struct device *d, const char *name, const char *value, const char *want_err)
{
    char *err = NULL;
    int r = device_set_prop(d, name, value, &err);
    bool ok = want_err ? r < 0 && err && strstr(err, want_err) : r == 0;

    if (!ok)
        tap_note("%s=%s: %d %s", name, value, r, err ? err : "");
    free(err);
    return ok;
}

int main(void)
{
    struct test_dev *t = (struct test_dev *)device_new("test-props");
    struct netdev nd = { .id = "n0", .type = "user" };
    struct bus usb_bus;
    struct device *u;
    struct iothread *io;
    struct rng_backend *rng;
    char *err = NULL;

    CHECK(t && t->flag && t->count == 7 && t->size == MiB && !t->name && !t->mac.set && t->bootindex == -1,
          "defaults as declared; a bootindex defaults to -1 (none) and a MAC to none given");
    CHECK(set(&t->dev, "flag", "off", NULL) && !t->flag, "bool: off");
    CHECK(set(&t->dev, "flag", "maybe", "does not take the value 'maybe'"), "bool: a word it does not know is refused");
    CHECK(set(&t->dev, "count", "0x10", NULL) && t->count == 16, "uint32 in hex");
    CHECK(set(&t->dev, "count", "4294967296", "does not take the value"), "uint32: past its range is refused");
    CHECK(set(&t->dev, "size", "2G", NULL) && t->size == 2 * GiB, "size with a suffix");
    CHECK(set(&t->dev, "name", "disk-a", NULL) && !strcmp(t->name, "disk-a"), "string");
    CHECK(set(&t->dev, "mac", "52:54:00:12:34:56", NULL) && t->mac.set && t->mac.a[0] == 0x52 && t->mac.a[5] == 0x56,
          "a MAC address, QEMU's spelling");
    CHECK(set(&t->dev, "mac", "01:00:5e:00:00:01", "not a unicast MAC address"), "a multicast MAC is refused");
    CHECK(set(&t->dev, "mac", "52:54:00:12:34", "not a unicast MAC address"), "a short MAC is refused");
    CHECK(set(&t->dev, "bootindex", "3", NULL) && t->bootindex == 3, "bootindex 3");
    CHECK(set(&t->dev, "bootindex", "-1", NULL) && t->bootindex == -1, "bootindex -1: none");
    CHECK(set(&t->dev, "bootindex", "-2", "does not take the value '-2'"), "bootindex below -1 is refused");
    CHECK(set(&t->dev, "drive", "d0", "no drive 'd0' (give it as -drive if=none,id=d0,file=...)"),
          "a drive that is not there is named, with how to give it");
    CHECK(blockdev_add_drive("if=none,id=d0,media=cdrom", &err) == 0, "(a drive d0)");
    CHECK(set(&t->dev, "drive", "d0", NULL) && t->drive == blockdev_find("d0"), "drive= finds it by id");
    CHECK(set(&t->dev, "netdev", "n0", "no -netdev with id 'n0'"), "a netdev that is not there is named");
    CHECK(netdev_register(&nd, &err) == 0, "(a netdev n0)");
    CHECK(set(&t->dev, "netdev", "n0", NULL) && t->netdev == &nd, "netdev= finds it by id");
    nd.nic = &t->dev;
    CHECK(set(&t->dev, "netdev", "n0", "already another NIC's"), "a netdev another NIC took is refused");
    CHECK(netdev_register(&nd, &err) == -EEXIST && err && strstr(err, "already a netdev"), "a second n0 is refused");
    free(err);
    err = NULL;
    CHECK(set(&t->dev, "iothread", "io0", "no I/O thread 'io0' (give it as -object iothread,id=io0)"),
          "an I/O thread that is not there is named, with how to give it");
    CHECK(iothread_new(&io, "io0", &err) == 0, "(an I/O thread io0)");
    CHECK(set(&t->dev, "iothread", "io0", NULL) && t->iothread == io, "iothread= finds it by id");
    CHECK(set(&t->dev, "rng", "rng0", "no rng backend 'rng0' (give it as -object rng-random,id=rng0"),
          "an rng backend that is not there is named, with how to give it");
    CHECK(rng_builtin_new(&rng, "rng0", &err) == 0, "(an rng backend rng0)");
    CHECK(set(&t->dev, "rng", "rng0", NULL) && t->rng == rng, "rng= finds it by id");
    CHECK(set(&t->dev, "colour", "red", "no property 'colour' (see -device test-props,help)"),
          "an unknown property is named");
    device_free(&t->dev);
    rng_free(rng);
    iothread_free(io);

    /* a bus type's own properties, and bus= */
    bus_type_set_props(BUS_USB, usb_bus_props);
    bus_register(&usb_bus, BUS_USB, "usb-bus.0", NULL, NULL);
    u = device_new("test-usb");
    CHECK(set(u, "port", "1.2", NULL) && !strcmp(container_of(u, struct usb_dev, dev)->usb.port, "1.2"),
          "a device gets the properties of its bus type");
    CHECK(set(u, "bus", "usb-bus.0", NULL) && u->bus == &usb_bus, "bus= names the bus");
    CHECK(set(u, "bus", "ide.9", "bus 'ide.9' not found"), "a bus that is not there is named");
    device_free(u);
    t = (struct test_dev *)device_new("test-props");
    CHECK(set(&t->dev, "port", "1", "no property 'port'"), "a device on another bus type does not get them");
    CHECK(set(&t->dev, "bus", "usb-bus.0", "bus 'usb-bus.0' takes USB devices, and this is a system device"),
          "bus= of another type is refused");
    device_free(&t->dev);
    bus_unregister(&usb_bus);
    netdev_unregister(&nd);
    blockdev_cleanup();
    return tap_done();
}
