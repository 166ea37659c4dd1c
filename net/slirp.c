/* slirp.c: -netdev user, QEMU's user-mode network through Debian's libslirp: its options, its sockets and timers in skiff's main loop, hostfwd= and guestfwd=, and the monitor's hostfwd_add, hostfwd_remove and info usernet */
#define LOG_PREFIX ""
#include "net/net-internal.h"
#include "net/slirp.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/opts.h"

#ifdef CONFIG_SLIRP

#include "chardev/chardev.h"    // chardev_new_legacy, chardev_attach, chardev_write_all
#include "util/main-loop.h"

#include <arpa/inet.h>
#include <libslirp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

/* Built with AddressSanitizer (GCC says so one way, clang another) */
#if defined(__SANITIZE_ADDRESS__)
#define SLIRP_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLIRP_LSAN 1
#endif
#endif
#ifdef SLIRP_LSAN
#include <sanitizer/lsan_interface.h>   // __lsan_disable, __lsan_enable
#endif

#define SLIRP_EVENTS_MAX    64      /* socket events taken from the stack's epoll at once */
#define SLIRP_NAME_MAX      255     /* QEMU's limit on hostname=, domainname=, tftp-server-name= */
#define SLIRP_DNSSEARCH_MAX 16

/* One socket of the stack's, as the last slirp_pollfds_fill asked for it */
struct slirp_pollfd {
    int fd;
    int events;                 /* SLIRP_POLL_* wanted */
    int revents;                /* SLIRP_POLL_* seen since */
};

/* A libslirp timer (its router advertisements), on the guest's clock as QEMU's */
struct slirp_timer {
    struct net_slirp *s;
    SlirpTimerId id;
    void *cb_opaque;
    struct timer *t;
    struct slirp_timer *next;
};

/* A guestfwd= rule: where the guest connects, and the chardev its connections go to */
struct slirp_guestfwd {
    struct net_slirp *s;
    struct in_addr addr;
    int port;
    struct chardev *chr;        /* the chardev form; NULL for cmd: */
    struct slirp_guestfwd *next;
};

struct net_slirp {
    struct netdev nd;           /* first: the core frees it as a netdev */
    Slirp *slirp;
    /*
     * The stack's sockets are watched in an epoll set of their own, which the main loop watches:
     * libslirp closes and opens sockets as it likes, and a number it closed must never reach the
     * main loop's table, where another part of skiff may have it next.
     */
    int epfd;
    struct slirp_pollfd *pfds;
    int npfds, cap_pfds;
    int *watched;               /* the fds in epfd after the last fill */
    int *asked;                 /* the fds the fill in hand asks for (swapped with watched) */
    int nwatched, cap_watched;
    /*
     * What epfd asks of each fd number as the last fill left it (0: not in epfd, else the epoll
     * events with SLIRP_WATCHED), and the fill that asked for it last: a fill that asks the same
     * of the same sockets as the one before costs no system call.
     */
    struct slirp_fd_state {
        uint32_t ev;
        uint32_t fill;
    } *by_fd;
    int cap_by_fd;
    uint32_t fill;
    /*
     * libslirp opened or closed a socket since the last fill (it says so through register_poll_fd
     * and unregister_poll_fd; a hostfwd rule's listening socket comes without a word, so the rules
     * set it too): an fd number may now be another socket, which epfd does not hold.
     */
    bool sockets_changed;
    struct timer *poll_timer;   /* libslirp's TCP timers: when it next wants polling */
    struct bh *sync_bh;         /* fill again soon (after input, or when libslirp asks) */
    bool in_poll;
    struct slirp_timer *timers;
    struct slirp_guestfwd *guestfwds;
    struct in_addr net;
    uint8_t *buf;
    char info[64];
    struct net_slirp *next;
};

/* Every user stack, in the order made: the monitor's commands take the first when not told */
static struct net_slirp *stacks;

static struct net_slirp *slirp_of(struct net_client *nc)
{
    return (struct net_slirp *)container_of(nc, struct netdev, nc);
}

/* ---- the stack's sockets in the main loop ---- */

static int slirp_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;

    if (s->npfds == s->cap_pfds) {
        s->cap_pfds = s->cap_pfds ? s->cap_pfds * 2 : 16;
        s->pfds = xrealloc(s->pfds, s->cap_pfds * sizeof(*s->pfds));
    }
    s->pfds[s->npfds] = (struct slirp_pollfd){ fd, events, 0 };
    return s->npfds++;
}

static int slirp_get_revents(int idx, void *opaque)
{
    struct net_slirp *s = opaque;

    return idx >= 0 && idx < s->npfds ? s->pfds[idx].revents : 0;
}

static uint32_t slirp_to_epoll(int ev)
{
    return (ev & SLIRP_POLL_IN ? EPOLLIN : 0) | (ev & SLIRP_POLL_OUT ? EPOLLOUT : 0) |
           (ev & SLIRP_POLL_PRI ? EPOLLPRI : 0);
}

static int slirp_from_epoll(uint32_t ev)
{
    return (ev & EPOLLIN ? SLIRP_POLL_IN : 0) | (ev & EPOLLOUT ? SLIRP_POLL_OUT : 0) |
           (ev & EPOLLPRI ? SLIRP_POLL_PRI : 0) | (ev & EPOLLERR ? SLIRP_POLL_ERR : 0) |
           (ev & EPOLLHUP ? SLIRP_POLL_HUP : 0);
}

#define SLIRP_WATCHED   (1u << 31)

/* Room in the table by fd number for fd */
static void slirp_by_fd_grow(struct net_slirp *s, int fd)
{
    int cap = s->cap_by_fd ? s->cap_by_fd : 64;

    if (fd < s->cap_by_fd)
        return;
    while (cap <= fd)
        cap *= 2;
    s->by_fd = xrealloc(s->by_fd, cap * sizeof(*s->by_fd));
    memset(s->by_fd + s->cap_by_fd, 0, (cap - s->cap_by_fd) * sizeof(*s->by_fd));
    s->cap_by_fd = cap;
}

/*
 * Ask libslirp which sockets it wants watched and for what, and make epfd say the same. An fd
 * asked for what epfd already asks of it costs nothing, unless sockets came or went since the
 * last fill: then every fd is told again, MOD first, as a number libslirp closed and reused is
 * not in the set any more (ENOENT) and is added as the new socket it now is.
 */
static void slirp_sync(struct net_slirp *s)
{
    uint32_t timeout = UINT32_MAX;
    bool all = s->sockets_changed;
    int nasked = 0;
    int *t;

    s->sockets_changed = false;
    s->npfds = 0;
    slirp_pollfds_fill(s->slirp, &timeout, slirp_add_poll, s);
    if (++s->fill == 0) {
        for (int i = 0; i < s->cap_by_fd; i++)
            s->by_fd[i].fill = 0;
        s->fill = 1;
    }
    if (s->npfds > s->cap_watched) {
        s->cap_watched = s->npfds;
        s->watched = xrealloc(s->watched, s->cap_watched * sizeof(*s->watched));
        s->asked = xrealloc(s->asked, s->cap_watched * sizeof(*s->asked));
    }
    for (int i = 0; i < s->npfds; i++) {
        int fd = s->pfds[i].fd;
        struct epoll_event ev = { .events = slirp_to_epoll(s->pfds[i].events), .data.fd = fd };

        if (fd < 0)
            continue;
        slirp_by_fd_grow(s, fd);
        if (s->by_fd[fd].fill == s->fill)
            continue;           /* asked for twice in one fill */
        s->by_fd[fd].fill = s->fill;
        s->asked[nasked++] = fd;
        if (!all && s->by_fd[fd].ev == (ev.events | SLIRP_WATCHED))
            continue;
        s->by_fd[fd].ev = ev.events | SLIRP_WATCHED;
        if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT &&
            epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            log_warn("netdev '%s': cannot watch a socket: %s", s->nd.id, strerror(errno));
    }
    /* the last fill's fds that this one did not ask for leave the set (or left it on close) */
    for (int i = 0; i < s->nwatched; i++) {
        int fd = s->watched[i];

        if (s->by_fd[fd].fill != s->fill) {
            s->by_fd[fd].ev = 0;
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);    /* gone already: fine */
        }
    }
    t = s->watched;
    s->watched = s->asked;
    s->asked = t;
    s->nwatched = nasked;
    /* a guestfwd= chardev whose input waited for a connection with room reads on */
    for (struct slirp_guestfwd *g = s->guestfwds; g; g = g->next)
        if (g->chr && slirp_socket_can_recv(s->slirp, g->addr, g->port) > 0)
            chardev_accept_input(g->chr);
    /*
     * When libslirp wants polling again (every 2 ms while a delayed ACK waits): a poll already
     * due sooner stays. Each frame from the guest fills again, and moving the poll out each
     * time held the guest's ACKs back for as long as it sent faster than that (QEMU polls
     * libslirp on every pass of its main loop).
     */
    if (timeout == UINT32_MAX) {
        timer_del(s->poll_timer);
    } else {
        int64_t at = clock_get_ns(CLK_REALTIME) + (int64_t)timeout * 1000000;

        if (!timer_pending(s->poll_timer) || timer_expire_time(s->poll_timer) > at)
            timer_mod(s->poll_timer, at);
    }
}

/* Let libslirp serve what its sockets have (and run its TCP timers), then watch again. */
static void slirp_poll(struct net_slirp *s)
{
    struct epoll_event evs[SLIRP_EVENTS_MAX];
    int n;

    if (s->in_poll)
        return;
    s->in_poll = true;
    do
        n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), 0);
    while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s->npfds; j++)
            if (s->pfds[j].fd == evs[i].data.fd)
                s->pfds[j].revents |= slirp_from_epoll(evs[i].events);
    slirp_pollfds_poll(s->slirp, n < 0, slirp_get_revents, s);
    for (int j = 0; j < s->npfds; j++)
        s->pfds[j].revents = 0;
    s->in_poll = false;
    slirp_sync(s);
}

static void slirp_epoll_event(void *opaque, uint32_t events)
{
    slirp_poll(opaque);
}

static void slirp_poll_timer(void *opaque)
{
    slirp_poll(opaque);
}

static void slirp_sync_bh(void *opaque)
{
    struct net_slirp *s = opaque;

    if (!s->in_poll)
        slirp_sync(s);
}

/* ---- libslirp's callbacks ---- */

/* A frame for the guest: as QEMU's, one the NIC cannot take is queued (TCP sends again if dropped) */
static ssize_t slirp_cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *s = opaque;
    ssize_t r = net_send_buf(&s->nd.nc, buf, len, NULL);

    return r < 0 ? r : (ssize_t)len;
}

static void slirp_cb_guest_error(const char *msg, void *opaque)
{
    struct net_slirp *s = opaque;

    log_guest_error("netdev '%s': %s", s->nd.id, msg);
}

static int64_t slirp_cb_clock_get_ns(void *opaque)
{
    return clock_get_ns(CLK_VIRTUAL);
}

static void slirp_timer_fired(void *opaque)
{
    struct slirp_timer *st = opaque;

    slirp_handle_timer(st->s->slirp, st->id, st->cb_opaque);
    bh_schedule(st->s->sync_bh);
}

static void *slirp_cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    struct net_slirp *s = opaque;
    struct slirp_timer *st = xnew(struct slirp_timer);

    st->s = s;
    st->id = id;
    st->cb_opaque = cb_opaque;
    st->t = timer_new(CLK_VIRTUAL, slirp_timer_fired, st);
    st->next = s->timers;
    s->timers = st;
    return st;
}

static void slirp_cb_timer_free(void *timer, void *opaque)
{
    struct net_slirp *s = opaque;

    for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            struct slirp_timer *st = *p;

            *p = st->next;
            timer_free(st->t);
            free(st);
            return;
        }
    }
}

static void slirp_cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    timer_mod(((struct slirp_timer *)timer)->t, expire_ms * 1000000);
}

/* Sockets are watched through slirp_pollfds_fill; these say that one came or went */
static void slirp_cb_register_poll_fd(int fd, void *opaque)
{
    struct net_slirp *s = opaque;

    s->sockets_changed = true;
}

static void slirp_cb_unregister_poll_fd(int fd, void *opaque)
{
    struct net_slirp *s = opaque;

    s->sockets_changed = true;
}

/* Room again in a socket's buffer, or new sockets: fill again soon */
static void slirp_cb_notify(void *opaque)
{
    struct net_slirp *s = opaque;

    bh_schedule(s->sync_bh);
}

static void slirp_cb_init_completed(Slirp *slirp, void *opaque)
{
}

static const SlirpCb slirp_callbacks = {
    .send_packet = slirp_cb_send_packet,
    .guest_error = slirp_cb_guest_error,
    .clock_get_ns = slirp_cb_clock_get_ns,
    .timer_free = slirp_cb_timer_free,
    .timer_mod = slirp_cb_timer_mod,
    .register_poll_fd = slirp_cb_register_poll_fd,
    .unregister_poll_fd = slirp_cb_unregister_poll_fd,
    .notify = slirp_cb_notify,
    .init_completed = slirp_cb_init_completed,
    .timer_new_opaque = slirp_cb_timer_new_opaque,
};

/* ---- frames from the guest ---- */

static ssize_t slirp_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct net_slirp *s = slirp_of(nc);
    size_t len = iov_size(iov, niov);

    if (flags & NET_FRAME_VNET_HDR)
        return -EINVAL;         /* the core gives none to a backend without has_vnet_hdr */
    if (len > NET_FRAME_MAX)
        return -EMSGSIZE;
    iov_to_buf(iov, niov, 0, s->buf, len);
    slirp_input(s->slirp, s->buf, (int)len);
    /* the frame may have opened a connection or filled a socket's buffer */
    bh_schedule(s->sync_bh);
    return len;
}

static void slirp_info(struct net_client *nc, char *buf, size_t len)
{
    snprintf(buf, len, "%s", slirp_of(nc)->info);
}

static void slirp_guestfwd_free(struct slirp_guestfwd *g)
{
    if (g->chr)
        chardev_detach(g->chr, g);
    free(g);
}

static void slirp_cleanup_stack(struct net_client *nc)
{
    struct net_slirp *s = slirp_of(nc);

    for (struct net_slirp **p = &stacks; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    while (s->guestfwds) {
        struct slirp_guestfwd *g = s->guestfwds;

        s->guestfwds = g->next;
        if (s->slirp)
            slirp_remove_guestfwd(s->slirp, g->addr, g->port);
        slirp_guestfwd_free(g);
    }
    if (s->slirp)
        slirp_cleanup(s->slirp);
    s->slirp = NULL;
    while (s->timers) {
        struct slirp_timer *st = s->timers;

        s->timers = st->next;
        timer_free(st->t);
        free(st);
    }
    if (s->epfd >= 0) {
        loop_del_fd(s->epfd);
        close(s->epfd);
        s->epfd = -1;
    }
    if (s->poll_timer)
        timer_free(s->poll_timer);
    s->poll_timer = NULL;
    if (s->sync_bh)
        bh_free(s->sync_bh);
    s->sync_bh = NULL;
    free(s->pfds);
    free(s->watched);
    free(s->asked);
    free(s->by_fd);
    free(s->buf);
    s->pfds = NULL;
    s->watched = NULL;
    s->asked = NULL;
    s->by_fd = NULL;
    s->buf = NULL;
}

static const struct net_client_ops slirp_ops = {
    .type = "user",
    .receive = slirp_receive,
    .info = slirp_info,
    .cleanup = slirp_cleanup_stack,
};

/* ---- forwarding rules ---- */

/* The text of *p up to sep (not included) into buf, *p past it: QEMU's get_str_sep. false when sep is not there. */
static bool take_until(char *buf, size_t size, const char **p, char sep)
{
    const char *end = strchr(*p, sep);
    size_t n;

    if (!end)
        return false;
    n = MIN((size_t)(end - *p), size - 1);
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = end + 1;
    return true;
}

/* A port number in [lo, 65535], the whole string */
static bool port_parse(const char *s, int lo, int *out)
{
    char *end;
    long v;

    if (!*s)
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > 65535)
        return false;
    *out = (int)v;
    return true;
}

/* [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, as QEMU's; 0, or -EINVAL/-EADDRINUSE with *err in its words */
static int slirp_hostfwd(struct net_slirp *s, const char *rule, char **err)
{
    const char *p = rule, *why;
    char buf[256];
    struct in_addr host = { 0 }, guest = { 0 };
    int host_port, guest_port, udp;

    if (!take_until(buf, sizeof(buf), &p, ':')) {
        why = "No : separators";
        goto bad;
    }
    if (!strcmp(buf, "tcp") || !buf[0]) {
        udp = 0;
    } else if (!strcmp(buf, "udp")) {
        udp = 1;
    } else {
        why = "Bad protocol name";
        goto bad;
    }
    if (!take_until(buf, sizeof(buf), &p, ':')) {
        why = "Missing : separator";
        goto bad;
    }
    if (buf[0] && !inet_aton(buf, &host)) {
        why = "Bad host address";
        goto bad;
    }
    if (!take_until(buf, sizeof(buf), &p, '-')) {
        why = "Bad host port separator";
        goto bad;
    }
    if (!port_parse(buf, 0, &host_port)) {
        why = "Bad host port";
        goto bad;
    }
    if (!take_until(buf, sizeof(buf), &p, ':')) {
        why = "Missing guest address";
        goto bad;
    }
    if (buf[0] && !inet_aton(buf, &guest)) {
        why = "Bad guest address";
        goto bad;
    }
    if (!port_parse(p, 1, &guest_port)) {
        why = "Bad guest port";
        goto bad;
    }
    /* a guest address of 0 is the first DHCP address (libslirp's rule) */
    if (slirp_add_hostfwd(s->slirp, udp, host, host_port, guest, guest_port) < 0) {
        *err = xasprintf("Could not set up host forwarding rule '%s'", rule);
        return -EADDRINUSE;
    }
    s->sockets_changed = true;  /* its listening socket came without register_poll_fd */
    bh_schedule(s->sync_bh);
    return 0;
bad:
    *err = xasprintf("Invalid host forwarding rule '%s' (%s)", rule, why);
    return -EINVAL;
}

/*
 * guestfwd= data from the guest's connection: to the chardev, all of it, waiting for its reader
 * as QEMU's qemu_chr_fe_write_all does. libslirp takes the call to have written everything
 * (it ignores what is returned), so writing what fits and dropping the rest would lose the
 * guest's data; chardev_write_all gives up only on a reader gone or 30 s without progress.
 */
static ssize_t slirp_guestfwd_write(const void *buf, size_t len, void *opaque)
{
    struct slirp_guestfwd *g = opaque;

    chardev_write_all(g->chr, buf, len);
    return len;
}

static int slirp_guestfwd_can_read(void *opaque)
{
    struct slirp_guestfwd *g = opaque;
    size_t n = slirp_socket_can_recv(g->s->slirp, g->addr, g->port);

    return (int)MIN(n, (size_t)INT32_MAX);
}

static void slirp_guestfwd_read(void *opaque, const uint8_t *buf, int len)
{
    struct slirp_guestfwd *g = opaque;

    slirp_socket_recv(g->s->slirp, g->addr, g->port, buf, len);
    bh_schedule(g->s->sync_bh);
}

static const struct chardev_fe_ops slirp_guestfwd_fe = {
    .can_read = slirp_guestfwd_can_read,
    .read = slirp_guestfwd_read,
};

/*
 * [tcp]:[server]:port-cmd:COMMAND (each connection of the guest to server:port runs COMMAND, its
 * stdin and stdout the connection) or [tcp]:[server]:port-CHARDEV (QEMU's chardev short forms:
 * tcp:HOST:PORT, unix:PATH, file:PATH ...; the guest's connections share it), as QEMU's.
 */
static int slirp_guestfwd(struct net_slirp *s, const char *rule, char **err)
{
    const char *p = rule;
    char buf[256], id[32];
    struct in_addr server = { 0 };
    struct slirp_guestfwd *g;
    char *e = NULL;
    int port;

    if (!take_until(buf, sizeof(buf), &p, ':') || (strcmp(buf, "tcp") && buf[0]) ||
        !take_until(buf, sizeof(buf), &p, ':') || (buf[0] && !inet_aton(buf, &server)) ||
        !take_until(buf, sizeof(buf), &p, '-') || !port_parse(buf, 1, &port) || !*p) {
        *err = xasprintf("Invalid guest forwarding rule '%s'", rule);
        return -EINVAL;
    }
    if (!server.s_addr)
        server.s_addr = s->net.s_addr | htonl(0x0204);    /* libslirp's default: 10.0.2.4 */
    g = xnew(struct slirp_guestfwd);
    g->s = s;
    g->addr = server;
    g->port = port;
    if (!strncmp(p, "cmd:", 4)) {
        if (slirp_add_exec(s->slirp, p + 4, &g->addr, port) < 0) {
            *err = xasprintf("Conflicting/invalid host:port in guest forwarding rule '%s'", rule);
            free(g);
            return -EINVAL;
        }
    } else {
        snprintf(id, sizeof(id), "guestfwd.tcp.%d", port);
        g->chr = chardev_new_legacy(p, id, &e);
        if (!g->chr) {
            *err = xasprintf("Could not open guest forwarding device '%s'%s%s", id, e ? ": " : "", e ? e : "");
            free(e);
            free(g);
            return -EINVAL;
        }
        if (slirp_add_guestfwd(s->slirp, slirp_guestfwd_write, g, &g->addr, port) < 0) {
            *err = xasprintf("Conflicting/invalid host:port in guest forwarding rule '%s'", rule);
            free(g);
            return -EINVAL;
        }
        chardev_attach(g->chr, &slirp_guestfwd_fe, g);
    }
    g->next = s->guestfwds;
    s->guestfwds = g;
    return 0;
}

/* ---- -netdev user ---- */

/* QEMU's addresses for net= given without a mask: by the address's class */
static uint32_t classful_mask(uint32_t a)
{
    if (!(a & 0x80000000))
        return 0xff000000;
    if ((a & 0xfff00000) == 0xac100000)
        return 0xfff00000;      /* 172.16.0.0/12 */
    if ((a & 0xc0000000) == 0x80000000)
        return 0xffff0000;
    if ((a & 0xffff0000) == 0xc0a80000)
        return 0xffff0000;      /* 192.168.0.0/16 */
    if ((a & 0xffff0000) == 0xc6120000)
        return 0xfffe0000;      /* 198.18.0.0/15 */
    if ((a & 0xe0000000) == 0xe0000000)
        return 0xffffff00;
    return 0xfffffff0;
}

/* net=ADDR[/BITS|/MASK] */
static int net_parse(const char *v, struct in_addr *net, struct in_addr *mask, char **err)
{
    const char *slash = strchr(v, '/');
    char addr[64];
    char *end;
    long bits;

    snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - v) : (int)strlen(v), v);
    if (!inet_aton(addr, net)) {
        *err = xasprintf("user: net=%s: Failed to parse netmask (give net=10.0.2.0/24)", v);
        return -EINVAL;
    }
    if (!slash) {
        mask->s_addr = htonl(classful_mask(ntohl(net->s_addr)));
    } else {
        bits = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1) {
            if (!inet_aton(slash + 1, mask)) {
                *err = xasprintf("user: net=%s: Failed to parse netmask (trailing chars)", v);
                return -EINVAL;
            }
        } else if (bits < 4 || bits > 32) {
            *err = xasprintf("user: net=%s: Invalid netmask provided (must be in range 4-32)", v);
            return -EINVAL;
        } else {
            mask->s_addr = htonl((uint32_t)(0xffffffffull << (32 - bits)));
        }
    }
    net->s_addr &= mask->s_addr;
    return 0;
}

/* An address option in the network (host=, dns=, dhcpstart=), or its default: the network + dflt. QEMU's words name it `what` when it cannot be read, `who` when it is outside. */
static int addr_in_net(struct opts *o, const char *key, const char *what, const char *who, struct in_addr net,
                       struct in_addr mask, uint32_t dflt, struct in_addr *out, char **err)
{
    const char *v = opts_get(o, key);

    if (!v) {
        out->s_addr = net.s_addr | (htonl(dflt) & ~mask.s_addr);
        return 0;
    }
    if (!inet_aton(v, out)) {
        *err = xasprintf("user: %s=%s: Failed to parse %s", key, v, what);
        return -EINVAL;
    }
    if ((out->s_addr & mask.s_addr) != net.s_addr) {
        *err = xasprintf("user: %s=%s: %s doesn't belong to network", key, v, who);
        return -EINVAL;
    }
    return 0;
}

static bool in6_same_net(const struct in6_addr *a, const struct in6_addr *b, int bits)
{
    for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
        uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

        if ((a->s6_addr[i] & m) != (b->s6_addr[i] & m))
            return false;
    }
    return true;
}

/* ipv6-net=PREFIX[/LEN] (or QEMU's older ipv6-prefix= and ipv6-prefixlen=), ipv6-host=, ipv6-dns= */
static int ipv6_parse(struct opts *o, SlirpConfig *cfg, char **err)
{
    const char *net = opts_get(o, "ipv6-net"), *prefix = opts_get(o, "ipv6-prefix");
    const char *host = opts_get(o, "ipv6-host"), *dns = opts_get(o, "ipv6-dns");
    uint64_t len = 64;
    char addr[INET6_ADDRSTRLEN + 1];
    bool len_given = opts_has(o, "ipv6-prefixlen");

    if (opts_get_uint(o, "ipv6-prefixlen", &len) < 0) {
        *err = xasprintf("user: ipv6-prefixlen=%s: a number from 0 to 126", opts_get(o, "ipv6-prefixlen"));
        return -EINVAL;
    }
    if (net && (prefix || len_given)) {
        *err = xstrdup("user: ipv6-prefix= and ipv6-prefixlen= cannot be given with ipv6-net=");
        return -EINVAL;
    }
    if (net) {
        const char *slash = strchr(net, '/');
        char *end;

        if (slash) {
            len = strtoull(slash + 1, &end, 10);
            if (*end || end == slash + 1)
                len = 1000;
        }
        snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - net) : (int)strlen(net), net);
    } else {
        snprintf(addr, sizeof(addr), "%s", prefix ? prefix : "fec0::");
    }
    if (inet_pton(AF_INET6, addr, &cfg->vprefix_addr6) != 1) {
        *err = xasprintf("user: %s: Failed to parse IPv6 prefix", net ? net : prefix);
        return -EINVAL;
    }
    if (len > 126) {
        *err = xstrdup("user: Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)");
        return -EINVAL;
    }
    cfg->vprefix_len = (uint8_t)len;
    cfg->vhost6 = cfg->vprefix_addr6;
    cfg->vhost6.s6_addr[15] |= 2;
    cfg->vnameserver6 = cfg->vprefix_addr6;
    cfg->vnameserver6.s6_addr[15] |= 3;
    if (host && inet_pton(AF_INET6, host, &cfg->vhost6) != 1) {
        *err = xasprintf("user: ipv6-host=%s: Failed to parse IPv6 host", host);
        return -EINVAL;
    }
    if (!in6_same_net(&cfg->vprefix_addr6, &cfg->vhost6, (int)len)) {
        *err = xasprintf("user: ipv6-host=%s: IPv6 Host doesn't belong to network", host);
        return -EINVAL;
    }
    if (dns && inet_pton(AF_INET6, dns, &cfg->vnameserver6) != 1) {
        *err = xasprintf("user: ipv6-dns=%s: Failed to parse IPv6 DNS", dns);
        return -EINVAL;
    }
    if (!in6_same_net(&cfg->vprefix_addr6, &cfg->vnameserver6, (int)len)) {
        *err = xasprintf("user: ipv6-dns=%s: IPv6 DNS doesn't belong to network", dns);
        return -EINVAL;
    }
    return 0;
}

/* A name option of at most SLIRP_NAME_MAX bytes (and not empty where `nonempty`) */
static int name_opt(struct opts *o, const char *key, bool nonempty, const char **out, char **err)
{
    *out = opts_get(o, key);
    if (*out && nonempty && !**out) {
        *err = xasprintf("user: '%s' parameter cannot be empty", key);
        return -EINVAL;
    }
    if (*out && strlen(*out) > SLIRP_NAME_MAX) {
        *err = xasprintf("user: '%s' parameter cannot exceed %d bytes", key, SLIRP_NAME_MAX);
        return -EINVAL;
    }
    return 0;
}

/* Every value of a key that may repeat (hostfwd=, guestfwd=, dnssearch=), in order; marks them used */
static int opts_all(struct opts *o, const char *key, const char **vals, int max)
{
    int n = 0;

    for (int i = 0; i < o->n; i++) {
        if (strcmp(o->v[i].key, key))
            continue;
        o->v[i].used = true;
        if (n < max)
            vals[n] = o->v[i].val;
        n++;
    }
    return n;
}

/* ipv4= and ipv6=, as QEMU's: both on by default; turning one on alone turns the other off */
static int ip_versions(struct opts *o, bool *v4, bool *v6, char **err)
{
    bool has4 = opts_has(o, "ipv4"), has6 = opts_has(o, "ipv6"), on4 = true, on6 = true;

    if (opts_get_bool(o, "ipv4", &on4) < 0 || opts_get_bool(o, "ipv6", &on6) < 0) {
        *err = xasprintf("user: Parameter '%s' expects 'on' or 'off'",
                         opts_get_bool(o, "ipv4", &on4) < 0 ? "ipv4" : "ipv6");
        return -EINVAL;
    }
    *v4 = !((has6 && on6 && !has4) || (has4 && !on4));
    *v6 = !((has4 && on4 && !has6) || (has6 && !on6));
    if (!*v4 && !*v6) {
        *err = xstrdup("user: IPv4 and IPv6 disabled");
        return -EINVAL;
    }
    return 0;
}

static int slirp_init_netdev(struct opts *o, const char *id, struct netdev **out, char **err)
{
    SlirpConfig cfg = { .version = 4 };
    struct in_addr net, mask, host, dns, dhcp;
    const char *hostname, *domainname, *tftp_name, *v;
    const char *dnssearch[SLIRP_DNSSEARCH_MAX + 1] = { NULL };
    const char **fwds = NULL;
    struct net_slirp *s;
    bool v4, v6, restricted = false;
    int n, r;

    if (opts_has(o, "smb") || opts_has(o, "smbserver")) {
        *err = xstrdup("user: skiff has no smb= (it would need Samba); share files with tftp= or a forwarded "
                       "port instead");
        return -ENOTSUP;
    }
    if ((r = ip_versions(o, &v4, &v6, err)) < 0)
        return r;
    if (!v4 && (opts_has(o, "net") || opts_has(o, "host") || opts_has(o, "dns") || opts_has(o, "dhcpstart"))) {
        *err = xstrdup("user: IPv4 disabled but netmask/host/dns provided");
        return -EINVAL;
    }
    if (!v6 && (opts_has(o, "ipv6-net") || opts_has(o, "ipv6-prefix") || opts_has(o, "ipv6-prefixlen") ||
                opts_has(o, "ipv6-host") || opts_has(o, "ipv6-dns"))) {
        *err = xstrdup("user: IPv6 disabled but prefix/host6/dns6 provided");
        return -EINVAL;
    }
    if (opts_get_bool(o, "restrict", &restricted) < 0) {
        *err = xstrdup("user: Parameter 'restrict' expects 'on' or 'off'");
        return -EINVAL;
    }
    inet_aton("10.0.2.0", &net);
    inet_aton("255.255.255.0", &mask);
    if ((v = opts_get(o, "net")) && net_parse(v, &net, &mask, err) < 0)
        return -EINVAL;
    if (addr_in_net(o, "host", "host", "Host", net, mask, 0x0202, &host, err) < 0 ||
        addr_in_net(o, "dns", "DNS", "DNS", net, mask, 0x0203, &dns, err) < 0 ||
        addr_in_net(o, "dhcpstart", "DHCP start address", "DHCP", net, mask, 0x020f, &dhcp, err) < 0)
        return -EINVAL;
    if (dns.s_addr == host.s_addr) {
        *err = xstrdup("user: DNS must be different from host");
        return -EINVAL;
    }
    if (dhcp.s_addr == host.s_addr || dhcp.s_addr == dns.s_addr) {
        *err = xstrdup("user: DHCP must be different from host and DNS");
        return -EINVAL;
    }
    if (v6 && ipv6_parse(o, &cfg, err) < 0)
        return -EINVAL;
    if (name_opt(o, "hostname", false, &hostname, err) < 0 || name_opt(o, "domainname", true, &domainname, err) < 0 ||
        name_opt(o, "tftp-server-name", false, &tftp_name, err) < 0)
        return -EINVAL;
    n = opts_all(o, "dnssearch", dnssearch, SLIRP_DNSSEARCH_MAX);
    if (n > SLIRP_DNSSEARCH_MAX) {
        *err = xasprintf("user: at most %d dnssearch= domains", SLIRP_DNSSEARCH_MAX);
        return -EINVAL;
    }
    for (int i = 0; i < n; i++) {
        if (!*dnssearch[i] || strlen(dnssearch[i]) > SLIRP_NAME_MAX) {
            *err = xasprintf("user: dnssearch=%s: a domain name of 1 to %d characters", dnssearch[i], SLIRP_NAME_MAX);
            return -EINVAL;
        }
    }
    if ((v = opts_get(o, "tftp"))) {
        struct stat st;

        /* as QEMU: not refused, but a TFTP server with no files is worth a word */
        if (stat(v, &st) < 0 || !S_ISDIR(st.st_mode))
            log_warn("netdev '%s': tftp=%s is not a directory: the guest's TFTP requests will fail", id, v);
    }

    cfg.restricted = restricted;
    cfg.in_enabled = v4;
    cfg.vnetwork = net;
    cfg.vnetmask = mask;
    cfg.vhost = host;
    cfg.in6_enabled = v6;
    cfg.vhostname = hostname;
    cfg.tftp_server_name = tftp_name;
    cfg.tftp_path = opts_get(o, "tftp");
    cfg.bootfile = opts_get(o, "bootfile");
    cfg.vdhcp_start = dhcp;
    cfg.vnameserver = dns;
    cfg.vdnssearch = n ? dnssearch : NULL;
    cfg.vdomainname = domainname;

    s = xnew(struct net_slirp);
    snprintf(s->nd.id, sizeof(s->nd.id), "%s", id);
    s->nd.type = "user";
    s->nd.nc.ops = &slirp_ops;
    s->epfd = -1;
    s->net = net;
    snprintf(s->info, sizeof(s->info), "net=%s,restrict=%s", inet_ntoa(net), restricted ? "on" : "off");
    if ((r = netdev_register(&s->nd, err)) < 0) {
        free(s);
        return r;
    }
    s->buf = xmalloc(NET_FRAME_MAX);
    s->sync_bh = bh_new(slirp_sync_bh, s);
    s->poll_timer = timer_new(CLK_REALTIME, slirp_poll_timer, s);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0 || loop_add_fd(s->epfd, EPOLLIN, slirp_epoll_event, s) < 0) {
        r = -errno;
        *err = xasprintf("user: epoll: %s", strerror(errno));
        goto fail;
    }
#ifdef SLIRP_LSAN
    /*
     * libslirp 4.7.0's slirp_new keeps a copy of tftp_server_name (glib's g_strdup) that its
     * slirp_cleanup never frees, so LeakSanitizer would fail every sanitizer run that gives
     * tftp-server-name=. Its stack cannot be matched by a suppression (Debian's glib has no frame
     * pointers: the fast unwinder stops at g_malloc, and suppressing that would hide any glib
     * allocation we leak, such as slirp_connection_info's text). So only what slirp_new allocates
     * in this thread while it runs, and only when that name is given, is left out of the check.
     */
    if (cfg.tftp_server_name)
        __lsan_disable();
#endif
    s->slirp = slirp_new(&cfg, &slirp_callbacks, s);
#ifdef SLIRP_LSAN
    if (cfg.tftp_server_name)
        __lsan_enable();
#endif
    if (!s->slirp) {
        r = -EINVAL;
        *err = xstrdup("user: libslirp refused the configuration");
        goto fail;
    }
    /* on the list before the rules, so that a failure's cleanup finds it */
    s->next = NULL;
    {
        struct net_slirp **p = &stacks;

        while (*p)
            p = &(*p)->next;
        *p = s;
    }
    n = opts_all(o, "hostfwd", NULL, 0);
    fwds = xmalloc((n + 1) * sizeof(*fwds));
    opts_all(o, "hostfwd", fwds, n);
    for (int i = 0; i < n; i++) {
        if ((r = slirp_hostfwd(s, fwds[i], err)) < 0) {
            char *m = *err;

            *err = xasprintf("user: %s", m);
            free(m);
            goto fail;
        }
    }
    free(fwds);
    n = opts_all(o, "guestfwd", NULL, 0);
    fwds = xmalloc((n + 1) * sizeof(*fwds));
    opts_all(o, "guestfwd", fwds, n);
    for (int i = 0; i < n; i++) {
        if ((r = slirp_guestfwd(s, fwds[i], err)) < 0) {
            char *m = *err;

            *err = xasprintf("user: %s", m);
            free(m);
            goto fail;
        }
    }
    free(fwds);
    fwds = NULL;
    slirp_sync(s);
    *out = &s->nd;
    return 0;
fail:
    free(fwds);
    netdev_free(&s->nd);
    return r;
}

/* ---- the monitor ---- */

/* QEMU's slirp_lookup: the named user backend, or the first; NULL with *msg in QEMU's words */
static struct net_slirp *slirp_lookup(const char *netdev, char **msg)
{
    struct netdev *n;

    if (!netdev) {
        if (!stacks)
            *msg = xstrdup("user mode network stack not in use");
        return stacks;
    }
    n = netdev_find(netdev);
    if (!n) {
        *msg = xasprintf("unrecognized netdev id '%s'", netdev);
        return NULL;
    }
    if (n->nc.ops != &slirp_ops) {
        *msg = xstrdup("invalid device specified");
        return NULL;
    }
    return (struct net_slirp *)n;
}

int net_slirp_hostfwd_add(const char *netdev, const char *rule, char **msg)
{
    struct net_slirp *s = slirp_lookup(netdev, msg);

    if (!s)
        return -ENODEV;
    return slirp_hostfwd(s, rule, msg);
}

int net_slirp_hostfwd_remove(const char *netdev, const char *rule, char **msg)
{
    struct net_slirp *s = slirp_lookup(netdev, msg);
    const char *p = rule;
    char buf[256];
    struct in_addr host = { 0 };
    int udp, port;

    if (!s)
        return -ENODEV;
    if (!take_until(buf, sizeof(buf), &p, ':') || (strcmp(buf, "tcp") && strcmp(buf, "udp") && buf[0]))
        goto bad;
    udp = !strcmp(buf, "udp");
    if (!take_until(buf, sizeof(buf), &p, ':') || (buf[0] && !inet_aton(buf, &host)) || !port_parse(p, 0, &port))
        goto bad;
    if (slirp_remove_hostfwd(s->slirp, udp, host, port) < 0) {
        *msg = xasprintf("host forwarding rule for %s not found", rule);
        return -ENOENT;
    }
    *msg = xasprintf("host forwarding rule for %s removed", rule);
    s->sockets_changed = true;
    bh_schedule(s->sync_bh);
    return 0;
bad:
    *msg = xstrdup("invalid format");
    return -EINVAL;
}

char *net_slirp_usernet_info(void)
{
    char *text = xstrdup("");

    for (struct net_slirp *s = stacks; s; s = s->next) {
        struct net_client *peer = s->nd.nc.peer;
        char *conn = slirp_connection_info(s->slirp), *more;

        more = xasprintf("%sHub %d (%s):\n%s", text, peer && peer->kind == NET_CLIENT_HUBPORT ? peer->hub_id : -1,
                         s->nd.id, conn);
        free(conn);     /* glib's g_free is free */
        free(text);
        text = more;
    }
    return text;
}

#else /* !CONFIG_SLIRP */

static int slirp_init_netdev(struct opts *o, const char *id, struct netdev **out, char **err)
{
#ifdef SKIFF_STATIC_NO_SLIRP
    *err = xstrdup("user: this static skiff has no libslirp (Debian ships no static one): use the dynamic build "
                   "for -netdev user");
#else
    *err = xstrdup("user: this skiff was built without libslirp: install libslirp-dev and run ./configure again "
                   "for -netdev user");
#endif
    return -ENOTSUP;
}

int net_slirp_hostfwd_add(const char *netdev, const char *rule, char **msg)
{
    *msg = xstrdup("user mode network stack not in use");
    return -ENODEV;
}

int net_slirp_hostfwd_remove(const char *netdev, const char *rule, char **msg)
{
    *msg = xstrdup("user mode network stack not in use");
    return -ENODEV;
}

char *net_slirp_usernet_info(void)
{
    return xstrdup("");
}

#endif /* CONFIG_SLIRP */

static struct netdev_type slirp_type = {
    .name = "user",
    .init = slirp_init_netdev,
    .help = "[net=ADDR[/MASK]][,host=ADDR][,dhcpstart=ADDR][,dns=ADDR][,restrict=on|off][,hostname=NAME]"
            "[,domainname=NAME][,dnssearch=DOMAIN]...[,tftp=DIR][,bootfile=FILE][,tftp-server-name=NAME]"
            "[,ipv4=on|off][,ipv6=on|off][,ipv6-net=PREFIX/LEN][,ipv6-host=ADDR][,ipv6-dns=ADDR]"
            "[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]..."
            "[,guestfwd=[tcp]:[SERVER]:PORT-cmd:COMMAND|CHARDEV]...: user-mode networking (libslirp): "
            "DHCP, DNS, TFTP and NAT to the host's network, with no privileges",
};
NETDEV_TYPE_REGISTER(slirp_type)
