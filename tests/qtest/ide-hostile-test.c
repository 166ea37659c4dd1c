/* ide-hostile-test.c: the IDE against a guest and a host that pull the ground away: a DMA buffer rewritten after its check, a disc ejected under a read, a quit while DMA targets video memory, hostile state streams */
#include "tests/qtest/libide.h"
#include "tests/unit/tap.h"

#include <stdio.h>

#define BM 0xc000           /* bus master registers (BAR 4) */
#define PRD 0x10000         /* the PRD table in guest RAM */
#define BUF 0x20000         /* DMA buffers */
#define VRAM 0xe0000000u    /* where the test puts the VGA's framebuffer BAR */
#define CD_SECTORS 1024

static struct qtest *q;

static bool file_head(const char *path, uint8_t *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    bool ok = fd >= 0 && pread(fd, buf, len, 0) == (ssize_t)len;

    if (fd >= 0)
        close(fd);
    return ok;
}

static bool file_has(const char *path, const char *text)
{
    char buf[8192] = { 0 };
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    if (fd >= 0)
        close(fd);
    return n > 0 && strstr(buf, text);
}

/* A qcow2 header's first bytes: what the format probe looks for (magic, version 3). */
static const uint8_t qcow2_head[8] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

/*
 * 1. A probed raw image (no format=): a guest's write to sector 0 is checked so that the image
 * cannot turn into a qcow2 whose backing file the guest names (CVE-2008-2004). The guest changes
 * its DMA buffer after the check and before the data is written (a test breakpoint holds the
 * request there): what reaches the file must be what was checked.
 */
static void check_probed_raw(void)
{
    char *disk = ide_make_image(".raw", 1 << 20, 512, 0);
    char *errlog = qtest_tmp_path(".err");
    uint8_t benign[512], head[512], bmst, st;
    uint32_t addr = BUF, len = 512;
    bool read_ok;

    qtest_stderr_path = errlog;
    q = qtest_start("-m 64 -drive file=%s,if=ide,index=0", disk);
    qtest_stderr_path = NULL;
    ide_pci_setup(q, BM);
    CHECK(file_has(errlog, "Image format was not specified for '") &&
          file_has(errlog, "and probing guessed raw. Automatically detecting the format is dangerous for "
                           "raw images, write operations on block 0 will be restricted. Specify the 'raw' "
                           "format explicitly to remove the restrictions."),
          "a raw image opened without format= gets QEMU's warning");

    /* the plain attempt: refused, and the disk keeps its zeros */
    qtest_memwrite(q, BUF, qcow2_head, sizeof(qcow2_head));
    ide_bm_prd(q, BM, PRD, 1, &addr, &len, true);
    ide_set_lba28(q, IDE_P, 0, 0, 1);
    st = ide_dma_cmd(q, IDE_P, BM, 0xca, false, &bmst);
    read_ok = file_head(disk, head, sizeof(head));
    CHECK((st & IDE_ST_ERR) && read_ok && head[0] == 0,
          "a WRITE DMA of a qcow2 header to sector 0 fails, and the image keeps sector 0 (0x%02x)", st);

    /* the race: checked while benign, rewritten before it is written */
    memset(benign, 0xb5, sizeof(benign));
    qtest_memwrite(q, BUF, benign, sizeof(benign));
    ide_bm_prd(q, BM, PRD, 1, &addr, &len, true);
    ide_set_lba28(q, IDE_P, 0, 0, 1);
    CHECK(qtest_cmd(q, "block_break raw-sector0-probed") != NULL, "(a breakpoint after the check)");
    ide_dma_issue(q, IDE_P, BM, 0xca, false);
    CHECK(qtest_cmd(q, "block_wait_break") != NULL, "the write stops between its check and the write");
    qtest_memwrite(q, BUF, qcow2_head, sizeof(qcow2_head));
    qtest_cmd(q, "block_resume");
    st = ide_wait_ready(q, IDE_P);
    qtest_outb(q, BM, 0);
    qtest_inb(q, IDE_P + 7);
    read_ok = file_head(disk, head, sizeof(head));
    CHECK(read_ok && memcmp(head, qcow2_head, 4) != 0,
          "a guest that rewrites its buffer during the DMA cannot plant a qcow2 header (file starts %02x%02x%02x%02x)",
          head[0], head[1], head[2], head[3]);
    CHECK(!(st & IDE_ST_ERR) && !memcmp(head, benign, sizeof(benign)),
          "the sector written is the one that was checked (status 0x%02x)", st);
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    unlink(disk);
    unlink(errlog);
    free(disk);
    free(errlog);
}

static uint8_t atapi_sense_key(uint16_t base, uint8_t *asc)
{
    return ide_atapi_sense(q, base, 0x00, asc);
}

/* Send a PACKET command's 12 bytes (PIO or DMA per `dma`) to the secondary master; no data phase here. */
static void atapi_send(const uint8_t pkt[12], bool dma, uint16_t bcl)
{
    qtest_outb(q, IDE_S + 6, 0xa0);
    qtest_outb(q, IDE_S + 1, dma);
    qtest_outb(q, IDE_S + 4, bcl);
    qtest_outb(q, IDE_S + 5, bcl >> 8);
    qtest_outb(q, IDE_S + 7, 0xa0);
    ide_wait_ready(q, IDE_S);
    for (int i = 0; i < 6; i++)
        qtest_outw(q, IDE_S, pkt[2 * i] | pkt[2 * i + 1] << 8);
}

/* The unit attention a new disc brings: taken by TEST UNIT READY, its sense read. */
static void take_unit_attention(void)
{
    uint8_t asc;

    ide_atapi_drqs(q, IDE_S, 0, (uint8_t[12]){ 0x00 }, NULL, 0, 0, NULL, NULL);
    atapi_sense_key(IDE_S, &asc);
}

static bool sense_is_no_medium(void)
{
    uint8_t asc = 0, key = atapi_sense_key(IDE_S, &asc);

    return key == 2 && asc == 0x3a;
}

/*
 * 2. The monitor's eject while the guest's CD read is under way: the command in progress ends
 * with NOT READY / MEDIUM NOT PRESENT, and nothing reads from a drive that has no disc.
 */
static void check_eject_pending(void)
{
    char *cd = ide_make_image(".iso", CD_SECTORS * 2048ULL, 2048, CD_SECTORS);
    char *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1;
    uint8_t pkt[12] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 2 }, b[2048], st;
    uint32_t addr = BUF, len = 4096;
    const char *out;
    size_t got;
    bool zeros;

    q = qtest_start("-m 64 -drive file=%s,if=ide,index=2,media=cdrom,format=raw -monitor unix:%s", cd, mon_path);
    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "the monitor answers");
    ide_pci_setup(q, BM);
    take_unit_attention();

    /* a DMA READ(10) waits for the bus master; the disc goes (the guest had locked the tray) */
    ide_atapi_drqs(q, IDE_S, 0, (uint8_t[12]){ 0x1e, 0, 0, 0, 1 }, NULL, 0, 0, NULL, NULL);
    ide_bm_prd(q, BM + 8, PRD, 1, &addr, &len, true);
    qtest_cmd(q, "memset 0x%x 4096 0", BUF);
    qtest_outb(q, BM + 8 + 2, 0x06);
    qtest_outb(q, BM + 8, 0x08);
    atapi_send(pkt, true, 0);
    out = qtest_hmp(mon, "eject ide1-cd0");
    CHECK(out && strstr(out, "locked"), "eject of a locked tray is refused without -f");
    out = qtest_hmp(mon, "eject -f ide1-cd0");
    CHECK(out && !*out, "eject -f takes the disc while a DMA read waits for the bus master");
    st = ide_wait_ready(q, IDE_S);
    CHECK((st & IDE_ST_ERR) && !(st & IDE_ST_DRQ), "the read ends in error at once (status 0x%02x)", st);
    qtest_outb(q, BM + 8, 0x09);        /* the guest starts the bus master anyway */
    st = ide_wait_ready(q, IDE_S);
    qtest_outb(q, BM + 8, 0);
    qtest_memread(q, BUF, b, sizeof(b));
    zeros = true;
    for (size_t i = 0; i < sizeof(b); i++)
        zeros &= b[i] == 0;
    CHECK(qtest_cmd(q, "endianness") != NULL && zeros,
          "starting the bus master then moves nothing, and skiff is still there");
    qtest_inb(q, IDE_S + 7);
    CHECK(sense_is_no_medium(), "the sense: NOT READY, medium not present");

    /* a PIO READ(10) of 100 sectors (more than one 64-sector buffer): the disc goes after the first DRQ */
    out = qtest_hmp(mon, "change ide1-cd0 %s", cd);
    take_unit_attention();
    pkt[8] = 100;
    atapi_send(pkt, false, 2048);
    st = ide_wait_ready(q, IDE_S);
    got = 0;
    for (int i = 0; i < 1024 && (st & IDE_ST_DRQ); i++) {
        uint16_t v = qtest_inw(q, IDE_S);

        memcpy(b + 2 * i, &v, 2);
        got += 2;
    }
    CHECK(got == 2048 && ide_sector_ok(b, 16, 2048), "the first 2048 bytes of the read arrive");
    out = qtest_hmp(mon, "eject ide1-cd0");
    CHECK(out && !*out, "eject with a PIO read under way");
    st = ide_wait_ready(q, IDE_S);
    for (int i = 0; i < 64 * 1024 && (qtest_inb(q, IDE_S + 0x206) & IDE_ST_DRQ); i++)
        qtest_inw(q, IDE_S);
    st = ide_wait_ready(q, IDE_S);
    CHECK(qtest_cmd(q, "endianness") != NULL && (st & IDE_ST_ERR) && !(st & IDE_ST_DRQ),
          "the read ends in error instead of reading a drive with no disc (status 0x%02x)", st);
    qtest_inb(q, IDE_S + 7);
    CHECK(sense_is_no_medium(), "with NOT READY, medium not present");

    /* a read left half done must not run on into the next packet command */
    out = qtest_hmp(mon, "change ide1-cd0 %s", cd);
    take_unit_attention();
    atapi_send(pkt, false, 2048);
    ide_wait_ready(q, IDE_S);
    for (int i = 0; i < 1024; i++)
        qtest_inw(q, IDE_S);
    /* the guest gives up on the read and asks INQUIRY instead */
    st = ide_atapi_drqs(q, IDE_S, 0, (uint8_t[12]){ 0x12, 0, 0, 0, 36 }, b, sizeof(b), 0xfffe, &got, NULL);
    CHECK(!(st & IDE_ST_ERR) && got == 36 && !memcmp(b + 8, "SKIFF", 5) && !(st & IDE_ST_DRQ),
          "an INQUIRY after an abandoned READ returns its 36 bytes and ends (status 0x%02x, %zu bytes)", st, got);
    CHECK(!(ide_wait_ready(q, IDE_S) & IDE_ST_DRQ), "no sectors of the old read follow it");

    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    close(mon);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    unlink(cd);
    free(cd);
}

/*
 * 7. Quitting while a DMA read targets the VGA's video memory: every device's I/O drains before
 * any device goes, so the data never lands in memory that was already unmapped. The read is
 * held in its worker (a test breakpoint) until the quit drains it.
 */
/* skiff-img, beside the skiff under test */
static char *img_tool(void)
{
    const char *bin = getenv("SKIFF");
    const char *slash = bin ? strrchr(bin, '/') : NULL;
    char *path;

    if (!slash)
        return strdup("./skiff-img");
    path = malloc(slash - bin + sizeof("/skiff-img"));
    memcpy(path, bin, slash - bin);
    strcpy(path + (slash - bin), "/skiff-img");
    return path;
}

static void check_quit_dma_vram(void)
{
    char *raw = ide_make_image(".raw", 8 << 20, 512, 2048), *disk = qtest_tmp_path(".qcow2");
    char *tool = img_tool(), cmd[4096];
    uint32_t addr[4], len[4];
    int status;

    /* compressed clusters: their data is inflated and copied by the worker itself */
    snprintf(cmd, sizeof(cmd), "%s convert -q -c -O qcow2 %s %s", tool, raw, disk);
    CHECK(system(cmd) == 0, "(a compressed qcow2 disk: %s)", cmd);
    q = qtest_start("-m 64 -drive file=%s,if=ide,index=0,format=qcow2 -device VGA,romfile=,addr=02.0", disk);
    ide_pci_setup(q, BM);
    pci_cfg_writel(q, PCI_DEVFN(2, 0), 0x10, VRAM);
    pci_cfg_writew(q, PCI_DEVFN(2, 0), 4, 0x0002);
    qtest_writel(q, VRAM + 0x1000, 0x12345678);
    CHECK(qtest_readl(q, VRAM + 0x1000) == 0x12345678, "the framebuffer is mapped where the test put it");
    for (int i = 0; i < 4; i++) {
        addr[i] = VRAM + i * 0x10000;
        len[i] = 0;     /* 64 KiB each */
    }
    ide_bm_prd(q, BM, PRD, 4, addr, len, true);
    ide_set_lba28(q, IDE_P, 0, 0, 0);   /* 256 sectors: 128 KiB */
    CHECK(qtest_cmd(q, "block_break request") != NULL, "(a breakpoint where a worker takes a request)");
    ide_dma_issue(q, IDE_P, BM, 0xc8, true);
    CHECK(qtest_cmd(q, "block_wait_break") != NULL, "a 128 KiB READ DMA into video memory is in flight");
    status = qtest_quit(q);
    CHECK(status == 0, "quitting drains it before the video memory goes: skiff exits cleanly (status %d)", status);
    unlink(disk);
    unlink(raw);
    free(disk);
    free(raw);
    free(tool);
}

/*
 * 4. A state stream (an incoming migration) is bounded as if a guest had written it: a TRIM whose
 * range count overflows the 128 KiB buffer when the bus master starts, an ATAPI data-in whose
 * window runs past the buffer. Each is refused with an error, and the device goes on as it was.
 */
static void check_hostile_state(void)
{
    char *disk = ide_make_image(".raw", 8 << 20, 512, 16);
    char *cd = ide_make_image(".iso", CD_SECTORS * 2048ULL, 2048, CD_SECTORS);
    uint32_t addr[512], len[512];
    uint8_t b[512], bmst, st;
    const char *r;
    bool zeros = true;

    q = qtest_start("-m 64 -drive file=%s,if=ide,index=0,format=raw "
                    "-drive file=%s,if=ide,index=2,media=cdrom,format=raw", disk, cd);
    ide_pci_setup(q, BM);
    r = qtest_cmd(q, "vmstate_load_patched piix3-ide ch[0].drive[0].bogus=1");
    CHECK(r == NULL, "a field that is not in the stream cannot be patched (the test's own check)");
    r = qtest_cmd(q, "vmstate_load_patched piix3-ide");
    CHECK(r != NULL, "the controller's own state loads back into it");

    /* TRIM: 65536 blocks of ranges, DMA pending; a PRD table that covers all 32 MiB */
    for (int i = 0; i < 512; i++) {
        addr[i] = BUF;
        len[i] = 0;
    }
    for (int i = 0; i < 512; i += 16)
        ide_bm_prd(q, BM, PRD + 8 * i, 16, addr + i, len + i, i == 512 - 16);
    qtest_outl(q, BM + 4, PRD);
    r = qtest_cmd(q, "vmstate_load_patched piix3-ide ch[0].cur=0 ch[0].drive[0].cmd=6 "
                     "ch[0].drive[0].feature=1 ch[0].drive[0].nsectors_left=65536 "
                     "ch[0].drive[0].dma_pending=1 ch[0].drive[0].dma_to_mem=0 ch[0].drive[0].status=0x58");
    CHECK(r == NULL, "a stream with a pending TRIM of 65536 range blocks (32 MiB into a 128 KiB buffer) is refused");
    qtest_outb(q, BM, 0x01);
    st = ide_wait_ready(q, IDE_P);
    bmst = qtest_inb(q, BM + 2);
    qtest_outb(q, BM, 0);
    CHECK(qtest_cmd(q, "endianness") != NULL && !(st & IDE_ST_DRQ),
          "starting the bus master then does nothing harmful (status 0x%02x, bus master 0x%02x)", st, bmst);
    ide_set_lba28(q, IDE_P, 0, 3, 1);
    qtest_outb(q, IDE_P + 7, 0x20);
    ide_pio_in(q, IDE_P, b, 1, 256, NULL);
    CHECK(ide_sector_ok(b, 3, 512), "and the disk reads on as before");

    /* ATAPI data-in: the window at the buffer's end and 1 MiB still to send */
    r = qtest_cmd(q, "vmstate_load_patched piix3-ide ch[1].cur=0 ch[1].drive[0].cmd=0xa0 "
                     "ch[1].drive[0].pio_next=5 ch[1].drive[0].status=0x58 ch[1].drive[0].io_pos=131070 "
                     "ch[1].drive[0].io_end=131072 ch[1].drive[0].atapi_total=0x100000 "
                     "ch[1].drive[0].byte_limit=0xfffe");
    CHECK(r == NULL, "a stream whose ATAPI data-in would run past the 128 KiB buffer is refused");
    qtest_outb(q, IDE_S + 6, 0xa0);
    for (int i = 0; i < 256 && (qtest_inb(q, IDE_S + 0x206) & IDE_ST_DRQ); i++) {
        uint16_t v = qtest_inw(q, IDE_S);

        zeros &= v == 0;
    }
    CHECK(qtest_cmd(q, "endianness") != NULL, "reading the data port then is harmless");
    r = qtest_cmd(q, "vmstate_load_patched piix3-ide ch[0].drive[0].pio_next=3 ch[0].drive[0].status=0x58 "
                     "ch[0].drive[0].cmd=0x30 ch[0].drive[0].buf_sectors=200 ch[0].drive[0].io_pos=0 "
                     "ch[0].drive[0].io_end=512 ch[0].drive[0].nsectors_left=300 ch[0].drive[0].pio_block=1");
    CHECK(r == NULL, "a PIO write whose window lies before the sectors already gathered is refused");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    (void)zeros;
    unlink(disk);
    unlink(cd);
    free(disk);
    free(cd);
}

int main(void)
{
    check_probed_raw();
    check_eject_pending();
    check_quit_dma_vram();
    check_hostile_state();
    return tap_done();
}
