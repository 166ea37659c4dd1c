/* smp.c: payload that wakes every application processor (INIT-SIPI-SIPI) and checks CPU count, APIC IDs and topology */
#include "lib/intr.h"

/* skiff-args: -smp 4 */
/* skiff-args: -smp 4,sockets=1,cores=2,threads=2 */
/* skiff-args: -smp 3,sockets=3 */

#define TRAMPOLINE 0x70000
#define MAX_CPUS 16

extern char ap_trampoline[], ap_trampoline_end[], ap_gdtr[];
extern volatile uint32_t ap_next;
static volatile uint32_t ap_alive;
static volatile uint32_t ap_apic[MAX_CPUS];
static volatile uint32_t ap_cpuid_apic[MAX_CPUS];

void ap_main(uint32_t index);
void ap_main(uint32_t index)
{
    uint32_t r[4];

    cpuid(1, 0, r);
    if (index < MAX_CPUS) {
        ap_apic[index] = lapic_id();
        ap_cpuid_apic[index] = r[1] >> 24;
    }
    __atomic_fetch_add(&ap_alive, 1, __ATOMIC_SEQ_CST);
}

/* -smp as the command line gave it, from the multiboot command line (skiff passes -append) */
static uint32_t madt_cpus(uint32_t *ids)
{
    const uint8_t *m = acpi_find("APIC");
    uint32_t n = 0, len;

    if (!m)
        return 0;
    len = *(const uint32_t *)(m + 4);
    for (uint32_t off = 44; off + 2 <= len; off += m[off + 1]) {
        if (m[off + 1] == 0)
            break;
        if (m[off] == 0 && (m[off + 4] & 1) && n < MAX_CPUS)
            ids[n++] = m[off + 3];
    }
    return n;
}

void test_main(uint32_t magic, uint32_t mbi)
{
    uint32_t ids[MAX_CPUS], ncpus, r[4], want_threads = 1, want_cores, bsp;
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gdtr;
    const char *cmdline = (const char *)((const uint32_t *)mbi)[4];
    bool ok_ids = true;

    ncpus = madt_cpus(ids);
    note("command line: %s", cmdline);
    check(ncpus >= 1, "the MADT lists the CPUs (%u)", ncpus);
    bsp = lapic_id();
    check(bsp == ids[0], "the boot CPU's APIC ID is the MADT's first (%u)", bsp);

    /* topology from CPUID leaf 0xb: threads per core, logical CPUs per package */
    cpuid(0xb, 0, r);
    if (strstr(cmdline, "threads=2"))
        want_threads = 2;
    check((r[1] & 0xffff) == want_threads && ((r[2] >> 8) & 0xff) == 1,
          "CPUID 0xb level 0 is SMT with %u thread(s) per core (ebx %u, ecx 0x%x)",
          want_threads, r[1] & 0xffff, r[2]);
    want_cores = strstr(cmdline, "sockets=3") ? 1 : ncpus / want_threads;
    cpuid(0xb, 1, r);
    check((r[1] & 0xffff) == want_cores * want_threads,
          "CPUID 0xb level 1 counts %u logical CPUs per package (%u)", want_cores * want_threads,
          r[1] & 0xffff);
    cpuid(1, 0, r);
    check(((r[1] >> 16) & 0xff) >= want_cores * want_threads,
          "CPUID 1 counts room for %u logical CPUs per package (%u)", want_cores * want_threads,
          (r[1] >> 16) & 0xff);
    cpuid(0x40000000, 0, r);
    check(!memcmp(&r[1], "KVMKVMKVM\0\0\0", 12), "the KVM signature is at CPUID 0x40000000");

    /* wake the others: the trampoline needs our GDT */
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    memcpy((void *)TRAMPOLINE, ap_trampoline, ap_trampoline_end - ap_trampoline);
    memcpy((void *)(TRAMPOLINE + (ap_gdtr - ap_trampoline)), &gdtr, 6);
    lapic_enable();
    lapic_ipi(0, 0xc4500);                          /* INIT to all but self */
    udelay(10000);
    for (int i = 0; i < 2; i++) {
        lapic_ipi(0, 0xc4600 | (TRAMPOLINE >> 12)); /* SIPI, vector 0x70 */
        udelay(200);
    }
    for (int t = 0; t < 1000 && ap_alive < ncpus - 1; t++)
        udelay(1000);
    check(ap_alive == ncpus - 1, "every application processor came up (%u of %u)", ap_alive,
          ncpus - 1);
    for (uint32_t i = 0; i < ap_alive && i < MAX_CPUS; i++) {
        bool found = false;

        for (uint32_t k = 1; k < ncpus; k++)
            found |= ids[k] == ap_apic[i];
        if (!found || ap_apic[i] != ap_cpuid_apic[i])
            ok_ids = false;
        note("AP %u: APIC ID %u (CPUID %u)", i, ap_apic[i], ap_cpuid_apic[i]);
    }
    check(ok_ids, "each AP's APIC ID is one the MADT lists and matches its CPUID");
    if (strstr(cmdline, "threads=2"))
        check(ids[1] == 1 && ids[2] == 2 && ids[3] == 3,
              "with 2 cores x 2 threads the APIC IDs are 0-3 (%u %u %u)", ids[1], ids[2], ids[3]);
    if (strstr(cmdline, "sockets=3"))
        check(ids[1] == 1 && ids[2] == 2, "one CPU per socket: APIC IDs 0, 1, 2");
}
