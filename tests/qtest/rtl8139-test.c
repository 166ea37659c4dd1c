/* rtl8139-test.c: the RTL8139C+ driven through its registers: identity, EEPROM and MAC, reset, C mode transmit and receive ring (wrap, filters, overrun), interrupts and the timer, C+ rings with checksum offload, segmentation and VLAN tags, hostile headers, descriptors and addresses, and its state across a save and load */
#include "hw/net/rtl8139.h"
#include "tests/qtest/libqos.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define NIC PCI_DEVFN(4, 0)     /* INTA# of slot 4 is PIRQD#, which the test routes to IRQ 11 */
#define ISA PCI_DEVFN(1, 0)
#define GSI 11
#define MAC "52:54:00:ab:cd:ef"
static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* guest memory the tests use (-m 64) */
#define RING 0x100000           /* the C mode receive ring, 8 KiB + the WRAP room */
#define TXBUF 0x110000          /* C mode transmit buffers, 8 KiB each */
#define TXD 0x200000            /* C+ transmit descriptors */
#define RXD 0x201000            /* C+ receive descriptors */
#define CPTX 0x210000           /* C+ transmit buffers */
#define CPRX 0x300000           /* C+ receive buffers, 8 KiB each */
#define TALLY 0x2f0000
#define NOT_RAM 0xd0000000u     /* in the PCI hole, where nothing is mapped */

static struct qtest *q;
static uint16_t io;             /* BAR 0 */
static uint32_t mmio;           /* BAR 1 */

static uint8_t r8(unsigned off) { return qtest_inb(q, io + off); }
static uint16_t r16(unsigned off) { return qtest_inw(q, io + off); }
static uint32_t r32(unsigned off) { return qtest_inl(q, io + off); }
static void w8(unsigned off, uint8_t v) { qtest_outb(q, io + off, v); }
static void w16(unsigned off, uint16_t v) { qtest_outw(q, io + off, v); }
static void w32(unsigned off, uint32_t v) { qtest_outl(q, io + off, v); }

/*
 * A C+ transmit poll, then an ISR read: the write goes to the NIC's ioeventfd (served by skiff's
 * main loop), and an ISR read answers only after the frames it kicked out, as for a driver that
 * polls ISR.
 */
static void tppoll(void)
{
    w8(RTL_TPPOLL, RTL_TPPOLL_NPQ);
    r16(RTL_ISR);
}

static uint16_t be16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint16_t le16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static void put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put_be32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (24 - 8 * i); }

/* Start skiff with the NIC at 04.0 (and more options), find it, give it its BARs, route its pin. */
/* The NIC's netdev= (",netdev=n0"), for the tests with a backend */
static char nic_netdev[64];

static void start(const char *extra)
{
    struct qpci_bus *bus;
    struct qpci_dev *d;

    q = qtest_start("-m 64 -device rtl8139,addr=04.0,mac=" MAC "%s%s%s", nic_netdev, extra ? " " : "",
                    extra ? extra : "");
    bus = qpci_bus_new(q);
    d = qpci_find(bus, RTL_VENDOR, RTL_DEVICE, 0);
    if (!d) {
        printf("Bail out! no 10ec:8139 on the bus\n");
        exit(1);
    }
    io = qpci_iomap(d, 0, NULL);
    mmio = qpci_iomap(d, 1, NULL);
    qpci_enable(d);
    free(bus);
    pci_cfg_writeb(q, ISA, 0x63, GSI);
    qtest_irq_intercept(q);
}

static void mem_fill(uint64_t addr, uint8_t byte, size_t len)
{
    qtest_cmd(q, "memset 0x%llx 0x%zx 0x%x", (unsigned long long)addr, len, byte);
}

static int stop(void)
{
    int st = qtest_quit(q);

    q = NULL;
    return st;
}

/* ---- frames ---- */

/* An Ethernet frame of len bytes to dst: our address as the source, type 0x88b5, a counting payload. */
static size_t mkframe(uint8_t *f, const uint8_t *dst, size_t len, uint8_t seed)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, mac, 6);
    put_be16(f + 12, 0x88b5);
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seed + i);
    return len;
}

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
    for (; len > 1; p += 2, len -= 2)
        sum += be16(p);
    if (len)
        sum += p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

/* Whether the IPv4 header's and the TCP or UDP checksum hold. */
static bool ip_sums_ok(const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + 14, *l4;
    unsigned hlen = (ip[0] & 15) * 4, total = be16(ip + 2), dlen;
    uint8_t ph[12];

    if (len < 14 + 20 || total > len - 14 || csum(0, ip, hlen) != 0xffff)
        return false;
    l4 = ip + hlen;
    dlen = total - hlen;
    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = ip[9];
    put_be16(ph + 10, dlen);
    return csum(csum(0, ph, 12), l4, dlen) == 0xffff;
}

/* An IPv4 TCP frame with plen bytes of payload (no checksums yet). */
static size_t mktcp(uint8_t *f, size_t plen, uint8_t flags)
{
    uint8_t *ip = f + 14, *t = ip + 20;

    memcpy(f, mac, 6);
    memcpy(f + 6, mac, 6);
    put_be16(f + 12, 0x0800);
    memset(ip, 0, 40);
    ip[0] = 0x45;
    put_be16(ip + 2, 40 + plen);
    put_be16(ip + 4, 0x1000);
    ip[8] = 64;
    ip[9] = 6;
    put_be32(ip + 12, 0x0a000002);
    put_be32(ip + 16, 0x0a000001);
    put_be16(t, 1234);
    put_be16(t + 2, 80);
    put_be32(t + 4, 0x10000000);
    t[12] = 5 << 4;
    t[13] = flags;
    put_be16(t + 14, 8192);
    for (size_t i = 0; i < plen; i++)
        t[20 + i] = (uint8_t)(i * 7);
    return 54 + plen;
}

static size_t mkudp(uint8_t *f, size_t plen)
{
    uint8_t *ip = f + 14, *u = ip + 20;

    mktcp(f, 0, 0);
    put_be16(ip + 2, 28 + plen);
    ip[9] = 17;
    memset(u, 0, 8);
    put_be16(u, 53);
    put_be16(u + 2, 5353);
    put_be16(u + 4, 8 + plen);
    for (size_t i = 0; i < plen; i++)
        u[8 + i] = (uint8_t)(i * 3 + 1);
    return 42 + plen;
}

/* ---- the EEPROM, read as Linux's 8139too does ---- */

static uint16_t ee_read(unsigned addr)
{
    uint32_t cmd = addr | 6 << 6;   /* start bit, READ */
    uint16_t v = 0;

    w8(RTL_9346CR, 0x80);
    w8(RTL_9346CR, 0x80 | RTL_9346_EECS);
    for (int i = 10; i >= 0; i--) {
        uint8_t di = cmd & (1u << i) ? RTL_9346_EEDI : 0;

        w8(RTL_9346CR, 0x80 | RTL_9346_EECS | di);
        w8(RTL_9346CR, 0x80 | RTL_9346_EECS | di | RTL_9346_EESK);
    }
    w8(RTL_9346CR, 0x80 | RTL_9346_EECS);
    for (int i = 0; i < 16; i++) {
        w8(RTL_9346CR, 0x80 | RTL_9346_EECS | RTL_9346_EESK);
        v = v << 1 | (r8(RTL_9346CR) & RTL_9346_EEDO);
        w8(RTL_9346CR, 0x80 | RTL_9346_EECS);
    }
    w8(RTL_9346CR, 0x80);
    w8(RTL_9346CR, 0);
    return v;
}

/* ---- C mode helpers ---- */

/* Reset, then receiver and transmitter on, loopback, the ring at RING (8 KiB), every interrupt unmasked. */
static void c_setup(uint32_t rcr)
{
    w8(RTL_CR, RTL_CR_RST);
    w8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
    w32(RTL_TCR, RTL_TCR_LBK | 0x600);
    w32(RTL_RBSTART, RING);
    w32(RTL_RCR, rcr);
    w16(RTL_IMR, 0xffff);
}

/* Send len bytes (already in guest memory at TXBUF + 8 KiB * d) through descriptor d. */
static uint32_t c_send(unsigned d, const uint8_t *f, size_t len)
{
    qtest_memwrite(q, TXBUF + 0x2000 * d, f, len);
    w32(RTL_TSAD0 + 4 * d, TXBUF + 0x2000 * d);
    w32(RTL_TSD0 + 4 * d, len);
    return r32(RTL_TSD0 + 4 * d);
}

/* The packet at ring offset off: its header's status and length, its bytes (up to max). */
static void ring_packet(uint32_t off, uint16_t *status, uint16_t *len, uint8_t *buf, size_t max)
{
    uint8_t h[4];

    qtest_memread(q, RING + off, h, 4);
    *status = le16(h);
    *len = le16(h + 2);
    if (buf && *len <= max)
        qtest_memread(q, RING + off + 4, buf, *len);
}

/* The driver consumed everything up to CBR. */
static void ring_consume(void)
{
    w16(RTL_CAPR, (uint16_t)(r16(RTL_CBR) - 16));
}

/* ---- C+ helpers ---- */

static void desc_write(uint64_t at, uint32_t dw0, uint32_t dw1, uint64_t buf)
{
    uint8_t d[16];

    put_le32(d, dw0);
    put_le32(d + 4, dw1);
    put_le32(d + 8, (uint32_t)buf);
    put_le32(d + 12, buf >> 32);
    qtest_memwrite(q, at, d, 16);
}

static uint32_t desc_dw(uint64_t at, int n)
{
    return qtest_readl(q, at + 4 * n);
}

/* C+ mode with loopback: nrx receive descriptors of 8 KiB at CPRX, the last with EOR. */
static void cp_setup(unsigned nrx, uint16_t cpcr_extra)
{
    w8(RTL_CR, RTL_CR_RST);
    w16(RTL_CPCR, RTL_CPCR_TXENB | RTL_CPCR_RXENB | cpcr_extra);
    w8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
    w32(RTL_TCR, RTL_TCR_LBK | 0x600);
    w32(RTL_RCR, RTL_RCR_APM | RTL_RCR_AB | RTL_RCR_AM);
    w32(RTL_TNPDS, TXD);
    w32(RTL_TNPDS + 4, 0);
    for (unsigned i = 0; i < nrx; i++)
        desc_write(RXD + 16 * i, RTL_DESC_OWN | (i == nrx - 1 ? RTL_DESC_EOR : 0) | 0x1ff8, 0,
                   CPRX + 0x2000 * i);
    w32(RTL_RDSAR, RXD);
    w32(RTL_RDSAR + 4, 0);
    w16(RTL_IMR, 0xffff);
}

/* Hand one frame (len bytes) to C+ descriptor i with flags, and poll. */
static void cp_send(unsigned i, const uint8_t *f, size_t len, uint32_t flags, uint32_t dw1)
{
    qtest_memwrite(q, CPTX + 0x2000 * i, f, len);
    desc_write(TXD + 16 * i, RTL_DESC_OWN | RTL_DESC_FS | RTL_DESC_LS | flags | len, dw1, CPTX + 0x2000 * i);
    tppoll();
}

/* Receive descriptor i: taken (OWN clear) with FS and LS; its frame into buf, the length without the CRC. */
static bool cp_rx(unsigned i, uint8_t *buf, size_t max, size_t *len)
{
    uint32_t dw0 = desc_dw(RXD + 16 * i, 0);
    size_t n = (dw0 & RTL_RXD_SIZE) - 4;

    *len = 0;
    if ((dw0 & RTL_DESC_OWN) || !(dw0 & RTL_DESC_FS) || !(dw0 & RTL_DESC_LS) || n > max)
        return false;
    qtest_memread(q, CPRX + 0x2000 * i, buf, n);
    *len = n;
    return true;
}

/* ---- the checks ---- */

static void check_identity(void)
{
    uint32_t rom;

    start(NULL);
    CHECK(pci_cfg_readl(q, NIC, 0) == 0x813910ec, "the function at 04.0 is 10ec:8139");
    CHECK(pci_cfg_readl(q, NIC, 8) == 0x02000020, "revision 0x20 (the 8139C+), class 020000 (Ethernet)");
    CHECK(pci_cfg_readl(q, NIC, 0x2c) == 0x11001af4, "subsystem 1af4:1100, as QEMU's emulated functions");
    CHECK(pci_cfg_readb(q, NIC, 0x3d) == 1, "interrupt pin INTA#");
    CHECK((pci_cfg_readl(q, NIC, 0x10) & 1) && (pci_cfg_readl(q, NIC, 0x14) & 1) == 0,
          "BAR 0 is I/O and BAR 1 memory");
    CHECK(r32(RTL_TCR) == qtest_readl(q, mmio + RTL_TCR) && (r32(RTL_TCR) & 0x7c800000) == 0x74800000,
          "both BARs reach the registers: TCR says RTL8139C+ (0x%08x)", r32(RTL_TCR));
    CHECK(r8(RTL_RERID) == 0x20, "the revision register reads 0x20");
    pci_cfg_writel(q, NIC, 0x30, 0xfffff800);
    rom = pci_cfg_readl(q, NIC, 0x30);
    pci_cfg_writel(q, NIC, 0x30, 0xfe000001);
    CHECK(rom == 0xfffc0000 && qtest_readw(q, 0xfe000000) == 0xaa55,
          "the ROM BAR holds iPXE's efi-rtl8139.rom (256 KiB, 55 aa)");
    pci_cfg_writel(q, NIC, 0x30, 0);
    CHECK(stop() == 0, "skiff exits cleanly");

    start("-device rtl8139,addr=05.0,romfile=");
    CHECK(pci_cfg_readl(q, PCI_DEVFN(5, 0), 0) == 0x813910ec, "a second NIC at 05.0");
    pci_cfg_writel(q, PCI_DEVFN(5, 0), 0x30, 0xfffff800);
    CHECK(pci_cfg_readl(q, PCI_DEVFN(5, 0), 0x30) == 0, "romfile= (empty) leaves it without a ROM BAR");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_mac(void)
{
    uint8_t m[6];
    uint16_t w[3];

    start(NULL);
    for (int i = 0; i < 6; i++)
        m[i] = r8(RTL_IDR0 + i);
    CHECK(!memcmp(m, mac, 6), "IDR0-5 read the mac= address");
    CHECK(ee_read(0) == 0x8129 && ee_read(1) == 0x10ec && ee_read(2) == 0x8139,
          "the EEPROM's words 0-2: its id 0x8129 and the PCI ids");
    for (int i = 0; i < 3; i++)
        w[i] = ee_read(7 + i);
    CHECK(w[0] == (mac[0] | mac[1] << 8) && w[1] == (mac[2] | mac[3] << 8) && w[2] == (mac[4] | mac[5] << 8),
          "words 7-9 hold the MAC address, as a driver reads it (%04x %04x %04x)", w[0], w[1], w[2]);
    CHECK(r8(RTL_9346CR) == 0, "9346CR is back to normal mode");
    w8(RTL_9346CR, 0xc0);
    w32(RTL_IDR0, 0x44332211);
    w32(RTL_IDR0 + 4, 0x6655);
    CHECK(r32(RTL_IDR0) == 0x44332211 && r16(RTL_IDR0 + 4) == 0x6655, "the driver may set another address");
    w8(RTL_CR, RTL_CR_RST);
    for (int i = 0; i < 6; i++)
        m[i] = r8(RTL_IDR0 + i);
    CHECK(!memcmp(m, mac, 6), "a reset brings the configured one back");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_reset(void)
{
    start(NULL);
    CHECK(r16(RTL_TSAD) == 0x000f, "after power-on every transmit descriptor is the driver's (TSAD 0x%04x)",
          r16(RTL_TSAD));
    CHECK(r16(RTL_ISR) == 0 && r16(RTL_IMR) == 0, "no interrupt pending or enabled");
    CHECK(r8(RTL_MSR) == 0xd0 && (r16(RTL_BMSR) & 4), "the link is up (MSR 0x%02x, BMSR 0x%04x)", r8(RTL_MSR),
          r16(RTL_BMSR));
    CHECK(r16(RTL_BMCR) == 0x1000 && r16(RTL_ANAR) == 0x05e1 && r8(RTL_CONFIG1) == 0x0c,
          "BMCR autonegotiation, ANAR 10/100 full duplex, CONFIG1 I/O and memory mapped");
    c_setup(RTL_RCR_APM);
    w32(RTL_TIMERINT, 1000);
    w16(RTL_CPCR, RTL_CPCR_RXVLAN);
    w8(RTL_CR, RTL_CR_RST);
    CHECK(!(r8(RTL_CR) & RTL_CR_RST) && (r8(RTL_CR) & RTL_CR_BUFE) && !(r8(RTL_CR) & (RTL_CR_RE | RTL_CR_TE)),
          "CR's reset: RST reads clear at once, the receiver and transmitter are off, the ring empty (0x%02x)",
          r8(RTL_CR));
    CHECK(r16(RTL_IMR) == 0 && r32(RTL_RCR) == 0 && r32(RTL_TIMERINT) == 0 && r16(RTL_CPCR) == 0 &&
          r32(RTL_TCR) == 0x74800000, "IMR, RCR, TimerInt, CPCR and TCR are back to their reset values");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_c_tx(void)
{
    uint8_t f[1600], g[1600];
    uint16_t st, len;
    uint32_t tsd;

    start(NULL);
    w8(RTL_CR, RTL_CR_TE);
    w16(RTL_IMR, RTL_INT_TOK);
    mkframe(f, bcast, 100, 1);
    tsd = c_send(0, f, 100);
    CHECK((tsd & (RTL_TSD_OWN | RTL_TSD_TOK)) == (RTL_TSD_OWN | RTL_TSD_TOK) && (tsd & RTL_TSD_SIZE) == 100,
          "a frame from descriptor 0 is sent with no backend: OWN and TOK (TSD0 0x%08x)", tsd);
    CHECK((r16(RTL_ISR) & RTL_INT_TOK) && qtest_get_irq(q, GSI), "ISR TOK raises INTA# (IRQ 11)");
    CHECK((r16(RTL_TSAD) & 0xf00f) == 0x100f, "TSAD: TOK of descriptor 0, every OWN bit (0x%04x)", r16(RTL_TSAD));
    w16(RTL_ISR, RTL_INT_TOK);
    CHECK(!qtest_get_irq(q, GSI), "writing TOK to ISR clears it and lowers the line");
    w32(RTL_TSD0 + 12, 100);
    CHECK(!(r32(RTL_TSD0 + 12) & RTL_TSD_OWN) && !(r16(RTL_ISR) & RTL_INT_TOK),
          "descriptor 3 out of turn waits (the next is 1)");
    c_send(1, f, 60);
    c_send(2, f, 60);
    CHECK((r32(RTL_TSD0 + 12) & RTL_TSD_TOK) && (r16(RTL_TSAD) & 0xf000) == 0xf000,
          "descriptors 1, 2 and then the waiting 3 go in order (TSAD 0x%04x)", r16(RTL_TSAD));
    w8(RTL_CR, 0);
    w32(RTL_TSD0, 60);
    CHECK(!(r32(RTL_TSD0) & RTL_TSD_OWN), "with the transmitter off a descriptor stays the NIC's");
    CHECK(stop() == 0, "skiff exits cleanly");

    /* loopback: the frame comes back into the receive ring */
    start(NULL);
    c_setup(RTL_RCR_AB | RTL_RCR_APM);
    mkframe(f, bcast, 100, 3);
    c_send(0, f, 100);
    ring_packet(0, &st, &len, g, sizeof(g));
    CHECK(st == (RTL_RX_ROK | RTL_RX_BAR) && len == 104 && !memcmp(f, g, 100) &&
          le32(g + 100) == (uint32_t)crc32(0, f, 100),
          "TCR loopback: the frame lands in the ring after a header (ROK|BAR, 104) and before its CRC");
    CHECK(r16(RTL_CBR) == 108 && !(r8(RTL_CR) & RTL_CR_BUFE) && (r16(RTL_ISR) & (RTL_INT_ROK | RTL_INT_TOK)) ==
          (RTL_INT_ROK | RTL_INT_TOK), "CBR moves to 108, the ring is not empty, ISR has ROK and TOK");
    ring_consume();
    CHECK((r8(RTL_CR) & RTL_CR_BUFE) && r16(RTL_CAPR) == 108 - 16, "the driver's CAPR makes it empty again");
    mkframe(f, mac, 20, 4);
    c_send(1, f, 20);
    ring_packet(108, &st, &len, g, sizeof(g));
    CHECK(st == (RTL_RX_ROK | RTL_RX_PAM) && len == 64 && !memcmp(f, g, 20) && g[20] == 0 && g[59] == 0,
          "a 20-byte frame to our address arrives padded to 60 bytes with zeros (PAM)");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_c_rx_wrap(void)
{
    uint8_t f[2000], g[2100], guard[64], h[4];
    uint16_t st, len;
    uint32_t cbr;

    /* WRAP=0: a packet that reaches the end goes on at the ring's start */
    start(NULL);
    c_setup(RTL_RCR_AB);
    mkframe(f, bcast, 1500, 5);
    for (int i = 0; i < 6; i++) {
        c_send(i & 3, f, 1500);
        ring_consume();
    }
    cbr = r16(RTL_CBR);
    CHECK(cbr == 6 * 1508 - 8192, "six 1500-byte frames take CBR round the 8 KiB ring to %u", cbr);
    qtest_memread(q, RING + 5 * 1508, h, 4);
    qtest_memread(q, RING + 5 * 1508 + 4, g, 8192 - 5 * 1508 - 4);
    qtest_memread(q, RING, g + 8192 - 5 * 1508 - 4, 1504 - (8192 - 5 * 1508 - 4));
    CHECK(le16(h + 2) == 1504 && !memcmp(g, f, 1500) && le32(g + 1500) == (uint32_t)crc32(0, f, 1500),
          "WRAP=0: the sixth is cut at the ring's end and continues at its start");
    CHECK(stop() == 0, "skiff exits cleanly");

    /* WRAP=1: it runs on past the end */
    start(NULL);
    c_setup(RTL_RCR_AB | RTL_RCR_WRAP);
    mem_fill(RING + 8192, 0x5a, 2048);
    for (int i = 0; i < 6; i++) {
        c_send(i & 3, f, 1500);
        ring_consume();
    }
    ring_packet(5 * 1508, &st, &len, g, sizeof(g));
    CHECK(st == (RTL_RX_ROK | RTL_RX_BAR) && len == 1504 && !memcmp(g, f, 1500),
          "WRAP=1: the sixth lies whole from its start, past the ring's end");
    CHECK(r16(RTL_CBR) == 6 * 1508 - 8192, "and CBR still wraps (%u)", r16(RTL_CBR));
    qtest_memread(q, RING + 6 * 1508, guard, sizeof(guard));
    CHECK(guard[0] == 0x5a && guard[63] == 0x5a, "nothing is written after its CRC");
    CHECK(stop() == 0, "skiff exits cleanly");

    /* WRAP=1, but a packet longer than the 1.5 KiB past the end wraps as with WRAP=0 */
    start(NULL);
    c_setup(RTL_RCR_AB | RTL_RCR_WRAP);
    mem_fill(RING + 8192, 0x5a, 4096);
    for (int i = 0; i < 5; i++) {
        c_send(i & 3, f, 1500);
        ring_consume();
    }
    {
        static uint8_t big[3000], past[4096];
        bool clean = true;

        c_send(1, big, mkframe(big, bcast, 3000, 9));
        qtest_memread(q, RING + 8192, past, sizeof(past));
        for (size_t i = 0; i < sizeof(past); i++)
            clean &= past[i] == 0x5a;
        qtest_memread(q, RING + 5 * 1508, h, 4);
        qtest_memread(q, RING, g, 64);
        CHECK(le16(h + 2) == 3004 && clean && !memcmp(g, big + 8192 - 5 * 1508 - 4, 64) &&
              r16(RTL_CBR) == 5 * 1508 + 3008 - 8192,
              "WRAP=1: a 3000-byte frame at 652 bytes before the end is cut there, nothing past the ring");
    }
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_filters(void)
{
    uint8_t f[64], mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb }, other[6] = { 0x52, 0x54, 0, 1, 2, 3 };
    unsigned h;
    uint32_t crc = 0xffffffff;
    uint16_t st, len;

    /* the hash: the top 6 bits of the Ethernet CRC of the address, most significant bit first */
    for (int i = 0; i < 6; i++)
        for (int j = 0, b = mc[i]; j < 8; j++, b >>= 1)
            crc = (crc << 1) ^ ((((crc >> 31) ^ b) & 1) ? 0x04c11db7 : 0);
    h = crc >> 26;

    start(NULL);
    c_setup(RTL_RCR_APM);
    c_send(0, f, mkframe(f, bcast, 64, 0));
    CHECK(r16(RTL_CBR) == 0 && !(r16(RTL_ISR) & RTL_INT_ROK), "without AB a broadcast is dropped");
    c_send(1, f, mkframe(f, other, 64, 0));
    CHECK(r16(RTL_CBR) == 0, "a frame to another address is dropped");
    c_send(2, f, mkframe(f, mc, 64, 0));
    CHECK(r16(RTL_CBR) == 0, "without AM a multicast is dropped");
    w32(RTL_RCR, RTL_RCR_APM | RTL_RCR_AM);
    c_send(3, f, mkframe(f, mc, 64, 0));
    CHECK(r16(RTL_CBR) == 0, "with AM but its MAR bit clear it is dropped too");
    w8(RTL_MAR0 + (h >> 3), 1u << (h & 7));
    c_send(0, f, mkframe(f, mc, 64, 0));
    ring_packet(0, &st, &len, NULL, 0);
    CHECK(st == (RTL_RX_ROK | RTL_RX_MAR) && r16(RTL_CBR) == 72,
          "with MAR bit %u set it arrives, marked multicast (0x%04x)", h, st);
    w32(RTL_RCR, RTL_RCR_AAP);
    CHECK(r16(RTL_CBR) == 0, "an RCR write starts the ring over");
    c_send(1, f, mkframe(f, other, 64, 0));
    ring_packet(0, &st, &len, NULL, 0);
    CHECK(st == RTL_RX_ROK && r16(RTL_CBR) == 72, "AAP takes a frame for another address (0x%04x)", st);
    w32(RTL_RCR, RTL_RCR_AB);
    c_send(2, f, mkframe(f, bcast, 64, 0));
    ring_packet(0, &st, &len, NULL, 0);
    CHECK(r16(RTL_CBR) == 72 && st == (RTL_RX_ROK | RTL_RX_BAR), "AB takes broadcasts");
    w8(RTL_CR, RTL_CR_TE);
    c_send(3, f, mkframe(f, bcast, 64, 0));
    CHECK(r16(RTL_CBR) == 72, "with the receiver off nothing arrives");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_irq_timer(void)
{
    uint32_t t0, t1;
    uint8_t f[64];

    start(NULL);
    c_setup(RTL_RCR_AB);
    w16(RTL_IMR, 0);
    c_send(0, f, mkframe(f, bcast, 64, 0));
    CHECK(r16(RTL_ISR) == (RTL_INT_ROK | RTL_INT_TOK) && !qtest_get_irq(q, GSI),
          "with IMR 0 the events show in ISR but the line stays low");
    w16(RTL_IMR, RTL_INT_ROK);
    CHECK(qtest_get_irq(q, GSI), "unmasking ROK raises it");
    w16(RTL_ISR, RTL_INT_TOK);
    CHECK(qtest_get_irq(q, GSI) && r16(RTL_ISR) == RTL_INT_ROK, "clearing TOK alone leaves ROK and the line");
    w16(RTL_ISR, 0xffff);
    CHECK(!qtest_get_irq(q, GSI) && r16(RTL_ISR) == 0, "clearing ROK lowers it");
    w16(RTL_IMR, 0xffff);
    CHECK(r16(RTL_IMR) == 0xe1ff, "IMR's reserved bits 9-12 read 0 (0x%04x)", r16(RTL_IMR));

    w32(RTL_TCTR, 0);
    t0 = r32(RTL_TCTR);
    qtest_clock_step(q, 30000);
    t1 = r32(RTL_TCTR);
    CHECK(t0 == 0 && t1 == 1000, "TCTR counts the 33 MHz PCI clock: 30 us are 1000 ticks (%u)", t1);
    w32(RTL_TIMERINT, 3000);
    qtest_clock_step(q, 30 * 1000 - 1);
    CHECK(!(r16(RTL_ISR) & RTL_INT_TIMEOUT), "TimerInt 3000: nothing before TCTR gets there");
    qtest_clock_step(q, 30 * 1000 + 1);
    CHECK((r16(RTL_ISR) & RTL_INT_TIMEOUT) && qtest_get_irq(q, GSI), "TimeOut when it does, with the line");
    w16(RTL_ISR, RTL_INT_TIMEOUT);
    qtest_clock_step(q, 1000000);
    CHECK(!(r16(RTL_ISR) & RTL_INT_TIMEOUT), "once per wrap of TCTR, not again at once");
    w8(RTL_HLTCLK, 'H');
    w32(RTL_TCTR, 0);
    w32(RTL_TIMERINT, 5);
    qtest_clock_step(q, 1000);
    CHECK(!(r16(RTL_ISR) & RTL_INT_TIMEOUT) && r8(RTL_HLTCLK) == 0, "a halted clock ('H') raises no TimeOut");
    w8(RTL_HLTCLK, 'R');
    CHECK(r8(RTL_HLTCLK) == 1, "'R' runs it again");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_cplus(void)
{
    uint8_t f[1600], g[8192], t[64];
    size_t n;
    uint32_t dw0;

    start(NULL);
    cp_setup(4, 0);
    mkframe(f, mac, 300, 9);
    cp_send(0, f, 300, 0, 0);
    dw0 = desc_dw(TXD, 0);
    CHECK(!(dw0 & RTL_DESC_OWN) && (dw0 & RTL_DESC_LS), "C+ transmit: the descriptor goes back (0x%08x)", dw0);
    CHECK(cp_rx(0, g, sizeof(g), &n) && n == 300 && !memcmp(f, g, n) && (desc_dw(RXD, 0) & RTL_RXD_PAM),
          "C+ receive: the looped-back frame fills the first receive descriptor (PAM, 300 bytes + CRC)");
    CHECK((r16(RTL_ISR) & (RTL_INT_TOK | RTL_INT_ROK)) == (RTL_INT_TOK | RTL_INT_ROK) && qtest_get_irq(q, GSI),
          "ISR TOK and ROK, the line up");

    /* a frame in three descriptors */
    qtest_memwrite(q, CPTX + 0x10000, f, 100);
    qtest_memwrite(q, CPTX + 0x11000, f + 100, 100);
    qtest_memwrite(q, CPTX + 0x12000, f + 200, 100);
    desc_write(TXD + 16, RTL_DESC_OWN | RTL_DESC_FS | 100, 0, CPTX + 0x10000);
    desc_write(TXD + 32, RTL_DESC_OWN | 100, 0, CPTX + 0x11000);
    desc_write(TXD + 48, RTL_DESC_OWN | RTL_DESC_EOR | RTL_DESC_LS | 100, 0, CPTX + 0x12000);
    tppoll();
    CHECK(cp_rx(1, g, sizeof(g), &n) && n == 300 && !memcmp(f, g, n),
          "three descriptors (FS, middle, LS) make one frame");
    CHECK(!(desc_dw(TXD + 16, 0) & RTL_DESC_OWN) && !(desc_dw(TXD + 48, 0) & RTL_DESC_OWN),
          "and all three go back");
    /* EOR: the next is descriptor 0 again */
    cp_send(0, f, 60, 0, 0);
    CHECK(cp_rx(2, g, sizeof(g), &n) && n == 60, "EOR on descriptor 3 wraps the transmit ring to 0");
    desc_write(TXD, RTL_DESC_FS | RTL_DESC_LS | 60, 0, CPTX);
    tppoll();
    CHECK(desc_dw(RXD + 48, 0) & RTL_DESC_OWN, "a descriptor the driver still owns is not sent");

    /* the tally counters */
    w32(RTL_DTCCR + 4, 0);
    w32(RTL_DTCCR, TALLY | 8);
    qtest_memread(q, TALLY, t, 64);
    CHECK(!(r32(RTL_DTCCR) & 8) && le32(t) == 3 && le32(t + 8) == 3,
          "DTCCR dumps the tally counters: 3 frames sent, 3 received");
    CHECK(stop() == 0, "skiff exits cleanly");

    /* VLAN: the tag goes in on transmit and comes out on receive */
    start(NULL);
    cp_setup(2, RTL_CPCR_RXVLAN);
    mkframe(f, mac, 100, 2);
    cp_send(0, f, 100, 0, RTL_TXD_TAGC | 0x2301);     /* TCI 0x0123 in network order */
    CHECK(cp_rx(0, g, sizeof(g), &n) && n == 100 && !memcmp(f, g, 100) &&
          (desc_dw(RXD, 1) & 0x1ffff) == (RTL_RXD_TAVA | 0x2301),
          "VLAN: the tag inserted on transmit is taken out on receive into dw1 (0x%08x)", desc_dw(RXD, 1));
    w16(RTL_CPCR, RTL_CPCR_TXENB | RTL_CPCR_RXENB);
    cp_send(1, f, 100, 0, RTL_TXD_TAGC | 0x2301);
    CHECK(cp_rx(1, g, sizeof(g), &n) && n == 104 && be16(g + 12) == 0x8100 && be16(g + 14) == 0x0123 &&
          !memcmp(g + 16, f + 12, 88) && !(desc_dw(RXD + 16, 1) & RTL_RXD_TAVA),
          "without RxVLAN the frame keeps its tag: 0x8100 0x0123 after the addresses");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_offload(void)
{
    uint8_t f[1600], g[8192];
    size_t n, len;

    start(NULL);
    cp_setup(8, 0);
    len = mktcp(f, 200, 0x18);
    cp_send(0, f, len, RTL_TXD_IPCS | RTL_TXD_TCPCS, 0);
    CHECK(cp_rx(0, g, sizeof(g), &n) && n == len && ip_sums_ok(g, n),
          "IPCS|TCPCS: the IP header and TCP checksums are right in the frame that comes back");
    len = mkudp(f, 333);
    cp_send(1, f, len, RTL_TXD_IPCS | RTL_TXD_UDPCS, 0);
    CHECK(cp_rx(1, g, sizeof(g), &n) && n == len && ip_sums_ok(g, n), "IPCS|UDPCS: and the UDP checksum");
    len = mktcp(f, 10, 0);
    cp_send(2, f, len, 0, 0);
    CHECK(cp_rx(2, g, sizeof(g), &n) && be16(g + 24) == 0 && be16(g + 50) == 0,
          "without the bits the checksums stay as the driver left them");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_tso(void)
{
    static uint8_t f[8192], g[8192];
    size_t n, len = mktcp(f, 4000, 0x19);     /* FIN|PSH|ACK, 4000 bytes */
    unsigned off = 0, segs = 0;
    bool ok = true, flags = true;

    start(NULL);
    cp_setup(8, 0);
    cp_send(0, f, len, RTL_TXD_LGSEN | 1460 << RTL_TXD_MSS_SHIFT, 0);
    for (unsigned i = 0; i < 8 && cp_rx(i, g, sizeof(g), &n); i++, segs++) {
        unsigned plen = be16(g + 16) - 40;

        ok &= ip_sums_ok(g, n) && n == 54 + plen && be32(g + 38) == 0x10000000 + off &&
              be16(g + 18) == 0x1000 + i && !memcmp(g + 54, f + 54 + off, plen);
        flags &= (g[47] & 0x09) == (off + plen == 4000 ? 0x09 : 0);
        off += plen;
    }
    CHECK(segs == 3 && off == 4000, "LGSEN with MSS 1460: 4000 bytes go in 3 segments (%u, %u bytes)", segs, off);
    CHECK(ok, "each with its own IP length, id and checksum, sequence number, TCP checksum and payload");
    CHECK(flags, "FIN and PSH on the last only");
    CHECK(stop() == 0, "skiff exits cleanly");
}

/*
 * The CVE-2015-5165 class: headers that lie about their lengths. QEMU before 2.4 read them as given
 * and sent host memory after the frame; every one here must come back as the bytes that were sent
 * (the offload is skipped) or as segments made of the frame's own bytes.
 */
static void check_tso_hostile(void)
{
    static uint8_t f[2048], g[8192];
    size_t n, len;
    bool ok;

    start(NULL);
    cp_setup(8, 0);
    /* the IP total length below the header's own */
    len = mktcp(f, 100, 0x10);
    put_be16(f + 16, 10);
    cp_send(0, f, len, RTL_TXD_LGSEN | 536 << RTL_TXD_MSS_SHIFT | RTL_TXD_IPCS | RTL_TXD_TCPCS, 0);
    CHECK(cp_rx(0, g, sizeof(g), &n) && n == len && !memcmp(f, g, len) && (desc_dw(RXD + 16, 0) & RTL_DESC_OWN),
          "an IP total length of 10 (under its 20-byte header): one frame, the bytes as sent");
    /* the IP header longer than the frame */
    len = mktcp(f, 0, 0x10) - 20;
    f[14] = 0x4f;
    cp_send(1, f, len, RTL_TXD_IPCS | RTL_TXD_TCPCS, 0);
    CHECK(cp_rx(1, g, sizeof(g), &n) && n == 60 && !memcmp(f, g, len),
          "a 60-byte IP header in a 34-byte frame, with IPCS and TCPCS: sent as it is (padded by the receiver)");
    /* the IP total length past the frame's end */
    len = mktcp(f, 100, 0x10);
    put_be16(f + 16, 1400);
    cp_send(2, f, len, RTL_TXD_LGSEN | 536 << RTL_TXD_MSS_SHIFT, 0);
    CHECK(cp_rx(2, g, sizeof(g), &n) && n == len && !memcmp(f, g, len),
          "an IP total length of 1400 in a 154-byte frame: sent as it is");
    /* the TCP header longer than the IP payload */
    len = mktcp(f, 20, 0x10);
    f[46] = 0xf0;
    cp_send(3, f, len, RTL_TXD_LGSEN | 536 << RTL_TXD_MSS_SHIFT, 0);
    CHECK(cp_rx(3, g, sizeof(g), &n) && n == len && !memcmp(f, g, len),
          "a 60-byte TCP header in 40 bytes of IP payload: sent as it is");
    /* MSS 0 */
    len = mktcp(f, 1000, 0x10);
    cp_send(4, f, len, RTL_TXD_LGSEN, 0);
    CHECK(cp_rx(4, g, sizeof(g), &n) && n == len && !memcmp(f, g, len), "MSS 0: sent as it is");
    /* a frame too short for an IP header, with every offload bit */
    mkframe(f, mac, 20, 7);
    put_be16(f + 12, 0x0800);
    f[14] = 0x45;
    cp_send(5, f, 20, RTL_TXD_LGSEN | 100 << RTL_TXD_MSS_SHIFT | RTL_TXD_IPCS | RTL_TXD_TCPCS | RTL_TXD_UDPCS, 0);
    ok = cp_rx(5, g, sizeof(g), &n) && n == 60 && !memcmp(f, g, 20);
    for (size_t i = 20; i < 60; i++)
        ok &= g[i] == 0;
    CHECK(ok, "a 20-byte frame with every offload bit: sent as it is, nothing after it but padding");
    CHECK(!(desc_dw(RXD + 80, 0) & RTL_DESC_OWN) && (desc_dw(RXD + 96, 0) & RTL_DESC_OWN),
          "six frames in, six descriptors used: no extra segment came out of any of them");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_bad_addresses(void)
{
    uint8_t f[128], g[128];
    uint16_t st;

    /* C mode: a transmit buffer that is not RAM */
    start(NULL);
    c_setup(RTL_RCR_AB);
    w32(RTL_TSAD0, NOT_RAM);
    w32(RTL_TSD0, 100);
    CHECK((r32(RTL_TSD0) & (RTL_TSD_OWN | RTL_TSD_TABT)) == (RTL_TSD_OWN | RTL_TSD_TABT) &&
          !(r32(RTL_TSD0) & RTL_TSD_TOK), "a transmit buffer outside RAM: the descriptor aborts (TABT, no TOK)");
    st = r16(RTL_ISR);
    CHECK((st & (RTL_INT_TER | RTL_INT_SERR)) == (RTL_INT_TER | RTL_INT_SERR) && !(st & RTL_INT_ROK) &&
          (pci_cfg_readw(q, NIC, 6) & 0x2000), "ISR TER and SERR, the PCI status says master abort, nothing received");
    pci_cfg_writew(q, NIC, 6, 0x2000);
    CHECK(!(pci_cfg_readw(q, NIC, 6) & 0x2000), "the status bit clears by writing 1");
    /* a transmit buffer that runs off the end of RAM */
    w32(RTL_TSAD0 + 4, 64 * 1024 * 1024 - 50);
    w32(RTL_TSD0 + 4, 100);
    CHECK(r32(RTL_TSD0 + 4) & RTL_TSD_TABT, "one that starts in RAM and runs past its end aborts too");
    /* a receive ring that is not RAM */
    w16(RTL_ISR, 0xffff);
    w32(RTL_RBSTART, NOT_RAM);
    w32(RTL_RCR, RTL_RCR_AB);
    c_send(2, f, mkframe(f, bcast, 100, 0));
    CHECK((r16(RTL_ISR) & RTL_INT_SERR) && !(r16(RTL_ISR) & RTL_INT_ROK) && r16(RTL_CBR) == 0 && r32(RTL_MPC) == 1,
          "a receive ring outside RAM: the frame is lost (MPC 1), SERR, CBR stays");
    /* bus mastering off */
    w32(RTL_RBSTART, RING);
    pci_cfg_writew(q, NIC, 4, 0x3);
    mem_fill(RING, 0, 256);
    c_send(3, f, mkframe(f, bcast, 100, 0));
    qtest_memread(q, RING, g, 4);
    CHECK((r32(RTL_TSD0 + 12) & RTL_TSD_TABT) && le32(g) == 0, "with bus mastering off no DMA happens");
    pci_cfg_writew(q, NIC, 4, 0x7);
    CHECK(stop() == 0, "skiff exits cleanly");

    /* C+ mode */
    start(NULL);
    cp_setup(2, 0);
    w32(RTL_TNPDS, NOT_RAM);
    tppoll();
    CHECK(r16(RTL_ISR) & RTL_INT_SERR, "a C+ transmit ring outside RAM: SERR, nothing sent");
    w32(RTL_TNPDS, TXD);
    w16(RTL_ISR, 0xffff);
    desc_write(TXD, RTL_DESC_OWN | RTL_DESC_FS | RTL_DESC_LS | 100, 0, NOT_RAM);
    tppoll();
    CHECK(!(desc_dw(TXD, 0) & RTL_DESC_OWN) && (desc_dw(TXD, 0) & RTL_TXD_TES) &&
          (r16(RTL_ISR) & (RTL_INT_TER | RTL_INT_SERR)) == (RTL_INT_TER | RTL_INT_SERR) &&
          (desc_dw(RXD, 0) & RTL_DESC_OWN), "a C+ buffer outside RAM: the descriptor goes back with TES, TER|SERR");
    /* a receive buffer outside RAM, then one too small */
    desc_write(RXD, RTL_DESC_OWN | 0x1ff8, 0, NOT_RAM);
    w16(RTL_ISR, 0xffff);
    mkframe(f, mac, 100, 1);
    cp_send(1, f, 100, 0, 0);
    CHECK((r16(RTL_ISR) & RTL_INT_SERR) && (desc_dw(RXD, 0) & RTL_DESC_OWN) && r32(RTL_MPC) == 1,
          "a C+ receive buffer outside RAM: SERR, the frame is lost and the descriptor stays");
    desc_write(RXD, RTL_DESC_OWN | 64, 0, CPRX);
    mem_fill(CPRX, 0x77, 128);
    cp_send(2, f, 100, 0, 0);
    qtest_memread(q, CPRX, g, 128);
    CHECK((desc_dw(RXD, 0) & RTL_DESC_OWN) && g[0] == 0x77 && g[127] == 0x77 && r32(RTL_MPC) == 2,
          "a 100-byte frame for a 64-byte buffer: dropped, the buffer untouched");
    /* a transmit ring whose descriptors never say FS or LS (TE written again: the ring starts at 0) */
    w8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
    for (int i = 0; i < 64; i++)
        desc_write(TXD + 16 * i, RTL_DESC_OWN | 1500, 0, CPTX);
    w16(RTL_ISR, 0xffff);
    tppoll();
    CHECK((r16(RTL_ISR) & RTL_INT_TER) && !(desc_dw(TXD + 16 * 63, 0) & RTL_DESC_OWN) &&
          (desc_dw(TXD + 16 * 63, 0) & RTL_TXD_TES) && !(r16(RTL_ISR) & RTL_INT_TOK),
          "64 descriptors with neither FS nor LS: no frame is sent, all go back with TES");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_overrun(void)
{
    static uint8_t f[8192], g[64];
    uint16_t st, len;

    start(NULL);
    c_setup(RTL_RCR_AB);
    mem_fill(RING + 8192, 0x5a, 0x4000);
    mkframe(f, bcast, 1500, 1);
    for (int i = 0; i < 6; i++)
        c_send(i & 3, f, 1500);
    CHECK(r16(RTL_CBR) == 5 * 1508 && (r16(RTL_ISR) & RTL_INT_RXOVW),
          "an unread ring takes five 1500-byte frames; the sixth does not fit: RXOVW");
    qtest_memread(q, RING, g, 4);
    ring_packet(0, &st, &len, NULL, 0);
    CHECK(st == (RTL_RX_ROK | RTL_RX_BAR) && len == 1504, "the first packet is intact, not overwritten");
    CHECK(r32(RTL_MPC) == 1, "in loopback the sixth is missed (MPC 1)");
    /* a frame that could never fit the ring */
    ring_consume();
    c_send(2, f, mkframe(f, bcast, 8180, 2));
    qtest_memread(q, RING + 8192, g, 64);
    CHECK(r32(RTL_MPC) == 2 && r16(RTL_CBR) == 5 * 1508 && g[0] == 0x5a && g[63] == 0x5a,
          "an 8180-byte frame for the 8 KiB ring is dropped, nothing written past the ring");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_bootindex(void)
{
    char order[256] = "";
    uint8_t c[4], e[64];
    uint32_t nfiles;

    start("-device rtl8139,addr=06.0,bootindex=1,romfile=");
    qtest_outw(q, 0x510, 0x19);
    for (int i = 0; i < 4; i++)
        c[i] = qtest_inb(q, 0x511);
    nfiles = be32(c);
    for (uint32_t i = 0; i < nfiles; i++) {
        for (int k = 0; k < 64; k++)
            e[k] = qtest_inb(q, 0x511);
        if (!strcmp((char *)e + 8, "bootorder")) {
            uint32_t size = be32(e);

            qtest_outw(q, 0x510, e[4] << 8 | e[5]);
            for (uint32_t k = 0; k < size && k < sizeof(order) - 1; k++)
                order[k] = qtest_inb(q, 0x511);
            break;
        }
    }
    CHECK(!strcmp(order, "/pci@i0cf8/ethernet@6/ethernet-phy@0\n"),
          "bootindex=1 names the NIC in fw_cfg's bootorder as QEMU does (\"%.*s\")",
          (int)strcspn(order, "\n"), order);
    CHECK(stop() == 0, "skiff exits cleanly");
}

/* ---- traffic: a socket backend (QEMU's framing: a 32-bit big-endian length, then the frame) ---- */

static int peer = -1;           /* the test's end of the backend's stream */

/* Start with -netdev socket,fd= on one end of a socket pair; the test holds the other. */
static void net_start(const char *extra)
{
    int sv[2];
    char args[256];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        printf("Bail out! socketpair: %s\n", strerror(errno));
        exit(1);
    }
    fcntl(sv[0], F_SETFD, FD_CLOEXEC);
    /* a small send buffer on skiff's end: a few frames fill it when the test does not read */
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){ 16384 }, sizeof(int));
    peer = sv[0];
    snprintf(nic_netdev, sizeof(nic_netdev), ",netdev=n0");
    snprintf(args, sizeof(args), "-netdev socket,id=n0,fd=%d%s%s", sv[1], extra ? " " : "", extra ? extra : "");
    start(args);
    close(sv[1]);
    nic_netdev[0] = '\0';
}

static int net_stop(void)
{
    close(peer);
    peer = -1;
    return stop();
}

static void peer_send(const uint8_t *f, size_t len)
{
    uint8_t h[4];

    put_be32(h, len);
    if (write(peer, h, 4) != 4 || write(peer, f, len) != (ssize_t)len)
        printf("# peer write: %s\n", strerror(errno));
}

static bool read_all(int fd, uint8_t *p, size_t len, int ms)
{
    while (len) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&pf, 1, ms) <= 0)
            return false;
        n = read(fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= n;
    }
    return true;
}

/* The next frame the NIC sent, within ms: its length, or -1. */
static long peer_recv(uint8_t *buf, size_t max, int ms)
{
    uint8_t h[4];
    uint32_t len;

    if (!read_all(peer, h, 4, ms))
        return -1;
    len = be32(h);
    if (len > max || !read_all(peer, buf, len, ms))
        return -1;
    return len;
}

/* Wait up to 2 s for a register that skiff's main loop changes to read `want`. */
static uint32_t wait16(unsigned off, uint16_t want)
{
    uint16_t v = 0;

    for (int i = 0; i < 2000; i++) {
        v = r16(off);
        if (v == want)
            break;
        usleep(1000);
    }
    return v;
}

static uint32_t wait_desc_free(uint64_t desc)
{
    uint32_t dw0 = 0;

    for (int i = 0; i < 2000; i++) {
        dw0 = desc_dw(desc, 0);
        if (!(dw0 & RTL_DESC_OWN))
            break;
        usleep(1000);
    }
    return dw0;
}

/* TPPOLL's kick by ioeventfd: no register access after it is needed, through either BAR. */
static void check_tx_kick(void)
{
    uint8_t f[100];

    start(NULL);
    cp_setup(4, 0);
    mkframe(f, mac, 100, 1);
    for (unsigned i = 0; i < 2; i++) {
        qtest_memwrite(q, CPTX + 0x2000 * i, f, sizeof(f));
        desc_write(TXD + 16 * i, RTL_DESC_OWN | RTL_DESC_FS | RTL_DESC_LS | sizeof(f), 0, CPTX + 0x2000 * i);
        if (i == 0)
            w8(RTL_TPPOLL, RTL_TPPOLL_NPQ);
        else
            qtest_writeb(q, mmio + RTL_TPPOLL, RTL_TPPOLL_NPQ);
        CHECK(!(wait_desc_free(TXD + 16 * i) & RTL_DESC_OWN),
              "a TPPOLL write through the %s BAR alone sends the frame (the main loop serves the kick)",
              i ? "memory" : "I/O");
    }
    /* not the value the ioeventfd matches: the write handler sends before the write returns */
    qtest_memwrite(q, CPTX + 0x4000, f, sizeof(f));
    desc_write(TXD + 32, RTL_DESC_OWN | RTL_DESC_FS | RTL_DESC_LS | sizeof(f), 0, CPTX + 0x4000);
    w8(RTL_TPPOLL, RTL_TPPOLL_NPQ | 0x80);
    CHECK(!(desc_dw(TXD + 32, 0) & RTL_DESC_OWN), "TPPOLL 0xc0 (both queues) sends the normal queue's frame");
    CHECK(stop() == 0, "skiff exits cleanly");

    snprintf(nic_netdev, sizeof(nic_netdev), ",ioeventfd=off");
    start(NULL);
    nic_netdev[0] = '\0';
    cp_setup(4, 0);
    qtest_memwrite(q, CPTX, f, sizeof(f));
    desc_write(TXD, RTL_DESC_OWN | RTL_DESC_FS | RTL_DESC_LS | sizeof(f), 0, CPTX);
    w8(RTL_TPPOLL, RTL_TPPOLL_NPQ);
    CHECK(!(desc_dw(TXD, 0) & RTL_DESC_OWN) && cp_rx(0, f, sizeof(f), &(size_t){ 0 }),
          "ioeventfd=off: the TPPOLL write sends the frame before it returns");
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_traffic(void)
{
    static uint8_t f[2000], g[70000];
    uint16_t st, len;
    long n;
    size_t flen;

    net_start(NULL);
    w8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
    w32(RTL_RBSTART, RING);
    w32(RTL_RCR, RTL_RCR_APM | RTL_RCR_AB);
    w16(RTL_IMR, 0xffff);
    flen = mkframe(f, bcast, 300, 1);
    c_send(0, f, flen);
    n = peer_recv(g, sizeof(g), 2000);
    CHECK(n == 300 && !memcmp(f, g, 300), "C mode: the frame from descriptor 0 reaches the socket backend whole");
    CHECK(r32(RTL_TSD0) & RTL_TSD_TOK, "and the descriptor says TOK");
    mkframe(f, mac, 500, 2);
    peer_send(f, 500);
    CHECK(wait16(RTL_CBR, 508) == 508, "a frame from the backend lands in the ring (CBR 508)");
    ring_packet(0, &st, &len, g, sizeof(g));
    CHECK(st == (RTL_RX_ROK | RTL_RX_PAM) && len == 504 && !memcmp(f, g, 500) && qtest_get_irq(q, GSI),
          "as the backend sent it, with ROK and the line up");
    peer_send(f, 30);
    CHECK(wait16(RTL_CBR, 508 + 68) == 508 + 68, "a 30-byte frame is padded to 60");
    w8(RTL_TCR, 0);
    CHECK(net_stop() == 0, "skiff exits cleanly");
}

/* Frames the ring has no room for wait in the network layer's queue and come when CAPR moves. */
static void check_rx_backpressure(void)
{
    static uint8_t f[2000], guard[4096];
    uint16_t st, len;
    uint32_t seq_ok = 0, off = 0;
    bool clean = true;

    net_start(NULL);
    w8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
    w32(RTL_RBSTART, RING);
    w32(RTL_RCR, RTL_RCR_AB);
    w16(RTL_IMR, 0xffff);
    mem_fill(RING + 8192, 0x5a, sizeof(guard));
    /* 12 frames of 1500 bytes: 5 fit an unread 8 KiB ring */
    for (int i = 0; i < 12; i++)
        peer_send(f, mkframe(f, bcast, 1500, i));
    CHECK(wait16(RTL_CBR, 5 * 1508) == 5 * 1508, "an unread 8 KiB ring takes five 1500-byte frames");
    usleep(100000);
    qtest_memread(q, RING + 8192, guard, sizeof(guard));
    for (size_t i = 0; i < sizeof(guard); i++)
        clean &= guard[i] == 0x5a;
    CHECK(r16(RTL_CBR) == 5 * 1508 && clean && r32(RTL_MPC) == 0,
          "the sixth waits: nothing is written over the unread ones or past the ring, nothing is missed");
    /* the driver reads them one at a time: each CAPR write lets the next in */
    for (int i = 0; i < 12; i++) {
        uint8_t b[20];

        ring_packet(off, &st, &len, NULL, 0);
        qtest_memread(q, RING + (off + 4) % 8192, b, 20);
        seq_ok += st == (RTL_RX_ROK | RTL_RX_BAR) && len == 1504 && b[14] == (uint8_t)(i + 14);
        off = (off + 1508) % 8192;
        w16(RTL_CAPR, off - 16);
        if (i < 6)
            wait16(RTL_CBR, (5 + 1 + i) * 1508 % 8192);
    }
    CHECK(seq_ok == 12, "as the driver moves CAPR all 12 arrive, in order, none lost (%u)", seq_ok);
    CHECK(net_stop() == 0, "skiff exits cleanly");

    /* C+: no receive descriptor of the NIC's */
    net_start(NULL);
    cp_setup(2, 0);
    w32(RTL_TCR, 0x600);
    for (int i = 0; i < 5; i++)
        peer_send(f, mkframe(f, mac, 100 + i, i));
    wait_desc_free(RXD + 16);
    usleep(100000);
    CHECK(!(desc_dw(RXD, 0) & RTL_DESC_OWN) && !(desc_dw(RXD + 16, 0) & RTL_DESC_OWN) &&
          (r16(RTL_ISR) & RTL_INT_RXOVW) == 0 && r32(RTL_MPC) == 0,
          "C+: two descriptors take two frames; the other three wait, none missed");
    for (int round = 0; round < 2; round++) {
        desc_write(RXD, RTL_DESC_OWN | 0x1ff8, 0, CPRX);
        desc_write(RXD + 16, RTL_DESC_OWN | RTL_DESC_EOR | 0x1ff8, 0, CPRX + 0x2000);
        w16(RTL_IMR, 0xffff);       /* 8139cp writes IMR when its poll has refilled the ring */
        wait_desc_free(round ? RXD : RXD + 16);
    }
    CHECK((desc_dw(RXD, 0) & RTL_RXD_SIZE) == 104 + 4 && (desc_dw(RXD + 16, 0) & RTL_DESC_OWN),
          "given back, the descriptors take the waiting frames, in order (the fifth, 104 bytes, last)");
    /*
     * A driver that refills its ring in memory and then only polls ISR (iPXE, a boot loader) or
     * only sends (TPPOLL): the NIC sees the descriptors again. Descriptor 1 takes the first of
     * these two frames; the second waits for descriptor 0.
     */
    peer_send(f, mkframe(f, mac, 200, 5));
    peer_send(f, mkframe(f, mac, 201, 6));
    wait_desc_free(RXD + 16);
    usleep(100000);
    CHECK((desc_dw(RXD + 16, 0) & RTL_RXD_SIZE) == 204 && !(desc_dw(RXD, 0) & RTL_DESC_OWN),
          "C+: a frame into the last descriptor, the next waits");
    desc_write(RXD, RTL_DESC_OWN | 0x1ff8, 0, CPRX);
    for (int i = 0; i < 1000 && (desc_dw(RXD, 0) & RTL_DESC_OWN); i++) {
        r16(RTL_ISR);
        usleep(2000);
    }
    CHECK((desc_dw(RXD, 0) & (RTL_DESC_OWN | RTL_RXD_SIZE)) == 205,
          "a descriptor given back in memory takes the waiting frame when the driver polls ISR");
    peer_send(f, mkframe(f, mac, 202, 7));
    usleep(100000);
    desc_write(RXD + 16, RTL_DESC_OWN | RTL_DESC_EOR | 0x1ff8, 0, CPRX + 0x2000);
    cp_send(0, f, mkframe(f, bcast, 80, 8), 0, 0);
    CHECK((wait_desc_free(RXD + 16) & (RTL_DESC_OWN | RTL_RXD_SIZE)) == 206,
          "and when it only sends (a TPPOLL write)");
    CHECK(net_stop() == 0, "skiff exits cleanly");
}

/* A backend that cannot take more: the NIC holds the descriptor until it can. */
static void check_tx_backpressure(void)
{
    static uint8_t f[8192], g[70000];
    int sent = 0, got = 0;
    uint32_t tsd = 0;

    net_start(NULL);
    w8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
    w16(RTL_IMR, 0xffff);
    /* the test reads nothing: the socket's buffer fills, then the backend's */
    for (sent = 0; sent < 400; sent++) {
        unsigned d = sent & 3;

        if (!(r32(RTL_TSD0 + 4 * d) & RTL_TSD_OWN)) {
            usleep(100000);
            if (!(r32(RTL_TSD0 + 4 * d) & RTL_TSD_OWN))
                break;
        }
        mkframe(f, bcast, 8000, sent);
        put_be32(f + 14, sent);
        tsd = c_send(d, f, 8000);
    }
    CHECK(sent < 400 && !(tsd & RTL_TSD_TOK),
          "a backend whose socket is full holds the NIC: descriptor %d waits, not done (TSD 0x%08x)", sent - 1,
          tsd);
    for (got = 0; got < sent; got++) {
        long n = peer_recv(g, sizeof(g), 2000);

        if (n != 8000 || be32(g + 14) != (uint32_t)got)
            break;
    }
    CHECK(got == sent, "read at last, all %d frames come, in order, none lost (%d)", sent, got);
    CHECK(r32(RTL_TSD0 + 4 * ((sent - 1) & 3)) & RTL_TSD_TOK, "and the last descriptor is done");
    CHECK(net_stop() == 0, "skiff exits cleanly");
}

/* A NIC on a socket that listens: its link is its own (up), not the socket's "no peer yet", as QEMU's */
static void check_link_listen(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;
    char args[128];

    /* a free port, given back for skiff to listen on */
    if (lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(lfd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (lfd >= 0)
        close(lfd);
    snprintf(nic_netdev, sizeof(nic_netdev), ",netdev=n0");
    snprintf(args, sizeof(args), "-netdev socket,id=n0,listen=127.0.0.1:%d", port);
    start(args);
    nic_netdev[0] = '\0';
    CHECK(port && !(r8(RTL_MSR) & RTL_MSR_LINKB) && (r16(RTL_BMSR) & RTL_BMSR_LINK),
          "on a socket that listens with no peer yet, the link is up (MSR 0x%02x), as QEMU's", r8(RTL_MSR));
    CHECK(stop() == 0, "skiff exits cleanly");
}

static void check_link(void)
{
    char *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1;
    const char *out;
    char args[128];

    snprintf(args, sizeof(args), "-monitor unix:%s", mon_path);
    net_start(args);
    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "the monitor answers");
    w16(RTL_IMR, RTL_INT_LINKCHG);
    out = qtest_hmp(mon, "info network");
    CHECK(out && strstr(out, "rtl8139.0: index=0,type=nic,model=rtl8139,macaddr=" MAC),
          "info network shows the NIC as QEMU does: rtl8139.0: index=0,type=nic,model=rtl8139,macaddr=" MAC);
    for (int i = 0; i < 6; i++)
        w8(RTL_IDR0 + i, 0x02 + i);
    out = qtest_hmp(mon, "info network");
    CHECK(out && strstr(out, "rtl8139.0: index=0,type=nic,model=rtl8139,macaddr=02:03:04:05:06:07"),
          "a driver's new address in IDR0-5 is what info network shows");
    w8(RTL_CR, RTL_CR_RST);
    out = qtest_hmp(mon, "info network");
    CHECK(out && strstr(out, "macaddr=" MAC), "and a reset brings back mac=");
    w16(RTL_IMR, RTL_INT_LINKCHG);
    qtest_hmp(mon, "set_link n0 off");
    CHECK((r8(RTL_MSR) & RTL_MSR_LINKB) && !(r16(RTL_BMSR) & RTL_BMSR_LINK) && (r16(RTL_ISR) & RTL_INT_LINKCHG) &&
          qtest_get_irq(q, GSI), "set_link on the backend: MSR says link down, BMSR too, LinkChg raises the line");
    w16(RTL_ISR, 0xffff);
    w8(RTL_CR, RTL_CR_RST);
    CHECK(r8(RTL_MSR) & RTL_MSR_LINKB, "a reset keeps the link as it is");
    qtest_hmp(mon, "set_link n0 on");
    CHECK(!(r8(RTL_MSR) & RTL_MSR_LINKB) && (r16(RTL_BMSR) & RTL_BMSR_LINK), "set_link on: up again");
    qtest_hmp(mon, "set_link rtl8139.0 off");
    CHECK(r8(RTL_MSR) & RTL_MSR_LINKB, "set_link on the NIC itself takes it down too");
    close(mon);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    CHECK(net_stop() == 0, "skiff exits cleanly");
}

/*
 * -net nic,model=rtl8139 with -net socket (joined through hub 0) and -nic socket,model=rtl8139:
 * both NICs are on the bus with QEMU's default MACs in the order QEMU makes them, info pci and
 * info network show them, and frames pass through the net core both ways.
 */
static void check_legacy_nic(void)
{
    char *mon_path = qtest_tmp_path(".mon");
    int mon_listen = qtest_listen_unix(mon_path), mon = -1, a[2], b[2];
    static uint8_t f[600], g[2000];
    struct qpci_bus *bus;
    struct qpci_dev *d[2];
    const char *out;
    uint16_t st, len;
    long n;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, b) < 0) {
        printf("Bail out! socketpair: %s\n", strerror(errno));
        exit(1);
    }
    fcntl(a[0], F_SETFD, FD_CLOEXEC);
    fcntl(b[0], F_SETFD, FD_CLOEXEC);
    q = qtest_start("-m 64 -monitor unix:%s -net nic,model=rtl8139 -net socket,fd=%d "
                    "-nic socket,model=rtl8139,mac=" MAC ",fd=%d", mon_path, a[1], b[1]);
    close(a[1]);
    close(b[1]);
    CHECK(qtest_hmp_open(mon_listen, &mon) != NULL, "-net nic,model=rtl8139 and -nic socket,model=rtl8139: skiff starts");
    out = qtest_hmp(mon, "info pci");
    CHECK(out && strstr(out, "Ethernet controller: PCI device 10ec:8139") &&
          strstr(strstr(out, "Ethernet controller: PCI device 10ec:8139") + 1, "Ethernet controller: PCI device 10ec:8139"),
          "info pci lists both as Ethernet controllers 10ec:8139");
    out = qtest_hmp(mon, "info network");
    CHECK(out && strstr(out, "hub 0") && strstr(out, "rtl8139.1: index=0,type=nic,model=rtl8139,macaddr=52:54:00:12:34:56") &&
          strstr(out, "rtl8139.0: index=0,type=nic,model=rtl8139,macaddr=" MAC),
          "info network: the -nic one (rtl8139.0, its mac=) on its backend, the -net one (rtl8139.1, "
          "QEMU's first default MAC) on hub 0");
    bus = qpci_bus_new(q);
    for (int i = 0; i < 2; i++) {
        d[i] = qpci_find(bus, RTL_VENDOR, RTL_DEVICE, i);
        if (!d[i]) {
            printf("Bail out! no second 10ec:8139 on the bus\n");
            exit(1);
        }
    }
    /* -nic's NIC is made first (QEMU's order): the first found; the -net one the second */
    io = qpci_iomap(d[1], 0, NULL);
    qpci_enable(d[1]);
    c_setup(RTL_RCR_APM);
    w32(RTL_TCR, 0x600);
    c_send(0, f, mkframe(f, bcast, 300, 1));
    peer = a[0];
    n = peer_recv(g, sizeof(g), 2000);
    CHECK(n == 300 && !memcmp(f, g, 300), "a frame from the -net NIC reaches -net socket through hub 0");
    io = qpci_iomap(d[0], 0, NULL);
    qpci_enable(d[0]);
    c_setup(RTL_RCR_APM);
    peer = b[0];
    peer_send(f, mkframe(f, mac, 500, 2));
    CHECK(wait16(RTL_CBR, 508) == 508, "a frame from -nic's backend lands in its NIC's ring");
    ring_packet(0, &st, &len, g, sizeof(g));
    CHECK(st == (RTL_RX_ROK | RTL_RX_PAM) && len == 504 && !memcmp(f, g, 500), "whole, for our address");
    peer = -1;
    free(bus);
    close(mon);
    close(mon_listen);
    unlink(mon_path);
    free(mon_path);
    CHECK(stop() == 0, "skiff exits cleanly");
    close(a[0]);
    close(b[0]);
}

/* Whether f is a RARP request from our address, as the announce sends. */
static bool is_rarp(const uint8_t *f, long n)
{
    return n == 60 && !memcmp(f, bcast, 6) && !memcmp(f + 6, mac, 6) && be16(f + 12) == 0x8035 &&
           be16(f + 20) == 3 && !memcmp(f + 22, mac, 6) && !memcmp(f + 32, mac, 6);
}

/*
 * Frames in flight when the state is saved: the destination sends them again from the guest's
 * memory (a C mode descriptor; a C+ large send from the segment it had reached), then announces.
 */
static void check_migration_traffic(bool cplus)
{
    static uint8_t f[70000], g[70000];
    char *file = qtest_tmp_path(".vmstate");
    const char *what = cplus ? "C+" : "C mode";
    struct qtest *src;
    int src_peer, rarps = 0, frames = 0, waiting = -1;
    uint32_t first_seq = 0, next_seq = 0, last_flags = 0;
    bool contiguous = true;
    long n;

    net_start(NULL);
    if (cplus) {
        size_t len = mktcp(f, 30000, 0x19);

        cp_setup(2, 0);
        w32(RTL_TCR, 0x600);
        put_be32(f + 38, 0x20000000);
        qtest_memwrite(q, CPTX, f, len);
        desc_write(TXD, RTL_DESC_OWN | RTL_DESC_FS | RTL_DESC_LS | RTL_TXD_LGSEN | 1000 << RTL_TXD_MSS_SHIFT | len,
                   0, CPTX);
        tppoll();
        usleep(200000);
        CHECK(desc_dw(TXD, 0) & RTL_DESC_OWN,
              "C+: a large send of 30 segments into a socket nobody reads: its descriptor stays the NIC's");
    } else {
        w8(RTL_CR, RTL_CR_RE | RTL_CR_TE);
        for (int i = 0; i < 100 && waiting < 0; i++) {
            mkframe(f, bcast, 4000, i);
            put_be32(f + 14, i);
            if (!(c_send(i & 3, f, 4000) & RTL_TSD_TOK))
                waiting = i;
        }
        usleep(100000);
        CHECK(waiting >= 0 && !(r32(RTL_TSD0 + 4 * (waiting & 3)) & RTL_TSD_TOK),
              "C mode: frames into a socket nobody reads: descriptor %d waits", waiting);
    }
    CHECK(qtest_cmd(q, "vmstate_save %s", file) != NULL, "%s: the source saves its state", what);
    src = q;
    src_peer = peer;
    net_start(NULL);
    CHECK(qtest_cmd(q, "vmstate_load %s", file) != NULL, "%s: a second skiff with its own backend loads it", what);
    while (rarps < 5 && (n = peer_recv(g, sizeof(g), 3000)) >= 0) {
        if (is_rarp(g, n)) {
            rarps++;
            continue;
        }
        frames++;
        if (cplus && n >= 54) {
            uint32_t seq = be32(g + 38);

            if (frames == 1)
                first_seq = seq;
            else
                contiguous &= seq == next_seq;
            next_seq = seq + (n - 54);
            last_flags = g[47];
        } else if (!cplus) {
            contiguous &= n == 4000 && (int)be32(g + 14) == waiting;
        }
    }
    CHECK(rarps == 5, "%s: the destination announces itself: 5 RARP requests from %s (%d)", what, MAC, rarps);
    if (cplus) {
        CHECK(first_seq > 0x20000000 && first_seq < 0x20000000 + 30000 && contiguous &&
              next_seq == 0x20000000 + 30000 && (last_flags & 0x09) == 0x09,
              "C+: it goes on with the large send from the segment the source had reached (sequence +%u) to "
              "its end, FIN and PSH on the last", first_seq - 0x20000000);
        CHECK(!(wait_desc_free(TXD) & RTL_DESC_OWN), "C+: and gives the descriptor back");
    } else {
        CHECK(frames == 1 && contiguous, "C mode: it sends the waiting descriptor's frame (%d frames)", frames);
        CHECK(r32(RTL_TSD0 + 4 * (waiting & 3)) & RTL_TSD_TOK, "C mode: and the descriptor is done");
    }
    CHECK(net_stop() == 0, "%s: the destination exits cleanly", what);
    q = src;
    peer = src_peer;
    CHECK(net_stop() == 0, "%s: the source exits cleanly", what);
    unlink(file);
    free(file);
}

/* ---- state: saved on one skiff, loaded into a second started alike ---- */

struct seen {
    int n;
    uint32_t v[256];
};

static void see(struct seen *x, uint32_t v)
{
    if (x->n < 256)
        x->v[x->n++] = v;
}

/* What a driver reads, and what happens next: the registers, the line, a frame in, the timer. */
static void probe(struct seen *x, bool cplus)
{
    static const uint8_t regs8[] = { RTL_CR, RTL_9346CR, RTL_CONFIG0, RTL_CONFIG1, RTL_CONFIG3, RTL_CONFIG4,
                                     RTL_CONFIG5, RTL_MSR, RTL_HLTCLK, RTL_ETTHR };
    static const uint8_t regs16[] = { RTL_CAPR, RTL_CBR, RTL_IMR, RTL_ISR, RTL_MULINT, RTL_TSAD, RTL_BMCR,
                                      RTL_BMSR, RTL_ANAR, RTL_ANLPAR, RTL_ANER, RTL_CSCR, RTL_CPCR };
    static const uint8_t regs32[] = { RTL_IDR0, RTL_IDR0 + 4, RTL_MAR0, RTL_MAR0 + 4, RTL_TSD0, RTL_TSD0 + 4,
                                      RTL_TSD0 + 8, RTL_TSD0 + 12, RTL_TSAD0, RTL_TSAD0 + 4, RTL_TSAD0 + 8,
                                      RTL_TSAD0 + 12, RTL_RBSTART, RTL_TCR, RTL_RCR, RTL_TCTR, RTL_MPC,
                                      RTL_TIMERINT, RTL_RDSAR, RTL_RDSAR + 4 };
    uint8_t f[200], g[8192];
    size_t n;

    see(x, qtest_get_irq(q, GSI));
    for (size_t i = 0; i < sizeof(regs8); i++)
        see(x, r8(regs8[i]));
    for (size_t i = 0; i < sizeof(regs16); i++)
        see(x, r16(regs16[i]));
    for (size_t i = 0; i < sizeof(regs32); i++)
        see(x, r32(regs32[i]));
    if (cplus) {
        /* the frame whose first part was given before the save ends now */
        mkframe(f, mac, 200, 6);
        qtest_memwrite(q, CPTX + 0x11000, f + 100, 100);
        desc_write(TXD + 16 * 4, RTL_DESC_OWN | RTL_DESC_LS | 100, 0, CPTX + 0x11000);
        tppoll();
        see(x, cp_rx(3, g, sizeof(g), &n) && n == 200 && !memcmp(f, g, 200));
        see(x, desc_dw(TXD + 16 * 3, 0));
        see(x, desc_dw(RXD + 16 * 3, 0));
    } else {
        /* the rest of the EEPROM word whose first bits were read before the save */
        uint16_t v = 0;

        for (int i = 0; i < 11; i++) {
            w8(RTL_9346CR, 0x80 | RTL_9346_EECS | RTL_9346_EESK);
            v = v << 1 | (r8(RTL_9346CR) & RTL_9346_EEDO);
            w8(RTL_9346CR, 0x80 | RTL_9346_EECS);
        }
        w8(RTL_9346CR, 0);
        see(x, v);
        c_send(r32(RTL_TSD0 + 4 * 0) & RTL_TSD_OWN ? 1 : 0, f, mkframe(f, bcast, 200, 8));
        see(x, r16(RTL_CBR));
        qtest_memread(q, RING + 8000, g, 8192 + 1552 - 8000);
        see(x, crc32(0, g, 8192 + 1552 - 8000));
    }
    qtest_clock_step(q, 1000000);
    see(x, r16(RTL_ISR));
    see(x, qtest_get_irq(q, GSI));
}

static void state_pair(bool cplus)
{
    char *file = qtest_tmp_path(".vmstate");
    struct qtest *src;
    struct seen a = { 0 }, b = { 0 };
    uint8_t f[1600];
    int diffs = 0;

    start(NULL);
    /* the timer counts from a TCTR write at 5 ms */
    qtest_clock_step(q, 5000000);
    w32(RTL_TCTR, 0);
    if (cplus) {
        /* C+: receive and transmit index 3, a frame's first descriptor read, not yet sent */
        cp_setup(4, RTL_CPCR_RXVLAN);
        cp_send(0, f, mkframe(f, mac, 80, 1), 0, 0);
        cp_send(1, f, mkframe(f, mac, 80, 2), 0, 0);
        cp_send(2, f, mkframe(f, bcast, 80, 3), 0, 0);
        qtest_memwrite(q, CPTX + 0x10000, f, mkframe(f, mac, 200, 6) - 100);
        desc_write(TXD + 48, RTL_DESC_OWN | RTL_DESC_FS | 100, 0, CPTX + 0x10000);
        tppoll();
        w16(RTL_IMR, RTL_INT_ROK | RTL_INT_TIMEOUT);
        w32(RTL_TIMERINT, 20000);
    } else {
        /* C mode: a WRAP ring near its end with a packet unread, the multicast hash, the timer,
         * interrupts half masked, an EEPROM read 5 bits into its data */
        c_setup(RTL_RCR_AB | RTL_RCR_AM | RTL_RCR_WRAP);
        w32(RTL_MAR0, 0x12345678);
        w16(RTL_CAPR, 7900 - 16);
        w16(RTL_ISR, 0xffff);
        mkframe(f, bcast, 1000, 4);
        w32(RTL_RCR, RTL_RCR_AB | RTL_RCR_AM | RTL_RCR_WRAP);
        for (int i = 0; i < 8; i++) {
            c_send(i & 3, f, 1000);
            if (i < 7)
                ring_consume();
        }
        w16(RTL_IMR, RTL_INT_TOK | RTL_INT_TIMEOUT);
        w32(RTL_TIMERINT, 20000);
        w8(RTL_9346CR, 0x80);
        w8(RTL_9346CR, 0x80 | RTL_9346_EECS);
        for (int i = 10; i >= 0; i--) {
            uint8_t di = (7 | 6 << 6) & (1u << i) ? RTL_9346_EEDI : 0;

            w8(RTL_9346CR, 0x80 | RTL_9346_EECS | di);
            w8(RTL_9346CR, 0x80 | RTL_9346_EECS | di | RTL_9346_EESK);
        }
        for (int i = 0; i < 5; i++) {
            w8(RTL_9346CR, 0x80 | RTL_9346_EECS);
            w8(RTL_9346CR, 0x80 | RTL_9346_EECS | RTL_9346_EESK);
        }
        w8(RTL_9346CR, 0x80 | RTL_9346_EECS);
    }
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "%s: the state saved after its own load is the same",
          cplus ? "C+" : "C mode");
    CHECK(qtest_cmd(q, "vmstate_save %s", file) != NULL, "%s: the source saves its state", cplus ? "C+" : "C mode");
    src = q;
    q = qtest_start("-m 64 -device rtl8139,addr=04.0,mac=" MAC);
    qtest_irq_intercept(q);
    CHECK(qtest_cmd(q, "vmstate_load %s", file) != NULL, "%s: a second skiff started alike loads it",
          cplus ? "C+" : "C mode");
    probe(&b, cplus);
    stop();
    q = src;
    probe(&a, cplus);
    for (int i = 0; i < a.n && i < b.n; i++)
        if (a.v[i] != b.v[i] && diffs++ < 8)
            printf("# read %d: source 0x%x, destination 0x%x\n", i, a.v[i], b.v[i]);
    CHECK(a.n == b.n && !diffs, "%s: both read the same registers and line, take the next frame alike and "
          "fire the timer alike (%d reads, %d differ)", cplus ? "C+" : "C mode", a.n, diffs);
    CHECK(cplus ? b.v[b.n - 5] == 1 : b.v[b.n - 5] == (0x5452 & 0x7ff), "%s: on the destination %s", cplus ? "C+" : "C mode",
          cplus ? "the frame whose first descriptor was read before the save arrives whole"
                : "the EEPROM read goes on where it was (the last 11 bits of word 7, the MAC's first)");
    CHECK(stop() == 0, "skiff exits cleanly");
    unlink(file);
    free(file);
}

static void check_state(void)
{
    state_pair(false);
    state_pair(true);
}

/* Streams a guest could not have produced: refused, the device left as it was. */
static void check_hostile_state(void)
{
    static const char *const bad[] = {
        "rx_read=8192", "cbr=8190", "cbr=3", "cur_tx=4", "cp_rx_idx=64", "cp_tx_idx=64", "cp_ndesc=65",
        "cp_seg=1", "tcr=0", "isr=0x0200", "imr=0x1000", "cpcr=0x8000", "cmd=0x03", "mpc=0x1000000",
        "clock_on=2", "ee.mode=9", "ee.tick=17", "ee.addr=64", "ee.dout=2", "rcr=0x40",
        /* TCTR's zero in the future, or further back than the clock's start */
        "tctr_base=0x7fffffffffffff00", "tctr_base=0x8000000000000000",
        /* C+ receive on in a NIC that was never put in C+ mode */
        "cpcr=0x0002",
    };
    uint8_t f[100];
    uint16_t st, len;
    bool refused = true;

    start(NULL);
    c_setup(RTL_RCR_AB);
    CHECK(qtest_cmd(q, "vmstate_load_patched rtl8139") != NULL, "the NIC's own state loads back into it");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (qtest_cmd(q, "vmstate_load_patched rtl8139 %s", bad[i])) {
            printf("# %s was loaded\n", bad[i]);
            refused = false;
        }
    CHECK(refused, "ring positions past the ring, descriptor indexes past 64, bits no write can set, a timer base outside the clock: refused");
    CHECK(qtest_cmd(q, "vmstate_load_patched rtl8139 cp_ndesc=3 cplus=1 cp_first=60 cp_seg=2") != NULL,
          "a C+ frame in flight, three descriptors from 60, two segments sent, loads");
    w8(RTL_CR, RTL_CR_RST);
    c_setup(RTL_RCR_AB);
    c_send(0, f, mkframe(f, bcast, 100, 1));
    ring_packet(0, &st, &len, NULL, 0);
    CHECK(st == (RTL_RX_ROK | RTL_RX_BAR) && len == 104, "after them the NIC works as before");
    CHECK(stop() == 0, "skiff exits cleanly");
}

int main(void)
{
    check_identity();
    check_mac();
    check_reset();
    check_c_tx();
    check_c_rx_wrap();
    check_filters();
    check_irq_timer();
    check_cplus();
    check_offload();
    check_tso();
    check_tso_hostile();
    check_bad_addresses();
    check_overrun();
    check_bootindex();
    check_state();
    check_hostile_state();
    check_tx_kick();
    check_traffic();
    check_rx_backpressure();
    check_tx_backpressure();
    check_link();
    check_link_listen();
    check_legacy_nic();
    check_migration_traffic(false);
    check_migration_traffic(true);
    return tap_done();
}
