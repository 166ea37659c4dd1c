/* isa.h: the ISA side of the board: interrupt lines by IRQ number */
#ifndef HW_ISA_ISA_H
#define HW_ISA_ISA_H

#include "hw/core/irq.h"

#define ISA_NUM_IRQS 16
#define PC_NUM_GSIS 24

/* The board's interrupt line for ISA IRQ n (0-15) or GSI n (0-23); NULL when out of range. */
struct irq *isa_get_irq(int n);
struct irq *pc_get_gsi(int n);

#endif
