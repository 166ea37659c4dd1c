/* net-internal.h: what the files of net/ share and nothing else sees: filters on a client, hubs, text output for info network */
#ifndef NET_NET_INTERNAL_H
#define NET_NET_INTERNAL_H

#include "net/net.h"

/* ---- filters (-object filter-dump): they see frames as they pass a client, and pass them on ---- */

enum net_filter_dir { NET_FILTER_TX, NET_FILTER_RX };  /* sent by the client, or sent to it */

struct net_filter {
    const char *name;           /* the object's id */
    const char *type;           /* "filter-dump" */
    /* A frame passes: hdr_len bytes of virtio-net header lead it (0 for none). */
    void (*frame)(struct net_filter *f, enum net_filter_dir dir, const struct iovec *iov, int niov,
                  size_t hdr_len);
    /* info network's text after "type=<type>", starting with its comma */
    void (*info)(struct net_filter *f, char *buf, size_t len);
    struct net_client *nc;
    struct net_filter *next;
};

/* Put f on nc, behind the filters already there; take it off again. */
void net_filter_attach(struct net_client *nc, struct net_filter *f);
void net_filter_detach(struct net_filter *f);

/* ---- text that grows, with snprintf's answer: the length it would have had ---- */

struct net_text {
    char *buf;
    size_t size;
    size_t len;
};
void net_text_printf(struct net_text *t, const char *fmt, ...) PRINTF_FMT(2, 3);
/* A client's info network line: "NAME: index=0,type=TYPE,INFO\n" and its filters */
void net_text_client(struct net_text *t, struct net_client *nc);

/* ---- hubs (hub.c) ---- */

/* A new port of hub `hub_id` (made when first named), registered as a netdev "hubNportM" (or `id`). */
int net_hub_add_port(int hub_id, const char *id, struct netdev **out, char **err);
/* nc's peer is a hub port: deliver what the hub's other ports hold queued (it can take frames again) */
void net_hub_flush_others(struct net_client *port);
/* Whether a client is in a hub's section of info network: a port, or a port's peer */
bool net_hub_has_client(const struct net_client *nc);
void net_hub_info(struct net_text *t);
/* QEMU's warnings about hubs: a port with no peer, a hub with no NIC or no way out */
void net_hub_check(void);
/* Forget the hubs (their ports are netdevs, which net_cleanup frees) */
void net_hub_cleanup(void);

/* ---- the core (net.c) for the command line's code ---- */

/* Whether the machine runs: frames are delivered only then */
bool net_vm_running(void);
/* Take a backend down again: unregister, its cleanup, and free it */
void netdev_free(struct netdev *n);
/* A NIC device type (one with a netdev property); the next after `t` (NULL: the first) */
const struct device_type *net_nic_type_next(const struct device_type *t);

#endif
