/* virtio-pci-test.c: the virtio PCI transport as a driver meets it, on a virtio-blk-pci: the function's identity and capabilities, feature negotiation, each common configuration register and the configuration access window, MSI-X masking and INTx with the ISR, the ring's notification rules, and every kind of hostile chain or ring, each putting the device in NEEDS_RESET until a reset */
/* budget: 120 */
#include "tests/qtest/libqos-virtio-blk.h"

#include <sys/wait.h>

/* offered through the legacy interface only (virtio 1.2 section 6.3), as QEMU does */
#define LEGACY_ONLY_FEATURES (QVIRTIO_BIT(24) | QVIRTIO_BIT(27))

/* ---- what the function looks like ---- */

static void check_identity(void)
{
    char *img[4], *log;
    struct qtest *q;
    struct qpci_bus *bus;
    struct qvirtio_dev *v[4], *l[4];
    uint32_t ids[4];

    for (int i = 0; i < 4; i++)
        img[i] = make_image(NULL, 1 << 20, 0);
    q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw -device virtio-blk-pci,drive=d0 "
                     "-drive if=none,id=d1,file=%s,format=raw -device virtio-blk-pci,drive=d1,disable-legacy=on "
                     "-drive if=none,id=d2,file=%s,format=raw -device virtio-blk-pci,drive=d2,disable-modern=on "
                     "-drive if=none,id=d3,file=%s,format=raw -device virtio-blk-pci,drive=d3,vectors=0",
                     img[0], img[1], img[2], img[3]);
    bus = qpci_bus_new(q);
    for (int i = 0; i < 4; i++) {
        v[i] = qvirtio_pci_new(bus, VIRTIO_ID_BLOCK, i, QVIRTIO_MODERN);
        l[i] = qvirtio_pci_new(bus, VIRTIO_ID_BLOCK, i, QVIRTIO_LEGACY);
    }
    for (int i = 0; i < 4; i++) {
        struct qpci_dev *d = NULL;
        int n = i;

        for (int k = 0; k < bus->ndevs && !d; k++)
            if (bus->devs[k].vendor == 0x1af4 && n-- == 0)
                d = &bus->devs[k];
        ids[i] = d ? (uint32_t)d->device << 16 | pci_cfg_readb(q, d->devfn, 8) : 0;
    }
    CHECK(v[0] && l[0] && ids[0] == 0x10010000,
          "a default virtio-blk-pci is transitional: device 0x1001 revision 0, legacy and modern interfaces (0x%08x)",
          ids[0]);
    if (v[0]) {
        struct qpci_dev *d = v[0]->pci;

        CHECK(pci_cfg_readw(q, d->devfn, 0x2c) == 0x1af4 && pci_cfg_readw(q, d->devfn, 0x2e) == 2 &&
              d->class_code == 0x010000,
              "its subsystem is 0x1af4:0x0002 (the virtio device ID) and its class is mass storage (0x%06x)",
              d->class_code);
        CHECK(d->bar[0].io && d->bar[0].size >= 84 && !d->bar[1].io && d->bar[1].size == 4096 &&
              d->bar[4].mem64 && d->bar[4].prefetch && d->bar[4].size == 0x4000,
              "BAR 0 is I/O (the legacy registers), BAR 1 4 KiB (MSI-X), BAR 4 16 KiB of 64-bit prefetchable memory");
        CHECK(v[0]->cap[QVIRTIO_CAP_COMMON].bar == 4 && v[0]->cap[QVIRTIO_CAP_COMMON].offset == 0 &&
              v[0]->cap[QVIRTIO_CAP_ISR].offset == 0x1000 && v[0]->cap[QVIRTIO_CAP_DEVICE].offset == 0x2000 &&
              v[0]->cap[QVIRTIO_CAP_NOTIFY].offset == 0x3000 && v[0]->notify_mult == 4 &&
              v[0]->cap[QVIRTIO_CAP_PCI_CFG].at,
              "its vendor capabilities: common at 0, ISR at 0x1000, device at 0x2000, notify at 0x3000 (x4) "
              "of BAR 4, and the PCI configuration access window");
        CHECK(v[0]->msix_cap && v[0]->msix_size == 2, "MSI-X has one vector per queue and one more (%u)",
              v[0]->msix_size);
    }
    CHECK(v[1] && !l[1] && ids[1] == 0x10420001 && v[1]->pci->bar[0].size == 0,
          "disable-legacy=on: device 0x1042 revision 1, no I/O BAR, only the modern interface (0x%08x)", ids[1]);
    CHECK(l[2] && !v[2] && ids[2] == 0x10010000 && v[2] == NULL,
          "disable-modern=on: device 0x1001, the legacy interface without vendor capabilities");
    CHECK(l[2] && l[2]->pci->bar[4].size == 0, "disable-modern=on: no BAR 4");
    CHECK(v[3] && v[3]->msix_cap == 0 && v[3]->pci->bar[1].size == 0, "vectors=0: no MSI-X capability, no BAR 1");
    for (int i = 0; i < 4; i++) {
        qvirtio_free(v[i]);
        qvirtio_free(l[i]);
        unlink(img[i]);
        free(img[i]);
    }
    free(bus);
    end_logged(q, log, "four kinds of function");
}

/* skiff refuses a command line: its exit status is not 0 and it says `msg` */
static void check_refused(const char *props, const char *msg)
{
    char *img = make_image(NULL, 1 << 20, 0), *log = qtest_tmp_path(".log"), *cmd;
    const char *bin = getenv("SKIFF");
    int st;

    /* the devices are made before skiff connects to the test, so a socket nobody listens on will do */
    if (asprintf(&cmd, "timeout 20 %s -accel qtest -qtest unix:%s.none -nodefaults -m 64 "
                 "-drive if=none,id=d0,file=%s,format=raw -device virtio-blk-pci%s >%s 2>&1",
                 bin && *bin ? bin : "./skiff", log, img, props, log) < 0)
        exit(2);
    st = system(cmd);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 124 && file_has(log, msg),
          "virtio-blk-pci%s is refused: '%s'", props, msg);
    unlink(log);
    unlink(img);
    free(cmd);
    free(log);
    free(img);
}

/* ---- feature negotiation (3.1.1) ---- */

static void check_features(void)
{
    char *img = make_image(NULL, 1 << 20, 16), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw,discard=unmap "
                                   "-device virtio-blk-pci,drive=d0,discard=off", img);
    struct blk b;
    struct qvirtio_dev *vd, *lg;
    uint64_t host, want = QVIRTIO_BIT(QVIRTIO_F_VERSION_1) | QVIRTIO_BIT(QVIRTIO_F_INDIRECT_DESC) |
                          QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX) | QVIRTIO_BIT(BLK_F_SEG_MAX) | QVIRTIO_BIT(BLK_F_BLK_SIZE) |
                          QVIRTIO_BIT(BLK_F_FLUSH) | QVIRTIO_BIT(BLK_F_TOPOLOGY) | QVIRTIO_BIT(BLK_F_CONFIG_WCE) |
                          QVIRTIO_BIT(BLK_F_WRITE_ZEROES) | QVIRTIO_BIT(BLK_F_GEOMETRY);
    uint8_t st;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "a modern driver sets the disk up")) {
        blk_end(&b);
        end_logged(q, log, "features");
        return;
    }
    vd = b.vd;
    host = qvirtio_host_features(vd);
    CHECK((host & want) == want, "the device offers VERSION_1, INDIRECT_DESC, EVENT_IDX and the block features "
          "(0x%llx)", (unsigned long long)host);
    CHECK(!(host & (QVIRTIO_BIT(BLK_F_MQ) | QVIRTIO_BIT(BLK_F_RO) | QVIRTIO_BIT(BLK_F_DISCARD) | QVIRTIO_BIT(30))),
          "and not MQ (one queue), RO (a writable drive), DISCARD (discard=off) or bit 30 (BAD_FEATURE)");
    qvirtio_common_write(vd, QVIRTIO_C_DFSELECT, 0, 4);
    CHECK(qvirtio_common_read(vd, QVIRTIO_C_DF, 2) == (host & 0xffff),
          "a 16-bit read of device_feature gives its low half, as QEMU (Debian's iPXE reads it so)");
    CHECK(!(host & LEGACY_ONLY_FEATURES),
          "the modern interface does not offer the legacy-only NOTIFY_ON_EMPTY and ANY_LAYOUT (as QEMU's)");
    lg = qvirtio_pci_new(b.bus, VIRTIO_ID_BLOCK, 0, QVIRTIO_LEGACY);
    CHECK(lg && qvirtio_host_features(lg) == ((uint32_t)host | LEGACY_ONLY_FEATURES),
          "the legacy register offers the same low 32 bits and NOTIFY_ON_EMPTY and ANY_LAYOUT "
          "(VERSION_1 cannot be seen there)");

    /* everything acked: what was not offered is dropped, not refused */
    qvirtio_reset(vd);
    qvirtio_set_status(vd, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER);
    qvirtio_write_features(vd, ~0ULL);
    qvirtio_set_status(vd, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_FEATURES_OK);
    st = qvirtio_get_status(vd);
    CHECK(st == (QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_FEATURES_OK),
          "a modern driver that acks every bit gets FEATURES_OK (status 0x%02x)", st);
    qvirtio_write_features(vd, 0);
    CHECK(qvirtio_read_guest_features(vd) == ~0ULL, "features written after FEATURES_OK are ignored");
    vd->features = host;
    for (unsigned i = 0; i < b.nvq; i++)
        qvirtqueue_free(b.vq[i]);
    b.nvq = 0;
    b.vq[0] = qvirtqueue_setup(vd, b.alloc, 0, 0);
    b.nvq = b.vq[0] != NULL;
    qvirtio_driver_ok(vd);
    CHECK(b.vq[0] && blk_dwz(&b, T_DISCARD, 0, 8, 0) == S_UNSUPP,
          "DISCARD, acked but not offered, is not in effect: a discard gets UNSUPP");
    CHECK(blk_dwz(&b, T_WRITE_ZEROES, 0, 8, 0) == S_OK, "while WRITE_ZEROES, offered and acked, works");

    /* a virtio 1.x driver that leaves VERSION_1 out (7.2.1) */
    qvirtio_reset(vd);
    qvirtio_set_status(vd, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER);
    qvirtio_write_features(vd, host & ~QVIRTIO_BIT(QVIRTIO_F_VERSION_1));
    qvirtio_set_status(vd, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_FEATURES_OK);
    st = qvirtio_get_status(vd);
    CHECK(st == (QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER),
          "a modern driver without VERSION_1 does not get FEATURES_OK (status 0x%02x)", st);
    CHECK(qvirtio_reset(vd), "and a reset brings the status back to 0");

    /* the legacy interface of the same function */
    if (lg) {
        qvirtio_reset(lg);
        qvirtio_set_status(lg, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER);
        qvirtio_write_features(lg, 0xffffffff);
        CHECK(qvirtio_read_guest_features(lg) == ((uint32_t)host | LEGACY_ONLY_FEATURES),
              "a legacy driver that acks every bit reads back only those offered");
        qvirtio_reset(lg);
    }
    qvirtio_free(lg);
    blk_end(&b);
    end_logged(q, log, "features");
    unlink(img);
    free(img);
}

/* ---- each register of the common configuration (4.1.4.3), and the windows beside it ---- */

static uint32_t cr(struct qvirtio_dev *vd, unsigned off, unsigned size)
{
    return qvirtio_common_read(vd, off, size);
}

static void cw(struct qvirtio_dev *vd, unsigned off, uint32_t v, unsigned size)
{
    qvirtio_common_write(vd, off, v, size);
}

static void check_common_regs(void)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, ",num-queues=2");
    struct qpci_bus *bus = qpci_bus_new(q);
    struct qalloc *alloc = qalloc_new(MEM_START, MEM_END);
    struct qvirtio_dev *vd = qvirtio_pci_new(bus, VIRTIO_ID_BLOCK, 0, QVIRTIO_MODERN);
    uint64_t host, ring;
    uint8_t gen, st;
    uint16_t head;
    uint32_t v;
    bool ok;

    if (!CHECK(vd != NULL, "the modern interface is there")) {
        free(bus);
        qalloc_destroy(alloc);
        disk_vm_end(&vm, "common configuration");
        return;
    }
    qtest_irq_intercept(q);
    qvirtio_msix_enable(vd);

    /* device_feature_select / device_feature */
    cw(vd, QVIRTIO_C_DFSELECT, 1, 4);
    CHECK(cr(vd, QVIRTIO_C_DFSELECT, 4) == 1 && (cr(vd, QVIRTIO_C_DF, 4) & 1),
          "device_feature_select reads back 1, and device_feature then shows bits 32-63 (VERSION_1)");
    cw(vd, QVIRTIO_C_DF, 0, 4);
    CHECK(cr(vd, QVIRTIO_C_DF, 4) & 1, "device_feature is read-only");
    cw(vd, QVIRTIO_C_DFSELECT, 2, 4);
    CHECK(cr(vd, QVIRTIO_C_DF, 4) == 0, "device_feature_select 2 shows no features");
    host = qvirtio_host_features(vd);
    CHECK(host & QVIRTIO_BIT(BLK_F_MQ), "num-queues=2 offers MQ");

    /* driver_feature_select / driver_feature */
    cw(vd, QVIRTIO_C_GFSELECT, 1, 4);
    cw(vd, QVIRTIO_C_GF, 1, 4);
    cw(vd, QVIRTIO_C_GFSELECT, 0, 4);
    cw(vd, QVIRTIO_C_GF, 0x30000000, 4);
    CHECK(cr(vd, QVIRTIO_C_GF, 4) == 0x30000000 && (cw(vd, QVIRTIO_C_GFSELECT, 1, 4), cr(vd, QVIRTIO_C_GF, 4) == 1) &&
          cr(vd, QVIRTIO_C_GFSELECT, 4) == 1, "driver_feature reads back what each half was given");
    cw(vd, QVIRTIO_C_GFSELECT, 7, 4);
    cw(vd, QVIRTIO_C_GF, 0xffffffff, 4);
    CHECK(cr(vd, QVIRTIO_C_GF, 4) == 0, "driver_feature_select 7 takes nothing");

    /* msix_config */
    CHECK(cr(vd, QVIRTIO_C_MSIX, 2) == 0, "msix_config holds the vector the driver gave (0)");
    cw(vd, QVIRTIO_C_MSIX, 3, 2);
    CHECK(cr(vd, QVIRTIO_C_MSIX, 2) == QVIRTIO_NO_VECTOR, "a vector the table lacks (3 of 3) reads back as NO_VECTOR");
    cw(vd, QVIRTIO_C_MSIX, 2, 2);
    CHECK(cr(vd, QVIRTIO_C_MSIX, 2) == 2, "the last vector of the table (2) is taken");

    /* num_queues, config_generation: read-only */
    cw(vd, QVIRTIO_C_NUMQ, 9, 2);
    CHECK(cr(vd, QVIRTIO_C_NUMQ, 2) == 2, "num_queues says 2, and a write does not change it");
    gen = cr(vd, QVIRTIO_C_CFGGEN, 1);
    cw(vd, QVIRTIO_C_CFGGEN, gen + 5, 1);
    CHECK(cr(vd, QVIRTIO_C_CFGGEN, 1) == gen, "config_generation is read-only");

    /* device_status */
    cw(vd, QVIRTIO_C_STATUS, QVIRTIO_ACKNOWLEDGE, 1);
    CHECK(cr(vd, QVIRTIO_C_STATUS, 1) == QVIRTIO_ACKNOWLEDGE, "device_status reads back ACKNOWLEDGE");
    cw(vd, QVIRTIO_C_STATUS, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_NEEDS_RESET, 1);
    CHECK(cr(vd, QVIRTIO_C_STATUS, 1) == (QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER),
          "the driver cannot set NEEDS_RESET: it is the device's");
    qvirtio_write_features(vd, host);
    cw(vd, QVIRTIO_C_STATUS, QVIRTIO_ACKNOWLEDGE | QVIRTIO_DRIVER | QVIRTIO_FEATURES_OK, 1);

    /* queue_select and what follows it */
    cw(vd, QVIRTIO_C_Q_SELECT, 2, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_SELECT, 2) == 2 && cr(vd, QVIRTIO_C_Q_SIZE, 2) == 0 &&
          cr(vd, QVIRTIO_C_Q_MSIX, 2) == QVIRTIO_NO_VECTOR && cr(vd, QVIRTIO_C_Q_ENABLE, 2) == 0,
          "queue_select 2 (of 2) selects no queue: size 0, NO_VECTOR, not enabled");
    cw(vd, QVIRTIO_C_Q_SIZE, 64, 2);
    cw(vd, QVIRTIO_C_Q_ENABLE, 1, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_SIZE, 2) == 0 && qvirtio_get_status(vd) == 0x0b,
          "and writes to it go nowhere");
    cw(vd, QVIRTIO_C_Q_SELECT, 1, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_SIZE, 2) == 256 && cr(vd, QVIRTIO_C_Q_NOFF, 2) == 1 && cr(vd, QVIRTIO_C_Q_ENABLE, 2) == 0 &&
          cr(vd, QVIRTIO_C_Q_MSIX, 2) == QVIRTIO_NO_VECTOR,
          "queue 1: size 256 (the largest), queue_notify_off 1, not enabled, NO_VECTOR");
    cw(vd, QVIRTIO_C_Q_NOFF, 7, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_NOFF, 2) == 1, "queue_notify_off is read-only");
    cw(vd, QVIRTIO_C_Q_SIZE, 32, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_SIZE, 2) == 32, "queue_size takes a smaller power of two");
    cw(vd, QVIRTIO_C_Q_MSIX, 2, 2);
    v = cr(vd, QVIRTIO_C_Q_MSIX, 2);
    cw(vd, QVIRTIO_C_Q_MSIX, 3, 2);
    CHECK(v == 2 && cr(vd, QVIRTIO_C_Q_MSIX, 2) == QVIRTIO_NO_VECTOR,
          "queue_msix_vector takes 2 and refuses 3 (NO_VECTOR)");
    cw(vd, QVIRTIO_C_Q_MSIX, 2, 2);
    ring = qalloc_aligned(alloc, qvring_size(32), 4096);
    qtest_cmd(q, "memset 0x%llx 0x%llx 0", (unsigned long long)ring, (unsigned long long)qvring_size(32));
    cw(vd, QVIRTIO_C_Q_DESCLO, (uint32_t)ring, 4);
    cw(vd, QVIRTIO_C_Q_DESCHI, 0, 4);
    cw(vd, QVIRTIO_C_Q_AVAILLO, (uint32_t)ring + 512, 4);
    cw(vd, QVIRTIO_C_Q_AVAILHI, 0, 4);
    cw(vd, QVIRTIO_C_Q_USEDLO, (uint32_t)ring + 4096, 4);
    cw(vd, QVIRTIO_C_Q_USEDHI, 0, 4);
    CHECK(cr(vd, QVIRTIO_C_Q_DESCLO, 4) == (uint32_t)ring && cr(vd, QVIRTIO_C_Q_AVAILLO, 4) == (uint32_t)ring + 512 &&
          cr(vd, QVIRTIO_C_Q_USEDLO, 4) == (uint32_t)ring + 4096 && cr(vd, QVIRTIO_C_Q_DESCHI, 4) == 0,
          "queue_desc, queue_driver and queue_device read back what was written");
    cw(vd, QVIRTIO_C_Q_USEDHI, 1, 4);
    CHECK(cr(vd, QVIRTIO_C_Q_USEDHI, 4) == 1, "their high halves too");
    cw(vd, QVIRTIO_C_Q_USEDHI, 0, 4);
    cw(vd, QVIRTIO_C_Q_ENABLE, 1, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_ENABLE, 2) == 1, "queue_enable reads 1 once enabled");
    cw(vd, QVIRTIO_C_Q_SIZE, 8, 2);
    cw(vd, QVIRTIO_C_Q_DESCLO, 0x1000, 4);
    cw(vd, QVIRTIO_C_Q_ENABLE, 0, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_SIZE, 2) == 32 && cr(vd, QVIRTIO_C_Q_DESCLO, 4) == (uint32_t)ring &&
          cr(vd, QVIRTIO_C_Q_ENABLE, 2) == 1, "an enabled queue's size, addresses and enable ignore writes");
    cw(vd, QVIRTIO_C_Q_SELECT, 0, 2);
    CHECK(cr(vd, QVIRTIO_C_Q_SIZE, 2) == 256 && cr(vd, QVIRTIO_C_Q_ENABLE, 2) == 0,
          "selecting queue 0 again shows its own registers");
    cw(vd, QVIRTIO_C_Q_SIZE, 512, 2);
    cw(vd, QVIRTIO_C_Q_ENABLE, 1, 2);
    st = qvirtio_get_status(vd);
    CHECK(cr(vd, QVIRTIO_C_Q_ENABLE, 2) == 0 && (st & QVIRTIO_NEEDS_RESET),
          "queue 0 with a size above the largest (512 of 256) is not enabled: the device needs a reset (0x%02x)", st);

    /* the ISR window, read-to-clear */
    CHECK(qtest_readb(q, vd->isr) == 0, "the ISR reads 0 with nothing to say");

    /* reset: every register back */
    ok = qvirtio_reset(vd);
    cw(vd, QVIRTIO_C_Q_SELECT, 1, 2);
    ok &= cr(vd, QVIRTIO_C_Q_SIZE, 2) == 256 && cr(vd, QVIRTIO_C_Q_ENABLE, 2) == 0 &&
          cr(vd, QVIRTIO_C_Q_MSIX, 2) == QVIRTIO_NO_VECTOR && cr(vd, QVIRTIO_C_Q_DESCLO, 4) == 0 &&
          cr(vd, QVIRTIO_C_Q_AVAILLO, 4) == 0 && cr(vd, QVIRTIO_C_Q_USEDLO, 4) == 0;
    ok &= cr(vd, QVIRTIO_C_MSIX, 2) == QVIRTIO_NO_VECTOR && cr(vd, QVIRTIO_C_STATUS, 1) == 0;
    cw(vd, QVIRTIO_C_GFSELECT, 0, 4);
    ok &= cr(vd, QVIRTIO_C_GF, 4) == 0;
    CHECK(ok, "a reset (device_status 0) reads back 0 and puts the queues, vectors and driver features back");

    /* the configuration access window (4.1.4.9) */
    CHECK(qvirtio_cfgcap_read(vd, 4, QVIRTIO_C_NUMQ, 2) == 2,
          "through the PCI configuration access window: num_queues (BAR 4, 0x12, 2 bytes) reads 2");
    CHECK(qvirtio_cfgcap_read(vd, 4, 0x2000 + CFG_CAPACITY, 4) == 2048,
          "the device configuration's capacity reads 2048 there");
    CHECK(qvirtio_cfgcap_read(vd, 0, QVIRTIO_L_QUEUE_NUM, 2) == 256, "and the legacy BAR 0's queue size 256");
    qvirtio_cfgcap_write(vd, 4, QVIRTIO_C_STATUS, 1, QVIRTIO_ACKNOWLEDGE);
    CHECK(qvirtio_get_status(vd) == QVIRTIO_ACKNOWLEDGE, "a status written through the window reaches the device");
    v = qvirtio_cfgcap_read(vd, 4, 0x4000, 4);
    qvirtio_cfgcap_write(vd, 4, 0x3ffe, 4, 0xffffffff);
    qvirtio_cfgcap_write(vd, 3, 0, 4, 0xffffffff);
    qvirtio_cfgcap_write(vd, 4, QVIRTIO_C_STATUS, 3, 0);
    CHECK(qvirtio_get_status(vd) == QVIRTIO_ACKNOWLEDGE && qtest_cmd(q, "endianness") != NULL,
          "windows past the BAR, into another BAR or 3 bytes wide do nothing");
    (void)v;

    /* a request kicked through the window */
    {
        struct blk b = { .q = q, .bus = bus, .vd = vd, .alloc = alloc };
        struct req r;
        int s;

        qfree(alloc, ring);
        ok = blk_setup(&b, BLK_FEATURES, 1, 0);
        req_prepare(&b, &r, T_IN, 3, SECTOR);
        head = qvirtqueue_add(b.vq[0], (struct qvirtio_buf[]){ { r.hdr, 16, false }, { r.data, SECTOR, true },
                                                                 { r.status, 1, true } }, 3);
        r.head = head;
        qvirtqueue_publish(b.vq[0], head);
        qvirtio_cfgcap_write(vd, 4, 0x3000, 2, 0);
        s = req_wait(&b, 0, &r, NULL);
        CHECK(ok && s == S_OK, "a notification written through the window starts the request (status %d)", s);
        req_release(&b, &r);
        for (unsigned i = 0; i < b.nvq; i++)
            qvirtqueue_free(b.vq[i]);
    }
    qvirtio_free(vd);
    qalloc_destroy(alloc);
    free(bus);
    disk_vm_end(&vm, "common configuration");
}

/* ---- interrupts: MSI-X masking, vectors, INTx and the ISR ---- */

static void check_msix(void)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, "");
    struct blk b;
    struct qvirtio_dev *vd;
    bool ok;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "MSI-X: the disk is set up")) {
        blk_end(&b);
        disk_vm_end(&vm, "MSI-X");
        return;
    }
    vd = b.vd;
    qvirtio_intx_route(vd, 11);
    CHECK(read_done(&b) && qvirtio_wait_msi(vd, 1, WAIT_MS) && no_msi(vd, 1) && qvirtio_msi_count(vd, 0) == 0,
          "a completion sends one message, the queue's vector 1 (0xfee00000 0x41)");
    CHECK(!qtest_get_irq(q, 11) && (qvirtio_read_isr(vd) & QVIRTIO_ISR_QUEUE),
          "INTx stays low while MSI-X is on; the ISR still shows the queue bit");

    qvirtio_msix_mask(vd, 1, true);
    ok = read_done(&b);
    CHECK(ok && no_msi(vd, 1) && qvirtio_msix_pending(vd, 1),
          "with vector 1 masked, a completion sends nothing and sets its pending bit");
    qvirtio_msix_mask(vd, 1, false);
    CHECK(qvirtio_wait_msi(vd, 1, WAIT_MS) && !qvirtio_msix_pending(vd, 1) && no_msi(vd, 1),
          "unmasking it sends the message once and clears the pending bit");

    qvirtio_msix_function_mask(vd, true);
    ok = read_done(&b);
    CHECK(ok && no_msi(vd, 1) && qvirtio_msix_pending(vd, 1),
          "with the function masked, a completion sends nothing and sets vector 1's pending bit");
    qvirtio_msix_function_mask(vd, false);
    CHECK(qvirtio_wait_msi(vd, 1, WAIT_MS) && !qvirtio_msix_pending(vd, 1),
          "clearing the function mask sends it and clears the pending bit");

    CHECK(qvirtio_set_queue_vector(vd, 0, 2) == QVIRTIO_NO_VECTOR && qvirtio_set_config_vector(vd, 7) == QVIRTIO_NO_VECTOR,
          "vectors the table lacks (2 for the queue, 7 for the configuration) read back NO_VECTOR");
    qvirtio_read_isr(vd);
    ok = read_done(&b);
    CHECK(ok && no_msi(vd, 1) && no_msi(vd, 0) && !qtest_get_irq(q, 11),
          "a queue with NO_VECTOR under MSI-X interrupts neither by message nor by INTx");
    qvirtio_set_queue_vector(vd, 0, 0);
    qvirtio_set_config_vector(vd, 1);
    b.vq[0]->vector = 0;
    CHECK(read_done(&b) && qvirtio_wait_msi(vd, 0, WAIT_MS), "vector 0 may serve the queue instead");
    qvirtio_set_queue_vector(vd, 0, 1);
    b.vq[0]->vector = 1;
    qvirtio_set_config_vector(vd, 0);

    qvirtio_msix_disable(vd);
    vd->isr_seen = 0;
    ok = read_done(&b);
    CHECK(ok && qtest_irq_wait(q, 11, true, WAIT_MS) && no_msi(vd, 1),
          "with MSI-X turned off the same completion raises INTx (IRQ 11) and sends no message");
    CHECK(qvirtio_read_isr(vd) == QVIRTIO_ISR_QUEUE && !qtest_get_irq(q, 11) && qvirtio_read_isr(vd) == 0,
          "reading the ISR gives the queue bit, lowers the line, and clears it");
    blk_end(&b);
    disk_vm_end(&vm, "MSI-X");
}

static void check_intx(enum qvirtio_mode mode)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, ",vectors=0");
    struct blk b;
    uint8_t isr;

    if (!CHECK(blk_init(&b, q, mode, false, BLK_FEATURES, 1, 0),
               "vectors=0, %s: the disk is set up", mode_name(mode))) {
        blk_end(&b);
        disk_vm_end(&vm, "INTx");
        return;
    }
    CHECK(!qtest_get_irq(q, 11), "vectors=0, %s: IRQ 11 is low before any request", mode_name(mode));
    CHECK(read_done(&b) && qtest_irq_wait(q, 11, true, WAIT_MS),
          "vectors=0, %s: a completion raises INTA# (routed to IRQ 11)", mode_name(mode));
    usleep(20000);
    CHECK(qtest_get_irq(q, 11), "vectors=0, %s: the line stays high until the ISR is read", mode_name(mode));
    isr = qvirtio_read_isr(&*b.vd);
    CHECK(isr == QVIRTIO_ISR_QUEUE && !qtest_get_irq(q, 11),
          "vectors=0, %s: the ISR says queue (0x%x) and reading it lowers the line", mode_name(mode), isr);
    CHECK(qvirtio_read_isr(b.vd) == 0, "vectors=0, %s: a second read finds it cleared", mode_name(mode));
    if (mode == QVIRTIO_LEGACY) {
        /* without MSI-X the device configuration follows the ISR at 20 (4.1.4.8) */
        CHECK(qtest_inl(q, b.vd->io + 20) == 2048, "vectors=0, legacy: the configuration starts at offset 20");
    }
    blk_end(&b);
    disk_vm_end(&vm, "INTx");
}

/* ---- hostile chains: every one puts the device in NEEDS_RESET (2.1.2), and a reset cures it ---- */

#define BAD_ADDR        0x40000000ULL       /* no RAM there (-m 128) */
#define RAM_END         (128ULL << 20)

struct bad_ctx {
    struct blk *b;
    struct qvirtqueue *vq;
    uint64_t hdr, data, status, table;      /* a read of sector 7; a spare table of 4 descriptors */
};

typedef void bad_fn(struct bad_ctx *c);

static void desc(struct bad_ctx *c, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next)
{
    qvring_write_desc(c->b->q, table, i, addr, len, flags, next);
}

/* the usual three pieces at descriptors 0-2 of `table`, the data piece replaced */
static void three(struct bad_ctx *c, uint64_t table, uint64_t daddr, uint32_t dlen)
{
    desc(c, table, 0, c->hdr, 16, QVRING_F_NEXT, 1);
    desc(c, table, 1, daddr, dlen, QVRING_F_WRITE | QVRING_F_NEXT, 2);
    desc(c, table, 2, c->status, 1, QVRING_F_WRITE, 0);
}

static void go(struct bad_ctx *c, uint16_t head)
{
    qvirtqueue_publish(c->vq, head);
    qvirtqueue_kick(c->vq);
}

static void bad_addr(struct bad_ctx *c) { three(c, c->vq->desc, BAD_ADDR, SECTOR); go(c, 0); }
static void bad_ram_end(struct bad_ctx *c) { three(c, c->vq->desc, RAM_END - 256, SECTOR); go(c, 0); }
static void bad_wrap(struct bad_ctx *c) { three(c, c->vq->desc, 0xffffffffffffff00ULL, SECTOR); go(c, 0); }

static void bad_loop(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, c->hdr, 16, QVRING_F_NEXT, 1);
    desc(c, c->vq->desc, 1, c->hdr, 16, QVRING_F_NEXT, 0);
    go(c, 0);
}

static void bad_long(struct bad_ctx *c)
{
    /* every descriptor of the queue, in order, and on to the first again */
    for (unsigned i = 0; i < c->vq->size; i++)
        desc(c, c->vq->desc, i, c->data, 1, QVRING_F_WRITE | QVRING_F_NEXT, (i + 1) % c->vq->size);
    go(c, 0);
}

static void bad_next(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, c->hdr, 16, QVRING_F_NEXT, c->vq->size);
    go(c, 0);
}

static void bad_head(struct bad_ctx *c)
{
    three(c, c->vq->desc, c->data, SECTOR);
    go(c, c->vq->size);
}

static void bad_avail_jump(struct bad_ctx *c)
{
    three(c, c->vq->desc, c->data, SECTOR);
    qvirtqueue_publish_raw(c->vq, 0, c->vq->avail_idx + c->vq->size + 1);
    qvirtqueue_kick(c->vq);
}

static void bad_nested(struct bad_ctx *c)
{
    desc(c, c->table, 0, c->table, 48, QVRING_F_INDIRECT, 0);
    desc(c, c->vq->desc, 0, c->table, 64, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_indirect_next(struct bad_ctx *c)
{
    three(c, c->table, c->data, SECTOR);
    desc(c, c->vq->desc, 0, c->table, 48, QVRING_F_INDIRECT | QVRING_F_NEXT, 1);
    desc(c, c->vq->desc, 1, c->status, 1, QVRING_F_WRITE, 0);
    go(c, 0);
}

static void bad_indirect_len(struct bad_ctx *c)
{
    three(c, c->table, c->data, SECTOR);
    desc(c, c->vq->desc, 0, c->table, 47, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_indirect_empty(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, c->table, 0, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_indirect_huge(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, c->table, 16 * 1025, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_indirect_outside(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, BAD_ADDR, 48, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_indirect_loop(struct bad_ctx *c)
{
    desc(c, c->table, 0, c->data, SECTOR, QVRING_F_WRITE | QVRING_F_NEXT, 1);
    desc(c, c->table, 1, c->status, 1, QVRING_F_WRITE | QVRING_F_NEXT, 0);
    desc(c, c->vq->desc, 0, c->table, 32, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_indirect_next_out(struct bad_ctx *c)
{
    desc(c, c->table, 0, c->hdr, 16, QVRING_F_NEXT, 3);
    desc(c, c->vq->desc, 0, c->table, 32, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_indirect_after_head(struct bad_ctx *c)
{
    three(c, c->table, c->data, SECTOR);
    desc(c, c->vq->desc, 0, c->hdr, 16, QVRING_F_NEXT, 1);
    desc(c, c->vq->desc, 1, c->table, 48, QVRING_F_INDIRECT, 0);
    go(c, 0);
}

static void bad_write_first(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, c->status, 1, QVRING_F_WRITE | QVRING_F_NEXT, 1);
    desc(c, c->vq->desc, 1, c->hdr, 16, 0, 0);
    go(c, 0);
}

static void bad_no_status(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, c->hdr, 16, 0, 0);
    go(c, 0);
}

static void bad_short_header(struct bad_ctx *c)
{
    desc(c, c->vq->desc, 0, c->hdr, 8, QVRING_F_NEXT, 1);
    desc(c, c->vq->desc, 1, c->status, 1, QVRING_F_WRITE, 0);
    go(c, 0);
}

struct bad_case {
    const char *what;
    bad_fn *fn;
    const char *log;            /* in skiff's one line */
    bool no_indirect;           /* negotiated without INDIRECT_DESC */
    uint16_t queue_size;
};

static const struct bad_case bad_cases[] = {
    { "a buffer address outside RAM", bad_addr, "buffer at 0x40000000 is not in writable RAM" },
    { "a buffer that runs past the end of RAM", bad_ram_end, "is not in writable RAM" },
    { "a buffer that wraps around the address space", bad_wrap, "wraps around the address space" },
    { "a loop in a chain", bad_loop, "longer than its table of 256 (a loop?)" },
    { "a chain longer than the queue (8)", bad_long, "longer than its table of 8", false, 8 },
    { "a next index outside the queue", bad_next, "descriptor 256 is outside its table of 256" },
    { "a bad head index", bad_head, "head 256 is outside a queue of 256" },
    { "an avail index that jumps more than the queue size", bad_avail_jump, "made 257 entries available in a queue of 256" },
    { "an indirect table inside an indirect table", bad_nested, "an indirect descriptor inside an indirect table" },
    { "INDIRECT together with NEXT", bad_indirect_next, "an indirect descriptor with NEXT" },
    { "an indirect table of 47 bytes", bad_indirect_len, "an indirect table of 47 bytes" },
    { "an indirect table of 0 bytes", bad_indirect_empty, "an indirect table of 0 bytes" },
    { "an indirect table of 1025 descriptors", bad_indirect_huge, "an indirect table of 16400 bytes" },
    { "an indirect table outside RAM", bad_indirect_outside, "descriptor table at 0x40000000 is not in RAM" },
    { "a loop inside an indirect table", bad_indirect_loop, "longer than its table of 2 (a loop?)" },
    { "a next index outside an indirect table", bad_indirect_next_out, "descriptor 3 is outside its table of 2" },
    { "an indirect descriptor after the head of a chain", bad_indirect_after_head, "after the head of a chain" },
    { "an indirect descriptor without INDIRECT_DESC negotiated", bad_indirect_len, "a feature not negotiated", true },
    { "a device-writable buffer before a readable one", bad_write_first, "a device-readable buffer after a writable one" },
    { "a request without a status byte", bad_no_status, "without its header or status byte" },
    { "a request whose header is 8 bytes", bad_short_header, "without its header or status byte" },
};

static void check_bad_chain(const struct bad_case *bc)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, "");
    uint64_t features = BLK_FEATURES & ~(bc->no_indirect ? QVIRTIO_BIT(QVIRTIO_F_INDIRECT_DESC) : 0);
    struct blk b;
    struct bad_ctx c;
    uint16_t used;
    uint8_t gen, st;
    bool irq;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, features, 1, bc->queue_size) && read_done(&b),
               "%s: the disk serves a read first", bc->what)) {
        blk_end(&b);
        disk_vm_end(&vm, bc->what);
        return;
    }
    qvirtio_msi_forget(b.vd);
    c = (struct bad_ctx){ .b = &b, .vq = b.vq[0] };
    c.hdr = qalloc(b.alloc, 16);
    c.data = qalloc(b.alloc, SECTOR);
    c.status = qalloc(b.alloc, 16);
    c.table = qalloc(b.alloc, 4 * QVRING_DESC_SIZE);
    qtest_memwrite(q, c.hdr, (uint8_t[16]){ T_IN, 0, 0, 0, 0, 0, 0, 0, 7 }, 16);
    qtest_writeb(q, c.status, 0xee);
    gen = qvirtio_config_generation(b.vd);
    used = qvirtqueue_used_idx(c.vq);
    bc->fn(&c);
    irq = qvirtio_wait_config_irq(b.vd, WAIT_MS);
    st = qvirtio_get_status(b.vd);
    CHECK(irq && (st & QVIRTIO_NEEDS_RESET) && qvirtio_config_generation(b.vd) != gen,
          "%s: the device sets NEEDS_RESET (0x%02x) with a configuration interrupt and a new generation",
          bc->what, st);
    CHECK(qvirtqueue_used_idx(c.vq) == used && qtest_readb(q, c.status) == 0xee && no_msi(b.vd, 1),
          "%s: nothing is completed", bc->what);
    CHECK(count_lines_with(vm.log, "needs a reset") == 1 && file_has(vm.log, bc->log),
          "%s: skiff logs one line: '...%s...'", bc->what, bc->log);
    qvirtqueue_kick(c.vq);
    qvirtio_set_status(b.vd, st | QVIRTIO_DRIVER_OK);
    CHECK(qvirtqueue_used_idx(c.vq) == used && (qvirtio_get_status(b.vd) & QVIRTIO_NEEDS_RESET),
          "%s: kicks and status writes do not clear it", bc->what);
    qfree(b.alloc, c.hdr);
    qfree(b.alloc, c.data);
    qfree(b.alloc, c.status);
    qfree(b.alloc, c.table);
    CHECK(blk_setup(&b, features, 1, bc->queue_size) && qvirtio_get_status(b.vd) == 0x0f && read_done(&b),
          "%s: after a reset the device serves requests again", bc->what);
    blk_end(&b);
    disk_vm_end(&vm, bc->what);
}

/* Rings the driver places outside RAM, or misaligned: refused when it enables the queue. */
static void check_bad_rings(const char *what, uint64_t desc, uint64_t avail, uint64_t used, const char *logtext,
                            uint8_t pam0)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, "");
    struct blk b;
    struct qvirtio_dev *vd;
    uint8_t st, gen;
    bool irq;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 0, 0), "%s: the disk is found", what)) {
        blk_end(&b);
        disk_vm_end(&vm, what);
        return;
    }
    vd = b.vd;
    /* PAM0 (the i440FX's 0x59) decides what 0xf0000-0xfffff is: 0x10 makes it read-only RAM */
    if (pam0)
        pci_cfg_writeb(q, 0, 0x59, pam0);
    /* blk_init set DRIVER_OK with no queue: start again and stop short of it */
    qvirtio_negotiate(vd, BLK_FEATURES);
    gen = qvirtio_config_generation(vd);
    qvirtio_common_write(vd, QVIRTIO_C_Q_SELECT, 0, 2);
    qvirtio_common_write(vd, QVIRTIO_C_Q_SIZE, 256, 2);
    qvirtio_common_write(vd, QVIRTIO_C_Q_DESCLO, (uint32_t)desc, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_DESCHI, desc >> 32, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_AVAILLO, (uint32_t)avail, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_AVAILHI, avail >> 32, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_USEDLO, (uint32_t)used, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_USEDHI, used >> 32, 4);
    qvirtio_common_write(vd, QVIRTIO_C_Q_ENABLE, 1, 2);
    st = qvirtio_get_status(vd);
    CHECK(qvirtio_common_read(vd, QVIRTIO_C_Q_ENABLE, 2) == 0 && (st & QVIRTIO_NEEDS_RESET),
          "%s: the queue is not enabled and the device needs a reset (0x%02x)", what, st);
    qvirtio_driver_ok(vd);
    irq = qvirtio_wait_config_irq(vd, WAIT_MS);
    CHECK(irq && qvirtio_config_generation(vd) != gen,
          "%s: a driver that sets DRIVER_OK anyway gets the configuration interrupt", what);
    qtest_writew(q, vd->notify, 0);
    CHECK(qtest_cmd(q, "endianness") != NULL && count_lines_with(vm.log, "needs a reset") == 1 && file_has(vm.log, logtext),
          "%s: a kick does nothing; skiff logs one line: '...%s...'", what, logtext);
    CHECK(blk_setup(&b, BLK_FEATURES, 1, 0) && read_done(&b), "%s: after a reset the device serves requests", what);
    blk_end(&b);
    disk_vm_end(&vm, what);
}

/* The legacy interface has no NEEDS_RESET: the device stops serving until a reset. */
static void check_bad_legacy(void)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, "");
    struct blk b;
    struct bad_ctx c;
    uint16_t used;

    if (!CHECK(blk_init(&b, q, QVIRTIO_LEGACY, true, BLK_FEATURES, 1, 0) && read_done(&b),
               "legacy, a bad chain: the disk serves a read first")) {
        blk_end(&b);
        disk_vm_end(&vm, "legacy, a bad chain");
        return;
    }
    qvirtio_msi_forget(b.vd);
    c = (struct bad_ctx){ .b = &b, .vq = b.vq[0] };
    c.hdr = qalloc(b.alloc, 16);
    c.data = qalloc(b.alloc, SECTOR);
    c.status = qalloc(b.alloc, 16);
    used = qvirtqueue_used_idx(c.vq);
    bad_loop(&c);
    usleep(100000);
    CHECK(qvirtqueue_used_idx(c.vq) == used && qvirtio_get_status(b.vd) == 0x07 && no_msi(b.vd, 0),
          "legacy, a loop in a chain: nothing completes, the status stays 0x07 (0.9.5 has no NEEDS_RESET)");
    CHECK(count_lines_with(vm.log, "needs a reset") == 1 && file_has(vm.log, "(a loop?)"), "legacy: skiff logs one line");
    three(&c, c.vq->desc, c.data, SECTOR);
    go(&c, 0);
    usleep(100000);
    CHECK(qvirtqueue_used_idx(c.vq) == used, "legacy: a good request after it is not served either");
    qfree(b.alloc, c.hdr);
    qfree(b.alloc, c.data);
    qfree(b.alloc, c.status);
    CHECK(blk_setup(&b, BLK_FEATURES, 1, 0) && read_done(&b), "legacy: after a reset the device serves requests");
    blk_end(&b);
    disk_vm_end(&vm, "legacy, a bad chain");
}

/* The same bad chain, reset, again and again: the log stays short. */
static void check_bad_ratelimit(void)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, "");
    struct blk b;
    struct bad_ctx c;
    int lines, n = 0;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "a driver that breaks the rules 40 times")) {
        blk_end(&b);
        disk_vm_end(&vm, "rate limit");
        return;
    }
    c = (struct bad_ctx){ .b = &b };
    c.hdr = qalloc(b.alloc, 16);
    c.data = qalloc(b.alloc, SECTOR);
    for (int i = 0; i < 40; i++) {
        c.vq = b.vq[0];
        bad_loop(&c);
        n += qvirtio_wait_config_irq(b.vd, WAIT_MS);
        blk_setup(&b, BLK_FEATURES, 1, 0);
    }
    lines = count_lines_with(vm.log, "needs a reset");
    CHECK(n == 40 && lines >= 1 && lines <= 10,
          "40 loops, each reset: each gets its configuration interrupt, the vm.log at most 10 lines (%d)", lines);
    CHECK(read_done(&b), "and the device still serves");
    qfree(b.alloc, c.hdr);
    qfree(b.alloc, c.data);
    blk_end(&b);
    disk_vm_end(&vm, "rate limit");
}

/* ---- the ring's notification rules (2.7.7, 2.7.10) ---- */

/* Submit a read of sector 7 and wait until used->idx passes it, without touching used_event. */
static bool read_quietly(struct blk *b, struct req *r)
{
    struct qvirtqueue *vq = b->vq[0];
    uint16_t want = qvirtqueue_used_idx(vq) + 1;

    req_prepare(b, r, T_IN, 7, SECTOR);
    req_submit(b, 0, r, SECTOR, true, false);
    for (int t = 0; t < WAIT_MS; t++) {
        if (qvirtqueue_used_idx(vq) == want)
            return qtest_readb(b->q, r->status) == S_OK;
        usleep(1000);
    }
    return false;
}

static void check_notifications(void)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, "");
    struct blk b;
    struct req r[4];
    struct qvirtqueue *vq;
    uint16_t last;
    bool ok;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES & ~QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX), 1, 0),
               "notifications: a driver without EVENT_IDX")) {
        blk_end(&b);
        disk_vm_end(&vm, "notifications");
        return;
    }
    vq = b.vq[0];
    qtest_writew(q, vq->avail, QVRING_AVAIL_F_NO_INTERRUPT);
    ok = read_quietly(&b, &r[0]);
    CHECK(ok && no_msi(b.vd, 1), "with NO_INTERRUPT in the driver's flags a completion sends no interrupt");
    qtest_writew(q, vq->avail, 0);
    ok = read_quietly(&b, &r[1]);
    CHECK(ok && qvirtio_wait_msi(b.vd, 1, WAIT_MS), "without it the next one does");
    CHECK(qvirtqueue_used_flags(vq) == 0, "the device wants kicks again once it has served the queue (used->flags 0)");
    for (int i = 0; i < 2; i++) {
        qvirtqueue_get_used(vq, NULL, NULL);
        req_release(&b, &r[i]);
    }

    if (!CHECK(blk_setup(&b, BLK_FEATURES, 1, 0), "notifications: a driver with EVENT_IDX")) {
        blk_end(&b);
        disk_vm_end(&vm, "notifications");
        return;
    }
    vq = b.vq[0];
    qvirtio_msi_forget(b.vd);
    /*
     * used_event 2: interrupt when the used index passes 2, that is with the third completion;
     * the first interrupts anyway, the queue never having signalled (as Linux and QEMU)
     */
    qtest_writew(q, vq->avail + 4 + 2 * vq->size, 2);
    ok = read_quietly(&b, &r[0]) && qvirtio_wait_msi(b.vd, 1, WAIT_MS);
    CHECK(ok, "used_event 2: the first completion of a new queue interrupts");
    ok = read_quietly(&b, &r[1]) && no_msi(b.vd, 1);
    CHECK(ok, "the second (used index 2) does not");
    ok = read_quietly(&b, &r[2]) && qvirtio_wait_msi(b.vd, 1, WAIT_MS);
    CHECK(ok, "the third (used index 3, past used_event) does");
    ok = read_quietly(&b, &r[3]) && no_msi(b.vd, 1);
    CHECK(ok, "and the fourth, with used_event still 2, does not");
    last = qvirtqueue_avail_event(vq);
    CHECK(last == vq->avail_idx, "the device's avail_event asks to be kicked at the next entry (%u, avail %u)",
          last, vq->avail_idx);
    for (int i = 0; i < 4; i++) {
        qvirtqueue_get_used(vq, NULL, NULL);
        req_release(&b, &r[i]);
    }
    blk_end(&b);
    disk_vm_end(&vm, "notifications");
}

int main(void)
{
    check_identity();
    check_refused(",drive=d0,disable-legacy=on,disable-modern=on", "leave no interface");
    check_refused(",drive=d0,queue-size=100", "queue-size=100: a power of two from 4 to 1024");
    check_refused(",drive=d0,num-queues=0", "num-queues=0: from 1 to 63");
    check_refused(",drive=d0,vectors=65", "vectors=65: at most 64");
    check_refused("", "drive= is required");
    check_features();
    check_common_regs();
    check_msix();
    check_intx(QVIRTIO_LEGACY);
    check_intx(QVIRTIO_MODERN);
    check_notifications();
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        check_bad_chain(&bad_cases[i]);
    check_bad_rings("rings outside RAM", BAD_ADDR, BAD_ADDR + 4096, BAD_ADDR + 8192, "are not in RAM", 0);
    check_bad_rings("a used ring that runs past the end of RAM", 0x3000000, 0x3001000,
                    RAM_END - 16, "are not in RAM", 0);
    check_bad_rings("a misaligned descriptor table", 0x3000008, 0x3001000, 0x3002000, "are misaligned", 0);
    check_bad_rings("a driver area in the local APIC's page", 0x3000000, 0xfee00000, 0x3002000, "are not in RAM", 0);
    check_bad_rings("a used ring in read-only memory (PAM)", 0x3000000, 0x3001000,
                    0xf0000, "the used ring must be in writable RAM", 0x10);
    check_bad_legacy();
    check_bad_ratelimit();
    return tap_done();
}
