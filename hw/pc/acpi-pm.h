/* acpi-pm.h: the ACPI fixed hardware of the PIIX4 PM function: the power button */
#ifndef HW_PC_ACPI_PM_H
#define HW_PC_ACPI_PM_H

#include "util/osdep.h"

struct device;
/* Press the power button: PWRBTN_STS, and an SCI if the OS enabled it. */
void acpi_pm_power_button(struct device *pm);

#endif
