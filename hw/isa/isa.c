/* isa.c: the ISA bus's interrupt lines, which the board wires to its interrupt controllers */
#include "hw/isa/isa.h"

static struct irq *isa_irqs;    /* the board's lines for IRQ 0-15 */

void isa_bus_set_irqs(struct irq *irqs)
{
    isa_irqs = irqs;
}

struct irq *isa_get_irq(int n)
{
    return isa_irqs && n >= 0 && n < ISA_NUM_IRQS ? &isa_irqs[n] : NULL;
}
