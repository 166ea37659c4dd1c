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
    return tap_done();
}
