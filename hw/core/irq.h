/* irq.h: interrupt lines between devices, interrupt controllers and the accelerator */
#ifndef HW_CORE_IRQ_H
#define HW_CORE_IRQ_H

#include "util/osdep.h"

typedef void irq_handler_fn(void *opaque, int n, int level);

/* One input line of a receiver (an interrupt controller, a router, the accelerator). */
struct irq {
    irq_handler_fn *handler;
    void *opaque;
    int n;
};

static inline void irq_init(struct irq *irq, irq_handler_fn *fn, void *opaque, int n)
{
    irq->handler = fn;
    irq->opaque = opaque;
    irq->n = n;
}

/* Drive a line; an unconnected (NULL or handler-less) line is ignored. */
static inline void irq_set(struct irq *irq, int level)
{
    if (irq && irq->handler)
        irq->handler(irq->opaque, irq->n, level);
}

static inline void irq_raise(struct irq *irq) { irq_set(irq, 1); }
static inline void irq_lower(struct irq *irq) { irq_set(irq, 0); }
static inline void irq_pulse(struct irq *irq) { irq_set(irq, 1); irq_set(irq, 0); }

/*
 * A message-signalled interrupt: the DWORD write of `data` to `addr` that a PCI function makes
 * (PCI 3.0 section 6.8). At 0xfee00000-0xfeefffff the local APICs take it as an interrupt; the
 * address picks the destination, the data the vector and delivery mode (Intel SDM vol. 3, 10.11).
 */
struct msi_msg {
    uint64_t addr;
    uint32_t data;
};

#define MSI_APIC_BASE   0xfee00000ULL
#define MSI_APIC_SIZE   0x100000ULL

static inline bool msi_addr_is_apic(uint64_t addr)
{
    return addr >= MSI_APIC_BASE && addr < MSI_APIC_BASE + MSI_APIC_SIZE;
}

#endif
