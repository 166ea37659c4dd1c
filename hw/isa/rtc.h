/* rtc.h: what the board tells the CMOS (memory sizes, boot devices) */
#ifndef HW_ISA_RTC_H
#define HW_ISA_RTC_H

#include "util/osdep.h"

struct device;
void rtc_set_cmos(struct device *rtc, unsigned index, uint8_t value);
uint8_t rtc_get_cmos(struct device *rtc, unsigned index);

#endif
