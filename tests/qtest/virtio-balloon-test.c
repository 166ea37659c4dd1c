/* virtio-balloon-test.c: the virtio-balloon-pci device driven by a test driver (libqos-virtio): what it offers, the monitor's balloon and info balloon, inflated pages given back to the host (and only pages of the guest's RAM), deflating, the statistics queue and its polling, a hostile second statistics buffer */
#include "tests/qtest/libqos-virtio-blk.h" // start_logged, end_logged, file_has, MEM_START

#define VIRTIO_ID_BALLOON       5
#define BAL_F_STATS_VQ          1
#define BAL_F_DEFLATE_ON_OOM    2
#define BAL_CFG_NUM_PAGES       0
#define BAL_CFG_ACTUAL          4
#define BAL_INFLATE             0
#define BAL_DEFLATE             1
#define BAL_STATS               2
#define BAL_S_FREE              4
#define BAL_S_TOTAL             5
#define PAGE                    4096
/* pages the tests fill and inflate: in RAM (-m 128), above the allocator's 1-64 MiB */
#define TEST_PAGES              0x5000000ULL
#define RSS_PAGES               4096        /* 16 MiB */
#define RSS_BASE                0x6000000ULL

struct bal {
    struct qtest *q;
    struct qpci_bus *bus;
    struct qvirtio_dev *vd;
    struct qalloc *alloc;
    struct qvirtqueue *vq[3];
    unsigned nvq;
};

static bool bal_setup(struct bal *b, uint64_t features)
{
    for (unsigned i = 0; i < b->nvq; i++)
        qvirtqueue_free(b->vq[i]);
    b->nvq = 0;
    if (!qvirtio_negotiate(b->vd, features))
        return false;
    for (unsigned i = 0; i < 3; i++) {
        if (i == BAL_STATS && !(b->vd->features & QVIRTIO_BIT(BAL_F_STATS_VQ)))
            break;
        b->vq[i] = qvirtqueue_setup(b->vd, b->alloc, i, 0);
        if (!b->vq[i])
            return false;
        b->nvq++;
    }
    qvirtio_driver_ok(b->vd);
    return true;
}

static bool bal_init(struct bal *b, struct qtest *q, uint64_t features)
{
    memset(b, 0, sizeof(*b));
    b->q = q;
    b->bus = qpci_bus_new(q);
    b->alloc = qalloc_new(MEM_START, MEM_END);
    b->vd = qvirtio_pci_new(b->bus, VIRTIO_ID_BALLOON, 0, QVIRTIO_MODERN);
    if (!b->vd)
        return false;
    qtest_irq_intercept(q);
    qvirtio_msix_enable(b->vd);
    return bal_setup(b, features);
}

static void bal_end(struct bal *b)
{
    for (unsigned i = 0; i < b->nvq; i++)
        qvirtqueue_free(b->vq[i]);
    if (b->vd)
        qvirtio_free(b->vd);
    qalloc_destroy(b->alloc);
    free(b->bus);
}

/* Give the device a buffer of n le32 page frame numbers on queue qi; true when it is used. */
static bool bal_pfns(struct bal *b, unsigned qi, const uint32_t *pfns, unsigned n)
{
    uint64_t buf = qalloc(b->alloc, n * 4);
    uint16_t head, used;
    uint32_t len;
    bool ok;

    qtest_memwrite(b->q, buf, pfns, n * 4);
    head = qvirtqueue_submit(b->vq[qi], (struct qvirtio_buf[]){ { buf, n * 4, false } }, 1, false);
    ok = qvirtqueue_wait_used(b->vq[qi], &used, &len, WAIT_MS) && used == head;
    qfree(b->alloc, buf);
    return ok;
}

static void fill_page(struct qtest *q, uint64_t gpa, uint8_t v)
{
    uint8_t p[PAGE];

    memset(p, v, sizeof(p));
    qtest_memwrite(q, gpa, p, sizeof(p));
}

static bool page_is(struct qtest *q, uint64_t gpa, uint8_t v)
{
    uint8_t p[PAGE], want[PAGE];

    memset(want, v, sizeof(want));
    qtest_memread(q, gpa, p, sizeof(p));
    return !memcmp(p, want, sizeof(p));
}

static bool hmp_has(int mon, const char *cmd, const char *text)
{
    const char *out = qtest_hmp(mon, "%s", cmd);

    if (out && strstr(out, text))
        return true;
    tap_note("'%s' said: %s", cmd, out ? out : "(nothing)");
    return false;
}

/* Resident memory of the skiff process, in KiB (VmRSS), or -1. */
static long rss_kib(struct qtest *q)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", qtest_pid(q));
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static void check_balloon(void)
{
    char *log, *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1;
    struct qtest *q = start_logged(&log, "-m 128 -device virtio-balloon-pci,guest-stats-polling-interval=2 "
                                   "-device VGA,romfile= -monitor unix:%s", mon_path);
    uint8_t rom[PAGE], rom_after[PAGE];
    uint32_t pfns[6], *many;
    struct bal b;
    struct qpci_dev *vga;
    uint64_t vram = 0, vram_size = 0;
    long before, filled, after;
    uint8_t stat[2 * 10];
    uint64_t sbuf;
    uint16_t head, used;
    uint32_t len;

    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "balloon: the monitor answers");
    CHECK(hmp_has(mon, "info balloon", "balloon: actual=128"),
          "balloon: before its driver runs, info balloon says the guest keeps all 128 MiB");
    if (!CHECK(bal_init(&b, q, QVIRTIO_BIT(BAL_F_STATS_VQ) | QVIRTIO_BIT(BAL_F_DEFLATE_ON_OOM) |
                                   QVIRTIO_BIT(QVIRTIO_F_VERSION_1)),
               "balloon: the device is found and set up with its three queues"))
        goto out;
    CHECK((b.vd->features & QVIRTIO_BIT(BAL_F_STATS_VQ)) && !(b.vd->features & QVIRTIO_BIT(BAL_F_DEFLATE_ON_OOM)),
          "balloon: it offers STATS_VQ, and DEFLATE_ON_OOM only when asked (deflate-on-oom=off by default)");
    CHECK(qvirtio_config_readl(b.vd, BAL_CFG_NUM_PAGES) == 0, "balloon: its target starts at 0 pages");

    /* the monitor sets a target: the configuration changes and says so */
    qvirtio_msi_forget(b.vd);
    qtest_hmp(mon, "balloon 96");
    CHECK(qvirtio_wait_config_irq(b.vd, WAIT_MS) && qvirtio_config_readl(b.vd, BAL_CFG_NUM_PAGES) == 8192,
          "balloon: 'balloon 96' asks for 8192 pages (32 MiB) with a configuration interrupt");

    /* inflate: two pages of RAM go back to the host; the ROM, video memory, a hole and a page past RAM do not */
    vga = qpci_find(b.bus, 0x1234, 0x1111, 0);
    if (vga) {
        vram = qpci_iomap(vga, 0, &vram_size) + 0x10000;
        qpci_enable(vga);
        fill_page(q, vram, 0x77);
    }
    fill_page(q, TEST_PAGES, 0x5a);
    fill_page(q, TEST_PAGES + PAGE, 0x5b);
    fill_page(q, TEST_PAGES + 2 * PAGE, 0x5c);
    qtest_memread(q, 0xf0000, rom, sizeof(rom));
    pfns[0] = TEST_PAGES / PAGE;
    pfns[1] = TEST_PAGES / PAGE + 1;
    pfns[2] = 0xf0;                 /* the BIOS ROM */
    pfns[3] = vram / PAGE;          /* video memory in the VGA's BAR */
    pfns[4] = 0x100000;             /* 4 GiB: past the end of RAM */
    pfns[5] = 0xffffffff;
    CHECK(bal_pfns(&b, BAL_INFLATE, pfns, 6), "balloon: the device takes an inflate buffer of six pages");
    CHECK(page_is(q, TEST_PAGES, 0) && page_is(q, TEST_PAGES + PAGE, 0),
          "balloon: the two inflated pages of RAM were given back (they read as zeros)");
    CHECK(page_is(q, TEST_PAGES + 2 * PAGE, 0x5c), "balloon: the page beside them keeps its data");
    qtest_memread(q, 0xf0000, rom_after, sizeof(rom_after));
    CHECK(!memcmp(rom, rom_after, sizeof(rom)) && memchr(rom, 0xff, sizeof(rom)) != NULL,
          "balloon: the BIOS ROM's page, put in the balloon, is untouched");
    CHECK(vga && page_is(q, vram, 0x77), "balloon: so is the page of video memory (in the VGA's BAR)");
    CHECK(file_has(log, "which is not in its RAM, in the balloon: ignored"),
          "balloon: skiff logs the pages outside the guest's RAM it ignored");

    /* the driver says how far it got; info balloon follows */
    for (unsigned i = 0; i < 4; i++)
        qvirtio_config_writeb(b.vd, BAL_CFG_ACTUAL + i, (8192 >> (8 * i)) & 0xff);
    CHECK(hmp_has(mon, "info balloon", "balloon: actual=96"), "balloon: after the driver sets actual, "
          "info balloon says actual=96");
    for (unsigned i = 0; i < 4; i++)
        qvirtio_config_writeb(b.vd, BAL_CFG_ACTUAL + i, 0xff);
    CHECK(hmp_has(mon, "info balloon", "balloon: actual=0"),
          "balloon: a driver claiming 2^32-1 pages is taken for all of RAM at most (actual=0, not negative)");

    /* deflate: the page is the guest's again */
    CHECK(bal_pfns(&b, BAL_DEFLATE, pfns, 1), "balloon: the device takes a deflate buffer");
    fill_page(q, TEST_PAGES, 0x6a);
    CHECK(page_is(q, TEST_PAGES, 0x6a), "balloon: the deflated page holds what the guest writes again");

    /* memory the guest touched, inflated, leaves skiff's resident set */
    before = rss_kib(q);
    for (unsigned i = 0; i < RSS_PAGES; i++)
        qtest_writeb(q, RSS_BASE + (uint64_t)i * PAGE, 1);
    filled = rss_kib(q);
    many = malloc(256 * 4);
    for (unsigned i = 0; i < RSS_PAGES; i += 256) {
        for (unsigned k = 0; k < 256; k++)
            many[k] = RSS_BASE / PAGE + i + k;
        if (!bal_pfns(&b, BAL_INFLATE, many, 256))
            break;
    }
    free(many);
    after = rss_kib(q);
    CHECK(filled - before >= 12 * 1024 && filled - after >= 12 * 1024,
          "balloon: 16 MiB the guest touched and then inflated leave skiff's RSS (%ld, then %ld, then %ld KiB)",
          before, filled, after);

    /* statistics: the driver's buffer is kept, shown, and given back every polling interval */
    memset(stat, 0, sizeof(stat));
    stat[0] = BAL_S_FREE;
    for (int i = 0; i < 8; i++)
        stat[2 + i] = (uint64_t)12345678 >> (8 * i);
    stat[10] = BAL_S_TOTAL;
    for (int i = 0; i < 8; i++)
        stat[12 + i] = (uint64_t)134217728 >> (8 * i);
    sbuf = qalloc(b.alloc, sizeof(stat));
    qtest_memwrite(q, sbuf, stat, sizeof(stat));
    head = qvirtqueue_submit(b.vq[BAL_STATS], (struct qvirtio_buf[]){ { sbuf, sizeof(stat), false } }, 1, false);
    usleep(100000);
    CHECK(hmp_has(mon, "info balloon", "free_mem=12345678 total_mem=134217728"),
          "balloon: info balloon shows the guest's statistics (free_mem=12345678 total_mem=134217728)");
    CHECK(!qvirtqueue_get_used(b.vq[BAL_STATS], &used, &len), "balloon: the device keeps the statistics buffer");
    qtest_clock_step(q, 2100000000LL);
    CHECK(qvirtqueue_wait_used(b.vq[BAL_STATS], &used, &len, WAIT_MS) && used == head,
          "balloon: after the 2 s polling interval it gives the buffer back, asking for fresh ones");
    stat[2] ^= 1;
    qtest_memwrite(q, sbuf, stat, sizeof(stat));
    qvirtqueue_submit(b.vq[BAL_STATS], (struct qvirtio_buf[]){ { sbuf, sizeof(stat), false } }, 1, false);
    usleep(100000);
    CHECK(hmp_has(mon, "info balloon", "free_mem=12345679"), "balloon: and shows the fresh ones");

    /* a second buffer while the device holds one breaks the rules: NEEDS_RESET, a reset cures it */
    qvirtqueue_submit(b.vq[BAL_STATS], (struct qvirtio_buf[]){ { sbuf, sizeof(stat), false } }, 1, false);
    usleep(100000);
    CHECK(qvirtio_get_status(b.vd) & 0x40, "balloon: a second statistics buffer puts the device in NEEDS_RESET");
    CHECK(file_has(log, "a second statistics buffer while the device holds one"), "balloon: and skiff logs why");
    qfree(b.alloc, sbuf);
    CHECK(bal_setup(&b, QVIRTIO_BIT(BAL_F_STATS_VQ) | QVIRTIO_BIT(QVIRTIO_F_VERSION_1)) &&
              !(qvirtio_get_status(b.vd) & 0x40) && bal_pfns(&b, BAL_INFLATE, pfns, 1),
          "balloon: after a reset and a new setup the device serves again");
    CHECK(hmp_has(mon, "info balloon", "balloon: actual=128"),
          "balloon: what the old driver said it gave is forgotten with the reset (actual=128)");
    qtest_hmp(mon, "balloon 512");
    CHECK(qvirtio_config_readl(b.vd, BAL_CFG_NUM_PAGES) == 0, "balloon: 'balloon 512' (more than RAM) asks for 0 pages");
out:
    bal_end(&b);
    if (mon >= 0)
        close(mon);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    end_logged(q, log, "balloon");
}

static void check_options(void)
{
    char *log, *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1;
    struct qtest *q = start_logged(&log, "-m 128 -monitor unix:%s", mon_path);
    struct bal b;

    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL && hmp_has(mon, "balloon 64", "No balloon device has been activated") &&
              hmp_has(mon, "info balloon", "No balloon device has been activated"),
          "no balloon: balloon and info balloon say 'No balloon device has been activated', as QEMU");
    if (mon >= 0)
        close(mon);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    end_logged(q, log, "no balloon");

    q = start_logged(&log, "-m 128 -device virtio-balloon-pci,deflate-on-oom=on");
    if (CHECK(bal_init(&b, q, QVIRTIO_BIT(BAL_F_STATS_VQ) | QVIRTIO_BIT(BAL_F_DEFLATE_ON_OOM) |
                                  QVIRTIO_BIT(QVIRTIO_F_VERSION_1)), "deflate-on-oom=on: the device is set up"))
        CHECK(b.vd->features & QVIRTIO_BIT(BAL_F_DEFLATE_ON_OOM), "deflate-on-oom=on: it offers DEFLATE_ON_OOM");
    bal_end(&b);
    end_logged(q, log, "deflate-on-oom");
}

int main(void)
{
    check_balloon();
    check_options();
    return tap_done();
}
