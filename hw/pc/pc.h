/* pc.h: the PC board: RAM layout, the devices every PC has, and booting */
#ifndef HW_PC_PC_H
#define HW_PC_PC_H

#include "util/osdep.h"
#include "block/block.h"

struct chardev;

#define PC_MAX_SERIAL 4
#define PC_MAX_IDE 4    /* index 0-3: bus 0 master, bus 0 slave, bus 1 master, bus 1 slave */

/* One -hda..-hdd, -cdrom or -drive if=ide */
struct block_dev;

struct pc_options {
    struct chardev *serial[PC_MAX_SERIAL];  /* COM1..COM4, NULL for none */
    const char *kernel_cache_dir;           /* NULL: do not cache unpacked kernels */
    bool kernel_unpack;
    bool nographic;                         /* firmware console on COM1 too */
    const char *vga;                        /* "std" or "none" */
    const char *rtc_base;                   /* -rtc base=, or NULL for utc */
    const char *boot_order;                 /* -boot order=: drive letters, "cad" by default */
    const char *boot_once;                  /* -boot once=: for the first boot only, or NULL */
    bool boot_menu;                         /* -boot menu=on */
    bool boot_strict;                       /* -boot strict=on: only the listed devices boot */
    int boot_menu_wait;                     /* -boot splash-time=MS, or -1 */
    int boot_fail_wait;                     /* -boot reboot-timeout=MS, or -1 */
    bool disable_s3, disable_s4;            /* -global PIIX4_PM.disable_s3=1: the DSDT hides S3 */
};

/* Check a -boot order string (a, b: floppy; c: disk; d: CD-ROM; n: network); NULL or an error. */
const char *pc_boot_order_check(const char *order);
/* Build the board: RAM, interrupt lines, system devices, serial ports. Dies on start-up errors. */
void pc_init(const struct pc_options *opts);
/* Load what boots (the kernel now; firmware later) and set the boot CPU's entry. 0 or -errno. */
int pc_boot(char **err);
void pc_cleanup(void);
/* What firmware leaves set up for an OS (shadow RAM, PCI resources and routing, PM and IDE
 * decode), as a direct kernel boot gets; the fuzz targets use it after each reset. */
void pc_setup_like_firmware(void);
/* The devices a monitor command or test reaches: */
struct device *pc_rtc(void);
struct device *pc_vga(void);                /* NULL with -vga none */

#endif
