/* net.h: the network layer: clients (NICs, backends, hub ports) joined in pairs or through hubs, frames passed with back-pressure, the -netdev registry, link state */
#ifndef NET_NET_H
#define NET_NET_H

#include "util/osdep.h"

#include <sys/types.h>
#include <sys/uio.h>

struct device;
struct mac_addr;
struct opts;

/*
 * The model (QEMU's NetClientState, in skiff's words). Every end of a link is a struct
 * net_client: a NIC's, a backend's (tap, user, socket), or a hub port's. Two clients are
 * peers: what one sends the other receives. QEMU's legacy -net joins everything given to it
 * through hub 0, whose ports are clients too.
 *
 * Everything here runs in the main loop with the device lock held (NIC register accesses, the
 * backends' fd handlers): no client is called from another thread.
 *
 * Back-pressure: a client that cannot take a frame now (a NIC whose guest gave it no receive
 * buffers, a socket whose kernel buffer is full) says so; the core queues the frame for it (a
 * bounded queue) and tells the sender its frame is in flight, and the sender stops sending
 * until its sent callback runs. When the receiver can take frames again it calls
 * net_client_flush, which delivers the queue in order and runs the senders' callbacks. So a
 * frame the guest was told was sent is never dropped for lack of room; a frame sent while the
 * link is down is dropped, as on a cable that is unplugged.
 *
 * As QEMU's: while the VM does not run (-S, stop, an incoming migration) every frame is queued,
 * so that no device changes under a stopped machine, and the queues are delivered when it runs
 * again. A queue holds at most NET_QUEUE_MAX frames (and NET_QUEUE_MAX_BYTES) from senders
 * without a sent callback; past that their frames are dropped and counted (rx_dropped).
 */
#define NET_QUEUE_MAX       10000       /* QEMU's per-receiver queue length */
#define NET_QUEUE_MAX_BYTES (64 * MiB)
/* The longest frame the core passes on: QEMU's NET_BUFSIZE (64 KiB of GSO frame and room for headers) */
#define NET_FRAME_MAX       (4096 + 65536)
struct net_client;

/* What a frame carries besides its bytes */
#define NET_FRAME_VNET_HDR  1   /* it starts with a virtio-net header of the receiver's vnet_hdr_len */

/*
 * A frame read straight into its receiver's memory. A backend that reads frames from a
 * descriptor (tap) hands net_read_direct a reader: when its peer would take a frame now with
 * nothing between them (no hub, no filter, both links up, the VM running, nothing queued for
 * the peer) and can lend its buffers (a NIC with receive_direct: virtio-net, whose receive
 * buffers are the guest's), the NIC builds the iovec the frame is read into, so that the bytes
 * are not copied again on their way to the guest. Otherwise the frame is read into buf, whole,
 * for the backend to net_send as any other.
 */
struct net_reader {
    /* Read one frame into iov (never more than NET_FRAME_MAX bytes in all): as readv answers */
    ssize_t (*readv)(struct net_reader *rd, const struct iovec *iov, int niov);
    uint8_t *buf;           /* NET_FRAME_MAX bytes of the backend's */
    unsigned flags;         /* NET_FRAME_VNET_HDR: the frames it reads start with a vnet header */
    ssize_t got;            /* out: what readv answered (<= 0: no frame) */
    size_t left;            /* out: a frame the receiver left, whole in buf, for net_send (else 0) */
};

struct net_client_ops {
    const char *type;       /* info network's type=: "nic", "tap", "user", "socket", "hubport" */
    /*
     * Take a frame: its length when taken (or consumed and dropped by the receiver's own
     * rules: a NIC's address filter), 0 when it cannot now (the core queues it and waits for
     * net_client_flush), or -errno (the frame is dropped and counted).
     */
    ssize_t (*receive)(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags);
    /*
     * Read the next frame through rd into the client's own buffers (see struct net_reader),
     * called only when receive would be; absent: the frame is read and passed to receive. As
     * receive for a frame it took or dropped; 0 when it read none (rd->got <= 0) or left the frame
     * whole in rd->buf (rd->left bytes), where net_read_plain puts it.
     */
    ssize_t (*receive_direct)(struct net_client *nc, struct net_reader *rd);
    /* Whether receive would take a frame now; absent: always. */
    bool (*can_receive)(struct net_client *nc);
    /* set_link changed nc's link (nc->link_down; a backend's carries to its NIC): a NIC shows it. */
    void (*link_changed)(struct net_client *nc);
    /*
     * info network's text after "type=<type>,", e.g. "net=10.0.2.0,restrict=off". Absent: nothing,
     * or for a NIC QEMU's "model=rtl8139,macaddr=52:54:00:12:34:56" from model and macaddr.
     */
    void (*info)(struct net_client *nc, char *buf, size_t len);
    /*
     * Offloads a backend may have (tap with IFF_VNET_HDR): whether frames to and from it may
     * carry a virtio-net header, set its length (10 or 12), and the TUN_F_* offloads the
     * guest's driver accepts. Absent: no.
     */
    bool (*has_vnet_hdr)(struct net_client *nc);
    int (*set_vnet_hdr_len)(struct net_client *nc, int len);
    int (*set_offload)(struct net_client *nc, unsigned tun_f_flags);
    /* Free what the client owns (not the struct: its owner's). */
    void (*cleanup)(struct net_client *nc);
};

enum net_client_kind { NET_CLIENT_NIC, NET_CLIENT_BACKEND, NET_CLIENT_HUBPORT };

struct net_frame;
struct net_filter;

struct net_client {
    const struct net_client_ops *ops;
    enum net_client_kind kind;
    /*
     * The -netdev id ("#net0".. for a -net or -nic backend given no id=, as QEMU's #netNNN), a
     * hub port's "hub0port1", a NIC's device id= or else QEMU's "MODEL.N" ("rtl8139.0")
     */
    char *name;
    char *model;                /* a NIC's device type ("rtl8139", "virtio-net-pci") */
    struct net_client *peer;
    int hub_id;                 /* a hub port's hub */
    bool link_down;             /* set_link NAME off */
    /* A NIC's address as info network shows it: nic_init sets it; a NIC whose guest changes its
     * address writes the new one here (QEMU's qemu_format_nic_info_str). */
    uint8_t macaddr[6];
    /* A backend passing frames with a virtio-net header (tap): the header's length now, which its
     * set_vnet_hdr_len records; filter-dump leaves it out of the capture. */
    int vnet_hdr_len;
    /* frames for this client while it could not take them (the core's) */
    struct net_frame *queue, **queue_tail;
    unsigned queue_len;
    size_t queue_bytes;
    bool delivering;            /* in its receive: frames for it now are queued behind (the core's) */
    int mac_index;              /* the default-MAC slot a NIC holds, -1 for none (the core's) */
    struct net_filter *filters; /* -object filter-dump on this client */
    uint64_t rx_dropped;        /* frames dropped at this client (queue full, -errno) */
    struct net_client *next;
};

/* Sent callback: a frame that was queued (net_send returned 0) reached the peer, or was dropped (ret < 0). */
typedef void net_sent_fn(struct net_client *sender, ssize_t ret);

/*
 * Send a frame from nc to its peer: its length when the peer took it (or when the link is
 * down, or there is no peer: the frame is gone, as on an unplugged cable), 0 when it was
 * queued at the receiver (sent_cb runs once it is delivered; send nothing more until then),
 * -errno when dropped (-EMSGSIZE: longer than NET_FRAME_MAX). Without sent_cb a frame the
 * receiver cannot take is queued while its queue holds fewer than NET_QUEUE_MAX frames and
 * dropped (-ENOBUFS) past that, as QEMU's: for senders that cannot wait (a hub, announcements).
 */
ssize_t net_send(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags,
                 net_sent_fn *sent_cb);
static inline ssize_t net_send_buf(struct net_client *nc, const void *buf, size_t len, net_sent_fn *sent_cb)
{
    struct iovec iov = { (void *)buf, len };

    return net_send(nc, &iov, 1, 0, sent_cb);
}
/*
 * Read nc's next frame through rd (a backend's): straight into its peer's buffers when the peer
 * takes it so (the peer's receive_direct's answer, a drop counted as net_send's), else into
 * rd->buf (0, rd->left its length) for the backend to net_send. rd->got: the read's answer.
 */
ssize_t net_read_direct(struct net_client *nc, struct net_reader *rd);
/* Read a frame into rd->buf, whole: rd->got, and rd->left its length (0 for none); 0. */
ssize_t net_read_plain(struct net_reader *rd);
/* Whether nc's peer would take a frame now (a NIC paces its transmit on it). */
bool net_can_send(struct net_client *nc);
/* nc can take frames again: deliver what was queued for it, in order. */
void net_client_flush(struct net_client *nc);
/*
 * A NIC's reset: drop what nc queued elsewhere without its callbacks, and what is queued for nc,
 * whose senders' callbacks run (ret -ECANCELED) so that a backend waiting on one reads on.
 */
void net_client_purge(struct net_client *nc);

/*
 * Whether nc's link partner's link is down. A NIC shows its own nc->link_down, as QEMU's: a
 * backend's own state (a socket listening with no peer yet) is not the guest's carrier.
 */
bool net_peer_link_down(const struct net_client *nc);
/*
 * set_link, as QEMU's: the named client's link goes up or down and its link_changed runs; when
 * its peer is a NIC, the NIC's link follows and it hears of it too (a NIC's own set_link leaves
 * its backend's link alone). -ENODEV with *err, in QEMU's words, when no client has that name.
 */
int net_set_link(const char *name, bool up, char **err);
/* The client of that name (a NIC, backend or hub port), or NULL */
struct net_client *net_client_find(const char *name);

/*
 * Backends (-netdev TYPE,id=ID,...). A backend is a struct netdev, which its type's code
 * embeds first in a struct it allocates; the NIC that names it (netdev=ID) becomes its
 * client's peer. At exit (net_cleanup) the core unregisters it, runs its client's cleanup and
 * frees that struct.
 */
struct netdev {
    char id[64];
    const char *type;           /* "tap", "user", "socket", "hubport" */
    struct net_client nc;       /* kind NET_CLIENT_BACKEND, name = id */
    struct device *nic;         /* the NIC that took it, or NULL */
    struct netdev *next;
};

/* A backend type: make one from its options (the id and type are already checked). */
struct netdev_type {
    const char *name;
    /*
     * -netdev name,id=ID,...: 0 with *out registered (netdev_register), or -errno with *err
     * and nothing left behind. An option the type did not read is refused by the core after
     * init, which then takes the backend down again.
     */
    int (*init)(struct opts *o, const char *id, struct netdev **out, char **err);
    /* What "-netdev NAME,help" lists */
    const char *help;
    struct netdev_type *next;
};
void netdev_type_register(struct netdev_type *t);
#define NETDEV_TYPE_REGISTER(t) \
    static void __attribute__((constructor)) register_netdev_##t(void) { netdev_type_register(&(t)); }

/*
 * Add a backend under its id, and its client (named after the id, kind NET_CLIENT_BACKEND
 * unless the type is "hubport") to the clients: 0, or -EEXIST with *err when the id is taken.
 */
int netdev_register(struct netdev *n, char **err);
/* Take it out of both lists, unlink its peer and drop the frames queued to and from it. */
void netdev_unregister(struct netdev *n);
struct netdev *netdev_find(const char *id);

/*
 * The command line, in the order QEMU takes it once the event loop exists: every -netdev, then
 * every -nic, then every -net. Backends are made at once (so that -object filter-dump finds
 * them); the NICs of -nic and -net nic are recorded for net_create_nics. 0 or -errno with *err.
 */
int netdev_add(const char *spec, char **err);                  /* -netdev TYPE,id=ID,... */
int net_add_nic_shorthand(const char *spec, char **err);       /* -nic [TYPE][,model=][,mac=][,...] */
int net_add_legacy(const char *spec, char **err);              /* -net nic,... / -net TYPE,... (hub 0) */
/*
 * "-netdev help", "-netdev TYPE,help", "-net nic,model=help", "-nic help", "-nic model=help":
 * print the answer to stdout and return true (the caller exits), else false. `option` is
 * "netdev", "net" or "nic". At parse time: it needs nothing made.
 */
bool net_answer_help(const char *option, const char *spec);
/*
 * The board: make the NICs of -nic and -net nic, in that order, right after the board's own
 * devices and before -device's, as QEMU's pc board does (so they take the first default MACs
 * and PCI slots); model= as QEMU's (virtio: virtio-net-pci; default rtl8139, skiff having no
 * e1000). At machine-done QEMU's warnings follow: a backend or NIC with no peer, a hub without
 * a NIC or without a way out. 0 or -errno with *err.
 */
int net_create_nics(char **err);
/* Free every backend, hub port and hub (at exit, after the devices). */
void net_cleanup(void);

/*
 * NICs. A NIC device embeds a struct net_client and calls nic_init in its realize with its
 * netdev= and mac= properties: the client is named, the MAC is QEMU's default when none was
 * given (52:54:00:12:34:56, then the lowest :57.. no NIC holds, in the order NICs are made;
 * *mac is filled in), and the backend becomes its peer (netdev may be NULL: the NIC's frames
 * go nowhere). 0 or -errno with *err. nic_cleanup (unrealize) undoes it all and frees what
 * nic_init allocated.
 */
int nic_init(struct net_client *nc, const struct net_client_ops *ops, struct device *dev,
             struct netdev *netdev, struct mac_addr *mac, char **err);
void nic_cleanup(struct net_client *nc);

/*
 * info network, in QEMU's layout (hubs first, their newest port first; then each client with
 * its peer, and each filter under the client it is on), into buf as snprintf does: the length
 * of the whole text, which may be more than len.
 */
size_t net_info(char *buf, size_t len);

/* Every client, for the monitor */
struct net_client *net_clients(void);

#endif
