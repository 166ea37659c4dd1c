/* rtl8139.c: payload driving the RTL8139C+ as its drivers do, with interrupts through the IOAPIC: the EEPROM's MAC, C mode transmit and receive ring in loopback (I/O BAR), C+ rings with TCP segmentation in loopback (MMIO BAR); with a socket backend, frames of both modes exchanged with a peer program (netpeer.pl) */
#include "lib/intr.h"
#include "../../hw/net/rtl8139.h"

/* skiff-args: -smp 1 -device rtl8139,addr=5,mac=52:54:00:12:34:99,romfile= */
/* skiff-args: -smp 1 -device rtl8139,addr=5,mac=52:54:00:12:34:99,romfile=,netdev=n0 */
/* skiff-net: reflect: t-payloads gives netdev n0, a socket backend to netpeer.pl, which sends every frame back */

#define DEV ((5 << 3) | 0)
#define VEC 0x60
#define RING 0x400000           /* C mode: the 8 KiB receive ring and its WRAP room */
#define TXBUF 0x410000          /* 4 transmit buffers of 2 KiB */
#define TXD 0x420000            /* C+ descriptors: transmit, */
#define RXD 0x421000            /* receive */
#define CPTX 0x430000
#define CPRX 0x440000           /* 8 receive buffers of 2 KiB */

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x99 };
static const uint8_t far[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };  /* the peer's address */

static uint32_t cfg_read(unsigned off)
{
    outl(0xcf8, 0x80000000u | DEV << 8 | (off & 0xfc));
    return inl(0xcfc);
}

static uint16_t io;             /* BAR 0 */
static uint32_t mm;             /* BAR 1 */

static void mw8(unsigned off, uint8_t v) { *(volatile uint8_t *)(mm + off) = v; }
static void mw16(unsigned off, uint16_t v) { *(volatile uint16_t *)(mm + off) = v; }
static void mw32(unsigned off, uint32_t v) { mmio_write32(mm + off, v); }
static uint16_t mr16(unsigned off) { return *(volatile uint16_t *)(mm + off); }

/* The handler acknowledges what it found, as a driver does, and keeps what it saw. */
static volatile uint16_t seen;

static void nic_isr(int v)
{
    uint16_t st = inw(io + RTL_ISR);

    seen |= st;
    outw(io + RTL_ISR, st);
    lapic_eoi();
}

static uint16_t ee_read(unsigned addr)
{
    uint32_t cmd = addr | 6 << 6;
    uint16_t v = 0;

    outb(io + RTL_9346CR, RTL_9346_PROGRAM | RTL_9346_EECS);
    for (int i = 10; i >= 0; i--) {
        uint8_t di = cmd & (1u << i) ? RTL_9346_EEDI : 0;

        outb(io + RTL_9346CR, RTL_9346_PROGRAM | RTL_9346_EECS | di);
        outb(io + RTL_9346CR, RTL_9346_PROGRAM | RTL_9346_EECS | di | RTL_9346_EESK);
    }
    for (int i = 0; i < 16; i++) {
        outb(io + RTL_9346CR, RTL_9346_PROGRAM | RTL_9346_EECS);
        outb(io + RTL_9346CR, RTL_9346_PROGRAM | RTL_9346_EECS | RTL_9346_EESK);
        v = v << 1 | (inb(io + RTL_9346CR) & RTL_9346_EEDO);
    }
    outb(io + RTL_9346CR, 0);
    return v;
}

static size_t mkframe(uint8_t *f, const uint8_t *dst, size_t len, uint8_t seed)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seed + i);
    return len;
}

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
    for (; len > 1; p += 2, len -= 2)
        sum += p[0] << 8 | p[1];
    if (len)
        sum += p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

static uint16_t be16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static bool wait_seen(uint16_t bits)
{
    for (int i = 0; i < 2000 && (seen & bits) != bits; i++) {
        sti();
        udelay(100);
    }
    return (seen & bits) == bits;
}

static void check_c_mode(void)
{
    static uint8_t f[1600];
    volatile uint8_t *ring = (volatile uint8_t *)RING;
    uint32_t off = 0;
    bool ok = true;

    outb(io + RTL_CR, RTL_CR_RST);
    check(!(inb(io + RTL_CR) & RTL_CR_RST), "the chip's reset is done at once");
    outb(io + RTL_CR, RTL_CR_RE | RTL_CR_TE);
    outl(io + RTL_TCR, RTL_TCR_LBK | 0x600);
    outl(io + RTL_RBSTART, RING);
    outl(io + RTL_RCR, RTL_RCR_APM | RTL_RCR_AB | RTL_RCR_WRAP);
    outw(io + RTL_IMR, RTL_INT_ROK | RTL_INT_TOK);
    /* eight frames through the four descriptors, each read back from the ring like 8139too */
    for (int i = 0; i < 8; i++) {
        size_t len = mkframe(f, i & 1 ? mac : (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 600 + 100 * i, i);
        uint16_t st, plen;

        memcpy((void *)(TXBUF + 0x800 * (i & 3)), f, len);
        seen = 0;
        outl(io + RTL_TSAD0 + 4 * (i & 3), TXBUF + 0x800 * (i & 3));
        outl(io + RTL_TSD0 + 4 * (i & 3), len);
        ok &= wait_seen(RTL_INT_ROK | RTL_INT_TOK);
        ok &= (inl(io + RTL_TSD0 + 4 * (i & 3)) & (RTL_TSD_OWN | RTL_TSD_TOK)) == (RTL_TSD_OWN | RTL_TSD_TOK);
        st = ring[off] | ring[off + 1] << 8;
        plen = ring[off + 2] | ring[off + 3] << 8;
        ok &= (st & RTL_RX_ROK) && (st & (i & 1 ? RTL_RX_PAM : RTL_RX_BAR)) && plen == len + 4 &&
              !memcmp((const void *)(RING + off + 4), f, len);
        off = (off + 4 + plen + 3) & ~3u;
        off %= 8192;
        outw(io + RTL_CAPR, off - 16);
        if (!ok) {
            note("frame %d: status 0x%x length %u at %u", i, st, plen, off);
            break;
        }
    }
    check(ok, "C mode: 8 frames from the four descriptors come back through the ring, each by interrupt");
    check(inw(io + RTL_CBR) == off && (inb(io + RTL_CR) & RTL_CR_BUFE), "CBR is where the driver reads: the ring is empty");
}

/*
 * C+ mode from a reset: transmit and receive on (TCR as given), 8 receive descriptors of 2 KiB
 * at CPRX, the transmit ring at TXD, ROK and TOK interrupts.
 */
static void cp_start(uint32_t tcr)
{
    volatile uint32_t *rxd = (volatile uint32_t *)RXD;

    outb(io + RTL_CR, RTL_CR_RST);
    mw16(RTL_CPCR, RTL_CPCR_TXENB | RTL_CPCR_RXENB);
    mw8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
    mw32(RTL_TCR, tcr);
    mw32(RTL_RCR, RTL_RCR_APM);
    for (int i = 0; i < 8; i++) {
        rxd[4 * i] = RTL_DESC_OWN | (i == 7 ? RTL_DESC_EOR : 0) | 2048;
        rxd[4 * i + 1] = 0;
        rxd[4 * i + 2] = CPRX + 2048 * i;
        rxd[4 * i + 3] = 0;
    }
    mw32(RTL_TNPDS, TXD);
    mw32(RTL_TNPDS + 4, 0);
    mw32(RTL_RDSAR, RXD);
    mw32(RTL_RDSAR + 4, 0);
    mw16(RTL_IMR, RTL_INT_ROK | RTL_INT_TOK);
}

/*
 * The headers of a TCP/IPv4 frame from 10.0.0.2 to 10.0.0.1, port 80 to 80, with `plen` bytes
 * of payload to follow at f + 54; the checksums are left for the NIC.
 */
static void tcp_frame(uint8_t *f, const uint8_t *dst, unsigned plen)
{
    uint8_t *ip = f + 14, *t = ip + 20;

    memcpy(f, dst, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    memset(ip, 0, 40);
    ip[0] = 0x45;
    ip[2] = (40 + plen) >> 8;
    ip[3] = (40 + plen) & 0xff;
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10, ip[15] = 2;
    ip[16] = 10, ip[19] = 1;
    t[1] = 80;
    t[3] = 80;
    t[12] = 0x50;
    t[13] = 0x18;
}

/* One C+ transmit descriptor: a whole frame of len bytes at CPTX, a large send at MSS mss */
static void cp_large_send(unsigned mss, unsigned len)
{
    volatile uint32_t *txd = (volatile uint32_t *)TXD;

    seen = 0;
    txd[0] = RTL_DESC_OWN | RTL_DESC_EOR | RTL_DESC_FS | RTL_DESC_LS | RTL_TXD_LGSEN | mss << RTL_TXD_MSS_SHIFT | len;
    txd[1] = 0;
    txd[2] = CPTX;
    txd[3] = 0;
    mw8(RTL_TPPOLL, RTL_TPPOLL_NPQ);
}

static void check_cplus(void)
{
    static uint8_t f[4200];
    volatile uint32_t *txd = (volatile uint32_t *)TXD, *rxd = (volatile uint32_t *)RXD;
    uint8_t *t = f + 34;              /* the TCP header */
    unsigned got = 0, off = 0;
    bool ok = true;

    cp_start(RTL_TCR_LBK | 0x600);
    /* a 4000-byte TCP payload, segmented by the NIC at MSS 1000 */
    tcp_frame(f, mac, 4000);
    for (int i = 0; i < 4000; i++)
        t[20 + i] = (uint8_t)(i / 3);
    memcpy((void *)CPTX, f, 4054);
    cp_large_send(1000, 4054);
    check(wait_seen(RTL_INT_ROK | RTL_INT_TOK) && !(txd[0] & RTL_DESC_OWN),
          "C+ mode: a large send goes, its descriptor comes back, by interrupt (MMIO BAR)");
    for (int i = 0; i < 8 && !(rxd[4 * i] & RTL_DESC_OWN); i++, got++) {
        const uint8_t *g = (const uint8_t *)(CPRX + 2048 * i);
        unsigned plen = be16(g + 16) - 40;
        uint8_t ph[12];

        memcpy(ph, g + 26, 8);
        ph[8] = 0;
        ph[9] = 6;
        ph[10] = (20 + plen) >> 8;
        ph[11] = (20 + plen) & 0xff;
        ok &= (rxd[4 * i] & RTL_RXD_SIZE) == 54 + plen + 4 && csum(0, g + 14, 20) == 0xffff &&
              csum(csum(0, ph, 12), g + 34, 20 + plen) == 0xffff && be32(g + 38) == off &&
              !memcmp(g + 54, t + 20 + off, plen);
        off += plen;
    }
    check(got == 4 && off == 4000 && ok, "it arrives as 4 segments of MSS 1000 with their checksums right (%u, %u)",
          got, off);
    check(mr16(RTL_ISR) == 0, "the handler acknowledged every interrupt");
}

/* C and C+ modes without loopback: what the peer sends back arrives as a frame from far away. */
static void check_peer(void)
{
    static uint8_t f[4200];
    volatile uint8_t *ring = (volatile uint8_t *)RING;
    volatile uint32_t *txd = (volatile uint32_t *)TXD, *rxd = (volatile uint32_t *)RXD;
    uint8_t *t = f + 34;              /* the TCP header */
    uint32_t off = 0;
    unsigned got = 0, bytes = 0;
    bool ok = true;

    outb(io + RTL_CR, RTL_CR_RST);
    outb(io + RTL_CR, RTL_CR_RE | RTL_CR_TE);
    outl(io + RTL_TCR, 0x600);
    outl(io + RTL_RBSTART, RING);
    outl(io + RTL_RCR, RTL_RCR_APM | RTL_RCR_WRAP);
    outw(io + RTL_IMR, RTL_INT_ROK | RTL_INT_TOK);
    for (int i = 0; i < 4; i++) {
        size_t len = mkframe(f, far, 200 + 300 * i, 0x40 + i);
        uint16_t st, plen;

        memcpy((void *)(TXBUF + 0x800 * i), f, len);
        seen = 0;
        outl(io + RTL_TSAD0 + 4 * i, TXBUF + 0x800 * i);
        outl(io + RTL_TSD0 + 4 * i, len);
        ok &= wait_seen(RTL_INT_TOK | RTL_INT_ROK);
        st = ring[off] | ring[off + 1] << 8;
        plen = ring[off + 2] | ring[off + 3] << 8;
        ok &= st == (RTL_RX_ROK | RTL_RX_PAM) && plen == len + 4 && !memcmp((const void *)(RING + off + 4), mac, 6) &&
              !memcmp((const void *)(RING + off + 10), far, 6) &&
              !memcmp((const void *)(RING + off + 4 + 12), f + 12, len - 12);
        off = (off + 4 + plen + 3) & ~3u;
        outw(io + RTL_CAPR, off - 16);
    }
    check(ok, "C mode: 4 frames to the peer through the socket backend come back from it into the ring");
    ok = true;

    /* C+: a large send with the checksums to the peer, which checks them and sends each segment back */
    cp_start(0x600);
    tcp_frame(f, far, 3000);
    for (int i = 0; i < 3000; i++)
        t[20 + i] = (uint8_t)(i * 5);
    memcpy((void *)CPTX, f, 3054);
    cp_large_send(1200, 3054);
    for (int i = 0; i < 200 && got < 3; i++) {
        got = 0;
        for (int k = 0; k < 8 && !(rxd[4 * k] & RTL_DESC_OWN); k++)
            got++;
        wait_seen(RTL_INT_ROK);
        seen = 0;
    }
    for (unsigned k = 0; k < got; k++) {
        const uint8_t *g = (const uint8_t *)(CPRX + 2048 * k);

        ok &= !memcmp(g, mac, 6) && !memcmp(g + 6, far, 6) && be32(g + 38) == bytes;
        bytes += be16(g + 16) - 40;
    }
    check(got == 3 && bytes == 3000 && ok && !(txd[0] & RTL_DESC_OWN),
          "C+ mode: a 3000-byte large send goes to the peer as 3 segments, which come back (%u, %u)", got, bytes);
}

void test_main(uint32_t magic, uint32_t mbi)
{
    uint32_t id = cfg_read(0);
    uint8_t gsi;
    uint16_t w[3];

    idt_init();
    pic_init(0x20);
    lapic_enable();
    check(id == 0x813910ec && (cfg_read(8) & 0xff) == 0x20, "the RTL8139C+ is at 05.0 (%08x)", id);
    io = cfg_read(0x10) & ~3u;
    mm = cfg_read(0x14) & ~15u;
    gsi = cfg_read(0x3c) & 0xff;
    check(io && mm && (cfg_read(4) & 7) == 7, "skiff assigned BAR 0 (0x%x) and BAR 1 (0x%x), IRQ %u", io, mm, gsi);
    for (int i = 0; i < 3; i++)
        w[i] = ee_read(7 + i);
    check(w[0] == (mac[0] | mac[1] << 8) && w[1] == (mac[2] | mac[3] << 8) && w[2] == (mac[4] | mac[5] << 8) &&
          inb(io + RTL_IDR0 + 5) == mac[5],
          "the EEPROM read bit by bit and IDR0-5 give the mac= address");
    isr_set(VEC, nic_isr);
    ioapic_route(gsi, VEC, true, lapic_id());
    check_c_mode();
    check_cplus();
    if ((*(uint32_t *)mbi & 4) && strstr((const char *)*(uint32_t *)(mbi + 16), "netdev=n0"))
        check_peer();
    ioapic_mask(gsi);
    cli();
}
