/* mkbzimage.c: host tool: wrap real-mode setup code, a flat 64-bit kernel and a compressed payload into a bzImage (boot protocol 2.15) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    *len = n;
    return buf;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

/* usage: mkbzimage KERNEL64.bin PAYLOAD.compressed VERSION OUT SETUP16.bin */
#define SETUP_SECTS 3
#define SETUP_CODE 0x280    /* where the setup code goes: the jump at 0x200 leads there */
int main(int argc, char **argv)
{
    uint8_t setup[(SETUP_SECTS + 1) * 512] = { 0 };
    size_t klen, plen, slen, pm_len, payload_off;
    uint8_t *k, *p, *s, *pm;
    unsigned version;
    FILE *out;

    if (argc != 6) {
        fprintf(stderr, "usage: mkbzimage kernel64.bin payload version out setup16.bin\n");
        return 2;
    }
    k = slurp(argv[1], &klen);
    p = slurp(argv[2], &plen);
    s = slurp(argv[5], &slen);
    if (slen > sizeof(setup) - SETUP_CODE) {
        fprintf(stderr, "mkbzimage: %s is %zu bytes; the setup sectors hold %zu\n", argv[5], slen,
                sizeof(setup) - SETUP_CODE);
        return 1;
    }
    memcpy(setup + SETUP_CODE, s, slen);
    version = strtoul(argv[3], NULL, 0);
    /* protected-mode part: the kernel, then the payload 16-byte aligned */
    payload_off = (klen + 15) & ~(size_t)15;
    pm_len = payload_off + plen;
    pm = calloc(1, pm_len);
    memcpy(pm, k, klen);
    memcpy(pm + payload_off, p, plen);

    setup[0x1f1] = SETUP_SECTS;             /* setup_sects */
    put32(setup + 0x1f4, (pm_len + 15) / 16);   /* syssize */
    put16(setup + 0x1fe, 0xaa55);           /* boot_flag */
    setup[0x200] = 0xeb;                    /* jump */
    setup[0x201] = SETUP_CODE - 0x202;      /* to the setup code, past the header */
    memcpy(setup + 0x202, "HdrS", 4);
    put16(setup + 0x206, version);
    setup[0x211] = 0x01;                    /* loadflags: LOADED_HIGH */
    put32(setup + 0x214, 0x100000);         /* code32_start */
    put32(setup + 0x22c, 0x7fffffff);       /* initrd_addr_max */
    put32(setup + 0x230, 0x200000);         /* kernel_alignment */
    setup[0x234] = 0;                       /* relocatable_kernel */
    put16(setup + 0x236, 0x0003);           /* xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G */
    put32(setup + 0x238, 2047);             /* cmdline_size */
    put32(setup + 0x248, payload_off);      /* payload_offset */
    put32(setup + 0x24c, plen);             /* payload_length */
    put64(setup + 0x258, 0x100000);         /* pref_address */
    put32(setup + 0x260, (pm_len + 0x400000) & ~0xfffu);   /* init_size */
    out = fopen(argv[4], "wb");
    if (!out || fwrite(setup, 1, sizeof(setup), out) != sizeof(setup) ||
        fwrite(pm, 1, pm_len, out) != pm_len || fclose(out)) {
        perror(argv[4]);
        return 1;
    }
    return 0;
}
