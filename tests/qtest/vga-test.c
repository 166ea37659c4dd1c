/* vga-test.c: the standard VGA's registers and its planar memory as a VGA BIOS and a text console use them */
#include "tests/qtest/libqos.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>

static void seq(struct qtest *q, uint8_t i, uint8_t v) { qtest_outb(q, 0x3c4, i); qtest_outb(q, 0x3c5, v); }
static void gc(struct qtest *q, uint8_t i, uint8_t v) { qtest_outb(q, 0x3ce, i); qtest_outb(q, 0x3cf, v); }
static void crtc(struct qtest *q, uint8_t i, uint8_t v) { qtest_outb(q, 0x3d4, i); qtest_outb(q, 0x3d5, v); }
static uint8_t crtc_read(struct qtest *q, uint8_t i) { qtest_outb(q, 0x3d4, i); return qtest_inb(q, 0x3d5); }

int main(void)
{
    struct qtest *q = qtest_start("-device VGA,romfile=,addr=02.0");
    struct qpci_bus *bus = qpci_bus_new(q);
    struct qpci_dev *vga = qpci_find(bus, 0x1234, 0x1111, 0);
    uint64_t fb = 0, fb_size = 0;
    uint8_t buf[8];

    CHECK(vga && vga->devfn == PCI_DEVFN(2, 0), "02.0 is the standard VGA (1234:1111)");
    CHECK(vga && vga->class_code == 0x030000, "class VGA-compatible display");
    if (vga) {
        fb = qpci_iomap(vga, 0, &fb_size);
        qpci_enable(vga);
    }
    CHECK(fb && fb_size == 16 << 20 && vga->bar[0].prefetch && !vga->bar[0].mem64,
          "BAR 0 is 16 MiB of 32-bit prefetchable memory, which a driver maps (at 0x%llx)",
          (unsigned long long)fb);

    /* misc output picks the color addresses */
    CHECK(qtest_inb(q, 0x3d5) == 0xff, "after reset the CRTC answers at the mono address only");
    qtest_outb(q, 0x3c2, 0x67);
    CHECK(qtest_inb(q, 0x3cc) == 0x67, "the misc output register reads back at 0x3cc");
    crtc(q, 0x0e, 0x12);
    CHECK(crtc_read(q, 0x0e) == 0x12, "with color addressing the CRTC is at 0x3d4/0x3d5");
    qtest_outw(q, 0x3d4, 0x340f);
    CHECK(crtc_read(q, 0x0f) == 0x34, "a 16-bit write sets index and data at once");
    crtc(q, 0x11, 0x80);
    crtc(q, 0x01, 0x4f);
    CHECK(crtc_read(q, 0x01) == 0x00, "CR11 bit 7 protects CR0-CR7");
    crtc(q, 0x11, 0x00);

    /* text mode 3 memory: odd/even, planes 0 and 1 at 0xb8000 */
    seq(q, 2, 0x03);
    seq(q, 4, 0x02);
    gc(q, 8, 0xff);
    gc(q, 5, 0x10);
    gc(q, 6, 0x0e);
    qtest_writeb(q, 0xb8000, 'H');
    qtest_writeb(q, 0xb8001, 0x1f);
    qtest_writeb(q, 0xb8002, 'i');
    qtest_writeb(q, 0xb8003, 0x07);
    qtest_memread(q, 0xb8000, buf, 4);
    CHECK(!memcmp(buf, "H\x1fi\x07", 4), "text written at 0xb8000 reads back, characters and attributes");
    memset(buf, 0, sizeof(buf));
    if (fb)
        qtest_memread(q, fb, buf, sizeof(buf));
    CHECK(buf[0] == 'H' && buf[1] == 0x1f && buf[4] == 'i' && buf[5] == 0x07,
          "the framebuffer BAR shows the same memory: a text cell in 4 bytes, its character "
          "(plane 0) and then its attribute (plane 1), as QEMU stores them");
    CHECK(qtest_readb(q, 0xa0000) == 0xff, "with memory map 3 the window starts at 0xb8000");

    /* load a glyph into plane 2 as the VGA BIOS does */
    seq(q, 2, 0x04);
    seq(q, 4, 0x07);
    gc(q, 4, 0x02);
    gc(q, 5, 0x00);
    gc(q, 6, 0x04);
    qtest_writeb(q, 0xa0000 + 32 * 'H', 0xc3);
    CHECK(qtest_readb(q, 0xa0000 + 32 * 'H') == 0xc3, "planar mode: plane 2 holds the font byte");
    gc(q, 4, 0x00);
    CHECK(qtest_readb(q, 0xa0000) == 'H', "read map 0 shows plane 0, where the character went");
    gc(q, 4, 0x01);
    CHECK(qtest_readb(q, 0xa0000) == 0x1f, "read map 1 shows plane 1, the attribute");
    gc(q, 4, 0x02);
    CHECK(qtest_readb(q, 0xa0000) == 0x00, "the font write did not touch the text cell's plane 2 byte 0");

    /* write mode 0 with set/reset, write mode 2, bit mask, read mode 1 */
    seq(q, 2, 0x0f);
    gc(q, 0, 0x05);
    gc(q, 1, 0x0f);
    gc(q, 8, 0xff);
    qtest_writeb(q, 0xa0010, 0x00);
    gc(q, 1, 0x00);
    gc(q, 4, 0x00);
    CHECK(qtest_readb(q, 0xa0010) == 0xff, "set/reset fills plane 0 (color 5)");
    gc(q, 4, 0x01);
    CHECK(qtest_readb(q, 0xa0010) == 0x00, "and leaves plane 1 (color 5)");
    gc(q, 5, 0x02);
    gc(q, 8, 0x0f);
    (void)qtest_readb(q, 0xa0010);        /* load the latches */
    qtest_writeb(q, 0xa0010, 0x0a);
    gc(q, 5, 0x00);
    gc(q, 4, 0x01);
    CHECK(qtest_readb(q, 0xa0010) == 0x0f, "write mode 2 with a bit mask changes only the masked bits");
    gc(q, 4, 0x00);
    CHECK(qtest_readb(q, 0xa0010) == 0xf0, "and the latches keep the others");
    gc(q, 5, 0x08);
    gc(q, 2, 0x05);
    gc(q, 7, 0x0f);
    CHECK(qtest_readb(q, 0xa0010) == 0xf0, "read mode 1 compares every plane with the color (5 where 0xf0)");

    /* DAC */
    qtest_outb(q, 0x3c8, 7);
    qtest_outb(q, 0x3c9, 0x3f);
    qtest_outb(q, 0x3c9, 0x20);
    qtest_outb(q, 0x3c9, 0x41);
    qtest_outb(q, 0x3c7, 7);
    buf[0] = qtest_inb(q, 0x3c9);
    buf[1] = qtest_inb(q, 0x3c9);
    buf[2] = qtest_inb(q, 0x3c9);
    CHECK(buf[0] == 0x3f && buf[1] == 0x20 && buf[2] == 0x01, "the DAC keeps 6-bit colour triplets");
    qtest_inb(q, 0x3da);
    qtest_outb(q, 0x3c0, 0x10);
    qtest_outb(q, 0x3c0, 0x0c);
    qtest_outb(q, 0x3c0, 0x20);
    CHECK(qtest_inb(q, 0x3c0) == 0x20, "the attribute controller's flip-flop alternates index and data");
    qtest_inb(q, 0x3da);
    qtest_outb(q, 0x3c0, 0x10);
    CHECK(qtest_inb(q, 0x3c1) == 0x0c, "reading input status 1 resets the flip-flop; mode control reads back");

    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "the VGA's state saves and loads back");
    for (int p = 0x3c0; p < 0x3e0; p++)
        for (int v = 0; v < 256; v += 51)
            qtest_outb(q, p, v);
    qtest_memread(q, 0xa0000, buf, 8);
    CHECK(qtest_cmd(q, "endianness") != NULL, "arbitrary register writes do no harm");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    free(bus);
    return tap_done();
}
