/* stage2.c: real-mode checks of what SeaBIOS offers a boot loader through int 13h on skiff's IDE disk and CD-ROM, and of skiff's extboot ROM when it serves the disk; TAP on COM1, then debug-exit */
#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

/* what t-seabios.sh builds: a sparse 300 GiB disk with markers far out, an ISO named SKIFFTEST */
#define DISK_SECTORS (300ULL << 21)
#define FAR_LBA 0x20000000ULL           /* 256 GiB: beyond LBA28's 128 GiB */
#define WRITE_LBA 1000
#define BUF ((uint8_t *)0x1000)         /* 2048-byte scratch buffers below the image */
#define BUF2 ((uint8_t *)0x2000)

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

void *memset(void *d, int c, unsigned n);
void *memcpy(void *d, const void *s, unsigned n);
int memcmp(const void *a, const void *b, unsigned n);

void *memset(void *d, int c, unsigned n)
{
    uint8_t *p = d;

    while (n--)
        *p++ = c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned n)
{
    uint8_t *p = d;
    const uint8_t *q = s;

    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, unsigned n)
{
    const uint8_t *p = a, *q = b;

    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

static void putc_com1(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        ;
    outb(COM1, c);
}

static void puts_com1(const char *s)
{
    while (*s) {
        if (*s == '\n')
            putc_com1('\r');
        putc_com1(*s++);
    }
}

static void put_dec(uint32_t v)
{
    char b[24];
    int i = 0;

    do {
        b[i++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (i)
        putc_com1(b[--i]);
}

static void put_hex(uint32_t v)
{
    puts_com1("0x");
    for (int i = 28; i >= 0; i -= 4)
        putc_com1("0123456789abcdef"[(v >> i) & 15]);
}

static int tests, failed;

static void check(int cond, const char *what)
{
    tests++;
    if (!cond) {
        failed++;
        puts_com1("not ");
    }
    puts_com1("ok ");
    put_dec(tests);
    puts_com1(" - ");
    puts_com1(what);
    puts_com1("\n");
}

static void note(const char *what, uint32_t v)
{
    puts_com1("# ");
    puts_com1(what);
    put_dec(v);
    puts_com1("\n");
}

struct regs {
    uint32_t eax, ebx, ecx, edx, esi, edi;
};

/* int 13h with the given registers; returns the carry flag (1: the BIOS reports an error) */
static int int13(struct regs *r)
{
    uint8_t cf;

    __asm__ volatile("int $0x13\n\tsetc %0"
                     : "=qm"(cf), "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx),
                       "+S"(r->esi), "+D"(r->edi)
                     :
                     : "memory", "cc");
    return cf;
}

struct dap {
    uint8_t size, zero;
    uint16_t count;
    uint16_t off, seg;
    uint64_t lba;
} __attribute__((packed));

static struct dap dap;

/* int 13h AH=42h/43h (EDD 3.0 extended read/write) of `count` sectors at `lba` */
static int ext_rw(uint8_t drive, int write, uint64_t lba, uint16_t count, void *buf)
{
    struct regs r = { .eax = write ? 0x4300 : 0x4200, .edx = drive };

    dap.size = 0x10;
    dap.zero = 0;
    dap.count = count;
    dap.off = (uint32_t)buf & 0xffff;
    dap.seg = 0;
    dap.lba = lba;
    r.esi = (uint32_t)&dap;
    return int13(&r) || ((r.eax >> 8) & 0xff);
}

struct edd_params {
    uint16_t size, flags;
    uint32_t cyls, heads, spt;
    uint64_t sectors;
    uint16_t bytes_per_sector;
} __attribute__((packed));

static struct edd_params edd;

static int get_params(uint8_t drive)
{
    struct regs r = { .eax = 0x4800, .edx = drive };

    memset(&edd, 0, sizeof(edd));
    edd.size = 0x1a;
    r.esi = (uint32_t)&edd;
    return int13(&r);
}

static int has_extensions(uint8_t drive)
{
    struct regs r = { .eax = 0x4100, .ebx = 0x55aa, .edx = drive };

    return !int13(&r) && (r.ebx & 0xffff) == 0xaa55 && (r.ecx & 1);
}

static void disk_tests(uint8_t drive)
{
    struct regs r;

    check(has_extensions(drive), "int 13h AH=41h: the disk offers the EDD extensions");
    check(!get_params(drive) && edd.bytes_per_sector == 512, "int 13h AH=48h: 512-byte sectors");
    note("sectors reported by AH=48h: ", edd.sectors);
    check(edd.sectors == DISK_SECTORS, "int 13h AH=48h: the disk has all 300 GiB (629145600 sectors)");
    /* (the running copy has stored its drive number in itself: compare the code and the signature) */
    check(!ext_rw(drive, 0, 0, 1, BUF) && !memcmp(BUF, (void *)0x7c00, 32) && BUF[510] == 0x55 &&
          BUF[511] == 0xaa, "AH=42h read of LBA 0 gives the boot sector that runs");
    check(!ext_rw(drive, 0, 1, 1, BUF) && !memcmp(BUF, (void *)0x7e00, 512),
          "AH=42h read of LBA 1 gives this program's first sector");
    memset(BUF, 0, 512);
    check(!ext_rw(drive, 0, FAR_LBA, 1, BUF) && !memcmp(BUF, "SKIFF FAR SECTOR", 16),
          "AH=42h read at LBA 0x20000000 (256 GiB, past LBA28) finds its marker");
    memset(BUF, 0, 512);
    check(!ext_rw(drive, 0, DISK_SECTORS - 1, 1, BUF) && !memcmp(BUF, "SKIFF LAST SECTOR", 17),
          "AH=42h read of the last sector finds its marker");
    check(ext_rw(drive, 0, DISK_SECTORS, 1, BUF) != 0, "AH=42h read past the end fails");
    memset(BUF2, 0, 512);
    memcpy(BUF2, "WRITTEN BY INT 13H", 18);
    check(!ext_rw(drive, 1, WRITE_LBA, 1, BUF2), "AH=43h extended write of LBA 1000");
    memset(BUF, 0xee, 512);
    check(!ext_rw(drive, 0, WRITE_LBA, 1, BUF) && !memcmp(BUF, BUF2, 512), "and it reads back");
    /* CHS: cylinder 0, head 0, sector 2 is LBA 1 */
    r = (struct regs){ .eax = 0x0201, .ebx = (uint32_t)BUF, .ecx = 0x0002, .edx = drive };
    memset(BUF, 0, 512);
    check(!int13(&r) && !memcmp(BUF, (void *)0x7e00, 512), "int 13h AH=02h CHS read of sector 2");
    r = (struct regs){ .eax = 0x0800, .edx = drive };
    check(!int13(&r) && (r.edx & 0xff) >= 1, "int 13h AH=08h: drive parameters, at least one disk");
}

/* a byte at a linear address below 1 MiB, through FS */
static uint8_t peekb(uint32_t lin)
{
    uint8_t v;

    __asm__ volatile("mov %w1, %%fs\n\tmovb %%fs:(%2), %0" : "=q"(v) : "r"(lin >> 4), "r"(lin & 15));
    return v;
}

static uint32_t peekl(uint32_t lin)
{
    return peekb(lin) | peekb(lin + 1) << 8 | (uint32_t)peekb(lin + 2) << 16 |
           (uint32_t)peekb(lin + 3) << 24;
}

/* does string N (from 1) of the structure whose strings begin at S read WANT? */
static int smbios_string_is(uint32_t s, uint8_t n, const char *want)
{
    for (; n > 1; n--)
        while (peekb(s++))
            ;
    for (; *want; want++, s++)
        if (peekb(s) != (uint8_t)*want)
            return 0;
    return n == 1 && peekb(s) == 0;
}

/* the SMBIOS tables SeaBIOS published from skiff's fw_cfg (DSP0134: a 2.1 entry point on a
 * 16-byte boundary in the F segment; this small a table SeaBIOS keeps there too) */
static void smbios_tests(void)
{
    uint32_t ep = 0, tbl, end, p;
    uint8_t sum = 0;
    int type0 = 0, type1 = 0, type4 = 0, dimm_mib = -1, structs = 0;

    for (uint32_t a = 0xf0000; a < 0x100000 && !ep; a += 16)
        if (peekl(a) == 0x5f4d535f)     /* "_SM_" */
            ep = a;
    for (int i = 0; ep && i < 0x1f; i++)
        sum += peekb(ep + i);
    check(ep && !sum && peekb(ep + 6) == 2 && peekb(ep + 7) == 8,
          "SMBIOS: an SMBIOS 2.8 entry point with a good checksum in the F segment");
    if (!ep)
        return;
    tbl = peekl(ep + 0x18);
    end = tbl + (peekl(ep + 0x16) & 0xffff);
    note("SMBIOS structure table at ", tbl);
    if (end > 0x100000)
        end = tbl;                      /* out of a real-mode program's reach: the checks fail */
    for (p = tbl; p + 4 <= end; structs++) {
        uint8_t type = peekb(p), len = peekb(p + 1);
        uint32_t s = p + len;

        if (type == 0)
            type0 = smbios_string_is(s, peekb(p + 4), "SeaBIOS");
        if (type == 1)
            type1 = smbios_string_is(s, peekb(p + 4), "skiff") &&
                    smbios_string_is(s, peekb(p + 5), "Standard PC (i440FX + PIIX, 1996)");
        if (type == 4)
            type4++;
        if (type == 17)
            dimm_mib = peekl(p + 0x0c) & 0xffff;
        if (type == 127)
            break;
        /* the strings end with a double NUL */
        while (s + 1 < end && (peekb(s) || peekb(s + 1)))
            s++;
        p = s + 2;
    }
    check(type0, "SMBIOS: SeaBIOS added its BIOS information (type 0, vendor SeaBIOS)");
    check(type1, "SMBIOS: the system (type 1) is skiff's Standard PC (i440FX + PIIX, 1996)");
    check(type4 == 1, "SMBIOS: one processor (type 4) for the one socket");
    check(dimm_mib == 128, "SMBIOS: one 128 MiB memory device (type 17)");
    check((peekl(ep + 0x1c) & 0xffff) == (uint32_t)structs + 1,
          "SMBIOS: the entry point counts every structure up to the end marker");
}

/* The int 13h vector, as segment << 16 | offset */
static uint32_t int13_vector(void)
{
    return peekl(0x13 * 4);
}

/*
 * The drive skiff's extboot ROM serves, when int 13h leads into it (0x55aa at the vector's
 * segment, the ROM signed at offset 8): the ROM keeps its drive number at offset 0x20. 0 when
 * int 13h is the BIOS's own.
 */
static uint8_t extboot_drive(void)
{
    uint32_t rom = (int13_vector() >> 16) * 16;
    const char *sig = "SKIFF EXTBOOT";

    if (rom < 0xc0000 || rom >= 0xf0000 || peekb(rom) != 0x55 || peekb(rom + 1) != 0xaa)
        return 0;
    for (int i = 0; sig[i]; i++)
        if (peekb(rom + 8 + i) != (uint8_t)sig[i])
            return 0;
    return peekb(rom + 0x20);
}

/*
 * extboot serves a disk laid out as the boot disk (t-seabios.sh's extboot scenarios): what its
 * ROM adds to the disk checks, and that the other disk, if any, is still the BIOS's.
 */
static void extboot_tests(uint8_t drive)
{
    struct regs r;
    static struct dap_flat {
        struct dap d;
        uint64_t flat;
    } __attribute__((packed)) df;
    uint8_t hds;

    check(1, "int 13h is served by extboot: its vector points into the option ROM signed SKIFF EXTBOOT");
    note("extboot's drive: ", drive);
    r = (struct regs){ .eax = 0x1500, .edx = drive };
    check(!int13(&r) && (r.eax >> 8 & 0xff) == 3 && ((r.ecx & 0xffff) << 16 | (r.edx & 0xffff)) == DISK_SECTORS,
          "extboot AH=15h: a hard disk of 629145600 sectors in CX:DX");
    r = (struct regs){ .eax = 0x0800, .edx = drive };
    check(!int13(&r) && (r.ecx & 0xffff) == 0xffff && (r.edx >> 8 & 0xff) == 254,
          "extboot AH=08h: 1024 cylinders, 255 heads, 63 sectors (LBA-assisted)");
    hds = r.edx & 0xff;
    note("hard disks the BIOS counts: ", hds);
    /* CHS write of cylinder 0, head 1, sector 1: LBA 63 */
    memset(BUF2, 0, 512);
    memcpy(BUF2, "WRITTEN BY CHS", 14);
    r = (struct regs){ .eax = 0x0301, .ebx = (uint32_t)BUF2, .ecx = 0x0001, .edx = 0x0100 | drive };
    check(!int13(&r) && (r.eax & 0xff) == 1, "extboot AH=03h CHS write of C0 H1 S1, one sector done");
    memset(BUF, 0, 512);
    check(!ext_rw(drive, 0, 63, 1, BUF) && !memcmp(BUF, BUF2, 512), "and AH=42h reads it back at LBA 63");
    dap = (struct dap){ 0x10, 0, 2, 0, 0, 0 };
    r = (struct regs){ .eax = 0x4400, .edx = drive, .esi = (uint32_t)&dap };
    check(!int13(&r) && dap.count == 2, "extboot AH=44h verifies 2 sectors");
    /* EDD 3.0's flat buffer: FFFF:FFFF in the packet, the 64-bit address after it */
    df = (struct dap_flat){ { 0x18, 0, 1, 0xffff, 0xffff, 1 }, (uint32_t)BUF };
    memset(BUF, 0, 512);
    r = (struct regs){ .eax = 0x4200, .edx = drive, .esi = (uint32_t)&df };
    check(!int13(&r) && !memcmp(BUF, (void *)0x7e00, 512), "extboot AH=42h into a 64-bit flat buffer address");
    /* what a confused caller gets: an error and the carry, and the BIOS goes on */
    df.flat = 0x100000000000ULL;
    r = (struct regs){ .eax = 0x4200, .edx = drive, .esi = (uint32_t)&df };
    check(int13(&r) && (r.eax >> 8 & 0xff) == 0x09 && df.d.count == 0,
          "a buffer outside RAM: AH=09h, carry, no sector done");
    r = (struct regs){ .eax = 0x0100, .edx = drive };
    check(int13(&r) && (r.eax >> 8 & 0xff) == 0x09, "AH=01h returns that last status");
    dap = (struct dap){ 0x10, 0, 200, (uint32_t)BUF, 0, 0 };
    r = (struct regs){ .eax = 0x4200, .edx = drive, .esi = (uint32_t)&dap };
    check(int13(&r) && (r.eax >> 8 & 0xff) == 0x01 && dap.count == 0, "a count of 200 sectors: AH=01h");
    r = (struct regs){ .eax = 0x0201, .ebx = (uint32_t)BUF, .ecx = 0x0000, .edx = drive };
    check(int13(&r) && (r.eax >> 8 & 0xff) == 0x04, "a CHS read of sector 0: AH=04h");
    r = (struct regs){ .eax = 0x0500, .edx = drive };
    check(int13(&r) && (r.eax >> 8 & 0xff) == 0x01, "a function it does not serve (AH=05h format): AH=01h");
    r = (struct regs){ .eax = 0x0000, .edx = drive };
    check(!int13(&r) && !(r.eax >> 8 & 0xff), "extboot AH=00h reset");
    if (hds < 2)
        return;
    /* the IDE disk (its marker at LBA 100) numbered beside extboot's, reached through the BIOS's handler */
    memset(BUF, 0, 512);
    check(!ext_rw(drive ^ 1, 0, 100, 1, BUF) && !memcmp(BUF, "SKIFF IDE DISK", 14),
          "the other drive is the IDE disk, read through the handler extboot chains to");
}

static void cd_tests(uint8_t drive)
{
    static uint8_t spec[0x13];
    struct regs r = { .eax = 0x4b01, .edx = drive };

    r.esi = (uint32_t)spec;
    spec[0] = 0x13;
    check(!int13(&r) && (spec[1] & 0x0f) == 0, "int 13h AX=4B01h: El Torito no-emulation boot");
    check(has_extensions(drive), "int 13h AH=41h: the CD-ROM offers the EDD extensions");
    check(!get_params(drive) && edd.bytes_per_sector == 2048, "int 13h AH=48h: 2048-byte sectors");
    memset(BUF, 0, 2048);
    check(!ext_rw(drive, 0, 16, 1, BUF) && !memcmp(BUF, "\x01" "CD001", 6),
          "AH=42h read of sector 16: the ISO 9660 primary volume descriptor");
    check(!memcmp(BUF + 40, "SKIFFTEST", 9), "its volume id is SKIFFTEST");
    memset(BUF, 0, 2048);
    check(!ext_rw(drive, 0, 17, 1, BUF) && !memcmp(BUF + 7, "EL TORITO SPECIFICATION", 23),
          "sector 17: the El Torito boot record");
}

void __attribute__((section(".text.entry"), used)) stage2_main(uint32_t drive);

void stage2_main(uint32_t drive)
{
    /* 115200 8N1, as the payloads do */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);
    puts_com1("\n# stage2: booted from drive ");
    put_hex(drive);
    puts_com1("\n");
    puts_com1("# int 13h vector: ");
    put_hex(int13_vector());
    puts_com1("\n");
    smbios_tests();
    if (drive == 0x80)
        disk_tests(drive);
    else
        cd_tests(drive);
    if (extboot_drive())
        extboot_tests(extboot_drive());
    puts_com1("1..");
    put_dec(tests);
    puts_com1("\n");
    outb(DEBUG_EXIT, failed);
    for (;;)
        __asm__ volatile("hlt");
}
