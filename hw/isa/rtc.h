/* rtc.h: what the board tells the CMOS (memory sizes, boot devices) and learns from it (S3 resume) */
#ifndef HW_ISA_RTC_H
#define HW_ISA_RTC_H

#include "util/osdep.h"

/* CMOS shutdown status: what the BIOS does at its reset vector; 0xfe: ACPI S3 resume, set when
 * the guest goes to sleep, as QEMU's RTC sets it */
#define CMOS_SHUTDOWN_STATUS 0x0f
#define CMOS_SHUTDOWN_S3_RESUME 0xfe

struct device;
void rtc_set_cmos(struct device *rtc, unsigned index, uint8_t value);
uint8_t rtc_get_cmos(struct device *rtc, unsigned index);

#endif
