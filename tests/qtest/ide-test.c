/* ide-test.c: every ATA and ATAPI command skiff's IDE answers, driven through the PIIX3's registers, with bus master DMA and bad PRD tables */
#include "tests/qtest/libide.h"
#include "tests/unit/tap.h"

#define IDE IDE_DEVFN
#define P IDE_P
#define PCTL IDE_PCTL
#define S IDE_S
#define SCTL IDE_SCTL
#define BM 0xc000           /* bus master registers, where the test puts BAR 4 */
#define DISK_SECTORS 16384  /* 8 MiB */
#define BIG_SECTORS (300ULL << 21)   /* 300 GiB, sparse */
#define FAR_LBA 500000000ULL         /* beyond LBA28's 128 GiB */
#define CD_SECTORS 1024     /* 2 MiB of 2048-byte sectors */
#define PRD 0x10000         /* the PRD table in guest RAM */
#define BUF 0x20000         /* DMA buffers */

#define ST_ERR IDE_ST_ERR
#define ST_DRQ IDE_ST_DRQ
#define ST_DRDY IDE_ST_DRDY
#define ST_BSY IDE_ST_BSY

static struct qtest *q;

static uint16_t idw(const uint8_t *id, int w)
{
    return id[2 * w] | id[2 * w + 1] << 8;
}

static void bm_prd(int n, const uint32_t *addr, const uint32_t *len, bool eot_last)
{
    ide_bm_prd(q, BM, PRD, n, addr, len, eot_last);
}

/* Run a DMA command on the primary master with the bus master started after it. */
static uint8_t dma_cmd(uint8_t cmd, bool to_mem, uint8_t *bmst)
{
    return ide_dma_cmd(q, P, BM, cmd, to_mem, bmst);
}

static void check_ata(const char *big_path)
{
    uint8_t id[512], buf[16 * 512], bmst;
    char s[41];
    uint8_t st;
    int irqs = 0;
    bool ok;

    st = qtest_inb(q, P + 7);
    CHECK(st == 0x50, "the primary master disk reports DRDY|DSC after reset (0x%02x)", st);
    CHECK(qtest_inb(q, P + 2) == 1 && qtest_inb(q, P + 3) == 1 && qtest_inb(q, P + 4) == 0 &&
          qtest_inb(q, P + 5) == 0, "it carries the ATA signature (1, 1, 0, 0)");

    /* IDENTIFY DEVICE */
    qtest_outb(q, P + 6, 0xa0);
    qtest_outb(q, P + 7, 0xec);
    CHECK(qtest_get_irq(q, 14), "IDENTIFY raises IRQ 14");
    st = ide_pio_in(q, P, id, 1, 256, NULL);
    ide_id_string(id, 27, 40, s);
    CHECK(!strcmp(s, "SKIFF HARDDISK"), "IDENTIFY: model \"%s\"", s);
    CHECK(idw(id, 60) == (DISK_SECTORS & 0xffff) && idw(id, 61) == DISK_SECTORS >> 16 &&
          idw(id, 100) == (DISK_SECTORS & 0xffff), "IDENTIFY: LBA28 and LBA48 capacities are the disk's");
    CHECK(idw(id, 83) & (1 << 10) && idw(id, 49) & (1 << 8), "IDENTIFY: 48-bit addressing and DMA");
    CHECK(idw(id, 1) == 16 && idw(id, 3) == 16 && idw(id, 6) == 63, "IDENTIFY: CHS 16/16/63");
    CHECK(idw(id, 169) & 1, "IDENTIFY: DATA SET MANAGEMENT with TRIM");
    CHECK(!(st & ST_DRQ) && (st & ST_DRDY), "after 256 words DRQ clears");
    CHECK(!qtest_get_irq(q, 14) || (qtest_inb(q, P + 7), !qtest_get_irq(q, 14)),
          "reading the status register acknowledges the interrupt");

    /* READ SECTORS, LBA28 */
    ide_set_lba28(q, P, 0, 100, 3);
    qtest_outb(q, P + 7, 0x20);
    st = ide_pio_in(q, P, buf, 3, 256, &irqs);
    CHECK(ide_sector_ok(buf, 100, 512) && ide_sector_ok(buf + 512, 101, 512) && ide_sector_ok(buf + 1024, 102, 512),
          "READ SECTORS returns sectors 100-102");
    CHECK(irqs == 3, "one interrupt per DRQ block (%d)", irqs);
    CHECK(st == 0x50, "the read ends with DRDY|DSC (0x%02x)", st);
    CHECK(qtest_inb(q, P + 3) == 103, "the task file is left at the next sector");

    /* WRITE SECTORS, then read back */
    ide_fill_sector(buf, 0xabc, 512);
    ide_fill_sector(buf + 512, 0xabd, 512);
    ide_set_lba28(q, P, 0, 200, 2);
    qtest_outb(q, P + 7, 0x30);
    st = ide_pio_out(q, P, buf, 2, 256);
    CHECK(st == 0x50, "WRITE SECTORS of 2 sectors completes (0x%02x)", st);
    memset(buf, 0, sizeof(buf));
    ide_set_lba28(q, P, 0, 200, 2);
    qtest_outb(q, P + 7, 0x20);
    ide_pio_in(q, P, buf, 2, 256, NULL);
    CHECK(ide_sector_ok(buf, 0xabc, 512) && ide_sector_ok(buf + 512, 0xabd, 512), "what was written reads back");

    /* SET MULTIPLE, READ/WRITE MULTIPLE */
    qtest_outb(q, P + 2, 3);
    qtest_outb(q, P + 7, 0xc6);
    st = ide_wait_ready(q, P);
    CHECK(st & ST_ERR, "SET MULTIPLE with 3 (not a power of two) is aborted");
    qtest_outb(q, P + 2, 4);
    qtest_outb(q, P + 7, 0xc6);
    st = ide_wait_ready(q, P);
    CHECK(!(st & ST_ERR), "SET MULTIPLE 4 is taken");
    irqs = 0;
    ide_set_lba28(q, P, 0, 300, 8);
    qtest_outb(q, P + 7, 0xc4);
    ide_pio_in(q, P, buf, 2, 4 * 256, &irqs);
    ok = true;
    for (int i = 0; i < 8; i++)
        ok &= ide_sector_ok(buf + 512 * i, 300 + i, 512);
    CHECK(ok && irqs == 2, "READ MULTIPLE moves 8 sectors in 2 DRQ blocks of 4 (%d interrupts)", irqs);
    for (int i = 0; i < 8; i++)
        ide_fill_sector(buf + 512 * i, 0x5000 + i, 512);
    ide_set_lba28(q, P, 0, 400, 8);
    qtest_outb(q, P + 7, 0xc5);
    st = ide_pio_out(q, P, buf, 2, 4 * 256);
    memset(buf, 0, sizeof(buf));
    ide_set_lba28(q, P, 0, 400, 8);
    qtest_outb(q, P + 7, 0x20);
    ide_pio_in(q, P, buf, 8, 256, NULL);
    ok = st == 0x50;
    for (int i = 0; i < 8; i++)
        ok &= ide_sector_ok(buf + 512 * i, 0x5000 + i, 512);
    CHECK(ok, "WRITE MULTIPLE writes 8 sectors that READ SECTORS reads back");

    /* CHS after INITIALIZE DEVICE PARAMETERS: 16 heads, 63 sectors; C/H/S 1/2/3 = LBA 1134 */
    qtest_outb(q, P + 6, 0xa0 | 15);
    qtest_outb(q, P + 2, 63);
    qtest_outb(q, P + 7, 0x91);
    ide_wait_ready(q, P);
    qtest_outb(q, P + 6, 0xa0 | 2);
    qtest_outb(q, P + 2, 1);
    qtest_outb(q, P + 3, 3);
    qtest_outb(q, P + 4, 1);
    qtest_outb(q, P + 5, 0);
    qtest_outb(q, P + 7, 0x20);
    ide_pio_in(q, P, buf, 1, 256, NULL);
    CHECK(ide_sector_ok(buf, (1 * 16 + 2) * 63 + 2, 512), "a CHS read (cylinder 1, head 2, sector 3) reads LBA 1136");

    /* range errors */
    ide_set_lba28(q, P, 0, DISK_SECTORS - 1, 2);
    qtest_outb(q, P + 7, 0x20);
    st = ide_wait_ready(q, P);
    CHECK((st & ST_ERR) && qtest_inb(q, P + 1) == 0x10,
          "a read running past the end fails with IDNF (status 0x%02x)", st);
    ide_set_lba48(q, P, DISK_SECTORS, 1);
    qtest_outb(q, P + 7, 0x24);
    st = ide_wait_ready(q, P);
    CHECK((st & ST_ERR) && qtest_inb(q, P + 1) == 0x10, "READ SECTORS EXT beyond the end: IDNF");

    /* READ VERIFY, FLUSH CACHE, CHECK POWER MODE, SEEK, RECALIBRATE, NOP, unknown */
    ide_set_lba28(q, P, 0, 10, 4);
    qtest_outb(q, P + 7, 0x40);
    CHECK(!(ide_wait_ready(q, P) & ST_ERR), "READ VERIFY SECTORS succeeds");
    qtest_outb(q, P + 7, 0xe7);
    CHECK(!(ide_wait_ready(q, P) & ST_ERR), "FLUSH CACHE succeeds");
    qtest_outb(q, P + 7, 0xea);
    CHECK(!(ide_wait_ready(q, P) & ST_ERR), "FLUSH CACHE EXT succeeds");
    qtest_outb(q, P + 7, 0xe5);
    CHECK(!(ide_wait_ready(q, P) & ST_ERR) && qtest_inb(q, P + 2) == 0xff, "CHECK POWER MODE: active (0xff)");
    qtest_outb(q, P + 7, 0x70);
    CHECK(!(ide_wait_ready(q, P) & ST_ERR), "SEEK succeeds");
    qtest_outb(q, P + 7, 0x10);
    CHECK(!(ide_wait_ready(q, P) & ST_ERR), "RECALIBRATE succeeds");
    qtest_outb(q, P + 7, 0x00);
    st = ide_wait_ready(q, P);
    CHECK((st & ST_ERR) && qtest_inb(q, P + 1) == 0x04, "NOP is aborted, as ATA8 says");
    qtest_outb(q, P + 7, 0xb0);
    st = ide_wait_ready(q, P);
    CHECK((st & ST_ERR) && qtest_inb(q, P + 1) == 0x04, "SMART, which we do not offer, is aborted");
    qtest_outb(q, P + 7, 0x08);
    CHECK(ide_wait_ready(q, P) & ST_ERR, "DEVICE RESET on a disk is aborted");

    /* SET FEATURES */
    qtest_outb(q, P + 1, 0x82);
    qtest_outb(q, P + 7, 0xef);
    ide_wait_ready(q, P);
    qtest_outb(q, P + 1, 0x03);
    qtest_outb(q, P + 2, 0x22);
    qtest_outb(q, P + 7, 0xef);
    st = ide_wait_ready(q, P);
    qtest_outb(q, P + 7, 0xec);
    ide_pio_in(q, P, id, 1, 256, NULL);
    CHECK(!(st & ST_ERR) && !(idw(id, 85) & (1 << 5)) && (idw(id, 63) & 0x0400),
          "SET FEATURES: write cache off and MWDMA 2 show in IDENTIFY");
    ide_fill_sector(buf, 0x777, 512);
    ide_set_lba28(q, P, 0, 500, 1);
    qtest_outb(q, P + 7, 0x30);
    CHECK(ide_pio_out(q, P, buf, 1, 256) == 0x50, "a write with the write cache off completes");
    qtest_outb(q, P + 1, 0x02);
    qtest_outb(q, P + 7, 0xef);
    ide_wait_ready(q, P);
    qtest_outb(q, P + 1, 0x03);
    qtest_outb(q, P + 2, 0x4f);
    qtest_outb(q, P + 7, 0xef);
    CHECK(ide_wait_ready(q, P) & ST_ERR, "SET FEATURES with UDMA 7 (no such mode) is aborted");
    qtest_outb(q, P + 1, 0x77);
    qtest_outb(q, P + 7, 0xef);
    CHECK(ide_wait_ready(q, P) & ST_ERR, "an unknown SET FEATURES subcommand is aborted");

    /* DMA: READ DMA into two PRD buffers */
    {
        uint32_t addr[2] = { BUF, BUF + 0x3000 }, len[2] = { 1024, 1024 };
        uint8_t mem[2048];

        bm_prd(2, addr, len, true);
        ide_set_lba28(q, P, 0, 600, 4);
        st = dma_cmd(0xc8, true, &bmst);
        qtest_memread(q, BUF, mem, 1024);
        qtest_memread(q, BUF + 0x3000, mem + 1024, 1024);
        ok = true;
        for (int i = 0; i < 4; i++)
            ok &= ide_sector_ok(mem + 512 * i, 600 + i, 512);
        CHECK(st == 0x50 && ok, "READ DMA scatters 4 sectors into two PRD buffers");
        CHECK((bmst & 0x07) == 0x04, "the bus master shows interrupt, not active, no error (0x%02x)", bmst);

        for (int i = 0; i < 4; i++)
            ide_fill_sector(mem + 512 * (i % 4), 0x9000 + i, 512);
        qtest_memwrite(q, BUF, mem, 2048);
        len[0] = 2048;
        bm_prd(1, addr, len, true);
        ide_set_lba48(q, P, 700, 4);
        st = dma_cmd(0x35, false, &bmst);
        ide_set_lba28(q, P, 0, 700, 4);
        qtest_outb(q, P + 7, 0x20);
        ide_pio_in(q, P, buf, 4, 256, NULL);
        ok = st == 0x50;
        for (int i = 0; i < 4; i++)
            ok &= ide_sector_ok(buf + 512 * i, 0x9000 + i, 512);
        CHECK(ok, "WRITE DMA EXT writes what READ SECTORS reads back");

        /* TRIM (DATA SET MANAGEMENT, feature 1): one 512-byte block of ranges by DMA; the disk
         * is -drive discard=unmap on a raw file, so the sectors read back as zeros */
        {
            uint8_t ranges[512] = { 0 }, zero[512] = { 0 };
            uint64_t e = 800 | (uint64_t)8 << 48;
            bool zeros = true;

            memcpy(ranges, &e, 8);
            qtest_memwrite(q, BUF, ranges, sizeof(ranges));
            len[0] = 512;
            bm_prd(1, addr, len, true);
            ide_set_lba48(q, P, 0, 1);
            qtest_outb(q, P + 1, 0);
            qtest_outb(q, P + 1, 1);
            st = dma_cmd(0x06, false, &bmst);
            CHECK(st == 0x50 && (bmst & 0x07) == 0x04, "TRIM of 8 sectors completes (0x%02x, 0x%02x)", st, bmst);
            ide_set_lba28(q, P, 0, 800, 9);
            qtest_outb(q, P + 7, 0x20);
            ide_pio_in(q, P, buf, 9, 256, NULL);
            for (int i = 0; i < 8; i++)
                zeros &= !memcmp(buf + 512 * i, zero, 512);
            CHECK(zeros && ide_sector_ok(buf + 8 * 512, 808, 512),
                  "the trimmed sectors read as zeros, the next one as before");
            e = (DISK_SECTORS - 2) | (uint64_t)8 << 48;
            memcpy(ranges, &e, 8);
            qtest_memwrite(q, BUF, ranges, sizeof(ranges));
            bm_prd(1, addr, len, true);
            ide_set_lba48(q, P, 0, 1);
            qtest_outb(q, P + 1, 0);
            qtest_outb(q, P + 1, 1);
            st = dma_cmd(0x06, false, &bmst);
            CHECK((st & ST_ERR) && (bmst & 0x02), "a TRIM range past the disk's end is an error");
            ide_set_lba48(q, P, 0, 1);
            qtest_outb(q, P + 1, 0);
            qtest_outb(q, P + 1, 0);
            qtest_outb(q, P + 7, 0x06);
            CHECK(ide_wait_ready(q, P) & ST_ERR, "DATA SET MANAGEMENT without the TRIM bit is aborted");
        }

        /* a PRD table with room to spare: the engine stays active */
        len[0] = 4096;
        bm_prd(1, addr, len, true);
        ide_set_lba28(q, P, 0, 600, 2);
        st = dma_cmd(0xc8, true, &bmst);
        CHECK(st == 0x50 && (bmst & 0x07) == 0x05, "a PRD longer than the transfer leaves the engine active (0x%02x)", bmst);

        /* bad PRD tables */
        addr[0] = 0x7ff00000;       /* beyond -m 64 */
        len[0] = 1024;
        bm_prd(1, addr, len, true);
        ide_set_lba28(q, P, 0, 600, 2);
        st = dma_cmd(0xc8, true, &bmst);
        CHECK((st & ST_ERR) && (bmst & 0x02), "a PRD buffer outside RAM: ATA error and bus master error (0x%02x, 0x%02x)", st, bmst);
        addr[0] = BUF;
        len[0] = 512;
        bm_prd(1, addr, len, true);
        ide_set_lba28(q, P, 0, 600, 2);
        st = dma_cmd(0xc8, true, &bmst);
        CHECK((st & ST_ERR) && (bmst & 0x02), "a PRD table shorter than the transfer is an error");
        qtest_outl(q, BM + 4, 0x7ffff000);
        ide_set_lba28(q, P, 0, 600, 2);
        st = dma_cmd(0xc8, true, &bmst);
        CHECK((st & ST_ERR) && (bmst & 0x02), "a PRD table outside RAM is an error");
        {
            /* 8192 two-byte entries and no end-of-table bit: the walk stops at the 64 KiB limit */
            uint8_t t[4096];

            for (int i = 0; i < 4096; i += 8) {
                uint32_t a = BUF;

                memcpy(t + i, &a, 4);
                t[i + 4] = 2;
                t[i + 5] = t[i + 6] = t[i + 7] = 0;
            }
            for (int off = 0; off < 0x10000; off += sizeof(t))
                qtest_memwrite(q, PRD + off, t, sizeof(t));
            qtest_outl(q, BM + 4, PRD);
        }
        ide_set_lba48(q, P, 0, 64);
        st = dma_cmd(0x25, true, &bmst);
        CHECK((st & ST_ERR) && (bmst & 0x02), "a PRD table without end stops at its 64 KiB limit");
        bm_prd(1, addr, (uint32_t[]){ 1024 }, true);
        ide_set_lba28(q, P, 0, 600, 2);
        st = dma_cmd(0xca, true, &bmst);
        CHECK(st & ST_ERR, "a direction bit that contradicts the command is an error");
    }

    /* LBA48 beyond 128 GiB, on the 300 GiB disk at the primary slave */
    {
        uint8_t want[512];
        int fd;

        qtest_outb(q, P + 6, 0xb0);
        qtest_outb(q, P + 7, 0xec);
        ide_pio_in(q, P, id, 1, 256, NULL);
        CHECK(idw(id, 60) == 0xffff && idw(id, 61) == 0x0fff &&
              ((uint64_t)idw(id, 101) << 16 | idw(id, 100)) == BIG_SECTORS,
              "a 300 GiB disk: LBA28 capacity saturates, LBA48 gives all %llu sectors",
              (unsigned long long)BIG_SECTORS);
        CHECK(!(idw(id, 85) & (1 << 5)) && (idw(id, 82) & (1 << 5)),
              "cache=writethrough: the disk offers a write cache but starts with it off, as QEMU's");
        ide_fill_sector(buf, FAR_LBA, 512);
        ide_set_lba48(q, P, FAR_LBA, 1);
        qtest_outb(q, P + 6, 0x50);
        qtest_outb(q, P + 7, 0x34);
        st = ide_pio_out(q, P, buf, 1, 256);
        fd = open(big_path, O_RDONLY);
        memset(want, 0, sizeof(want));
        ok = fd >= 0 && pread(fd, want, 512, FAR_LBA * 512) == 512 && ide_sector_ok(want, FAR_LBA, 512);
        if (fd >= 0)
            close(fd);
        CHECK(st == 0x50 && ok, "WRITE SECTORS EXT at LBA %llu lands at byte %llu of the image",
              (unsigned long long)FAR_LBA, (unsigned long long)FAR_LBA * 512);
        memset(buf, 0, 512);
        ide_set_lba48(q, P, FAR_LBA, 1);
        qtest_outb(q, P + 6, 0x50);
        qtest_outb(q, P + 7, 0x24);
        ide_pio_in(q, P, buf, 1, 256, NULL);
        CHECK(ide_sector_ok(buf, FAR_LBA, 512), "READ SECTORS EXT reads it back");
        qtest_outb(q, P + 6, 0x50);
        qtest_outb(q, P + 7, 0x27);
        ide_wait_ready(q, P);
        qtest_outb(q, PCTL, 0x80);
        CHECK(qtest_inb(q, P + 5) == ((BIG_SECTORS - 1) >> 40 & 0xff) &&
              qtest_inb(q, P + 4) == ((BIG_SECTORS - 1) >> 32 & 0xff) &&
              qtest_inb(q, P + 3) == ((BIG_SECTORS - 1) >> 24 & 0xff),
              "READ NATIVE MAX ADDRESS EXT: the high bytes read through HOB");
        qtest_outb(q, PCTL, 0x00);
        qtest_outb(q, P + 6, 0xa0);
    }

    /* EXECUTE DEVICE DIAGNOSTIC and software reset */
    qtest_outb(q, P + 7, 0x90);
    st = ide_wait_ready(q, P);
    CHECK(!(st & ST_ERR) && qtest_inb(q, P + 1) == 0x01, "EXECUTE DEVICE DIAGNOSTIC: code 0x01, passed");
    qtest_outb(q, PCTL, 0x04);
    CHECK(qtest_inb(q, PCTL) & ST_BSY, "SRST holds the drive busy");
    qtest_outb(q, PCTL, 0x00);
    CHECK(qtest_inb(q, PCTL) == 0x50 && qtest_inb(q, P + 2) == 1 && qtest_inb(q, P + 3) == 1,
          "releasing SRST leaves DRDY and the signature");
    qtest_outb(q, PCTL, 0x02);
    qtest_outb(q, P + 7, 0xe5);
    ide_wait_ready(q, P);
    CHECK(!qtest_get_irq(q, 14), "with nIEN set the drive does not interrupt");
    qtest_outb(q, PCTL, 0x00);
    CHECK(qtest_get_irq(q, 14), "clearing nIEN lets the pending interrupt through");
    qtest_inb(q, P + 7);
}

static uint8_t atapi(uint16_t base, const uint8_t pkt[12], uint8_t *buf, size_t max, uint16_t bcl,
                     size_t *got, int *drqs)
{
    return ide_atapi_drqs(q, base, 0x00, pkt, buf, max, bcl, got, drqs);
}

static uint8_t atapi_unit(uint16_t base, uint8_t sel, const uint8_t pkt[12], uint8_t *buf, size_t max,
                          uint16_t bcl, size_t *got)
{
    return ide_atapi_drqs(q, base, sel, pkt, buf, max, bcl, got, NULL);
}

static uint8_t sense_key_unit(uint16_t base, uint8_t sel, uint8_t *asc)
{
    return ide_atapi_sense(q, base, sel, asc);
}

static uint8_t sense_key(uint16_t base, uint8_t *asc)
{
    return sense_key_unit(base, 0x00, asc);
}

/* A command with no data on unit 1 (slave) of the channel; the sense key it left (0: none). */
static uint8_t sense_after(uint16_t base, const uint8_t pkt[12], uint8_t *asc)
{
    uint8_t st = atapi_unit(base, 0x10, pkt, NULL, 0, 0, NULL);

    *asc = 0;
    if (!(st & ST_ERR))
        return 0;
    return sense_key_unit(base, 0x10, asc);
}

static void check_atapi(void)
{
    uint8_t id[512], b[8192], asc, st;
    char s[41];
    size_t got;
    int drqs;

    CHECK(qtest_inb(q, S + 4) == 0x14 && qtest_inb(q, S + 5) == 0xeb,
          "the CD-ROM carries the ATAPI signature (0x14, 0xeb)");
    qtest_outb(q, S + 6, 0xa0);
    qtest_outb(q, S + 7, 0xec);
    st = ide_wait_ready(q, S);
    CHECK((st & ST_ERR) && qtest_inb(q, S + 4) == 0x14, "IDENTIFY DEVICE on ATAPI aborts and leaves the signature");
    qtest_outb(q, S + 7, 0xa1);
    ide_pio_in(q, S, id, 1, 256, NULL);
    ide_id_string(id, 27, 40, s);
    CHECK(!strcmp(s, "SKIFF DVD-ROM") && (idw(id, 0) >> 14) == 2 && ((idw(id, 0) >> 8) & 0x1f) == 5,
          "IDENTIFY PACKET DEVICE: ATAPI CD-ROM \"%s\"", s);

    st = atapi(S, (uint8_t[12]){ 0x00 }, b, sizeof(b), 0, NULL, NULL);
    CHECK(!(st & ST_ERR), "TEST UNIT READY with a disc: ready");
    st = atapi(S, (uint8_t[12]){ 0x12, 0, 0, 0, 36 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 36 && b[0] == 0x05 && !memcmp(b + 8, "SKIFF", 5),
          "INQUIRY: a CD/DVD device, vendor SKIFF");
    st = atapi(S, (uint8_t[12]){ 0x12, 0, 0, 0, 5 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(got == 6 || got == 5 || got == 4, "INQUIRY honours a short allocation length (%zu)", got);
    st = atapi(S, (uint8_t[12]){ 0x25 }, b, sizeof(b), 8, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 8 && b[2] == (CD_SECTORS - 1) >> 8 && b[3] == ((CD_SECTORS - 1) & 0xff) &&
          b[6] == 0x08, "READ CAPACITY: last block %u, 2048-byte blocks", CD_SECTORS - 1);
    st = atapi(S, (uint8_t[12]){ 0x28, 0, 0, 0, 0, 16, 0, 0, 2 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 4096 && ide_sector_ok(b, 16, 2048) && ide_sector_ok(b + 2048, 17, 2048),
          "READ(10) of sectors 16-17 (where an ISO's volume descriptors are)");
    st = atapi(S, (uint8_t[12]){ 0x28, 0, 0, 0, 0, 16, 0, 0, 2 }, b, sizeof(b), 0x800, &got, &drqs);
    CHECK(!(st & ST_ERR) && got == 4096 && drqs == 2, "a byte count limit of 2048 splits 4096 bytes in 2 DRQs (%d)", drqs);
    st = atapi(S, (uint8_t[12]){ 0x28, 0, 0, 0, 0, 16, 0, 0, 1 }, b, sizeof(b), 1001, &got, &drqs);
    CHECK(!(st & ST_ERR) && got == 2048 && drqs == 3 && ide_sector_ok(b, 16, 2048),
          "an odd byte count limit (1001) is used as 1000 and the data arrive whole (%d DRQs)", drqs);
    st = atapi(S, (uint8_t[12]){ 0xa8, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 1 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 2048 && ide_sector_ok(b, 256, 2048), "READ(12) of sector 256");
    st = atapi(S, (uint8_t[12]){ 0xbe, 0, 0, 0, 0, 5, 0, 0, 1, 0x10 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 2048 && ide_sector_ok(b, 5, 2048), "READ CD (user data) of sector 5");
    st = atapi(S, (uint8_t[12]){ 0x28, 0, 0, 0, 0x04, 0x00, 0, 0, 1 }, b, sizeof(b), 0xfffe, NULL, NULL);
    CHECK((st & ST_ERR) && sense_key(S, &asc) == 5 && asc == 0x21,
          "READ(10) past the disc's end: ILLEGAL REQUEST, LBA out of range");
    st = atapi(S, (uint8_t[12]){ 0x43, 0, 0, 0, 0, 0, 1, 0, 100 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 20 && b[2] == 1 && b[3] == 1 && b[6] == 1 && b[14] == 0xaa &&
          (b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19]) == CD_SECTORS,
          "READ TOC format 0: track 1 and the lead-out at %u", CD_SECTORS);
    st = atapi(S, (uint8_t[12]){ 0x43, 2, 0, 0, 0, 0, 1, 0, 100 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 20 && b[9] == 0 && b[10] == 2 && b[11] == 0, "READ TOC with MSF: track 1 at 00:02:00");
    st = atapi(S, (uint8_t[12]){ 0x43, 0, 1, 0, 0, 0, 0, 0, 100 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 12 && b[2] == 1 && b[3] == 1, "READ TOC format 1: one session");
    st = atapi(S, (uint8_t[12]){ 0x43, 0, 2, 0, 0, 0, 1, 0, 100 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 4 + 4 * 11 && b[7] == 0xa0 && b[18] == 0xa1 && b[29] == 0xa2 && b[40] == 1,
          "READ TOC format 2: points A0, A1, A2 and track 1");
    st = atapi(S, (uint8_t[12]){ 0x43, 0, 0, 0, 0, 0, 5, 0, 100 }, b, sizeof(b), 0xfffe, NULL, NULL);
    CHECK((st & ST_ERR) && sense_key(S, &asc) == 5 && asc == 0x24, "READ TOC from track 5: invalid field");
    st = atapi(S, (uint8_t[12]){ 0x46, 0, 0, 0, 0, 0, 0, 0, 64 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got > 8 && b[6] == 0 && b[7] == 0x08, "GET CONFIGURATION: current profile CD-ROM");
    st = atapi(S, (uint8_t[12]){ 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 8 && b[2] == 4 && (b[5] & 2), "GET EVENT STATUS NOTIFICATION: media class, medium present");
    st = atapi(S, (uint8_t[12]){ 0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8 }, b, sizeof(b), 0xfffe, NULL, NULL);
    CHECK(st & ST_ERR, "GET EVENT STATUS NOTIFICATION without the polled bit is refused");
    st = atapi(S, (uint8_t[12]){ 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 28 && b[8] == 0x2a, "MODE SENSE(10) page 0x2a: the capabilities page");
    st = atapi(S, (uint8_t[12]){ 0x5a, 0, 0x05, 0, 0, 0, 0, 0, 64 }, b, sizeof(b), 0xfffe, NULL, NULL);
    CHECK((st & ST_ERR) && sense_key(S, &asc) == 5, "MODE SENSE of a page we lack: ILLEGAL REQUEST");
    st = atapi(S, (uint8_t[12]){ 0x51, 0, 0, 0, 0, 0, 0, 0, 34 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 34 && b[2] == 0x0e, "READ DISC INFORMATION: a complete disc");
    st = atapi(S, (uint8_t[12]){ 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & ST_ERR) && got == 8, "MECHANISM STATUS");
    st = atapi(S, (uint8_t[12]){ 0xbb, 0, 0xff, 0xff }, b, sizeof(b), 0, NULL, NULL);
    CHECK(!(st & ST_ERR), "SET CD SPEED");
    st = atapi(S, (uint8_t[12]){ 0xff }, b, sizeof(b), 0, NULL, NULL);
    CHECK((st & ST_ERR) && (qtest_inb(q, S + 1) >> 4) == 5, "an unknown opcode: CHECK CONDITION, ILLEGAL REQUEST in the error register");
    CHECK(sense_key(S, &asc) == 5 && asc == 0x20, "REQUEST SENSE: invalid command operation code");
    CHECK(sense_key(S, &asc) == 0, "the sense is reported once");

    /* lock, eject, load */
    atapi(S, (uint8_t[12]){ 0x1e, 0, 0, 0, 1 }, b, sizeof(b), 0, NULL, NULL);
    st = atapi(S, (uint8_t[12]){ 0x1b, 0, 0, 0, 2 }, b, sizeof(b), 0, NULL, NULL);
    CHECK((st & ST_ERR) && sense_key(S, &asc) == 2 && asc == 0x53, "eject while locked: medium removal prevented");
    atapi(S, (uint8_t[12]){ 0x1e, 0, 0, 0, 0 }, b, sizeof(b), 0, NULL, NULL);
    st = atapi(S, (uint8_t[12]){ 0x1b, 0, 0, 0, 2 }, b, sizeof(b), 0, NULL, NULL);
    CHECK(!(st & ST_ERR), "START STOP UNIT ejects once unlocked");
    st = atapi(S, (uint8_t[12]){ 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(b[4] == 3 && (b[5] & 1) && !(b[5] & 2), "the media event says removal, tray open, no medium");
    st = atapi(S, (uint8_t[12]){ 0x00 }, b, sizeof(b), 0, NULL, NULL);
    CHECK((st & ST_ERR) && sense_key(S, &asc) == 2 && asc == 0x3a, "TEST UNIT READY: NOT READY, medium not present");
    atapi(S, (uint8_t[12]){ 0x1b, 0, 0, 0, 3 }, b, sizeof(b), 0, NULL, NULL);
    st = atapi(S, (uint8_t[12]){ 0x00 }, b, sizeof(b), 0, NULL, NULL);
    CHECK((st & ST_ERR) && sense_key(S, &asc) == 6 && asc == 0x28,
          "after loading the disc again: UNIT ATTENTION, medium may have changed");
    st = atapi(S, (uint8_t[12]){ 0x00 }, b, sizeof(b), 0, NULL, NULL);
    CHECK(!(st & ST_ERR), "and then ready");

    /* ATAPI DMA: READ(10) of 2 sectors through the bus master (secondary channel at BM + 8) */
    {
        uint8_t e[8] = { 0 }, mem[4096];
        uint32_t a = BUF;

        memcpy(e, &a, 4);
        e[5] = 0x10;            /* 4096 bytes */
        e[7] = 0x80;
        qtest_memwrite(q, PRD, e, 8);
        qtest_outl(q, BM + 8 + 4, PRD);
        qtest_outb(q, BM + 8 + 2, 0x06);
        qtest_outb(q, BM + 8, 0x08);
        qtest_outb(q, S + 6, 0xa0);
        qtest_outb(q, S + 1, 1);        /* DMA */
        qtest_outb(q, S + 7, 0xa0);
        ide_wait_ready(q, S);
        {
            uint8_t pkt[12] = { 0x28, 0, 0, 0, 0, 32, 0, 0, 2 };

            for (int i = 0; i < 6; i++)
                qtest_outw(q, S, pkt[2 * i] | pkt[2 * i + 1] << 8);
        }
        qtest_outb(q, BM + 8, 0x09);
        st = ide_wait_ready(q, S);
        qtest_memread(q, BUF, mem, 4096);
        CHECK(!(st & ST_ERR) && ide_sector_ok(mem, 32, 2048) && ide_sector_ok(mem + 2048, 33, 2048) &&
              (qtest_inb(q, BM + 8 + 2) & 0x07) == 0x04, "ATAPI READ(10) by DMA lands in the PRD buffer");
        qtest_outb(q, BM + 8, 0);
        qtest_inb(q, S + 7);
    }
}

int main(void)
{
    char *disk = ide_make_image(".disk", DISK_SECTORS * 512ULL, 512, DISK_SECTORS);
    char *big = ide_make_image(".big", BIG_SECTORS * 512, 512, 0);
    char *cd = ide_make_image(".iso", CD_SECTORS * 2048ULL, 2048, CD_SECTORS);
    uint8_t b[64], asc;

    char *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1;

    q = qtest_start("-m 64 -drive file=%s,format=raw,if=ide,index=0,discard=unmap -drive file=%s,format=raw,if=ide,index=1,cache=writethrough "
                    "-drive file=%s,if=ide,index=2,media=cdrom -drive if=ide,index=3,media=cdrom "
                    "-monitor unix:%s", disk, big, cd, mon_path);
    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "the monitor answers on its socket");
    qtest_irq_intercept(q);
    CHECK(pci_cfg_readl(q, IDE, 0) == 0x70108086 && pci_cfg_readl(q, IDE, 8) >> 8 == 0x010180,
          "01.1 is the PIIX3 IDE controller, legacy mode, bus master capable");
    CHECK(qtest_inb(q, P + 7) == 0xff, "before IDETIM enables it the channel does not decode");
    pci_cfg_writew(q, IDE, 0x40, 0x8000);
    pci_cfg_writew(q, IDE, 0x42, 0x8000);
    pci_cfg_writel(q, IDE, 0x20, BM);
    pci_cfg_writew(q, IDE, 4, 0x0005);
    CHECK(pci_cfg_readw(q, IDE, 0x40) == 0x8000, "IDETIM reads back its decode enable");

    check_ata(big);
    check_atapi();

    /* the empty CD-ROM drive at the secondary slave */
    qtest_outb(q, S + 6, 0xb0);
    qtest_outb(q, S + 7, 0x08);
    ide_wait_ready(q, S);
    CHECK(qtest_inb(q, S + 4) == 0x14 && qtest_inb(q, S + 5) == 0xeb,
          "DEVICE RESET leaves an empty CD-ROM drive's ATAPI signature");
    qtest_outb(q, S + 1, 0);
    {
        uint8_t pkt[12] = { 0 };

        qtest_outb(q, S + 6, 0xb0);
        qtest_outb(q, S + 4, 0xfe);
        qtest_outb(q, S + 5, 0xff);
        qtest_outb(q, S + 7, 0xa0);
        ide_wait_ready(q, S);
        for (int i = 0; i < 6; i++)
            qtest_outw(q, S, pkt[2 * i] | pkt[2 * i + 1] << 8);
        CHECK(ide_wait_ready(q, S) & ST_ERR, "TEST UNIT READY with no disc fails");
        qtest_outb(q, S + 6, 0xb0);
        memset(pkt, 0, sizeof(pkt));
        pkt[0] = 0x03;
        pkt[4] = 18;
        qtest_outb(q, S + 7, 0xa0);
        ide_wait_ready(q, S);
        for (int i = 0; i < 6; i++)
            qtest_outw(q, S, pkt[2 * i] | pkt[2 * i + 1] << 8);
        ide_wait_ready(q, S);
        for (int i = 0; i < 9; i++) {
            uint16_t v = qtest_inw(q, S);

            memcpy(b + 2 * i, &v, 2);
        }
        asc = b[12];
        CHECK((b[2] & 0x0f) == 2 && asc == 0x3a, "its sense: NOT READY, medium not present");
        ide_wait_ready(q, S);
        qtest_inb(q, S + 7);
    }
    /* the monitor puts a disc in the empty drive, and takes it out */
    {
        const char *out = qtest_hmp(mon, "info block");
        uint8_t pkt[12] = { 0x25 }, cap[8] = { 0 };
        size_t got = 0;

        CHECK(out && strstr(out, "ide0-hd0: ") && strstr(out, "ide1-cd0: ") &&
              strstr(out, "ide1-cd1: [not inserted]"), "info block names the drives as QEMU does");
        out = qtest_hmp(mon, "change ide1-cd1 %s", cd);
        CHECK(out && !*out, "change ide1-cd1 FILE: no complaint");
        qtest_outb(q, S + 6, 0xb0);
        CHECK(sense_after(S, (uint8_t[12]){ 0x00 }, &asc) == 6 && asc == 0x28,
              "the guest's next TEST UNIT READY: UNIT ATTENTION, medium may have changed");
        CHECK(sense_after(S, (uint8_t[12]){ 0x00 }, &asc) == 0, "then the drive is ready");
        atapi_unit(S, 0x10, pkt, cap, sizeof(cap), 8, &got);
        CHECK(got == 8 && (cap[2] << 8 | cap[3]) == CD_SECTORS - 1,
              "READ CAPACITY on the secondary slave sees the new disc");
        out = qtest_hmp(mon, "info block");
        CHECK(out && strstr(out, "ide1-cd1: ") && !strstr(out, "[not inserted]"), "info block shows it");
        CHECK(out && strstr(out, "    Cache mode:       writeback\n"), "with its cache mode, in QEMU's words");
        CHECK(out && strstr(out, "ide0-hd1: ") && strstr(out, "    Cache mode:       writethrough\n"),
              "and cache=writethrough's as writethrough");
        out = qtest_hmp(mon, "eject ide1-cd1");
        CHECK(out && !*out && sense_after(S, (uint8_t[12]){ 0x00 }, &asc) == 6,
              "eject: the guest hears of the change");
        CHECK(sense_after(S, (uint8_t[12]){ 0x00 }, &asc) == 2 && asc == 0x3a,
              "and then: NOT READY, medium not present");
        out = qtest_hmp(mon, "info block");
        CHECK(out && strstr(out, "ide1-cd1: [not inserted]\n    Attached to:      ide-cd\n    Removable device: not locked, tray open"),
              "info block: the tray stands open after eject, as QEMU's");
        out = qtest_hmp(mon, "change ide1-cd1 %s", cd);
        out = qtest_hmp(mon, "info block");
        CHECK(out && strstr(out, "ide1-cd1: ") && strstr(out, "tray closed") && !strstr(out, "tray open"),
              "and change closes it on the new disc");
        CHECK(sense_after(S, (uint8_t[12]){ 0x00 }, &asc) == 6, "which the guest hears of");
        CHECK(qtest_hmp(mon, "eject ide1-cd1") != NULL, "(eject it again)");
        out = qtest_hmp(mon, "change ide0-hd0 %s", cd);
        CHECK(out && strstr(out, "Device 'ide0-hd0' is not removable"), "change on a hard disk is refused, in QEMU's words");
        out = qtest_hmp(mon, "change ide1-cd1 /nonexistent/disc.iso");
        CHECK(out && strstr(out, "'/nonexistent/disc.iso': no such file"),
              "a missing image file is named, and the drive stays empty");
        out = qtest_hmp(mon, "info blockstats");
        CHECK(out && strstr(out, "ide0-hd0: rd_bytes=") && !strstr(out, "ide0-hd0: rd_bytes=0 "),
              "info blockstats counts the disk's reads");
    }
    qtest_outb(q, S + 6, 0xa0);

    /* nobody home */
    pci_cfg_writew(q, IDE, 4, 0x0005);
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "the IDE controller's state saves and loads back");
    for (int port = 0; port < 8; port++)
        for (int v = 0; v < 256; v += 37) {
            qtest_outb(q, P + port, v);
            qtest_outb(q, BM + port, v);
        }
    CHECK(qtest_cmd(q, "endianness") != NULL, "arbitrary register writes do no harm");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    close(mon);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    unlink(disk);
    unlink(big);
    unlink(cd);
    free(disk);
    free(big);
    free(cd);
    return tap_done();
}
