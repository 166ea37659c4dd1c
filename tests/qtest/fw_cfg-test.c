/* fw_cfg-test.c: fw_cfg through both interfaces (ports and DMA), bad DMA requests, the ACPI table-loader run as firmware runs it, and -kernel handed to firmware */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEL 0x510
#define DATA 0x511
#define DMA_HI 0x514
#define DMA_LO 0x518

#define DESC 0x10000        /* where the test puts DMA descriptors */
#define BUF 0x20000         /* and the buffers */

static void cfg_read(struct qtest *q, uint16_t key, void *buf, size_t len)
{
    qtest_outw(q, SEL, key);
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = qtest_inb(q, DATA);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Run one DMA request; returns the control word the device wrote back. */
static uint32_t dma(struct qtest *q, uint32_t control, uint32_t length, uint64_t addr)
{
    uint8_t d[16];

    for (int i = 0; i < 4; i++) {
        d[i] = control >> (24 - 8 * i);
        d[4 + i] = length >> (24 - 8 * i);
    }
    for (int i = 0; i < 8; i++)
        d[8 + i] = addr >> (56 - 8 * i);
    qtest_memwrite(q, DESC, d, sizeof(d));
    qtest_outl(q, DMA_HI, 0);
    qtest_outl(q, DMA_LO, __builtin_bswap32(DESC));
    qtest_memread(q, DESC, d, 4);
    return be32(d);
}

struct file {
    char name[57];
    uint16_t key;
    uint32_t size;
};

static int find_files(struct qtest *q, struct file *f, int max)
{
    uint8_t c[4], e[64];
    uint32_t n;

    cfg_read(q, 0x19, c, 4);
    n = be32(c);
    for (uint32_t i = 0; i < n && (int)i < max; i++) {
        /* the directory continues where the count ended */
        for (int k = 0; k < 64; k++)
            e[k] = qtest_inb(q, DATA);
        f[i].size = be32(e);
        f[i].key = e[4] << 8 | e[5];
        memcpy(f[i].name, e + 8, 56);
        f[i].name[56] = 0;
    }
    return n;
}

static const struct file *file_by_name(const struct file *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return &f[i];
    return NULL;
}

static uint8_t *file_dma(struct qtest *q, const struct file *f)
{
    uint8_t *b = malloc(f->size + 1);

    dma(q, (uint32_t)f->key << 16 | 0x08 | 0x02, f->size, BUF);
    qtest_memread(q, BUF, b, f->size);
    return b;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

/* Run etc/table-loader as SeaBIOS does, with the blobs placed at made-up addresses. */
static void check_table_loader(struct qtest *q, const struct file *files, int nfiles)
{
    const struct file *lf = file_by_name(files, nfiles, "etc/table-loader");
    struct blob { char name[57]; uint8_t *data; uint32_t size; uint64_t addr; uint32_t align; uint8_t zone; } blobs[4];
    int nb = 0, allocs = 0, ptrs = 0, sums = 0;
    bool ok = true;
    uint8_t *script;

    CHECK(lf && lf->size % 128 == 0 && lf->size > 0, "etc/table-loader holds 128-byte commands");
    if (!lf)
        return;
    script = file_dma(q, lf);
    for (uint32_t off = 0; off < lf->size; off += 128) {
        uint8_t *c = script + off;
        uint32_t cmd = le32(c);

        if (cmd == 1) {
            const struct file *bf;

            allocs++;
            if (nb == 4) {
                ok = false;
                continue;
            }
            memcpy(blobs[nb].name, c + 4, 56);
            blobs[nb].name[56] = 0;
            blobs[nb].align = le32(c + 60);
            blobs[nb].zone = c[64];
            bf = file_by_name(files, nfiles, blobs[nb].name);
            if (!bf) {
                ok = false;
                continue;
            }
            blobs[nb].data = file_dma(q, bf);
            blobs[nb].size = bf->size;
            blobs[nb].addr = blobs[nb].zone == 2 ? 0xf0000 : 0x100000 * (nb + 1);
            nb++;
        } else if (cmd == 2) {
            char dst[57], src[57];
            struct blob *d = NULL, *s = NULL;
            uint32_t poff = le32(c + 116);
            uint8_t size = c[120];

            ptrs++;
            memcpy(dst, c + 4, 56);
            memcpy(src, c + 60, 56);
            dst[56] = src[56] = 0;
            for (int i = 0; i < nb; i++) {
                if (!strcmp(blobs[i].name, dst))
                    d = &blobs[i];
                if (!strcmp(blobs[i].name, src))
                    s = &blobs[i];
            }
            if (!d || !s || (size != 4 && size != 8) || poff + size > d->size) {
                ok = false;
                continue;
            }
            if (size == 4) {
                uint32_t v = le32(d->data + poff) + (uint32_t)s->addr;

                memcpy(d->data + poff, &v, 4);
            } else {
                uint64_t v;

                memcpy(&v, d->data + poff, 8);
                v += s->addr;
                memcpy(d->data + poff, &v, 8);
            }
        } else if (cmd == 3) {
            char name[57];
            struct blob *b = NULL;
            uint32_t csum = le32(c + 60), start = le32(c + 64), len = le32(c + 68);

            sums++;
            memcpy(name, c + 4, 56);
            name[56] = 0;
            for (int i = 0; i < nb; i++)
                if (!strcmp(blobs[i].name, name))
                    b = &blobs[i];
            if (!b || csum >= b->size || start + len > b->size) {
                ok = false;
                continue;
            }
            b->data[csum] -= sum8(b->data + start, len);
        } else if (cmd != 0) {
            ok = false;
        }
    }
    CHECK(ok, "every loader command names blobs that exist and stays inside them");
    CHECK(allocs == 2 && ptrs > 0 && sums > 0, "the script allocates 2 blobs, patches %d pointers, %d checksums",
          ptrs, sums);
    for (int i = 0; i < nb; i++) {
        if (!strcmp(blobs[i].name, "etc/acpi/rsdp")) {
            uint8_t *r = blobs[i].data;
            uint32_t rsdt = le32(r + 16);

            CHECK(blobs[i].zone == 2, "the RSDP goes to the F segment, where OSes search for it");
            CHECK(!memcmp(r, "RSD PTR ", 8) && sum8(r, 20) == 0 && sum8(r, 36) == 0,
                  "after linking the RSDP's both checksums are right");
            for (int k = 0; k < nb; k++) {
                if (strcmp(blobs[k].name, "etc/acpi/tables"))
                    continue;
                CHECK(blobs[k].align >= 64, "the tables blob is 64-byte aligned (FACS)");
                if (rsdt >= blobs[k].addr && rsdt < blobs[k].addr + blobs[k].size) {
                    uint8_t *t = blobs[k].data + (rsdt - blobs[k].addr);
                    uint32_t len = le32(t + 4), n = (len - 36) / 4;
                    bool sums_ok = !memcmp(t, "RSDT", 4) && sum8(t, len) == 0;

                    for (uint32_t e = 0; e < n; e++) {
                        uint32_t ta = le32(t + 36 + 4 * e);
                        uint8_t *tt = blobs[k].data + (ta - blobs[k].addr);

                        sums_ok &= ta >= blobs[k].addr && ta < blobs[k].addr + blobs[k].size &&
                                   sum8(tt, le32(tt + 4)) == 0;
                    }
                    CHECK(sums_ok, "the RSDT points into the tables blob and every table it lists sums to zero");
                } else {
                    CHECK(0, "the RSDT pointer lands in the tables blob (0x%x)", rsdt);
                }
            }
        }
    }
    for (int i = 0; i < nb; i++)
        free(blobs[i].data);
    free(script);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(2);
    }
}

static uint8_t *item(struct qtest *q, uint16_t key, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);

    cfg_read(q, key, b, len);
    return b;
}

/*
 * -kernel with -bios: the bzImage cut into fw_cfg's kernel items as QEMU's linuxboot ROM reads
 * them, its header patched as a boot loader does, and the ROM itself first in the boot order.
 * A made-up firmware and ROM stand in (SKIFF_FIRMWARE_DIR): the test runs no CPU.
 */
static void test_kernel_items(void)
{
    enum { SETUP = 3 * 512 + 512, KERNEL = 8192, INITRD = 6000 };
    char *dir = qtest_tmp_path(""), *kpath, *ipath, *bios, *rom, *bp;
    static uint8_t img[SETUP + KERNEL], rd[INITRD], fw[65536], lb[1536];
    struct qtest *q;
    struct file files[64];
    const struct file *f;
    uint8_t *b, *rb;
    uint32_t initrd_addr;
    int n;

    mkdir(dir, 0700);
    if (asprintf(&kpath, "%s/bzImage", dir) < 0 || asprintf(&ipath, "%s/initrd", dir) < 0 ||
        asprintf(&bios, "%s/fake-bios.bin", dir) < 0 || asprintf(&rom, "%s/linuxboot_dma.bin", dir) < 0)
        exit(2);
    /* boot protocol 2.15: 3 setup sectors, loaded high, 64-bit, initrd_addr_max 2 GiB - 1 */
    for (size_t i = 0; i < sizeof(img); i++)
        img[i] = i * 7 + 1;
    memset(img + 0x1f1, 0, 0x270 - 0x1f1);
    img[0x1f1] = 3;
    img[0x1fe] = 0x55, img[0x1ff] = 0xaa;
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = 0x0f, img[0x207] = 0x02;
    img[0x211] = 0x01;
    img[0x22c] = 0xff, img[0x22d] = 0xff, img[0x22e] = 0xff, img[0x22f] = 0x7f;
    img[0x236] = 0x01;
    img[0x238] = 0xff, img[0x239] = 0x07;
    img[0x260] = 0x00, img[0x261] = 0x00, img[0x262] = 0x10;    /* init_size 1 MiB */
    write_file(kpath, img, sizeof(img));
    for (size_t i = 0; i < sizeof(rd); i++)
        rd[i] = i * 13 + 5;
    write_file(ipath, rd, sizeof(rd));
    write_file(bios, fw, sizeof(fw));
    lb[0] = 0x55, lb[1] = 0xaa, lb[2] = 3;
    write_file(rom, lb, sizeof(lb));
    setenv("SKIFF_FIRMWARE_DIR", dir, 1);
    q = qtest_start("-m 64 -bios %s -kernel %s -initrd %s -append hello=world", bios, kpath, ipath);

    b = item(q, 0x16, 4);
    CHECK(le32(b) == 0x10000, "FW_CFG_SETUP_ADDR: the setup code goes to 0x10000 (0x%x)", le32(b));
    free(b);
    b = item(q, 0x17, 4);
    CHECK(le32(b) == SETUP, "FW_CFG_SETUP_SIZE: (setup_sects + 1) sectors (%u)", le32(b));
    free(b);
    b = item(q, 0x18, SETUP);
    CHECK(!memcmp(b, img, 0x1f1) && !memcmp(b + 0x270, img + 0x270, SETUP - 0x270),
          "FW_CFG_SETUP_DATA: the image's setup sectors");
    CHECK(b[0x210] == 0xb0, "the header's type_of_loader is QEMU's (0x%02x)", b[0x210]);
    CHECK(b[0x211] == 0x81, "loadflags: loaded high, and the heap may be used (0x%02x)", b[0x211]);
    CHECK(le32(b + 0x228) == 0x20000 && (b[0x224] | b[0x225] << 8) == 0xfe00,
          "cmd_line_ptr is 0x20000, heap_end_ptr 0xfe00: the heap ends where the command line starts");
    initrd_addr = le32(b + 0x218);
    CHECK(le32(b + 0x21c) == INITRD && initrd_addr % 4096 == 0 && initrd_addr >= 0x200000 &&
          initrd_addr + INITRD < (64 << 20) - 0x28000,
          "ramdisk_image/size: the initrd, page aligned below what firmware keeps (0x%x)", initrd_addr);
    free(b);
    b = item(q, 0x0a, 4);
    CHECK(le32(b) == initrd_addr, "FW_CFG_INITRD_ADDR agrees with the header");
    free(b);
    b = item(q, 0x0b, 4);
    rb = item(q, 0x12, INITRD);
    CHECK(le32(b) == INITRD && !memcmp(rb, rd, INITRD), "FW_CFG_INITRD_SIZE/DATA: the -initrd file");
    free(b);
    free(rb);
    b = item(q, 0x07, 4);
    CHECK(le32(b) == 0x100000, "FW_CFG_KERNEL_ADDR: the protected-mode code goes to 1 MiB");
    free(b);
    b = item(q, 0x08, 4);
    rb = item(q, 0x11, KERNEL);
    CHECK(le32(b) == KERNEL && !memcmp(rb, img + SETUP, KERNEL),
          "FW_CFG_KERNEL_SIZE/DATA: the rest of the image (%u bytes)", le32(b));
    free(b);
    free(rb);
    b = item(q, 0x13, 4);
    rb = item(q, 0x14, 4);
    CHECK(le32(b) == 0x20000 && le32(rb) == 12, "FW_CFG_CMDLINE_ADDR/SIZE: 0x20000, with the NUL");
    free(b);
    free(rb);
    b = item(q, 0x15, 12);
    CHECK(!memcmp(b, "hello=world", 12), "FW_CFG_CMDLINE_DATA: the -append text");
    free(b);

    n = find_files(q, files, 64);
    f = file_by_name(files, n, "genroms/linuxboot_dma.bin");
    CHECK(f && f->size == sizeof(lb), "the Linux loader ROM is there as genroms/linuxboot_dma.bin");
    f = file_by_name(files, n, "bootorder");
    if (f) {
        bp = (char *)file_dma(q, f);
        bp[f->size] = 0;
        CHECK(!strncmp(bp, "/rom@genroms/linuxboot_dma.bin\n", 31),
              "bootorder names the ROM first, so SeaBIOS boots the kernel (\"%.31s\")", bp);
        free(bp);
    } else {
        CHECK(0, "bootorder names the ROM first (there is no bootorder)");
    }
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    unlink(kpath);
    unlink(ipath);
    unlink(bios);
    unlink(rom);
    rmdir(dir);
    unsetenv("SKIFF_FIRMWARE_DIR");
    free(kpath);
    free(ipath);
    free(bios);
    free(rom);
    free(dir);
}

int main(void)
{
    struct qtest *q = qtest_start("-m 64 -smp 2");
    struct file files[64];
    uint8_t b[64];
    int n;
    uint32_t r;
    const struct file *e820;

    cfg_read(q, 0x00, b, 4);
    CHECK(!memcmp(b, "QEMU", 4), "the signature item reads QEMU through the data port");
    cfg_read(q, 0x01, b, 4);
    CHECK(le32(b) == 3, "the ID item says traditional and DMA interfaces (%u)", le32(b));
    cfg_read(q, 0x05, b, 2);
    CHECK(b[0] == 2 && b[1] == 0, "FW_CFG_NB_CPUS is -smp (2)");
    cfg_read(q, 0x03, b, 8);
    CHECK(le32(b) == 64 << 20, "FW_CFG_RAM_SIZE is -m (64 MiB)");
    cfg_read(q, 0x0e, b, 2);
    CHECK(b[0] == 0 && b[1] == 0, "the boot menu is off by default");
    cfg_read(q, 0x00, b, 6);
    CHECK(b[4] == 0 && b[5] == 0, "reading past an item's end gives zeros");
    b[0] = qtest_inb(q, 0x510);
    CHECK(qtest_inl(q, DMA_HI) == 0x554d4551 && qtest_inl(q, DMA_LO) == 0x47464320,
          "the DMA address register reads \"QEMU CFG\"");

    n = find_files(q, files, 64);
    CHECK(n >= 5, "the file directory lists %d files", n);
    for (int i = 1; i < n; i++)
        if (strcmp(files[i - 1].name, files[i].name) >= 0)
            CHECK(0, "files are sorted by name (%s before %s)", files[i - 1].name, files[i].name);
    e820 = file_by_name(files, n, "etc/e820");
    CHECK(e820 && e820->size % 20 == 0, "etc/e820 is there, in 20-byte entries");
    CHECK(file_by_name(files, n, "etc/acpi/rsdp") && file_by_name(files, n, "etc/acpi/tables"),
          "the ACPI blobs are there");

    /* DMA */
    if (e820) {
        uint8_t *m = file_dma(q, e820);

        CHECK(le32(m) == 0 && le32(m + 8) == 64 << 20 && le32(m + 16) == 1,
              "a DMA read of etc/e820 gives RAM from 0 to 64 MiB");
        free(m);
    }
    memset(b, 0xaa, sizeof(b));
    qtest_memwrite(q, BUF, b, sizeof(b));
    r = dma(q, 0x00000008 | 0x02, 16, BUF);
    qtest_memread(q, BUF, b, 16);
    CHECK(r == 0 && !memcmp(b, "QEMU", 4) && b[4] == 0 && b[15] == 0 && (qtest_memread(q, BUF + 16, b, 1), b[0] == 0xaa),
          "select+read of 16 bytes of the 4-byte signature: the data, then zeros, nothing beyond");
    r = dma(q, 0x00010008 | 0x04, 2, 0);
    r |= dma(q, 0x02, 2, BUF);
    qtest_memread(q, BUF, b, 2);
    CHECK(r == 0 && b[0] == 0 && b[1] == 0, "skip then read continues at the offset (ID bytes 2-3)");
    r = dma(q, 0x00000008 | 0x02, 4, 0x7fffff00000ULL);
    CHECK(r == 1, "a read into memory that is not RAM reports the error bit");
    r = dma(q, 0x00000008 | 0x10, 4, BUF);
    CHECK(r == 1, "a DMA write to a read-only item reports the error bit");
    cfg_read(q, 0x00, b, 4);
    CHECK(!memcmp(b, "QEMU", 4), "and does not change it");
    qtest_outl(q, DMA_HI, 0);
    qtest_outl(q, DMA_LO, __builtin_bswap32(0x7ffff000));
    CHECK(qtest_cmd(q, "endianness") != NULL, "a descriptor outside RAM is refused without harm");
    r = dma(q, 0x12340008 | 0x02, 8, BUF);
    qtest_memread(q, BUF, b, 8);
    CHECK(r == 0 && le32(b) == 0 && le32(b + 4) == 0, "an unknown item reads as zeros");

    check_table_loader(q, files, n);

    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "fw_cfg's state saves and loads back");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    test_kernel_items();
    return tap_done();
}
