/* virtio-net.c: payload with a small virtio-net driver for two NICs on one hub (legacy interface, MSI-X, mergeable receive buffers): the first sends a stream of frames as fast as its ring takes them, the second receives them into a few buffers it gives back as they fill, so the network core must hold frames back rather than drop them; every frame must arrive whole, once and in order, then a 9000-byte frame over five buffers */
/* skiff-args: -netdev hubport,id=h0,hubid=0 -netdev hubport,id=h1,hubid=0 -device virtio-net-pci,netdev=h0,romfile=,mac=52:54:00:00:00:0a -device virtio-net-pci,netdev=h1,romfile=,mac=52:54:00:00:00:0b */
/* skiff-args: -netdev hubport,id=h0,hubid=0 -netdev hubport,id=h1,hubid=0 -device virtio-net-pci,netdev=h0,romfile=,mac=52:54:00:00:00:0a,ioeventfd=off -device virtio-net-pci,netdev=h1,romfile=,mac=52:54:00:00:00:0b,ioeventfd=off */
#include "lib/intr.h"

#define VENDOR_VIRTIO 0x1af4
#define DEV_NET_TRANSITIONAL 0x1000     /* virtio 1.2 4.1.2.1: 0x1000 + the legacy ID (network: 1) */

#define VEC_TIMER 0x50
#define VEC_BASE 0x60                   /* NIC k's vector for MSI-X entry e: VEC_BASE + 4 k + e */

/* The legacy interface (4.1.4.8): registers at the start of BAR 0, with MSI-X the configuration at 24 */
#define L_HOST_FEATURES 0
#define L_GUEST_FEATURES 4
#define L_QUEUE_PFN 8
#define L_QUEUE_NUM 12
#define L_QUEUE_SEL 14
#define L_QUEUE_NOTIFY 16
#define L_STATUS 18
#define L_CONFIG_VECTOR 20
#define L_QUEUE_VECTOR 22
#define L_CONFIG 24
/* 5.1.3, 5.1.4 */
#define F_MAC 5
#define F_MRG_RXBUF 15
#define F_STATUS 16
#define S_LINK_UP 1
#define HDR 12                          /* struct virtio_net_hdr with num_buffers */
#define DESC_F_WRITE 2
#define USED_F_NO_NOTIFY 1

/* Guest memory: each NIC's two queues (legacy layout, 12 KiB each), then buffers of 2 KiB */
#define RINGS 0x200000u
#define TXBUF 0x400000u
#define RXBUF 0x600000u
#define JUMBO 0x700000u
#define BUF 2048u
#define RX_BUFS 16                      /* few on purpose: the stream must wait for them */
#define TX_INFLIGHT 128
#define FRAMES 1000
#define JUMBO_LEN 9000u
#define ETHERTYPE 0x88b5                /* IEEE's local experimental type */

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct queue {
    uint16_t num;
    struct desc *desc;
    volatile uint16_t *avail;           /* flags, idx, ring[] */
    volatile uint16_t *used;            /* flags, idx, then {u32 id, u32 len}[] */
    uint16_t avail_idx, last_used;
};

static struct nic {
    int devfn;
    uint16_t io;
    uintptr_t msix_table;
    uint8_t mac[6];
    struct queue q[2];                  /* receive, transmit */
} nics[2];

static volatile uint32_t irqs[2][3], ticks;

static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void full_fence(void) { __asm__ volatile("lock; orl $0, (%%esp)" ::: "memory"); }

/* ---- PCI configuration space, bus 0 ---- */

static uint32_t cfg_addr(int devfn, unsigned off) { return 0x80000000u | devfn << 8 | (off & 0xfc); }
static uint32_t cfg_read32(int devfn, unsigned off) { outl(0xcf8, cfg_addr(devfn, off)); return inl(0xcfc); }
static uint16_t cfg_read16(int devfn, unsigned off) { outl(0xcf8, cfg_addr(devfn, off)); return inw(0xcfc + (off & 2)); }
static uint8_t cfg_read8(int devfn, unsigned off) { outl(0xcf8, cfg_addr(devfn, off)); return inb(0xcfc + (off & 3)); }
static void cfg_write16(int devfn, unsigned off, uint16_t v) { outl(0xcf8, cfg_addr(devfn, off)); outw(0xcfc + (off & 2), v); }

static unsigned find_cap(int devfn, uint8_t id)
{
    unsigned p = cfg_read16(devfn, 6) & 0x10 ? cfg_read8(devfn, 0x34) : 0;

    for (int guard = 0; p >= 0x40 && guard < 48; guard++, p = cfg_read8(devfn, p + 1))
        if (cfg_read8(devfn, p) == id)
            return p;
    return 0;
}

/* ---- interrupts ---- */

static void nic_isr(int v)
{
    int k = (v - VEC_BASE) / 4, e = (v - VEC_BASE) % 4;

    if (k < 2 && e < 3)
        irqs[k][e]++;
    lapic_eoi();
}

static void timer_isr(int v)
{
    ticks++;
    lapic_eoi();
}

static void msix_entry(struct nic *n, unsigned e, uint8_t vector)
{
    uintptr_t a = n->msix_table + 16 * e;

    mmio_write32(a + 12, 1);
    mmio_write32(a, LAPIC_BASE | lapic_id() << 12);
    mmio_write32(a + 4, 0);
    mmio_write32(a + 8, vector);
    mmio_write32(a + 12, 0);
}

/* ---- the driver ---- */

static void queue_kick(struct nic *n, unsigned qi)
{
    /* 2.7.10: the index written before the device's flag is read */
    full_fence();
    if (!(n->q[qi].used[0] & USED_F_NO_NOTIFY))
        outw(n->io + L_QUEUE_NOTIFY, qi);
}

static void queue_add(struct queue *q, uint16_t head, uint32_t addr, uint32_t len, bool write)
{
    q->desc[head] = (struct desc){ addr, len, write ? DESC_F_WRITE : 0, 0 };
    q->avail[2 + q->avail_idx % q->num] = head;
    barrier();
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
}

/* The next used entry: true with its head and length. */
static bool queue_used(struct queue *q, uint16_t *head, uint32_t *len)
{
    const volatile uint32_t *ring = (const volatile uint32_t *)(q->used + 2);

    if (q->used[1] == q->last_used)
        return false;
    barrier();
    *head = ring[2 * (q->last_used % q->num)];
    *len = ring[2 * (q->last_used % q->num) + 1];
    q->last_used++;
    return true;
}

static bool nic_setup(struct nic *n, int k)
{
    unsigned cap = find_cap(n->devfn, 0x11);
    uint32_t table, offered, bar;
    uint16_t ctrl;

    n->io = cfg_read32(n->devfn, 0x10) & ~3u;
    cfg_write16(n->devfn, 4, cfg_read16(n->devfn, 4) | 7);
    if (!cap)
        return false;
    table = cfg_read32(n->devfn, cap + 4);
    bar = cfg_read32(n->devfn, 0x10 + 4 * (table & 7)) & ~0xfu;
    n->msix_table = bar + (table & ~7u);
    ctrl = cfg_read16(n->devfn, cap + 2);
    cfg_write16(n->devfn, cap + 2, ctrl | 0xc000);
    for (unsigned e = 0; e < 3; e++)
        msix_entry(n, e, VEC_BASE + 4 * k + e);
    cfg_write16(n->devfn, cap + 2, (ctrl | 0x8000) & ~0x4000);

    outb(n->io + L_STATUS, 0);
    outb(n->io + L_STATUS, 1);
    outb(n->io + L_STATUS, 3);
    offered = inl(n->io + L_HOST_FEATURES);
    outl(n->io + L_GUEST_FEATURES, offered & (1u << F_MAC | 1u << F_MRG_RXBUF | 1u << F_STATUS));
    outw(n->io + L_CONFIG_VECTOR, 0);
    for (unsigned qi = 0; qi < 2; qi++) {
        struct queue *q = &n->q[qi];
        uint32_t base = RINGS + 0x10000u * k + 0x4000u * qi;

        outw(n->io + L_QUEUE_SEL, qi);
        q->num = inw(n->io + L_QUEUE_NUM);
        if (q->num == 0 || q->num > 256)
            return false;
        memset((void *)base, 0, 0x4000);
        q->desc = (struct desc *)base;
        q->avail = (volatile uint16_t *)(base + 16 * q->num);
        q->used = (volatile uint16_t *)((base + 16 * q->num + 6 + 2 * q->num + 4095) & ~4095u);
        outl(n->io + L_QUEUE_PFN, base >> 12);
        outw(n->io + L_QUEUE_VECTOR, qi + 1);
        if (inw(n->io + L_QUEUE_VECTOR) != qi + 1)
            return false;
    }
    outb(n->io + L_STATUS, 7);
    for (int i = 0; i < 6; i++)
        n->mac[i] = inb(n->io + L_CONFIG + i);
    return inw(n->io + L_CONFIG_VECTOR) == 0 && (inl(n->io + L_GUEST_FEATURES) & 1u << F_MRG_RXBUF) &&
           (inw(n->io + L_CONFIG + 6) & S_LINK_UP);
}

/* Frame `seq`: its length, and its bytes after the addresses and the type */
static uint32_t frame_len(uint32_t seq)
{
    return 60 + seq * 37 % 1455;
}

/*
 * A frame's bytes after its sequence number are one value, written and checked with string
 * instructions: the emulating KVM of the native lane runs one far faster than a loop.
 */
static uint8_t frame_byte(uint32_t seq)
{
    return (uint8_t)(seq * 13 + 1);
}

static void fill8(uint8_t *p, uint8_t v, uint32_t n)
{
    __asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(v) : "memory");
}

/* Whether n bytes at p are all v */
static bool all8(const uint8_t *p, uint8_t v, uint32_t n)
{
    if (!n)
        return true;
    __asm__ volatile("repe scasb" : "+D"(p), "+c"(n) : "a"(v) : "memory", "cc");
    return n == 0 && p[-1] == v;
}

static void frame_make(uint8_t *p, const struct nic *from, const struct nic *to, uint32_t seq, uint32_t len)
{
    memset(p, 0, HDR);
    p += HDR;
    memcpy(p, to->mac, 6);
    memcpy(p + 6, from->mac, 6);
    p[12] = ETHERTYPE >> 8;
    p[13] = ETHERTYPE & 0xff;
    memcpy(p + 14, &seq, 4);
    fill8(p + 18, frame_byte(seq), len - 18);
}

static bool frame_ok(const uint8_t *p, uint32_t seq, uint32_t len)
{
    uint32_t got;

    memcpy(&got, p + 14, 4);
    if (got != seq || p[12] != ETHERTYPE >> 8)
        return false;
    return all8(p + 18, frame_byte(seq), len - 18);
}

/* Halt until an interrupt or the next tick */
static void idle(void)
{
    __asm__ volatile("sti; hlt" ::: "memory");
}

void test_main(uint32_t magic, uint32_t mbi)
{
    struct nic *a = &nics[0], *b = &nics[1];
    uint32_t sent = 0, done_tx = 0, received = 0, bad = 0, last_progress, len;
    uint32_t first_bad = ~0u;
    int found = 0;
    uint16_t head;

    idt_init();
    pic_init(0x20);
    lapic_enable();
    isr_set(VEC_TIMER, timer_isr);
    for (int v = VEC_BASE; v < VEC_BASE + 8; v++)
        isr_set(v, nic_isr);
    lapic_write(0x3e0, 0x3);
    lapic_write(0x320, VEC_TIMER | 1 << 17);
    lapic_write(0x380, 625000);         /* about 10 ms */
    sti();

    for (int devfn = 0; devfn < 256 && found < 2; devfn++)
        if (cfg_read32(devfn, 0) == ((uint32_t)DEV_NET_TRANSITIONAL << 16 | VENDOR_VIRTIO))
            nics[found++].devfn = devfn;
    check(found == 2 && (cfg_read32(nics[0].devfn, 8) >> 16) == 0x0200,
          "two virtio-net functions (1af4:1000, Ethernet controllers) are on PCI bus 0 (%d)", found);
    if (found < 2)
        return;
    check(nic_setup(a, 0) && nic_setup(b, 1),
          "both start: a legacy driver with MSI-X (a vector per queue), MRG_RXBUF, and the link up");
    check(a->mac[5] == 0x0a && b->mac[5] == 0x0b && a->mac[0] == 0x52,
          "their addresses are the mac= given (..:%x, ..:%x)", a->mac[5], b->mac[5]);

    for (uint16_t i = 0; i < RX_BUFS; i++)
        queue_add(&b->q[0], i, RXBUF + BUF * i, BUF, true);
    queue_kick(b, 0);

    /* the stream: A sends while its ring has room, B takes what came and gives each buffer back */
    last_progress = ticks;
    while ((received < FRAMES || done_tx < FRAMES) && ticks - last_progress < 500) {
        bool progress = false, kick_tx = false, kick_rx = false;

        while (sent < FRAMES && sent - done_tx < TX_INFLIGHT) {
            uint16_t slot = sent % TX_INFLIGHT;

            frame_make((uint8_t *)(TXBUF + BUF * slot), a, b, sent, frame_len(sent));
            queue_add(&a->q[1], slot, TXBUF + BUF * slot, HDR + frame_len(sent), false);
            sent++;
            kick_tx = true;
        }
        if (kick_tx)
            queue_kick(a, 1);
        while (queue_used(&a->q[1], &head, &len)) {
            done_tx++;
            progress = true;
        }
        while (queue_used(&b->q[0], &head, &len)) {
            const uint8_t *p = (const uint8_t *)(RXBUF + BUF * (head % RX_BUFS));
            uint16_t nbuf = p[10] | p[11] << 8;

            if (head >= RX_BUFS || nbuf != 1 || len != HDR + frame_len(received) ||
                !frame_ok(p + HDR, received, frame_len(received))) {
                if (first_bad == ~0u)
                    first_bad = received;
                bad++;
            }
            received++;
            queue_add(&b->q[0], head % RX_BUFS, RXBUF + BUF * (head % RX_BUFS), BUF, true);
            kick_rx = true;
            progress = true;
        }
        if (kick_rx)
            queue_kick(b, 0);
        if (progress) {
            last_progress = ticks;
            continue;
        }
        cli();
        if (a->q[1].used[1] == a->q[1].last_used && b->q[0].used[1] == b->q[0].last_used)
            idle();
        sti();
    }
    check(done_tx == FRAMES, "A's %u transmit requests all complete (%u)", FRAMES, done_tx);
    check(received == FRAMES && bad == 0,
          "B receives all %u frames (60 to 1514 bytes) through %u buffers, whole and in order (%u, %u wrong, the "
          "first #%d)", FRAMES, RX_BUFS, received, bad, (int)first_bad);
    check(irqs[0][2] > 0 && irqs[1][1] > 0, "by MSI-X interrupts: %u for A's transmit queue, %u for B's receive queue",
          irqs[0][2], irqs[1][1]);

    /* a frame longer than a buffer: MRG_RXBUF spreads it over five (5.1.6.4) */
    frame_make((uint8_t *)JUMBO, a, b, 0x4a4a, JUMBO_LEN);
    queue_add(&a->q[1], 0, JUMBO, HDR + JUMBO_LEN, false);
    queue_kick(a, 1);
    {
        static uint8_t whole[JUMBO_LEN + 64];
        uint32_t at = 0, bufs = 0, want = 1, t0 = ticks;
        bool order = true;

        while (bufs < want && ticks - t0 < 300) {
            if (!queue_used(&b->q[0], &head, &len)) {
                cli();
                if (b->q[0].used[1] == b->q[0].last_used)
                    idle();
                sti();
                continue;
            }
            {
                const uint8_t *p = (const uint8_t *)(RXBUF + BUF * (head % RX_BUFS));
                uint32_t skip = bufs ? 0 : HDR;

                if (!bufs)
                    want = p[10] | p[11] << 8;
                if (len > BUF || len < skip || at + len - skip > sizeof(whole))
                    order = false;
                else
                    memcpy(whole + at, p + skip, len - skip);
                at += len - skip;
                bufs++;
            }
        }
        check(want == 5 && bufs == 5, "a 9000-byte frame comes in over 5 buffers of 2 KiB, num_buffers 5 (%u, %u)",
              want, bufs);
        check(order && at == JUMBO_LEN && frame_ok(whole, 0x4a4a, JUMBO_LEN),
              "and joined again it is the frame A sent (%u bytes)", at);
    }
    outb(a->io + L_STATUS, 0);
    outb(b->io + L_STATUS, 0);
    done();
}
