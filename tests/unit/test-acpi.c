/* test-acpi.c: the ACPI generator: every table linked at an address has valid checksums and pointers */
#include "target-x86/acpi-build.h"
#include "tests/unit/tap.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

/* A copy of acpi_link_into_guest's fixups that works on host buffers. */
static void link_local(struct acpi_tables *t, const uint64_t base[ACPI_BLOB_MAX])
{
    for (int i = 0; i < t->nptrs; i++) {
        struct acpi_pointer *p = &t->ptrs[i];
        uint8_t *f = t->data[p->blob] + p->offset;

        if (p->size == 4)
            stl_le(f, ldl_le(f) + (uint32_t)base[p->target]);
        else
            stq_le(f, ldq_le(f) + base[p->target]);
    }
    for (int i = 0; i < t->nsums; i++) {
        struct acpi_checksum *c = &t->sums[i];

        t->data[c->blob][c->offset] = 0;
        t->data[c->blob][c->offset] = -sum(t->data[c->blob] + c->start, c->length);
    }
}

int main(void)
{
    uint32_t ids[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    struct acpi_config cfg = { .cpus = 8, .apic_ids = ids, .sci_enabled_at_boot = true };
    const uint64_t base[ACPI_BLOB_MAX] = { 0xe0000, 0xe0040 };
    struct acpi_tables t;
    const uint8_t *rsdp, *tb, *xsdt;
    bool sums = true, sigs = true;
    int madt_cpus = 0;

    acpi_build(&t, &cfg);
    link_local(&t, base);
    rsdp = t.data[ACPI_BLOB_RSDP];
    tb = t.data[ACPI_BLOB_TABLES];
    CHECK(!memcmp(rsdp, "RSD PTR ", 8) && sum(rsdp, 20) == 0 && sum(rsdp, 36) == 0,
          "the RSDP's two checksums hold after linking");
    xsdt = tb + (ldq_le(rsdp + 24) - base[ACPI_BLOB_TABLES]);
    CHECK(!memcmp(xsdt, "XSDT", 4), "the RSDP points at the XSDT");
    for (uint32_t i = 0; i < (ldl_le(xsdt + 4) - 36) / 8; i++) {
        const uint8_t *tab = tb + (ldq_le(xsdt + 36 + 8 * i) - base[ACPI_BLOB_TABLES]);

        sums &= sum(tab, ldl_le(tab + 4)) == 0;
        sigs &= !memcmp(tab, "FACP", 4) || !memcmp(tab, "APIC", 4);
        if (!memcmp(tab, "APIC", 4)) {
            for (uint32_t off = 44; off < ldl_le(tab + 4); off += tab[off + 1])
                madt_cpus += tab[off] == 0;
        }
        if (!memcmp(tab, "FACP", 4)) {
            const uint8_t *dsdt = tb + (ldl_le(tab + 40) - base[ACPI_BLOB_TABLES]);

            CHECK(!memcmp(dsdt, "DSDT", 4) && sum(dsdt, ldl_le(dsdt + 4)) == 0,
                  "the FADT points at a DSDT with a valid checksum");
            CHECK(ldq_le(tab + 140) == ldl_le(tab + 40), "the FADT's 32- and 64-bit DSDT pointers agree");
        }
    }
    CHECK(sums, "every table in the XSDT has a valid checksum");
    CHECK(sigs, "the XSDT lists the FADT and the MADT");
    CHECK(madt_cpus == 8, "the MADT lists 8 processors for 8 CPUs (%d)", madt_cpus);
    acpi_tables_free(&t);
    return tap_done();
}
