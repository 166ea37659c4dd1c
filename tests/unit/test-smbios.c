/* test-smbios.c: the SMBIOS builder: what dmidecode would read of a large machine holds together */
#include "target-x86/smbios.h"
#include "tests/unit/tap.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

/* string N (from 1) of the structure at P, or NULL */
static const char *string_of(const uint8_t *p, const uint8_t *end, uint8_t n)
{
    const char *s = (const char *)p + p[1];

    if (!n)
        return NULL;
    while (--n && (const uint8_t *)s < end)
        s += strlen(s) + 1;
    return (const uint8_t *)s < end && *s ? s : NULL;
}

/* the structure of TYPE in T, or NULL */
static const uint8_t *find_type(const struct smbios_tables *t, uint8_t type)
{
    const uint8_t *p = t->data, *end = t->data + t->len;

    while (p + 4 <= end && p[0] != type) {
        const uint8_t *s = p + p[1];

        while (s + 1 < end && (s[0] || s[1]))
            s++;
        p = s + 2;
    }
    return p + 4 <= end ? p : NULL;
}

/* -smbios SPEC fails with an error holding WANT */
static void refused(const char *spec, const char *want, const char *what)
{
    char *err = NULL;
    int r = smbios_option(spec, &err);

    CHECK(r < 0 && err && strstr(err, want), "%s is refused: %s", what, err ? err : "(no error)");
    free(err);
}

/* -smbios and -uuid as a management tool would pass them */
static void user_strings(void)
{
    struct cpu_topology topo = { .cpus = 1, .sockets = 1, .cores = 1, .threads = 1 };
    struct smbios_config c = { .topo = &topo, .ram_below_4g = 512 * MiB };
    static const uint8_t le[16] = { 0x67, 0x45, 0x3e, 0x12, 0x9b, 0xe8, 0xd3, 0x12,
                                    0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00 };
    struct smbios_tables t;
    const uint8_t *p1, *p3, *end;
    uint8_t raw[16];
    char *err = NULL;
    const char *m, *prod, *ser, *asset;

    CHECK(smbios_option("type=1,manufacturer=Acme,serial=X1,version=,"
                        "uuid=123e4567-e89b-12d3-a456-426614174000", &err) == 0 &&
          smbios_option("type=3,asset=RACK-7", &err) == 0, "-smbios type=1,... and type=3,... are taken");
    smbios_build(&t, &c);
    end = t.data + t.len;
    p1 = find_type(&t, 1);
    p3 = find_type(&t, 3);
    m = p1 ? string_of(p1, end, p1[4]) : NULL;
    prod = p1 ? string_of(p1, end, p1[5]) : NULL;
    ser = p1 ? string_of(p1, end, p1[7]) : NULL;
    CHECK(m && !strcmp(m, "Acme") && ser && !strcmp(ser, "X1"), "type 1 has the maker and serial given");
    CHECK(prod && !strcmp(prod, "Standard PC (i440FX + PIIX, 1996)"), "and the default product");
    CHECK(p1 && p1[6] == 0, "an empty version= leaves the version out");
    CHECK(p1 && !memcmp(p1 + 8, le, 16), "the UUID is stored with its first three fields little-endian (7.2.1)");
    smbios_get_uuid(raw);
    CHECK(raw[0] == 0x12 && raw[15] == 0x00 && raw[6] == 0x12 && raw[7] == 0xd3,
          "fw_cfg gets the UUID in RFC 4122 byte order");
    asset = p3 ? string_of(p3, end, p3[8]) : NULL;
    CHECK(asset && !strcmp(asset, "RACK-7") && !strcmp(string_of(p3, end, p3[4]), "skiff"),
          "type 3 has the asset tag given and the default maker");
    smbios_tables_free(&t);
    refused("type=2,manufacturer=x", "type=1", "another type");
    refused("type=1,colour=red", "colour", "an unknown field");
    refused("type=1,uuid=123e4567-e89b-12d3-a456-42661417400", "not a UUID", "a UUID one digit short");
    refused("type=1,uuid=123e4567xe89b-12d3-a456-426614174000", "not a UUID", "a UUID without a dash");
    smbios_options_reset();
}

int main(void)
{
    /* 2 sockets of 4 cores x 2 threads, 3 GiB below 4 GiB and 37 GiB above: 40 GiB in all */
    struct cpu_topology topo = { .cpus = 16, .sockets = 2, .cores = 4, .threads = 2 };
    struct smbios_config c = { .topo = &topo, .ram_below_4g = 3 * GiB, .ram_above_4g = 37 * GiB,
                               .cpuid_signature = 0x000806f8, .cpuid_features = 0x078bfbff };
    struct smbios_tables t;
    const uint8_t *a, *p, *end;
    int count = 0, n4 = 0, n17 = 0, n19 = 0, well_formed = 1, last = -1;
    size_t max = 0;
    uint64_t dimm_mib = 0, above_start = 0, above_end = 0;

    smbios_build(&t, &c);
    a = t.anchor;
    CHECK(!memcmp(a, "_SM_", 4) && !memcmp(a + 0x10, "_DMI_", 5) && a[5] == 0x1f,
          "the entry point has both anchors and its length");
    CHECK(sum(a, 0x10) == 0 && sum(a + 0x10, 0x0f) == 0, "both entry point checksums hold");
    CHECK(a[6] == 2 && a[7] == 8 && a[0x1e] == 0x28, "it says SMBIOS 2.8");
    CHECK(lduw_le(a + 0x16) == t.len, "it gives the structure table's length (%zu)", t.len);

    end = t.data + t.len;
    for (p = t.data; p + 4 <= end; ) {
        const uint8_t *s = p + p[1];

        while (s + 1 < end && (s[0] || s[1]))
            s++;
        if (s + 1 >= end || p[1] < 4) {
            well_formed = 0;
            break;
        }
        count++;
        max = MAX(max, (size_t)(s + 2 - p));
        last = p[0];
        if (p[0] == 1) {
            const char *m = string_of(p, end, p[4]), *prod = string_of(p, end, p[5]);

            CHECK(m && !strcmp(m, "skiff") && prod && !strcmp(prod, "Standard PC (i440FX + PIIX, 1996)"),
                  "type 1 names the maker skiff and the product");
        }
        if (p[0] == 4) {
            n4++;
            if (n4 == 2) {
                const char *sock = string_of(p, end, p[4]);

                CHECK(sock && !strcmp(sock, "CPU 1"), "the second processor is in socket \"CPU 1\"");
                CHECK(p[0x23] == 4 && p[0x25] == 8, "it has 4 cores and 8 threads (%d, %d)", p[0x23],
                      p[0x25]);
                CHECK(ldl_le(p + 8) == c.cpuid_signature, "its processor ID is CPUID 1's signature");
            }
        }
        if (p[0] == 17) {
            n17++;
            dimm_mib += lduw_le(p + 0x0c);
        }
        if (p[0] == 19 && ++n19 == 2) {
            above_start = (uint64_t)ldl_le(p + 4) * KiB;
            above_end = ((uint64_t)ldl_le(p + 8) + 1) * KiB;
        }
        p = s + 2;
    }
    CHECK(well_formed && p == end, "every structure ends in its double NUL, the last at the table's end");
    CHECK(last == 127, "the last is the end-of-table marker (type 127)");
    CHECK(count == lduw_le(a + 0x1c), "the entry point counts the %d structures", count);
    CHECK(max == lduw_le(a + 8), "and gives the largest one's size (%zu)", max);
    CHECK(n4 == 2, "one processor structure per socket (%d)", n4);
    CHECK(n17 == 3 && dimm_mib == 40 * 1024, "40 GiB as three memory devices of at most 16 GiB (%d, %" PRIu64 " MiB)",
          n17, dimm_mib);
    CHECK(n19 == 2 && above_start == 4 * GiB && above_end == 41 * GiB,
          "the RAM above 4 GiB is mapped at 4-41 GiB");
    smbios_tables_free(&t);
    user_strings();
    return tap_done();
}
