/* test-ioregion.c: port and MMIO dispatch: lookup, overlap priority, moves, access-size rules, listeners, ioeventfds that follow their region, owners */
#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "tests/unit/tap.h"

#include <sys/eventfd.h>
#include <unistd.h>

struct dev {
    uint64_t last_off, last_val;
    unsigned last_size, reads, writes;
    uint8_t regs[16];
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    struct dev *d = opaque;
    uint64_t v = 0;

    d->reads++;
    d->last_off = off;
    d->last_size = size;
    memcpy(&v, d->regs + off, size);
    return v;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct dev *d = opaque;

    d->writes++;
    d->last_off = off;
    d->last_val = val;
    d->last_size = size;
    memcpy(d->regs + off, &val, size);
}

static const struct io_region_ops any_ops = { .read = dev_read, .write = dev_write };
static const struct io_region_ops byte_ops = {
    .read = dev_read, .write = dev_write, .impl = { .min = 1, .max = 1 },
};
static const struct io_region_ops dword_only_ops = {
    .read = dev_read, .write = dev_write, .valid = { .min = 4, .max = 4 },
};
static const struct io_region_ops wide_impl_ops = {
    .read = dev_read, .write = dev_write, .impl = { .min = 4, .max = 4 },
};

/* ---- an accelerator that keeps the ioeventfds it is given, as KVM does ---- */

static struct accel_ioeventfd fake_ev[8];
static int fake_n;
static bool fake_refuse;

static int fake_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    if (fake_refuse)
        return -ENOTSUP;
    for (int i = 0; i < fake_n; i++) {
        if (fake_ev[i].fd == e->fd && fake_ev[i].addr == e->addr && fake_ev[i].pio == e->pio) {
            if (assign)
                return -EEXIST;
            fake_ev[i] = fake_ev[--fake_n];
            return 0;
        }
    }
    if (!assign || fake_n == 8)
        return -ENOENT;
    fake_ev[fake_n++] = *e;
    return 0;
}

static const struct accel_ops fake_ops = { .name = "fake", .ioeventfd = fake_ioeventfd };

static bool fake_has(uint64_t addr, unsigned len)
{
    for (int i = 0; i < fake_n; i++)
        if (fake_ev[i].addr == addr && fake_ev[i].len == len)
            return true;
    return false;
}

/* ---- a listener that writes down what it hears ---- */

static char heard[256];

static void heard_map(struct io_listener *l, struct io_region *r)
{
    size_t n = strlen(heard);

    snprintf(heard + n, sizeof(heard) - n, "+%s@%" PRIx64 " ", r->name, r->base);
}

static void heard_unmap(struct io_listener *l, struct io_region *r)
{
    size_t n = strlen(heard);

    snprintf(heard + n, sizeof(heard) - n, "-%s@%" PRIx64 " ", r->name, r->base);
}

static struct io_listener listener = { .map = heard_map, .unmap = heard_unmap };

static uint64_t eventfd_count(int fd)
{
    uint64_t n = 0;

    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return 0;
    return n;
}

static void check_eventfds(void)
{
    struct dev e = { 0 };
    struct io_region re;
    int fd = eventfd(0, EFD_NONBLOCK), fd2 = eventfd(0, EFD_NONBLOCK);
    uint64_t v;

    accel = &fake_ops;
    io_region_init(&re, IO_SPACE_PIO, "door", 16, &any_ops, &e);
    CHECK(io_region_add_eventfd(&re, 4, 2, false, 0, fd) == 0 && fake_n == 0,
          "an ioeventfd on an unmapped region is not registered yet");
    CHECK(io_region_add_eventfd(&re, 15, 2, false, 0, fd) == -EINVAL &&
          io_region_add_eventfd(&re, 0, 0, true, 1, fd) == -EINVAL &&
          io_region_add_eventfd(&re, 0, 3, false, 0, fd) == -EINVAL,
          "one past the region's end, a data match on any width, or a width of 3 is refused");
    io_region_map(&re, 0x300);
    CHECK(fake_n == 1 && fake_has(0x304, 2) && fake_ev[0].pio, "mapping registers it at base + offset (port 0x304)");
    io_region_map(&re, 0x340);
    CHECK(fake_n == 1 && fake_has(0x344, 2), "moving the region moves it (0x344, and 0x304 no more)");
    io_region_add_eventfd(&re, 8, 4, true, 0xcafe, fd2);
    CHECK(fake_n == 2 && fake_has(0x348, 4) && fake_ev[1].match && fake_ev[1].data == 0xcafe,
          "one added to a mapped region is registered at once, with its data match");
    io_region_unmap(&re);
    CHECK(fake_n == 0, "unmapping removes them all from the accelerator");

    /* where the accelerator has none, the dispatcher signals the eventfd itself */
    fake_refuse = true;
    io_region_map(&re, 0x300);
    v = 0x1111;
    io_dispatch(IO_SPACE_PIO, 0x304, &v, 2, true);
    CHECK(eventfd_count(fd) == 1 && e.writes == 0, "a refused ioeventfd still rings: skiff signals it, not the handler");
    io_dispatch(IO_SPACE_PIO, 0x304, &v, 1, true);
    CHECK(eventfd_count(fd) == 0 && e.writes == 1, "a write of another width reaches the handler");
    v = 0xcafe;
    io_dispatch(IO_SPACE_PIO, 0x308, &v, 4, true);
    CHECK(eventfd_count(fd2) == 1 && e.writes == 1, "a matching value rings the matched one");
    v = 0xbeef;
    io_dispatch(IO_SPACE_PIO, 0x308, &v, 4, true);
    CHECK(eventfd_count(fd2) == 0 && e.writes == 2, "another value goes to the handler");
    io_region_del_eventfd(&re, fd);
    io_region_del_eventfd(&re, fd2);
    v = 0x1111;
    io_dispatch(IO_SPACE_PIO, 0x304, &v, 2, true);
    CHECK(eventfd_count(fd) == 0 && e.writes == 3 && re.n_eventfds == 0, "after del the handler has the address back");
    io_region_unmap(&re);
    fake_refuse = false;
    accel = NULL;
    close(fd);
    close(fd2);
}

static void check_listeners(void)
{
    struct dev x = { 0 };
    struct io_region r1, r2;

    io_region_add(&r1, IO_SPACE_MMIO, "one", 0x1000, 16, &any_ops, &x);
    heard[0] = '\0';
    io_listener_register(&listener);
    CHECK(!strcmp(heard, "+one@1000 "), "a new listener hears of what is mapped already (%s)", heard);
    heard[0] = '\0';
    io_region_add(&r2, IO_SPACE_MMIO, "two", 0x2000, 16, &any_ops, &x);
    io_region_map(&r2, 0x3000);
    io_region_unmap(&r2);
    CHECK(!strcmp(heard, "+two@2000 -two@2000 +two@3000 -two@3000 "),
          "it hears a map, a move as unmap and map, and an unmap (%s)", heard);
    heard[0] = '\0';
    CHECK(io_region_map(&r2, 0x1008) == -EBUSY && !strcmp(heard, ""), "a refused map is not heard");
    io_listener_unregister(&listener);
    io_region_map(&r2, 0x2000);
    CHECK(!strcmp(heard, ""), "an unregistered listener hears nothing");
    io_region_unmap(&r1);
    io_region_unmap(&r2);
}

/* ---- owners: a device type whose regions its unrealize forgets ---- */

static uint16_t owner_second_port;

struct owner_dev {
    struct device dev;
    struct dev regs;
    struct io_region a, b;
};

static int owner_realize(struct device *dev, char **err)
{
    struct owner_dev *o = container_of(dev, struct owner_dev, dev);

    io_region_add(&o->a, IO_SPACE_PIO, "owned-a", 0x500, 4, &any_ops, &o->regs);
    /* like most of skiff's devices, it does not look at what the second map says */
    io_region_add(&o->b, IO_SPACE_PIO, "owned-b", owner_second_port, 4, &any_ops, &o->regs);
    return 0;
}

static struct device_type owner_type = {
    .name = "test-owner",
    .bus = BUS_SYSTEM,
    .instance_size = sizeof(struct owner_dev),
    .realize = owner_realize,
};
DEVICE_TYPE_REGISTER(owner_type)

static void check_owners(void)
{
    struct dev x = { 0 };
    struct io_region board;
    struct device *dev;
    char *err = NULL;

    io_region_add(&board, IO_SPACE_PIO, "board", 0x600, 8, &any_ops, &x);
    CHECK(board.owner == NULL, "a region made outside any realize is the board's");
    owner_second_port = 0x504;
    dev = device_new("test-owner");
    CHECK(device_realize(dev, &err) == 0, "a device realizes (%s)", err ? err : "");
    CHECK(io_region_lookup(IO_SPACE_PIO, 0x500)->owner == dev && io_region_lookup(IO_SPACE_PIO, 0x504)->owner == dev,
          "the regions it made while realized are its own");
    device_destroy_all();
    CHECK(!io_region_lookup(IO_SPACE_PIO, 0x500) && !io_region_lookup(IO_SPACE_PIO, 0x504),
          "its unrealize forgot them, and they are unmapped with it");
    CHECK(io_region_lookup(IO_SPACE_PIO, 0x600) == &board, "the board's region stays");

    owner_second_port = 0x604;
    dev = device_new("test-owner");
    err = NULL;
    CHECK(device_realize(dev, &err) == -EBUSY && err && strstr(err, "owned-b at port 0x604-0x607 overlaps board"),
          "a region it cannot map fails the realize, naming the overlap (%s)", err ? err : "");
    CHECK(!io_region_lookup(IO_SPACE_PIO, 0x500), "the region it did map goes with the failed realize");
    free(err);
    device_free(dev);
    io_region_unmap(&board);
}

int main(void)
{
    struct dev a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
    struct io_region ra, rb, rc, rd;
    uint32_t v = 0;
    uint16_t w;

    io_region_add(&ra, IO_SPACE_PIO, "a", 0x100, 16, &any_ops, &a);
    io_region_add(&rb, IO_SPACE_PIO, "b", 0x200, 8, &byte_ops, &b);
    v = 0x11223344;
    CHECK(io_dispatch(IO_SPACE_PIO, 0x104, &v, 4, true) && a.last_off == 4 && a.last_val == 0x11223344,
          "a write reaches the region at the right offset");
    CHECK(io_dispatch(IO_SPACE_PIO, 0x104, &v, 4, false) && v == 0x11223344, "and reads back");
    v = 0;
    CHECK(!io_dispatch(IO_SPACE_PIO, 0x300, &v, 4, false) && v == 0xffffffff,
          "an unclaimed port reads as all ones");
    w = 0xbeef;
    io_dispatch(IO_SPACE_PIO, 0x202, &w, 2, true);
    CHECK(b.writes == 2 && b.regs[2] == 0xef && b.regs[3] == 0xbe,
          "a 2-byte write to a byte-wide device is split into two byte writes, little-endian");
    w = 0;
    io_dispatch(IO_SPACE_PIO, 0x202, &w, 2, false);
    CHECK(w == 0xbeef, "and a 2-byte read is assembled from two byte reads");

    /* overlap: a higher priority region wins only where it sits */
    io_region_init(&rc, IO_SPACE_PIO, "c", 1, &any_ops, &c);
    rc.priority = 1;
    io_region_map(&rc, 0x105);
    CHECK(io_region_lookup(IO_SPACE_PIO, 0x105) == &rc && io_region_lookup(IO_SPACE_PIO, 0x104) == &ra &&
          io_region_lookup(IO_SPACE_PIO, 0x106) == &ra,
          "a higher-priority 1-byte region inside another takes only its byte");
    io_region_unmap(&rc);
    CHECK(io_region_lookup(IO_SPACE_PIO, 0x105) == &ra, "unmapping it gives the byte back");

    /* moving a region, as a PCI BAR moves */
    io_region_map(&rb, 0x400);
    CHECK(io_region_lookup(IO_SPACE_PIO, 0x200) == NULL && io_region_lookup(IO_SPACE_PIO, 0x404) == &rb,
          "re-mapping moves a region");
    CHECK(io_region_map(&rb, 0xfffc) < 0, "a region cannot hang off the end of the port space");

    /* access rules */
    io_region_add(&rd, IO_SPACE_MMIO, "d", 0xfee00000, 16, &dword_only_ops, &d);
    v = 0;
    io_dispatch(IO_SPACE_MMIO, 0xfee00001, &v, 1, false);
    CHECK(d.reads == 0 && (v & 0xff) == 0xff, "a 1-byte read of a dword-only register is refused (all ones)");
    v = 5;
    io_dispatch(IO_SPACE_MMIO, 0xfee00002, &v, 4, true);
    CHECK(d.writes == 0, "an unaligned dword write is refused");
    io_dispatch(IO_SPACE_MMIO, 0xfee00004, &v, 4, true);
    CHECK(d.writes == 1 && d.last_off == 4, "an aligned dword write goes through");
    io_region_unmap(&rd);
    memset(&d, 0, sizeof(d));
    io_region_add(&rd, IO_SPACE_MMIO, "e", 0xfee00000, 16, &wide_impl_ops, &d);
    d.regs[4] = 0x11;
    d.regs[5] = 0x22;
    d.regs[6] = 0x33;
    d.regs[7] = 0x44;
    w = 0;
    io_dispatch(IO_SPACE_MMIO, 0xfee00006, &w, 2, false);
    CHECK(w == 0x4433 && d.last_size == 4, "a narrow read of a dword-implemented register picks its bytes");
    w = 0xaabb;
    io_dispatch(IO_SPACE_MMIO, 0xfee00004, &w, 2, true);
    CHECK(d.regs[4] == 0xbb && d.regs[5] == 0xaa && d.regs[6] == 0x33 && d.regs[7] == 0x44,
          "a narrow write keeps the register's other bytes");
    {
        uint64_t q = 0;
        /* a read straddling two regions: each owner gets its own part */
        io_region_map(&rb, 0x110);
        a.regs[15] = 0x5a;
        b.regs[0] = 0xa5;
        io_dispatch(IO_SPACE_PIO, 0x10f, &q, 2, false);
        CHECK((q & 0xffff) == 0xa55a, "an access across two regions is split between them");
    }
    {
        struct io_region rx;

        /* equal priorities may not overlap: a second region is refused, a move leaves it in place */
        io_region_init(&rx, IO_SPACE_PIO, "x", 4, &any_ops, &c);
        CHECK(io_region_map(&rx, 0x10c) == -EBUSY && io_region_lookup(IO_SPACE_PIO, 0x10c) == &ra,
              "a region over another of the same priority is refused (-EBUSY)");
        CHECK(io_region_map(&rb, 0x10e) == -EBUSY && io_region_lookup(IO_SPACE_PIO, 0x110) == &rb,
              "a move onto another region is refused and the region stays where it was");
        rx.priority = 1;
        CHECK(io_region_map(&rx, 0x10c) == 0 && io_region_lookup(IO_SPACE_PIO, 0x10c) == &rx,
              "at a higher priority it may overlap");
        io_region_unmap(&rx);
    }
    io_region_unmap(&ra);
    io_region_unmap(&rb);
    io_region_unmap(&rd);
    check_eventfds();
    check_listeners();
    check_owners();
    return tap_done();
}
