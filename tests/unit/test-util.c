/* test-util.c: option strings, sizes and numbers as the command line takes them; SHA-256 vectors */
#include "util/opts.h"
#include "util/sha256.h"
#include "tests/unit/tap.h"

static void test_sizes(void)
{
    uint64_t v;

    CHECK(parse_size("512", MiB, &v) == 0 && v == 512 * MiB, "-m 512 means 512 MiB");
    CHECK(parse_size("2G", MiB, &v) == 0 && v == 2 * GiB, "-m 2G means 2 GiB");
    CHECK(parse_size("1.5G", MiB, &v) == 0 && v == 3 * GiB / 2, "-m 1.5G means 1.5 GiB");
    CHECK(parse_size("64k", 1, &v) == 0 && v == 64 * KiB, "64k is 64 KiB");
    CHECK(parse_size("10MiB", 1, &v) == 0 && v == 10 * MiB, "10MiB is understood");
    CHECK(parse_size("-5", MiB, &v) < 0, "a negative size is refused");
    CHECK(parse_size("12Q", MiB, &v) < 0, "an unknown suffix is refused");
    CHECK(parse_size("", MiB, &v) < 0, "an empty size is refused");
    CHECK(parse_size("99999999999999E", 1, &v) == -ERANGE, "a size beyond 64 bits is refused");
    CHECK(parse_uint("0x3f8", &v) == 0 && v == 0x3f8, "hex numbers parse");
    CHECK(parse_uint("12abc", &v) < 0, "trailing garbage in a number is refused");
}

static void test_opts(void)
{
    char *err = NULL;
    struct opts *o = opts_parse("isa-serial,iobase=0x2f8,chardev=c,,1,flag", "driver", &err);
    bool b = false;
    uint64_t v = 0;

    CHECK(o != NULL, "a -device option string parses");
    CHECK(o && !strcmp(opts_get(o, "driver"), "isa-serial"), "the first element is the implied key");
    CHECK(o && opts_get_uint(o, "iobase", &v) == 0 && v == 0x2f8, "key=value numbers are read");
    CHECK(o && !strcmp(opts_get(o, "chardev"), "c,1"), "',,' is a literal comma");
    CHECK(o && opts_get_bool(o, "flag", &b) == 0 && b, "a bare word means on");
    CHECK(o && opts_first_unused(o) == NULL, "every key was consumed");
    opts_free(o);
    o = opts_parse("a=1,b=2", NULL, &err);
    opts_get(o, "a");
    CHECK(o && !strcmp(opts_first_unused(o), "b"), "unused keys are reported, so they can be refused");
    opts_free(o);
    o = opts_parse("a=1,a=2", NULL, &err);
    CHECK(o && !strcmp(opts_get(o, "a"), "2"), "the last repeated key wins, as in QEMU");
    opts_free(o);
    o = opts_parse("x=yes", NULL, &err);
    CHECK(o && opts_get_bool(o, "x", &b) == 0 && b, "yes is a boolean");
    opts_free(o);
    o = opts_parse("x=maybe", NULL, &err);
    CHECK(o && opts_get_bool(o, "x", &b) < 0, "maybe is not a boolean");
    opts_free(o);
    o = opts_parse("=3", NULL, &err);
    CHECK(o == NULL && err != NULL, "an empty key is an error with a message");
    free(err);
}

static void test_sha256(void)
{
    char hex[65];

    /* FIPS 180-2 appendix B vectors */
    sha256_hex("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "SHA-256 of \"abc\" matches FIPS 180-2");
    sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
          "SHA-256 of the two-block vector matches");
    {
        struct sha256 s;
        uint8_t d[32], a[1000];

        memset(a, 'a', sizeof(a));
        sha256_init(&s);
        for (int i = 0; i < 1000; i++)
            sha256_update(&s, a, sizeof(a));
        sha256_final(&s, d);
        CHECK(d[0] == 0xcd && d[1] == 0xc7 && d[31] == 0xd0, "SHA-256 of a million 'a' matches");
    }
}

int main(void)
{
    test_sizes();
    test_opts();
    test_sha256();
    return tap_done();
}
