/* hub.c: hubs, as QEMU's (-net's hub 0, -netdev hubport): a frame that enters one port leaves by every other */
#define LOG_PREFIX ""
#include "net/net-internal.h"
#include "hw/core/machine.h"    // machine_cfg.qtest
#include "util/iov.h"
#include "util/log.h"
#include "util/opts.h"

struct hub_port;

struct hub {
    int id;
    struct hub_port *ports;     /* the newest first, as QEMU lists them */
    unsigned nports;            /* ports made, for the next one's name */
    struct hub *next;
};

struct hub_port {
    struct netdev nd;           /* first: the core frees the port as a netdev */
    struct hub *hub;
    struct hub_port *next;
};

static struct hub *hubs;        /* the newest first */

static struct hub_port *port_of(struct net_client *nc)
{
    return (struct hub_port *)container_of(nc, struct netdev, nc);
}

/*
 * A frame entered by port p: it goes out by every other port, to each port's peer, without a
 * sent callback as QEMU's hub sends it: a peer that cannot take it now has it queued (up to
 * NET_QUEUE_MAX). The sender into the hub is done at once.
 */
static ssize_t port_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct hub_port *p = port_of(nc);

    for (struct hub_port *q = p->hub->ports; q; q = q->next)
        if (q != p)
            net_send(&q->nd.nc, iov, niov, flags, NULL);
    return iov_size(iov, niov);
}

/* The hub takes a frame when at least one other port's peer would (QEMU's rule). */
static bool port_can_receive(struct net_client *nc)
{
    struct hub_port *p = port_of(nc);

    for (struct hub_port *q = p->hub->ports; q; q = q->next)
        if (q != p && net_can_send(&q->nd.nc))
            return true;
    return false;
}

/* The port goes (net_cleanup): out of its hub's list. */
static void port_cleanup(struct net_client *nc)
{
    struct hub_port *p = port_of(nc);

    for (struct hub_port **pp = &p->hub->ports; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
}

static const struct net_client_ops port_ops = {
    .type = "hubport",
    .receive = port_receive,
    .can_receive = port_can_receive,
    .cleanup = port_cleanup,
};

static struct hub *hub_get(int id)
{
    struct hub *h;

    for (h = hubs; h; h = h->next)
        if (h->id == id)
            return h;
    h = xnew(struct hub);
    h->id = id;
    h->next = hubs;
    hubs = h;
    return h;
}

int net_hub_add_port(int hub_id, const char *id, struct netdev **out, char **err)
{
    struct hub *h = hub_get(hub_id);
    struct hub_port *p = xnew(struct hub_port);
    int r;

    if (id)
        snprintf(p->nd.id, sizeof(p->nd.id), "%s", id);
    else
        snprintf(p->nd.id, sizeof(p->nd.id), "hub%dport%u", hub_id, h->nports);
    p->nd.type = "hubport";
    p->nd.nc.ops = &port_ops;
    p->nd.nc.hub_id = hub_id;
    p->hub = h;
    if ((r = netdev_register(&p->nd, err)) < 0) {
        free(p);
        return r;
    }
    h->nports++;
    p->next = h->ports;
    h->ports = p;
    *out = &p->nd;
    return 0;
}

void net_hub_flush_others(struct net_client *nc)
{
    struct hub_port *p = port_of(nc);

    for (struct hub_port *q = p->hub->ports; q; q = q->next)
        if (q != p && q->nd.nc.queue)
            net_client_flush(&q->nd.nc);
}

bool net_hub_has_client(const struct net_client *nc)
{
    return nc->kind == NET_CLIENT_HUBPORT || (nc->peer && nc->peer->kind == NET_CLIENT_HUBPORT);
}

void net_hub_info(struct net_text *t)
{
    for (struct hub *h = hubs; h; h = h->next) {
        net_text_printf(t, "hub %d\n", h->id);
        for (struct hub_port *p = h->ports; p; p = p->next) {
            if (p->nd.nc.peer) {
                net_text_printf(t, " \\ %s: ", p->nd.nc.name);
                net_text_client(t, p->nd.nc.peer);
            } else {
                net_text_printf(t, " \\ %s\n", p->nd.nc.name);
            }
        }
    }
}

void net_hub_check(void)
{
    for (struct hub *h = hubs; h; h = h->next) {
        bool nic = false, host = false;

        for (struct hub_port *p = h->ports; p; p = p->next) {
            struct net_client *peer = p->nd.nc.peer;

            if (!peer)
                log_warn("hub port %s has no peer", p->nd.nc.name);
            else if (peer->kind == NET_CLIENT_NIC)
                nic = true;
            else if (peer->kind == NET_CLIENT_BACKEND)
                host = true;
        }
        if (host && !nic)
            log_warn("hub %d with no nics", h->id);
        /* as QEMU's: device tests often leave a NIC's hub without a way out */
        if (nic && !host && !machine_cfg.qtest)
            log_warn("hub %d is not connected to host network", h->id);
    }
}

void net_hub_cleanup(void)
{
    while (hubs) {
        struct hub *h = hubs;

        hubs = h->next;
        free(h);
    }
}

/*
 * -netdev hubport,id=ID,hubid=N[,netdev=ND]: a port of hub N, as QEMU's; with netdev=, that
 * backend is the port's peer instead of a NIC's.
 */
static int hubport_init(struct opts *o, const char *id, struct netdev **out, char **err)
{
    const char *nd_id = opts_get(o, "netdev");
    struct netdev *port, *nd = NULL;
    uint64_t hubid;
    int r;

    if (!opts_has(o, "hubid")) {
        *err = xstrdup("hubport: give the hub's number (hubid=N)");
        return -EINVAL;
    }
    if (opts_get_uint(o, "hubid", &hubid) < 0 || hubid > INT32_MAX) {
        *err = xasprintf("hubport: hubid=%s: give a number, 0 or more", opts_get(o, "hubid"));
        return -EINVAL;
    }
    if (nd_id) {
        nd = netdev_find(nd_id);
        if (!nd) {
            *err = xasprintf("hubport: netdev '%s' not found", nd_id);
            return -ENOENT;
        }
        if (nd->nic || nd->nc.peer) {
            *err = xasprintf("hubport: netdev '%s' is already in use", nd_id);
            return -EBUSY;
        }
    }
    if ((r = net_hub_add_port((int)hubid, id, &port, err)) < 0)
        return r;
    if (nd) {
        port->nc.peer = &nd->nc;
        nd->nc.peer = &port->nc;
    }
    *out = port;
    return 0;
}

static struct netdev_type hubport_type = {
    .name = "hubport",
    .init = hubport_init,
    .help = "hubid=N[,netdev=ID]: a port of hub N; its peer is the NIC that names it, or the backend netdev=",
};
NETDEV_TYPE_REGISTER(hubport_type)
