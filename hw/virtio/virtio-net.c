/* virtio-net.c: the virtio network device (virtio 1.2 section 5.1) over a net client: receive and transmit queue pairs, the control queue (receive modes, the MAC and VLAN filters, announce, queue pairs, guest offloads), mergeable receive buffers, the vnet header passed to a tap that has one, and the virtio-net-pci device type */
#define LOG_PREFIX "virtio-net: "
#include "hw/virtio/virtio-net.h"
#include "hw/core/bootdev.h"
#include "hw/core/firmware.h" // firmware_load
#include "hw/core/machine.h" // machine_cfg, run state
#include "hw/virtio/virtio-pci.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/main-loop.h" // timers, bottom halves

#include <linux/if_ether.h> // ETH_ALEN, ETH_HLEN, ETH_P_*
#include <limits.h> // IOV_MAX
#include <linux/if_tun.h> // TUN_F_*: the offloads a tap is told of

/* As QEMU: the MAC filter's entries, the VLAN filter's ids, the control queue's size */
#define VNET_MAC_TABLE_ENTRIES  64
#define VNET_MAX_VLAN           4096
#define VNET_CTRL_QUEUE_SIZE    64
/* Queue pairs: each pair takes two of the device's queues, the control queue one more */
#define VNET_MAX_PAIRS          ((VIRTIO_QUEUE_MAX - 1) / 2)
/* Frames a transmit queue sends in one pass before the main loop runs other work (QEMU's x-txburst) */
#define VNET_TX_BURST           256
/*
 * tx=auto: a pass that sends x-txpoll-min frames (2) starts polling the transmit queue every
 * VNET_TX_POLL_NS instead of asking for kicks, and polling stops after VNET_TX_POLL_IDLE looks
 * in a row found fewer than x-txpoll-stay frames (2). A kick is a VM exit; the guest's frames
 * wait at most a period. A look that finds a lone frame is a quiet one: the ACKs of a download,
 * one a look, do not keep the device polling, where each would wait for the next look.
 */
#define VNET_TX_POLL_NS         250000
#define VNET_TX_POLL_IDLE       4
/* The longest frame a guest may send: an IP packet of 64 KiB (a TSO frame) with two VLAN tags */
#define VNET_MAX_FRAME          (65535 + ETH_HLEN + 8)
/* A frame in more pieces than a writev takes is copied into one buffer first */
#define VNET_MAX_IOV            1024
/* How many bytes of a frame the filters and the flow steering look at */
#define VNET_PEEK               96
#define VNET_FLOWS              256
/* QEMU's announce parameters: 5 rounds, 50 ms apart at first, 100 ms more each round, at most 550 */
#define VNET_ANNOUNCE_ROUNDS    5
#define VNET_ANNOUNCE_FIRST_MS  50
#define VNET_ANNOUNCE_STEP_MS   100
#define VNET_ANNOUNCE_MAX_MS    550

#define VNET_GUEST_OFFLOADS     (VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | \
                                 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | \
                                 VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO))

struct virtio_net;

/* A receiveq and its transmitq (5.1.2: queue 2k and 2k+1) */
struct vnet_pair {
    struct virtio_net *n;
    unsigned index;
    struct virtqueue *rx, *tx;
    struct bh *tx_bh;               /* a burst was not enough: the rest after the main loop ran */
    struct timer *tx_timer;         /* tx=auto's next look, tx=timer's wait */
    bool tx_polling;                /* tx=auto: notifications off, the timer looks instead */
    unsigned tx_idle;               /* passes in a row that found nothing while polling */
};

/* When the transmit queues are looked at (the `tx` property) */
enum vnet_tx_mode {
    TX_AUTO,        /* at a kick; while frames keep coming, every VNET_TX_POLL_NS without kicks */
    TX_BH,          /* at each kick (QEMU's default) */
    TX_TIMER,       /* x-txtimer after a kick (QEMU's tx=timer) */
};

struct virtio_net {
    struct virtio_device vdev;
    struct net_client nc;
    /* properties */
    struct netdev *netdev;
    struct mac_addr conf_mac;
    int32_t bootindex;
    bool mq;
    uint16_t rx_queue_size, tx_queue_size;
    char *tx;
    uint32_t tx_timer_ns;
    uint32_t tx_poll_min;           /* tx=auto: frames a pass sends to start polling (x-txpoll-min) */
    uint32_t tx_poll_stay;          /* and a look while polling, not to count as quiet (x-txpoll-stay) */
    bool f_csum, f_guest_csum, f_guest_tso4, f_guest_tso6, f_guest_ecn, f_guest_ufo;
    bool f_host_tso4, f_host_tso6, f_host_ecn, f_host_ufo, f_mrg_rxbuf, f_status;
    bool f_ctrl_vq, f_ctrl_rx, f_ctrl_vlan, f_ctrl_rx_extra, f_ctrl_mac_addr, f_ctrl_guest_offloads;
    bool f_guest_announce;
    /* set up at realize */
    unsigned max_pairs;
    enum vnet_tx_mode tx_mode;
    bool has_vnet_hdr;              /* the peer takes and gives frames with a vnet header (tap) */
    bool nic_ready, listening;
    struct vnet_pair pairs[VNET_MAX_PAIRS];
    struct virtqueue *ctrl;
    struct timer *announce_timer;
    struct virtq_elem **rx_elems;   /* the buffers one frame is being written into */
    uint32_t *rx_lens;
    struct iovec *rx_gv;            /* a frame read straight in: the pieces of the buffers taken */
    struct iovec *rx_iov;           /* and what it is read into */
    size_t rx_guess;                /* the length the next such frame is taken to have */
    struct iovec *tx_iov;
    uint8_t *tx_bounce;
    /* what the features say (set with them, derived again after a load) */
    bool features_set;
    bool mergeable;
    unsigned guest_hdr_len;         /* the header before each frame in the queues */
    unsigned host_hdr_len;          /* the header before each frame to and from the peer, when it has one */
    /* transmit: the frame the peer queued; nothing more is sent until its sent callback */
    struct virtq_elem *tx_pending;
    struct vnet_pair *tx_pending_pair;
    uint8_t tx_hdr[VIRTIO_NET_HDR_LEN_MRG];
    bool tx_running;
    uint8_t flows[VNET_FLOWS];      /* a flow's transmitq, where its frames are received (5.1.6.5.5) */
    unsigned announce_rounds;
    /* state */
    uint8_t mac[ETH_ALEN];
    uint16_t status;
    uint16_t curr_pairs;
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    uint32_t mac_in_use, mac_first_multi;
    bool uni_overflow, multi_overflow;
    uint8_t macs[VNET_MAC_TABLE_ENTRIES * ETH_ALEN];
    uint32_t vlans[VNET_MAX_VLAN / 32];
    uint64_t curr_guest_offloads;
    bool tx_pending_held;           /* for the state stream: the pending frame's queue and head */
    uint16_t tx_pending_queue, tx_pending_head;
};

struct virtio_net_pci {
    struct virtio_pci_dev base;
    struct virtio_net net;
};

static struct virtio_net *net_of(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_net, vdev);
}

static struct virtio_net *nic_of(struct net_client *nc)
{
    return container_of(nc, struct virtio_net, nc);
}

static bool has_feature(const struct virtio_net *n, unsigned bit)
{
    return virtio_has_feature(&n->vdev, bit);
}

/*
 * A stopped machine's device touches neither the queues nor guest memory (as QEMU's, whose
 * device follows the VM's run state): what a state save took is what the guest had. A machine
 * that has not run yet (-S, or the test accelerator) serves its queues.
 */
static bool vm_stopped(void)
{
    switch (run_state_get()) {
    case RUN_STATE_PAUSED:
    case RUN_STATE_SHUTDOWN:
    case RUN_STATE_INTERNAL_ERROR:
    case RUN_STATE_IO_ERROR:
        return true;
    default:
        return false;
    }
}

static bool vnet_started(struct virtio_net *n)
{
    return (n->vdev.status & VIRTIO_STATUS_DRIVER_OK) && !__atomic_load_n(&n->vdev.broken, __ATOMIC_ACQUIRE) &&
           !vm_stopped();
}

/*
 * The link the driver sees is the NIC's own, as QEMU's: set_link on the NIC or on its backend
 * sets it (net_set_link carries a backend's to its NIC). A backend's own state (a socket that
 * listens with no peer yet) is not the guest's carrier: the backend does not announce it.
 */
static bool link_up(struct virtio_net *n)
{
    return !n->nc.link_down;
}

/* The driver's address is the NIC's: info network shows it (QEMU's qemu_format_nic_info_str). */
static void set_mac(struct virtio_net *n, const uint8_t *mac)
{
    memcpy(n->mac, mac, ETH_ALEN);
    memcpy(n->nc.macaddr, mac, ETH_ALEN);
}

/* ---- the peer's vnet header and offloads ---- */

static unsigned tun_offloads(uint64_t offloads)
{
    unsigned f = 0;

    /* as a tap takes them: segmentation only with checksums */
    if (!(offloads & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
        return 0;
    f |= TUN_F_CSUM;
    if (offloads & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
        f |= TUN_F_TSO4;
    if (offloads & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
        f |= TUN_F_TSO6;
    if ((f & (TUN_F_TSO4 | TUN_F_TSO6)) && (offloads & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)))
        f |= TUN_F_TSO_ECN;
    if (offloads & VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO))
        f |= TUN_F_UFO;
    return f;
}

/* Tell the peer the header length and the offloads the driver takes (a tap's TUNSETVNETHDRSZ, TUNSETOFFLOAD). */
static void peer_setup(struct virtio_net *n)
{
    struct net_client *peer = n->nc.peer;
    unsigned old = n->host_hdr_len;

    n->host_hdr_len = VIRTIO_NET_HDR_LEN_LEGACY;
    if (!n->has_vnet_hdr || !peer)
        return;
    if (peer->ops->set_vnet_hdr_len) {
        if (peer->ops->set_vnet_hdr_len(peer, n->guest_hdr_len) == 0)
            n->host_hdr_len = n->guest_hdr_len;
        else
            peer->ops->set_vnet_hdr_len(peer, VIRTIO_NET_HDR_LEN_LEGACY);
    }
    /* frames queued either way carry a header of the old length: they go (as at a reset) */
    if (n->host_hdr_len != old && n->nic_ready)
        net_client_purge(&n->nc);
    if (peer->ops->set_offload)
        peer->ops->set_offload(peer, tun_offloads(n->curr_guest_offloads));
}

/* What the driver's features say: the header's length, mergeable buffers, the peer's offloads. */
static void derive_features(struct virtio_net *n)
{
    uint64_t f = n->vdev.guest_features;

    n->mergeable = f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    n->guest_hdr_len = n->mergeable || (f & VIRTIO_BIT(VIRTIO_F_VERSION_1)) ? VIRTIO_NET_HDR_LEN_MRG
                                                                            : VIRTIO_NET_HDR_LEN_LEGACY;
    peer_setup(n);
}

/* The driver's features take effect: the first time since a reset, the filters start from them. */
static void apply_features(struct virtio_net *n)
{
    uint64_t f = n->vdev.guest_features;

    if (!n->features_set) {
        n->features_set = true;
        /* without CTRL_VLAN there is no VLAN filter: every id passes (as QEMU) */
        memset(n->vlans, f & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VLAN) ? 0 : 0xff, sizeof(n->vlans));
        n->curr_guest_offloads = f & VNET_GUEST_OFFLOADS;
    }
    derive_features(n);
}

/* ---- receive ---- */

/* Whether a frame (its first VNET_PEEK bytes, zero-padded) passes the filters (5.1.6.5.1-3), as QEMU orders them. */
static bool mac_listed(const struct virtio_net *n, const uint8_t *mac, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++)
        if (!memcmp(mac, n->macs + i * ETH_ALEN, ETH_ALEN))
            return true;
    return false;
}

static bool rx_filter(const struct virtio_net *n, const uint8_t *f)
{
    static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    if (n->promisc)
        return true;
    if (lduw_be(f + 12) == ETH_P_8021Q) {
        unsigned vid = lduw_be(f + 14) & 0xfff;

        if (!(n->vlans[vid / 32] & (1u << (vid % 32))))
            return false;
    }
    if (f[0] & 1) {
        if (!memcmp(f, bcast, ETH_ALEN))
            return !n->nobcast;
        if (n->nomulti)
            return false;
        if (n->allmulti || n->multi_overflow)
            return true;
        return mac_listed(n, f, n->mac_first_multi, n->mac_in_use);
    }
    if (n->nouni)
        return false;
    if (n->alluni || n->uni_overflow || !memcmp(f, n->mac, ETH_ALEN))
        return true;
    return mac_listed(n, f, 0, n->mac_first_multi);
}

/* A flow's hash, the same both ways (addresses and ports combined symmetrically), for steering. */
static unsigned flow_hash(const uint8_t *f, size_t len)
{
    size_t l3 = ETH_HLEN;
    uint16_t type = lduw_be(f + 12);
    uint32_t h;
    uint8_t proto;

    if (type == ETH_P_8021Q) {
        type = lduw_be(f + 16);
        l3 += 4;
    }
    if (type == ETH_P_IP && len >= l3 + 20) {
        unsigned ihl = (f[l3] & 15) * 4;

        proto = f[l3 + 9];
        h = ldl_be(f + l3 + 12) ^ ldl_be(f + l3 + 16) ^ proto;
        /* ports only in a first fragment's header */
        if ((proto == 6 || proto == 17) && ihl >= 20 && !(lduw_be(f + l3 + 6) & 0x1fff) && len >= l3 + ihl + 4)
            h ^= lduw_be(f + l3 + ihl) ^ lduw_be(f + l3 + ihl + 2);
    } else if (type == ETH_P_IPV6 && len >= l3 + 40) {
        proto = f[l3 + 6];
        h = proto;
        for (size_t k = 8; k < 40; k += 4)
            h ^= ldl_be(f + l3 + k);
        if ((proto == 6 || proto == 17) && len >= l3 + 44)
            h ^= lduw_be(f + l3 + 40) ^ lduw_be(f + l3 + 42);
    } else {
        return 0;
    }
    return (h * 0x9e3779b1u) >> 24;
}

/* Copy len bytes from src at soff into dst at doff. */
static void iov_copy(const struct iovec *dst, unsigned dn, size_t doff, const struct iovec *src, unsigned sn,
                     size_t soff, size_t len)
{
    for (unsigned i = 0; i < sn && len; i++) {
        size_t k, w;

        if (soff >= src[i].iov_len) {
            soff -= src[i].iov_len;
            continue;
        }
        k = MIN(src[i].iov_len - soff, len);
        w = iov_from_buf(dst, dn, doff, (uint8_t *)src[i].iov_base + soff, k);
        if (w < k)
            return;
        doff += k;
        len -= k;
        soff = 0;
    }
}

enum rx_result { RX_DONE, RX_NO_ROOM, RX_TOO_BIG, RX_BROKEN };

/* Give back the buffers rx_elems[first..count) took from vq, the last first (the next pop takes them again). */
static void rx_unpop(struct virtio_net *n, struct virtqueue *vq, unsigned first, unsigned count)
{
    while (count-- > first) {
        virtqueue_unpop(vq, n->rx_elems[count]);
        free(n->rx_elems[count]);
    }
}

/* 5.1.6.3.1: with MRG_RXBUF each buffer holds at least a header; without, the first one does. */
static bool rx_buffer_ok(struct virtio_net *n, struct virtqueue *vq, const struct virtq_elem *e)
{
    if (e->in_len >= n->guest_hdr_len)
        return true;
    virtio_error(&n->vdev, "receive queue %u: a buffer of %zu device-writable bytes, for a %u-byte header",
                 vq->index, e->in_len, n->guest_hdr_len);
    return false;
}

/*
 * A frame fills rx_elems[0..count) (rx_lens bytes each): its header vhdr, num_buffers set, goes
 * first, and the buffers go to the driver, with no kicks asked for until they run out.
 */
static void rx_complete(struct virtio_net *n, struct virtqueue *vq, uint8_t *vhdr, unsigned count)
{
    if (n->guest_hdr_len >= VIRTIO_NET_HDR_LEN_MRG)
        /* 5.1.6.4.1: how many buffers the frame took (1 without MRG_RXBUF) */
        stw_le(vhdr + VIRTIO_NET_HDR_NUM_BUFFERS, count);
    iov_from_buf(n->rx_elems[0]->in_sg, n->rx_elems[0]->in_num, 0, vhdr, n->guest_hdr_len);
    for (unsigned i = 0; i < count; i++) {
        virtqueue_fill(vq, n->rx_elems[i], n->rx_lens[i], i);
        free(n->rx_elems[i]);
    }
    virtqueue_flush(vq, count);
    virtio_queue_set_notification(vq, false);
    virtio_notify(&n->vdev, vq);
}

/*
 * Write a frame (its header vhdr, then len bytes of iov from off) into the driver's buffers
 * (5.1.6.4): one buffer that holds it all, or with MRG_RXBUF as many as it takes, each filled
 * before the next, num_buffers saying how many. Buffers taken for a frame that does not fit go
 * back to the ring unused.
 */
static enum rx_result rx_fill(struct virtio_net *n, struct virtqueue *vq, uint8_t *vhdr,
                              const struct iovec *iov, unsigned niov, size_t off, size_t len)
{
    unsigned hl = n->guest_hdr_len, count = 0;
    enum rx_result res;
    size_t done = 0;

    while (!count || done < len) {
        struct virtq_elem *e;
        size_t at = count ? 0 : hl, take;

        if (!n->mergeable && count) {
            res = RX_TOO_BIG;
            goto unwind;
        }
        e = virtqueue_pop(vq, sizeof(*e));
        if (!e) {
            if (__atomic_load_n(&n->vdev.broken, __ATOMIC_ACQUIRE))
                res = RX_BROKEN;
            else
                /* the whole ring is not enough: the frame can never be taken */
                res = count >= vq->num ? RX_TOO_BIG : RX_NO_ROOM;
            goto unwind;
        }
        if (!rx_buffer_ok(n, vq, e)) {
            free(e);
            res = RX_BROKEN;
            goto unwind;
        }
        if (!n->mergeable && e->in_len - hl < len) {
            n->rx_elems[count++] = e;
            res = RX_TOO_BIG;
            goto unwind;
        }
        take = MIN(e->in_len - at, len - done);
        iov_copy(e->in_sg, e->in_num, at, iov, niov, off + done, take);
        n->rx_elems[count] = e;
        n->rx_lens[count] = at + take;
        done += take;
        count++;
    }
    rx_complete(n, vq, vhdr, count);
    return RX_DONE;

unwind:
    rx_unpop(n, vq, 0, count);
    return res;
}

/* Where a frame goes: its flow's queue pair (the one the flow was last sent from), or the first. */
static struct vnet_pair *rx_pair(struct virtio_net *n, const uint8_t *f, size_t len)
{
    unsigned q;

    if (n->curr_pairs <= 1)
        return &n->pairs[0];
    q = n->flows[flow_hash(f, len)];
    return &n->pairs[q < n->curr_pairs ? q : 0];
}

/* Whether the receive queue has a buffer; if not, ask for a kick when it gets one. */
static bool rx_has_buffers(struct virtqueue *vq)
{
    if (!virtio_queue_ready(vq))
        return false;
    if (!virtqueue_empty(vq))
        return true;
    virtio_queue_set_notification(vq, true);
    /* a buffer the driver added before it could see that a kick was wanted */
    return !virtqueue_empty(vq);
}

/*
 * The backend's header (a tap's, our copy), checked against what the driver takes now (5.1.6.4.1):
 * a partial checksum needs GUEST_CSUM and must lie inside the frame, segmentation needs the
 * GUEST_TSO4/TSO6/UFO (and GUEST_ECN) the driver turned on. The tap is told those offloads, so
 * a header that claims others is a backend's bug: the driver would take the frame for what it
 * is not, and the frame is dropped. Without GUEST_CSUM, DATA_VALID is not the driver's to see.
 */
static const char *rx_hdr_bad(struct virtio_net *n, uint8_t *h, size_t len)
{
    uint64_t ok = n->curr_guest_offloads;
    uint8_t flags = h[VIRTIO_NET_HDR_FLAGS], gso = h[VIRTIO_NET_HDR_GSO_TYPE];
    unsigned need;

    if (!(ok & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
        flags &= ~VIRTIO_NET_HDR_F_DATA_VALID;
    flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
    h[VIRTIO_NET_HDR_FLAGS] = flags;
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!(ok & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
            return "a partial checksum the driver does not take";
        if ((uint32_t)lduw_le(h + VIRTIO_NET_HDR_CSUM_START) + lduw_le(h + VIRTIO_NET_HDR_CSUM_OFFSET) + 2 > len)
            return "a checksum past the frame's end";
    }
    switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
    case VIRTIO_NET_HDR_GSO_NONE:
        if (gso)
            return "ECN without segmentation";
        return NULL;
    case VIRTIO_NET_HDR_GSO_TCPV4: need = VIRTIO_NET_F_GUEST_TSO4; break;
    case VIRTIO_NET_HDR_GSO_TCPV6: need = VIRTIO_NET_F_GUEST_TSO6; break;
    case VIRTIO_NET_HDR_GSO_UDP: need = VIRTIO_NET_F_GUEST_UFO; break;
    default: return "an unknown segmentation type";
    }
    if (!(ok & VIRTIO_BIT(need)))
        return "segmentation the driver does not take";
    if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !(ok & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)))
        return "ECN segmentation the driver does not take";
    return NULL;
}

/*
 * The peer's header (hdr_in bytes at hin) into vhdr, checked (rx_hdr_bad): false, with a
 * rate-limited line, for one that claims what the driver does not take.
 */
static bool rx_hdr_take(struct virtio_net *n, uint8_t *vhdr, const uint8_t *hin, size_t hdr_in, size_t len)
{
    static struct ratelimit rl;
    const char *bad;

    memcpy(vhdr, hin, MIN(hdr_in, (size_t)VIRTIO_NET_HDR_LEN_LEGACY));
    if (!(bad = rx_hdr_bad(n, vhdr, len)))
        return true;
    if (ratelimit_ok(&rl))
        log_warn("a frame from %s whose header has %s: dropped", n->nc.peer ? n->nc.peer->name : "its backend", bad);
    return false;
}

static bool vnet_can_receive(struct net_client *nc)
{
    struct virtio_net *n = nic_of(nc);

    if (!vnet_started(n))
        return false;
    for (unsigned i = 0; i < n->curr_pairs; i++)
        if (!rx_has_buffers(n->pairs[i].rx))
            return false;
    return true;
}

static ssize_t vnet_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct virtio_net *n = nic_of(nc);
    size_t size = iov_size(iov, niov), hdr_in = flags & NET_FRAME_VNET_HDR ? n->host_hdr_len : 0, len;
    uint8_t vhdr[VIRTIO_NET_HDR_LEN_MRG] = { 0 }, hin[VIRTIO_NET_HDR_LEN_MRG], peek[VNET_PEEK] = { 0 };
    struct vnet_pair *p;
    bool armed = false;

    if (!vnet_started(n))
        return 0;
    if (size < hdr_in + ETH_HLEN)
        return -EINVAL;         /* a runt: not an Ethernet frame */
    len = size - hdr_in;
    /* the peer's header says what the frame's checksum and segments are; num_buffers is ours */
    if (hdr_in) {
        iov_to_buf(iov, niov, 0, hin, MIN(hdr_in, sizeof(hin)));
        if (!rx_hdr_take(n, vhdr, hin, hdr_in, len))
            return -EINVAL;
    }
    iov_to_buf(iov, niov, hdr_in, peek, sizeof(peek));
    if (!rx_filter(n, peek))
        return size;
    p = rx_pair(n, peek, MIN(len, sizeof(peek)));
    for (;;) {
        switch (rx_fill(n, p->rx, vhdr, iov, niov, hdr_in, len)) {
        case RX_DONE:
            return size;
        case RX_TOO_BIG:
            log_guest_error("receive queue %u: a frame of %zu bytes does not fit the driver's buffers: dropped",
                            p->rx->index, len);
            return -EMSGSIZE;
        case RX_BROKEN:
            return -EIO;
        case RX_NO_ROOM:
            if (armed)
                return 0;       /* queued by the core until the driver kicks the queue */
            virtio_queue_set_notification(p->rx, true);
            armed = true;
            break;
        }
    }
}

/*
 * Take receive buffers until they hold `want` bytes (with MRG_RXBUF; one without), after the
 * *count already taken, their pieces added to n->rx_gv: the bytes they hold, or 0 when the
 * driver broke the rules (virtio_error; none of them is kept).
 */
static size_t rx_take(struct virtio_net *n, struct virtqueue *vq, unsigned *count, unsigned *gn, size_t cap,
                      size_t want)
{
    while (cap < want && (!*count || n->mergeable) && *count < vq->num) {
        struct virtq_elem *e = virtqueue_pop(vq, sizeof(*e));

        if (!e)
            break;
        if (!rx_buffer_ok(n, vq, e)) {
            free(e);
            rx_unpop(n, vq, 0, *count);
            *count = 0;
            return 0;
        }
        if (*gn + e->in_num > VNET_MAX_IOV) {
            virtqueue_unpop(vq, e);
            free(e);
            break;
        }
        memcpy(n->rx_gv + *gn, e->in_sg, e->in_num * sizeof(*e->in_sg));
        *gn += e->in_num;
        n->rx_elems[(*count)++] = e;
        cap += e->in_len;
    }
    return cap;
}

/*
 * A frame read straight into the driver's buffers (net_read_direct): buffers for the length
 * frames have had lately are taken first, and the frame is read into them after its header and
 * first VNET_PEEK bytes, which are read into our own memory: the header and the filters are
 * checked on our copy, which is what the driver then gets (a driver can change its buffers
 * while we look). What does not fit lands in the backend's buffer and is copied into more of
 * the driver's buffers; when there are none, the frame is put together in that buffer and takes
 * the usual way (vnet_receive, from the core's queue).
 */
static ssize_t vnet_receive_direct(struct net_client *nc, struct net_reader *rd)
{
    struct virtio_net *n = nic_of(nc);
    struct vnet_pair *p = &n->pairs[0];
    size_t hdr_in = rd->flags & NET_FRAME_VNET_HDR ? n->host_hdr_len : 0, hl = n->guest_hdr_len;
    uint8_t hin[VIRTIO_NET_HDR_LEN_MRG], vhdr[VIRTIO_NET_HDR_LEN_MRG] = { 0 }, peek[VNET_PEEK] = { 0 };
    size_t cap, glen, spill, size, len, at;
    unsigned count = 0, gn = 0, vn = 0, used;
    struct iovec *v = n->rx_iov;

    if (!vnet_started(n) || n->curr_pairs > 1 || hdr_in > sizeof(hin))
        return net_read_plain(rd);
    cap = rx_take(n, p->rx, &count, &gn, 0, hl + MIN(n->rx_guess, (size_t)NET_FRAME_MAX));
    if (!count)
        return net_read_plain(rd);
    /* [header][first VNET_PEEK bytes] ours, then the buffers after their header's room, then rd->buf */
    if (hdr_in)
        v[vn++] = (struct iovec){ hin, hdr_in };
    v[vn++] = (struct iovec){ peek, VNET_PEEK };
    glen = cap > hl + VNET_PEEK ? MIN(cap - hl - VNET_PEEK, NET_FRAME_MAX - hdr_in - VNET_PEEK) : 0;
    if (glen) {
        /* (readv takes IOV_MAX pieces at most: the slice may end short of glen) */
        unsigned k = iov_slice(v + vn, IOV_MAX - 3, n->rx_gv, gn, hl + VNET_PEEK, glen);

        glen = iov_size(v + vn, k);
        vn += k;
    }
    if (hdr_in + VNET_PEEK + glen < NET_FRAME_MAX)
        v[vn++] = (struct iovec){ rd->buf, NET_FRAME_MAX - hdr_in - VNET_PEEK - glen };
    rd->got = rd->readv(rd, v, vn);
    if (rd->got <= 0) {
        rx_unpop(n, p->rx, 0, count);
        return 0;
    }
    size = rd->got;
    if (size < hdr_in + ETH_HLEN) {
        rx_unpop(n, p->rx, 0, count);
        return -EINVAL;         /* a runt: not an Ethernet frame */
    }
    len = size - hdr_in;
    if (hdr_in && !rx_hdr_take(n, vhdr, hin, hdr_in, len)) {
        rx_unpop(n, p->rx, 0, count);
        return -EINVAL;
    }
    if (!rx_filter(n, peek)) {
        rx_unpop(n, p->rx, 0, count);
        return size;
    }
    n->rx_guess = len > n->rx_guess ? len : n->rx_guess - (n->rx_guess - len) / 8;
    /* what came past the buffers taken (in rd->buf) wants more of them */
    spill = len > VNET_PEEK + glen ? len - VNET_PEEK - glen : 0;
    if (spill)
        cap = rx_take(n, p->rx, &count, &gn, cap, hl + len);
    if (!count)
        return -EIO;            /* the driver broke the rules */
    if (cap < hl + len) {
        /* no room for it all now: the frame, whole in rd->buf, goes the usual way */
        memmove(rd->buf + hdr_in + VNET_PEEK + glen, rd->buf, spill);
        memcpy(rd->buf, hin, hdr_in);
        memcpy(rd->buf + hdr_in, peek, MIN(len, (size_t)VNET_PEEK));
        if (len > VNET_PEEK)
            iov_to_buf(n->rx_gv, gn, hl + VNET_PEEK, rd->buf + hdr_in + VNET_PEEK, MIN(glen, len - VNET_PEEK));
        rx_unpop(n, p->rx, 0, count);
        rd->left = size;
        return 0;
    }
    iov_from_buf(n->rx_gv, gn, hl, peek, MIN(len, (size_t)VNET_PEEK));
    iov_from_buf(n->rx_gv, gn, hl + VNET_PEEK + glen, rd->buf, spill);
    /* the buffers the frame filled; the rest go back */
    for (used = 0, at = 0; at < hl + len; used++) {
        n->rx_lens[used] = MIN(n->rx_elems[used]->in_len, hl + len - at);
        at += n->rx_lens[used];
    }
    rx_unpop(n, p->rx, used, count);
    rx_complete(n, p->rx, vhdr, used);
    return size;
}

static void handle_rx(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_net *n = net_of(vdev);

    /* new buffers: what the core queued for us can come in */
    if (vnet_started(n)) {
        virtio_queue_set_notification(vq, false);
        net_client_flush(&n->nc);
    }
}

/* ---- transmit ---- */

/*
 * A header from the driver (our copy of it), checked against what was negotiated and the
 * frame it comes with (5.1.6.2): a header that claims an offload the device does not do for
 * this driver, or points past its frame, is a lie, and the frame is dropped.
 */
static const char *tx_hdr_bad(struct virtio_net *n, uint8_t *h, size_t len)
{
    uint8_t flags = h[VIRTIO_NET_HDR_FLAGS], gso = h[VIRTIO_NET_HDR_GSO_TYPE];
    uint16_t hdr_len = lduw_le(h + VIRTIO_NET_HDR_HDR_LEN), gso_size = lduw_le(h + VIRTIO_NET_HDR_GSO_SIZE);
    uint16_t start = lduw_le(h + VIRTIO_NET_HDR_CSUM_START), offset = lduw_le(h + VIRTIO_NET_HDR_CSUM_OFFSET);
    unsigned need;

    /* 5.1.6.2.1: the driver does not set DATA_VALID or RSC_INFO on transmit; ignored */
    flags &= ~(VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO);
    h[VIRTIO_NET_HDR_FLAGS] = flags;
    if (n->guest_hdr_len >= VIRTIO_NET_HDR_LEN_MRG)
        stw_le(h + VIRTIO_NET_HDR_NUM_BUFFERS, 0);
    if (flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return "unknown flags";
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!has_feature(n, VIRTIO_NET_F_CSUM))
            return "a partial checksum without CSUM";
        if ((uint32_t)start + offset + 2 > len)
            return "a checksum past the frame's end";
    }
    switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
    case VIRTIO_NET_HDR_GSO_NONE:
        if (gso & VIRTIO_NET_HDR_GSO_ECN)
            return "ECN without segmentation";
        return NULL;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        need = VIRTIO_NET_F_HOST_TSO4;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        need = VIRTIO_NET_F_HOST_TSO6;
        break;
    case VIRTIO_NET_HDR_GSO_UDP:
        need = VIRTIO_NET_F_HOST_UFO;
        break;
    default:
        return "an unknown segmentation type";
    }
    if (!has_feature(n, need))
        return "segmentation that was not negotiated";
    if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !has_feature(n, VIRTIO_NET_F_HOST_ECN))
        return "ECN segmentation that was not negotiated";
    if (!gso_size)
        return "segmentation into segments of 0 bytes";
    if (hdr_len > len)
        return "headers longer than the frame";
    return NULL;
}

enum tx_result { TX_DONE, TX_QUEUED, TX_BROKEN };

static void vnet_tx_sent(struct net_client *nc, ssize_t ret);

/* Send one request's frame. */
static enum tx_result tx_one(struct virtio_net *n, struct vnet_pair *p, struct virtq_elem *e)
{
    unsigned hl = n->guest_hdr_len, niov = 0, flags = 0, got;
    struct iovec *iov = n->tx_iov;
    const char *bad;
    size_t len;
    ssize_t r;

    /* 5.1.6.2: the header, then the frame; a request shorter than a header breaks the ring's rules */
    if (e->out_len < hl) {
        virtio_error(&n->vdev, "transmit queue %u: a request of %zu bytes, shorter than its %u-byte header",
                     p->tx->index, e->out_len, hl);
        return TX_BROKEN;
    }
    len = e->out_len - hl;
    memset(n->tx_hdr, 0, sizeof(n->tx_hdr));
    iov_to_buf(e->out_sg, e->out_num, 0, n->tx_hdr, hl);
    if (len < ETH_HLEN || len > VNET_MAX_FRAME) {
        log_guest_error("transmit queue %u: a frame of %zu bytes: dropped", p->tx->index, len);
        return TX_DONE;
    }
    if ((bad = tx_hdr_bad(n, n->tx_hdr, len))) {
        log_guest_error("transmit queue %u: a header with %s: the frame is dropped", p->tx->index, bad);
        return TX_DONE;
    }
    if (n->has_vnet_hdr) {
        /* our checked copy, in the length the peer was told */
        iov[niov++] = (struct iovec){ .iov_base = n->tx_hdr, .iov_len = n->host_hdr_len };
        flags = NET_FRAME_VNET_HDR;
    }
    got = iov_slice(iov + niov, VNET_MAX_IOV, e->out_sg, e->out_num, hl, len);
    if (iov_size(iov + niov, got) < len) {
        /* more pieces than a writev takes */
        iov_to_buf(e->out_sg, e->out_num, hl, n->tx_bounce, len);
        iov[niov] = (struct iovec){ .iov_base = n->tx_bounce, .iov_len = len };
        got = 1;
    }
    if (n->curr_pairs > 1) {
        uint8_t peek[VNET_PEEK] = { 0 };
        size_t k = iov_to_buf(e->out_sg, e->out_num, hl, peek, sizeof(peek));

        n->flows[flow_hash(peek, k)] = p->index;
    }
    r = net_send(&n->nc, iov, niov + got, flags, vnet_tx_sent);
    if (r == 0)
        return TX_QUEUED;
    return TX_DONE;
}

/* Send what a transmit queue holds, a burst at most: the requests done, or -EBUSY while the peer holds one. */
static int tx_flush(struct vnet_pair *p)
{
    struct virtio_net *n = p->n;
    int count = 0;

    while (count < VNET_TX_BURST) {
        struct virtq_elem *e = virtqueue_pop(p->tx, sizeof(*e));

        if (!e)
            break;
        switch (tx_one(n, p, e)) {
        case TX_QUEUED:
            n->tx_pending = e;
            n->tx_pending_pair = p;
            if (count)
                virtio_notify(&n->vdev, p->tx);
            return -EBUSY;
        case TX_BROKEN:
            free(e);
            if (count)
                virtio_notify(&n->vdev, p->tx);
            return count;
        case TX_DONE:
            /* a transmit buffer's used length is 0: the device wrote nothing (as QEMU) */
            virtqueue_push(p->tx, e, 0);
            free(e);
            count++;
            break;
        }
    }
    if (count)
        virtio_notify(&n->vdev, p->tx);
    return count;
}

/* tx=auto, after a pass that sent `sent` frames: whether to look again in a period rather than ask for a kick. */
static bool tx_poll_again(struct vnet_pair *p, int sent)
{
    if (p->n->tx_mode != TX_AUTO)
        return false;
    if ((uint32_t)sent >= p->n->tx_poll_min || (p->tx_polling && (uint32_t)sent >= p->n->tx_poll_stay)) {
        p->tx_idle = 0;
        return true;
    }
    return p->tx_polling && ++p->tx_idle < VNET_TX_POLL_IDLE;
}

static void tx_run(struct vnet_pair *p)
{
    struct virtio_net *n = p->n;
    int r;

    if (n->tx_pending || n->tx_running || !vnet_started(n) || !virtio_queue_ready(p->tx))
        return;
    n->tx_running = true;
    virtio_queue_set_notification(p->tx, false);
    r = tx_flush(p);
    if (r == -EBUSY) {
        /* the sent callback goes on; no kicks meanwhile */
    } else if (r >= VNET_TX_BURST) {
        bh_schedule(p->tx_bh);
    } else if (tx_poll_again(p, r)) {
        /* the driver adds frames without kicking: the avail_event it sees stays behind */
        p->tx_polling = true;
        timer_mod(p->tx_timer, clock_get_ns(CLK_VIRTUAL) + VNET_TX_POLL_NS);
    } else {
        p->tx_polling = false;
        virtio_queue_set_notification(p->tx, true);
        /* a frame the driver added before it could see that a kick was wanted */
        if (!virtqueue_empty(p->tx)) {
            virtio_queue_set_notification(p->tx, false);
            bh_schedule(p->tx_bh);
        }
    }
    n->tx_running = false;
}

/* The bottom half's and the timer's: look at the pair's transmit queue again */
static void tx_again(void *opaque)
{
    tx_run(opaque);
}

static void tx_run_all(struct virtio_net *n, unsigned first)
{
    for (unsigned i = 0; i < n->max_pairs && !n->tx_pending; i++)
        tx_run(&n->pairs[(first + i) % n->max_pairs]);
}

/* The peer took the frame it had queued (or dropped it): the request is done, and sending goes on. */
static void vnet_tx_sent(struct net_client *nc, ssize_t ret)
{
    struct virtio_net *n = nic_of(nc);
    struct virtq_elem *e = n->tx_pending;
    struct vnet_pair *p = n->tx_pending_pair;

    (void)ret;
    if (!e)
        return;
    n->tx_pending = NULL;
    n->tx_pending_pair = NULL;
    virtqueue_push(p->tx, e, 0);
    virtio_notify(&n->vdev, p->tx);
    free(e);
    tx_run_all(n, p->index);
}

static void handle_tx(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_net *n = net_of(vdev);
    struct vnet_pair *p = &n->pairs[vq->index / 2];

    /* tx=timer: the kick's frames wait, and those the driver adds meanwhile join them (a kick while waiting sends now) */
    if (n->tx_mode == TX_TIMER && !timer_pending(p->tx_timer) && vnet_started(n)) {
        virtio_queue_set_notification(vq, false);
        timer_mod(p->tx_timer, clock_get_ns(CLK_VIRTUAL) + n->tx_timer_ns);
        return;
    }
    timer_del(p->tx_timer);
    tx_run(p);
}

/* ---- the control queue (5.1.6.5) ---- */

/* Read len bytes of a command's data at off; whether they were there. */
static bool ctrl_data(const struct virtq_elem *e, size_t off, void *buf, size_t len)
{
    return iov_to_buf(e->out_sg, e->out_num, 2 + off, buf, len) == len;
}

static uint8_t ctrl_rx(struct virtio_net *n, uint8_t cmd, const struct virtq_elem *e)
{
    uint8_t on;
    bool *mode;

    if (!has_feature(n, VIRTIO_NET_F_CTRL_RX) ||
        (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI && !has_feature(n, VIRTIO_NET_F_CTRL_RX_EXTRA)) ||
        !ctrl_data(e, 0, &on, 1))
        return VIRTIO_NET_ERR;
    switch (cmd) {
    case VIRTIO_NET_CTRL_RX_PROMISC: mode = &n->promisc; break;
    case VIRTIO_NET_CTRL_RX_ALLMULTI: mode = &n->allmulti; break;
    case VIRTIO_NET_CTRL_RX_ALLUNI: mode = &n->alluni; break;
    case VIRTIO_NET_CTRL_RX_NOMULTI: mode = &n->nomulti; break;
    case VIRTIO_NET_CTRL_RX_NOUNI: mode = &n->nouni; break;
    case VIRTIO_NET_CTRL_RX_NOBCAST: mode = &n->nobcast; break;
    default: return VIRTIO_NET_ERR;
    }
    *mode = on != 0;
    return VIRTIO_NET_OK;
}

/*
 * MAC_TABLE_SET (5.1.6.5.2): two tables, unicast then multicast, each a le32 count and that
 * many addresses. A table that does not fit the 64 entries turns its kind of filtering off
 * (every address of it passes), as QEMU. A command that is shorter than it says changes nothing.
 */
static uint8_t ctrl_mac_table(struct virtio_net *n, const struct virtq_elem *e, size_t dlen)
{
    uint8_t macs[VNET_MAC_TABLE_ENTRIES * ETH_ALEN];
    uint32_t in_use = 0, first_multi = 0, entries;
    bool overflow[2] = { false, false };
    size_t off = 0;

    for (int multi = 0; multi < 2; multi++) {
        uint8_t raw[4];

        if (dlen - off < 4 || !ctrl_data(e, off, raw, 4))
            return VIRTIO_NET_ERR;
        entries = ldl_le(raw);
        off += 4;
        if ((uint64_t)entries * ETH_ALEN > dlen - off)
            return VIRTIO_NET_ERR;
        if (entries <= VNET_MAC_TABLE_ENTRIES - in_use) {
            if (!ctrl_data(e, off, macs + in_use * ETH_ALEN, entries * ETH_ALEN))
                return VIRTIO_NET_ERR;
            in_use += entries;
        } else {
            overflow[multi] = true;
        }
        off += (size_t)entries * ETH_ALEN;
        if (!multi)
            first_multi = in_use;
    }
    memcpy(n->macs, macs, in_use * ETH_ALEN);
    n->mac_in_use = in_use;
    n->mac_first_multi = first_multi;
    n->uni_overflow = overflow[0];
    n->multi_overflow = overflow[1];
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mac(struct virtio_net *n, uint8_t cmd, const struct virtq_elem *e, size_t dlen)
{
    switch (cmd) {
    case VIRTIO_NET_CTRL_MAC_TABLE_SET:
        if (!has_feature(n, VIRTIO_NET_F_CTRL_RX))
            return VIRTIO_NET_ERR;
        return ctrl_mac_table(n, e, dlen);
    case VIRTIO_NET_CTRL_MAC_ADDR_SET: {
        uint8_t mac[ETH_ALEN];

        if (!has_feature(n, VIRTIO_NET_F_CTRL_MAC_ADDR) || dlen != ETH_ALEN || !ctrl_data(e, 0, mac, ETH_ALEN))
            return VIRTIO_NET_ERR;
        set_mac(n, mac);
        return VIRTIO_NET_OK;
    }
    }
    return VIRTIO_NET_ERR;
}

static uint8_t ctrl_vlan(struct virtio_net *n, uint8_t cmd, const struct virtq_elem *e)
{
    uint8_t raw[2];
    unsigned vid;

    if (!has_feature(n, VIRTIO_NET_F_CTRL_VLAN) || !ctrl_data(e, 0, raw, 2))
        return VIRTIO_NET_ERR;
    vid = lduw_le(raw);
    if (vid >= VNET_MAX_VLAN)
        return VIRTIO_NET_ERR;
    if (cmd == VIRTIO_NET_CTRL_VLAN_ADD)
        n->vlans[vid / 32] |= 1u << (vid % 32);
    else if (cmd == VIRTIO_NET_CTRL_VLAN_DEL)
        n->vlans[vid / 32] &= ~(1u << (vid % 32));
    else
        return VIRTIO_NET_ERR;
    return VIRTIO_NET_OK;
}

static int64_t announce_delay_ns(unsigned rounds_left)
{
    unsigned k = VNET_ANNOUNCE_ROUNDS - 1 - MIN(rounds_left, VNET_ANNOUNCE_ROUNDS - 1);

    return (int64_t)MIN(VNET_ANNOUNCE_FIRST_MS + k * VNET_ANNOUNCE_STEP_MS, VNET_ANNOUNCE_MAX_MS) * 1000000;
}

static uint8_t ctrl_announce(struct virtio_net *n, uint8_t cmd)
{
    /* 5.1.6.5.4: the driver acknowledges the announcement it was asked for */
    if (!has_feature(n, VIRTIO_NET_F_GUEST_ANNOUNCE) || cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
        !(n->status & VIRTIO_NET_S_ANNOUNCE))
        return VIRTIO_NET_ERR;
    n->status &= ~VIRTIO_NET_S_ANNOUNCE;
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mq(struct virtio_net *n, uint8_t cmd, const struct virtq_elem *e)
{
    uint8_t raw[2];
    unsigned pairs;

    if (!has_feature(n, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || !ctrl_data(e, 0, raw, 2))
        return VIRTIO_NET_ERR;
    pairs = lduw_le(raw);
    if (pairs < VIRTIO_NET_MQ_PAIRS_MIN || pairs > n->max_pairs)
        return VIRTIO_NET_ERR;
    n->curr_pairs = pairs;
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_offloads(struct virtio_net *n, uint8_t cmd, const struct virtq_elem *e)
{
    uint8_t raw[8];
    uint64_t offloads;

    if (!has_feature(n, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) || cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET ||
        !n->has_vnet_hdr || !ctrl_data(e, 0, raw, 8))
        return VIRTIO_NET_ERR;
    offloads = ldq_le(raw);
    /* 5.1.6.5.6.2: only offloads the driver negotiated */
    if (offloads & ~(n->vdev.guest_features & VNET_GUEST_OFFLOADS))
        return VIRTIO_NET_ERR;
    n->curr_guest_offloads = offloads;
    peer_setup(n);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_command(struct virtio_net *n, const struct virtq_elem *e)
{
    uint8_t h[2];
    size_t dlen = e->out_len - 2;

    iov_to_buf(e->out_sg, e->out_num, 0, h, 2);
    switch (h[0]) {
    case VIRTIO_NET_CTRL_RX: return ctrl_rx(n, h[1], e);
    case VIRTIO_NET_CTRL_MAC: return ctrl_mac(n, h[1], e, dlen);
    case VIRTIO_NET_CTRL_VLAN: return ctrl_vlan(n, h[1], e);
    case VIRTIO_NET_CTRL_ANNOUNCE: return ctrl_announce(n, h[1]);
    case VIRTIO_NET_CTRL_MQ: return ctrl_mq(n, h[1], e);
    case VIRTIO_NET_CTRL_GUEST_OFFLOADS: return ctrl_offloads(n, h[1], e);
    }
    return VIRTIO_NET_ERR;
}

static void handle_ctrl(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_net *n = net_of(vdev);

    if (!vnet_started(n))
        return;
    /* a queue's worth per pass: a driver that keeps adding commands does not hold the main loop */
    for (unsigned i = 0; i < vq->num; i++) {
        struct virtq_elem *e = virtqueue_pop(vq, sizeof(*e));
        uint8_t ack;

        if (!e)
            return;
        if (e->out_len < 2 || e->in_len < 1) {
            virtio_error(vdev, "control queue: a command of %zu bytes with %zu for its ack", e->out_len, e->in_len);
            free(e);
            return;
        }
        ack = ctrl_command(n, e);
        iov_from_buf(e->in_sg, e->in_num, 0, &ack, 1);
        virtqueue_push(vq, e, 1);
        free(e);
        virtio_notify(vdev, vq);
    }
    if (!virtqueue_empty(vq))
        virtio_queue_notify(vq);
}

/* ---- announcing the device after a load (QEMU's self-announce and VIRTIO_NET_S_ANNOUNCE) ---- */

/* A RARP request from the device's address, as QEMU's self-announce makes it: switches learn where it is now. */
static void send_rarp(struct virtio_net *n)
{
    uint8_t f[60] = { 0 };

    memset(f, 0xff, ETH_ALEN);
    memcpy(f + 6, n->mac, ETH_ALEN);
    stw_be(f + 12, ETH_P_RARP);
    stw_be(f + 14, 1);              /* hardware: Ethernet */
    stw_be(f + 16, ETH_P_IP);       /* protocol: IPv4 */
    f[18] = ETH_ALEN;
    f[19] = 4;
    stw_be(f + 20, 3);              /* reverse request */
    memcpy(f + 22, n->mac, ETH_ALEN);
    memcpy(f + 32, n->mac, ETH_ALEN);
    /* no sent callback: an announcement the peer cannot take now is dropped */
    net_send_buf(&n->nc, f, sizeof(f), NULL);
}

static void announce_round(void *opaque)
{
    struct virtio_net *n = opaque;

    if (!n->announce_rounds)
        return;
    n->announce_rounds--;
    send_rarp(n);
    /* 5.1.6.5.4: a driver that can announce itself (its addresses, its VLANs) is asked to */
    if (has_feature(n, VIRTIO_NET_F_GUEST_ANNOUNCE) && has_feature(n, VIRTIO_NET_F_CTRL_VQ) &&
        (n->vdev.status & VIRTIO_STATUS_DRIVER_OK) && !(n->status & VIRTIO_NET_S_ANNOUNCE)) {
        n->status |= VIRTIO_NET_S_ANNOUNCE;
        virtio_notify_config(&n->vdev);
    }
    if (n->announce_rounds)
        timer_mod(n->announce_timer, clock_get_ns(CLK_VIRTUAL) + announce_delay_ns(n->announce_rounds));
}

/* ---- the device ---- */

static void vnet_get_config(struct virtio_device *vdev, uint8_t *c)
{
    struct virtio_net *n = net_of(vdev);

    memcpy(c + VIRTIO_NET_CFG_MAC, n->mac, ETH_ALEN);
    stw_le(c + VIRTIO_NET_CFG_STATUS, n->status);
    stw_le(c + VIRTIO_NET_CFG_MAX_VQ_PAIRS, n->max_pairs);
}

static void vnet_set_config(struct virtio_device *vdev, const uint8_t *c)
{
    struct virtio_net *n = net_of(vdev);

    /* 5.1.4.2: a legacy driver without CTRL_MAC_ADDR sets the address by writing it here */
    if (!has_feature(n, VIRTIO_NET_F_CTRL_MAC_ADDR) && !has_feature(n, VIRTIO_F_VERSION_1))
        set_mac(n, c + VIRTIO_NET_CFG_MAC);
}

/* 5.1.3.1: features a driver may take only with others */
static const struct { uint8_t bit; uint64_t needs_any; } feature_deps[] = {
    { VIRTIO_NET_F_GUEST_TSO4, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) },
    { VIRTIO_NET_F_GUEST_TSO6, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) },
    { VIRTIO_NET_F_GUEST_ECN, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) },
    { VIRTIO_NET_F_GUEST_UFO, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) },
    { VIRTIO_NET_F_HOST_TSO4, VIRTIO_BIT(VIRTIO_NET_F_CSUM) },
    { VIRTIO_NET_F_HOST_TSO6, VIRTIO_BIT(VIRTIO_NET_F_CSUM) },
    { VIRTIO_NET_F_HOST_ECN, VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) },
    { VIRTIO_NET_F_HOST_UFO, VIRTIO_BIT(VIRTIO_NET_F_CSUM) },
    { VIRTIO_NET_F_CTRL_RX, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
    { VIRTIO_NET_F_CTRL_VLAN, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
    { VIRTIO_NET_F_GUEST_ANNOUNCE, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
    { VIRTIO_NET_F_MQ, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
    { VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
    { VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
    { VIRTIO_NET_F_CTRL_RX_EXTRA, VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) },
};

static bool vnet_features_ok(struct virtio_device *vdev, uint64_t f)
{
    (void)vdev;
    for (size_t i = 0; i < ARRAY_SIZE(feature_deps); i++)
        if ((f & VIRTIO_BIT(feature_deps[i].bit)) && !(f & feature_deps[i].needs_any))
            return false;
    return true;
}

/* The features of f whose requirements f meets, once those that depended on dropped ones went too. */
static uint64_t features_met(uint64_t f)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < ARRAY_SIZE(feature_deps); i++) {
            if ((f & VIRTIO_BIT(feature_deps[i].bit)) && !(f & feature_deps[i].needs_any)) {
                f &= ~VIRTIO_BIT(feature_deps[i].bit);
                changed = true;
            }
        }
    }
    return f;
}

static void vnet_start(struct virtio_net *n)
{
    if (!vnet_started(n))
        return;
    net_client_flush(&n->nc);
    tx_run_all(n, 0);
    if (n->ctrl)
        handle_ctrl(&n->vdev, n->ctrl);
}

static void vnet_set_status(struct virtio_device *vdev, uint8_t old, uint8_t status)
{
    struct virtio_net *n = net_of(vdev);

    /* legacy drivers have no FEATURES_OK: their features are theirs once the device runs */
    if (status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK))
        apply_features(n);
    if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        vnet_start(n);
}

/* Forget the frames in flight both ways: the peer's queue and our pending request. */
static void drop_in_flight(struct virtio_net *n)
{
    if (n->nic_ready)
        net_client_purge(&n->nc);
    free(n->tx_pending);
    n->tx_pending = NULL;
    n->tx_pending_pair = NULL;
    for (unsigned i = 0; i < n->max_pairs; i++)
        if (n->pairs[i].tx_bh) {
            bh_cancel(n->pairs[i].tx_bh);
            timer_del(n->pairs[i].tx_timer);
            n->pairs[i].tx_polling = false;
            n->pairs[i].tx_idle = 0;
        }
}

static void vnet_reset(struct virtio_device *vdev)
{
    struct virtio_net *n = net_of(vdev);

    drop_in_flight(n);
    if (n->announce_timer)
        timer_del(n->announce_timer);
    n->announce_rounds = 0;
    /* as QEMU: promiscuous until the driver says otherwise, the address the device was given */
    n->promisc = true;
    n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = false;
    n->mac_in_use = n->mac_first_multi = 0;
    n->uni_overflow = n->multi_overflow = false;
    memset(n->macs, 0, sizeof(n->macs));
    memset(n->vlans, 0, sizeof(n->vlans));
    memset(n->flows, 0, sizeof(n->flows));
    set_mac(n, n->conf_mac.a);
    n->status &= ~VIRTIO_NET_S_ANNOUNCE;
    n->curr_pairs = 1;
    n->curr_guest_offloads = 0;
    n->features_set = false;
    n->mergeable = false;
    n->guest_hdr_len = VIRTIO_NET_HDR_LEN_LEGACY;
    if (n->nic_ready)
        peer_setup(n);
}

static const struct virtio_device_ops vnet_ops = {
    .get_config = vnet_get_config,
    .set_config = vnet_set_config,
    .reset = vnet_reset,
    .set_status = vnet_set_status,
    .features_ok = vnet_features_ok,
};

/* ---- the net client ---- */

static void vnet_link_changed(struct net_client *nc)
{
    struct virtio_net *n = nic_of(nc);
    uint16_t old = n->status;

    if (link_up(n))
        n->status |= VIRTIO_NET_S_LINK_UP;
    else
        n->status &= ~VIRTIO_NET_S_LINK_UP;
    /* 5.1.4.2: the driver hears of it through a configuration change */
    if (n->status != old)
        virtio_notify_config(&n->vdev);
}

static const struct net_client_ops vnet_client_ops = {
    .type = "nic",
    .receive = vnet_receive,
    .receive_direct = vnet_receive_direct,
    .can_receive = vnet_can_receive,
    .link_changed = vnet_link_changed,
};

static void run_state_changed(void *opaque, bool running, enum run_state state)
{
    (void)state;
    /* what the driver queued, and the frames that waited for us, while the machine was stopped */
    if (running)
        vnet_start(opaque);
}

/* What the device offers: QEMU's defaults, less what the properties turn off and what needs a vnet header. */
static uint64_t vnet_offer(struct virtio_net *n)
{
    static const struct { size_t prop; uint8_t bit; bool offload; } bits[] = {
#define BIT_PROP(f, b, o) { offsetof(struct virtio_net, f), b, o }
        BIT_PROP(f_csum, VIRTIO_NET_F_CSUM, true),
        BIT_PROP(f_guest_csum, VIRTIO_NET_F_GUEST_CSUM, true),
        BIT_PROP(f_guest_tso4, VIRTIO_NET_F_GUEST_TSO4, true),
        BIT_PROP(f_guest_tso6, VIRTIO_NET_F_GUEST_TSO6, true),
        BIT_PROP(f_guest_ecn, VIRTIO_NET_F_GUEST_ECN, true),
        BIT_PROP(f_guest_ufo, VIRTIO_NET_F_GUEST_UFO, true),
        BIT_PROP(f_host_tso4, VIRTIO_NET_F_HOST_TSO4, true),
        BIT_PROP(f_host_tso6, VIRTIO_NET_F_HOST_TSO6, true),
        BIT_PROP(f_host_ecn, VIRTIO_NET_F_HOST_ECN, true),
        BIT_PROP(f_host_ufo, VIRTIO_NET_F_HOST_UFO, true),
        BIT_PROP(f_mrg_rxbuf, VIRTIO_NET_F_MRG_RXBUF, false),
        BIT_PROP(f_status, VIRTIO_NET_F_STATUS, false),
        BIT_PROP(f_ctrl_vq, VIRTIO_NET_F_CTRL_VQ, false),
        BIT_PROP(f_ctrl_rx, VIRTIO_NET_F_CTRL_RX, false),
        BIT_PROP(f_ctrl_vlan, VIRTIO_NET_F_CTRL_VLAN, false),
        BIT_PROP(f_ctrl_rx_extra, VIRTIO_NET_F_CTRL_RX_EXTRA, false),
        BIT_PROP(f_ctrl_mac_addr, VIRTIO_NET_F_CTRL_MAC_ADDR, false),
        BIT_PROP(f_ctrl_guest_offloads, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, false),
        BIT_PROP(f_guest_announce, VIRTIO_NET_F_GUEST_ANNOUNCE, false),
        BIT_PROP(mq, VIRTIO_NET_F_MQ, false),
#undef BIT_PROP
    };
    uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_MAC);

    for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
        /* without a header to pass them in, no offloads (as QEMU) */
        if (bits[i].offload && !n->has_vnet_hdr)
            continue;
        if (*(const bool *)((const uint8_t *)n + bits[i].prop))
            f |= VIRTIO_BIT(bits[i].bit);
    }
    /* and nothing whose requirement is off (ctrl_vq=off takes the control commands with it) */
    return features_met(f);
}

/*
 * QEMU's default ROM is iPXE for virtio in one image with its EFI driver; the legacy image names
 * the modern device ID (1af4:1041), and SeaBIOS runs a ROM only for the device its PCI data
 * structure names. So, as QEMU does for a default ROM (pci_patch_ids), the image gets the
 * function's IDs, and the byte iPXE keeps for it at offset 6 makes the checksum right again.
 */
#define VNET_DEFAULT_ROM        "efi-virtio.rom"

static void rom_patch_ids(uint8_t *rom, size_t len, uint16_t vendor, uint16_t device)
{
    size_t pcir;
    uint8_t sum;

    if (len < 0x1a || lduw_le(rom) != 0xaa55)
        return;
    pcir = lduw_le(rom + 0x18);
    if (pcir + 8 > len || memcmp(rom + pcir, "PCIR", 4))
        return;
    sum = rom[6];
    sum += rom[pcir + 4] + rom[pcir + 5] + rom[pcir + 6] + rom[pcir + 7];
    stw_le(rom + pcir + 4, vendor);
    stw_le(rom + pcir + 6, device);
    sum -= rom[pcir + 4] + rom[pcir + 5] + rom[pcir + 6] + rom[pcir + 7];
    rom[6] = sum;
}

static int load_default_rom(struct pci_device *pci, char **err)
{
    uint8_t *rom = NULL;
    size_t len;
    int r = firmware_load("option ROM", VNET_DEFAULT_ROM, &rom, &len, err);

    if (r < 0)
        return r;
    rom_patch_ids(rom, len, lduw_le(pci->config + PCI_VENDOR_ID), lduw_le(pci->config + PCI_DEVICE_ID));
    r = pci_register_rom(pci, rom, len, err);
    free(rom);
    return r;
}

static struct virtio_net_pci *net_pci_of(struct device *dev)
{
    return container_of(dev, struct virtio_net_pci, base.dev);
}

static bool queue_size_ok(uint16_t v)
{
    return v >= 256 && v <= VIRTQUEUE_MAX_SIZE && !(v & (v - 1));
}

static int vnet_realize(struct device *dev, char **err)
{
    struct virtio_net_pci *d = net_pci_of(dev);
    struct virtio_net *n = &d->net;
    struct virtio_pci_id id = {
        .legacy_device_id = 0,          /* 0x1000: virtio-net */
        .class_code = 0x020000,         /* Ethernet controller */
    };
    struct net_client *peer;
    unsigned nvq;
    int r;

    if (!queue_size_ok(n->rx_queue_size) || !queue_size_ok(n->tx_queue_size)) {
        *err = xasprintf("virtio-net-pci: rx_queue_size=%u, tx_queue_size=%u: each a power of 2 from 256 to %u",
                         n->rx_queue_size, n->tx_queue_size, VIRTQUEUE_MAX_SIZE);
        return -EINVAL;
    }
    if (!n->tx || !strcmp(n->tx, "auto")) {
        n->tx_mode = TX_AUTO;
    } else if (!strcmp(n->tx, "bh")) {
        n->tx_mode = TX_BH;
    } else if (!strcmp(n->tx, "timer")) {
        n->tx_mode = TX_TIMER;
    } else {
        *err = xasprintf("virtio-net-pci: tx=%s: auto, bh or timer", n->tx);
        return -EINVAL;
    }
    if (!n->tx_poll_min || !n->tx_poll_stay) {
        *err = xasprintf("virtio-net-pci: x-txpoll-min=%u, x-txpoll-stay=%u: each 1 or more", n->tx_poll_min,
                         n->tx_poll_stay);
        return -EINVAL;
    }
    /* mq=on: a pair per vCPU, as a multi-queue backend would have (all over the one peer for now) */
    n->max_pairs = n->mq ? MIN(MAX(machine_cfg.topo.cpus, 1), VNET_MAX_PAIRS) : 1;
    nvq = 2 * n->max_pairs + 1;
    r = nic_init(&n->nc, &vnet_client_ops, dev, n->netdev, &n->conf_mac, err);
    if (r < 0)
        return r;
    n->nic_ready = true;
    peer = n->nc.peer;
    n->has_vnet_hdr = peer && peer->ops->has_vnet_hdr && peer->ops->has_vnet_hdr(peer);
    set_mac(n, n->conf_mac.a);
    n->status = link_up(n) ? VIRTIO_NET_S_LINK_UP : 0;
    n->curr_pairs = 1;
    n->vdev.host_features = vnet_offer(n);
    if (!(n->vdev.host_features & VIRTIO_BIT(VIRTIO_NET_F_MQ)))
        n->max_pairs = 1, nvq = 3;
    n->rx_elems = xzalloc(VIRTQUEUE_MAX_SIZE * sizeof(*n->rx_elems));
    n->rx_lens = xzalloc(VIRTQUEUE_MAX_SIZE * sizeof(*n->rx_lens));
    n->rx_gv = xmalloc(VNET_MAX_IOV * sizeof(*n->rx_gv));
    n->rx_iov = xmalloc((VNET_MAX_IOV + 3) * sizeof(*n->rx_iov));
    n->rx_guess = ETH_FRAME_LEN;
    n->tx_iov = xmalloc((VNET_MAX_IOV + 1) * sizeof(*n->tx_iov));
    n->tx_bounce = xmalloc(VNET_MAX_FRAME);
    r = virtio_init(&n->vdev, "virtio-net", VIRTIO_ID_NET, &vnet_ops, VIRTIO_NET_CFG_SIZE, nvq,
                    MAX(n->rx_queue_size, n->tx_queue_size));
    if (r < 0) {
        *err = xasprintf("virtio-net-pci: cannot set up its queues: %s", strerror(-r));
        goto fail_bufs;
    }
    for (unsigned i = 0; i < n->max_pairs; i++) {
        struct vnet_pair *p = &n->pairs[i];

        p->n = n;
        p->index = i;
        p->rx = &n->vdev.vq[2 * i];
        p->tx = &n->vdev.vq[2 * i + 1];
        p->rx->num_max = n->rx_queue_size;
        p->tx->num_max = n->tx_queue_size;
        p->tx_bh = bh_new(tx_again, p);
        p->tx_timer = timer_new(CLK_VIRTUAL, tx_again, p);
        virtio_queue_set_handler(p->rx, handle_rx);
        virtio_queue_set_handler(p->tx, handle_tx);
    }
    n->ctrl = &n->vdev.vq[2 * n->max_pairs];
    n->ctrl->num_max = VNET_CTRL_QUEUE_SIZE;
    virtio_queue_set_handler(n->ctrl, handle_ctrl);
    n->announce_timer = timer_new(CLK_VIRTUAL, announce_round, n);
    /* the queues' sizes as set above, and the filters as a reset leaves them */
    virtio_reset(&n->vdev);
    id.default_vectors = nvq + 1;
    r = virtio_pci_realize(&d->base, &n->vdev, &id, err);
    if (r < 0)
        goto fail_virtio;
    /* romfile= names another image (or none); without it, QEMU's */
    if (!d->base.pci.romfile && (r = load_default_rom(&d->base.pci, err)) < 0) {
        virtio_pci_unrealize(&d->base.vp);
        goto fail_virtio;
    }
    run_state_add_listener(run_state_changed, n);
    n->listening = true;
    if (n->bootindex >= 0) {
        int devfn = d->base.pci.devfn;
        char path[64];

        /* QEMU's path for a PCI NIC, which SeaBIOS matches against its option ROM's device */
        if (PCI_FUNC(devfn))
            snprintf(path, sizeof(path), "/pci@i0cf8/ethernet@%x,%x/ethernet-phy@0", PCI_SLOT(devfn),
                     PCI_FUNC(devfn));
        else
            snprintf(path, sizeof(path), "/pci@i0cf8/ethernet@%x/ethernet-phy@0", PCI_SLOT(devfn));
        bootdev_add(dev, n->bootindex, path);
    }
    return 0;

fail_virtio:
    for (unsigned i = 0; i < n->max_pairs; i++)
        if (n->pairs[i].tx_bh) {
            bh_free(n->pairs[i].tx_bh);
            timer_free(n->pairs[i].tx_timer);
        }
    timer_free(n->announce_timer);
    virtio_cleanup(&n->vdev);
fail_bufs:
    free(n->rx_elems);
    free(n->rx_lens);
    free(n->rx_gv);
    free(n->rx_iov);
    free(n->tx_iov);
    free(n->tx_bounce);
    n->nic_ready = false;
    nic_cleanup(&n->nc);
    return r;
}

static void vnet_dev_reset(struct device *dev)
{
    virtio_pci_reset(&net_pci_of(dev)->base.vp);
}

static void vnet_unrealize(struct device *dev)
{
    struct virtio_net_pci *d = net_pci_of(dev);
    struct virtio_net *n = &d->net;

    bootdev_remove(dev);
    if (n->listening)
        run_state_remove_listener(run_state_changed, n);
    virtio_reset(&n->vdev);
    for (unsigned i = 0; i < n->max_pairs; i++) {
        bh_free(n->pairs[i].tx_bh);
        timer_free(n->pairs[i].tx_timer);
    }
    timer_free(n->announce_timer);
    virtio_pci_unrealize(&d->base.vp);
    virtio_cleanup(&n->vdev);
    n->nic_ready = false;
    nic_cleanup(&n->nc);
    free(n->rx_elems);
    free(n->rx_lens);
    free(n->rx_gv);
    free(n->rx_iov);
    free(n->tx_iov);
    free(n->tx_bounce);
}

/* ---- state ---- */

static int vnet_pre_save(void *opaque)
{
    struct virtio_net *n = opaque;

    n->tx_pending_held = n->tx_pending != NULL;
    n->tx_pending_queue = n->tx_pending ? n->tx_pending_pair->tx->index : 0;
    n->tx_pending_head = n->tx_pending ? n->tx_pending->head : 0;
    return 0;
}

static int vnet_post_load(void *opaque, int version)
{
    struct virtio_net *n = opaque;
    const struct virtio_device *vdev = &n->vdev;

    (void)version;
    if (n->mac_in_use > VNET_MAC_TABLE_ENTRIES || n->mac_first_multi > n->mac_in_use ||
        n->curr_pairs < 1 || n->curr_pairs > n->max_pairs ||
        (n->status & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE)) ||
        (n->curr_guest_offloads & ~(vdev->guest_features & VNET_GUEST_OFFLOADS)))
        return -EINVAL;
    /* a modern driver's features passed FEATURES_OK: a combination 5.1.3.1 forbids did not */
    if ((vdev->status & VIRTIO_STATUS_FEATURES_OK) && !vnet_features_ok(&n->vdev, vdev->guest_features))
        return -EINVAL;
    /* the only request a device holds between calls is a transmit the peer queued */
    for (unsigned i = 0; i < vdev->nvq; i++) {
        bool held = n->tx_pending_held && n->tx_pending_queue == i;

        if (vdev->vq[i].inuse != (held ? 1u : 0u))
            return -EINVAL;
    }
    if (n->tx_pending_held &&
        (n->tx_pending_queue % 2 != 1 || n->tx_pending_queue >= 2 * n->max_pairs ||
         n->tx_pending_head >= vdev->vq[n->tx_pending_queue].num))
        return -EINVAL;
    return 0;
}

static const struct vmstate_field vnet_fields[] = {
    VMSTATE_STRUCT(vdev, struct virtio_net, virtio_vmsd, struct virtio_device),
    VMSTATE_U8_ARRAY(mac, struct virtio_net, ETH_ALEN),
    VMSTATE_U16(status, struct virtio_net),
    VMSTATE_U16(curr_pairs, struct virtio_net),
    VMSTATE_BOOL(promisc, struct virtio_net),
    VMSTATE_BOOL(allmulti, struct virtio_net),
    VMSTATE_BOOL(alluni, struct virtio_net),
    VMSTATE_BOOL(nomulti, struct virtio_net),
    VMSTATE_BOOL(nouni, struct virtio_net),
    VMSTATE_BOOL(nobcast, struct virtio_net),
    VMSTATE_U32(mac_in_use, struct virtio_net),
    VMSTATE_U32(mac_first_multi, struct virtio_net),
    VMSTATE_BOOL(uni_overflow, struct virtio_net),
    VMSTATE_BOOL(multi_overflow, struct virtio_net),
    VMSTATE_U8_ARRAY(macs, struct virtio_net, VNET_MAC_TABLE_ENTRIES * ETH_ALEN),
    VMSTATE_U32_ARRAY(vlans, struct virtio_net, VNET_MAX_VLAN / 32),
    VMSTATE_U64(curr_guest_offloads, struct virtio_net),
    VMSTATE_BOOL(features_set, struct virtio_net),
    VMSTATE_BOOL(tx_pending_held, struct virtio_net),
    VMSTATE_U16(tx_pending_queue, struct virtio_net),
    VMSTATE_U16(tx_pending_head, struct virtio_net),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc vnet_vmsd = {
    .name = "virtio-net",
    .version = 1,
    .min_version = 1,
    .fields = vnet_fields,
    .pre_save = vnet_pre_save,
    .post_load = vnet_post_load,
};

static int vnet_pci_post_load(void *opaque, int version)
{
    (void)version;
    return virtio_pci_check_loaded(&((struct virtio_net_pci *)opaque)->base.vp);
}

static const struct vmstate_field vnet_pci_fields[] = {
    VMSTATE_STRUCT(base.pci, struct virtio_net_pci, pci_device_vmsd, struct pci_device),
    VMSTATE_STRUCT(base.vp, struct virtio_net_pci, virtio_pci_vmsd, struct virtio_pci),
    VMSTATE_STRUCT(net, struct virtio_net_pci, vnet_vmsd, struct virtio_net),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc vnet_pci_vmsd = {
    .name = "virtio-net-pci",
    .version = 1,
    .min_version = 1,
    .fields = vnet_pci_fields,
    .post_load = vnet_pci_post_load,
};

static void vnet_state_loaded(struct device *dev)
{
    struct virtio_net_pci *d = net_pci_of(dev);
    struct virtio_net *n = &d->net;
    uint16_t old = n->status;

    /* this process's frames in flight go; the stream's pending one is sent again */
    drop_in_flight(n);
    derive_features(n);
    set_mac(n, n->mac);
    /* the link is this host's */
    n->status = (n->status & ~VIRTIO_NET_S_LINK_UP) | (link_up(n) ? VIRTIO_NET_S_LINK_UP : 0);
    virtio_pci_state_loaded(&d->base.vp);
    if (n->status != old)
        virtio_notify_config(&n->vdev);
    if (n->tx_pending_held) {
        struct virtqueue *vq = &n->vdev.vq[n->tx_pending_queue];
        struct vnet_pair *p = &n->pairs[n->tx_pending_queue / 2];
        struct virtq_elem *e = virtqueue_pop_head(vq, n->tx_pending_head, sizeof(*e));

        if (e) {
            switch (tx_one(n, p, e)) {
            case TX_QUEUED:
                n->tx_pending = e;
                n->tx_pending_pair = p;
                break;
            case TX_DONE:
                virtqueue_push(vq, e, 0);
                virtio_notify(&n->vdev, vq);
                free(e);
                break;
            case TX_BROKEN:
                free(e);
                break;
            }
        }
    }
    /* tell the network where the guest is now */
    n->announce_rounds = VNET_ANNOUNCE_ROUNDS;
    timer_mod(n->announce_timer, clock_get_ns(CLK_VIRTUAL));
    vnet_start(n);
}

static const struct prop_desc vnet_props[] = {
    DEFINE_PROP("netdev", struct virtio_net_pci, net.netdev, PROP_NETDEV, NULL,
                "the backend (-netdev TYPE,id=ID)"),
    DEFINE_PROP("mac", struct virtio_net_pci, net.conf_mac, PROP_MACADDR, NULL,
                "the MAC address (default: 52:54:00:12:34:56 and up, as QEMU)"),
    DEFINE_PROP("bootindex", struct virtio_net_pci, net.bootindex, PROP_BOOTINDEX, NULL,
                "the firmware's boot order (a PXE boot through the option ROM)"),
    DEFINE_PROP("mq", struct virtio_net_pci, net.mq, PROP_BOOL, "off",
                "multiple queue pairs (one per vCPU), which the driver may use with VQ_PAIRS_SET"),
    DEFINE_PROP("rx_queue_size", struct virtio_net_pci, net.rx_queue_size, PROP_U16, "256",
                "entries per receive queue (a power of 2 from 256 to 1024)"),
    DEFINE_PROP("tx_queue_size", struct virtio_net_pci, net.tx_queue_size, PROP_U16, "256",
                "entries per transmit queue (a power of 2 from 256 to 1024)"),
    DEFINE_PROP("tx", struct virtio_net_pci, net.tx, PROP_STRING, "auto",
                "when frames are sent: auto (at a kick; polled while they keep coming), bh (at each kick) or timer"),
    DEFINE_PROP("x-txtimer", struct virtio_net_pci, net.tx_timer_ns, PROP_U32, "150000",
                "tx=timer: nanoseconds a kick's frames wait"),
    DEFINE_PROP("x-txpoll-min", struct virtio_net_pci, net.tx_poll_min, PROP_U32, "2",
                "tx=auto: frames a pass sends to start polling"),
    DEFINE_PROP("x-txpoll-stay", struct virtio_net_pci, net.tx_poll_stay, PROP_U32, "2",
                "tx=auto: frames a look finds to keep polling (fewer is a quiet look)"),
    DEFINE_PROP("csum", struct virtio_net_pci, net.f_csum, PROP_BOOL, "on",
                "offer CSUM: the backend completes the guest's checksums (tap only)"),
    DEFINE_PROP("guest_csum", struct virtio_net_pci, net.f_guest_csum, PROP_BOOL, "on",
                "offer GUEST_CSUM: frames with partial checksums to the guest (tap only)"),
    DEFINE_PROP("guest_tso4", struct virtio_net_pci, net.f_guest_tso4, PROP_BOOL, "on", "offer GUEST_TSO4 (tap only)"),
    DEFINE_PROP("guest_tso6", struct virtio_net_pci, net.f_guest_tso6, PROP_BOOL, "on", "offer GUEST_TSO6 (tap only)"),
    DEFINE_PROP("guest_ecn", struct virtio_net_pci, net.f_guest_ecn, PROP_BOOL, "on", "offer GUEST_ECN (tap only)"),
    DEFINE_PROP("guest_ufo", struct virtio_net_pci, net.f_guest_ufo, PROP_BOOL, "on", "offer GUEST_UFO (tap only)"),
    DEFINE_PROP("host_tso4", struct virtio_net_pci, net.f_host_tso4, PROP_BOOL, "on", "offer HOST_TSO4 (tap only)"),
    DEFINE_PROP("host_tso6", struct virtio_net_pci, net.f_host_tso6, PROP_BOOL, "on", "offer HOST_TSO6 (tap only)"),
    DEFINE_PROP("host_ecn", struct virtio_net_pci, net.f_host_ecn, PROP_BOOL, "on", "offer HOST_ECN (tap only)"),
    DEFINE_PROP("host_ufo", struct virtio_net_pci, net.f_host_ufo, PROP_BOOL, "on", "offer HOST_UFO (tap only)"),
    DEFINE_PROP("mrg_rxbuf", struct virtio_net_pci, net.f_mrg_rxbuf, PROP_BOOL, "on",
                "offer MRG_RXBUF: a frame over several receive buffers"),
    DEFINE_PROP("status", struct virtio_net_pci, net.f_status, PROP_BOOL, "on", "offer STATUS: the link's state"),
    DEFINE_PROP("ctrl_vq", struct virtio_net_pci, net.f_ctrl_vq, PROP_BOOL, "on",
                "offer CTRL_VQ: the control queue (every ctrl_* feature needs it)"),
    DEFINE_PROP("ctrl_rx", struct virtio_net_pci, net.f_ctrl_rx, PROP_BOOL, "on",
                "offer CTRL_RX: promiscuous and all-multicast modes, the MAC filter"),
    DEFINE_PROP("ctrl_vlan", struct virtio_net_pci, net.f_ctrl_vlan, PROP_BOOL, "on", "offer CTRL_VLAN: the VLAN filter"),
    DEFINE_PROP("ctrl_rx_extra", struct virtio_net_pci, net.f_ctrl_rx_extra, PROP_BOOL, "on",
                "offer CTRL_RX_EXTRA: all-unicast, no-multicast, no-unicast, no-broadcast"),
    DEFINE_PROP("ctrl_mac_addr", struct virtio_net_pci, net.f_ctrl_mac_addr, PROP_BOOL, "on",
                "offer CTRL_MAC_ADDR: the driver sets the address"),
    DEFINE_PROP("ctrl_guest_offloads", struct virtio_net_pci, net.f_ctrl_guest_offloads, PROP_BOOL, "on",
                "offer CTRL_GUEST_OFFLOADS: the driver turns its receive offloads on and off"),
    DEFINE_PROP("guest_announce", struct virtio_net_pci, net.f_guest_announce, PROP_BOOL, "on",
                "offer GUEST_ANNOUNCE: the driver announces the guest after a migration"),
    VIRTIO_PCI_PROPS(struct virtio_net_pci, base.vp),
    DEFINE_PROP_END,
};

static struct device_type virtio_net_pci_type = {
    .name = "virtio-net-pci",
    .desc = "virtio network device",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct virtio_net_pci),
    .props = vnet_props,
    .user_creatable = true,
    .realize = vnet_realize,
    .reset = vnet_dev_reset,
    .unrealize = vnet_unrealize,
    .vmsd = &vnet_pci_vmsd,
    .state_loaded = vnet_state_loaded,
};
DEVICE_TYPE_REGISTER(virtio_net_pci_type);
