/* acpi-build.h: the one ACPI table generator, linked in place for direct boot or handed to firmware */
#ifndef TARGET_X86_ACPI_BUILD_H
#define TARGET_X86_ACPI_BUILD_H

#include "util/osdep.h"

/* ACPI I/O ports of the PIIX4 power management function, as QEMU places them. */
#define ACPI_PM_BASE        0x600
#define ACPI_PM1_EVT        (ACPI_PM_BASE + 0x00)   /* PM1a status (2) + enable (2) */
#define ACPI_PM1_CNT        (ACPI_PM_BASE + 0x04)
#define ACPI_PM_TMR         (ACPI_PM_BASE + 0x08)
#define ACPI_GPE0_BLK       0xafe0
#define ACPI_GPE0_LEN       4
#define ACPI_SCI_IRQ        9
/* The SLP_TYP values our \_S3, \_S4 and \_S5 name and PM1_CNT acts on: QEMU's PIIX4 ones */
#define ACPI_SLP_TYP_S3     1
#define ACPI_SLP_TYP_S4     2
#define ACPI_SLP_TYP_S5     0

/* FACS fields (ACPI 6.4 table 5.14) */
#define ACPI_FACS_LEN               64
#define ACPI_FACS_WAKING_VECTOR     12      /* 32 bits: real mode, CS = vector >> 4, IP = vector & 15 */
#define ACPI_FACS_X_WAKING_VECTOR   24      /* 64 bits: protected or long mode entry */

/*
 * Tables come as two blobs, like QEMU's fw_cfg files: "rsdp" (the RSDP alone) and
 * "tables" (everything else). Where a table points at another, the pointer field
 * holds the offset in the target blob and a fixup records that the blob's base
 * address must be added; checksums are computed after that.
 */
enum acpi_blob_id { ACPI_BLOB_RSDP, ACPI_BLOB_TABLES, ACPI_BLOB_MAX };

struct acpi_pointer {
    enum acpi_blob_id blob;     /* where the pointer field is */
    uint32_t offset;
    uint8_t size;               /* 4 or 8 */
    enum acpi_blob_id target;   /* what it points into */
};

struct acpi_checksum {
    enum acpi_blob_id blob;
    uint32_t start, length;     /* summed range */
    uint32_t offset;            /* the checksum byte */
};

struct acpi_tables {
    uint8_t *data[ACPI_BLOB_MAX];
    size_t len[ACPI_BLOB_MAX];
    uint32_t facs;              /* where the FACS is in the tables blob (its waking vector) */
    struct acpi_pointer *ptrs;
    int nptrs;
    struct acpi_checksum *sums;
    int nsums;
};

struct acpi_config {
    int cpus;
    const uint32_t *apic_ids;
    bool sci_enabled_at_boot;   /* direct boot: no firmware switches the PM to ACPI mode */
    uint32_t pci_hole_start;    /* the PCI memory window: from the end of low RAM to the IOAPIC */
    bool disable_s3, disable_s4;    /* -global PIIX4_PM.disable_s3=1: no \_S3 in the DSDT (QEMU's) */
};

void acpi_build(struct acpi_tables *t, const struct acpi_config *cfg);
void acpi_tables_free(struct acpi_tables *t);
/* Direct boot: place the blobs at these guest addresses, apply fixups and checksums, copy in. */
int acpi_link_into_guest(struct acpi_tables *t, const uint64_t base[ACPI_BLOB_MAX]);

/* Firmware boot: the blobs as fw_cfg files, and the script that links them */
#define ACPI_FILE_RSDP      "etc/acpi/rsdp"
#define ACPI_FILE_TABLES    "etc/acpi/tables"
#define ACPI_FILE_LOADER    "etc/table-loader"
extern const char *const acpi_blob_file[ACPI_BLOB_MAX];
/*
 * The table-loader script (QEMU's BIOS linker/loader commands, as SeaBIOS and OVMF run
 * them): allocate each blob (the RSDP in the F segment), add the blobs' addresses to the
 * pointer fields, then compute the checksums. *script is to free.
 */
void acpi_table_loader(const struct acpi_tables *t, uint8_t **script, size_t *len);

/* The MP table (Intel MP spec 1.4) at addr: floating pointer and configuration table. */
int mptable_write(uint64_t addr, int cpus, const uint32_t *apic_ids);

#endif
