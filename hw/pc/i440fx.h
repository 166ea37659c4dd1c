/* i440fx.h: what the board tells the i440FX host bridge, and its register values */
#ifndef HW_PC_I440FX_H
#define HW_PC_I440FX_H

#include "util/osdep.h"

struct device;
struct ram_region;

/* 82441FX configuration registers (82441FX PMC datasheet section 3.2) */
#define I440FX_PAM0         0x59    /* PAM0..PAM6: 0x59..0x5f */
#define I440FX_PAM_COUNT    7
#define I440FX_SMRAM        0x72

/* PAM attribute nibble (section 3.2.18): reads and writes reach DRAM, or go to PCI */
#define PAM_RE              0x1
#define PAM_WE              0x2
#define PAM_RW              (PAM_RE | PAM_WE)

/* SMRAM register bits (section 3.2.26) */
#define SMRAM_C_BASE_SEG    0x02    /* the compatible SMRAM is at 0xa0000 */
#define SMRAM_G_SMRAME      0x08
#define SMRAM_D_LCK         0x10
#define SMRAM_D_CLS         0x20
#define SMRAM_D_OPEN        0x40

/*
 * The BIOS image's last 128 KiB, which the ISA side shows at 0xe0000-0xfffff while
 * the PAM registers send those addresses to PCI (as after a reset). hva is page aligned.
 */
void i440fx_set_isa_bios(struct device *dev, struct ram_region *bios, uint64_t offset);

#endif
