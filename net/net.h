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
 */
struct net_client;

/* What a frame carries besides its bytes */
#define NET_FRAME_VNET_HDR  1   /* it starts with a virtio-net header of the receiver's vnet_hdr_len */

struct net_client_ops {
    const char *type;       /* info network's type=: "nic", "tap", "user", "socket", "hubport" */
    /*
     * Take a frame: its length when taken (or consumed and dropped by the receiver's own
     * rules: a NIC's address filter), 0 when it cannot now (the core queues it and waits for
     * net_client_flush), or -errno (the frame is dropped and counted).
     */
    ssize_t (*receive)(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags);
    /* Whether receive would take a frame now; absent: always. */
    bool (*can_receive)(struct net_client *nc);
    /* set_link changed nc's link or its peer's (nc->link_down, net_peer_link_down): a NIC shows it. */
    void (*link_changed)(struct net_client *nc);
    /* info network's text after "type=<type>,", e.g. "net=10.0.2.0,restrict=off" */
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
    char *name;                 /* the -netdev id, "net0".. for NICs (the device's id= if any), "hub0port1" */
    char *model;                /* a NIC's device type ("rtl8139", "virtio-net-pci") */
    struct net_client *peer;
    int hub_id;                 /* a hub port's hub */
    bool link_down;             /* set_link NAME off */
    /* frames for this client while it could not take them (the core's) */
    struct net_frame *queue, **queue_tail;
    unsigned queue_len;
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
 * -errno when dropped. Without sent_cb a frame the receiver cannot take is dropped instead
 * of queued (for frames that may be lost: announcements).
 */
ssize_t net_send(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags,
                 net_sent_fn *sent_cb);
static inline ssize_t net_send_buf(struct net_client *nc, const void *buf, size_t len, net_sent_fn *sent_cb)
{
    struct iovec iov = { (void *)buf, len };

    return net_send(nc, &iov, 1, 0, sent_cb);
}
/* Whether nc's peer would take a frame now (a NIC paces its transmit on it). */
bool net_can_send(struct net_client *nc);
/* nc can take frames again: deliver what was queued for it, in order. */
void net_client_flush(struct net_client *nc);
/* Drop what is queued for nc and what nc queued elsewhere, without callbacks (a NIC's reset). */
void net_client_purge(struct net_client *nc);

/* Whether nc's link partner's link is down (a NIC shows "no carrier" when its backend's is). */
bool net_peer_link_down(const struct net_client *nc);
/* set_link: -ENODEV with *err when no client has that name. */
int net_set_link(const char *name, bool up, char **err);

/*
 * Backends (-netdev TYPE,id=ID,...). A backend is a struct netdev, which its type's code
 * embeds; the NIC that names it (netdev=ID) becomes its client's peer.
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
    /* -netdev name,id=ID,...: 0 with *out registered, or -errno with *err */
    int (*init)(struct opts *o, const char *id, struct netdev **out, char **err);
    /* What "-netdev NAME,help" lists */
    const char *help;
    struct netdev_type *next;
};
void netdev_type_register(struct netdev_type *t);
#define NETDEV_TYPE_REGISTER(t) \
    static void __attribute__((constructor)) register_netdev_##t(void) { netdev_type_register(&(t)); }

/* Add a backend under its id: 0, or -EEXIST with *err when the id is taken. */
int netdev_register(struct netdev *n, char **err);
void netdev_unregister(struct netdev *n);
struct netdev *netdev_find(const char *id);

/* -netdev TYPE,id=ID,... (also "-netdev help"): 0 or -errno with *err. */
int netdev_add(const char *spec, char **err);
/* -net nic,... / -net BACKEND,... (hub 0) and -nic BACKEND[,model=][,mac=]: recorded now, made by net_create_nics. */
int net_add_legacy(const char *spec, char **err);
int net_add_nic_shorthand(const char *spec, char **err);
/* The board: make the NICs of -net nic and -nic (after -device, as QEMU), and check every backend has a NIC. */
int net_create_nics(char **err);
/* Free every client and backend (at exit, after the devices). */
void net_cleanup(void);

/*
 * NICs. A NIC device embeds a struct net_client and calls nic_init in its realize with its
 * netdev= and mac= properties: the client is named, the MAC is QEMU's default when none was
 * given (52:54:00:12:34:56, then :57, ... in the order NICs are made), and the backend becomes
 * its peer. 0 or -errno with *err.
 */
int nic_init(struct net_client *nc, const struct net_client_ops *ops, struct device *dev,
             struct netdev *netdev, struct mac_addr *mac, char **err);
void nic_cleanup(struct net_client *nc);

/* info network, in QEMU's layout, one client per line into buf (and its length) */
size_t net_info(char *buf, size_t len);

/* Every client, for the monitor */
struct net_client *net_clients(void);

#endif
