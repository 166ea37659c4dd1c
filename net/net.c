/* net.c: the network core: clients and their peers, frames with back-pressure (queues, flush, purge), link state, NICs and their default MACs, the netdev registry, info network */
#define LOG_PREFIX "net: "
#include "net/net-internal.h"
#include "hw/core/device.h"     // struct device, struct mac_addr, device types
#include "hw/core/machine.h"    // run_state_get, run_state_add_listener
#include "hw/core/props.h"      // props_set_netdev_resolver
#include "util/iov.h"
#include "util/log.h"

#include <stdarg.h>

/*
 * A frame waiting in a receiver's queue: a copy of its bytes, whom it came from and whom to tell.
 * Frames from a client wait only at its peer, so a client's frames are found there.
 */
struct net_frame {
    struct net_frame *next;
    struct net_client *sender;
    net_sent_fn *sent_cb;
    unsigned flags;
    size_t len;
    uint8_t data[];
};

/* Frames a sender with a callback may have queued past NET_QUEUE_MAX: one that ignored its 0 */
#define NET_QUEUE_HARD_MAX (2 * NET_QUEUE_MAX)

static struct net_client *clients, **clients_tail = &clients;
static struct netdev *netdevs;
static bool listening;          /* to the run state */

/*
 * QEMU's default MACs: 52:54:00:12:34:56 and up, the lowest that no NIC holds. A NIC given one
 * of them holds it too, so that the next default skips it.
 */
#define MAC_DEFAULT_FIRST 0x56
static const uint8_t mac_default_prefix[5] = { 0x52, 0x54, 0x00, 0x12, 0x34 };
static unsigned mac_held[256 - MAC_DEFAULT_FIRST];

/* ---- the list of clients ---- */

static void run_state_changed(void *opaque, bool running, enum run_state state);

static void client_link(struct net_client *nc)
{
    nc->next = NULL;
    nc->queue = NULL;
    nc->queue_tail = &nc->queue;
    nc->queue_len = 0;
    nc->queue_bytes = 0;
    *clients_tail = nc;
    clients_tail = &nc->next;
    if (!listening) {
        run_state_add_listener(run_state_changed, NULL);
        listening = true;
    }
}

static void client_unlink(struct net_client *nc)
{
    for (struct net_client **pp = &clients; *pp; pp = &(*pp)->next) {
        if (*pp == nc) {
            *pp = nc->next;
            if (clients_tail == &nc->next)
                clients_tail = pp;
            nc->next = NULL;
            return;
        }
    }
}

struct net_client *net_clients(void)
{
    return clients;
}

struct net_client *net_client_find(const char *name)
{
    for (struct net_client *nc = clients; nc; nc = nc->next)
        if (nc->name && !strcmp(nc->name, name))
            return nc;
    return NULL;
}

/* ---- delivery ---- */

bool net_vm_running(void)
{
    return run_state_get() == RUN_STATE_RUNNING;
}

static bool client_can_receive(struct net_client *nc)
{
    return !nc->ops || !nc->ops->can_receive || nc->ops->can_receive(nc);
}

/* Whether a frame for r would be handed to it now, rather than queued behind others */
static bool client_takes_now(struct net_client *r)
{
    return net_vm_running() && !r->delivering && !r->queue && client_can_receive(r);
}

bool net_can_send(struct net_client *nc)
{
    return !nc->peer || client_takes_now(nc->peer);
}

/* The header a frame's filters leave out: the backend's of the two ends (tap's) */
static size_t frame_hdr_len(const struct net_client *a, const struct net_client *b, unsigned flags)
{
    if (!(flags & NET_FRAME_VNET_HDR))
        return 0;
    return a->vnet_hdr_len ? a->vnet_hdr_len : b->vnet_hdr_len;
}

/* Hand a frame to r: its receive's answer; a frame for a client whose link is down is gone. */
static ssize_t deliver(struct net_client *r, const struct iovec *iov, int niov, unsigned flags)
{
    bool was = r->delivering;
    ssize_t ret;

    if (r->link_down || !r->ops || !r->ops->receive)
        return iov_size(iov, niov);
    r->delivering = true;
    ret = r->ops->receive(r, iov, niov, flags);
    r->delivering = was;
    return ret;
}

static ssize_t queue_append(struct net_client *r, struct net_client *sender, const struct iovec *iov,
                            int niov, unsigned flags, net_sent_fn *sent_cb)
{
    size_t len = iov_size(iov, niov);
    struct net_frame *f;

    if ((!sent_cb && (r->queue_len >= NET_QUEUE_MAX || r->queue_bytes + len > NET_QUEUE_MAX_BYTES)) ||
        r->queue_len >= NET_QUEUE_HARD_MAX || r->queue_bytes + len > 2 * NET_QUEUE_MAX_BYTES) {
        r->rx_dropped++;
        return -ENOBUFS;
    }
    f = xmalloc(sizeof(*f) + len);
    f->next = NULL;
    f->sender = sender;
    f->sent_cb = sent_cb;
    f->flags = flags;
    f->len = len;
    iov_to_buf(iov, niov, 0, f->data, len);
    *r->queue_tail = f;
    r->queue_tail = &f->next;
    r->queue_len++;
    r->queue_bytes += len;
    return 0;
}

static struct net_frame *queue_pop(struct net_client *r)
{
    struct net_frame *f = r->queue;

    if (!f)
        return NULL;
    r->queue = f->next;
    if (!r->queue)
        r->queue_tail = &r->queue;
    r->queue_len--;
    r->queue_bytes -= f->len;
    f->next = NULL;
    return f;
}

static void queue_push_front(struct net_client *r, struct net_frame *f)
{
    f->next = r->queue;
    if (!r->queue)
        r->queue_tail = &f->next;
    r->queue = f;
    r->queue_len++;
    r->queue_bytes += f->len;
}

static void filters_run(struct net_client *nc, enum net_filter_dir dir, const struct iovec *iov, int niov,
                        size_t hdr_len)
{
    for (struct net_filter *f = nc->filters; f; f = f->next)
        f->frame(f, dir, iov, niov, hdr_len);
}

ssize_t net_send(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags,
                 net_sent_fn *sent_cb)
{
    struct net_client *r = nc->peer;
    size_t len = iov_size(iov, niov);
    ssize_t ret;

    /* an unplugged cable at either end: gone, rather than queued for a NIC that may never flush */
    if (nc->link_down || !r || r->link_down)
        return len;
    /* no frame is longer, a GSO one with its headers included; a longer one is a sender's bug */
    if (len > NET_FRAME_MAX) {
        r->rx_dropped++;
        return -EMSGSIZE;
    }
    if (nc->filters || r->filters) {
        size_t hdr = frame_hdr_len(nc, r, flags);

        filters_run(nc, NET_FILTER_TX, iov, niov, hdr);
        filters_run(r, NET_FILTER_RX, iov, niov, hdr);
    }
    if (!client_takes_now(r))
        return queue_append(r, nc, iov, niov, flags, sent_cb);
    ret = deliver(r, iov, niov, flags);
    if (ret == 0)
        return queue_append(r, nc, iov, niov, flags, sent_cb);
    if (ret < 0)
        r->rx_dropped++;
    return ret;
}

ssize_t net_read_plain(struct net_reader *rd)
{
    struct iovec iov = { rd->buf, NET_FRAME_MAX };

    rd->got = rd->readv(rd, &iov, 1);
    rd->left = rd->got > 0 ? (size_t)rd->got : 0;
    return 0;
}

ssize_t net_read_direct(struct net_client *nc, struct net_reader *rd)
{
    struct net_client *r = nc->peer;
    ssize_t ret;

    rd->got = 0;
    rd->left = 0;
    /* what net_send would do at once, with nothing (a filter, a queue) between the two */
    if (!r || nc->link_down || r->link_down || nc->filters || r->filters || !r->ops || !r->ops->receive_direct ||
        !client_takes_now(r))
        return net_read_plain(rd);
    r->delivering = true;
    ret = r->ops->receive_direct(r, rd);
    r->delivering = false;
    if (ret < 0)
        r->rx_dropped++;
    return ret;
}

/* Deliver r's queue in order while it takes frames; true when it is empty. */
static bool queue_flush(struct net_client *r)
{
    struct net_frame *f;

    if (r->delivering)
        return false;       /* its receive asked: the loop below goes on when it returns */
    while (net_vm_running() && client_can_receive(r) && (f = queue_pop(r))) {
        struct iovec iov = { f->data, f->len };
        ssize_t ret = deliver(r, &iov, 1, f->flags);

        if (ret == 0) {
            queue_push_front(r, f);
            break;
        }
        if (ret < 0)
            r->rx_dropped++;
        if (f->sent_cb)
            f->sent_cb(f->sender, ret);
        free(f);
    }
    return !r->queue;
}

void net_client_flush(struct net_client *nc)
{
    /* frames the hub held because no port could take them may now go to nc */
    if (nc->peer && nc->peer->kind == NET_CLIENT_HUBPORT)
        net_hub_flush_others(nc->peer);
    queue_flush(nc);
}

/*
 * Drop the frames in r's queue from `from` (any sender when NULL); run their callbacks or not.
 * The queue is whole again before any callback runs: a sender's callback sends its next frame
 * at once (a tap reads on), which must be queued behind what stays, not linked to a dropped one.
 */
static void queue_drop(struct net_client *r, struct net_client *from, bool callbacks)
{
    struct net_frame **pp = &r->queue, *f, *dropped = NULL, **dtail = &dropped;

    while ((f = *pp)) {
        if (from && f->sender != from) {
            pp = &f->next;
            continue;
        }
        *pp = f->next;
        r->queue_len--;
        r->queue_bytes -= f->len;
        f->next = NULL;
        *dtail = f;
        dtail = &f->next;
    }
    /* the walk ended on the last kept frame's next pointer (or the head): the new tail */
    r->queue_tail = pp;
    while ((f = dropped)) {
        dropped = f->next;
        if (callbacks && f->sent_cb)
            f->sent_cb(f->sender, -ECANCELED);
        free(f);
    }
}

void net_client_purge(struct net_client *nc)
{
    if (nc->peer)
        queue_drop(nc->peer, nc, false);
    queue_drop(nc, NULL, true);
}

/* The machine runs again: deliver what waited for it, as QEMU does on its VM state change. */
static void run_state_changed(void *opaque, bool running, enum run_state state)
{
    if (!running)
        return;
    for (struct net_client *nc = clients; nc; nc = nc->next)
        if (nc->queue)
            net_client_flush(nc);
}

/* ---- link state ---- */

bool net_peer_link_down(const struct net_client *nc)
{
    return nc->peer && nc->peer->link_down;
}

int net_set_link(const char *name, bool up, char **err)
{
    struct net_client *nc = net_client_find(name);

    if (!nc) {
        *err = xasprintf("Device '%s' not found", name);
        return -ENODEV;
    }
    nc->link_down = !up;
    if (nc->ops && nc->ops->link_changed)
        nc->ops->link_changed(nc);
    /* as QEMU's: a backend's link carries to its NIC; a hub or a backend stays as it is */
    if (nc->peer) {
        if (nc->peer->kind == NET_CLIENT_NIC)
            nc->peer->link_down = !up;
        if (nc->peer->ops && nc->peer->ops->link_changed)
            nc->peer->ops->link_changed(nc->peer);
    }
    return 0;
}

/* ---- filters ---- */

void net_filter_attach(struct net_client *nc, struct net_filter *f)
{
    struct net_filter **pp = &nc->filters;

    while (*pp)
        pp = &(*pp)->next;
    f->next = NULL;
    f->nc = nc;
    *pp = f;
}

void net_filter_detach(struct net_filter *f)
{
    if (!f->nc)
        return;
    for (struct net_filter **pp = &f->nc->filters; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    f->nc = NULL;
}

/* ---- backends ---- */

int netdev_register(struct netdev *n, char **err)
{
    if (netdev_find(n->id)) {
        *err = xasprintf("-netdev id=%s: there is already a netdev with that id", n->id);
        return -EEXIST;
    }
    n->next = netdevs;
    netdevs = n;
    n->nc.kind = n->type && !strcmp(n->type, "hubport") ? NET_CLIENT_HUBPORT : NET_CLIENT_BACKEND;
    if (!n->nc.name)
        n->nc.name = xstrdup(n->id);
    n->nc.mac_index = -1;
    client_link(&n->nc);
    return 0;
}

/*
 * nc goes (a backend at exit, a NIC unrealized): it and its peer part. Its frames waiting at
 * the peer go without its callbacks; the frames waiting for it go too, and their senders (the
 * peer, which stays) hear of each, so that one waiting to send reads on.
 */
static void client_part(struct net_client *nc)
{
    struct net_client *p = nc->peer;

    if (p) {
        queue_drop(p, nc, false);
        p->peer = NULL;
        nc->peer = NULL;
        if (p->kind != NET_CLIENT_NIC)
            container_of(p, struct netdev, nc)->nic = NULL;
    }
    queue_drop(nc, NULL, true);
    while (nc->filters)
        net_filter_detach(nc->filters);
    client_unlink(nc);
}

void netdev_unregister(struct netdev *n)
{
    for (struct netdev **pp = &netdevs; *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            break;
        }
    }
    client_part(&n->nc);
    free(n->nc.name);
    n->nc.name = NULL;
}

struct netdev *netdev_find(const char *id)
{
    for (struct netdev *n = netdevs; n; n = n->next)
        if (!strcmp(n->id, id))
            return n;
    return NULL;
}

/* netdev= properties find their backend here (hw/core/props.c asks through the hook) */
static int netdev_prop_resolve(const char *id, void **out)
{
    struct netdev *n = netdev_find(id);

    if (!n)
        return -ENOENT;
    if (n->nic)
        return -EBUSY;
    *out = n;
    return 0;
}

static void __attribute__((constructor)) netdev_prop_register(void)
{
    props_set_netdev_resolver(netdev_prop_resolve);
}

void netdev_free(struct netdev *n)
{
    netdev_unregister(n);
    if (n->nc.ops && n->nc.ops->cleanup)
        n->nc.ops->cleanup(&n->nc);
    free(n);
}

/* ---- NICs ---- */

const struct device_type *net_nic_type_next(const struct device_type *t)
{
    while ((t = device_type_next(t))) {
        if (!t->user_creatable || t->object || !t->props)
            continue;
        for (const struct prop_desc *p = t->props; p->name; p++)
            if (p->type == PROP_NETDEV)
                return t;
    }
    return NULL;
}

/* QEMU's default MAC for a NIC given none; a NIC given one of them holds it. -1: not one of them */
static int mac_take(struct mac_addr *mac)
{
    if (!mac->set) {
        unsigned i;

        for (i = 0; i < ARRAY_SIZE(mac_held) && mac_held[i]; i++)
            ;
        if (i == ARRAY_SIZE(mac_held))
            return -ENOSPC;
        memcpy(mac->a, mac_default_prefix, 5);
        mac->a[5] = MAC_DEFAULT_FIRST + i;
        mac->set = true;
    }
    if (memcmp(mac->a, mac_default_prefix, 5) || mac->a[5] < MAC_DEFAULT_FIRST)
        return -1;
    mac_held[mac->a[5] - MAC_DEFAULT_FIRST]++;
    return mac->a[5] - MAC_DEFAULT_FIRST;
}

int nic_init(struct net_client *nc, const struct net_client_ops *ops, struct device *dev,
             struct netdev *netdev, struct mac_addr *mac, char **err)
{
    const char *model = dev ? dev->type->name : ops->type;
    unsigned same = 0;
    int idx;

    if (netdev && (netdev->nic || netdev->nc.peer)) {
        *err = xasprintf("%s: netdev '%s' is already in use", model, netdev->id);
        return -EBUSY;
    }
    idx = mac_take(mac);
    if (idx == -ENOSPC) {
        *err = xasprintf("%s: every default MAC address is taken; give this NIC its own (mac=)", model);
        return -ENOSPC;
    }
    nc->ops = ops;
    nc->kind = NET_CLIENT_NIC;
    nc->model = xstrdup(model);
    nc->mac_index = idx;
    memcpy(nc->macaddr, mac->a, 6);
    /* QEMU's name: the device's id, else MODEL.N, N counting the NICs of that model */
    if (dev && dev->id) {
        nc->name = xstrdup(dev->id);
    } else {
        for (struct net_client *c = clients; c; c = c->next)
            if (c->model && !strcmp(c->model, model))
                same++;
        nc->name = xasprintf("%s.%u", model, same);
    }
    if (netdev) {
        netdev->nic = dev;
        nc->peer = &netdev->nc;
        netdev->nc.peer = nc;
    }
    client_link(nc);
    return 0;
}

void nic_cleanup(struct net_client *nc)
{
    if (!nc->name)
        return;         /* nic_init never ran, or failed */
    client_part(nc);
    if (nc->mac_index >= 0 && mac_held[nc->mac_index])
        mac_held[nc->mac_index]--;
    nc->mac_index = -1;
    free(nc->name);
    free(nc->model);
    nc->name = nc->model = NULL;
}

/* ---- info network ---- */

void net_text_printf(struct net_text *t, const char *fmt, ...)
{
    size_t room = t->len < t->size ? t->size - t->len : 0;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += n;
}

void net_text_client(struct net_text *t, struct net_client *nc)
{
    char info[512] = "";

    if (nc->ops && nc->ops->info)
        nc->ops->info(nc, info, sizeof(info));
    else if (nc->kind == NET_CLIENT_NIC)
        snprintf(info, sizeof(info), "model=%s,macaddr=%02x:%02x:%02x:%02x:%02x:%02x", nc->model,
                 nc->macaddr[0], nc->macaddr[1], nc->macaddr[2], nc->macaddr[3], nc->macaddr[4],
                 nc->macaddr[5]);
    net_text_printf(t, "%s: index=0,type=%s,%s\n", nc->name,
                    nc->kind == NET_CLIENT_NIC ? "nic" : nc->ops ? nc->ops->type : "?", info);
    if (nc->filters)
        net_text_printf(t, "filters:\n");
    for (struct net_filter *f = nc->filters; f; f = f->next) {
        info[0] = '\0';
        if (f->info)
            f->info(f, info, sizeof(info));
        net_text_printf(t, "  - %s: type=%s%s\n", f->name, f->type, info);
    }
}

size_t net_info(char *buf, size_t len)
{
    struct net_text t = { buf, len, 0 };

    if (len)
        buf[0] = '\0';
    net_hub_info(&t);
    for (struct net_client *nc = clients; nc; nc = nc->next) {
        if (net_hub_has_client(nc))
            continue;
        /* a backend with a NIC comes under the NIC */
        if (!nc->peer || nc->kind == NET_CLIENT_NIC)
            net_text_client(&t, nc);
        if (nc->peer && nc->kind == NET_CLIENT_NIC) {
            net_text_printf(&t, " \\ ");
            net_text_client(&t, nc->peer);
        }
    }
    return t.len;
}

/* ---- at exit ---- */

void net_cleanup(void)
{
    while (netdevs)
        netdev_free(netdevs);
    net_hub_cleanup();
    if (listening)
        run_state_remove_listener(run_state_changed, NULL);
    listening = false;
    memset(mac_held, 0, sizeof(mac_held));
}
