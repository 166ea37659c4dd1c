/* ide-hostile-test.c: the IDE against a guest and a host that pull the ground away: a DMA buffer rewritten after its check */
#include "tests/qtest/libide.h"
#include "tests/unit/tap.h"

#include <stdio.h>

#define BM 0xc000           /* bus master registers (BAR 4) */
#define PRD 0x10000         /* the PRD table in guest RAM */
#define BUF 0x20000         /* DMA buffers */

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

int main(void)
{
    check_probed_raw();
    return tap_done();
}
