/* acpi-build.c: RSDP, RSDT, XSDT, FADT, FACS, MADT and DSDT (ACPI 6.x chapter 5), as relocatable blobs */
#define LOG_PREFIX "acpi: "
#include "target-x86/acpi-build.h"
#include "hw/guest-mem.h"
#include "util/log.h"

#define IOAPIC_ADDR 0xfec00000u
#define LAPIC_ADDR 0xfee00000u

static uint32_t blob_alloc(struct acpi_tables *t, enum acpi_blob_id b, size_t len, size_t align)
{
    size_t off = ALIGN_UP(t->len[b], align);

    t->data[b] = xrealloc(t->data[b], off + len);
    memset(t->data[b] + t->len[b], 0, off + len - t->len[b]);
    t->len[b] = off + len;
    return off;
}

static void add_pointer(struct acpi_tables *t, enum acpi_blob_id b, uint32_t off, uint8_t size,
                        enum acpi_blob_id target, uint32_t target_off)
{
    t->ptrs = xrealloc(t->ptrs, (t->nptrs + 1) * sizeof(*t->ptrs));
    t->ptrs[t->nptrs++] = (struct acpi_pointer){ b, off, size, target };
    if (size == 4)
        stl_le(t->data[b] + off, target_off);
    else
        stq_le(t->data[b] + off, target_off);
}

static void add_checksum(struct acpi_tables *t, enum acpi_blob_id b, uint32_t start, uint32_t len,
                         uint32_t off)
{
    t->sums = xrealloc(t->sums, (t->nsums + 1) * sizeof(*t->sums));
    t->sums[t->nsums++] = (struct acpi_checksum){ b, start, len, off };
}

/* Standard description header (ACPI 6.4 table 5.4); the checksum is registered for later. */
static uint32_t table_begin(struct acpi_tables *t, const char *sig, size_t len, uint8_t rev,
                            size_t align)
{
    uint32_t off = blob_alloc(t, ACPI_BLOB_TABLES, len, align);
    uint8_t *h = t->data[ACPI_BLOB_TABLES] + off;

    memcpy(h, sig, 4);
    stl_le(h + 4, len);
    h[8] = rev;
    memcpy(h + 10, "SKIFF ", 6);        /* OEM ID */
    memcpy(h + 16, "SKIFFVM ", 8);      /* OEM table ID */
    stl_le(h + 24, 1);                  /* OEM revision */
    memcpy(h + 28, "SKIF", 4);          /* creator ID */
    stl_le(h + 32, 1);                  /* creator revision */
    add_checksum(t, ACPI_BLOB_TABLES, off, len, off + 9);
    return off;
}

/* Generic Address Structure (ACPI 6.4 table 5.1), system I/O space */
static void gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint64_t port)
{
    p[0] = 1;
    p[1] = bits;
    p[2] = 0;
    p[3] = access;
    stq_le(p + 4, port);
}

/* DSDT: \_S5 for poweroff. AML from ACPI 6.4 chapter 20: NameOp, PackageOp, ZeroOp. */
static uint32_t build_dsdt(struct acpi_tables *t)
{
    static const uint8_t aml[] = {
        0x08, '\\', '_', 'S', '5', '_',         /* Name (\_S5, */
        0x12, 0x06, 0x04,                       /*   Package (4) { */
        ACPI_SLP_TYP_S5, 0x00, 0x00, 0x00,      /*     SLP_TYPa, SLP_TYPb, reserved, reserved }) */
    };
    uint32_t off = table_begin(t, "DSDT", 36 + sizeof(aml), 2, 16);

    memcpy(t->data[ACPI_BLOB_TABLES] + off + 36, aml, sizeof(aml));
    return off;
}

/* FACS (ACPI 6.4 section 5.2.10): no checksum, 64-byte aligned. */
static uint32_t build_facs(struct acpi_tables *t)
{
    uint32_t off = blob_alloc(t, ACPI_BLOB_TABLES, 64, 64);
    uint8_t *p = t->data[ACPI_BLOB_TABLES] + off;

    memcpy(p, "FACS", 4);
    stl_le(p + 4, 64);
    return off;
}

/* FADT revision 3 (ACPI 6.4 table 5.9 up to X_GPE1_BLK: 244 bytes) */
static uint32_t build_fadt(struct acpi_tables *t, const struct acpi_config *cfg, uint32_t facs,
                           uint32_t dsdt)
{
    uint32_t off = table_begin(t, "FACP", 244, 3, 16);
    uint8_t *f;

    add_pointer(t, ACPI_BLOB_TABLES, off + 36, 4, ACPI_BLOB_TABLES, facs);
    add_pointer(t, ACPI_BLOB_TABLES, off + 40, 4, ACPI_BLOB_TABLES, dsdt);
    add_pointer(t, ACPI_BLOB_TABLES, off + 132, 8, ACPI_BLOB_TABLES, facs);
    add_pointer(t, ACPI_BLOB_TABLES, off + 140, 8, ACPI_BLOB_TABLES, dsdt);
    f = t->data[ACPI_BLOB_TABLES] + off;
    stw_le(f + 46, ACPI_SCI_IRQ);
    if (!cfg->sci_enabled_at_boot) {
        /* firmware boot: the OS switches to ACPI mode through the SMI command port */
        stl_le(f + 48, 0xb2);
        f[52] = 0xf1;   /* ACPI_ENABLE */
        f[53] = 0xf0;   /* ACPI_DISABLE */
    }
    stl_le(f + 56, ACPI_PM1_EVT);
    stl_le(f + 64, ACPI_PM1_CNT);
    stl_le(f + 76, ACPI_PM_TMR);
    stl_le(f + 80, ACPI_GPE0_BLK);
    f[88] = 4;      /* PM1_EVT_LEN */
    f[89] = 2;      /* PM1_CNT_LEN */
    f[91] = 4;      /* PM_TMR_LEN */
    f[92] = ACPI_GPE0_LEN;
    stw_le(f + 96, 0xfff);      /* P_LVL2_LAT: C2 not supported */
    stw_le(f + 98, 0xfff);      /* P_LVL3_LAT: C3 not supported */
    f[108] = 0x32;              /* CENTURY: the CMOS register that holds it */
    stw_le(f + 109, 0x0001);    /* IAPC_BOOT_ARCH: LEGACY_DEVICES */
    /* flags: WBINVD, PROC_C1, SLP_BUTTON (none), RTC_S4, RESET_REG_SUP; PWR_BUTTON clear = fixed button */
    stl_le(f + 112, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 7) | (1u << 10));
    gas_io(f + 116, 8, 1, 0xcf9);   /* RESET_REG */
    f[128] = 0x06;                  /* RESET_VALUE: hard reset through the reset control register */
    gas_io(f + 148, 32, 2, ACPI_PM1_EVT);
    gas_io(f + 172, 16, 2, ACPI_PM1_CNT);
    gas_io(f + 208, 32, 3, ACPI_PM_TMR);
    gas_io(f + 220, ACPI_GPE0_LEN * 8, 1, ACPI_GPE0_BLK);
    return off;
}

/* MADT (ACPI 6.4 section 5.2.12) */
static uint32_t build_madt(struct acpi_tables *t, const struct acpi_config *cfg)
{
    static const uint8_t level_irqs[] = { 5, 9, 10, 11 };
    size_t len = 44 + cfg->cpus * 8 + 12 + 10 * (1 + ARRAY_SIZE(level_irqs)) + 6;
    uint32_t off = table_begin(t, "APIC", len, 3, 16);
    uint8_t *p = t->data[ACPI_BLOB_TABLES] + off, *e = p + 44;

    stl_le(p + 36, LAPIC_ADDR);
    stl_le(p + 40, 1);      /* PCAT_COMPAT: there are 8259s too */
    for (int i = 0; i < cfg->cpus; i++) {
        e[0] = 0;           /* processor local APIC */
        e[1] = 8;
        e[2] = i;           /* ACPI processor UID */
        e[3] = cfg->apic_ids[i];
        stl_le(e + 4, 1);   /* enabled */
        e += 8;
    }
    e[0] = 1;               /* I/O APIC */
    e[1] = 12;
    e[2] = 0;               /* the in-kernel IOAPIC's id */
    stl_le(e + 4, IOAPIC_ADDR);
    stl_le(e + 8, 0);       /* GSI base */
    e += 12;
    e[0] = 2;               /* interrupt source override: ISA IRQ 0 is GSI 2 */
    e[1] = 10;
    e[2] = 0;
    e[3] = 0;
    stl_le(e + 4, 2);
    stw_le(e + 8, 0);
    e += 10;
    for (size_t i = 0; i < ARRAY_SIZE(level_irqs); i++) {
        e[0] = 2;           /* PCI and SCI interrupts: level triggered, active high */
        e[1] = 10;
        e[2] = 0;
        e[3] = level_irqs[i];
        stl_le(e + 4, level_irqs[i]);
        stw_le(e + 8, 0x000d);
        e += 10;
    }
    e[0] = 4;               /* local APIC NMI on LINT1 of every processor */
    e[1] = 6;
    e[2] = 0xff;
    stw_le(e + 3, 0);
    e[5] = 1;
    return off;
}

void acpi_build(struct acpi_tables *t, const struct acpi_config *cfg)
{
    uint32_t facs, dsdt, fadt, madt, xsdt, rsdt, rsdp;

    memset(t, 0, sizeof(*t));
    facs = build_facs(t);
    dsdt = build_dsdt(t);
    fadt = build_fadt(t, cfg, facs, dsdt);
    madt = build_madt(t, cfg);

    xsdt = table_begin(t, "XSDT", 36 + 2 * 8, 1, 16);
    add_pointer(t, ACPI_BLOB_TABLES, xsdt + 36, 8, ACPI_BLOB_TABLES, fadt);
    add_pointer(t, ACPI_BLOB_TABLES, xsdt + 44, 8, ACPI_BLOB_TABLES, madt);
    rsdt = table_begin(t, "RSDT", 36 + 2 * 4, 1, 16);
    add_pointer(t, ACPI_BLOB_TABLES, rsdt + 36, 4, ACPI_BLOB_TABLES, fadt);
    add_pointer(t, ACPI_BLOB_TABLES, rsdt + 40, 4, ACPI_BLOB_TABLES, madt);

    /* RSDP (ACPI 6.4 section 5.2.5.3), revision 2 */
    rsdp = blob_alloc(t, ACPI_BLOB_RSDP, 36, 16);
    memcpy(t->data[ACPI_BLOB_RSDP] + rsdp, "RSD PTR ", 8);
    memcpy(t->data[ACPI_BLOB_RSDP] + rsdp + 9, "SKIFF ", 6);
    t->data[ACPI_BLOB_RSDP][rsdp + 15] = 2;
    stl_le(t->data[ACPI_BLOB_RSDP] + rsdp + 20, 36);
    add_pointer(t, ACPI_BLOB_RSDP, rsdp + 16, 4, ACPI_BLOB_TABLES, rsdt);
    add_pointer(t, ACPI_BLOB_RSDP, rsdp + 24, 8, ACPI_BLOB_TABLES, xsdt);
    add_checksum(t, ACPI_BLOB_RSDP, rsdp, 20, rsdp + 8);       /* ACPI 1.0 part */
    add_checksum(t, ACPI_BLOB_RSDP, rsdp, 36, rsdp + 32);      /* extended checksum */
}

void acpi_tables_free(struct acpi_tables *t)
{
    for (int i = 0; i < ACPI_BLOB_MAX; i++)
        free(t->data[i]);
    free(t->ptrs);
    free(t->sums);
    memset(t, 0, sizeof(*t));
}

int acpi_link_into_guest(struct acpi_tables *t, const uint64_t base[ACPI_BLOB_MAX])
{
    for (int i = 0; i < t->nptrs; i++) {
        struct acpi_pointer *p = &t->ptrs[i];
        uint8_t *f = t->data[p->blob] + p->offset;

        if (p->size == 4)
            stl_le(f, ldl_le(f) + (uint32_t)base[p->target]);
        else
            stq_le(f, ldq_le(f) + base[p->target]);
    }
    /* checksums in order: the RSDP's 20-byte sum comes before its 36-byte sum */
    for (int i = 0; i < t->nsums; i++) {
        struct acpi_checksum *c = &t->sums[i];
        uint8_t *d = t->data[c->blob], sum = 0;

        d[c->offset] = 0;
        for (uint32_t k = 0; k < c->length; k++)
            sum += d[c->start + k];
        d[c->offset] = -sum;
    }
    for (int b = 0; b < ACPI_BLOB_MAX; b++)
        if (gmem_write(base[b], t->data[b], t->len[b]) < 0)
            return -EFAULT;
    return 0;
}

/* ---- the table-loader (QEMU hw/acpi/bios-linker-loader.c's command format) ---- */

#define LOADER_ENTRY_SIZE   128
#define LOADER_FILESZ       56
#define LOADER_ALLOCATE     1
#define LOADER_ADD_POINTER  2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH    1
#define LOADER_ZONE_FSEG    2

const char *const acpi_blob_file[ACPI_BLOB_MAX] = {
    [ACPI_BLOB_RSDP] = ACPI_FILE_RSDP,
    [ACPI_BLOB_TABLES] = ACPI_FILE_TABLES,
};

static uint8_t *loader_entry(uint8_t **script, size_t *len, uint32_t command)
{
    uint8_t *e;

    *script = xrealloc(*script, *len + LOADER_ENTRY_SIZE);
    e = *script + *len;
    memset(e, 0, LOADER_ENTRY_SIZE);
    stl_le(e, command);
    *len += LOADER_ENTRY_SIZE;
    return e;
}

void acpi_table_loader(const struct acpi_tables *t, uint8_t **script, size_t *len)
{
    uint8_t *e;

    *script = NULL;
    *len = 0;
    for (int b = 0; b < ACPI_BLOB_MAX; b++) {
        e = loader_entry(script, len, LOADER_ALLOCATE);
        snprintf((char *)e + 4, LOADER_FILESZ, "%s", acpi_blob_file[b]);
        /* the FACS in the tables blob needs 64-byte alignment; the RSDP lives in the F segment */
        stl_le(e + 4 + LOADER_FILESZ, b == ACPI_BLOB_RSDP ? 16 : 64);
        e[8 + LOADER_FILESZ] = b == ACPI_BLOB_RSDP ? LOADER_ZONE_FSEG : LOADER_ZONE_HIGH;
    }
    for (int i = 0; i < t->nptrs; i++) {
        const struct acpi_pointer *p = &t->ptrs[i];

        e = loader_entry(script, len, LOADER_ADD_POINTER);
        snprintf((char *)e + 4, LOADER_FILESZ, "%s", acpi_blob_file[p->blob]);
        snprintf((char *)e + 4 + LOADER_FILESZ, LOADER_FILESZ, "%s", acpi_blob_file[p->target]);
        stl_le(e + 4 + 2 * LOADER_FILESZ, p->offset);
        e[8 + 2 * LOADER_FILESZ] = p->size;
    }
    for (int i = 0; i < t->nsums; i++) {
        const struct acpi_checksum *c = &t->sums[i];

        e = loader_entry(script, len, LOADER_ADD_CHECKSUM);
        snprintf((char *)e + 4, LOADER_FILESZ, "%s", acpi_blob_file[c->blob]);
        stl_le(e + 4 + LOADER_FILESZ, c->offset);
        stl_le(e + 8 + LOADER_FILESZ, c->start);
        stl_le(e + 12 + LOADER_FILESZ, c->length);
    }
}
