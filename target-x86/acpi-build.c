/* acpi-build.c: RSDP, RSDT, XSDT, FADT, FACS, MADT and DSDT (ACPI 6.x chapter 5), as relocatable blobs */
#define LOG_PREFIX "acpi: "
#include "target-x86/acpi-build.h"
#include "hw/core/guest-mem.h"
#include "target-x86/aml.h"
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

/* The interrupt link devices (PNP0C0F) over PIIX3's PIRQRC[A-D], for \_SB.PCI0._PRT. */
static const char *const link_names[4] = { "LNKA", "LNKB", "LNKC", "LNKD" };
static const uint32_t link_irqs[3] = { 5, 10, 11 };

static struct aml *build_link(int i)
{
    struct aml *d = aml_device(link_names[i]), *m;
    struct resources r = { 0 };
    char prq[32];

    snprintf(prq, sizeof(prq), "\\_SB.PCI0.ISA.PRQ%d", i);
    aml_append(d, aml_name_decl("_HID", aml_eisaid("PNP0C0F")));
    aml_append(d, aml_name_decl("_UID", aml_int(i)));
    res_interrupts(&r, true, false, true, link_irqs, ARRAY_SIZE(link_irqs));
    aml_append(d, aml_name_decl("_PRS", aml_resource_template(&r)));
    m = aml_method("_STA", 0, false);
    aml_append(m, aml_return(aml_call1("IQST", aml_name(prq))));
    aml_append(d, m);
    /* _DIS sets the route's disable bit */
    m = aml_method("_DIS", 0, false);
    aml_append(m, aml_or(aml_name(prq), aml_int(0x80), aml_name(prq)));
    aml_append(d, m);
    m = aml_method("_CRS", 0, false);
    aml_append(m, aml_return(aml_call1("IQCR", aml_name(prq))));
    aml_append(d, m);
    /* _SRS: the interrupt number is the dword at offset 5 of the descriptor */
    m = aml_method("_SRS", 1, false);
    aml_append(m, aml_create_dword_field(aml_arg(0), aml_int(5), "PRRI"));
    aml_append(m, aml_store(aml_name("PRRI"), aml_name(prq)));
    aml_append(d, m);
    return d;
}

/* ISA devices an OS finds through ACPI PNP: the i8042 (keyboard, mouse) and the RTC. */
static struct aml *build_isa_device(const char *name, const char *hid, uint16_t port,
                                    uint8_t len, uint16_t port2, uint16_t irq_mask)
{
    struct aml *d = aml_device(name);
    struct resources r = { 0 };

    aml_append(d, aml_name_decl("_HID", aml_eisaid(hid)));
    if (len)
        res_io(&r, port, len);
    if (port2)
        res_io(&r, port2, 1);
    res_irq_noflags(&r, irq_mask);
    aml_append(d, aml_name_decl("_CRS", aml_resource_template(&r)));
    return d;
}

/* A sleep state's package (ACPI 6.4 7.4.2): SLP_TYPa, SLP_TYPb (no PM1b here: the same), two
 * reserved */
static struct aml *build_sleep_package(unsigned typ)
{
    struct aml *p = aml_package(4);

    aml_append(p, aml_int(typ));
    aml_append(p, aml_int(typ));
    aml_append(p, aml_int(0));
    aml_append(p, aml_int(0));
    return p;
}

/*
 * DSDT (ACPI 6.4 5.2.11.1): \_SB.PCI0 (the host bridge, its windows and _PRT), the PIIX3
 * with its PIRQ route registers, the link devices, ISA devices, the PM's I/O as motherboard
 * resources, and \_S3, \_S4 and \_S5 for suspend to RAM, hibernation and poweroff (PM1_CNT's
 * SLP_TYP). The power button is the fixed one.
 */
static uint32_t build_dsdt(struct acpi_tables *t, const struct acpi_config *cfg)
{
    struct aml *body = aml_block_new(), *sb = aml_scope("\\_SB"), *pci = aml_device("PCI0");
    struct aml *isa, *prt, *f, *m, *ifs, *res;
    struct resources r = { 0 };
    uint8_t *aml;
    size_t len;
    uint32_t off;

    /* IQST: a route's _STA; IQCR: its current interrupt as a resource template */
    m = aml_method("IQST", 1, false);
    ifs = aml_if(aml_and(aml_int(0x80), aml_arg(0), NULL));
    aml_append(ifs, aml_return(aml_int(0x09)));
    aml_append(m, ifs);
    aml_append(m, aml_return(aml_int(0x0b)));
    aml_append(sb, m);
    m = aml_method("IQCR", 1, true);
    res_interrupts(&r, true, false, true, (const uint32_t[]){ 0 }, 1);
    aml_append(m, aml_name_decl("PRR0", aml_resource_template(&r)));
    aml_append(m, aml_create_dword_field(aml_name("PRR0"), aml_int(5), "PRRI"));
    ifs = aml_if(aml_lless(aml_arg(0), aml_int(0x80)));
    aml_append(ifs, aml_store(aml_and(aml_arg(0), aml_int(0x0f), NULL), aml_name("PRRI")));
    aml_append(m, ifs);
    aml_append(m, aml_return(aml_name("PRR0")));
    aml_append(sb, m);

    aml_append(pci, aml_name_decl("_HID", aml_eisaid("PNP0A03")));
    aml_append(pci, aml_name_decl("_UID", aml_int(0)));
    res_word_bus(&r, 0, 0xff);
    res_io(&r, 0xcf8, 8);
    res_word_io(&r, 0x0000, 0x0cf7);
    res_word_io(&r, 0x0d00, 0xffff);
    res_dword_mem(&r, 0xa0000, 0xbffff, true);
    res_dword_mem(&r, cfg->pci_hole_start, 0xfebfffff, false);
    aml_append(pci, aml_name_decl("_CRS", aml_resource_template(&r)));
    /* slot S pin P is PIRQ (S + P - 1) mod 4 on this board */
    prt = aml_package(128);
    for (int slot = 0; slot < 32; slot++) {
        for (int pin = 0; pin < 4; pin++) {
            struct aml *e = aml_package(4);

            aml_append(e, aml_int((uint32_t)slot << 16 | 0xffff));
            aml_append(e, aml_int(pin));
            aml_append(e, aml_name(link_names[(slot + pin - 1) & 3]));
            aml_append(e, aml_int(0));
            aml_append(prt, e);
        }
    }
    aml_append(pci, aml_name_decl("_PRT", prt));

    isa = aml_device("ISA");
    aml_append(isa, aml_name_decl("_ADR", aml_int(0x00010000)));
    aml_append(isa, aml_operation_region("P40C", AML_PCI_CONFIG, 0x60, 4));
    f = aml_field("P40C", AML_FIELD_BYTE_ACC);
    for (int i = 0; i < 4; i++) {
        char n[5];

        snprintf(n, sizeof(n), "PRQ%d", i);
        aml_field_unit(f, n, 8);
    }
    aml_append(isa, f);
    aml_append(isa, build_isa_device("KBD", "PNP0303", 0x60, 1, 0x64, 1u << 1));
    aml_append(isa, build_isa_device("MOU", "PNP0F13", 0, 0, 0, 1u << 12));
    aml_append(isa, build_isa_device("RTC", "PNP0B00", 0x70, 2, 0, 1u << 8));
    aml_append(pci, isa);

    /* the PM, GPE0, APM and fw_cfg ports: not for PCI BARs */
    res = aml_device("PRES");
    aml_append(res, aml_name_decl("_HID", aml_eisaid("PNP0C02")));
    aml_append(res, aml_name_decl("_UID", aml_int(1)));
    res_io(&r, ACPI_PM_BASE, 64);
    res_io(&r, ACPI_GPE0_BLK, ACPI_GPE0_LEN);
    res_io(&r, 0xb2, 2);
    res_io(&r, 0x510, 12);
    aml_append(res, aml_name_decl("_CRS", aml_resource_template(&r)));
    aml_append(pci, res);
    aml_append(sb, pci);
    for (int i = 0; i < 4; i++)
        aml_append(sb, build_link(i));
    aml_append(body, sb);

    /* as QEMU's PIIX4 board: S3 and S4 unless disabled, S5 always */
    if (!cfg->disable_s3)
        aml_append(body, aml_name_decl("\\_S3", build_sleep_package(ACPI_SLP_TYP_S3)));
    if (!cfg->disable_s4)
        aml_append(body, aml_name_decl("\\_S4", build_sleep_package(ACPI_SLP_TYP_S4)));
    aml_append(body, aml_name_decl("\\_S5", build_sleep_package(ACPI_SLP_TYP_S5)));

    aml = aml_finish(body, &len);
    off = table_begin(t, "DSDT", 36 + len, 2, 16);
    memcpy(t->data[ACPI_BLOB_TABLES] + off + 36, aml, len);
    free(aml);
    return off;
}

/* FACS (ACPI 6.4 section 5.2.10): no checksum, 64-byte aligned; the OS writes its waking vector
 * here before it suspends, and the firmware (or, booting without one, skiff) jumps there. */
static uint32_t build_facs(struct acpi_tables *t)
{
    uint32_t off = blob_alloc(t, ACPI_BLOB_TABLES, ACPI_FACS_LEN, 64);
    uint8_t *p = t->data[ACPI_BLOB_TABLES] + off;

    memcpy(p, "FACS", 4);
    stl_le(p + 4, ACPI_FACS_LEN);
    t->facs = off;
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
    stw_le(f + 109, 0x0003);    /* IAPC_BOOT_ARCH: LEGACY_DEVICES, 8042 */
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
    dsdt = build_dsdt(t, cfg);
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
        uint8_t *d = t->data[c->blob];

        d[c->offset] = 0;
        d[c->offset] = checksum_zero(d + c->start, c->length);
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
