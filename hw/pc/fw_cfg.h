/* fw_cfg.h: QEMU's firmware configuration device, as SeaBIOS and Linux read it (QEMU docs/specs/fw_cfg.rst) */
#ifndef HW_PC_FW_CFG_H
#define HW_PC_FW_CFG_H

#include "util/osdep.h"

struct device;

/* Selector keys (fw_cfg.rst, "Selector keys") */
#define FW_CFG_SIGNATURE        0x00
#define FW_CFG_ID               0x01
#define FW_CFG_UUID             0x02
#define FW_CFG_RAM_SIZE         0x03
#define FW_CFG_NOGRAPHIC        0x04
#define FW_CFG_NB_CPUS          0x05
#define FW_CFG_MACHINE_ID       0x06
#define FW_CFG_KERNEL_ADDR      0x07
#define FW_CFG_KERNEL_SIZE      0x08
#define FW_CFG_KERNEL_CMDLINE   0x09
#define FW_CFG_INITRD_ADDR      0x0a
#define FW_CFG_INITRD_SIZE      0x0b
#define FW_CFG_BOOT_DEVICE      0x0c
#define FW_CFG_NUMA             0x0d
#define FW_CFG_BOOT_MENU        0x0e
#define FW_CFG_MAX_CPUS         0x0f
#define FW_CFG_KERNEL_ENTRY     0x10
#define FW_CFG_KERNEL_DATA      0x11
#define FW_CFG_INITRD_DATA      0x12
#define FW_CFG_CMDLINE_ADDR     0x13
#define FW_CFG_CMDLINE_SIZE     0x14
#define FW_CFG_CMDLINE_DATA     0x15
#define FW_CFG_SETUP_ADDR       0x16
#define FW_CFG_SETUP_SIZE       0x17
#define FW_CFG_SETUP_DATA       0x18
#define FW_CFG_FILE_DIR         0x19
#define FW_CFG_FILE_FIRST       0x20
#define FW_CFG_ARCH_LOCAL       0x8000
#define FW_CFG_ACPI_TABLES      (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES   (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE    (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE       (FW_CFG_ARCH_LOCAL + 3)

#define FW_CFG_MAX_FILES        64
#define FW_CFG_MAX_FILE_PATH    56

/* FW_CFG_ID bits */
#define FW_CFG_VERSION          0x01
#define FW_CFG_VERSION_DMA      0x02

/* The board's content, set up before the guest runs (the data are copied). */
void fw_cfg_add_bytes(struct device *dev, uint16_t key, const void *data, size_t len);
void fw_cfg_add_i16(struct device *dev, uint16_t key, uint16_t v);
void fw_cfg_add_i32(struct device *dev, uint16_t key, uint32_t v);
void fw_cfg_add_i64(struct device *dev, uint16_t key, uint64_t v);
/* A named file; replaces one of the same name. `writable`: the guest may write it by DMA. */
int fw_cfg_add_file(struct device *dev, const char *name, const void *data, size_t len,
                    bool writable);
/* The bytes of a file, e.g. one the guest wrote; NULL when there is none. */
const uint8_t *fw_cfg_file_data(struct device *dev, const char *name, size_t *len);

#endif
