/* io.c: payload checking port and MMIO dispatch, string I/O, and the ACPI, MP and SMBIOS tables skiff wrote */
#include "lib/intr.h"

/* skiff-args: -smp 2 -uuid 123e4567-e89b-12d3-a456-426614174000 -smbios type=1,serial=SKIFF-IO */

#define COM1 0x3f8

static bool sum_ok(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;

    while (len--)
        s += *p++;
    return s == 0;
}

static void check_acpi(void)
{
    const uint8_t *rsdp = NULL, *xsdt, *fadt, *dsdt, *madt, *facs;
    bool all_sums = true;

    for (uint32_t a = 0xe0000; a < 0x100000 && !rsdp; a += 16)
        if (!memcmp((void *)a, "RSD PTR ", 8))
            rsdp = (const uint8_t *)a;
    check(rsdp && sum_ok(rsdp, 20) && sum_ok(rsdp, 36) && rsdp[15] == 2,
          "an ACPI 2.0 RSDP with valid checksums sits in the BIOS area");
    if (!rsdp)
        return;
    xsdt = (const uint8_t *)*(const uint32_t *)(rsdp + 24);
    check(!memcmp(xsdt, "XSDT", 4) && sum_ok(xsdt, *(const uint32_t *)(xsdt + 4)),
          "the XSDT is where the RSDP says, with a valid checksum");
    for (uint32_t i = 0; i < (*(const uint32_t *)(xsdt + 4) - 36) / 8; i++) {
        const uint8_t *t = (const uint8_t *)*(const uint32_t *)(xsdt + 36 + 8 * i);

        all_sums &= sum_ok(t, *(const uint32_t *)(t + 4));
    }
    check(all_sums, "every table the XSDT lists has a valid checksum");
    fadt = acpi_find("FACP");
    check(fadt && *(const uint16_t *)(fadt + 46) == 9, "the FADT puts the SCI on IRQ 9");
    if (!fadt)
        return;
    check(inw(*(const uint32_t *)(fadt + 64)) & 1,
          "PM1a control shows SCI_EN: no firmware is needed to enter ACPI mode");
    dsdt = (const uint8_t *)*(const uint32_t *)(fadt + 40);
    facs = (const uint8_t *)*(const uint32_t *)(fadt + 36);
    check(!memcmp(facs, "FACS", 4) && ((uint32_t)facs & 63) == 0, "the FACS is 64-byte aligned");
    {
        bool s5 = false;

        for (uint32_t i = 36; i + 4 < *(const uint32_t *)(dsdt + 4); i++)
            s5 |= !memcmp(dsdt + i, "_S5_", 4);
        check(!memcmp(dsdt, "DSDT", 4) && s5, "the DSDT names \\_S5 for poweroff");
    }
    check(fadt[116] == 1 && *(const uint32_t *)(fadt + 120) == 0xcf9 && fadt[128] == 6,
          "the FADT's reset register is port 0xcf9, value 6");
    madt = acpi_find("APIC");
    check(madt != NULL, "an MADT is present");
}

static void check_mptable(void)
{
    const uint8_t *fp = NULL, *ct;
    uint32_t cpus = 0, n;
    const uint8_t *e;

    for (uint32_t a = 0xf0000; a < 0x100000 && !fp; a += 16)
        if (!memcmp((void *)a, "_MP_", 4))
            fp = (const uint8_t *)a;
    check(fp && sum_ok(fp, 16), "an MP floating pointer with a valid checksum is in 0xf0000-0xfffff");
    if (!fp)
        return;
    ct = (const uint8_t *)*(const uint32_t *)(fp + 4);
    check(!memcmp(ct, "PCMP", 4) && sum_ok(ct, *(const uint16_t *)(ct + 4)),
          "the MP configuration table has a valid checksum");
    n = *(const uint16_t *)(ct + 34);
    e = ct + 44;
    for (uint32_t i = 0; i < n; i++) {
        if (e[0] == 0) {
            cpus++;
            e += 20;
        } else {
            e += 8;
        }
    }
    check(cpus == 2, "the MP table lists 2 processors for -smp 2 (%u)", cpus);
}

/* string N (from 1) of the SMBIOS structure at P */
static const char *smbios_string(const uint8_t *p, uint8_t n)
{
    const char *s = (const char *)p + p[1];

    while (n > 1 && *s) {
        s += strlen(s) + 1;
        n--;
    }
    return n == 1 ? s : "";
}

/* what dmidecode would read: the entry point in the F segment, the structures it points at */
static void check_smbios(void)
{
    const uint8_t *ep = NULL, *p, *end;
    const uint8_t *type1 = NULL, *type4 = NULL;
    int structs = 0;

    for (uint32_t a = 0xf0000; a < 0x100000 && !ep; a += 16)
        if (!memcmp((void *)a, "_SM_", 4))
            ep = (const uint8_t *)a;
    check(ep && sum_ok(ep, 0x10) && !memcmp(ep + 0x10, "_DMI_", 5) && sum_ok(ep + 0x10, 0x0f),
          "an SMBIOS entry point with valid checksums is in 0xf0000-0xfffff");
    if (!ep)
        return;
    p = (const uint8_t *)*(const uint32_t *)(ep + 0x18);
    end = p + *(const uint16_t *)(ep + 0x16);
    while (p + 4 <= end && p[0] != 127) {
        const uint8_t *s = p + p[1];

        if (p[0] == 1)
            type1 = p;
        if (p[0] == 4)
            type4 = p;
        while (s + 1 < end && (s[0] || s[1]))
            s++;
        p = s + 2;
        structs++;
    }
    check(p + 4 <= end && p[0] == 127 && structs + 1 == *(const uint16_t *)(ep + 0x1c),
          "its structures run to the end marker, as many as it counts (%d)", structs + 1);
    check(type1 && !strcmp(smbios_string(type1, type1[4]), "skiff"),
          "the system (type 1) is made by skiff");
    check(type1 && !strcmp(smbios_string(type1, type1[7]), "SKIFF-IO"),
          "its serial number is -smbios type=1,serial=");
    /* SMBIOS 2.6+ stores the UUID's first three fields little-endian */
    check(type1 && !memcmp(type1 + 8, "\x67\x45\x3e\x12\x9b\xe8\xd3\x12\xa4\x56\x42\x66\x14\x17\x40\x00", 16),
          "its UUID is -uuid's");
    check(type4 && type4[0x23] == 2, "the processor (type 4) has the 2 cores of -smp 2");
}

void test_main(uint32_t magic, uint32_t mbi)
{
    uint8_t out[16], in[16];
    bool ready, empty;

    check(inb(0x2a0) == 0xff && inw(0x2a0) == 0xffff && inl(0x2a0) == 0xffffffff,
          "a port nobody claims reads as all ones");
    outb(0x2a0, 0x12);
    outl(0x2a0, 0x12345678);
    outb(0x80, 0x55);
    outb(0xed, 0);
    check(true, "writes to unclaimed ports, POST port 0x80 and 0xed are absorbed");
    check(mmio_read32(0xd0000000) == 0xffffffff, "unclaimed MMIO in the PCI hole reads as all ones");
    mmio_write32(0xd0000000, 0xdeadbeef);
    check(mmio_read32(0xd0000000) == 0xffffffff, "writes there go nowhere");
    check(*(volatile uint32_t *)0xa0000 == 0xffffffff, "the legacy VGA window is not RAM (no VGA)");

    /* string I/O: rep outsb / insb through the UART's loopback and FIFO */
    for (int i = 0; i < 12; i++)
        out[i] = 'a' + i;
    outb(COM1 + 2, 0x07);           /* FIFO on, cleared */
    outb(COM1 + 4, 0x10);           /* loopback */
    {
        const uint8_t *src = out;
        uint32_t cnt = 12;

        __asm__ volatile("cld; rep outsb" : "+S"(src), "+c"(cnt) : "d"(COM1) : "memory");
    }
    ready = inb(COM1 + 5) & 1;
    memset(in, 0, sizeof(in));
    {
        uint8_t *dst = in;
        uint32_t cnt = 12;

        __asm__ volatile("cld; rep insb" : "+D"(dst), "+c"(cnt) : "d"(COM1) : "memory");
    }
    empty = !(inb(COM1 + 5) & 1);
    outb(COM1 + 4, 0x00);           /* out of loopback before printing anything */
    check(ready, "rep outsb of 12 bytes lands in the loopback FIFO");
    check(!memcmp(in, out, 12), "rep insb reads the 12 bytes back in order");
    check(empty, "and the FIFO is empty after them");

    check_acpi();
    check_mptable();
    check_smbios();
    /* the BIOS area holding the tables is RAM the guest can write */
    *(volatile uint32_t *)0xeff00 = 0x600dc0de;
    check(*(volatile uint32_t *)0xeff00 == 0x600dc0de, "the BIOS area is writable RAM in direct boot");
}
