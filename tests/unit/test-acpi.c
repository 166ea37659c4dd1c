/* test-acpi.c: the ACPI generator: every table linked at an address has valid checksums and pointers; the DSDT's sleep states and the FACS */
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

/*
 * The SLP_TYPa and SLP_TYPb of a sleep state's package in a DSDT (Name (\_S3, Package (4) {...})),
 * as an OS reads them; false when the DSDT has no such name.
 */
static bool sleep_package(const uint8_t *dsdt, const char *name, int typ[2])
{
    uint32_t len = ldl_le(dsdt + 4);

    for (uint32_t i = 36; i + 11 < len; i++) {
        const uint8_t *e = dsdt + i + 9;

        if (dsdt[i] != 0x08 || dsdt[i + 1] != '\\' || memcmp(dsdt + i + 2, name, 4) ||
            dsdt[i + 6] != 0x12 || dsdt[i + 8] != 4)
            continue;
        for (int k = 0; k < 2; k++) {
            /* ZeroOp, OneOp, or BytePrefix and a byte */
            typ[k] = e[0] == 0x0a ? e[1] : e[0] <= 1 ? e[0] : -1;
            e += e[0] == 0x0a ? 2 : 1;
        }
        return true;
    }
    return false;
}

/* The DSDT of tables built for cfg (linked at base), and where the FADT points for the FACS. */
static const uint8_t *built_dsdt(struct acpi_tables *t, const struct acpi_config *cfg,
                                 const uint64_t base[ACPI_BLOB_MAX], const uint8_t **facs)
{
    const uint8_t *rsdp, *tb, *rsdt, *fadt;

    acpi_build(t, cfg);
    link_local(t, base);
    rsdp = t->data[ACPI_BLOB_RSDP];
    tb = t->data[ACPI_BLOB_TABLES];
    rsdt = tb + (ldl_le(rsdp + 16) - base[ACPI_BLOB_TABLES]);
    fadt = tb + (ldl_le(rsdt + 36) - base[ACPI_BLOB_TABLES]);
    *facs = tb + (ldl_le(fadt + 36) - base[ACPI_BLOB_TABLES]);
    return tb + (ldl_le(fadt + 40) - base[ACPI_BLOB_TABLES]);
}

/* \_S3 and \_S4 as QEMU's PIIX4 board offers them, unless -global PIIX4_PM.disable_s3/s4 */
static void check_sleep_states(const uint64_t base[ACPI_BLOB_MAX])
{
    uint32_t ids[1] = { 0 };
    struct acpi_config cfg = { .cpus = 1, .apic_ids = ids };
    struct acpi_tables t;
    const uint8_t *dsdt, *facs;
    int s3[2] = { -1, -1 }, s4[2] = { -1, -1 }, s5[2] = { -1, -1 };

    bool has3, has4, has5;

    dsdt = built_dsdt(&t, &cfg, base, &facs);
    has3 = sleep_package(dsdt, "_S3_", s3);
    has4 = sleep_package(dsdt, "_S4_", s4);
    has5 = sleep_package(dsdt, "_S5_", s5);
    CHECK(has3 && s3[0] == 1 && s3[1] == 1,
          "the DSDT offers \\_S3 (suspend to RAM) with SLP_TYP 1, QEMU's value (%d, %d)", s3[0], s3[1]);
    CHECK(has4 && s4[0] == 2 && s4[1] == 2, "and \\_S4 with SLP_TYP 2 (%d, %d)", s4[0], s4[1]);
    CHECK(has5 && s5[0] == 0 && s5[1] == 0, "and \\_S5 with SLP_TYP 0");
    CHECK(!memcmp(facs, "FACS", 4) && ldl_le(facs + 4) == 64 && facs == t.data[ACPI_BLOB_TABLES] + t.facs &&
          (base[ACPI_BLOB_TABLES] + t.facs) % 64 == 0 && ldl_le(facs + ACPI_FACS_WAKING_VECTOR) == 0,
          "the FADT's FACS is where the builder says, 64-byte aligned, its waking vector empty");
    acpi_tables_free(&t);

    cfg.disable_s3 = true;
    dsdt = built_dsdt(&t, &cfg, base, &facs);
    CHECK(!sleep_package(dsdt, "_S3_", s3) && sleep_package(dsdt, "_S4_", s4) &&
          sleep_package(dsdt, "_S5_", s5), "disable_s3: no \\_S3 in the DSDT, \\_S4 and \\_S5 stay");
    acpi_tables_free(&t);
    cfg.disable_s3 = false;
    cfg.disable_s4 = true;
    dsdt = built_dsdt(&t, &cfg, base, &facs);
    CHECK(sleep_package(dsdt, "_S3_", s3) && !sleep_package(dsdt, "_S4_", s4) &&
          sleep_package(dsdt, "_S5_", s5), "disable_s4: no \\_S4, \\_S3 and \\_S5 stay");
    acpi_tables_free(&t);
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
    check_sleep_states(base);
    return tap_done();
}
