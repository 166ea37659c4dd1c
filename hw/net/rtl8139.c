/* rtl8139.c: the Realtek RTL8139C+ NIC as QEMU models it: the C mode's four transmit descriptors and receive ring, the C+ mode's descriptor rings with checksum offload, TCP segmentation and VLAN tags, the 93C46 EEPROM, interrupts, the timer, loopback and the link (RTL8139C(L)+ datasheet 1.6) */
#define LOG_PREFIX "rtl8139: "
#include "hw/net/rtl8139.h"
#include "hw/core/bootdev.h" // bootdev_add
#include "hw/core/guest-mem.h" // gmem_read, gmem_write, gmem_is_ram
#include "hw/pci/pci.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "util/iov.h" // iov_size, iov_to_buf
#include "util/log.h"
#include "util/main-loop.h" // timers, bottom halves

#include <sys/eventfd.h>
#include <unistd.h> // close
#include <zlib.h> // crc32

/*
 * Where QEMU's model and the datasheet part, this file follows QEMU (guests were tuned against
 * it): CR reads RST after a reset until the next CR write; an RCR write starts the ring over;
 * TCR takes writes only while the transmitter is on; the EEPROM ignores writes; the C+ receive
 * checksum bits are never set. What QEMU leaves unchecked is bounded here: a C+ ring has at most
 * 64 descriptors, a packet runs at most 1.5 KiB past the ring's end in WRAP mode, a frame that can
 * never fit is dropped, a segmentation header that lies is sent as it is.
 */

#define PCI_CLK_NS          30          /* TCTR counts the 33 MHz PCI clock */
#define TCTR_PERIOD_NS      ((int64_t)PCI_CLK_NS << 32)
#define ETH_ALEN            6
#define ETH_HLEN            14
#define ETH_ZLEN            60          /* shorter frames are padded with zeros */
#define ETH_P_IP            0x0800
#define ETH_P_VLAN          0x8100
#define ETH_P_RARP          0x8035
#define VLAN_HLEN           4
#define RX_WRAP_PAD         (16 + 1536) /* what the datasheet asks a WRAP=1 driver to allocate past the ring */
#define RX_FRAME_MAX        65535       /* the C mode header's 16-bit length holds the frame and its CRC */
#define C_TX_MAX            0x2000      /* TSD's 13-bit size */
#define CP_TXBUF_SIZE       65536       /* a C+ frame assembled from its descriptors (QEMU's bound) */
#define SEG_MAX             (ETH_HLEN + 60 + 60 + RTL_TXD_MSS_MASK)   /* a TSO segment: headers and one MSS */
#define ANNOUNCE_ROUNDS     5

/* 93C46 states (the serial protocol of a Microwire EEPROM in 16-bit mode, 6 address bits) */
enum { EE_IDLE, EE_START, EE_COMMAND, EE_READ, EE_MODES };

struct rtl_eeprom {
    uint16_t words[RTL_EEPROM_WORDS];
    uint8_t mode;               /* EE_* */
    uint8_t tick;               /* bits shifted in this state */
    uint8_t addr;
    uint16_t in, out;
    uint8_t cs, sk, di, dout;
};

/* The C+ tally counters (DTCCR dumps them), in the dump's order */
struct rtl_tally {
    uint64_t tx_ok, rx_ok, tx_err;
    uint32_t rx_err;
    uint16_t miss_pkt, fae;
    uint32_t tx_1col, tx_mcol;
    uint64_t rx_ok_phy, rx_ok_brd;
    uint32_t rx_ok_mul;
    uint16_t tx_abt, tx_undrn;
};

/* Why transmission waits for the backend's sent callback */
enum { TX_IDLE, TX_WAIT_C, TX_WAIT_CP };

struct rtl8139 {
    struct device dev;
    struct pci_device pci;
    struct io_region pio, mmio;
    struct net_client nc;
    /* properties */
    struct netdev *netdev;
    struct mac_addr mac;
    int32_t bootindex;
    bool ioeventfd;

    /* registers */
    uint8_t idr[6];
    uint8_t mar[8];
    uint32_t tsd[4];            /* C mode TSD0-3; C+ mode DTCCR (0, 1) */
    uint32_t tsad[4];           /* C mode TSAD0-3; C+ mode TNPDS (0, 1) and THPDS (2, 3) */
    uint32_t rbstart;
    uint32_t rx_read;           /* where the driver reads next: CAPR + 16, within the ring */
    uint32_t cbr;               /* where the next packet goes */
    uint16_t isr, imr;
    uint32_t tcr, rcr, mpc;
    uint16_t cscr;
    uint8_t cr9346, config0, config1, config3, config4, config5;
    uint8_t clock_on;           /* HLTCLK */
    uint8_t cmd;                /* CR: RST, RE, TE (BUFE is computed) */
    uint16_t mulint;
    uint16_t bmcr, bmsr, anar, anlpar, aner;
    uint16_t cpcr;
    uint8_t etthr;
    uint32_t rdsar_lo, rdsar_hi;
    bool cplus;                 /* CPCR was written: TSD and TSAD are the C+ registers */
    struct rtl_eeprom ee;
    uint32_t timer_int;
    int64_t tctr_base;          /* virtual time at which TCTR read 0, moved on by whole wraps */
    struct rtl_tally tally;

    /* the rings' positions */
    uint32_t cur_tx;            /* C mode: the descriptor transmitted next */
    uint32_t cp_rx_idx, cp_tx_idx;

    /* transmission in flight */
    uint8_t tx_wait;            /* TX_*: a frame was queued at the peer */
    /* the C+ frame being assembled: its descriptors from cp_first (as many as cp_ndesc, read and
     * still the NIC's until the frame is sent) and its segments already delivered */
    uint32_t cp_first, cp_ndesc, cp_seg;
    bool cp_ready;              /* its last descriptor was read */
    bool cp_reload;             /* loaded: the frame's descriptors are to be read again */
    bool cp_bad;                /* a DMA failed: its descriptors go back with TES, nothing is sent */
    uint32_t cp_len;
    uint32_t cp_dw0[RTL_CP_RING_MAX];
    uint32_t cp_dw1;            /* the last descriptor's (VLAN tag) */
    uint8_t *cp_buf;            /* CP_TXBUF_SIZE */
    uint8_t *txbuf;             /* a C mode frame, or a segment */
    uint8_t *rxpkt;             /* a received packet: 4 header bytes, the frame, its CRC */

    struct timer *timer;
    struct timer *announce;
    unsigned announce_left;
    struct bh *kick;            /* after a load: transmission resumes */
    int tppoll_fd;              /* TPPOLL's normal queue kick by ioeventfd, or -1 */
};
PCI_DEVICE_CHECK(struct rtl8139);

static void rtl_reset(struct rtl8139 *s, bool power_on);

static void rtl_update_irq(struct rtl8139 *s)
{
    pci_set_irq(&s->pci, (s->isr & s->imr) != 0);
}

/*
 * The link the driver sees is the NIC's own, as QEMU's: set_link on the NIC or on its backend
 * sets it (net_set_link carries a backend's to its NIC). A backend's own state (a socket that
 * listens with no peer yet) is not the card's carrier.
 */
static bool rtl_link_up(struct rtl8139 *s)
{
    return !s->nc.link_down;
}

/* ---- DMA: every guest address the device touches goes through these ---- */

/* A transfer that reached no memory: the PCI master abort a real card gets, and ISR's SERR. */
static void rtl_dma_error(struct rtl8139 *s)
{
    pci_set_word(s->pci.config + PCI_STATUS, pci_get_word(s->pci.config + PCI_STATUS) | 0x2000);
    s->isr |= RTL_INT_SERR;
    rtl_update_irq(s);
}

static bool rtl_master(struct rtl8139 *s)
{
    return pci_get_word(s->pci.config + PCI_COMMAND) & PCI_COMMAND_MASTER;
}

static int rtl_dma_read(struct rtl8139 *s, uint64_t addr, void *buf, size_t len, const char *what)
{
    if (!len)
        return 0;
    if (!rtl_master(s)) {
        log_guest_error("%s at 0x%" PRIx64 " with bus mastering off: not read", what, addr);
        return -EPERM;
    }
    if (gmem_read(addr, buf, len) < 0) {
        log_guest_error("%s at 0x%" PRIx64 " (%zu bytes) is not RAM", what, addr, len);
        rtl_dma_error(s);
        return -EFAULT;
    }
    return 0;
}

/* Write pieces at once: all of them are checked before any is written. */
static int rtl_dma_write2(struct rtl8139 *s, uint64_t a1, const void *p1, size_t n1,
                          uint64_t a2, const void *p2, size_t n2, const char *what)
{
    if (!rtl_master(s)) {
        log_guest_error("%s at 0x%" PRIx64 " with bus mastering off: not written", what, a1);
        return -EPERM;
    }
    if ((n1 && !gmem_is_ram(a1, n1)) || (n2 && !gmem_is_ram(a2, n2)) ||
        (n1 && gmem_write(a1, p1, n1) < 0) || (n2 && gmem_write(a2, p2, n2) < 0)) {
        log_guest_error("%s at 0x%" PRIx64 " (%zu bytes) is not RAM", what, a1, n1 + n2);
        rtl_dma_error(s);
        return -EFAULT;
    }
    return 0;
}

static int rtl_dma_write(struct rtl8139 *s, uint64_t addr, const void *buf, size_t len, const char *what)
{
    return rtl_dma_write2(s, addr, buf, len, 0, NULL, 0, what);
}

/* ---- the 93C46 EEPROM behind 9346CR ---- */

static void ee_clock(struct rtl_eeprom *e)
{
    switch (e->mode) {
    case EE_START:
        /* leading zeros are skipped; the start bit begins the command */
        if (e->di) {
            e->mode = EE_COMMAND;
            e->tick = 0;
            e->in = 0;
        }
        break;
    case EE_COMMAND:
        e->in = (uint16_t)(e->in << 1 | e->di);
        if (++e->tick < 8)
            break;
        e->tick = 0;
        if ((e->in & 0xc0) == 0x80) {
            /* READ: the word's bits follow, most significant first, one per clock */
            e->addr = e->in & (RTL_EEPROM_WORDS - 1);
            e->out = e->words[e->addr];
            e->dout = 0;
            e->mode = EE_READ;
        } else {
            /* WRITE, ERASE, EWEN, EWDS, WRAL: the contents stay as they are (QEMU's) */
            e->mode = EE_IDLE;
        }
        break;
    case EE_READ:
        e->dout = e->out >> 15;
        e->out <<= 1;
        /* after 16 bits a new command may follow without a CS cycle (FreeBSD's rl and re) */
        if (++e->tick == 16) {
            e->mode = EE_START;
            e->tick = 0;
        }
        break;
    default:
        break;
    }
}

static void ee_wires(struct rtl_eeprom *e, uint8_t v)
{
    uint8_t cs = !!(v & RTL_9346_EECS), sk = !!(v & RTL_9346_EESK), old_sk = e->sk;

    if (cs && !e->cs) {
        e->mode = EE_START;
        e->tick = 0;
        e->in = e->out = 0;
    }
    e->cs = cs;
    e->sk = sk;
    e->di = !!(v & RTL_9346_EEDI);
    if (cs && sk && !old_sk)
        ee_clock(e);
}

static void rtl_9346cr_write(struct rtl8139 *s, uint8_t v)
{
    /* EEDO and bits 4-5 are read-only */
    v = (v & 0xce) | (s->cr9346 & 0x31);
    switch (v & RTL_9346_MODE) {
    case RTL_9346_PROGRAM:
        ee_wires(&s->ee, v);
        break;
    case RTL_9346_AUTOLOAD:
        /* auto-load reads the EEPROM into the registers again: a reset, and back to normal */
        rtl_reset(s, false);
        v = 0;
        break;
    default:
        break;
    }
    s->cr9346 = v;
}

/* ---- the timer (TCTR, TimerInt) ---- */

static uint32_t rtl_tctr(struct rtl8139 *s)
{
    return (uint32_t)((clock_get_ns(CLK_VIRTUAL) - s->tctr_base) / PCI_CLK_NS);
}

/* Arm the timer for the next time TCTR equals TimerInt (once per wrap of TCTR). */
static void rtl_timer_arm(struct rtl8139 *s)
{
    int64_t now = clock_get_ns(CLK_VIRTUAL), at;

    /* tctr_base is in the past (the post-load check holds it there) */
    s->tctr_base += (now - s->tctr_base) / TCTR_PERIOD_NS * TCTR_PERIOD_NS;
    if (!s->timer_int) {
        timer_del(s->timer);
        return;
    }
    at = s->tctr_base + (int64_t)s->timer_int * PCI_CLK_NS;
    if (at <= now)
        at += TCTR_PERIOD_NS;
    timer_mod(s->timer, at);
}

static void rtl_timer_fire(void *opaque)
{
    struct rtl8139 *s = opaque;

    if (s->clock_on) {
        s->isr |= RTL_INT_TIMEOUT;
        rtl_update_irq(s);
    }
    rtl_timer_arm(s);
}

/* ---- receive ---- */

static uint32_t rx_ring_len(struct rtl8139 *s)
{
    return 8192u << ((s->rcr >> RTL_RCR_RBLEN_SHIFT) & 3);
}

static bool rx_ring_empty(struct rtl8139 *s)
{
    return s->cbr == s->rx_read;
}

/* Free bytes between where the next packet goes and where the driver reads (0: all of it). */
static uint32_t rx_ring_avail(struct rtl8139 *s)
{
    uint32_t len = rx_ring_len(s);

    return (len + s->rx_read - s->cbr) % len;
}

static uint64_t cp_rx_desc_addr(struct rtl8139 *s)
{
    return ((uint64_t)s->rdsar_hi << 32 | s->rdsar_lo) + 16ull * s->cp_rx_idx;
}

static bool cp_rx_on(struct rtl8139 *s)
{
    return s->cpcr & RTL_CPCR_RXENB;
}

/* Linux enables the receiver before it gives the ring's address: until then frames go (QEMU's). */
static bool cp_rx_ring_set(struct rtl8139 *s)
{
    return s->rdsar_lo || s->rdsar_hi;
}

static bool rtl_can_receive(struct net_client *nc)
{
    struct rtl8139 *s = container_of(nc, struct rtl8139, nc);
    uint8_t d[4];

    /* a halted clock or a receiver that is off drops what comes */
    if (!s->clock_on || !(s->cmd & RTL_CR_RE))
        return true;
    if (cp_rx_on(s)) {
        if (!cp_rx_ring_set(s) || !rtl_master(s) || gmem_read(cp_rx_desc_addr(s), d, 4) < 0)
            return true;
        return ldl_le(d) & RTL_DESC_OWN;
    }
    /* room for a full-sized frame, its header and CRC; a larger one finds out in receive */
    return rx_ring_empty(s) || rx_ring_avail(s) > 1536;
}

/* The Ethernet CRC of a multicast address, most significant bit first: its top 6 bits index MAR. */
static unsigned mcast_hash(const uint8_t *addr)
{
    uint32_t crc = 0xffffffff;

    for (int i = 0; i < ETH_ALEN; i++) {
        uint8_t b = addr[i];

        for (int j = 0; j < 8; j++, b >>= 1)
            crc = (crc << 1) ^ (((crc >> 31) ^ (b & 1)) ? 0x04c11db7 : 0);
    }
    return crc >> 26;
}

/* The packet's kind (RTL_RX_BAR/MAR/PAM) when RCR accepts it, else -1. */
static int rx_filter(struct rtl8139 *s, const uint8_t *f)
{
    static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    bool all = s->rcr & RTL_RCR_AAP;

    if (!memcmp(f, bcast, ETH_ALEN)) {
        if (!(s->rcr & RTL_RCR_AB) && !all)
            return -1;
        s->tally.rx_ok_brd++;
        return RTL_RX_BAR;
    }
    if (f[0] & 1) {
        unsigned h = mcast_hash(f);

        if (!all && (!(s->rcr & RTL_RCR_AM) || !(s->mar[h >> 3] & (1u << (h & 7)))))
            return -1;
        s->tally.rx_ok_mul++;
        return RTL_RX_MAR;
    }
    if (!memcmp(f, s->idr, ETH_ALEN)) {
        if (!(s->rcr & RTL_RCR_APM) && !all)
            return -1;
        s->tally.rx_ok_phy++;
        return RTL_RX_PAM;
    }
    return all ? 0 : -1;
}

static void rx_missed(struct rtl8139 *s)
{
    s->mpc = (s->mpc + 1) & 0xffffff;
    s->tally.miss_pkt++;
    s->tally.rx_err++;
}

/* C+ mode: the frame (len bytes at f, room for its CRC after it) into the next descriptor's buffer. */
static ssize_t rx_cplus(struct rtl8139 *s, uint8_t *f, size_t len, int kind, size_t ret)
{
    uint64_t daddr = cp_rx_desc_addr(s), baddr;
    uint8_t d[16], wb[8];
    uint32_t dw0, dw1 = 0, space, st;

    if (!cp_rx_ring_set(s))
        return ret;
    if (rtl_dma_read(s, daddr, d, sizeof(d), "C+ receive descriptor") < 0) {
        rx_missed(s);
        return ret;
    }
    dw0 = ldl_le(d);
    dw1 = ldl_le(d + 4);
    baddr = (uint64_t)ldl_le(d + 12) << 32 | ldl_le(d + 8);
    if (!(dw0 & RTL_DESC_OWN)) {
        /* no descriptor: the frame waits in the queue until the driver gives some back */
        s->isr |= RTL_INT_RXOVW;
        rtl_update_irq(s);
        return 0;
    }
    space = dw0 & RTL_RXD_SIZE;
    dw1 &= ~(RTL_RXD_TAVA | 0xffff);
    if ((s->cpcr & RTL_CPCR_RXVLAN) && lduw_be(f + 2 * ETH_ALEN) == ETH_P_VLAN) {
        /* the tag goes to the descriptor as it was on the wire */
        dw1 |= RTL_RXD_TAVA | lduw_le(f + 2 * ETH_ALEN + 2);
        memmove(f + 2 * ETH_ALEN, f + 2 * ETH_ALEN + VLAN_HLEN, len - 2 * ETH_ALEN - VLAN_HLEN);
        len -= VLAN_HLEN;
        if (len < ETH_ZLEN) {
            memset(f + len, 0, ETH_ZLEN - len);
            len = ETH_ZLEN;
        }
    }
    if (len + 4 > space) {
        log_guest_error("a %zu-byte frame does not fit a %u-byte receive buffer: dropped", len, space);
        s->isr |= RTL_INT_RXOVW;
        rx_missed(s);
        rtl_update_irq(s);
        return ret;
    }
    stl_le(f + len, (uint32_t)crc32(0, f, len));
    if (rtl_dma_write(s, baddr, f, len + 4, "C+ receive buffer") < 0) {
        rx_missed(s);
        return ret;
    }
    st = (dw0 & RTL_DESC_EOR) | RTL_DESC_FS | RTL_DESC_LS | (uint32_t)(len + 4);
    if (kind == RTL_RX_BAR)
        st |= RTL_RXD_BAR;
    else if (kind == RTL_RX_MAR)
        st |= RTL_RXD_MAR;
    else if (kind == RTL_RX_PAM)
        st |= RTL_RXD_PAM;
    stl_le(wb, st);
    stl_le(wb + 4, dw1);
    if (rtl_dma_write(s, daddr, wb, sizeof(wb), "C+ receive descriptor") < 0)
        return ret;
    s->cp_rx_idx = dw0 & RTL_DESC_EOR ? 0 : (s->cp_rx_idx + 1) % RTL_CP_RING_MAX;
    s->tally.rx_ok++;
    s->isr |= RTL_INT_ROK;
    rtl_update_irq(s);
    return ret;
}

/* C mode: header, frame and CRC (the packet at p, 8 + len bytes) at CBR in the ring. */
static ssize_t rx_ring(struct rtl8139 *s, uint8_t *p, size_t len, int kind, size_t ret)
{
    uint32_t ring = rx_ring_len(s), need = 8 + (uint32_t)len, start = s->cbr, first;
    uint32_t avail = rx_ring_avail(s);

    if (ALIGN_UP(need, 4) > ring - 16) {
        /* it could not fit even an empty ring: waiting would stop every frame behind it */
        log_guest_error("a %zu-byte frame is larger than the %u-byte receive ring: dropped", len, ring);
        rx_missed(s);
        return ret;
    }
    if (avail && ALIGN_UP(need, 4) >= avail) {
        /* no room now: the frame waits in the queue until the driver moves CAPR */
        s->isr |= RTL_INT_RXOVW;
        rtl_update_irq(s);
        return 0;
    }
    stw_le(p, (uint16_t)(RTL_RX_ROK | kind));
    stw_le(p + 2, (uint16_t)(len + 4));
    stl_le(p + 4 + len, (uint32_t)crc32(0, p + 4, len));
    /* WRAP=1 (rings below 64 KiB): the packet runs on past the end, into the driver's spare room */
    if ((s->rcr & RTL_RCR_WRAP) && ring < 65536 && start + need <= ring + RX_WRAP_PAD)
        first = need;
    else
        first = MIN(need, ring - start);
    if (rtl_dma_write2(s, (uint64_t)s->rbstart + start, p, first, s->rbstart, p + first, need - first,
                       "receive ring") < 0) {
        rx_missed(s);
        return ret;
    }
    s->cbr = ALIGN_UP(start + need, 4) % ring;
    s->tally.rx_ok++;
    s->isr |= RTL_INT_ROK;
    rtl_update_irq(s);
    return ret;
}

/* A frame for the guest, its bytes at s->rxpkt + 4: 0 when it must wait, else ret. */
static ssize_t rx_frame(struct rtl8139 *s, size_t len, size_t ret)
{
    uint8_t *f = s->rxpkt + 4;
    int kind;

    if (!s->clock_on || !(s->cmd & RTL_CR_RE))
        return ret;
    if (len < ETH_ZLEN) {
        memset(f + len, 0, ETH_ZLEN - len);
        len = ETH_ZLEN;
    }
    kind = rx_filter(s, f);
    if (kind < 0) {
        s->tally.rx_err++;
        return ret;
    }
    return cp_rx_on(s) ? rx_cplus(s, f, len, kind, ret) : rx_ring(s, s->rxpkt, len, kind, ret);
}

static ssize_t rtl_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct rtl8139 *s = container_of(nc, struct rtl8139, nc);
    size_t len = iov_size(iov, niov);

    if (flags & NET_FRAME_VNET_HDR)
        return -EINVAL;
    if (len > RX_FRAME_MAX) {
        log_guest_error("a %zu-byte frame from the backend is longer than a packet can be: dropped", len);
        rx_missed(s);
        return len;
    }
    iov_to_buf(iov, niov, 0, s->rxpkt + 4, len);
    return rx_frame(s, len, len);
}

/* The guest gave receive room back (CAPR, a descriptor, the receiver on): what waited comes in. */
static void rx_kick(struct rtl8139 *s)
{
    if (rtl_can_receive(&s->nc))
        net_client_flush(&s->nc);
}

/* ---- transmit ---- */

static void tx_sent(struct net_client *nc, ssize_t ret);

/*
 * A frame out (VLAN tag inserted when tag is not NULL): to the peer, or back to our own receiver
 * in loopback. 1 when it is gone, 0 when the peer queued it (tx_sent follows).
 */
static int tx_out(struct rtl8139 *s, const uint8_t *f, size_t len, const uint8_t *tag)
{
    struct iovec iov[3];
    int n = 0;

    if (!len)
        return 1;
    if (tag && len >= 2 * ETH_ALEN) {
        iov[n++] = (struct iovec){ (void *)f, 2 * ETH_ALEN };
        iov[n++] = (struct iovec){ (void *)tag, VLAN_HLEN };
        iov[n++] = (struct iovec){ (void *)(f + 2 * ETH_ALEN), len - 2 * ETH_ALEN };
    } else {
        iov[n++] = (struct iovec){ (void *)f, len };
    }
    s->tally.tx_ok++;
    if ((s->tcr & RTL_TCR_LBK) == RTL_TCR_LBK) {
        size_t total = iov_size(iov, n);

        /* our own receiver takes it now or never: a full ring loses it */
        if (total <= RX_FRAME_MAX) {
            iov_to_buf(iov, n, 0, s->rxpkt + 4, total);
            if (!rx_frame(s, total, total))
                rx_missed(s);
        }
        return 1;
    }
    return net_send(&s->nc, iov, n, 0, tx_sent) == 0 ? 0 : 1;
}

static void tx_c_done(struct rtl8139 *s)
{
    s->tsd[s->cur_tx] |= RTL_TSD_OWN | RTL_TSD_TOK;
    s->cur_tx = (s->cur_tx + 1) & 3;
    s->isr |= RTL_INT_TOK;
    rtl_update_irq(s);
}

/* C mode: send the descriptors the driver handed over, in order from cur_tx. */
static void tx_c_run(struct rtl8139 *s)
{
    for (int n = 0; n < 4 && s->tx_wait == TX_IDLE; n++) {
        uint32_t d = s->cur_tx, len = s->tsd[d] & RTL_TSD_SIZE;

        if (!(s->cmd & RTL_CR_TE) || (s->tsd[d] & RTL_TSD_OWN))
            return;
        if (rtl_dma_read(s, s->tsad[d], s->txbuf, len, "transmit buffer") < 0) {
            s->tsd[d] |= RTL_TSD_OWN | RTL_TSD_TABT;
            s->cur_tx = (d + 1) & 3;
            s->tally.tx_err++;
            s->tally.tx_abt++;
            s->isr |= RTL_INT_TER;
            rtl_update_irq(s);
            continue;
        }
        if (!tx_out(s, s->txbuf, len, NULL)) {
            s->tx_wait = TX_WAIT_C;
            return;
        }
        tx_c_done(s);
    }
}

static uint16_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (; len > 1; p += 2, len -= 2)
        sum += lduw_be(p);
    if (len)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

/* The TCP/UDP checksum of `len` bytes at l4 under the IPv4 header ip. */
static uint16_t l4_csum(const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t len)
{
    uint8_t ph[12];

    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = proto;
    stw_be(ph + 10, (uint16_t)len);
    return ~csum_add(csum_add(0, ph, sizeof(ph)), l4, len);
}

/* The IPv4 frame's layout, every length checked against the frame as it was read. */
struct ip_frame {
    uint8_t *ip;
    unsigned hlen;              /* IP header */
    unsigned data;              /* IP payload, by the header's total length */
    uint8_t proto;
};

static bool ip_parse(uint8_t *f, size_t len, struct ip_frame *p)
{
    unsigned total;

    if (len < ETH_HLEN + 20 || lduw_be(f + 12) != ETH_P_IP)
        return false;
    p->ip = f + ETH_HLEN;
    if ((p->ip[0] >> 4) != 4)
        return false;
    p->hlen = (p->ip[0] & 15) * 4;
    total = lduw_be(p->ip + 2);
    if (p->hlen < 20 || p->hlen > len - ETH_HLEN || total < p->hlen || total > len - ETH_HLEN)
        return false;
    p->data = total - p->hlen;
    p->proto = p->ip[9];
    return true;
}

static void ip_csum(uint8_t *ip, unsigned hlen)
{
    stw_be(ip + 10, 0);
    stw_be(ip + 10, ~csum_add(0, ip, hlen));
}

/* Checksums the descriptor asks for, in the assembled frame (QEMU's: IPv4 only, else as it is). */
static void cp_csum(uint8_t *f, size_t len, uint32_t dw0)
{
    struct ip_frame p;
    uint8_t *l4;

    if (!ip_parse(f, len, &p))
        return;
    l4 = p.ip + p.hlen;
    if (dw0 & RTL_TXD_IPCS)
        ip_csum(p.ip, p.hlen);
    if ((dw0 & RTL_TXD_TCPCS) && p.proto == 6 && p.data >= 20) {
        stw_be(l4 + 16, 0);
        stw_be(l4 + 16, l4_csum(p.ip, 6, l4, p.data));
    } else if ((dw0 & RTL_TXD_UDPCS) && p.proto == 17 && p.data >= 8) {
        uint16_t c;

        stw_be(l4 + 6, 0);
        c = l4_csum(p.ip, 17, l4, p.data);
        /* a computed zero goes as all ones: zero means "no checksum" (RFC 768) */
        stw_be(l4 + 6, c ? c : 0xffff);
    }
}

/*
 * TCP segmentation: segment k of the frame into s->txbuf, its length (0: there is no segment k).
 * The frame's headers are the template; each segment carries one MSS of the payload, the IP id
 * and the sequence number advanced, PSH and FIN on the last only, both checksums computed.
 */
static size_t tso_segment(struct rtl8139 *s, const struct ip_frame *p, unsigned mss, uint32_t k)
{
    const uint8_t *f = s->cp_buf, *tcp = p->ip + p->hlen;
    unsigned thlen = (tcp[12] >> 4) * 4, payload = p->data - thlen, off, chunk;
    uint8_t *o = s->txbuf, *ip, *th;
    size_t hdr = ETH_HLEN + p->hlen + thlen;

    if ((uint64_t)k * mss >= payload && !(k == 0 && payload == 0))
        return 0;
    off = k * mss;
    chunk = MIN(mss, payload - off);
    memcpy(o, f, hdr);
    memcpy(o + hdr, tcp + thlen + off, chunk);
    ip = o + ETH_HLEN;
    th = ip + p->hlen;
    stw_be(ip + 2, (uint16_t)(p->hlen + thlen + chunk));
    stw_be(ip + 4, (uint16_t)(lduw_be(p->ip + 4) + k));
    ip_csum(ip, p->hlen);
    stl_be(th + 4, ldl_be(tcp + 4) + off);
    if (off + chunk < payload)
        th[13] &= ~0x09;        /* PSH, FIN */
    stw_be(th + 16, 0);
    stw_be(th + 16, l4_csum(ip, 6, th, thlen + chunk));
    return hdr + chunk;
}

/* Whether the assembled frame goes out in TCP segments, and its layout. */
static bool cp_tso(struct rtl8139 *s, uint32_t dw0, struct ip_frame *p, unsigned *mss)
{
    const uint8_t *tcp;
    unsigned thlen;

    if (!(dw0 & RTL_TXD_LGSEN))
        return false;
    *mss = (dw0 >> RTL_TXD_MSS_SHIFT) & RTL_TXD_MSS_MASK;
    if (!*mss || !ip_parse(s->cp_buf, s->cp_len, p) || p->proto != 6 || p->data < 20)
        return false;
    tcp = p->ip + p->hlen;
    thlen = (tcp[12] >> 4) * 4;
    return thlen >= 20 && thlen <= p->data;
}

/* Send the assembled frame from segment cp_seg on: false when the peer queued one (tx_sent follows). */
static bool cp_send(struct rtl8139 *s)
{
    uint32_t dw0 = s->cp_dw0[s->cp_ndesc - 1];
    uint8_t tag[VLAN_HLEN], *tagp = NULL;
    struct ip_frame p;
    unsigned mss;

    if (s->cp_bad)
        return true;
    if (s->cp_dw1 & RTL_TXD_TAGC) {
        stw_be(tag, ETH_P_VLAN);
        stw_le(tag + 2, (uint16_t)s->cp_dw1);
        tagp = tag;
    }
    if (cp_tso(s, dw0, &p, &mss)) {
        for (;;) {
            size_t n = tso_segment(s, &p, mss, s->cp_seg);

            if (!n)
                return true;
            if (!tx_out(s, s->txbuf, n, tagp))
                return false;
            s->cp_seg++;
        }
    }
    if (s->cp_seg)
        return true;
    /* a large send that cannot be segmented goes as it is, checksums and all (QEMU's) */
    if (!(dw0 & RTL_TXD_LGSEN) && (dw0 & (RTL_TXD_IPCS | RTL_TXD_TCPCS | RTL_TXD_UDPCS)))
        cp_csum(s->cp_buf, s->cp_len, dw0);
    if (!tx_out(s, s->cp_buf, s->cp_len, tagp))
        return false;
    s->cp_seg = 1;
    return true;
}

/* The frame is gone: its descriptors go back to the driver. */
static void cp_finish(struct rtl8139 *s)
{
    uint64_t ring = (uint64_t)s->tsad[1] << 32 | s->tsad[0];

    for (uint32_t i = 0, idx = s->cp_first; i < s->cp_ndesc; i++) {
        uint32_t st = s->cp_dw0[i] & ~(RTL_DESC_OWN | 0x02f00000u);
        uint8_t b[4];

        if (s->cp_bad)
            st |= RTL_TXD_TES;
        stl_le(b, st);
        if (rtl_dma_write(s, ring + 16ull * idx, b, 4, "C+ transmit descriptor") < 0)
            break;
        idx = st & RTL_DESC_EOR ? 0 : (idx + 1) % RTL_CP_RING_MAX;
    }
    s->isr |= s->cp_bad ? RTL_INT_TER : RTL_INT_TOK;
    if (s->cp_bad) {
        s->tally.tx_err++;
        s->tally.tx_abt++;
    }
    rtl_update_irq(s);
    s->cp_ndesc = 0;
    s->cp_len = 0;
    s->cp_seg = 0;
    s->cp_ready = false;
    s->cp_bad = false;
}

/*
 * After a load the frame in flight is read again from its first descriptor: the guest's memory
 * came with the state, the buffer here did not. (Done when transmission next runs, not in the
 * load itself, so that a save right after the load gives the stream it loaded.)
 */
static void cp_rewind(struct rtl8139 *s)
{
    if (s->cp_ndesc)
        s->cp_tx_idx = s->cp_first;
    s->cp_ndesc = 0;
    s->cp_len = 0;
    s->cp_ready = s->cp_bad = false;
    s->cp_reload = false;
}

/* C+ mode: read descriptors from cp_tx_idx while the NIC owns them, and send each frame. */
static void tx_cp_run(struct rtl8139 *s)
{
    uint64_t ring = (uint64_t)s->tsad[1] << 32 | s->tsad[0];

    if (s->cp_reload)
        cp_rewind(s);

    /* bounded per call: a ring whose descriptors the guest keeps giving back cannot hold us */
    for (int n = 0; n < 4 * RTL_CP_RING_MAX && s->tx_wait == TX_IDLE; n++) {
        uint8_t d[16];
        uint32_t dw0, len, room;
        uint64_t buf;

        if (!(s->cmd & RTL_CR_TE) || !(s->cpcr & RTL_CPCR_TXENB))
            return;
        if (s->cp_ready) {
            if (!cp_send(s)) {
                s->tx_wait = TX_WAIT_CP;
                return;
            }
            cp_finish(s);
            continue;
        }
        if (rtl_dma_read(s, ring + 16ull * s->cp_tx_idx, d, sizeof(d), "C+ transmit descriptor") < 0)
            return;
        dw0 = ldl_le(d);
        if (!(dw0 & RTL_DESC_OWN))
            return;
        if ((dw0 & RTL_DESC_FS) && s->cp_ndesc) {
            /* a frame without its last descriptor: it goes back unsent */
            log_guest_error("C+ transmit: a frame's first descriptor before the last one of the frame before");
            s->cp_bad = true;
            cp_finish(s);
        }
        if (!s->cp_ndesc)
            s->cp_first = s->cp_tx_idx;
        s->cp_dw0[s->cp_ndesc++] = dw0;
        len = dw0 & RTL_TXD_SIZE;
        room = CP_TXBUF_SIZE - s->cp_len;
        if (len > room) {
            if (room)
                log_guest_error("C+ transmit: a frame longer than %u bytes is cut there", CP_TXBUF_SIZE);
            len = room;
        }
        buf = (uint64_t)ldl_le(d + 12) << 32 | ldl_le(d + 8);
        if (!s->cp_bad && rtl_dma_read(s, buf, s->cp_buf + s->cp_len, len, "C+ transmit buffer") < 0)
            s->cp_bad = true;
        s->cp_len += len;
        s->cp_tx_idx = dw0 & RTL_DESC_EOR ? 0 : (s->cp_tx_idx + 1) % RTL_CP_RING_MAX;
        if (dw0 & RTL_DESC_LS) {
            s->cp_dw1 = ldl_le(d + 4);
            s->cp_ready = true;
        } else if (s->cp_ndesc == RTL_CP_RING_MAX || s->cp_tx_idx == s->cp_first) {
            /* the whole ring and no last descriptor: nothing would ever end the frame */
            log_guest_error("C+ transmit: a frame with no last descriptor in the whole ring");
            s->cp_bad = true;
            s->cp_dw1 = 0;
            s->cp_ready = true;
        }
    }
}

/* The peer took the frame it had queued: finish it and go on. */
static void tx_sent(struct net_client *nc, ssize_t ret)
{
    struct rtl8139 *s = container_of(nc, struct rtl8139, nc);
    uint8_t w = s->tx_wait;

    s->tx_wait = TX_IDLE;
    if (w == TX_WAIT_C) {
        tx_c_done(s);
        tx_c_run(s);
    } else if (w == TX_WAIT_CP) {
        s->cp_seg++;
        tx_cp_run(s);
    }
}

/*
 * TPPOLL's normal queue kick, caught by an ioeventfd: the vCPU goes on at once and the frames go
 * out from the main loop, as a chip's own DMA runs beside the CPU (the C+ driver writes TPPOLL
 * for every frame it queues). Also called where the guest reads ISR, so a driver that polls ISR
 * after its kick sees the frames gone, and before a state save.
 */
static void tppoll_kicked(void *opaque, uint32_t events)
{
    struct rtl8139 *s = opaque;
    eventfd_t n;

    (void)events;
    if (s->tppoll_fd < 0 || eventfd_read(s->tppoll_fd, &n) < 0)
        return;
    tx_cp_run(s);
    /* the write may follow receive descriptors the driver gave back (as rtl_io_write) */
    if (cp_rx_on(s))
        rx_kick(s);
}

/* DTCCR's dump command: the tally counters into guest memory. */
static void tally_dump(struct rtl8139 *s)
{
    const struct rtl_tally *t = &s->tally;
    uint64_t addr = (uint64_t)s->tsd[1] << 32 | (s->tsd[0] & ~0x3fu);
    uint8_t b[RTL_TALLY_SIZE];

    stq_le(b + 0, t->tx_ok);
    stq_le(b + 8, t->rx_ok);
    stq_le(b + 16, t->tx_err);
    stl_le(b + 24, t->rx_err);
    stw_le(b + 28, t->miss_pkt);
    stw_le(b + 30, t->fae);
    stl_le(b + 32, t->tx_1col);
    stl_le(b + 36, t->tx_mcol);
    stq_le(b + 40, t->rx_ok_phy);
    stq_le(b + 48, t->rx_ok_brd);
    stl_le(b + 56, t->rx_ok_mul);
    stw_le(b + 60, t->tx_abt);
    stw_le(b + 62, t->tx_undrn);
    rtl_dma_write(s, addr, b, sizeof(b), "tally counter dump");
}

/* ---- registers ---- */

static void tsd_write(struct rtl8139 *s, unsigned n, uint32_t v)
{
    if (s->cplus) {
        s->tsd[n] = v;
        if (n == 0 && (v & 0x08)) {
            tally_dump(s);
            s->tsd[0] &= ~0x08u;
        }
        return;
    }
    /* the status bits (TOK, TUN and the error bits) start over; 22-23 are reserved */
    s->tsd[n] = (v & ~0xff00c000u & ~0x00c00000u) | (s->tsd[n] & 0x00c00000u);
    tx_c_run(s);
}

static void cr_write(struct rtl8139 *s, uint8_t v)
{
    if (v & RTL_CR_RST)
        rtl_reset(s, false);
    if (v & RTL_CR_RE)
        s->cp_rx_idx = 0;
    if (v & RTL_CR_TE)
        s->cp_tx_idx = 0;
    s->cmd = v & (RTL_CR_RE | RTL_CR_TE);
    rx_kick(s);
}

static void rcr_write(struct rtl8139 *s, uint32_t v)
{
    s->rcr = (v & ~0xf0fc0040u) | (s->rcr & 0xf0fc0040u);
    /* the ring starts over at its (new) size */
    s->rx_read = 0;
    s->cbr = 0;
    rx_kick(s);
}

static void tcr_write(struct rtl8139 *s, uint32_t v)
{
    if (!(s->cmd & RTL_CR_TE))
        return;
    s->tcr = (v & 0x030f07f0u) | (s->tcr & ~0x030f07f0u);
}

static void isr_write(struct rtl8139 *s, uint16_t v)
{
    s->isr &= ~(v & ~0x1e00);
    rtl_update_irq(s);
    rx_kick(s);
}

static void imr_write(struct rtl8139 *s, uint16_t v)
{
    s->imr = v & ~0x1e00;
    rtl_update_irq(s);
    rx_kick(s);
}

static bool config_writable(struct rtl8139 *s)
{
    return (s->cr9346 & RTL_9346_MODE) == RTL_9346_CFGWRITE;
}

static void write8(struct rtl8139 *s, unsigned off, uint8_t v)
{
    switch (off) {
    case RTL_IDR0 ... RTL_IDR0 + 5:
        s->idr[off - RTL_IDR0] = v;
        /* info network shows the new address once its last byte is in (QEMU's) */
        if (off == RTL_IDR0 + 5)
            memcpy(s->nc.macaddr, s->idr, ETH_ALEN);
        break;
    case RTL_MAR0 ... RTL_MAR0 + 7:
        s->mar[off - RTL_MAR0] = v;
        break;
    case RTL_CR:
        cr_write(s, v);
        break;
    case RTL_9346CR:
        rtl_9346cr_write(s, v);
        break;
    case RTL_TCR:
        /* a byte write reaches the low byte (Windows' driver) */
        tcr_write(s, (s->tcr & ~0xffu) | v);
        break;
    case RTL_CONFIG0:
        if (config_writable(s))
            s->config0 = (v & 0x07) | (s->config0 & 0xf8);
        break;
    case RTL_CONFIG1:
        if (config_writable(s))
            s->config1 = (v & 0xf3) | (s->config1 & 0x0c);
        break;
    case RTL_CONFIG3:
        if (config_writable(s))
            s->config3 = (v & 0x70) | (s->config3 & 0x8f);
        break;
    case RTL_CONFIG4:
        if (config_writable(s))
            s->config4 = (v & 0xf5) | (s->config4 & 0x0a);
        break;
    case RTL_CONFIG5:
        s->config5 = (v & 0x7f) | (s->config5 & 0x80);
        break;
    case RTL_HLTCLK:
        if (v == 'R') {
            s->clock_on = 1;
            rx_kick(s);
        } else if (v == 'H') {
            s->clock_on = 0;
        }
        break;
    case RTL_ETTHR:
        s->etthr = v;
        break;
    case RTL_TPPOLL:
        /* the normal priority queue; QEMU serves no high priority queue */
        if (v & RTL_TPPOLL_NPQ)
            tx_cp_run(s);
        break;
    default:
        break;
    }
}

static void write16(struct rtl8139 *s, unsigned off, uint16_t v)
{
    switch (off) {
    case RTL_IMR:
        imr_write(s, v);
        break;
    case RTL_ISR:
        isr_write(s, v);
        break;
    case RTL_MULINT:
        s->mulint = (v & 0x0fff) | (s->mulint & 0xf000);
        break;
    case RTL_CAPR:
        s->rx_read = (v + 16u) % rx_ring_len(s);
        rx_kick(s);
        break;
    case RTL_BMCR:
        /* speed, autonegotiation and duplex are fixed (QEMU's) */
        s->bmcr = (v & 0x8200) | (s->bmcr & ~0x8200);
        break;
    case RTL_BMSR:
        s->bmsr = (v & 0x00c0) | (s->bmsr & ~0x00c0);
        break;
    case RTL_ANAR:
        s->anar = v;
        break;
    case RTL_ANER:
        s->aner = v;
        break;
    case RTL_ANLPAR:
    case RTL_INTRMIT:
        break;
    case RTL_CPCR:
        s->cplus = true;
        s->cpcr = (v & 0x007b) | (s->cpcr & ~0x007b);
        rx_kick(s);
        break;
    default:
        write8(s, off, v);
        write8(s, off + 1, v >> 8);
        break;
    }
}

static void write32(struct rtl8139 *s, unsigned off, uint32_t v)
{
    switch (off) {
    case RTL_TSD0: case RTL_TSD0 + 4: case RTL_TSD0 + 8: case RTL_TSD0 + 12:
        tsd_write(s, (off - RTL_TSD0) / 4, v);
        break;
    case RTL_TSAD0: case RTL_TSAD0 + 4: case RTL_TSAD0 + 8: case RTL_TSAD0 + 12:
        s->tsad[(off - RTL_TSAD0) / 4] = v;
        break;
    case RTL_RBSTART:
        s->rbstart = v;
        break;
    case RTL_TCR:
        tcr_write(s, v);
        break;
    case RTL_RCR:
        rcr_write(s, v);
        break;
    case RTL_TCTR:
        s->tctr_base = clock_get_ns(CLK_VIRTUAL);
        rtl_timer_arm(s);
        break;
    case RTL_MPC:
        s->mpc = 0;
        break;
    case RTL_TIMERINT:
        if (s->timer_int != v) {
            s->timer_int = v;
            rtl_timer_arm(s);
        }
        break;
    case RTL_RDSAR:
        s->rdsar_lo = v;
        rx_kick(s);
        break;
    case RTL_RDSAR + 4:
        s->rdsar_hi = v;
        rx_kick(s);
        break;
    default:
        write16(s, off, v);
        write16(s, off + 2, v >> 16);
        break;
    }
}

static uint16_t tsad_summary(struct rtl8139 *s)
{
    uint16_t v = 0;

    for (int i = 0; i < 4; i++) {
        if (s->tsd[i] & RTL_TSD_TOK)
            v |= 0x1000 << i;
        if (s->tsd[i] & RTL_TSD_TUN)
            v |= 0x100 << i;
        if (s->tsd[i] & RTL_TSD_TABT)
            v |= 0x10 << i;
        if (s->tsd[i] & RTL_TSD_OWN)
            v |= 1 << i;
    }
    return v;
}

/* Reads have no side effects: any byte of the register file, from the registers. */
static uint8_t read8(struct rtl8139 *s, unsigned off)
{
    uint32_t v;

    switch (off) {
    case RTL_IDR0 ... RTL_IDR0 + 5:
        return s->idr[off - RTL_IDR0];
    case RTL_MAR0 ... RTL_MAR0 + 7:
        return s->mar[off - RTL_MAR0];
    case RTL_TSD0 ... RTL_TSD0 + 15:
        v = s->tsd[(off - RTL_TSD0) / 4];
        break;
    case RTL_TSAD0 ... RTL_TSAD0 + 15:
        v = s->tsad[(off - RTL_TSAD0) / 4];
        break;
    case RTL_RBSTART ... RTL_RBSTART + 3:
        v = s->rbstart;
        break;
    case RTL_CR:
        return s->cmd | (rx_ring_empty(s) ? RTL_CR_BUFE : 0);
    case RTL_CAPR ... RTL_CAPR + 1:
        v = (uint16_t)(s->rx_read - 16);
        break;
    case RTL_CBR ... RTL_CBR + 1:
        v = s->cbr;
        break;
    case RTL_IMR ... RTL_IMR + 1:
        v = s->imr;
        break;
    case RTL_ISR ... RTL_ISR + 1:
        v = s->isr;
        break;
    case RTL_TCR ... RTL_TCR + 3:
        v = s->tcr;
        break;
    case RTL_RCR ... RTL_RCR + 3:
        v = s->rcr;
        break;
    case RTL_TCTR ... RTL_TCTR + 3:
        v = rtl_tctr(s);
        break;
    case RTL_MPC ... RTL_MPC + 3:
        v = s->mpc;
        break;
    case RTL_9346CR:
        if ((s->cr9346 & RTL_9346_MODE) == RTL_9346_PROGRAM)
            return (s->cr9346 & ~RTL_9346_EEDO) | (s->ee.cs && s->ee.dout ? RTL_9346_EEDO : 0);
        return s->cr9346;
    case RTL_CONFIG0:
        return s->config0;
    case RTL_CONFIG1:
        return s->config1;
    case RTL_TIMERINT ... RTL_TIMERINT + 3:
        v = s->timer_int;
        break;
    case RTL_MSR:
        /* 100 Mbit/s, flow control; LINKB says the link is down */
        return 0xd0 | (s->bmsr & RTL_BMSR_LINK ? 0 : RTL_MSR_LINKB);
    case RTL_CONFIG3:
        return s->config3;
    case RTL_CONFIG4:
        return s->config4;
    case RTL_HLTCLK:
        return s->clock_on;
    case RTL_MULINT ... RTL_MULINT + 1:
        v = s->mulint;
        break;
    case RTL_RERID:
        return RTL_REVISION;
    case RTL_TSAD ... RTL_TSAD + 1:
        v = tsad_summary(s);
        break;
    case RTL_BMCR ... RTL_BMCR + 1:
        v = s->bmcr;
        break;
    case RTL_BMSR ... RTL_BMSR + 1:
        v = s->bmsr;
        break;
    case RTL_ANAR ... RTL_ANAR + 1:
        v = s->anar;
        break;
    case RTL_ANLPAR ... RTL_ANLPAR + 1:
        v = s->anlpar;
        break;
    case RTL_ANER ... RTL_ANER + 1:
        v = s->aner;
        break;
    case RTL_CSCR ... RTL_CSCR + 1:
        v = s->cscr;
        break;
    case RTL_CONFIG5:
        return s->config5;
    case RTL_CPCR ... RTL_CPCR + 1:
        v = s->cpcr;
        break;
    case RTL_RDSAR ... RTL_RDSAR + 3:
        v = s->rdsar_lo;
        break;
    case RTL_RDSAR + 4 ... RTL_RDSAR + 7:
        v = s->rdsar_hi;
        break;
    case RTL_ETTHR:
        return s->etthr;
    default:
        return 0;
    }
    /* the byte of a wider register: registers start at their natural alignment */
    switch (off) {
    case RTL_CAPR ... RTL_CBR + 1:
    case RTL_IMR ... RTL_ISR + 1:
    case RTL_MULINT ... RTL_MULINT + 1:
    case RTL_TSAD ... RTL_ANER + 1:
    case RTL_CSCR ... RTL_CSCR + 1:
    case RTL_CPCR ... RTL_CPCR + 1:
        return v >> (8 * (off & 1));
    default:
        return v >> (8 * (off & 3));
    }
}

static uint64_t rtl_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct rtl8139 *s = opaque;
    uint64_t v = 0;

    /*
     * C+ mode: the chip fetches receive descriptors by itself, so one the driver gave back in
     * memory takes a waiting frame without a register write. A driver that polls (iPXE) reads
     * ISR: the frame is in before the read answers, and so are the frames it kicked out.
     */
    if (off <= RTL_ISR + 1 && off + size > RTL_ISR) {
        tppoll_kicked(s, 0);
        if (cp_rx_on(s))
            rx_kick(s);
    }
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)read8(s, (off + i) & 0xff) << (8 * i);
    return v;
}

static void rtl_io_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    struct rtl8139 *s = opaque;

    off &= 0xff;
    if (size == 4)
        write32(s, off, v);
    else if (size == 2)
        write16(s, off, v);
    else
        write8(s, off, v);
    /* any write (a TPPOLL, an ISR acknowledgement) may follow descriptors the driver gave back */
    if (cp_rx_on(s))
        rx_kick(s);
}

/* Both BARs: accesses of 1, 2 or 4 bytes at their natural alignment (QEMU's) */
static const struct io_region_ops rtl_io_ops = {
    .read = rtl_io_read,
    .write = rtl_io_write,
    .valid = { .min = 1, .max = 4 },
    .impl = { .min = 1, .max = 4 },
};

/* ---- the link and the backend ---- */

static void rtl_link_changed(struct net_client *nc)
{
    struct rtl8139 *s = container_of(nc, struct rtl8139, nc);

    s->bmsr = rtl_link_up(s) ? s->bmsr | RTL_BMSR_LINK : s->bmsr & ~RTL_BMSR_LINK;
    s->isr |= RTL_INT_LINKCHG;
    rtl_update_irq(s);
}

static const struct net_client_ops rtl_net_ops = {
    .type = "nic",
    .receive = rtl_receive,
    .can_receive = rtl_can_receive,
    .link_changed = rtl_link_changed,
};

/*
 * After a load the NIC says where it is, as QEMU's announce does: RARP requests from its
 * address, broadcast 5 times (at once, then 50, 150, 250, 350 ms apart), so that switches
 * learn the guest's new port.
 */
static void rtl_announce(void *opaque)
{
    struct rtl8139 *s = opaque;
    uint8_t f[ETH_ZLEN] = { 0 };

    memset(f, 0xff, ETH_ALEN);
    memcpy(f + ETH_ALEN, s->idr, ETH_ALEN);
    stw_be(f + 12, ETH_P_RARP);
    stw_be(f + 14, 1);                  /* Ethernet */
    stw_be(f + 16, ETH_P_IP);
    f[18] = ETH_ALEN;
    f[19] = 4;
    stw_be(f + 20, 3);                  /* reverse request */
    memcpy(f + 22, s->idr, ETH_ALEN);   /* sender: us, no IP address */
    memcpy(f + 32, s->idr, ETH_ALEN);   /* target: us */
    net_send_buf(&s->nc, f, sizeof(f), NULL);
    if (--s->announce_left)
        timer_mod(s->announce, clock_get_ns(CLK_REALTIME) +
                  (50 + 100 * (int64_t)(ANNOUNCE_ROUNDS - 1 - s->announce_left)) * 1000000);
}

/* ---- life cycle ---- */

static void rtl_reset(struct rtl8139 *s, bool power_on)
{
    eventfd_t n;

    /* frames queued at the peer and for us go with what the guest gave, and a kick from before */
    net_client_purge(&s->nc);
    if (s->tppoll_fd >= 0)
        eventfd_read(s->tppoll_fd, &n);
    s->tx_wait = TX_IDLE;
    memcpy(s->idr, s->mac.a, ETH_ALEN);
    memcpy(s->nc.macaddr, s->idr, ETH_ALEN);
    if (power_on) {
        memset(s->mar, 0, sizeof(s->mar));
        s->cr9346 = 0;
        s->config4 = 0;
        s->etthr = 0;
        s->mulint = 0;
        /* the EEPROM's serial interface; its words stay */
        s->ee.mode = EE_IDLE;
        s->ee.tick = s->ee.addr = 0;
        s->ee.in = s->ee.out = 0;
        s->ee.cs = s->ee.sk = s->ee.di = s->ee.dout = 0;
    }
    s->isr = s->imr = 0;
    for (int i = 0; i < 4; i++) {
        s->tsd[i] = RTL_TSD_OWN;
        s->tsad[i] = 0;
    }
    s->cur_tx = 0;
    s->cp_rx_idx = s->cp_tx_idx = 0;
    s->rdsar_lo = s->rdsar_hi = 0;
    s->rbstart = 0;
    s->rcr = 0;
    s->rx_read = s->cbr = 0;
    s->tcr = RTL_TCR_VERSION_CPLUS;
    s->mpc = 0;
    s->clock_on = 1;
    /* QEMU's: RST reads set until the next CR write */
    s->cmd = RTL_CR_RST;
    s->config0 = 0;             /* no boot ROM in the EEPROM's sense */
    s->config1 = 0x0c;          /* I/O and memory mapped registers */
    s->config3 = 0x01;          /* fast back-to-back */
    s->config5 = 0;
    s->cpcr = 0;
    s->cplus = false;
    s->bmcr = 0x1000;           /* autonegotiation */
    s->bmsr = 0x782d & ~RTL_BMSR_LINK;  /* 10/100 half/full, autonegotiation done */
    if (rtl_link_up(s))
        s->bmsr |= RTL_BMSR_LINK;
    s->anar = 0x05e1;
    s->anlpar = 0x05e1;
    s->aner = 0x0001;
    s->cscr = 0x0340;           /* F_LINK_100, HEART_BIT, LD */
    s->timer_int = 0;
    s->tctr_base = clock_get_ns(CLK_VIRTUAL);
    rtl_timer_arm(s);
    memset(&s->tally, 0, sizeof(s->tally));
    s->cp_first = s->cp_ndesc = s->cp_seg = s->cp_len = 0;
    s->cp_ready = s->cp_bad = s->cp_reload = false;
    s->cp_dw1 = 0;
    rtl_update_irq(s);
}

static struct rtl8139 *rtl_of(struct device *dev)
{
    return container_of(dev, struct rtl8139, dev);
}

static void rtl_dev_reset(struct device *dev)
{
    struct rtl8139 *s = rtl_of(dev);

    pci_device_reset(&s->pci);
    rtl_reset(s, true);
}

static void rtl_kick_bh(void *opaque)
{
    struct rtl8139 *s = opaque;

    if (s->cplus)
        tx_cp_run(s);
    else
        tx_c_run(s);
}

/* The device's DMA in flight ends: a kick waiting in the main loop is served now. */
static void rtl_drain(struct device *dev)
{
    tppoll_kicked(rtl_of(dev), 0);
}

/* Undoes tppoll_eventfd_init, whole or as far as it got (each step tolerates an fd it never saw). */
static void tppoll_eventfd_cleanup(struct rtl8139 *s)
{
    if (s->tppoll_fd < 0)
        return;
    loop_del_fd(s->tppoll_fd);
    io_region_del_eventfd(&s->pio, s->tppoll_fd);
    io_region_del_eventfd(&s->mmio, s->tppoll_fd);
    close(s->tppoll_fd);
    s->tppoll_fd = -1;
}

/* TPPOLL's normal queue kick by ioeventfd, through either BAR (the one byte 8139cp writes). */
static int tppoll_eventfd_init(struct rtl8139 *s)
{
    int r;

    s->tppoll_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->tppoll_fd < 0)
        return -errno;
    if ((r = io_region_add_eventfd(&s->pio, RTL_TPPOLL, 1, true, RTL_TPPOLL_NPQ, s->tppoll_fd)) < 0 ||
        (r = io_region_add_eventfd(&s->mmio, RTL_TPPOLL, 1, true, RTL_TPPOLL_NPQ, s->tppoll_fd)) < 0 ||
        (r = loop_add_fd(s->tppoll_fd, EPOLLIN, tppoll_kicked, s)) < 0) {
        tppoll_eventfd_cleanup(s);
        return r;
    }
    return 0;
}

static const struct pci_id rtl_id = {
    .vendor = RTL_VENDOR,
    .device = RTL_DEVICE,
    .revision = RTL_REVISION,
    .class_code = 0x020000,     /* Ethernet controller */
    .subsys_vendor = 0x1af4,    /* QEMU's defaults for emulated functions */
    .subsys = 0x1100,
    .intx_pin = 1,
    .romfile = "efi-rtl8139.rom",   /* iPXE, Debian's ipxe-qemu (/usr/lib/ipxe/qemu), as QEMU's */
};

static int rtl_realize(struct device *dev, char **err)
{
    struct rtl8139 *s = rtl_of(dev);
    int r;

    s->pci.devfn = -1;
    s->tppoll_fd = -1;
    r = pci_device_register(&s->pci, "rtl8139", &rtl_id, -1, NULL, err);
    if (r < 0)
        return r;
    /* QEMU's: the capability pointer says 0xdc while the status register says there is no list */
    s->pci.config[PCI_CAPABILITY_LIST] = 0xdc;
    io_region_init(&s->pio, IO_SPACE_PIO, "rtl8139-io", RTL_REGS_SIZE, &rtl_io_ops, s);
    io_region_init(&s->mmio, IO_SPACE_MMIO, "rtl8139-mmio", RTL_REGS_SIZE, &rtl_io_ops, s);
    pci_register_bar(&s->pci, 0, PCI_BAR_IO, &s->pio);
    pci_register_bar(&s->pci, 1, PCI_BAR_MEM32, &s->mmio);
    r = nic_init(&s->nc, &rtl_net_ops, dev, s->netdev, &s->mac, err);
    if (r < 0) {
        pci_device_unregister(&s->pci);
        return r;
    }
    if (s->ioeventfd && (r = tppoll_eventfd_init(s)) < 0) {
        *err = xasprintf("rtl8139: cannot set up its transmit poll eventfd: %s", strerror(-r));
        nic_cleanup(&s->nc);
        pci_device_unregister(&s->pci);
        return r;
    }
    /* the EEPROM as QEMU fills it: its id, the PCI ids, the MAC address in words 7-9 */
    s->ee.words[0] = 0x8129;
    s->ee.words[1] = RTL_VENDOR;
    s->ee.words[2] = RTL_DEVICE;
    for (int i = 0; i < 3; i++)
        s->ee.words[RTL_EEPROM_MAC + i] = s->mac.a[2 * i] | s->mac.a[2 * i + 1] << 8;
    s->cp_buf = xmalloc(CP_TXBUF_SIZE);
    s->txbuf = xmalloc(MAX(C_TX_MAX, SEG_MAX));
    s->rxpkt = xmalloc(4 + RX_FRAME_MAX + 4);
    s->timer = timer_new(CLK_VIRTUAL, rtl_timer_fire, s);
    s->announce = timer_new(CLK_REALTIME, rtl_announce, s);
    s->kick = bh_new(rtl_kick_bh, s);
    if (s->bootindex >= 0) {
        char path[64];
        int devfn = s->pci.devfn;

        /* QEMU's path: the function, then the PHY that iPXE boots through */
        if (PCI_FUNC(devfn))
            snprintf(path, sizeof(path), "/pci@i0cf8/ethernet@%x,%x/ethernet-phy@0", PCI_SLOT(devfn),
                     PCI_FUNC(devfn));
        else
            snprintf(path, sizeof(path), "/pci@i0cf8/ethernet@%x/ethernet-phy@0", PCI_SLOT(devfn));
        bootdev_add(dev, s->bootindex, path);
    }
    rtl_reset(s, true);
    return 0;
}

static void rtl_unrealize(struct device *dev)
{
    struct rtl8139 *s = rtl_of(dev);

    bootdev_remove(dev);
    tppoll_eventfd_cleanup(s);
    bh_free(s->kick);
    timer_free(s->announce);
    timer_free(s->timer);
    nic_cleanup(&s->nc);
    pci_device_unregister(&s->pci);
    free(s->cp_buf);
    free(s->txbuf);
    free(s->rxpkt);
}

/* ---- state ---- */

static int rtl_post_load(void *opaque, int version)
{
    struct rtl8139 *s = opaque;
    struct rtl_eeprom *e = &s->ee;

    (void)version;
    /* what the registers' write masks and the device itself could never produce */
    if (s->rx_read >= rx_ring_len(s) || s->cbr >= rx_ring_len(s) || (s->cbr & 3) ||
        (s->rcr & 0xf0fc0040u) || (s->tcr & ~0x030f07f0u) != RTL_TCR_VERSION_CPLUS ||
        (s->isr & 0x1e00) || (s->imr & 0x1e00) || (s->cpcr & 0xff84) || (s->cmd & ~0x1cu) ||
        s->mpc > 0xffffff || s->clock_on > 1)
        return -EINVAL;
    /* TCTR's zero was set by a write or a reset: at a time the clock has been through */
    if (s->tctr_base < 0 || s->tctr_base > clock_get_ns(CLK_VIRTUAL))
        return -EINVAL;
    if (e->mode >= EE_MODES || e->tick > 16 || e->addr >= RTL_EEPROM_WORDS || e->cs > 1 || e->sk > 1 ||
        e->di > 1 || e->dout > 1)
        return -EINVAL;
    /* CPCR is only ever written in C+ mode (its first write enters it) */
    if (s->cp_ndesc > RTL_CP_RING_MAX || ((s->cp_ndesc || s->cpcr) && !s->cplus) || (!s->cp_ndesc && s->cp_seg))
        return -EINVAL;
    return 0;
}

static const struct vmstate_field ee_fields[] = {
    VMSTATE_U16_ARRAY(words, struct rtl_eeprom, RTL_EEPROM_WORDS),
    VMSTATE_U8_MAX(mode, struct rtl_eeprom, EE_MODES - 1),
    VMSTATE_U8_MAX(tick, struct rtl_eeprom, 16),
    VMSTATE_U8_MAX(addr, struct rtl_eeprom, RTL_EEPROM_WORDS - 1),
    VMSTATE_U16(in, struct rtl_eeprom),
    VMSTATE_U16(out, struct rtl_eeprom),
    VMSTATE_U8_MAX(cs, struct rtl_eeprom, 1),
    VMSTATE_U8_MAX(sk, struct rtl_eeprom, 1),
    VMSTATE_U8_MAX(di, struct rtl_eeprom, 1),
    VMSTATE_U8_MAX(dout, struct rtl_eeprom, 1),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc ee_vmsd = {
    .name = "eeprom93c46",
    .version = 1,
    .min_version = 1,
    .fields = ee_fields,
};

static const struct vmstate_field tally_fields[] = {
    VMSTATE_U64(tx_ok, struct rtl_tally),
    VMSTATE_U64(rx_ok, struct rtl_tally),
    VMSTATE_U64(tx_err, struct rtl_tally),
    VMSTATE_U32(rx_err, struct rtl_tally),
    VMSTATE_U16(miss_pkt, struct rtl_tally),
    VMSTATE_U16(fae, struct rtl_tally),
    VMSTATE_U32(tx_1col, struct rtl_tally),
    VMSTATE_U32(tx_mcol, struct rtl_tally),
    VMSTATE_U64(rx_ok_phy, struct rtl_tally),
    VMSTATE_U64(rx_ok_brd, struct rtl_tally),
    VMSTATE_U32(rx_ok_mul, struct rtl_tally),
    VMSTATE_U16(tx_abt, struct rtl_tally),
    VMSTATE_U16(tx_undrn, struct rtl_tally),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc tally_vmsd = {
    .name = "tally",
    .version = 1,
    .min_version = 1,
    .fields = tally_fields,
};

static const struct vmstate_field rtl_fields[] = {
    VMSTATE_STRUCT(pci, struct rtl8139, pci_device_vmsd, struct pci_device),
    VMSTATE_U8_ARRAY(idr, struct rtl8139, 6),
    VMSTATE_U8_ARRAY(mar, struct rtl8139, 8),
    VMSTATE_U32_ARRAY(tsd, struct rtl8139, 4),
    VMSTATE_U32_ARRAY(tsad, struct rtl8139, 4),
    VMSTATE_U32(rbstart, struct rtl8139),
    VMSTATE_U32(rx_read, struct rtl8139),
    VMSTATE_U32(cbr, struct rtl8139),
    VMSTATE_U16(isr, struct rtl8139),
    VMSTATE_U16(imr, struct rtl8139),
    VMSTATE_U32(tcr, struct rtl8139),
    VMSTATE_U32(rcr, struct rtl8139),
    VMSTATE_U32(mpc, struct rtl8139),
    VMSTATE_U16(cscr, struct rtl8139),
    VMSTATE_U8(cr9346, struct rtl8139),
    VMSTATE_U8(config0, struct rtl8139),
    VMSTATE_U8(config1, struct rtl8139),
    VMSTATE_U8(config3, struct rtl8139),
    VMSTATE_U8(config4, struct rtl8139),
    VMSTATE_U8(config5, struct rtl8139),
    VMSTATE_U8_MAX(clock_on, struct rtl8139, 1),
    VMSTATE_U8(cmd, struct rtl8139),
    VMSTATE_U16(mulint, struct rtl8139),
    VMSTATE_U16(bmcr, struct rtl8139),
    VMSTATE_U16(bmsr, struct rtl8139),
    VMSTATE_U16(anar, struct rtl8139),
    VMSTATE_U16(anlpar, struct rtl8139),
    VMSTATE_U16(aner, struct rtl8139),
    VMSTATE_U16(cpcr, struct rtl8139),
    VMSTATE_U8(etthr, struct rtl8139),
    VMSTATE_U32(rdsar_lo, struct rtl8139),
    VMSTATE_U32(rdsar_hi, struct rtl8139),
    VMSTATE_BOOL(cplus, struct rtl8139),
    VMSTATE_STRUCT(ee, struct rtl8139, ee_vmsd, struct rtl_eeprom),
    VMSTATE_U32(timer_int, struct rtl8139),
    VMSTATE_I64(tctr_base, struct rtl8139),
    VMSTATE_STRUCT(tally, struct rtl8139, tally_vmsd, struct rtl_tally),
    VMSTATE_U32_MAX(cur_tx, struct rtl8139, 3),
    VMSTATE_U32_MAX(cp_rx_idx, struct rtl8139, RTL_CP_RING_MAX - 1),
    VMSTATE_U32_MAX(cp_tx_idx, struct rtl8139, RTL_CP_RING_MAX - 1),
    /* the C+ frame in flight: where its descriptors start, how many, how many segments went */
    VMSTATE_U32_MAX(cp_first, struct rtl8139, RTL_CP_RING_MAX - 1),
    VMSTATE_U32_MAX(cp_ndesc, struct rtl8139, RTL_CP_RING_MAX),
    VMSTATE_U32_MAX(cp_seg, struct rtl8139, CP_TXBUF_SIZE),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc rtl_vmsd = {
    .name = "rtl8139",
    .version = 1,
    .min_version = 1,
    .fields = rtl_fields,
    .post_load = rtl_post_load,
};

static void rtl_state_loaded(struct device *dev)
{
    struct rtl8139 *s = rtl_of(dev);

    pci_device_state_loaded(&s->pci);
    /* the link as the stream had it (QEMU's), shown with the backend's as it is here */
    s->nc.link_down = !(s->bmsr & RTL_BMSR_LINK);
    s->bmsr = rtl_link_up(s) ? s->bmsr | RTL_BMSR_LINK : s->bmsr & ~RTL_BMSR_LINK;
    /* a frame in flight here is not the stream's: the one in flight there is read again */
    net_client_purge(&s->nc);
    s->tx_wait = TX_IDLE;
    s->cp_reload = true;
    memcpy(s->nc.macaddr, s->idr, ETH_ALEN);
    rtl_update_irq(s);
    rtl_timer_arm(s);
    bh_schedule(s->kick);
    s->announce_left = ANNOUNCE_ROUNDS;
    timer_mod(s->announce, clock_get_ns(CLK_REALTIME));
}

static const struct prop_desc rtl_props[] = {
    DEFINE_PROP("netdev", struct rtl8139, netdev, PROP_NETDEV, NULL, "the backend (-netdev TYPE,id=ID)"),
    DEFINE_PROP("mac", struct rtl8139, mac, PROP_MACADDR, NULL,
                "the MAC address (default: 52:54:00:12:34:56, then :57, ...)"),
    DEFINE_PROP("bootindex", struct rtl8139, bootindex, PROP_BOOTINDEX, NULL, "the firmware's boot order (PXE)"),
    DEFINE_PROP("ioeventfd", struct rtl8139, ioeventfd, PROP_BOOL, "on",
                "C+ transmit polls by ioeventfd: frames go out from the main loop, not the vCPU"),
    DEFINE_PROP_END,
};

static struct device_type rtl8139_type = {
    .name = "rtl8139",
    .desc = "Realtek 8139C+ Ethernet controller",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct rtl8139),
    .props = rtl_props,
    .user_creatable = true,
    .realize = rtl_realize,
    .reset = rtl_dev_reset,
    .drain = rtl_drain,
    .unrealize = rtl_unrealize,
    .vmsd = &rtl_vmsd,
    .state_loaded = rtl_state_loaded,
};
DEVICE_TYPE_REGISTER(rtl8139_type)
