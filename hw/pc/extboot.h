/* extboot.h: the extboot device, which serves the BIOS disk calls of its option ROM for one drive, as the board hands its ROM and boot order to the firmware */
#ifndef HW_PC_EXTBOOT_H
#define HW_PC_EXTBOOT_H

#include "util/osdep.h"

/* The ROM's name in fw_cfg, and its path in the firmware's boot order (QEMU's for a genroms ROM) */
#define EXTBOOT_ROM_FILE "genroms/extboot.bin"
#define EXTBOOT_BOOT_PATH "/rom@" EXTBOOT_ROM_FILE
/* The port the ROM asks (roms/extboot.S, docs/extboot.md) */
#define EXTBOOT_PORT 0x404

/* At machine-done: the extboot device for the drive given -drive boot=on, if any (start-up: dies when it cannot be made). */
void extboot_machine_done(void);
/* Whether there is an extboot device, and whether it boots first (-drive boot=on). */
bool extboot_present(void);
bool extboot_boot_first(void);
/* The option ROM image, built from roms/extboot.S */
const uint8_t *extboot_rom(size_t *len);

#endif
