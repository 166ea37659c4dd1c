/* isa.h: the ISA side of the board: interrupt lines by IRQ number */
#ifndef HW_ISA_ISA_H
#define HW_ISA_ISA_H

#include "hw/core/irq.h"

#define ISA_NUM_IRQS 16
#define PC_NUM_GSIS 24

/* The board gives the bus its lines for IRQ 0-15 (an array of ISA_NUM_IRQS). */
void isa_bus_set_irqs(struct irq *irqs);
/* The interrupt line for ISA IRQ n (0-15); NULL when out of range or before the board set them. */
struct irq *isa_get_irq(int n);

#endif
