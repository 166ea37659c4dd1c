/* acpi-pm.h: the ACPI fixed-hardware registers (PM1 event/control, PM timer, GPE0) */
#ifndef HW_ACPI_PM_H
#define HW_ACPI_PM_H

#include "util/osdep.h"

struct device;
/* Press the power button: PWRBTN_STS, and an SCI if the OS enabled it. */
void acpi_pm_power_button(struct device *pm);
/* Move the PM1/PM timer block (the PIIX4's PMBA register moves it). */
void acpi_pm_set_base(struct device *pm, uint32_t base, bool enabled);

#endif
