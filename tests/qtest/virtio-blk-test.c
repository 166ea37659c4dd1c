/* virtio-blk-test.c: virtio-blk-pci driven as a guest's driver would: reads, writes, flush, GET_ID, discard and write-zeroes checked against the image file on the host, through each interface and interrupt kind; read-only drives, several queues, queue sizes, requests framed freely, resets with requests in flight, werror=stop, and a busy device's state */
/* budget: 120 */
#include "tests/qtest/libqos-virtio-blk.h"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

/* ---- reads, writes, flush, GET_ID through each interface ---- */

static void check_io(const char *label, enum qvirtio_mode mode, bool msix, const char *extra)
{
    char *img = make_image(NULL, 1 << 20, 64), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d0,serial=SKIFF-SERIAL-0001%s", img, extra);
    uint8_t buf[4 * SECTOR], want[SECTOR], id[20];
    struct req rs[8];
    struct blk b;
    uint16_t head;
    uint32_t len;
    int st, done = 0;
    bool ok;

    if (!CHECK(blk_init(&b, q, mode, msix, BLK_FEATURES, 1, 0),
               "%s: the driver finds the disk, negotiates and sets up its queue", label)) {
        blk_end(&b);
        end_logged(q, log, label);
        return;
    }
    CHECK(qvirtio_config_readq(b.vd, CFG_CAPACITY) == 2048 && qvirtio_config_readl(b.vd, CFG_BLK_SIZE) == 512,
          "%s: the configuration says 2048 sectors (1 MiB) of 512 bytes", label);

    st = blk_rw(&b, 0, T_IN, 5, buf, 2 * SECTOR, false);
    ok = st == S_OK;
    fill_sector(want, 5);
    ok &= !memcmp(buf, want, SECTOR);
    fill_sector(want, 6);
    ok &= !memcmp(buf + SECTOR, want, SECTOR);
    CHECK(ok, "%s: a read of sectors 5-6 returns what the image holds (status %d)", label, st);
    CHECK(qvirtqueue_wait_irq(b.vq[0], WAIT_MS), "%s: its completion interrupts (%s)", label,
          msix ? "MSI-X vector 1" : "INTx, the ISR's queue bit");

    for (int i = 0; i < 4; i++)
        fill_sector(buf + i * SECTOR, 1000 + i);
    st = blk_rw(&b, 0, T_OUT, 100, buf, 4 * SECTOR, true);
    ok = st == S_OK;
    for (int i = 0; i < 4; i++) {
        fill_sector(want, 1000 + i);
        ok &= file_sector_is(img, 100 + i, want);
    }
    CHECK(ok, "%s: a write of 4 sectors through an indirect table reaches the file at sector 100 (status %d)",
          label, st);
    memset(buf, 0, sizeof(buf));
    st = blk_rw(&b, 0, T_IN, 101, buf, SECTOR, true);
    fill_sector(want, 1001);
    CHECK(st == S_OK && !memcmp(buf, want, SECTOR), "%s: reading it back through an indirect table gives it", label);

    /* eight requests in flight at once, direct and indirect: each completes once, with its own data */
    for (int i = 0; i < 8; i++) {
        req_prepare(&b, &rs[i], T_IN, 20 + i, SECTOR);
        req_submit(&b, 0, &rs[i], SECTOR, true, i & 1);
    }
    ok = true;
    while (done < 8 && qvirtqueue_wait_used(b.vq[0], &head, &len, WAIT_MS)) {
        int i = 0;

        while (i < 8 && rs[i].head != head)
            i++;
        if (i == 8 || len != SECTOR + 1 || qtest_readb(q, rs[i].status) != S_OK) {
            tap_note("used head %u, length %u", head, len);
            ok = false;
            break;
        }
        qtest_memread(q, rs[i].data, buf, SECTOR);
        fill_sector(want, 20 + i);
        ok &= !memcmp(buf, want, SECTOR);
        rs[i].head = 0xffff;
        done++;
    }
    CHECK(ok && done == 8, "%s: eight reads in flight at once each complete once, with 513 bytes written (%d)",
          label, done);
    for (int i = 0; i < 8; i++)
        req_release(&b, &rs[i]);

    CHECK(blk_rw(&b, 0, T_FLUSH, 0, NULL, 0, false) == S_OK, "%s: a flush succeeds", label);
    memset(id, 0xff, sizeof(id));
    st = blk_rw(&b, 0, T_GET_ID, 0, id, sizeof(id), false);
    CHECK(st == S_OK && !memcmp(id, "SKIFF-SERIAL-0001\0\0\0", 20),
          "%s: GET_ID returns the serial, padded with zeros", label);
    CHECK(blk_rw(&b, 0, T_IN, 2047, buf, 2 * SECTOR, false) == S_IOERR,
          "%s: a read past the end of the disk fails with IOERR", label);
    CHECK(blk_rw(&b, 0, T_OUT, 3, buf, 100, false) == S_IOERR,
          "%s: a write of part of a sector fails with IOERR", label);
    CHECK(blk_rw(&b, 0, 0x1234, 0, buf, SECTOR, false) == S_UNSUPP, "%s: an unknown request type gets UNSUPP", label);
    fill_sector(want, 3);
    CHECK(file_sector_is(img, 3, want), "%s: the failed requests left the image as it was", label);
    CHECK(qalloc_in_use(b.alloc) == qvring_size(b.vq[0]->size), "%s: every descriptor and table came back", label);
    blk_end(&b);
    end_logged(q, log, label);
    unlink(img);
    free(img);
}

/* ---- queues ---- */

static void check_num_queues(void)
{
    char *img = make_image(NULL, 1 << 20, 64), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d0,num-queues=2", img);
    uint8_t buf[SECTOR], want[SECTOR];
    struct blk b;
    bool ok;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 2, 0), "num-queues=2: both queues are set up")) {
        blk_end(&b);
        end_logged(q, log, "num-queues");
        return;
    }
    CHECK((b.vd->features & QVIRTIO_BIT(BLK_F_MQ)) && qvirtio_config_readw(b.vd, CFG_NUM_QUEUES) == 2,
          "num-queues=2: MQ is negotiated and the configuration says 2 queues");
    ok = blk_rw(&b, 1, T_IN, 40, buf, SECTOR, false) == S_OK;
    fill_sector(want, 40);
    CHECK(ok && !memcmp(buf, want, SECTOR) && qvirtio_wait_msi(b.vd, 2, WAIT_MS) && qvirtio_msi_count(b.vd, 1) == 0,
          "num-queues=2: queue 1 serves a read, and interrupts with its own vector (2)");
    fill_sector(buf, 4242);
    ok = blk_rw(&b, 1, T_OUT, 41, buf, SECTOR, false) == S_OK;
    CHECK(ok && file_sector_is(img, 41, buf), "num-queues=2: queue 1 serves a write that reaches the file");
    ok = blk_rw(&b, 0, T_IN, 41, buf, SECTOR, true) == S_OK;
    CHECK(ok && file_sector_is(img, 41, buf) && qvirtio_wait_msi(b.vd, 1, WAIT_MS),
          "num-queues=2: queue 0 reads it back, interrupting with vector 1");
    {
        /* requests on both at once */
        struct req r0, r1;
        int s0, s1;

        req_prepare(&b, &r0, T_IN, 50, SECTOR);
        req_prepare(&b, &r1, T_IN, 51, SECTOR);
        req_submit(&b, 0, &r0, SECTOR, true, false);
        req_submit(&b, 1, &r1, SECTOR, true, false);
        s1 = req_wait(&b, 1, &r1, NULL);
        s0 = req_wait(&b, 0, &r0, NULL);
        qtest_memread(q, r1.data, buf, SECTOR);
        fill_sector(want, 51);
        CHECK(s0 == S_OK && s1 == S_OK && !memcmp(buf, want, SECTOR),
              "num-queues=2: a request on each queue at once: both complete");
        req_release(&b, &r0);
        req_release(&b, &r1);
    }
    blk_end(&b);
    end_logged(q, log, "num-queues");
    unlink(img);
    free(img);
}

static void check_queue_size(void)
{
    char *img = make_image(NULL, 1 << 20, 64), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d0,queue-size=16", img);
    uint8_t buf[SECTOR], want[SECTOR];
    struct blk b;
    struct qvirtio_dev *lg;
    uint16_t lnum = 0;
    bool ok;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "queue-size=16: the disk is set up")) {
        blk_end(&b);
        end_logged(q, log, "queue-size");
        return;
    }
    lg = qvirtio_pci_new(b.bus, VIRTIO_ID_BLOCK, 0, QVIRTIO_LEGACY);
    if (lg) {
        qtest_outw(q, lg->io + QVIRTIO_L_QUEUE_SEL, 0);
        lnum = qtest_inw(q, lg->io + QVIRTIO_L_QUEUE_NUM);
    }
    CHECK(b.vq[0]->size == 16 && lnum == 16, "queue-size=16: queue_size and the legacy queue size say 16 (%u, %u)",
          b.vq[0]->size, lnum);
    CHECK(qvirtio_config_readl(b.vd, CFG_SEG_MAX) == 14,
          "queue-size=16: seg_max is the queue size less the header and status (14)");
    /* sixteen requests fill the ring twice over */
    ok = true;
    for (int i = 0; i < 32 && ok; i++) {
        ok = blk_rw(&b, 0, T_IN, i, buf, SECTOR, false) == S_OK;
        fill_sector(want, i);
        ok &= !memcmp(buf, want, SECTOR);
    }
    CHECK(ok, "queue-size=16: 32 reads go round the ring of 16 twice");
    ok = blk_setup(&b, BLK_FEATURES, 1, 4);
    CHECK(ok && b.vq[0]->size == 4 && read_done(&b) && read_done(&b) && read_done(&b) && read_done(&b) && read_done(&b),
          "queue-size=16: a driver may choose a smaller queue (4) and it serves");
    qvirtio_free(lg);
    blk_end(&b);
    end_logged(q, log, "queue-size");
    unlink(img);
    free(img);
}

/* ---- drives: read-only, discard and write-zeroes, the write cache ---- */

static void check_read_only(void)
{
    char *img = make_image(NULL, 1 << 20, 64), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw,readonly=on "
                                   "-device virtio-blk-pci,drive=d0", img);
    uint8_t buf[SECTOR], want[SECTOR];
    struct blk b;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "read-only: the disk is set up")) {
        blk_end(&b);
        end_logged(q, log, "read-only");
        return;
    }
    CHECK(b.vd->features & QVIRTIO_BIT(BLK_F_RO), "read-only: a readonly=on drive offers RO");
    fill_sector(want, 9);
    CHECK(blk_rw(&b, 0, T_IN, 9, buf, SECTOR, false) == S_OK && !memcmp(buf, want, SECTOR), "read-only: it reads");
    memset(buf, 0x5a, sizeof(buf));
    CHECK(blk_rw(&b, 0, T_OUT, 9, buf, SECTOR, false) == S_IOERR && file_sector_is(img, 9, want),
          "read-only: a write fails with IOERR and the file keeps its data");
    CHECK(blk_dwz(&b, T_WRITE_ZEROES, 9, 1, 0) == S_IOERR && blk_dwz(&b, T_DISCARD, 9, 1, 0) == S_IOERR &&
          file_sector_is(img, 9, want), "read-only: write-zeroes and discard fail with IOERR too");
    CHECK(blk_rw(&b, 0, T_FLUSH, 0, NULL, 0, false) == S_OK,
          "read-only: a flush succeeds, there being nothing to flush");
    blk_end(&b);
    end_logged(q, log, "read-only");
    unlink(img);
    free(img);
}

static long long file_blocks(const char *path)
{
    struct stat st;

    return stat(path, &st) < 0 ? -1 : (long long)st.st_blocks;
}

static bool file_zero(const char *path, uint64_t sector, uint64_t count)
{
    uint8_t buf[SECTOR];

    for (uint64_t i = 0; i < count; i++) {
        if (!file_read(path, (sector + i) * SECTOR, buf, SECTOR))
            return false;
        for (int k = 0; k < SECTOR; k++)
            if (buf[k])
                return false;
    }
    return true;
}

static void check_discard(const char *drive_opts, bool unmap)
{
    char *img = make_image(NULL, 1 << 20, 2048), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw%s "
                                   "-device virtio-blk-pci,drive=d0", img, drive_opts);
    uint8_t want[SECTOR], buf[SECTOR];
    const char *what = unmap ? "discard=unmap" : "discard=ignore";
    long long before, after;
    struct blk b;
    int st;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "%s: the disk is set up", what)) {
        blk_end(&b);
        end_logged(q, log, what);
        return;
    }
    CHECK((b.vd->features & QVIRTIO_BIT(BLK_F_DISCARD)) && (b.vd->features & QVIRTIO_BIT(BLK_F_WRITE_ZEROES)),
          "%s: DISCARD and WRITE_ZEROES are negotiated", what);
    before = file_blocks(img);
    st = blk_dwz(&b, T_DISCARD, 256, 512, 0);
    after = file_blocks(img);
    if (unmap) {
        CHECK(st == S_OK && after <= before - 512 && file_zero(img, 256, 512),
              "%s: a discard of 256 KiB succeeds and the file gives its blocks back (%lld -> %lld)", what,
              before, after);
    } else {
        fill_sector(want, 300);
        CHECK(st == S_OK && after == before && file_sector_is(img, 300, want),
              "%s: a discard succeeds and the file keeps its blocks and data", what);
    }
    before = file_blocks(img);
    st = blk_dwz(&b, T_WRITE_ZEROES, 1024, 256, 1);
    after = file_blocks(img);
    CHECK(st == S_OK && file_zero(img, 1024, 256) && (!unmap || after <= before - 256),
          "%s: write-zeroes with UNMAP zeroes 128 KiB%s (%lld -> %lld)", what,
          unmap ? " and gives its blocks back" : "", before, after);
    st = blk_dwz(&b, T_WRITE_ZEROES, 1600, 8, 0);
    CHECK(st == S_OK && file_zero(img, 1600, 8), "%s: write-zeroes without UNMAP zeroes", what);
    CHECK(blk_rw(&b, 0, T_IN, 1601, buf, SECTOR, false) == S_OK && !memcmp(buf, (uint8_t[SECTOR]){ 0 }, SECTOR),
          "%s: the zeroed sectors read back as zeros", what);
    fill_sector(want, 2047);
    CHECK(blk_dwz(&b, T_DISCARD, 2047, 2, 0) == S_IOERR && blk_dwz(&b, T_WRITE_ZEROES, 2040, 9, 0) == S_IOERR &&
          file_sector_is(img, 2047, want), "%s: ranges past the end fail with IOERR and change nothing", what);
    CHECK(blk_dwz(&b, T_DISCARD, 0, 1, 1) == S_UNSUPP, "%s: a discard with the UNMAP flag gets UNSUPP", what);
    {
        uint8_t segs[32] = { 0 };

        segs[8] = 1;
        segs[24] = 1;
        CHECK(blk_rw(&b, 0, T_DISCARD, 0, segs, sizeof(segs), false) == S_UNSUPP,
              "%s: two segments (max_discard_seg is 1) get UNSUPP", what);
    }
    blk_end(&b);
    end_logged(q, log, what);
    unlink(img);
    free(img);
}

static void check_write_cache(void)
{
    char *img = make_image(NULL, 1 << 20, 16), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d0 "
                                   "-drive if=none,id=d1,file=%s,format=raw,cache=writethrough "
                                   "-device virtio-blk-pci,drive=d1", img, img);
    struct blk b;
    struct qvirtio_dev *wt;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "write cache: the disk is set up")) {
        blk_end(&b);
        end_logged(q, log, "write cache");
        return;
    }
    CHECK(qvirtio_config_readb(b.vd, CFG_WRITEBACK) == 1,
          "write cache: cache=writeback: the configuration's writeback says 1");
    qvirtio_config_writeb(b.vd, CFG_WRITEBACK, 0);
    CHECK(qvirtio_config_readb(b.vd, CFG_WRITEBACK) == 0, "write cache: with CONFIG_WCE the driver turns it off (0)");
    qvirtio_config_writeb(b.vd, 0, 0xff);
    CHECK(qvirtio_config_readq(b.vd, CFG_CAPACITY) == 2048, "write cache: the capacity is read-only");
    blk_setup(&b, BLK_FEATURES & ~QVIRTIO_BIT(BLK_F_CONFIG_WCE), 1, 0);
    CHECK(qvirtio_config_readb(b.vd, CFG_WRITEBACK) == 1, "write cache: a reset turns it back on");
    qvirtio_config_writeb(b.vd, CFG_WRITEBACK, 0);
    CHECK(qvirtio_config_readb(b.vd, CFG_WRITEBACK) == 1,
          "write cache: without CONFIG_WCE negotiated the driver cannot change it");
    blk_setup(&b, BLK_FEATURES & ~QVIRTIO_BIT(BLK_F_FLUSH), 1, 0);
    CHECK(qvirtio_config_readb(b.vd, CFG_WRITEBACK) == 0 && read_done(&b),
          "write cache: a driver without FLUSH gets a write-through disk (writeback 0)");
    wt = qvirtio_pci_new(b.bus, VIRTIO_ID_BLOCK, 1, QVIRTIO_MODERN);
    CHECK(wt && qvirtio_config_readb(wt, CFG_WRITEBACK) == 0, "write cache: cache=writethrough: writeback says 0");
    qvirtio_free(wt);
    blk_end(&b);
    end_logged(q, log, "write cache");
    unlink(img);
    free(img);
}

/* ---- requests framed freely (ANY_LAYOUT, and virtio 1.x drivers) ---- */

static void check_layouts(void)
{
    char *img = make_image(NULL, 1 << 20, 64), *log;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d0", img);
    uint8_t buf[2 * SECTOR + 16], want[2 * SECTOR];
    struct blk b;
    uint64_t m;
    uint16_t head;
    uint32_t len;
    bool ok;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "layouts: the disk is set up")) {
        blk_end(&b);
        end_logged(q, log, "layouts");
        return;
    }
    m = qalloc(b.alloc, 4096);

    /* a write whose header and data share one descriptor */
    memset(buf, 0, 16);
    buf[0] = T_OUT;
    buf[8] = 40;
    fill_sector(buf + 16, 7777);
    qtest_memwrite(q, m, buf, 16 + SECTOR);
    qtest_writeb(q, m + 2048, 0xee);
    head = qvirtqueue_submit(b.vq[0], (struct qvirtio_buf[]){ { m, 16 + SECTOR, false }, { m + 2048, 1, true } },
                             2, false);
    ok = qvirtqueue_wait_used(b.vq[0], NULL, &len, WAIT_MS) && qtest_readb(q, m + 2048) == S_OK;
    CHECK(ok && file_sector_is(img, 40, buf + 16),
          "layouts: a write whose header and data share a descriptor reaches the file");

    /* a read into pieces of 100, 412 and 500 bytes, the last 12 with the status in one descriptor */
    memset(buf, 0, 16);
    buf[0] = T_IN;
    buf[8] = 41;
    qtest_memwrite(q, m, buf, 16);
    qtest_cmd(q, "memset 0x%llx 0x600 0", (unsigned long long)(m + 1024));
    head = qvirtqueue_submit(b.vq[0], (struct qvirtio_buf[]){ { m, 16, false }, { m + 1024, 100, true },
                                                               { m + 1200, 412, true }, { m + 1700, 0, true },
                                                               { m + 2000, 513, true } }, 5, true);
    ok = qvirtqueue_wait_used(b.vq[0], &head, &len, WAIT_MS) && qtest_readb(q, m + 2512) == S_OK;
    fill_sector(want, 41);
    fill_sector(want + SECTOR, 42);
    qtest_memread(q, m + 1024, buf, 100);
    qtest_memread(q, m + 1200, buf + 100, 412);
    qtest_memread(q, m + 2000, buf + 512, 512);
    CHECK(ok && len == 1025 && !memcmp(buf, want, 2 * SECTOR),
          "layouts: a read scattered over pieces of 100, 412, 0 and 513 bytes (status in the last) gets both sectors (%u bytes)",
          len);

    /* a request split after 5 bytes of its header */
    memset(buf, 0, 16);
    buf[0] = T_IN;
    buf[8] = 43;
    qtest_memwrite(q, m, buf, 16);
    head = qvirtqueue_submit(b.vq[0], (struct qvirtio_buf[]){ { m, 5, false }, { m + 5, 11, false },
                                                               { m + 1024, 512, true }, { m + 2048, 1, true } }, 4, false);
    ok = qvirtqueue_wait_used(b.vq[0], NULL, NULL, WAIT_MS) && qtest_readb(q, m + 2048) == S_OK;
    qtest_memread(q, m + 1024, buf, SECTOR);
    fill_sector(want, 43);
    CHECK(ok && !memcmp(buf, want, SECTOR), "layouts: a header split over two descriptors is read whole");

    /* the largest request a queue of 256 takes: 254 pieces of 4 KiB through an indirect table */
    {
        struct qvirtio_buf big[256];
        uint64_t hdr = qalloc(b.alloc, 16), data = qalloc_aligned(b.alloc, 254 * 4096, 4096), st = qalloc(b.alloc, 1);
        uint8_t *all = malloc(254 * 4096), sec[SECTOR];

        memset(buf, 0, 16);
        buf[0] = T_IN;
        qtest_memwrite(q, hdr, buf, 16);
        big[0] = (struct qvirtio_buf){ hdr, 16, false };
        for (int i = 0; i < 254; i++)
            big[1 + i] = (struct qvirtio_buf){ data + 4096 * (uint64_t)i, 4096, true };
        big[255] = (struct qvirtio_buf){ st, 1, true };
        qvirtqueue_submit(b.vq[0], big, 256, true);
        ok = qvirtqueue_wait_used(b.vq[0], NULL, &len, WAIT_MS) && qtest_readb(q, st) == S_OK && len == 254 * 4096 + 1;
        qtest_memread(q, data, all, 254 * 4096);
        for (int i = 0; i < 254 * 8 && ok; i++) {
            if (i == 40)
                fill_sector(sec, 7777);     /* written above */
            else if (i < 64)
                fill_sector(sec, i);
            else
                memset(sec, 0, SECTOR);
            ok = !memcmp(all + i * SECTOR, sec, SECTOR);
            if (!ok)
                tap_note("sector %d differs", i);
        }
        CHECK(ok, "layouts: a read of 1016 KiB in 254 pieces through an indirect table gets the disk as it is");
        free(all);
        qfree(b.alloc, hdr);
        qfree(b.alloc, data);
        qfree(b.alloc, st);
    }
    qfree(b.alloc, m);
    blk_end(&b);
    end_logged(q, log, "layouts");
    unlink(img);
    free(img);
}

/* ---- resets with requests in flight ---- */

static void check_reset_in_flight(void)
{
    struct disk_vm vm;
    struct qtest *q = disk_vm_start(&vm, "");
    struct blk b;
    struct req r;
    uint8_t buf[SECTOR];
    bool ok;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "reset in flight: the disk is set up")) {
        blk_end(&b);
        disk_vm_end(&vm, "reset in flight");
        return;
    }
    /* a breakpoint holds the next request in its block worker */
    qtest_cmd(q, "block_break request");
    fill_sector(buf, 900);
    req_prepare(&b, &r, T_OUT, 12, SECTOR);
    qtest_memwrite(q, r.data, buf, SECTOR);
    req_submit(&b, 0, &r, SECTOR, false, false);
    CHECK(wait_taken(b.vq[0]) && qtest_cmd(q, "block_wait_break") != NULL,
          "reset in flight: a write is held in the block layer");
    ok = qvirtio_reset(b.vd);
    CHECK(ok && file_sector_is(vm.img, 12, buf),
          "reset in flight: a device reset waits for it: the status reads 0 once the write is done");
    req_release(&b, &r);
    CHECK(blk_setup(&b, BLK_FEATURES, 1, 0) && read_done(&b),
          "reset in flight: after the reset the device serves from new rings");

    qtest_cmd(q, "block_break request");
    /* a write: a read of what the page cache holds is served without a worker (RWF_NOWAIT) */
    fill_sector(buf, 901);
    req_prepare(&b, &r, T_OUT, 13, SECTOR);
    qtest_memwrite(q, r.data, buf, SECTOR);
    req_submit(&b, 0, &r, SECTOR, false, false);
    CHECK(wait_taken(b.vq[0]) && qtest_cmd(q,
          "block_wait_break") != NULL, "reset in flight: again, a write is held in the block layer");
    ok = qtest_cmd(q, "system_reset") != NULL;
    for (int t = 0; t < WAIT_MS && (qtest_reset_count(q) == 0 || !file_sector_is(vm.img, 13, buf)); t++)
        usleep(1000);
    CHECK(ok && qtest_reset_count(q) == 1 && file_sector_is(vm.img, 13, buf),
          "reset in flight: a system reset then happens, and the write is not lost: its data reaches the file");
    req_release(&b, &r);
    /* the board's reset also reset the PCI function: BARs, MSI-X and routing are the driver's again */
    qvirtio_free(b.vd);
    free(b.bus);
    for (unsigned i = 0; i < b.nvq; i++)
        qvirtqueue_free(b.vq[i]);
    b.nvq = 0;
    b.bus = qpci_bus_new(q);
    b.vd = qvirtio_pci_new(b.bus, VIRTIO_ID_BLOCK, 0, QVIRTIO_MODERN);
    CHECK(b.vd && qvirtio_get_status(b.vd) == 0 && qvirtio_common_read(b.vd, QVIRTIO_C_Q_ENABLE, 2) == 0,
          "reset in flight: the system reset leaves the device reset (status 0, its queue off)");
    ok = b.vd && qvirtio_msix_enable(b.vd);
    qalloc_destroy(b.alloc);
    b.alloc = qalloc_new(MEM_START, MEM_END);
    CHECK(ok && blk_setup(&b, BLK_FEATURES, 1, 0) && read_done(&b),
          "reset in flight: a driver sets it up again and it serves");
    blk_end(&b);
    disk_vm_end(&vm, "reset in flight");
}

/* ---- the command line's other ways to make one ---- */

static void check_command_line(void)
{
    char *img = make_image(NULL, 1 << 20, 16), *img2 = make_image(NULL, 2 << 20, 0), *log;
    struct qtest *q = start_logged(&log, "-m 128 -smp 2 -drive file=%s,if=virtio,format=raw "
                                   "-drive if=none,id=d1,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d1,serial=ABCDEFGHIJKLMNOPQRSTUVWX", img, img2);
    struct qpci_bus *bus = qpci_bus_new(q);
    struct qvirtio_dev *v0 = qvirtio_pci_new(bus, VIRTIO_ID_BLOCK, 0, QVIRTIO_MODERN);
    struct qvirtio_dev *v1 = qvirtio_pci_new(bus, VIRTIO_ID_BLOCK, 1, QVIRTIO_MODERN);
    struct blk b;
    uint8_t id[20];

    CHECK(v0 && v1 && qvirtio_config_readq(v1, CFG_CAPACITY) == 2048 && qvirtio_config_readq(v0, CFG_CAPACITY) == 4096,
          "-drive if=virtio makes a virtio-blk-pci after the -device ones");
    CHECK(v0 && qvirtio_common_read(v0, QVIRTIO_C_NUMQ, 2) == 2,
          "with -smp 2 the default num-queues is 2, one per vCPU as QEMU");
    CHECK(file_has(log, "serial 'ABCDEFGHIJKLMNOPQRSTUVWX' is longer than 20 characters"),
          "a serial longer than 20 characters gets a warning");
    qvirtio_free(v1);
    memset(&b, 0, sizeof(b));
    b.q = q;
    b.bus = bus;
    b.vd = v0;
    b.alloc = qalloc_new(MEM_START, MEM_END);
    qtest_irq_intercept(q);
    if (v0 && qvirtio_msix_enable(v0) && blk_setup(&b, BLK_FEATURES, 1, 0)) {
        CHECK(blk_rw(&b, 0, T_GET_ID, 0, id, 20, false) == S_OK && !memcmp(id, "ABCDEFGHIJKLMNOPQRST", 20),
              "GET_ID returns its first 20 characters, unterminated");
        memset(id, 0, sizeof(id));
        CHECK(blk_rw(&b, 0, T_GET_ID, 0, id, 8, false) == S_OK && !memcmp(id, "ABCDEFGH\0", 9),
              "GET_ID into 8 bytes gets the first 8");
    } else {
        CHECK(0, "the second disk is set up");
    }
    blk_end(&b);
    end_logged(q, log, "command line");
    unlink(img);
    unlink(img2);
    free(img);
    free(img2);
}

/* ---- werror=stop: a write that fails for lack of room stops the VM until 'cont' ---- */

/*
 * A tmpfs of `size` at a fresh directory, in a mount namespace of this test's own (skiff, its
 * child, sees it; the host does not): the path, or NULL where this machine cannot make one.
 */
static char *tmpfs_make(const char *size)
{
    static bool in_ns;
    char *dir = qtest_tmp_path(".tmpfs"), opts[64];

    if (!in_ns) {
        if (unshare(CLONE_NEWNS) < 0) {
            uid_t uid = getuid();
            gid_t gid = getgid();
            char map[64];
            int fd;

            if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                goto fail;
            /* this user is root in the new namespace, which lets it mount */
            fd = open("/proc/self/setgroups", O_WRONLY);
            if (fd >= 0) {
                if (write(fd, "deny", 4) < 0) { /* older kernels have no such file */ }
                close(fd);
            }
            snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
            fd = open("/proc/self/uid_map", O_WRONLY);
            if (fd < 0 || write(fd, map, strlen(map)) < 0)
                goto fail;
            close(fd);
            snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
            fd = open("/proc/self/gid_map", O_WRONLY);
            if (fd < 0 || write(fd, map, strlen(map)) < 0)
                goto fail;
            close(fd);
        }
        /* nothing mounted here goes back to the host's namespace */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            goto fail;
        in_ns = true;
    }
    snprintf(opts, sizeof(opts), "size=%s", size);
    if (mkdir(dir, 0700) < 0 || mount("tmpfs", dir, "tmpfs", 0, opts) < 0) {
        rmdir(dir);
        goto fail;
    }
    return dir;

fail:
    tap_note("cannot mount a tmpfs: %s", strerror(errno));
    free(dir);
    return NULL;
}

static void tmpfs_remove(char *dir)
{
    umount2(dir, MNT_DETACH);
    rmdir(dir);
    free(dir);
}

/* Fill the file system at dir to the last page: the filler's path. */
static char *fill_fs(const char *dir)
{
    static uint8_t chunk[4096];
    char *path;
    int fd;

    if (asprintf(&path, "%s/filler", dir) < 0)
        exit(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        exit(2);
    memset(chunk, 0x33, sizeof(chunk));
    while (write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk))
        ;
    close(fd);
    return path;
}

static bool hmp_says(int mon, const char *cmd, const char *text, int timeout_ms)
{
    for (int t = 0;; t += 10) {
        const char *out = qtest_hmp(mon, "%s", cmd);

        if (out && strstr(out, text))
            return true;
        if (t >= timeout_ms) {
            tap_note("'%s' said: %s", cmd, out ? out : "(nothing)");
            return false;
        }
        usleep(10000);
    }
}

/* label names the case; extra goes after the device's properties (an I/O thread, or nothing) */
static void check_werror_stop(const char *label, const char *extra)
{
    char *dir = tmpfs_make("1m"), *img, *log, *log2, *filler, *mon_path = qtest_tmp_path(".mon"), *state, *mon2_path;
    int mon_listen = qtest_listen_unix(mon_path), mon = -1, mon2 = -1, mon2_listen;
    struct qtest *q, *q2;
    uint8_t buf[8 * SECTOR], want[SECTOR];
    char what2[96];
    const char *args_fmt = "-m 128 -drive if=none,id=d0,file=%s,format=raw -device virtio-blk-pci,drive=d0%s "
                           "-monitor unix:%s%s";
    struct req w, r2;
    struct blk b;
    uint16_t used, head;
    bool ok;
    int st;

    if (!dir) {
        tap_skip("this machine lets the test mount no tmpfs (no CAP_SYS_ADMIN, no user namespaces)",
                 "werror=stop: a write that gets ENOSPC stops the VM");
        close(mon_listen);
        unlink(mon_path);
        free(mon_path);
        return;
    }
    img = make_image(dir, 4 << 20, 0);
    q = start_logged(&log, args_fmt, img, extra, mon_path, "");
    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "%s: the monitor answers", label);
    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0),
               "%s: the disk on a 1 MiB tmpfs is set up", label)) {
        blk_end(&b);
        end_logged(q, log, label);
        tmpfs_remove(dir);
        return;
    }
    for (int i = 0; i < 8; i++)
        fill_sector(buf + i * SECTOR, 500 + i);
    CHECK(blk_rw(&b, 0, T_OUT, 0, buf, sizeof(buf), false) == S_OK, "%s: a write while there is room succeeds", label);
    filler = fill_fs(dir);

    /* the write that finds no room */
    req_prepare(&b, &w, T_OUT, 2048, sizeof(buf));
    for (int i = 0; i < 8; i++)
        fill_sector(buf + i * SECTOR, 2048 + i);
    qtest_memwrite(q, w.data, buf, sizeof(buf));
    used = qvirtqueue_used_idx(b.vq[0]);
    req_submit(&b, 0, &w, sizeof(buf), false, false);
    CHECK(hmp_says(mon, "info status", "VM status: paused (io-error)", WAIT_MS),
          "%s: a write that gets ENOSPC stops the VM: info status says 'paused (io-error)'", label);
    CHECK(file_has(log, "d0: write error (No space left on device): the VM stops until 'cont'"),
          "%s: skiff says why it stopped", label);
    req_prepare(&b, &r2, T_IN, 1, SECTOR);
    req_submit(&b, 0, &r2, SECTOR, true, false);
    usleep(200000);
    CHECK(qvirtqueue_used_idx(b.vq[0]) == used && qtest_readb(q, w.status) == 0xee && qtest_readb(q, r2.status) == 0xee,
          "%s: while stopped, neither the failed write nor a read after it completes", label);

    /* the held request travels in the device's state */
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci") != NULL,
          "%s: the stopped device's state, with its held write, loads back into it", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.held.held_ids[0]=0xffff") == NULL,
          "%s: a stream whose held request names head 65535 is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.held.held_ids[0]=0x50000") == NULL,
          "%s: a stream whose held request is on queue 5 (of 1) is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.held.nheld=0") == NULL,
          "%s: a stream that holds nothing while a request is taken is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.held.nheld=1025") == NULL,
          "%s: a stream holding 1025 requests is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.vq[0].last_avail_idx=%u", used + 258) == NULL,
          "%s: a stream with 258 requests taken from a queue of 256 is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.vq[0].num=100") == NULL,
          "%s: a stream with a queue of 100 entries is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.vq[0].vector=9") == NULL,
          "%s: a stream with a queue on MSI-X vector 9 (of 2) is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.vq[0].last_avail_idx=%u blk.held.nheld=2 "
                       "blk.held.held_ids[1]=%u", used + 2, w.head) == NULL,
          "%s: a stream that holds the same request twice is refused", label);

    /* the machine's whole state into a second skiff, which carries the write on */
    state = qtest_tmp_path(".vmstate");
    CHECK(qtest_cmd(q, "vmstate_save %s", state) != NULL, "%s: the stopped machine's state is saved", label);
    mon2_path = qtest_tmp_path(".mon");
    mon2_listen = qtest_listen_unix(mon2_path);
    q2 = start_logged(&log2, args_fmt, img, extra, mon2_path, " -S");
    CHECK(qtest_hmp_open(mon2_listen, &mon2) != NULL && qtest_cmd(q2, "vmstate_load %s", state) != NULL,
          "%s: a second skiff started alike loads it", label);
    unlink(filler);
    CHECK(hmp_says(mon, "cont", "", 0) && hmp_says(mon, "info status", "VM status: running", WAIT_MS),
          "%s: after room is made, 'cont' runs the VM again", label);
    /* both complete, in whichever order their I/O ends */
    ok = true;
    for (int n = 0; n < 2 && ok; n++) {
        ok = qvirtqueue_wait_used(b.vq[0], &head, NULL, WAIT_MS) && (head == w.head || head == r2.head);
        if (ok && head == w.head)
            w.head = 0xffff;
        else if (ok)
            r2.head = 0xffff;
    }
    ok &= w.head == 0xffff && r2.head == 0xffff;
    st = qtest_readb(q, w.status);
    for (int i = 0; i < 8; i++) {
        fill_sector(want, 2048 + i);
        ok &= file_sector_is(img, 2048 + i, want);
    }
    CHECK(ok && st == S_OK, "%s: the held write and the read queued behind it complete, the write with OK "
          "and its data in the file (status %d)", label, st);
    st = qtest_readb(q, r2.status);
    fill_sector(want, 500 + 1);
    qtest_memread(q, r2.data, buf, SECTOR);
    CHECK(st == S_OK && !memcmp(buf, want, SECTOR), "%s: the read gets its data (status %d)", label, st);
    ok = !qvirtqueue_get_used(b.vq[0], &head, NULL);
    st = blk_rw(&b, 0, T_IN, 2049, buf, SECTOR, false);
    fill_sector(want, 2049);
    CHECK(ok && st == S_OK && !memcmp(buf, want, SECTOR), "%s: nothing completes twice, and the disk serves on", label);
    req_release(&b, &w);
    req_release(&b, &r2);

    /* the second skiff: its copy of the held write goes when it runs */
    memset(want, 0, sizeof(want));
    {
        int fd = open(img, O_WRONLY);

        /* undo the first skiff's write, so the second one's is seen */
        for (int i = 0; i < 8 && fd >= 0; i++)
            if (pwrite(fd, want, SECTOR, (2048 + i) * SECTOR) != SECTOR)
                break;
        if (fd >= 0)
            close(fd);
    }
    CHECK(hmp_says(mon2, "info status", "VM status: paused", 0) && hmp_says(mon2, "cont", "", 0) &&
          hmp_says(mon2, "info status", "VM status: running", WAIT_MS),
          "%s: the second skiff runs on 'cont'", label);
    b.q = b.vd->q = b.bus->q = q2;
    st = -1;
    for (int t = 0; t < WAIT_MS && qvirtqueue_used_idx(b.vq[0]) != (uint16_t)(used + 2); t++)
        usleep(1000);
    ok = qvirtqueue_used_idx(b.vq[0]) == used + 2;
    for (int i = 0; i < 8; i++) {
        fill_sector(want, 2048 + i);
        ok &= file_sector_is(img, 2048 + i, want);
    }
    CHECK(ok && qtest_readb(q2, w.status) == S_OK,
          "%s: there the held write and the read behind it complete, and the write's data is in the file", label);
    b.q = b.vd->q = b.bus->q = q;
    close(mon2);
    snprintf(what2, sizeof(what2), "%s, the second skiff", label);
    end_logged(q2, log2, what2);
    close(mon2_listen);
    unlink(mon2_path);
    free(mon2_path);
    unlink(state);
    free(state);
    free(filler);

    blk_end(&b);
    close(mon);
    end_logged(q, log, label);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    unlink(img);
    free(img);
    tmpfs_remove(dir);
}

static void check_werror_report(void)
{
    char *dir = tmpfs_make("256k"), *img, *log, *filler;
    struct qtest *q;
    uint8_t buf[8 * SECTOR];
    struct blk b;

    if (!dir) {
        tap_skip("this machine lets the test mount no tmpfs", "werror=report: a write that gets ENOSPC fails");
        return;
    }
    img = make_image(dir, 4 << 20, 0);
    q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw,werror=report "
                     "-device virtio-blk-pci,drive=d0", img);
    if (CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "werror=report: the disk is set up")) {
        filler = fill_fs(dir);
        memset(buf, 0x77, sizeof(buf));
        CHECK(blk_rw(&b, 0, T_OUT, 64, buf, sizeof(buf), false) == S_IOERR,
              "werror=report: a write that gets ENOSPC completes with IOERR");
        CHECK(blk_rw(&b, 0, T_IN, 64, buf, sizeof(buf), false) == S_OK && !memcmp(buf, (uint8_t[8 * SECTOR]){ 0 }, sizeof(buf)),
              "werror=report: and the VM runs on, its disk serving (the sectors still read zeros)");
        unlink(filler);
        free(filler);
    }
    blk_end(&b);
    end_logged(q, log, "werror=report");
    unlink(img);
    free(img);
    tmpfs_remove(dir);
}

/* ---- request merging ---- */

/* The reqs' heads all come back in the used ring, each with OK. */
static bool wait_all(struct blk *b, struct req *reqs, unsigned n)
{
    unsigned seen = 0;

    for (unsigned k = 0; k < n; k++) {
        uint16_t head;
        uint32_t len;

        if (!qvirtqueue_wait_used(b->vq[0], &head, &len, WAIT_MS))
            return false;
        for (unsigned i = 0; i < n; i++)
            if (reqs[i].head == head && qtest_readb(b->q, reqs[i].status) == S_OK)
                seen |= 1u << i;
    }
    return seen == (1u << n) - 1;
}

/* label names the case; props go after the device's (request-merging=off, an I/O thread) */
static void check_merging(const char *label, const char *props, bool merges)
{
    char *img = make_image(NULL, 4 << 20, 0), *log, *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1;
    struct qtest *q = start_logged(&log, "-m 128 -drive if=none,id=d0,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d0%s -monitor unix:%s", img, props, mon_path);
    /* four writes of 4 KiB that follow each other on the disk, given out of order, and one apart */
    static const uint64_t sectors[5] = { 124, 108, 100, 116, 200 };
    uint8_t buf[8 * SECTOR], want[8 * SECTOR];
    struct req reqs[5];
    struct blk b;
    bool same = true;
    char text[128];

    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "%s: the monitor answers", label);
    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0), "%s: the disk is set up", label))
        goto out;
    for (unsigned i = 0; i < 5; i++) {
        for (unsigned k = 0; k < 8; k++)
            fill_sector(buf + k * SECTOR, 7000 + sectors[i] + k);
        req_prepare(&b, &reqs[i], T_OUT, sectors[i], sizeof(buf));
        qtest_memwrite(q, reqs[i].data, buf, sizeof(buf));
        reqs[i].head = qvirtqueue_add(b.vq[0], (struct qvirtio_buf[]){ { reqs[i].hdr, 16, false },
                                      { reqs[i].data, sizeof(buf), false }, { reqs[i].status, 1, true } }, 3);
        qvirtqueue_publish(b.vq[0], reqs[i].head);
    }
    qvirtqueue_kick(b.vq[0]);
    CHECK(wait_all(&b, reqs, 5), "%s: five writes made available at once all complete with OK", label);
    for (unsigned i = 0; i < 5; i++) {
        for (unsigned k = 0; k < 8; k++)
            same &= file_sector_is(img, sectors[i] + k, (fill_sector(want, 7000 + sectors[i] + k), want));
        req_release(&b, &reqs[i]);
    }
    CHECK(same, "%s: each write's data is in the image where it belongs", label);
    snprintf(text, sizeof(text), "wr_operations=5 flush_operations=");
    CHECK(hmp_says(mon, "info blockstats", text, WAIT_MS), "%s: info blockstats counts five writes", label);
    snprintf(text, sizeof(text), "wr_merged=%d ", merges ? 3 : 0);
    CHECK(hmp_says(mon, "info blockstats", text, WAIT_MS), "%s: and says %s", label, text);

    /* the same four and the one apart, read back in one go */
    for (unsigned i = 0; i < 5; i++) {
        req_prepare(&b, &reqs[i], T_IN, sectors[i], sizeof(buf));
        reqs[i].head = qvirtqueue_add(b.vq[0], (struct qvirtio_buf[]){ { reqs[i].hdr, 16, false },
                                      { reqs[i].data, sizeof(buf), true }, { reqs[i].status, 1, true } }, 3);
        qvirtqueue_publish(b.vq[0], reqs[i].head);
    }
    qvirtqueue_kick(b.vq[0]);
    CHECK(wait_all(&b, reqs, 5), "%s: five reads made available at once all complete with OK", label);
    same = true;
    for (unsigned i = 0; i < 5; i++) {
        qtest_memread(q, reqs[i].data, buf, sizeof(buf));
        for (unsigned k = 0; k < 8; k++) {
            fill_sector(want, 7000 + sectors[i] + k);
            same &= !memcmp(buf + k * SECTOR, want, SECTOR);
        }
        req_release(&b, &reqs[i]);
    }
    CHECK(same, "%s: each read gets its own sectors", label);
    snprintf(text, sizeof(text), "rd_merged=%d ", merges ? 3 : 0);
    CHECK(hmp_says(mon, "info blockstats", text, WAIT_MS) && hmp_says(mon, "info blockstats", "rd_operations=5 ", 0),
          "%s: info blockstats counts five reads and says %s", label, text);
out:
    blk_end(&b);
    if (mon >= 0)
        close(mon);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    end_logged(q, log, label);
    unlink(img);
    free(img);
}

/* ---- the state of a device in the middle of its work ---- */

/* label names the case; obj and props add an I/O thread (or nothing) */
static void check_state(const char *label, const char *obj, const char *props)
{
    char *img = make_image(NULL, 1 << 20, 64), *log;
    struct qtest *q = start_logged(&log, "-m 128%s -drive if=none,id=d0,file=%s,format=raw "
                                   "-device virtio-blk-pci,drive=d0%s", obj, img, props);
    struct blk b;
    struct req r;
    uint8_t buf[SECTOR], want[SECTOR];
    int st;

    if (!CHECK(blk_init(&b, q, QVIRTIO_MODERN, true, BLK_FEATURES, 1, 0) && read_done(&b),
               "%s: the disk serves", label)) {
        blk_end(&b);
        end_logged(q, log, label);
        return;
    }
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL,
          "%s: every device's state saves, loads back and saves the same", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.vq[0].num=100") == NULL,
          "%s: a stream with a queue of 100 entries is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.vq[0].last_avail_idx=7") == NULL,
          "%s: a stream with 6 requests taken and none held is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.config_vector=2") == NULL,
          "%s: a stream whose configuration is on vector 2 (of 2) is refused", label);
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.guest_features=0x100000000000") == NULL,
          "%s: a stream with features the device does not offer is refused", label);
    fill_sector(want, 33);
    CHECK(blk_rw(&b, 0, T_IN, 33, buf, SECTOR, false) == S_OK && !memcmp(buf, want, SECTOR),
          "%s: after the refused streams the disk serves on", label);

    /* a stream with the rings moved out of RAM: whatever it says, skiff stays up */
    CHECK(qtest_cmd(q, "vmstate_load_patched virtio-blk-pci blk.vdev.vq[0].desc=0x40000000") != NULL,
          "%s: a stream whose descriptor table is outside RAM loads (the address is the guest's)", label);
    req_prepare(&b, &r, T_IN, 3, SECTOR);
    req_submit(&b, 0, &r, SECTOR, true, false);
    CHECK(qvirtio_wait_config_irq(b.vd, WAIT_MS) && (qvirtio_get_status(b.vd) & QVIRTIO_NEEDS_RESET),
          "%s: the next request then puts the device in NEEDS_RESET", label);
    req_release(&b, &r);
    st = blk_setup(&b, BLK_FEATURES, 1, 0) && read_done(&b);
    CHECK(st, "%s: and a reset brings it back", label);
    blk_end(&b);
    end_logged(q, log, label);
    unlink(img);
    free(img);
}

int main(void)
{
    check_io("legacy, MSI-X", QVIRTIO_LEGACY, true, "");
    check_io("modern, MSI-X", QVIRTIO_MODERN, true, "");
    check_io("legacy, INTx (vectors=0)", QVIRTIO_LEGACY, false, ",vectors=0");
    check_io("modern, INTx (vectors=0)", QVIRTIO_MODERN, false, ",vectors=0");
    check_io("modern-only (disable-legacy=on)", QVIRTIO_MODERN, true, ",disable-legacy=on");
    check_io("legacy-only (disable-modern=on)", QVIRTIO_LEGACY, true, ",disable-modern=on");
    check_io("modern, ioeventfd=off", QVIRTIO_MODERN, true, ",ioeventfd=off");
    check_io("legacy, ioeventfd=off", QVIRTIO_LEGACY, false, ",ioeventfd=off,vectors=0");
    check_io("modern, iothread", QVIRTIO_MODERN, true, ",iothread=io0 -object iothread,id=io0");
    check_io("legacy, INTx, iothread", QVIRTIO_LEGACY, false, ",vectors=0,iothread=io0 -object iothread,id=io0");
    check_num_queues();
    check_queue_size();
    check_read_only();
    check_discard(",discard=unmap", true);
    check_discard("", false);
    check_write_cache();
    check_layouts();
    check_reset_in_flight();
    check_command_line();
    check_werror_stop("werror", "");
    check_werror_stop("werror, iothread", ",iothread=io0 -object iothread,id=io0");
    check_werror_report();
    check_merging("merging", "", true);
    check_merging("merging, iothread", ",iothread=io0 -object iothread,id=io0", true);
    check_merging("request-merging=off", ",request-merging=off", false);
    check_state("state", "", "");
    check_state("state, iothread", " -object iothread,id=io0", ",iothread=io0");
    return tap_done();
}
