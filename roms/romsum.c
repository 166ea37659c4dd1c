/* romsum.c: make a flat image an option ROM a BIOS runs: padded to whole 512-byte blocks, the block count in byte 2, and a last byte that makes all bytes sum to zero */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
#define ROM_MAX (128 * BLOCK)       /* byte 2 counts to 255 blocks; an option ROM stays far below */

int main(int argc, char **argv)
{
    static uint8_t rom[ROM_MAX + 1];
    size_t len, size;
    uint8_t sum = 0;
    FILE *in, *out;

    if (argc != 3) {
        fprintf(stderr, "usage: romsum FLAT-IMAGE ROM\n");
        return 2;
    }
    in = fopen(argv[1], "rb");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    len = fread(rom, 1, sizeof(rom), in);
    fclose(in);
    if (len < 3 || rom[0] != 0x55 || rom[1] != 0xaa) {
        fprintf(stderr, "romsum: %s does not start with an option ROM's 0x55 0xaa\n", argv[1]);
        return 1;
    }
    /* the last byte is the checksum's, so the code must leave it free */
    size = (len / BLOCK + 1) * BLOCK;
    if (size > ROM_MAX) {
        fprintf(stderr, "romsum: %s is %zu bytes; an option ROM here is at most %d\n", argv[1], len,
                ROM_MAX - 1);
        return 1;
    }
    memset(rom + len, 0, size - len);
    rom[2] = size / BLOCK;
    for (size_t i = 0; i < size - 1; i++)
        sum += rom[i];
    rom[size - 1] = -sum;
    out = fopen(argv[2], "wb");
    if (!out || fwrite(rom, 1, size, out) != size || fclose(out) != 0) {
        perror(argv[2]);
        return 1;
    }
    return 0;
}
