/* intr.c: IDT, APIC, IOAPIC and PIC programming, ACPI table lookup and PM-timer delays for payloads */
#include "intr.h"

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static isr_fn *handlers[256];
volatile uint32_t isr_count[256];
extern char isr_stubs[];

void isr_dispatch(uint32_t vector);
void isr_dispatch(uint32_t vector)
{
    vector &= 0xff;
    isr_count[vector]++;
    if (handlers[vector]) {
        handlers[vector](vector);
    } else if (vector < 32) {
        printf("not ok - unexpected CPU exception %u\n", vector);
        debug_exit(3);
    }
}

void idt_init(void)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr;
    uint16_t cs;

    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (int i = 0; i < 256; i++) {
        uint32_t h = (uint32_t)isr_stubs + 16 * i;

        idt[i].off_lo = h & 0xffff;
        idt[i].off_hi = h >> 16;
        idt[i].sel = cs;
        idt[i].zero = 0;
        idt[i].type = 0x8e;     /* present, ring 0, 32-bit interrupt gate */
    }
    idtr.limit = sizeof(idt) - 1;
    idtr.base = (uint32_t)idt;
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void isr_set(int vector, isr_fn *fn)
{
    handlers[vector & 0xff] = fn;
}

uint32_t lapic_read(uint32_t reg) { return mmio_read32(LAPIC_BASE + reg); }
void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }

void lapic_enable(void)
{
    lapic_write(0xf0, 0x1ff);       /* spurious vector 0xff, APIC software enable */
    lapic_write(0x80, 0);           /* task priority: accept everything */
}

uint32_t lapic_id(void)
{
    return lapic_read(0x20) >> 24;
}

void lapic_eoi(void)
{
    lapic_write(0xb0, 0);
}

void lapic_ipi(uint32_t dest_apic, uint32_t icr_low)
{
    lapic_write(0x310, dest_apic << 24);
    lapic_write(0x300, icr_low);
    while (lapic_read(0x300) & (1 << 12))   /* delivery status: pending */
        pause();
}

uint32_t ioapic_read(uint32_t reg)
{
    mmio_write32(IOAPIC_BASE, reg);
    return mmio_read32(IOAPIC_BASE + 0x10);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(IOAPIC_BASE, reg);
    mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route(int pin, int vector, bool level, uint32_t dest)
{
    /* redirection entry (82093AA datasheet 3.2.4): fixed, physical, edge/high or level/high */
    ioapic_write(0x11 + 2 * pin, dest << 24);
    ioapic_write(0x10 + 2 * pin, vector | (level ? (1 << 15) : 0));
}

void ioapic_mask(int pin)
{
    ioapic_write(0x10 + 2 * pin, 1 << 16);
}

void pic_init(int base)
{
    /* ICW1-4 (8259A datasheet): edge, cascade, vectors at base and base+8, 8086 mode */
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, base);
    outb(0xa1, base + 8);
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    pic_mask_all();
}

void pic_mask_all(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

void pic_unmask(int irq)
{
    if (irq >= 8) {
        outb(0xa1, inb(0xa1) & ~(1 << (irq - 8)));
        outb(0x21, inb(0x21) & ~(1 << 2));
    } else {
        outb(0x21, inb(0x21) & ~(1 << irq));
    }
}

void pic_eoi(int irq)
{
    if (irq >= 8)
        outb(0xa0, 0x20);
    outb(0x20, 0x20);
}

static bool sum_ok(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;

    while (len--)
        s += *p++;
    return s == 0;
}

static const uint8_t *find_rsdp(void)
{
    for (uint32_t a = 0xe0000; a < 0x100000; a += 16)
        if (!memcmp((void *)a, "RSD PTR ", 8) && sum_ok((void *)a, 20))
            return (const uint8_t *)a;
    return NULL;
}

const void *acpi_find(const char *sig)
{
    const uint8_t *rsdp = find_rsdp(), *rsdt;
    uint32_t n;

    if (!rsdp)
        return NULL;
    rsdt = (const uint8_t *)*(const uint32_t *)(rsdp + 16);
    if (memcmp(rsdt, "RSDT", 4))
        return NULL;
    n = (*(const uint32_t *)(rsdt + 4) - 36) / 4;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = (const uint8_t *)((const uint32_t *)(rsdt + 36))[i];

        if (!memcmp(t, sig, 4))
            return t;
    }
    return NULL;
}

uint16_t pmtimer_port(void)
{
    static uint16_t port;
    const uint8_t *fadt;

    if (!port && (fadt = acpi_find("FACP")))
        port = *(const uint32_t *)(fadt + 76);
    return port;
}

uint32_t pmtimer_read(void)
{
    return inl(pmtimer_port()) & 0xffffff;
}

void udelay(uint32_t us)
{
    /* 3.579545 ticks per microsecond; the counter wraps at 2^24 */
    uint32_t start = pmtimer_read(), want = us * 3 + (us * 579545u) / 1000000u;

    while (((pmtimer_read() - start) & 0xffffff) < want)
        pause();
}

bool wait_count(volatile uint32_t *counter, uint32_t want, uint32_t ms)
{
    for (uint32_t t = 0; t < ms * 10; t++) {
        if (*counter >= want)
            return true;
        sti();
        udelay(100);
    }
    return *counter >= want;
}
