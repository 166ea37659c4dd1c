/* piix.h: PIIX3/PIIX4 register offsets the board and the ACPI tables share */
#ifndef HW_PC_PIIX_H
#define HW_PC_PIIX_H

/* PIIX3 function 0, the ISA bridge (82371SB section 2.2.13): PIRQ[A-D] route control */
#define PIIX3_PIRQRC        0x60
#define PIIX3_PIRQ_DISABLE  0x80

/* PIIX4 function 3, power management (82371AB section 7.1) */
#define PIIX4_PMBA          0x40    /* PM I/O base, 64 bytes, bit 0 hard-wired to 1 */
#define PIIX4_DEVACTB       0x58    /* device activity B: bit 25 APMC_EN, SMI on an 0xb2 write */
#define PIIX4_DEVACTB_APMC_EN (1u << 25)
#define PIIX4_PMREGMISC     0x80    /* bit 0 PMIOSE: the PM I/O space decodes */
#define PIIX4_PMIOSE        0x01
#define PIIX4_SMBBA         0x90
#define PIIX4_SMBHSTCFG     0xd2
#define PIIX4_PM_IO_SIZE    64

/* the APM control and status ports (82371AB section 4.4.2) */
#define APM_CNT_PORT        0xb2
#define APM_STS_PORT        0xb3
#define APM_ACPI_ENABLE     0xf1    /* what our FADT names as ACPI_ENABLE / ACPI_DISABLE */
#define APM_ACPI_DISABLE    0xf0

#endif
