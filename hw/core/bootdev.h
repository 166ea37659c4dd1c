/* bootdev.h: the devices that carry a bootindex, in the firmware's words (its device paths), for the boot order the board gives the firmware */
#ifndef HW_CORE_BOOTDEV_H
#define HW_CORE_BOOTDEV_H

#include "util/osdep.h"

struct device;

/* A device with bootindex=N (N >= 0) boots as the firmware path says. */
void bootdev_add(struct device *dev, int32_t bootindex, const char *fw_path);
void bootdev_remove(struct device *dev);
/* The paths, lowest bootindex first (ties in the order given), one per line, into buf. The
 * number of devices; 0 when no device has a bootindex. */
int bootdev_order(char *buf, size_t size, size_t *len);

#endif
