/* test-aml.c: the AML encoder's bytes, and the DSDT as ACPICA's iasl reads it back */
#include "target-x86/acpi-build.h"
#include "target-x86/aml.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <unistd.h>

static bool encodes(struct aml *a, const uint8_t *want, size_t n)
{
    size_t len;
    uint8_t *d = aml_finish(a, &len);
    bool ok = len == n && !memcmp(d, want, n);

    free(d);
    return ok;
}

static struct aml *one(struct aml *t)
{
    struct aml *b = aml_block_new();

    aml_append(b, t);
    return b;
}

int main(void)
{
    struct aml *b;
    char *dir = tap_tmp_path("skiff-aml.XXXXXX");

    CHECK(encodes(one(aml_int(0)), (const uint8_t[]){ 0x00 }, 1), "0 is ZeroOp");
    CHECK(encodes(one(aml_int(0x1234)), (const uint8_t[]){ 0x0b, 0x34, 0x12 }, 3), "0x1234 is a WordConst");
    CHECK(encodes(one(aml_eisaid("PNP0A03")), (const uint8_t[]){ 0x0c, 0x41, 0xd0, 0x0a, 0x03 }, 5),
          "EisaId(\"PNP0A03\") is 0x030ad041");
    CHECK(encodes(one(aml_name("\\_SB.PCI0")), (const uint8_t[]){ '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0' }, 10),
          "\\_SB.PCI0 is a rooted DualNamePath with padded segments");
    CHECK(encodes(one(aml_name("A.B.C")), (const uint8_t[]){ 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_' }, 14),
          "three segments are a MultiNamePath");
    b = aml_block_new();
    {
        struct aml *s = aml_scope("S");
        uint8_t big[100] = { 0 };

        aml_append(s, aml_buffer(big, sizeof(big)));
        aml_append(b, s);
    }
    {
        size_t len;
        uint8_t *d = aml_finish(b, &len);

        /* Scope: 0x10, a two-byte PkgLength of 2 + 4 (name) + 105 (buffer) = 111 */
        CHECK(len == 112 && d[0] == 0x10 && d[1] == (0x40 | (111 & 0xf)) && d[2] == 111 >> 4,
              "a package over 63 bytes takes a two-byte PkgLength");
        free(d);
    }

    /* the DSDT through iasl, when ACPICA's tools are installed */
    if (system("command -v iasl >/dev/null 2>&1") == 0 && mkdtemp(dir)) {
        struct acpi_tables t;
        uint32_t ids[2] = { 0, 1 };
        struct acpi_config c = { .cpus = 2, .apic_ids = ids, .pci_hole_start = 0x40000000 };
        const uint8_t *d;
        char cmd[2048], path[1024];
        FILE *f;
        bool found = false;

        acpi_build(&t, &c);
        d = t.data[ACPI_BLOB_TABLES];
        for (size_t off = 0; off + 8 < t.len[ACPI_BLOB_TABLES]; off += 4) {
            if (memcmp(d + off, "DSDT", 4))
                continue;
            snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
            f = fopen(path, "wb");
            if (f) {
                fwrite(d + off, 1, ldl_le(d + off + 4), f);
                fclose(f);
                found = true;
            }
            break;
        }
        acpi_tables_free(&t);
        CHECK(found, "the tables hold a DSDT");
        snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >log 2>&1 && iasl -tc dsdt.dsl >>log 2>&1 && "
                 "grep -q '0 Errors' log && grep -q 'Device (LNKD)' dsdt.dsl && grep -q '_PRT' dsdt.dsl && "
                 "grep -q 'PNP0303' dsdt.dsl", dir);
        CHECK(found && system(cmd) == 0, "iasl disassembles the DSDT and compiles it back without errors "
              "(PCI0 with _PRT, LNKA-D, the keyboard)");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            CHECK(0, "clean up");
    } else {
        tap_skip("acpica-tools not installed", "iasl reads the DSDT back");
    }
    free(dir);
    return tap_done();
}
