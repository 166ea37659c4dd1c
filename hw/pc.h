/* pc.h: the PC board: RAM layout, the devices every PC has, and booting */
#ifndef HW_PC_H
#define HW_PC_H

#include "util/osdep.h"

struct chardev;

#define PC_MAX_SERIAL 4

struct pc_options {
    struct chardev *serial[PC_MAX_SERIAL];  /* COM1..COM4, NULL for none */
    const char *kernel_cache_dir;           /* NULL: do not cache unpacked kernels */
    bool kernel_unpack;
};

/* Build the board: RAM, interrupt lines, system devices, serial ports. Dies on start-up errors. */
void pc_init(const struct pc_options *opts);
/* Load what boots (the kernel now; firmware later) and set the boot CPU's entry. 0 or -errno. */
int pc_boot(char **err);
void pc_cleanup(void);
/* The devices a monitor command or test reaches: */
struct device *pc_acpi_pm(void);
struct device *pc_rtc(void);

#endif
