/* virtio-blk.c: payload with its own small virtio-blk driver (legacy or modern interface, MSI-X or INTx, completions by interrupt): reads the whole data disk and checks its words, writes, reads back, flushes, asks for the ID; bench/virtio-blk times its 4 KiB reads */
/* skiff-drive: virtio-data: t-payloads gives it a fresh copy of the 64 MiB data disk (each 32-bit word holds its own index) as -drive if=none,id=data; each run puts it on a virtio-blk-pci */
/* skiff-args: -name legacy -device virtio-blk-pci,drive=data,serial=skiff-legacy-msix */
/* skiff-args: -name legacy -device virtio-blk-pci,drive=data,serial=skiff-legacy-intx,vectors=0 */
/* skiff-args: -name modern -device virtio-blk-pci,drive=data,serial=skiff-modern-msix */
/* skiff-args: -name modern -device virtio-blk-pci,drive=data,serial=skiff-modern-intx,vectors=0 */
/* skiff-args: -name modern-own-bars -device virtio-blk-pci,drive=data,serial=skiff-modern-only-20,disable-legacy=on */
/*
 * The command line says what to do: "-name legacy" drives a transitional device through its
 * legacy I/O BAR (virtio 1.2 section 4.1.4.8), anything else through the modern capabilities
 * (4.1.4); "own-bars" in the name clears the function's BARs first and places them itself, as
 * it must where no firmware ran; the device has MSI-X unless "vectors=0" (then INTx through the
 * IOAPIC, the ISR read in the handler); "serial=" is what GET_ID must return; "bench=N qd=D"
 * times N random 4 KiB reads at queue depth D between markers on port 0x402 (bench/probe.c)
 * and leaves out the slower checks.
 */
#include "lib/intr.h"

#define DEBUGCON 0x402
#define MARK_START 0x01             /* bench/probe.c's "init started": the timed reads begin */
#define MARK_END 0x03               /* and "powering off": they ended */

#define VENDOR_VIRTIO 0x1af4
#define DEV_BLK_TRANSITIONAL 0x1001 /* 4.1.2.1: 0x1000 + the legacy ID (block: 1) */
#define DEV_BLK_MODERN 0x1042       /* 0x1040 + the device ID (block: 2) */

#define VEC_QUEUE 0x41
#define VEC_CONFIG 0x42
#define VEC_INTX 0x43
#define VEC_TIMER 0x44

/* Where things live in the guest's 64 MiB (the payload itself is at 1 MiB) */
#define RING 0x200000u              /* the queue: room for 1024 entries in the legacy layout */
#define HDRS 0x210000u              /* 16-byte request headers, one per slot */
#define STATUS 0x211000u            /* status bytes, one per slot */
#define INDIRECT 0x212000u          /* indirect tables, 64 bytes per slot */
#define IDBUF 0x213000u
#define BUF_A 0x1000000u            /* whole-disk read: first 64 KiB of each request */
#define BUF_B 0x1400000u            /* and its second 64 KiB, elsewhere */
#define PATTERN 0x2000000u
#define READBACK 0x2100000u
#define RANDBUF 0x2200000u          /* 4 KiB per slot for the random reads */
#define BAR_MEM_POOL 0xd0000000u    /* where the payload puts BARs nobody placed (PCI hole) */
#define BAR_IO_POOL 0xe000u

#define SLOTS 32                    /* requests in flight at most; 4 descriptors each */
#define DESC_PER_SLOT 4
#define DISK_SECTORS (64u << 11)
#define CHUNK (128u << 10)          /* whole-disk read: 128 KiB per request, two pieces */
#define PATTERN_SECTOR 0x10000u     /* 32 MiB in */
#define PATTERN_BYTES (64u << 10)

/* virtio 1.2 sections 2.1, 2.7, 5.2 */
#define S_ACKNOWLEDGE 0x01
#define S_DRIVER 0x02
#define S_DRIVER_OK 0x04
#define S_FEATURES_OK 0x08
#define F_BLK_SEG_MAX 2
#define F_BLK_BLK_SIZE 6
#define F_BLK_FLUSH 9
#define F_INDIRECT_DESC 28
#define F_EVENT_IDX 29
#define F_VERSION_1 32
#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4
#define USED_F_NO_NOTIFY 1
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_UNKNOWN 0x60              /* no request type of 5.2.6 */
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct req_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
/* a store before it is visible before a load after it (the notification check, 2.7.10) */
static inline void full_fence(void) { __asm__ volatile("lock; orl $0, (%%esp)" ::: "memory"); }

/* ---- PCI configuration space, bus 0 ---- */

static int devfn;

static uint32_t cfg_addr(unsigned off) { return 0x80000000u | devfn << 8 | (off & 0xfc); }
static uint32_t cfg_read32(unsigned off) { outl(0xcf8, cfg_addr(off)); return inl(0xcfc); }
static uint16_t cfg_read16(unsigned off) { outl(0xcf8, cfg_addr(off)); return inw(0xcfc + (off & 2)); }
static uint8_t cfg_read8(unsigned off) { outl(0xcf8, cfg_addr(off)); return inb(0xcfc + (off & 3)); }
static void cfg_write32(unsigned off, uint32_t v) { outl(0xcf8, cfg_addr(off)); outl(0xcfc, v); }
static void cfg_write16(unsigned off, uint16_t v) { outl(0xcf8, cfg_addr(off)); outw(0xcfc + (off & 2), v); }

static bool find_function(void)
{
    for (devfn = 0; devfn < 256; devfn++) {
        uint32_t id = cfg_read32(0);

        if ((id & 0xffff) == VENDOR_VIRTIO && (id >> 16 == DEV_BLK_TRANSITIONAL || id >> 16 == DEV_BLK_MODERN))
            return true;
    }
    return false;
}

/* A BAR's size (0: none) and address (~0 above 4 GiB, where a 32-bit payload cannot go). */
struct bar {
    uint32_t size, addr;
    bool io, mem64;
};
static struct bar bars[6];

static void probe_bar(int n)
{
    unsigned off = 0x10 + 4 * n;
    uint32_t v = cfg_read32(off), mask, hi = 0;
    struct bar *b = &bars[n];

    /* section 6.2.5.1 of the PCI spec: all ones in, the size's mask out; decoding is off meanwhile */
    cfg_write32(off, ~0u);
    mask = cfg_read32(off);
    cfg_write32(off, v);
    b->io = v & 1;
    b->mem64 = !b->io && (v & 6) == 4;
    if (b->mem64)
        hi = cfg_read32(off + 4);
    mask &= b->io ? ~3u : ~0xfu;
    b->size = mask ? ~mask + 1 : 0;
    if (b->io)
        b->size &= 0xffff;
    b->addr = hi ? ~0u : v & (b->io ? ~3u : ~0xfu);
}

/* Give every BAR that has no address below 4 GiB one, naturally aligned: what firmware does. */
static int place_bars(void)
{
    static uint32_t next_mem = BAR_MEM_POOL, next_io = BAR_IO_POOL;
    uint16_t cmd = cfg_read16(4);
    int placed = 0;

    cfg_write16(4, cmd & ~3);
    for (int n = 0; n < 6; n++) {
        struct bar *b = &bars[n];
        uint32_t *next, a;

        probe_bar(n);
        if (b->size && (b->addr == 0 || b->addr == ~0u)) {
            next = b->io ? &next_io : &next_mem;
            a = (*next + b->size - 1) & ~(b->size - 1);
            *next = a + b->size;
            cfg_write32(0x10 + 4 * n, a);
            if (b->mem64)
                cfg_write32(0x14 + 4 * n, 0);
            b->addr = a;
            placed++;
        }
        if (b->mem64)
            n++;
    }
    cfg_write16(4, cmd | 7);        /* I/O, memory, bus mastering */
    return placed;
}

static unsigned find_cap(uint8_t id, unsigned from)
{
    unsigned p = from ? cfg_read8(from + 1) : (cfg_read16(6) & 0x10 ? cfg_read8(0x34) : 0);

    for (int guard = 0; p >= 0x40 && guard < 48; guard++, p = cfg_read8(p + 1))
        if (cfg_read8(p) == id)
            return p;
    return 0;
}

/* ---- the two interfaces (4.1.4.8 legacy, 4.1.4 modern), side by side ---- */

/* legacy: registers at the start of BAR 0; the device's configuration after them */
#define L_HOST_FEATURES 0
#define L_GUEST_FEATURES 4
#define L_QUEUE_PFN 8
#define L_QUEUE_NUM 12
#define L_QUEUE_SEL 14
#define L_QUEUE_NOTIFY 16
#define L_STATUS 18
#define L_ISR 19
#define L_CONFIG_VECTOR 20
#define L_QUEUE_VECTOR 22
/* modern: struct virtio_pci_common_cfg (4.1.4.3) */
#define C_DFSELECT 0x00
#define C_DF 0x04
#define C_GFSELECT 0x08
#define C_GF 0x0c
#define C_MSIX 0x10
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_GENERATION 0x15
#define C_Q_SELECT 0x16
#define C_Q_SIZE 0x18
#define C_Q_MSIX 0x1a
#define C_Q_ENABLE 0x1c
#define C_Q_NOFF 0x1e
#define C_Q_DESC 0x20
#define C_Q_DRIVER 0x28
#define C_Q_DEVICE 0x30
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

static struct {
    bool modern, msix, event_idx, indirect;
    uint16_t io;                    /* legacy BAR 0 */
    uintptr_t common, isr, device, notify;  /* modern: where each capability points */
    uint32_t notify_mult;
    uintptr_t notify_addr;          /* queue 0's */
    unsigned msix_cap;
    uintptr_t msix_table, msix_pba;
    uint8_t line;                   /* INTx: the IOAPIC input */
    uint64_t offered, features;
    uint16_t num;
    uintptr_t desc, avail, used;
    uint16_t avail_idx, kicked_idx, last_used;
} vd;

static uint16_t legacy_cfg_off(void) { return vd.msix ? 24 : 20; }

static uint8_t status_read(void)
{
    return vd.modern ? mmio_read8(vd.common + C_STATUS) : inb(vd.io + L_STATUS);
}

static void status_write(uint8_t s)
{
    if (vd.modern)
        mmio_write8(vd.common + C_STATUS, s);
    else
        outb(vd.io + L_STATUS, s);
}

static uint8_t isr_read(void)
{
    return vd.modern ? mmio_read8(vd.isr) : inb(vd.io + L_ISR);
}

static uint32_t config_read32(unsigned off)
{
    return vd.modern ? mmio_read32(vd.device + off) : inl(vd.io + legacy_cfg_off() + off);
}

static uint64_t config_read64(unsigned off)
{
    uint8_t gen;
    uint64_t v;

    if (!vd.modern)
        return config_read32(off) | (uint64_t)config_read32(off + 4) << 32;
    /* 4.1.4.3.1: a value wider than 32 bits is read again if the generation moved */
    do {
        gen = mmio_read8(vd.common + C_GENERATION);
        v = config_read32(off) | (uint64_t)config_read32(off + 4) << 32;
    } while (gen != mmio_read8(vd.common + C_GENERATION));
    return v;
}

static uint32_t notifies;

static void notify(void)
{
    notifies++;
    if (vd.modern)
        mmio_write16(vd.notify_addr, 0);
    else
        outw(vd.io + L_QUEUE_NOTIFY, 0);
}

/* ---- interrupts ---- */

static volatile uint32_t dev_irqs, cfg_irqs, intx_irqs, intx_empty, ticks;

static void queue_msix_isr(int v) { dev_irqs++; lapic_eoi(); }
static void config_msix_isr(int v) { cfg_irqs++; lapic_eoi(); }

/* The PM timer's 24 bits, extended: the 10 ms timer reads it often enough to see every wrap. */
static uint64_t pm_now(void)
{
    static uint64_t high;
    static uint32_t last;
    uint32_t flags, v;
    uint64_t now;

    __asm__ volatile("pushf; pop %0; cli" : "=r"(flags) : : "memory");
    v = pmtimer_read();
    if (v < last)
        high += 1u << 24;
    last = v;
    now = high + v;
    if (flags & 0x200)
        sti();
    return now;
}

static void timer_isr(int v)
{
    ticks++;
    pm_now();
    lapic_eoi();
}

/*
 * INTx is level-triggered and may be shared: the ISR says whether it was ours and lowers it.
 * (This machine's kvm_pvm delivers such an interrupt once more after the EOI when the handler
 * lowered the line by an exit, as msi.c notes: every other INTx reads an ISR of 0, under skiff
 * and QEMU alike.)
 */
static void intx_isr(int v)
{
    uint8_t isr = isr_read();

    intx_irqs++;
    if (isr & 1)
        dev_irqs++;
    if (isr & 2)
        cfg_irqs++;
    if (!isr)
        intx_empty++;
    lapic_eoi();
}

/* Halt until the device's interrupt count passes `seen` (true), or give up after about 2 s. */
static bool wait_irq(uint32_t seen)
{
    uint32_t t0 = ticks;

    cli();
    while (dev_irqs == seen && ticks - t0 < 200)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    sti();
    return dev_irqs != seen;
}

static void msix_entry(unsigned n, uint8_t vector, bool masked)
{
    uintptr_t e = vd.msix_table + 16 * n;

    mmio_write32(e + 12, 1);
    mmio_write32(e, LAPIC_BASE | lapic_id() << 12);
    mmio_write32(e + 4, 0);
    mmio_write32(e + 8, vector);
    mmio_write32(e + 12, masked);
}

/*
 * String instructions for bulk work: the emulating KVM of the native lane runs one ten times
 * faster than the loop it replaces.
 */
static void fill32(void *p, uint32_t v, uint32_t bytes)
{
    uint32_t n = bytes / 4;

    __asm__ volatile("rep stosl" : "+D"(p), "+c"(n) : "a"(v) : "memory");
}

static bool same32(const void *a, const void *b, uint32_t bytes)
{
    uint32_t n = bytes / 4;

    __asm__ volatile("repe cmpsl" : "+S"(a), "+D"(b), "+c"(n) : : "memory", "cc");
    return n == 0 && ((const uint32_t *)a)[-1] == ((const uint32_t *)b)[-1];
}

/* ---- the queue (2.7): SLOTS requests of up to DESC_PER_SLOT descriptors ---- */

static volatile struct desc *desc_at(unsigned i) { return (volatile struct desc *)(vd.desc + 16 * i); }
static volatile uint16_t *avail_ring(unsigned i) { return (volatile uint16_t *)(vd.avail + 4 + 2 * i); }
static volatile uint16_t *avail_idx(void) { return (volatile uint16_t *)(vd.avail + 2); }
static volatile uint16_t *used_flags(void) { return (volatile uint16_t *)vd.used; }
static volatile uint16_t *used_idx(void) { return (volatile uint16_t *)(vd.used + 2); }
static volatile uint32_t *used_elem(unsigned i) { return (volatile uint32_t *)(vd.used + 4 + 8 * i); }
/* with EVENT_IDX (2.7.10): used_event after the avail ring, avail_event after the used ring */
static volatile uint16_t *used_event(void) { return avail_ring(vd.num); }
static volatile uint16_t *avail_event(void) { return (volatile uint16_t *)(vd.used + 4 + 8 * vd.num); }

static void ring_layout(uintptr_t base, uint16_t num)
{
    vd.num = num;
    vd.desc = base;
    vd.avail = base + 16 * num;
    /* the legacy layout (2.7.2's alignment): the used ring on the next 4 KiB page */
    vd.used = (vd.avail + 6 + 2 * num + 4095) & ~4095u;
    fill32((void *)base, 0, vd.used + 8 + 8 * num - base);
    vd.avail_idx = vd.kicked_idx = vd.last_used = 0;
}

struct seg {
    uint32_t addr, len;
};

static volatile uint8_t *slot_status(unsigned slot) { return (volatile uint8_t *)(STATUS + slot); }

/*
 * Put request `slot` on the avail ring, unpublished: the header, its data pieces (written by
 * the device for everything but T_OUT), the status byte; through an indirect table if asked.
 */
static void post(unsigned slot, uint32_t type, uint64_t sector, const struct seg *segs, unsigned nseg,
                 bool indirect)
{
    struct req_hdr *h = (struct req_hdr *)(HDRS + 16 * slot);
    unsigned first = slot * DESC_PER_SLOT, n = nseg + 2;
    volatile struct desc *d = indirect ? (volatile struct desc *)(INDIRECT + 64 * slot) : desc_at(first);
    uint16_t data_flags = type == T_OUT ? 0 : DESC_F_WRITE;

    h->type = type;
    h->reserved = 0;
    h->sector = sector;
    *slot_status(slot) = 0xff;
    for (unsigned i = 0; i < n; i++) {
        uint16_t link = indirect ? i + 1 : first + i + 1;

        if (i == 0) {
            d[i].addr = HDRS + 16 * slot;
            d[i].len = 16;
            d[i].flags = 0;
        } else if (i < n - 1) {
            d[i].addr = segs[i - 1].addr;
            d[i].len = segs[i - 1].len;
            d[i].flags = data_flags;
        } else {
            d[i].addr = STATUS + slot;
            d[i].len = 1;
            d[i].flags = DESC_F_WRITE;
        }
        if (i < n - 1)
            d[i].flags |= DESC_F_NEXT;
        d[i].next = i < n - 1 ? link : 0;
    }
    if (indirect) {
        desc_at(first)->addr = INDIRECT + 64 * slot;
        desc_at(first)->len = 16 * n;
        desc_at(first)->flags = DESC_F_INDIRECT;
        desc_at(first)->next = 0;
    }
    *avail_ring(vd.avail_idx % vd.num) = first;
    vd.avail_idx++;
}

static void post_read(unsigned slot, uint64_t sector, uint32_t addr, uint32_t len)
{
    struct seg s = { addr, len };

    post(slot, T_IN, sector, &s, 1, false);
}

/* Publish what post() queued and notify the device unless it said it does not need it. */
static void kick(void)
{
    uint16_t old = vd.kicked_idx, now = vd.avail_idx;
    bool need;

    barrier();
    *avail_idx() = now;
    full_fence();
    if (vd.event_idx)
        need = (uint16_t)(now - *avail_event() - 1) < (uint16_t)(now - old);
    else
        need = !(*used_flags() & USED_F_NO_NOTIFY);
    vd.kicked_idx = now;
    if (need)
        notify();
}

struct done {
    unsigned slot;
    uint32_t len;
};

static uint32_t bad_used;

/* Take what the device completed; with EVENT_IDX ask for the next one's interrupt and look again. */
static unsigned reap(struct done *out, unsigned max)
{
    unsigned n = 0;

    for (;;) {
        while (n < max && vd.last_used != *used_idx()) {
            volatile uint32_t *e = used_elem(vd.last_used % vd.num);

            uint32_t id;

            barrier();
            id = e[0];
            vd.last_used++;
            /* a chain the driver never posted: counted, and its slot stays busy */
            if (id % DESC_PER_SLOT || id / DESC_PER_SLOT >= SLOTS) {
                bad_used++;
                continue;
            }
            out[n].slot = id / DESC_PER_SLOT;
            out[n].len = e[1];
            n++;
        }
        if (!vd.event_idx)
            return n;
        /* the next completion interrupts: it moves the used index past what was taken */
        *used_event() = vd.last_used;
        full_fence();
        if (n == max || vd.last_used == *used_idx())
            return n;
    }
}

static uint32_t qd1_reqs, qd1_irqs;
static bool wedged;

/* One request at queue depth 1, completed by its interrupt: its status (0xff: it never came). */
static uint8_t request(uint32_t type, uint64_t sector, const struct seg *segs, unsigned nseg, bool indirect,
                       uint32_t *used_len)
{
    uint32_t seen = dev_irqs;
    struct done d;
    bool got;

    if (wedged)
        return 0xff;
    post(0, type, sector, segs, nseg, indirect);
    kick();
    got = wait_irq(seen);
    qd1_reqs++;
    qd1_irqs += dev_irqs - seen;
    if (!got || reap(&d, 1) != 1 || d.slot != 0) {
        check(false, "request type %u at sector %u completes with an interrupt (used idx %u, %u interrupts)",
              type, (uint32_t)sector, *used_idx(), dev_irqs - seen);
        wedged = true;
        return 0xff;
    }
    if (used_len)
        *used_len = d.len;
    return *slot_status(0);
}

/* ---- setting the device up (3.1.1) ---- */

static const char *cmdline;

/* The value of `key=` on the command line (a word starting after a space or a comma), or NULL. */
static const char *opt(const char *key)
{
    size_t l = strlen(key);

    for (const char *p = cmdline; (p = strstr(p, key)); p++)
        if (p == cmdline || p[-1] == ' ' || p[-1] == ',')
            return p + l;
    return NULL;
}

/* Whether the word at `w` (to a space, a comma or the end) holds `s`. */
static bool word_has(const char *w, const char *s)
{
    size_t l = strlen(s);

    for (; *w && *w != ' ' && *w != ','; w++)
        if (!strncmp(w, s, l))
            return true;
    return false;
}

static uint32_t opt_num(const char *key, uint32_t dflt)
{
    const char *v = opt(key);
    uint32_t n = 0;

    if (!v || *v < '0' || *v > '9')
        return dflt;
    while (*v >= '0' && *v <= '9')
        n = n * 10 + (*v++ - '0');
    return n;
}

static bool find_modern_caps(void)
{
    unsigned found = 0;

    for (unsigned p = find_cap(0x09, 0); p; p = find_cap(0x09, p)) {
        uint8_t type = cfg_read8(p + 3), bar = cfg_read8(p + 4);
        uintptr_t at;

        if (bar > 5 || !bars[bar].size || bars[bar].io)
            continue;
        at = bars[bar].addr + cfg_read32(p + 8);
        /* 4.1.4.1: the first capability of each type is the one to use */
        if (type >= CAP_COMMON && type <= CAP_DEVICE && (found & 1 << (type - 1)))
            continue;
        switch (type) {
        case CAP_COMMON: vd.common = at; break;
        case CAP_NOTIFY: vd.notify = at; vd.notify_mult = cfg_read32(p + 16); break;
        case CAP_ISR: vd.isr = at; break;
        case CAP_DEVICE: vd.device = at; break;
        default: continue;
        }
        found |= 1 << (type - 1);
    }
    return found == 15;
}

static uint64_t features_offered(void)
{
    if (!vd.modern)
        return inl(vd.io + L_HOST_FEATURES);
    mmio_write32(vd.common + C_DFSELECT, 0);
    uint32_t lo = mmio_read32(vd.common + C_DF);
    mmio_write32(vd.common + C_DFSELECT, 1);
    return lo | (uint64_t)mmio_read32(vd.common + C_DF) << 32;
}

static void features_write(uint64_t f)
{
    if (!vd.modern) {
        outl(vd.io + L_GUEST_FEATURES, (uint32_t)f);
        return;
    }
    mmio_write32(vd.common + C_GFSELECT, 0);
    mmio_write32(vd.common + C_GF, (uint32_t)f);
    mmio_write32(vd.common + C_GFSELECT, 1);
    mmio_write32(vd.common + C_GF, f >> 32);
}

static bool reset_device(void)
{
    status_write(0);
    /* 4.1.4.3.2: the driver waits for the status to read 0 again */
    for (int i = 0; i < 1000 && status_read(); i++)
        udelay(100);
    return status_read() == 0;
}

static void setup_msix(void)
{
    uint32_t table = cfg_read32(vd.msix_cap + 4), pba = cfg_read32(vd.msix_cap + 8);
    uint16_t ctrl = cfg_read16(vd.msix_cap + 2);

    vd.msix_table = bars[table & 7].addr + (table & ~7u);
    vd.msix_pba = bars[pba & 7].addr + (pba & ~7u);
    isr_set(VEC_QUEUE, queue_msix_isr);
    isr_set(VEC_CONFIG, config_msix_isr);
    cfg_write16(vd.msix_cap + 2, ctrl | 0xc000);    /* enable, all masked while entries change */
    msix_entry(0, VEC_CONFIG, false);
    msix_entry(1, VEC_QUEUE, false);
    cfg_write16(vd.msix_cap + 2, (ctrl | 0x8000) & ~0x4000);
    check((ctrl & 0x7ff) + 1 >= 2, "MSI-X: %u vectors in BAR %u at 0x%x, entry 0 for the configuration, 1 for the queue",
          (ctrl & 0x7ff) + 1, table & 7, (uint32_t)vd.msix_table);
}

static void setup_intx(void)
{
    vd.line = cfg_read8(0x3c);
    isr_set(VEC_INTX, intx_isr);
    /* PCI INTx: level-triggered, active high at the IOAPIC as the board wires it */
    ioapic_route(vd.line, VEC_INTX, true, lapic_id());
    check(cfg_read8(0x3d) == 1 && vd.line > 0 && vd.line < 24, "INTx: pin INTA# on IOAPIC input %u", vd.line);
}

static bool setup_queue_legacy(void)
{
    uint16_t max, v;

    outw(vd.io + L_QUEUE_SEL, 0);
    max = inw(vd.io + L_QUEUE_NUM);
    if (max < SLOTS * DESC_PER_SLOT || max > 1024 || (max & (max - 1))) {
        check(false, "legacy queue 0 has a size this driver can use (%u)", max);
        return false;
    }
    ring_layout(RING, max);         /* legacy: the device's size, no choice */
    outl(vd.io + L_QUEUE_PFN, RING >> 12);
    check(inl(vd.io + L_QUEUE_PFN) == RING >> 12, "legacy queue 0: %u entries at page 0x%x", max, RING >> 12);
    if (vd.msix) {
        outw(vd.io + L_CONFIG_VECTOR, 0);
        outw(vd.io + L_QUEUE_VECTOR, 1);
        v = inw(vd.io + L_QUEUE_VECTOR);
        check(inw(vd.io + L_CONFIG_VECTOR) == 0 && v == 1,
              "the legacy vector registers take MSI-X entries 0 and 1 (queue reads %u)", v);
    }
    return true;
}

static bool setup_queue_modern(void)
{
    uint16_t max, noff, v;

    mmio_write16(vd.common + C_Q_SELECT, 0);
    max = mmio_read16(vd.common + C_Q_SIZE);
    if (max < SLOTS * DESC_PER_SLOT || max > 1024) {
        check(false, "modern queue 0 has a size this driver can use (%u)", max);
        return false;
    }
    /* the driver may ask for fewer entries than the device offers (4.1.4.3.2) */
    ring_layout(RING, SLOTS * DESC_PER_SLOT);
    mmio_write16(vd.common + C_Q_SIZE, vd.num);
    mmio_write32(vd.common + C_Q_DESC, vd.desc);
    mmio_write32(vd.common + C_Q_DESC + 4, 0);
    mmio_write32(vd.common + C_Q_DRIVER, vd.avail);
    mmio_write32(vd.common + C_Q_DRIVER + 4, 0);
    mmio_write32(vd.common + C_Q_DEVICE, vd.used);
    mmio_write32(vd.common + C_Q_DEVICE + 4, 0);
    if (vd.msix) {
        mmio_write16(vd.common + C_MSIX, 0);
        mmio_write16(vd.common + C_Q_MSIX, 1);
        v = mmio_read16(vd.common + C_Q_MSIX);
        check(mmio_read16(vd.common + C_MSIX) == 0 && v == 1,
              "config_msix_vector and queue_msix_vector take MSI-X entries 0 and 1 (queue reads %u)", v);
    }
    noff = mmio_read16(vd.common + C_Q_NOFF);
    vd.notify_addr = vd.notify + noff * vd.notify_mult;
    mmio_write16(vd.common + C_Q_ENABLE, 1);
    check(mmio_read16(vd.common + C_Q_ENABLE) == 1 && mmio_read16(vd.common + C_Q_SIZE) == vd.num,
          "modern queue 0: %u of %u entries, enabled, notified at 0x%x (offset %u x %u)", vd.num, max,
          (uint32_t)vd.notify_addr, noff, vd.notify_mult);
    return true;
}

static bool setup_device(void)
{
    uint64_t want = (1ull << F_BLK_FLUSH) | (1ull << F_BLK_BLK_SIZE) | (1ull << F_BLK_SEG_MAX);
    uint8_t st;

    check(reset_device(), "the device resets: its status reads 0");
    status_write(S_ACKNOWLEDGE);
    status_write(S_ACKNOWLEDGE | S_DRIVER);
    vd.offered = features_offered();
    if (vd.modern) {
        /* a modern driver is a virtio 1.x driver: VERSION_1, and the ring features it can use */
        want |= (1ull << F_VERSION_1) | (1ull << F_INDIRECT_DESC) | (1ull << F_EVENT_IDX);
        check(vd.offered & (1ull << F_VERSION_1), "the modern interface offers VERSION_1 (0x%llx)",
              (unsigned long long)vd.offered);
        /* NOTIFY_ON_EMPTY, ANY_LAYOUT and BAD_FEATURE are pre-1.0 bits (6.3): QEMU's modern interface hides them */
        check(!(vd.offered & (1ull << 24 | 1ull << 27 | 1ull << 30)),
              "the modern interface offers no legacy-only bits (0x%x)",
              (uint32_t)(vd.offered & (1u << 24 | 1u << 27 | 1u << 30)));
    } else {
        /* QEMU offers BAD_FEATURE here to catch drivers that take every bit; this one never takes it */
        note("the legacy interface offers 0x%x", (uint32_t)vd.offered);
    }
    check(vd.offered & (1ull << F_BLK_FLUSH), "the device offers FLUSH");
    vd.features = vd.offered & want;
    vd.event_idx = vd.features & (1ull << F_EVENT_IDX);
    vd.indirect = vd.features & (1ull << F_INDIRECT_DESC);
    features_write(vd.features);
    if (vd.modern) {
        status_write(S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
        st = status_read();
        check(st & S_FEATURES_OK, "FEATURES_OK stays set: the device takes features 0x%llx (status 0x%x)",
              (unsigned long long)vd.features, st);
        if (!(st & S_FEATURES_OK))
            return false;
    } else {
        check(inl(vd.io + L_GUEST_FEATURES) == (uint32_t)vd.features, "the legacy guest features read back (0x%x)",
              inl(vd.io + L_GUEST_FEATURES));
    }
    if (vd.msix)
        setup_msix();
    else
        setup_intx();
    if (!(vd.modern ? setup_queue_modern() : setup_queue_legacy()))
        return false;
    status_write(status_read() | S_DRIVER_OK);
    st = status_read();
    check(st == (vd.modern ? 0x0f : 0x07), "DRIVER_OK: status 0x%x", st);
    return st & S_DRIVER_OK;
}

/* ---- the checks ---- */

static void check_config(void)
{
    uint64_t cap = config_read64(CFG_CAPACITY);

    check(cap == DISK_SECTORS, "capacity: %u sectors (64 MiB)%s", (uint32_t)cap,
          !vd.modern && vd.msix ? ", in the legacy configuration at offset 24 with MSI-X on" : "");
    if (vd.features & (1ull << F_BLK_BLK_SIZE))
        check(config_read32(CFG_BLK_SIZE) == 512, "blk_size: %u", config_read32(CFG_BLK_SIZE));
    if (vd.features & (1ull << F_BLK_SEG_MAX))
        note("seg_max: %u", config_read32(CFG_SEG_MAX));
}


/*
 * Words of `p` that do not hold their disk index (`first`, `first` + 1, ...): each of them, or
 * (a sample) the first and last of each 4 KiB. An emulating KVM runs the payload at about a
 * million instructions a second, where each of 64 MiB's words would take a minute.
 */
static uint32_t index_mismatches(const uint32_t *p, uint32_t first, uint32_t words, bool every)
{
    uint32_t diff = 0, bad = 0;

    if (every) {
        for (uint32_t w = 0; w < words; w++)
            diff |= p[w] ^ (first + w);
        if (!diff)
            return 0;
        for (uint32_t w = 0; w < words; w++)
            bad += p[w] != first + w;
        return bad;
    }
    for (uint32_t w = 0; w + 1023 < words; w += 1024)
        bad += (p[w] != first + w) + (p[w + 1023] != first + w + 1023);
    return bad;
}

/*
 * Read all 64 MiB, 128 KiB a request in two separate 64 KiB pieces, 4 requests in flight; every
 * word of the first, middle and last requests, the first and last of each 4 KiB of the others.
 */
static void check_whole_disk(void)
{
    const unsigned depth = 4, total = DISK_SECTORS / (CHUNK / 512);
    unsigned posted = 0, finished = 0, wrong = 0, bad_status = 0, first_wrong = ~0u;
    uint32_t seen = dev_irqs, irqs = 0, chunk_of[SLOTS];
    struct done d[SLOTS];

    if (wedged)
        return;
    for (unsigned s = 0; s < depth; s++) {
        struct seg seg[2] = { { BUF_A + s * 0x10000, 0x10000 }, { BUF_B + s * 0x10000, 0x10000 } };

        chunk_of[s] = posted;
        post(s, T_IN, (uint64_t)posted++ * (CHUNK / 512), seg, 2, false);
    }
    kick();
    while (finished < total) {
        unsigned n;

        if (!wait_irq(seen)) {
            check(false, "the whole-disk read goes on by interrupts (stopped after %u of %u requests)", finished,
                  total);
            wedged = true;
            return;
        }
        irqs += dev_irqs - seen;
        seen = dev_irqs;
        n = reap(d, SLOTS);
        for (unsigned i = 0; i < n; i++) {
            unsigned s = d[i].slot, c = chunk_of[s], bad;
            uint32_t base = c * (CHUNK / 4);
            bool all = c == 0 || c == total / 2 || c == total - 1;

            /* each chunk's words are its own: a piece left unwritten holds an older chunk's */
            bad = index_mismatches((const uint32_t *)(BUF_A + s * 0x10000), base, 0x4000, all) +
                  index_mismatches((const uint32_t *)(BUF_B + s * 0x10000), base + 0x4000, 0x4000, all);
            if (bad && first_wrong == ~0u)
                first_wrong = c;
            wrong += bad;
            bad_status += *slot_status(s) != BLK_S_OK;
            finished++;
            if (posted < total) {
                struct seg seg[2] = { { BUF_A + s * 0x10000, 0x10000 }, { BUF_B + s * 0x10000, 0x10000 } };

                chunk_of[s] = posted;
                post(s, T_IN, (uint64_t)posted++ * (CHUNK / 512), seg, 2, false);
            }
        }
        if (n)
            kick();
    }
    check(bad_status == 0, "64 MiB read in %u requests of two 64 KiB pieces, 4 in flight: every status OK (%u not)",
          total, bad_status);
    if (wrong)
        check(false, "the words read hold their own index (%u do not, the first in request %u)", wrong, first_wrong);
    else
        check(true, "the words read hold their own index: every word of the first, middle and last requests, "
              "the first and last of each 4 KiB of the others");
    note("the whole-disk read took %u interrupts for %u requests", irqs, total);
}

static void check_write(void)
{
    uint32_t *p = (uint32_t *)PATTERN, *r = (uint32_t *)READBACK, bad = 0, used_len = 0;
    const uint32_t words = PATTERN_BYTES / 4, salt = vd.modern ? 0x6d000000 : 0x6c000000;
    struct seg w = { PATTERN, PATTERN_BYTES }, rb = { READBACK, PATTERN_BYTES + 8192 };
    uint8_t st;

    for (uint32_t i = 0; i < words; i++)
        p[i] = salt ^ (i * 2654435761u);
    st = request(T_OUT, PATTERN_SECTOR, &w, 1, false, NULL);
    check(st == BLK_S_OK, "a 64 KiB write at 32 MiB completes OK (status %u)", st);
    /* read back with 4 KiB of the untouched disk either side */
    fill32(r, 0, rb.len);
    st = request(T_IN, PATTERN_SECTOR - 8, &rb, 1, false, &used_len);
    for (uint32_t i = 0; i < 1024; i++) {
        bad += r[i] != PATTERN_SECTOR * 128 - 1024 + i;
        bad += r[1024 + words + i] != PATTERN_SECTOR * 128 + words + i;
    }
    check(st == BLK_S_OK && bad == 0, "the words either side of it still hold their index (%u do not)", bad);
    check(same32(r + 1024, p, PATTERN_BYTES), "reading it back gives the pattern written");
    check(used_len >= rb.len, "the used ring says the device wrote %u bytes for a %u-byte read", used_len, rb.len);
    if (vd.indirect) {
        struct seg seg = { READBACK, PATTERN_BYTES };

        fill32(r, 0, PATTERN_BYTES);
        st = request(T_IN, PATTERN_SECTOR, &seg, 1, true, NULL);
        check(st == BLK_S_OK && same32(r, p, PATTERN_BYTES),
              "the same read through an indirect descriptor table (RING_INDIRECT_DESC) gives it too (status %u)", st);
    }
    st = request(T_FLUSH, 0, NULL, 0, false, NULL);
    check(st == BLK_S_OK, "FLUSH completes OK (status %u)", st);
}

static void check_id(void)
{
    char want[21] = { 0 }, *id = (char *)IDBUF;
    const char *s = opt("serial=");
    struct seg seg = { IDBUF, 20 };
    uint8_t st;

    for (unsigned i = 0; s && i < 20 && s[i] && s[i] != ',' && s[i] != ' '; i++)
        want[i] = s[i];
    memset(id, 0x55, 32);
    st = request(T_GET_ID, 0, &seg, 1, false, NULL);
    /* 5.2.6: a string of 20 bytes, NUL-terminated when shorter (what follows the NUL is not said) */
    id[20] = 0;
    check(st == BLK_S_OK && !strcmp(id, want), "GET_ID returns the serial \"%s\" (\"%s\", status %u)", want, id, st);
}

static void check_errors(void)
{
    struct seg seg = { READBACK, 4096 };
    uint8_t st;

    st = request(T_UNKNOWN, 0, &seg, 1, false, NULL);
    check(st == BLK_S_UNSUPP, "a request of an unknown type completes with UNSUPP (status %u)", st);
    st = request(T_IN, DISK_SECTORS - 4, &seg, 1, false, NULL);
    check(st == BLK_S_IOERR, "a read across the end of the disk completes with IOERR (status %u)", st);
}

static void check_interrupts(void)
{
    struct seg seg = { READBACK, 4096 };
    uint32_t seen, pending = 0;
    struct done d;
    uint8_t st;

    check(qd1_reqs > 0 && qd1_irqs == qd1_reqs, "%s: each of the %u requests at depth 1 came with one interrupt (%u)",
          vd.msix ? "MSI-X vector 0x41 at the local APIC" : "INTx through the IOAPIC, the ISR's queue bit set",
          qd1_reqs, qd1_irqs);
    check(cfg_irqs == 0, "and no configuration-change interrupt came (%u)", cfg_irqs);
    check(bad_used == 0, "every used ring entry named a chain the driver had posted (%u did not)", bad_used);
    if (wedged)
        return;
    if (!vd.msix) {
        check(isr_read() == 0, "the ISR reads 0 once the handler has read it (%u INTx interrupts so far, %u with "
              "the ISR at 0)", intx_irqs, intx_empty);
        return;
    }
    /* a masked vector (PCI spec 6.8.2.9): the interrupt waits in the PBA until unmasked */
    mmio_write32(vd.msix_table + 16 + 12, 1);
    seen = dev_irqs;
    post_read(0, 0, seg.addr, seg.len);
    kick();
    for (int i = 0; i < 1000 && vd.last_used == *used_idx(); i++)
        udelay(1000);
    for (int i = 0; i < 1000 && !((pending = mmio_read32(vd.msix_pba)) & 2); i++)
        udelay(1000);
    check(dev_irqs == seen && vd.last_used != *used_idx() && (pending & 2),
          "with its vector masked a completion sends no interrupt and sets its PBA bit (PBA 0x%x)", pending);
    mmio_write32(vd.msix_table + 16 + 12, 0);
    check(wait_irq(seen) && !(mmio_read32(vd.msix_pba) & 2), "unmasking delivers it and clears the bit");
    st = reap(&d, 1) == 1 ? *slot_status(0) : 0xff;
    check(st == BLK_S_OK, "and the request is done (status %u)", st);
}

static uint32_t rng = 2463534242u;

static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* `count` random 4 KiB reads, `depth` in flight: the number that came back right; its PM-timer time. */
static uint32_t random_reads(uint32_t count, unsigned depth, bool mark, uint32_t *us)
{
    uint32_t posted = 0, finished = 0, good = 0, seen = dev_irqs, sector_of[SLOTS];
    uint64_t t0, t1;
    struct done d[SLOTS];

    if (depth > SLOTS)
        depth = SLOTS;
    if (wedged)
        return 0;
    if (mark)
        outb(DEBUGCON, MARK_START);
    t0 = pm_now();
    for (unsigned s = 0; s < depth && posted < count; s++, posted++) {
        sector_of[s] = (xorshift() % (PATTERN_SECTOR / 8)) * 8;
        post_read(s, sector_of[s], RANDBUF + 4096 * s, 4096);
    }
    kick();
    while (finished < count) {
        unsigned n;

        if (!wait_irq(seen)) {
            wedged = true;
            break;
        }
        seen = dev_irqs;
        n = reap(d, SLOTS);
        for (unsigned i = 0; i < n; i++) {
            unsigned s = d[i].slot;
            const uint32_t *b = (const uint32_t *)(RANDBUF + 4096 * s);

            good += *slot_status(s) == BLK_S_OK && b[0] == sector_of[s] * 128 && b[1023] == sector_of[s] * 128 + 1023;
            finished++;
            if (posted < count) {
                sector_of[s] = (xorshift() % (PATTERN_SECTOR / 8)) * 8;
                post_read(s, sector_of[s], RANDBUF + 4096 * s, 4096);
                posted++;
            }
        }
        if (n)
            kick();
    }
    t1 = pm_now();
    if (mark)
        outb(DEBUGCON, MARK_END);
    /* 3.579545 MHz; 32-bit arithmetic (no 64-bit division here) holds for two minutes */
    *us = (uint32_t)(t1 - t0) * 10u / 35795u * 1000u + (uint32_t)(t1 - t0) * 10u % 35795u * 1000u / 35795u;
    return good;
}

static void check_random_reads(uint32_t count, unsigned depth, bool mark)
{
    uint32_t irqs = dev_irqs, kicks = notifies, us = 0, good = random_reads(count, depth, mark, &us);
    uint32_t per_s = us >= 1000 ? count * 1000u / (us / 1000u) : 0;

    check(good == count, "%u random 4 KiB reads at queue depth %u come back with their own sectors (%u do)", count,
          depth, good);
    note("depth %u: %u reads in %u ms, %u per second (by the PM timer), %u notifications, %u interrupts", depth,
         count, us / 1000, per_s, notifies - kicks, dev_irqs - irqs);
}

static void check_reset(void)
{
    bool off;

    check(reset_device(), "the device resets at the end: status 0");
    if (vd.modern) {
        mmio_write16(vd.common + C_Q_SELECT, 0);
        off = mmio_read16(vd.common + C_Q_ENABLE) == 0;
    } else {
        outw(vd.io + L_QUEUE_SEL, 0);
        off = inl(vd.io + L_QUEUE_PFN) == 0;
    }
    check(off, "and forgets its queue");
    if (vd.msix)
        cfg_write16(vd.msix_cap + 2, cfg_read16(vd.msix_cap + 2) & ~0x8000);
    else
        ioapic_mask(vd.line);
}

void test_main(uint32_t magic, uint32_t mbi)
{
    const char *name, *vectors;
    uint32_t id, bench, qd, placed;
    bool own_bars, modern_only;

    cmdline = (const char *)((const uint32_t *)mbi)[4];
    if (!(((const uint32_t *)mbi)[0] & 4))
        cmdline = "";
    name = opt("-name ");
    vd.modern = !(name && !strncmp(name, "legacy", 6));
    own_bars = name && word_has(name, "own-bars");
    vectors = opt("vectors=");
    bench = opt_num("bench=", 0);
    qd = opt_num("qd=", 1);
    note("command line: %s", cmdline);

    idt_init();
    pic_init(0x20);
    lapic_enable();
    isr_set(VEC_TIMER, timer_isr);
    lapic_write(0x3e0, 0x3);                    /* divide by 16 */
    lapic_write(0x320, VEC_TIMER | 1 << 17);    /* periodic: wakes the halts, counts the timeouts */
    lapic_write(0x380, 625000);                 /* 10 ms on KVM's 1 GHz APIC bus */
    sti();

    if (!find_function()) {
        check(false, "a virtio-blk function (1af4:1001 or 1af4:1042) is on PCI bus 0");
        return;
    }
    id = cfg_read32(0);
    modern_only = id >> 16 == DEV_BLK_MODERN;
    check(cfg_read32(8) >> 16 == 0x0100 && cfg_read16(0x2c) == VENDOR_VIRTIO &&
          (modern_only ? (cfg_read8(8) >= 1 && cfg_read16(0x2e) >= 0x40) : cfg_read16(0x2e) == 2),
          "virtio-blk at 00:%02x.%u: %04x:%04x, %s, class 0x%04x, subsystem %04x:%04x", devfn >> 3, devfn & 7,
          id & 0xffff, id >> 16, modern_only ? "modern-only" : "transitional", cfg_read32(8) >> 16,
          cfg_read16(0x2c), cfg_read16(0x2e));
    check(modern_only == (opt("disable-legacy=on") != NULL),
          "the device is modern-only exactly when the command line says disable-legacy=on");
    if (modern_only && !vd.modern) {
        check(false, "a legacy driver has a legacy interface to drive");
        return;
    }
    if (own_bars) {
        /* as though no firmware ran: every BAR at 0, decoding off */
        cfg_write16(4, cfg_read16(4) & ~7);
        for (int n = 0; n < 6; n++)
            cfg_write32(0x10 + 4 * n, 0);
    }
    placed = place_bars();
    if (own_bars)
        check(placed >= 2, "the payload placed the %u BARs it had cleared itself", placed);
    else
        check(placed == 0, "the VMM or its firmware placed every BAR below 4 GiB (%u left to the payload)", placed);
    for (int n = 0; n < 6; n++)
        if (bars[n].size)
            note("BAR %d: %s%s at 0x%x, %u bytes", n, bars[n].io ? "I/O" : "memory", bars[n].mem64 ? " (64-bit)" : "",
                 bars[n].addr, bars[n].size);

    if (vd.modern) {
        bool found = find_modern_caps();

        check(found, "the common, ISR, device and notify capabilities point into memory BARs "
              "(common at 0x%x, notify multiplier %u)", (uint32_t)vd.common, vd.notify_mult);
        if (!found)
            return;
    } else {
        vd.io = bars[0].addr;
        check(bars[0].io && bars[0].size >= 64, "legacy: I/O BAR 0 at 0x%x, %u ports", vd.io, bars[0].size);
        if (!bars[0].io)
            return;
    }
    vd.msix_cap = find_cap(0x11, 0);
    vd.msix = vd.msix_cap != 0;
    check(vd.msix == !(vectors && *vectors == '0'), "MSI-X %s, as vectors=%s asks",
          vd.msix ? "is there" : "is absent", vectors ? vectors : "(default)");
    if (!setup_device())
        return;
    check_config();

    if (bench) {
        check_random_reads(bench, qd, true);
        return;
    }
    check_whole_disk();
    check_write();
    check_id();
    check_errors();
    check_interrupts();
    check_random_reads(500, 1, false);
    check_random_reads(1000, 16, false);
    check_reset();
    cli();
}
