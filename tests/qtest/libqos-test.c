/* libqos-test.c: the driver library on the real board: enumeration, BARs assigned as firmware does and decoding there, the guest-memory allocator */
#include "tests/qtest/libqos.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TESTDEV_VENDOR 0x1b36
#define TESTDEV_DEVICE 0x0005

/* Every assigned BAR: naturally aligned, inside its window, read back by the function. */
static bool bars_placed(struct qpci_bus *bus, int *count)
{
    bool ok = true;

    *count = 0;
    for (int i = 0; i < bus->ndevs; i++) {
        struct qpci_dev *d = &bus->devs[i];

        for (int n = 0; n < QPCI_NUM_BARS; n++) {
            struct qpci_bar *b = &d->bar[n];
            uint32_t lo;

            if (!b->size)
                continue;
            ++*count;
            lo = pci_cfg_readl(bus->q, d->devfn, 0x10 + 4 * n);
            if (!b->addr || b->addr % b->size || (lo & (b->io ? ~3u : ~0xfu)) != (uint32_t)b->addr ||
                (b->io ? b->addr < 0xc000 || b->addr + b->size > 0x10000
                       : b->addr < 0xe0000000 || b->addr + b->size > 0xfec00000)) {
                printf("# %02x.%x BAR %d: 0x%llx, %llu bytes, reads 0x%08x\n", d->devfn >> 3,
                       d->devfn & 7, n, (unsigned long long)b->addr, (unsigned long long)b->size, lo);
                ok = false;
            }
        }
    }
    return ok;
}

/* No two BARs of the same space overlap. */
static bool bars_disjoint(struct qpci_bus *bus)
{
    for (int i = 0; i < bus->ndevs; i++)
        for (int n = 0; n < QPCI_NUM_BARS; n++)
            for (int j = 0; j < bus->ndevs; j++)
                for (int m = 0; m < QPCI_NUM_BARS; m++) {
                    struct qpci_bar *a = &bus->devs[i].bar[n], *b = &bus->devs[j].bar[m];

                    if ((i == j && n == m) || !a->size || !b->size || a->io != b->io)
                        continue;
                    if (a->addr < b->addr + b->size && b->addr < a->addr + a->size)
                        return false;
                }
    return true;
}

static void check_pci(struct qtest *q)
{
    struct qpci_bus *bus = qpci_bus_new(q);
    struct qpci_dev *t0 = qpci_find(bus, TESTDEV_VENDOR, TESTDEV_DEVICE, 0);
    struct qpci_dev *t1 = qpci_find(bus, TESTDEV_VENDOR, TESTDEV_DEVICE, 1);
    struct qpci_dev *ide = qpci_find(bus, 0x8086, 0x7010, 0);
    struct qpci_dev *vga = qpci_find(bus, 0x1234, 0x1111, 0);
    int nbars, failed;
    bool placed;

    CHECK(bus->ndevs == 7 && qpci_at(bus, PCI_DEVFN(0, 0)) && qpci_at(bus, PCI_DEVFN(1, 3)) &&
          !qpci_at(bus, PCI_DEVFN(1, 2)),
          "the scan finds the board's functions (00.0, 01.0, 01.1, 01.3), the VGA and two test "
          "devices, and no 01.2 (%d)", bus->ndevs);
    CHECK(t0 && t1 && t0->devfn == PCI_DEVFN(5, 0) && t1->devfn == PCI_DEVFN(9, 0) &&
          !qpci_find(bus, TESTDEV_VENDOR, TESTDEV_DEVICE, 2),
          "qpci_find picks devices by id in bus order: the test devices at 05.0 and 09.0");
    CHECK(ide && ide->devfn == PCI_DEVFN(1, 1) && ide->class_code >> 8 == 0x0101,
          "the PIIX3 IDE is at 01.1, class IDE");
    if (!t0 || !t1 || !ide || !vga) {
        free(bus);
        return;
    }

    failed = qpci_assign_all(bus);
    placed = bars_placed(bus, &nbars);
    CHECK(failed == 0 && placed && nbars == 8,
          "every BAR gets an address in the firmware's windows, aligned to its size and read back "
          "by its function (%d BARs, %d did not fit)", nbars, failed);
    CHECK(bars_disjoint(bus), "no two BARs overlap");
    CHECK(vga->bar[0].addr == 0xe0000000 && t0->bar[2].mem64 && t0->bar[2].size == 0x10000,
          "largest first: the VGA's 16 MiB at the window's start; the test device's 64-bit BAR is "
          "64 KiB");
    CHECK(pci_cfg_readw(q, t0->devfn, 4) == 7 && pci_cfg_readw(q, PCI_DEVFN(1, 3), 4) == 0,
          "functions with BARs decode and master; the PM function, which has none, is left alone");

    qtest_writel(q, t0->bar[0].addr, 0x600df00d);
    CHECK(qtest_inl(q, t0->bar[1].addr) == 0x600df00d,
          "the test device's register answers at its memory BAR and its I/O BAR alike");
    qtest_writel(q, t1->bar[0].addr, 0x12345678);
    CHECK(qtest_readl(q, t1->bar[0].addr) == 0x12345678 && qtest_readl(q, t0->bar[0].addr) == 0x600df00d,
          "the second test device has a register of its own");
    qtest_writeq(q, t1->bar[2].addr + 8, 0x0123456789abcdefull);
    CHECK(qtest_readq(q, t1->bar[2].addr + 8) == 0x0123456789abcdefull,
          "its 64-bit prefetchable BAR is memory at the address given");
    CHECK(qtest_inb(q, ide->bar[4].addr + 2) != 0xff && ide->bar[4].io && ide->bar[4].size == 16,
          "the IDE's bus-master registers (BAR 4, 16 bytes of I/O) answer where they were put");
    CHECK(qpci_iomap(t0, 0, NULL) == t0->bar[0].addr && qpci_iomap(t0, 3, NULL) == 0,
          "qpci_iomap of an assigned BAR returns its address; of the upper half of a 64-bit one, 0");
    free(bus);
}

static void check_alloc(struct qtest *q)
{
    const uint64_t start = 0x100000, end = 0x180000;
    struct qalloc *a = qalloc_new(start, end);
    uint64_t p[4], sizes[4] = { 0x100, 0x1000, 0x30, 0x2000 }, aligns[4] = { 16, 0x1000, 0, 0x2000 };
    uint8_t buf[0x2000], want[0x2000];
    bool ok = true;

    for (int i = 0; i < 4; i++) {
        p[i] = qalloc_aligned(a, sizes[i], aligns[i]);
        ok &= p[i] >= start && p[i] + sizes[i] <= end && !(p[i] % (aligns[i] ? aligns[i] : 16));
    }
    CHECK(ok, "blocks come from the range given, aligned as asked (0x%llx 0x%llx 0x%llx 0x%llx)",
          (unsigned long long)p[0], (unsigned long long)p[1], (unsigned long long)p[2],
          (unsigned long long)p[3]);
    for (int i = 0; i < 4; i++)
        qtest_cmd(q, "memset 0x%llx 0x%llx 0x%x", (unsigned long long)p[i],
                  (unsigned long long)sizes[i], 0x11 * (i + 1));
    for (int i = 0; i < 4; i++) {
        qtest_memread(q, p[i], buf, sizes[i]);
        memset(want, 0x11 * (i + 1), sizes[i]);
        ok &= !memcmp(buf, want, sizes[i]);
    }
    CHECK(ok, "each block holds what was written to it in guest memory: none overlaps another");
    CHECK(qalloc_in_use(a) == 0x100 + 0x1000 + 0x30 + 0x2000, "qalloc_in_use adds up the blocks");
    qfree(a, p[1]);
    CHECK(qalloc_aligned(a, 0x1000, 0x1000) == p[1], "a freed block is handed out again (first fit)");
    CHECK(qalloc(a, end - start) == 0, "a request larger than what is free gets 0");
    for (int i = 0; i < 4; i++)
        qfree(a, p[i]);
    CHECK(qalloc_in_use(a) == 0 && qalloc(a, end - start) == start,
          "once everything is freed the blocks merge back into the whole range");
    qalloc_destroy(a);
}

int main(void)
{
    struct qtest *q = qtest_start("-m 64 -device VGA,romfile=,addr=02.0 -device pci-testdev,addr=05.0 "
                                  "-device pci-testdev,addr=9");

    check_pci(q);
    check_alloc(q);
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    return tap_done();
}
