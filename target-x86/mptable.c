/* mptable.c: the Intel MultiProcessor Specification 1.4 table, for guests booted without ACPI */
#include "target-x86/acpi-build.h"
#include "hw/core/guest-mem.h"

int mptable_write(uint64_t addr, int cpus, const uint32_t *apic_ids)
{
    /* floating pointer (16) + header (44) + cpus (20 each) + bus (8) + ioapic (8) + 16 irqs + 2 lints */
    size_t n_int = 16, len = 44 + cpus * 20 + 8 + 8 + (n_int + 2) * 8;
    uint8_t *buf = xzalloc(16 + len), *fp = buf, *ct = buf + 16, *e = ct + 44;
    uint16_t entries = 0;
    int r;

    for (int i = 0; i < cpus; i++) {
        if (apic_ids[i] > 0xfe) {
            free(buf);
            return 0;   /* beyond xAPIC: the MP table cannot describe it, ACPI does */
        }
    }
    memcpy(fp, "_MP_", 4);
    stl_le(fp + 4, addr + 16);
    fp[8] = 1;          /* length in 16-byte units */
    fp[9] = 4;          /* spec revision 1.4 */
    fp[10] = checksum_zero(fp, 16);

    memcpy(ct, "PCMP", 4);
    stw_le(ct + 4, len);
    ct[6] = 4;
    memcpy(ct + 8, "SKIFF   ", 8);
    memcpy(ct + 16, "SKIFF VM    ", 12);
    stl_le(ct + 36, 0xfee00000);
    for (int i = 0; i < cpus; i++, entries++) {
        e[0] = 0;               /* processor */
        e[1] = apic_ids[i];
        e[2] = 0x14;            /* local APIC version */
        e[3] = 1 | (i == 0 ? 2 : 0);    /* enabled, bootstrap processor */
        stl_le(e + 4, 0x600);   /* family 6 signature */
        stl_le(e + 8, 0x201);   /* FPU, APIC */
        e += 20;
    }
    e[0] = 1;                   /* bus 0: ISA */
    e[1] = 0;
    memcpy(e + 2, "ISA   ", 6);
    e += 8;
    entries++;
    e[0] = 2;                   /* I/O APIC, id 0, version 0x11, enabled */
    e[1] = 0;
    e[2] = 0x11;
    e[3] = 1;
    stl_le(e + 4, 0xfec00000);
    e += 8;
    entries++;
    for (unsigned irq = 0; irq < n_int; irq++, entries++) {
        e[0] = 3;               /* I/O interrupt assignment */
        e[1] = irq == 2 ? 3 : 0;    /* IRQ2 slot carries the 8259's ExtINT on INTIN0 */
        stw_le(e + 2, 0);       /* conforms to the bus */
        e[4] = 0;
        e[5] = irq == 2 ? 0 : irq;
        e[6] = 0;
        e[7] = irq == 0 ? 2 : (irq == 2 ? 0 : irq);
        e += 8;
    }
    e[0] = 4;                   /* local interrupt: ExtINT on LINT0 */
    e[1] = 3;
    e[6] = 0xff;
    e[7] = 0;
    e += 8;
    e[0] = 4;                   /* NMI on LINT1 */
    e[1] = 1;
    e[6] = 0xff;
    e[7] = 1;
    entries += 2;
    stw_le(ct + 34, entries);
    ct[7] = checksum_zero(ct, len);
    r = gmem_write(addr, buf, 16 + len);
    free(buf);
    return r;
}
