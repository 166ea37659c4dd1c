/* intr.h: interrupts for payloads: IDT, local APIC, IOAPIC, 8259 PIC, PIT, and time from the ACPI PM timer */
#ifndef PAYLOAD_INTR_H
#define PAYLOAD_INTR_H

#include "payload.h"

#define LAPIC_BASE 0xfee00000u
#define IOAPIC_BASE 0xfec00000u

typedef void isr_fn(int vector);

void idt_init(void);
void isr_set(int vector, isr_fn *fn);
extern volatile uint32_t isr_count[256];

void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
/* Send an IPI: ICR low/high as the SDM describes (vol. 3, 10.6.1) */
void lapic_ipi(uint32_t dest_apic, uint32_t icr_low);

/* Route IOAPIC input `pin` to `vector` on APIC `dest` (edge/active-high, or level/active-low...). */
void ioapic_route(int pin, int vector, bool level, uint32_t dest);
void ioapic_mask(int pin);
uint32_t ioapic_read(uint32_t reg);

/* 8259s remapped to vectors base..base+15, all masked */
void pic_init(int base);
void pic_unmask(int irq);
void pic_mask_all(void);
void pic_eoi(int irq);

/* ACPI: find a table by signature through RSDP/RSDT (NULL when missing) */
const void *acpi_find(const char *sig);
/* The PM timer port from the FADT (0 when none), its ticks (3.579545 MHz, 24 bit), delays */
uint16_t pmtimer_port(void);
uint32_t pmtimer_read(void);
void udelay(uint32_t us);
/* Wait (interrupts on, halting) until *counter >= want or `ms` pass; true when reached. */
bool wait_count(volatile uint32_t *counter, uint32_t want, uint32_t ms);

#endif
