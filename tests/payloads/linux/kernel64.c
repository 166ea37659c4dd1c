/* kernel64.c: the in-guest path of the test bzImage: checks the boot_params skiff, or firmware and the kernel's setup code, wrote (Linux boot protocol) */
#include "lib/payload.h"

/* boot_params offsets (Documentation/arch/x86/zero-page.rst, boot.rst) */
#define BP_ACPI_RSDP 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0

/* Where Linux looks for the RSDP when boot_params has none: the BIOS area, 16-byte steps (ACPI 5.2.5.1) */
static const uint8_t *find_rsdp(void)
{
    for (uintptr_t a = 0xe0000; a < 0x100000; a += 16) {
        const uint8_t *p = (const uint8_t *)a;
        uint8_t sum = 0;

        if (memcmp(p, "RSD PTR ", 8))
            continue;
        for (int i = 0; i < 20; i++)
            sum += p[i];
        if (sum == 0)
            return p;
    }
    return NULL;
}

/* from kernel64.ld */
extern char __image_start[], __image_end[];

/* [a, a + len) does not touch this image */
static bool outside(uint64_t a, uint64_t len)
{
    return a + len <= (uintptr_t)__image_start || a >= (uintptr_t)__image_end;
}

void kernel_main(const uint8_t *bp);
void kernel_main(const uint8_t *bp)
{
    const char *cmdline = (const char *)(uintptr_t)*(const uint32_t *)(bp + BP_CMD_LINE_PTR);
    const uint8_t *rd = (const uint8_t *)(uintptr_t)*(const uint32_t *)(bp + BP_RAMDISK_IMAGE);
    uint32_t rdlen = *(const uint32_t *)(bp + BP_RAMDISK_SIZE);
    uint64_t rsdp = *(const uint64_t *)(bp + BP_ACPI_RSDP), ram = 0;
    unsigned n = bp[BP_E820_ENTRIES];
    uint64_t cr0, efer_lo;

    serial_init();
    note("entered at the bzImage's 64-bit entry (the kernel unpacks itself)%s",
         bp[BP_TYPE_OF_LOADER] == 0xb0 ? ", from its 32-bit entry after its real-mode setup" : "");
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    {
        uint32_t lo, hi;

        __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080));
        efer_lo = lo;
    }
    check((cr0 & 0x80000001) == 0x80000001 && (efer_lo & 0x500) == 0x500,
          "the CPU is in 64-bit long mode with paging on");
    check(bp[BP_TYPE_OF_LOADER] == 0xff || bp[BP_TYPE_OF_LOADER] == 0xb0,
          "type_of_loader is 0x%x (0xff: skiff's direct boot; 0xb0: QEMU's loader ROM)",
          bp[BP_TYPE_OF_LOADER]);
    check(bp[BP_LOADFLAGS] & 0x01, "loadflags say the kernel was loaded high");
    check(cmdline && strstr(cmdline, "hello=world"), "cmd_line_ptr points at -append (\"%s\")",
          cmdline ? cmdline : "");
    check(rdlen == 4096 && rd && !memcmp(rd, "INITRD-MAGIC", 12),
          "ramdisk_image/size describe the -initrd file (%u bytes at %p)", rdlen, rd);
    check(((uintptr_t)rd & 0xfff) == 0, "the initrd is page aligned");
    check(outside((uintptr_t)bp, 4096) && cmdline && outside((uintptr_t)cmdline, strlen(cmdline) + 1) &&
              outside((uintptr_t)rd, rdlen),
          "boot_params (%p), the command line and the initrd lie outside the kernel (%p up to %p)",
          bp, __image_start, __image_end);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = bp + BP_E820_TABLE + 20 * i;

        if (*(const uint32_t *)(e + 16) == 1)
            ram += *(const uint64_t *)(e + 8);
    }
    check(n >= 3 && ram > (120ull << 20) && ram <= (128ull << 20),
          "the e820 map in boot_params has %u entries and adds up to -m 128 (%llu KiB RAM)", n,
          (unsigned long long)(ram >> 10));
    if (rsdp)
        check(!memcmp((const void *)(uintptr_t)rsdp, "RSD PTR ", 8), "acpi_rsdp_addr points at the RSDP");
    else
        check(find_rsdp() != NULL, "the firmware's RSDP is in the BIOS area, where Linux looks");
    done();
}

void test_main(uint32_t magic, uint32_t mbi)
{
}
