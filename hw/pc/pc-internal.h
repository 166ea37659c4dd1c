/* pc-internal.h: what the board (pc.c) and the firmware's view of it (pc-firmware.c) share */
#ifndef HW_PC_PC_INTERNAL_H
#define HW_PC_PC_INTERNAL_H

#include "hw/pc/pc.h"
#include "hw/core/bus.h"
#include "hw/core/irq.h"
#include "hw/core/machine.h"
#include "hw/isa/isa.h"
#include "target-x86/e820.h"

struct smbios_tables;

struct pc_board {
    struct bus pci_bus, isa_bus;
    struct irq gsi[PC_NUM_GSIS];
    struct device *rtc;
    struct device *acpi_pm;
    struct device *i440fx;
    struct device *fw_cfg;
    struct device *vga;
    struct device *ide;
    struct pc_options opts;
    struct e820_table e820;
    uint32_t apic_ids[1024];
    char *cache_dir;
    struct ram_region *bios;    /* the firmware ROM, mapped below 4 GiB */
    uint64_t bios_size;
    bool booted;                /* a kernel was loaded once: RAM is no longer all zeros */
    uint64_t facs_addr;         /* direct boot: the FACS, where the guest leaves its waking vector */
};
extern struct pc_board pc;

/* -kernel without -bios: skiff loads the kernel and does what firmware would have done */
bool pc_direct_boot(void);
/* -kernel with -bios: the firmware boots the kernel through fw_cfg and an option ROM */
bool pc_kernel_by_firmware(void);
/* The test accelerator runs no CPU; it maps firmware only when a test names it. */
bool pc_firmware_wanted(void);

/* pc-firmware.c */
void pc_firmware_done(void);
void pc_firmware_reset(void);
void pc_firmware_cleanup(void);
/* The SMBIOS tables (what dmidecode shows) of this machine */
void pc_smbios_build(struct smbios_tables *t);

#endif
