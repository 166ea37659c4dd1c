/* test-ioregion.c: port and MMIO dispatch: lookup, overlap priority, moves, access-size rules */
#include "hw/core/ioregion.h"
#include "tests/unit/tap.h"

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
    io_region_unmap(&ra);
    io_region_unmap(&rb);
    io_region_unmap(&rd);
    return tap_done();
}
