/* extboot-test.c: the extboot port driven as its option ROM drives it (a frame of int 13h registers written to guest memory, its address to port 0x404, the answer read back from the frame) with good calls and hostile ones; the ROM and the boot order it gets in fw_cfg; what -drive boot=on and -device extboot refuse */
#include "tests/qtest/libide.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <sys/wait.h>

#define PORT 0x404
#define RAM (64 << 20)
#define FRAME 0x7000            /* the frame, as the ROM leaves it on the caller's stack */
#define FRAME2 0x7400
#define DAP 0x7100              /* disk address packets and EDD tables */
#define BUF 0x10000             /* transfer buffers (seg 0x1000) */
#define SECTORS 8192            /* the 4 MiB test image */
#define NO_ANSWER 0xffff

static struct qtest *q;

/* int 13h's registers, and the carry the call returned */
struct regs {
    uint32_t eax, ebx, ecx, edx, esi, edi;
    uint16_t ds, es;
    int cf;                     /* 1, 0, or -1 when nothing answered */
};

static uint8_t ah(const struct regs *r) { return r->eax >> 8; }

static void frame_put(uint64_t at, const struct regs *r)
{
    uint8_t f[38] = { 0 };

    memcpy(f + 0, &r->edi, 4);
    memcpy(f + 4, &r->esi, 4);
    memcpy(f + 16, &r->ebx, 4);
    memcpy(f + 20, &r->edx, 4);
    memcpy(f + 24, &r->ecx, 4);
    memcpy(f + 28, &r->eax, 4);
    memcpy(f + 32, &r->ds, 2);
    memcpy(f + 34, &r->es, 2);
    f[36] = f[37] = 0xff;
    qtest_memwrite(q, at, f, sizeof(f));
}

static void frame_get(uint64_t at, struct regs *r)
{
    uint8_t f[38];
    uint16_t result;

    qtest_memread(q, at, f, sizeof(f));
    memcpy(&r->edi, f + 0, 4);
    memcpy(&r->esi, f + 4, 4);
    memcpy(&r->ebx, f + 16, 4);
    memcpy(&r->edx, f + 20, 4);
    memcpy(&r->ecx, f + 24, 4);
    memcpy(&r->eax, f + 28, 4);
    memcpy(&r->ds, f + 32, 2);
    memcpy(&r->es, f + 34, 2);
    memcpy(&result, f + 36, 2);
    r->cf = result == NO_ANSWER ? -1 : result & 1;
}

/* Whether the file at PATH (skiff's stderr) holds TEXT */
static bool log_has(const char *path, const char *text)
{
    char buf[8192] = { 0 };
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    return n > 0 && strstr(buf, text);
}

/* Until the port reads idle (the ROM's loop); false when it stays busy. */
static bool wait_idle(void)
{
    for (int i = 0; i < 100000; i++)
        if (qtest_inb(q, PORT) != 1)
            return true;
    return false;
}

/* One call, as the ROM makes it; the registers come back answered. */
static void call(struct regs *r)
{
    frame_put(FRAME, r);
    qtest_outl(q, PORT, FRAME);
    wait_idle();
    frame_get(FRAME, r);
}

/* An EDD disk address packet at DAP (size 0x10, or 0x18 with a flat buffer) */
static void dap_put(uint8_t size, uint16_t count, uint16_t seg, uint16_t off, uint64_t lba, uint64_t flat)
{
    uint8_t p[24] = { size, 0 };

    memcpy(p + 2, &count, 2);
    memcpy(p + 4, &off, 2);
    memcpy(p + 6, &seg, 2);
    memcpy(p + 8, &lba, 8);
    memcpy(p + 16, &flat, 8);
    qtest_memwrite(q, DAP, p, sizeof(p));
}

static uint16_t dap_count(void)
{
    return qtest_readw(q, DAP + 2);
}

/* AH=42h/43h/44h with a packet at DAP */
static struct regs edd(uint8_t fn, uint16_t count, uint64_t lba, uint32_t buf)
{
    struct regs r = { .eax = fn << 8, .edx = 0x80, .esi = DAP };

    dap_put(0x10, count, buf >> 4, buf & 15, lba, 0);
    call(&r);
    return r;
}

/* AH=02h/03h/04h at cylinder c, head h, sector s into ES:BX = BUF */
static struct regs chs(uint8_t fn, uint8_t count, unsigned c, unsigned h, unsigned s)
{
    struct regs r = { .eax = fn << 8 | count, .ebx = 0, .es = BUF >> 4,
                      .ecx = (c & 0xff) << 8 | (c >> 2 & 0xc0) | s, .edx = h << 8 | 0x80 };

    call(&r);
    return r;
}

/* Do n sectors of guest memory at addr hold the test image's sectors from lba? */
static bool mem_sectors_ok(uint64_t addr, uint64_t lba, unsigned n)
{
    uint8_t b[512];

    for (unsigned i = 0; i < n; i++) {
        qtest_memread(q, addr + i * 512, b, 512);
        if (!ide_sector_ok(b, lba + i, 512))
            return false;
    }
    return true;
}

/* ---- fw_cfg, as the firmware reads it ---- */

static void cfg_select(uint16_t key)
{
    qtest_outw(q, 0x510, key);
}

static uint32_t cfg_be32(void)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++)
        v = v << 8 | qtest_inb(q, 0x511);
    return v;
}

/* A fw_cfg file's contents (malloc'd), or NULL when there is none. */
static uint8_t *cfg_file(const char *name, uint32_t *size)
{
    uint32_t n;

    cfg_select(0x19);
    n = cfg_be32();
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[64];
        uint16_t key;
        uint8_t *data;

        for (int k = 0; k < 64; k++)
            e[k] = qtest_inb(q, 0x511);
        if (strncmp((char *)e + 8, name, 56))
            continue;
        *size = (uint32_t)e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3];
        key = e[4] << 8 | e[5];
        data = malloc(*size + 1);
        cfg_select(key);
        for (uint32_t k = 0; k < *size; k++)
            data[k] = qtest_inb(q, 0x511);
        data[*size] = 0;
        return data;
    }
    return NULL;
}

static void rom_checks(void)
{
    uint32_t size = 0, sum = 0;
    uint8_t *rom = cfg_file("genroms/extboot.bin", &size);
    char *order;

    CHECK(rom != NULL, "fw_cfg holds the option ROM genroms/extboot.bin");
    if (rom) {
        for (uint32_t i = 0; i < size; i++)
            sum += rom[i];
        CHECK(rom[0] == 0x55 && rom[1] == 0xaa && size % 512 == 0 && rom[2] * 512u == size && (sum & 0xff) == 0,
              "it is an option ROM: 0x55aa, %u bytes in 512-byte blocks as byte 2 says, bytes summing to 0", size);
        CHECK(!memcmp(rom + 8, "SKIFF EXTBOOT", 13), "signed SKIFF EXTBOOT at offset 8");
        CHECK(memcmp(rom + (rom[0x1a] | rom[0x1b] << 8) % size, "$PnP", 4),
              "without a PnP header: SeaBIOS runs it as a legacy ROM, a boot connection vector");
    }
    free(rom);
    order = (char *)cfg_file("bootorder", &size);
    CHECK(order && !strncmp(order, "/rom@genroms/extboot.bin\n", 25),
          "boot=on: the boot order names extboot's ROM first (%.*s)", order ? (int)strcspn(order, "\n") : 4,
          order ? order : "none");
    free(order);
}

/* skiff ARGS fails at start-up: exit status 1 and a line with `want` */
static void refused(const char *what, const char *want, const char *args)
{
    const char *bin = getenv("SKIFF");
    char cmd[4096], out[1024] = "";
    FILE *p;
    size_t n;
    int st;

    /* each is refused before skiff would connect to the test (and, built with the sanitizers,
     * leaks nothing on its way out: a report would be more lines) */
    snprintf(cmd, sizeof(cmd), "timeout 20 %s -accel qtest -qtest unix:/nonexistent/sock -nodefaults "
             "-display none %s 2>&1 </dev/null", bin ? bin : "./skiff", args);
    p = popen(cmd, "r");
    if (!p)
        exit(2);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    st = pclose(p);
    if (n && out[n - 1] == '\n')
        out[n - 1] = 0;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(out, want) && !strchr(out, '\n'),
          "%s: \"%s\"", what, out);
}

int main(void)
{
    char *img = ide_make_image(".eb.raw", SECTORS * 512ULL, 512, SECTORS);
    char *img2 = ide_make_image(".eb2.raw", 1 << 20, 512, 16);
    char *errlog = qtest_tmp_path(".err");
    uint8_t b[1024], file[512];
    struct regs r;
    int fd, resets;

    /* a raw image whose format is probed: its sector 0 writes go to a worker, where the test can hold them */
    q = qtest_start("-m 64 -drive if=none,id=eb,file=%s,boot=on", img);
    rom_checks();
    CHECK(qtest_inb(q, PORT) == 0, "the port reads idle (0), which the ROM takes as skiff's extboot being there");

    /* the calls a boot loader makes */
    r = (struct regs){ .eax = 0x4100, .ebx = 0x55aa, .edx = 0x80 };
    call(&r);
    CHECK(r.cf == 0 && (r.ebx & 0xffff) == 0xaa55 && ah(&r) == 0x30 && (r.ecx & 0xffff) == 1,
          "AH=41h: EDD 3.0, the fixed disk access subset (BX=AA55h, CX=1)");
    r = (struct regs){ .eax = 0x0800, .edx = 0x80, .ebx = 0x12345678 };
    call(&r);
    CHECK(r.cf == 0 && (r.ecx & 0xffff) == (7 << 8 | 63) && (r.edx >> 8 & 0xff) == 15 && (r.edx & 0xff) == 1 &&
          r.ebx == 0x12345678, "AH=08h: 8 cylinders of 16 heads and 63 sectors for 4 MiB, one hard disk; BX kept");
    r = (struct regs){ .eax = 0xabcd1500, .edx = 0x80 };
    call(&r);
    CHECK(r.cf == 0 && ah(&r) == 3 && (r.ecx & 0xffff) == 0 && (r.edx & 0xffff) == SECTORS &&
          r.eax >> 16 == 0xabcd, "AH=15h: a hard disk of 8192 sectors in CX:DX (EAX's upper half kept)");
    qtest_memwrite(q, DAP, (uint8_t[]){ 0x1e, 0 }, 2);
    r = (struct regs){ .eax = 0x4800, .edx = 0x80, .esi = DAP };
    call(&r);
    qtest_memread(q, DAP, b, 0x1e);
    {
        uint64_t n;
        uint32_t dpte;

        memcpy(&n, b + 16, 8);
        memcpy(&dpte, b + 26, 4);
        CHECK(r.cf == 0 && b[0] == 0x1e && n == SECTORS && (b[24] | b[25] << 8) == 512 && dpte == 0xffffffff,
              "AH=48h: the 30-byte table, 8192 sectors of 512 bytes, no DPTE");
    }

    memset(b, 0, sizeof(b));
    r = edd(0x42, 3, 5, BUF);
    CHECK(r.cf == 0 && ah(&r) == 0 && dap_count() == 3 && mem_sectors_ok(BUF, 5, 3),
          "AH=42h reads sectors 5-7 into the buffer, and the packet counts 3");
    r = chs(0x02, 2, 0, 1, 1);
    CHECK(r.cf == 0 && (r.eax & 0xff) == 2 && mem_sectors_ok(BUF, 63, 2),
          "AH=02h CHS read of C0 H1 S1 is LBA 63, two sectors done");
    r = chs(0x02, 1, 7, 15, 63);
    CHECK(r.cf == 0 && mem_sectors_ok(BUF, 8063, 1), "the last CHS sector, C7 H15 S63, is LBA 8063");
    ide_fill_sector(b, 7777, 512);
    qtest_memwrite(q, BUF, b, 512);
    r = edd(0x43, 1, 100, BUF);
    fd = open(img, O_RDONLY);
    CHECK(r.cf == 0 && dap_count() == 1 && fd >= 0 && pread(fd, file, 512, 100 * 512) == 512 &&
          ide_sector_ok(file, 7777, 512), "AH=43h writes sector 100: the image file has the guest's data");
    ide_fill_sector(b, 4242, 512);
    qtest_memwrite(q, BUF, b, 512);
    r = chs(0x03, 1, 0, 2, 3);
    CHECK(r.cf == 0 && (r.eax & 0xff) == 1 && pread(fd, file, 512, (2 * 63 + 2) * 512) == 512 &&
          ide_sector_ok(file, 4242, 512), "AH=03h CHS write of C0 H2 S3 lands at LBA 128");
    dap_put(0x18, 2, 0xffff, 0xffff, 9, 0x200000);
    r = (struct regs){ .eax = 0x4200, .edx = 0x80, .esi = DAP };
    call(&r);
    CHECK(r.cf == 0 && dap_count() == 2 && mem_sectors_ok(0x200000, 9, 2),
          "AH=42h with EDD 3.0's flat 64-bit buffer address (2 MiB, out of real mode's reach)");
    r = edd(0x44, 16, 8000, 0);
    CHECK(r.cf == 0 && dap_count() == 16, "AH=44h verifies 16 sectors");
    r = edd(0x47, 0, SECTORS - 1, 0);
    CHECK(r.cf == 0, "AH=47h seeks to the last sector");
    r = (struct regs){ .eax = 0x0000, .edx = 0x80 };
    call(&r);
    CHECK(r.cf == 0 && ah(&r) == 0, "AH=00h resets");

    /* hostile calls: each gets the BIOS's error and the carry; nothing else happens */
    memset(b, 0x5a, 512);
    qtest_memwrite(q, BUF, b, 512);
    r = edd(0x42, 1, SECTORS, BUF);
    CHECK(r.cf == 1 && ah(&r) == 0x04 && dap_count() == 0, "a read of the sector past the end: AH=04h, none done");
    r = edd(0x42, 4, SECTORS - 2, BUF);
    CHECK(r.cf == 1 && ah(&r) == 0x04, "a read that runs past the end: AH=04h");
    r = edd(0x42, 1, UINT64_MAX, BUF);
    CHECK(r.cf == 1 && ah(&r) == 0x04, "LBA 2^64-1 (the sum would wrap): AH=04h");
    qtest_memread(q, BUF, b + 512, 512);
    CHECK(!memcmp(b, b + 512, 512), "and the buffer is untouched by the refused reads");
    r = edd(0x42, 129, 0, BUF);
    CHECK(r.cf == 1 && ah(&r) == 0x01 && dap_count() == 0, "129 sectors in one call: AH=01h");
    r = edd(0x43, 0xffff, 0, BUF);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "a write of 65535 sectors: AH=01h");
    r = edd(0x42, 0, 0, BUF);
    CHECK(r.cf == 0 && dap_count() == 0, "a count of 0 does nothing, successfully");
    dap_put(0x18, 1, 0xffff, 0xffff, 0, 0xfffff000);
    r = (struct regs){ .eax = 0x4200, .edx = 0x80, .esi = DAP };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x09 && dap_count() == 0, "a flat buffer at 0xfffff000 (no RAM there): AH=09h");
    dap_put(0x18, 1, 0xffff, 0xffff, 0, UINT64_MAX - 100);
    r = (struct regs){ .eax = 0x4300, .edx = 0x80, .esi = DAP };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x09, "a flat buffer whose end wraps past 2^64: AH=09h");
    qtest_memwrite(q, RAM - 512, b, 512);
    dap_put(0x18, 2, 0xffff, 0xffff, 0, RAM - 512);
    r = (struct regs){ .eax = 0x4200, .edx = 0x80, .esi = DAP };
    call(&r);
    qtest_memread(q, RAM - 512, b + 512, 512);
    CHECK(r.cf == 1 && ah(&r) == 0x09 && !memcmp(b, b + 512, 512),
          "a buffer that runs off the end of RAM: AH=09h, and RAM's last sector is untouched");
    r = (struct regs){ .eax = 0x0100, .edx = 0x80 };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x09, "AH=01h gives that last status back");
    dap_put(0x0f, 1, BUF >> 4, 0, 0, 0);
    r = (struct regs){ .eax = 0x4200, .edx = 0x80, .esi = DAP };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "a disk address packet of size 15: AH=01h");
    r = (struct regs){ .eax = 0x4307, .edx = 0x80, .esi = DAP };
    dap_put(0x10, 1, BUF >> 4, 0, 0, 0);
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "AH=43h with write flags 7: AH=01h");
    r = chs(0x02, 1, 0, 0, 0);
    CHECK(r.cf == 1 && ah(&r) == 0x04 && (r.eax & 0xff) == 0, "CHS sector 0: AH=04h, none done");
    r = chs(0x02, 1, 0, 16, 1);
    CHECK(r.cf == 1 && ah(&r) == 0x04, "CHS head 16 of 16: AH=04h");
    r = chs(0x02, 1, 8, 0, 1);
    CHECK(r.cf == 1 && ah(&r) == 0x04, "CHS cylinder 8 of 8: AH=04h");
    r = chs(0x02, 0, 0, 0, 1);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "a CHS read of 0 sectors: AH=01h");
    r = chs(0x02, 255, 0, 0, 1);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "a CHS read of 255 sectors: AH=01h");
    qtest_memwrite(q, DAP, (uint8_t[]){ 0x10, 0 }, 2);
    r = (struct regs){ .eax = 0x4800, .edx = 0x80, .esi = DAP };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "AH=48h with a 16-byte table: AH=01h");
    r = (struct regs){ .eax = 0x4100, .ebx = 0x1234, .edx = 0x80 };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "AH=41h without BX=55AAh: AH=01h");
    r = (struct regs){ .eax = 0x9900, .edx = 0x80 };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "a function it does not serve (AH=99h): AH=01h");

    /* frames it cannot answer: nothing is written, and the port stays usable */
    qtest_outl(q, PORT, 0xfffffff0);
    CHECK(qtest_inb(q, PORT) == 0, "a frame address outside RAM is dropped; the port stays idle");
    qtest_outl(q, PORT, RAM - 10);
    CHECK(qtest_inb(q, PORT) == 0, "and so is a frame that runs off the end of RAM");
    r = (struct regs){ .eax = 0x0000, .edx = 0x80 };
    frame_put(FRAME, &r);
    qtest_outb(q, PORT, FRAME & 0xff);
    qtest_outw(q, PORT, FRAME & 0xffff);
    qtest_outb(q, PORT + 2, 0);
    frame_get(FRAME, &r);
    CHECK(r.cf == -1, "1- and 2-byte writes are not requests: the frame stays unanswered");

    /* one call at a time: a second frame while a write is held in the disk's worker is dropped */
    CHECK(qtest_cmd(q, "block_break request") != NULL, "(hold the next disk request in its worker)");
    ide_fill_sector(b, 0, 512);
    qtest_memwrite(q, BUF, b, 512);
    r = (struct regs){ .eax = 0x4300, .edx = 0x80, .esi = DAP };
    dap_put(0x10, 1, BUF >> 4, 0, 0, 0);
    frame_put(FRAME, &r);
    qtest_outl(q, PORT, FRAME);
    CHECK(qtest_cmd(q, "block_wait_break") != NULL && qtest_inb(q, PORT) == 1,
          "while a write of sector 0 is in the disk's hands the port reads busy (1)");
    r = (struct regs){ .eax = 0x0000, .edx = 0x80 };
    frame_put(FRAME2, &r);
    qtest_outl(q, PORT, FRAME2);
    frame_get(FRAME2, &r);
    CHECK(r.cf == -1, "a second frame meanwhile is not answered");
    frame_get(FRAME, &r);
    CHECK(r.cf == -1, "nor the first yet");
    qtest_cmd(q, "block_resume");
    CHECK(wait_idle(), "the write ends and the port reads idle");
    frame_get(FRAME, &r);
    CHECK(r.cf == 0 && dap_count() == 1, "with the first call's answer");
    /* a reset while a write is held: the write ends first, and the device starts idle */
    qtest_cmd(q, "block_break request");
    r = (struct regs){ .eax = 0x4300, .edx = 0x80, .esi = DAP };
    frame_put(FRAME, &r);
    qtest_outl(q, PORT, FRAME);
    CHECK(qtest_cmd(q, "block_wait_break") != NULL && qtest_inb(q, PORT) == 1, "(another write held)");
    resets = qtest_reset_count(q);
    qtest_cmd(q, "system_reset");
    /* up to 10 s: on a loaded machine the reset's drain takes its time */
    for (int i = 0; i < 10000 && qtest_reset_count(q) == resets; i++) {
        qtest_inb(q, PORT);
        usleep(1000);
    }
    {
        /*
         * The reset's drain runs the main loop, which answers qtest meanwhile: the reset's
         * event can come while the write is still finishing, so wait for the port, briefly
         */
        int nres = qtest_reset_count(q) - resets, port = wait_idle() ? qtest_inb(q, PORT) : 1;

        CHECK(nres == 1 && port == 0, "a reset while a write is in flight waits for it; the port is idle after "
              "(%d resets, port %d)", nres, port);
    }
    frame_get(FRAME, &r);
    CHECK(r.cf == 0, "and the write was answered before the machine started again (cf %d, ax 0x%x)", r.cf, r.eax);
    r = (struct regs){ .eax = 0x0100, .edx = 0x80 };
    call(&r);
    CHECK(r.cf == 0 && ah(&r) == 0, "and AH=01h's last status starts at 0 again");
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "extboot's state saves and loads back");
    close(fd);
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");

    /* a read-only drive served without a boot=on: -device extboot,bootindex= */
    qtest_stderr_path = errlog;
    q = qtest_start("-m 64 -drive if=none,id=ro,file=%s,format=raw,readonly=on "
                    "-device extboot,drive=ro,bootindex=3", img2);
    {
        uint32_t size;
        char *order = (char *)cfg_file("bootorder", &size);

        CHECK(order && !strcmp(order, "/rom@genroms/extboot.bin\n"),
              "-device extboot,bootindex=3: the boot order names its ROM, and only it (%.*s)",
              order ? (int)strcspn(order, "\n") : 4, order ? order : "none");
        free(order);
    }
    r = edd(0x43, 1, 0, BUF);
    CHECK(r.cf == 1 && ah(&r) == 0x03 && dap_count() == 0, "readonly=on: AH=43h gets AH=03h (write protected)");
    r = chs(0x03, 1, 0, 0, 1);
    CHECK(r.cf == 1 && ah(&r) == 0x03, "and so does AH=03h");
    r = edd(0x42, 1, 15, BUF);
    CHECK(r.cf == 0 && mem_sectors_ok(BUF, 15, 1), "while reads go on");
    /* GRUB asks AH=4B01h (El Torito: the emulated CD's status) at every boot, whatever its disk:
     * the answer is "no", and the user's terminal gets no warning for it (a function nobody
     * calls still gets one) */
    r = (struct regs){ .eax = 0x4b01, .edx = 0x80, .esi = DAP };
    call(&r);
    CHECK(r.cf == 1 && ah(&r) == 0x01, "AH=4B01h (El Torito status): AH=01h, not an emulated CD");
    r = (struct regs){ .eax = 0x9900, .edx = 0x80 };
    call(&r);
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly");
    qtest_stderr_path = NULL;
    CHECK(!log_has(errlog, "AH=4bh") && log_has(errlog, "int 13h AH=99h is not served"),
          "skiff warns of AH=99h, a function it does not serve, but says nothing of GRUB's AH=4Bh");

    /* what is refused at start-up, each with one line */
    {
        char args[1024];

        snprintf(args, sizeof(args), "-drive if=none,id=a,file=%s,boot=on -drive if=none,id=b,file=%s,boot=on",
                 img, img2);
        refused("boot=on on a second drive", "drive 'a' has it already", args);
        snprintf(args, sizeof(args), "-drive file=%s,if=ide,boot=on", img);
        refused("boot=on on an IDE drive", "boot=on is for if=virtio or if=none", args);
        refused("boot=on on a CD-ROM drive", "extboot boots a disk image", "-drive if=none,id=c,media=cdrom,boot=on");
        snprintf(args, sizeof(args), "-drive if=none,id=a,file=%s,boot=maybe", img);
        refused("boot=maybe", "boot= takes on or off", args);
        refused("-device extboot without drive=", "extboot needs drive=", "-device extboot");
        snprintf(args, sizeof(args), "-drive if=none,id=a,file=%s,format=raw -device extboot,drive=a -device extboot,drive=a", img);
        refused("a second extboot device", "one at most", args);
        snprintf(args, sizeof(args), "-drive if=none,id=a,file=%s,format=raw,boot=on -device extboot,drive=a", img);
        refused("boot=on beside -device extboot", "-device extboot is there already", args);
        refused("-device extboot on an empty CD-ROM drive", "extboot serves a disk image",
                "-drive if=none,id=c,media=cdrom -device extboot,drive=c");
    }

    unlink(img);
    unlink(img2);
    unlink(errlog);
    free(img);
    free(img2);
    free(errlog);
    return tap_done();
}
