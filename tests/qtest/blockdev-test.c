/* blockdev-test.c: named drives (-blockdev nodes, -drive if=none) put on the IDE buses by -device ide-hd|ide-cd, as libvirt writes them, read back through the disk's registers */
#include "tests/qtest/libide.h"
#include "tests/unit/tap.h"

#include <stdio.h>

static struct qtest *q;

static void identify(uint16_t base, uint8_t sel, uint8_t *id)
{
    qtest_outb(q, base + 6, 0xa0 | sel);
    qtest_outb(q, base + 7, 0xec);
    ide_pio_in(q, base, id, 1, 256, NULL);
}

static bool read_sector(uint16_t base, int unit, uint32_t lba, uint8_t *buf)
{
    ide_set_lba28(q, base, unit, lba, 1);
    qtest_outb(q, base + 7, 0x20);
    return !(ide_pio_in(q, base, buf, 1, 256, NULL) & IDE_ST_ERR);
}

/* skiff-img, beside the skiff under test */
static void img_convert_qcow2(const char *raw, const char *qcow2)
{
    const char *bin = getenv("SKIFF");
    const char *slash = bin ? strrchr(bin, '/') : NULL;
    char cmd[4096];

    snprintf(cmd, sizeof(cmd), "%.*s%sskiff-img convert -q -O qcow2 %s %s", slash ? (int)(slash - bin) : 0,
             bin ? bin : "", slash ? "/" : "./", raw, qcow2);
    if (system(cmd) != 0)
        exit(2);
}

int main(void)
{
    char *a = ide_make_image(".a.raw", 1 << 20, 512, 64), *b = ide_make_image(".b.raw", 2 << 20, 512, 64);
    char *qraw = ide_make_image(".c.raw", 4 << 20, 512, 64), *qc = qtest_tmp_path(".c.qcow2");
    char *cd = ide_make_image(".iso", 1 << 20, 2048, 512);
    char *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1;
    uint8_t buf[512], id[512];
    char s[41];
    const char *out;

    img_convert_qcow2(qraw, qc);
    /* libvirt's shape: a file node and a format node over it, each drive placed by its device */
    q = qtest_start("-m 64 -blockdev driver=file,node-name=a-storage,filename=%s "
                    "-blockdev driver=raw,node-name=a-format,file=a-storage "
                    "-device ide-hd,drive=a-format,bus=ide.0,unit=1,serial=SERIAL-A,model=Disk-A,bootindex=2 "
                    "-blockdev driver=qcow2,node-name=c-format,file.driver=file,file.filename=%s,read-only=on "
                    "-device ide-hd,drive=c-format,bus=ide.1,unit=0 "
                    "-drive if=none,id=d-b,file=%s,format=raw "
                    "-device ide-hd,drive=d-b,id=disk-b "
                    "-drive if=none,id=cd0,file=%s,format=raw -device ide-cd,drive=cd0,bus=ide.1 "
                    "-monitor unix:%s", a, qc, b, cd, mon_path);
    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "the monitor answers");
    ide_pci_setup(q, 0xc000);

    identify(IDE_P, 0x10, id);
    ide_id_string(id, 10, 20, s);
    CHECK(!strcmp(s, "SERIAL-A"), "the -blockdev raw node is the primary slave, with its serial (%s)", s);
    ide_id_string(id, 27, 40, s);
    CHECK(!strcmp(s, "Disk-A"), "and its model (%s)", s);
    CHECK(read_sector(IDE_P, 1, 7, buf) && ide_sector_ok(buf, 7, 512), "its sector 7 reads through the file node");
    CHECK(read_sector(IDE_P, 0, 9, buf) && ide_sector_ok(buf, 9, 512),
          "-device ide-hd without bus= or unit= takes the first free place (primary master)");
    identify(IDE_P, 0x00, id);
    CHECK((id[120] | id[121] << 8 | id[122] << 16 | (uint32_t)id[123] << 24) == 4096,
          "that is the 2 MiB drive d-b (4096 sectors)");
    CHECK(read_sector(IDE_S, 0, 33, buf) && ide_sector_ok(buf, 33, 512), "the qcow2 node reads at the secondary master");
    ide_set_lba28(q, IDE_S, 0, 33, 1);
    qtest_outb(q, IDE_S + 7, 0x30);
    CHECK(ide_pio_out(q, IDE_S, buf, 1, 256) & IDE_ST_ERR, "read-only=on: a write to it fails");

    out = qtest_hmp(mon, "info block");
    CHECK(out && strstr(out, "d-b: ") && strstr(out, "cd0: ") && strstr(out, "a-format: ") &&
          strstr(out, "c-format: ") && !strstr(out, "a-storage"),
          "info block names each drive by its id (a file node read through a format node is not listed)");
    out = qtest_hmp(mon, "eject cd0");
    CHECK(out && !*out, "the monitor ejects the ide-cd's disc by its drive's name");
    out = qtest_hmp(mon, "info block");
    CHECK(out && strstr(out, "cd0: [not inserted]"), "which info block shows");
    out = qtest_hmp(mon, "change cd0 %s raw", cd);
    CHECK(out && !*out, "and puts it back");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");

    /* the boot order the firmware gets follows bootindex: checked in t-seabios with SeaBIOS */
    close(mon);
    close(mon_listen);
    unlink(mon_path);
    unlink(a);
    unlink(b);
    unlink(qraw);
    unlink(qc);
    unlink(cd);
    free(mon_path);
    free(a);
    free(b);
    free(qraw);
    free(qc);
    free(cd);
    return tap_done();
}
