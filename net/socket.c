/* socket.c: -netdev socket, QEMU's: frames over TCP (listen=, connect=, each frame after its length as a 32-bit big-endian number), UDP (udp=, a datagram a frame), multicast (mcast=) or an inherited fd= */
#define LOG_PREFIX ""
#include "net/net-internal.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/opts.h"
#include "util/sockets.h"   // socket_set_nodelay

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKET_IN_BUF (64 * 1024)   /* bytes read from a stream at once */
#define SOCKET_DGRAMS_PER_WAKE 64   /* datagrams taken before the loop serves others */

enum socket_mode { SOCK_LISTEN, SOCK_CONNECT, SOCK_FD, SOCK_UDP, SOCK_MCAST };

struct net_socket {
    struct netdev nd;           /* first: the core frees it as a netdev */
    enum socket_mode mode;
    bool stream;                /* TCP framing; else a datagram a frame */
    int listen_fd;              /* listen=: waits for the next peer while none is connected */
    int fd;                     /* the connection or datagram socket; -1 for none */
    bool connecting;            /* connect=: until the kernel says how it went */
    uint32_t events;            /* what fd is watched for (0: not in the loop) */
    struct sockaddr_in dst;     /* where datagrams go (udp=, mcast=); family 0: send() on fd= */
    char info[96];
    /* frames from the peer: unread input, and the frame being put together */
    uint8_t *in;
    size_t in_pos, in_len;
    uint8_t len_be[4];
    size_t len_got;             /* bytes of the length read */
    uint8_t *frame;
    uint32_t frame_len;
    size_t frame_got;
    unsigned in_flight;         /* our frames queued at the peer: read nothing more until 0 */
    bool parsing;
    /* a frame the kernel took part of: the rest, sent before anything else */
    uint8_t *out;
    size_t out_pos, out_len;
    bool blocked;               /* the kernel's buffer was full: flush the core's queue when it is not */
};

static void socket_fd_event(void *opaque, uint32_t events);
static void socket_parse(struct net_socket *s);

static struct net_socket *sock_of(struct net_client *nc)
{
    return (struct net_socket *)container_of(nc, struct netdev, nc);
}

/* Watch fd for reading while our frames are not held up, for writing while output waits. */
static void socket_watch(struct net_socket *s)
{
    uint32_t want = 0;

    if (s->fd >= 0) {
        if (s->connecting || s->out_len || s->blocked)
            want |= EPOLLOUT;
        if (!s->connecting && !s->in_flight)
            want |= EPOLLIN;
    }
    if (want == s->events)
        return;
    /* out of the loop rather than watched for nothing: epoll reports a hang-up regardless */
    if (!want)
        loop_del_fd(s->fd);
    else if (!s->events)
        loop_add_fd(s->fd, want, socket_fd_event, s);
    else
        loop_mod_fd(s->fd, want);
    s->events = want;
}

static void socket_reset_input(struct net_socket *s)
{
    s->in_pos = s->in_len = 0;
    s->len_got = 0;
    s->frame_got = 0;
    s->frame_len = 0;
}

static void socket_listen_event(void *opaque, uint32_t events);

/* The connection ended (EOF, an error, a frame too long): as QEMU's, the link goes down; a
 * listening backend waits for the next peer, a connecting one stays down. */
static void socket_disconnect(struct net_socket *s)
{
    if (s->fd < 0)
        return;
    if (s->events)
        loop_del_fd(s->fd);
    s->events = 0;
    close(s->fd);
    s->fd = -1;
    s->connecting = false;
    s->blocked = false;
    s->out_len = s->out_pos = 0;
    socket_reset_input(s);
    s->nd.nc.link_down = true;
    s->info[0] = '\0';
    if (s->listen_fd >= 0)
        loop_add_fd(s->listen_fd, EPOLLIN, socket_listen_event, s);
}

/* ---- frames from the peer ---- */

static void socket_sent(struct net_client *nc, ssize_t ret)
{
    struct net_socket *s = sock_of(nc);

    if (s->in_flight)
        s->in_flight--;
    if (s->in_flight || s->parsing)
        return;
    socket_parse(s);
    socket_watch(s);
}

/* Pass a whole frame on; held up (0): read no more until its callback */
static void socket_pass(struct net_socket *s, const uint8_t *buf, size_t len)
{
    if (len && net_send_buf(&s->nd.nc, buf, len, socket_sent) == 0)
        s->in_flight++;
}

/* Take frames out of the stream input read so far, until it is used up or a frame is held up. */
static void socket_parse(struct net_socket *s)
{
    s->parsing = true;
    while (s->fd >= 0 && !s->in_flight && s->in_pos < s->in_len) {
        size_t avail = s->in_len - s->in_pos, n;

        if (s->len_got < 4) {
            n = MIN(avail, 4 - s->len_got);
            memcpy(s->len_be + s->len_got, s->in + s->in_pos, n);
            s->in_pos += n;
            s->len_got += n;
            if (s->len_got < 4)
                break;
            s->frame_len = ldl_be(s->len_be);
            s->frame_got = 0;
            /* a length no frame has is the peer's mistake: the connection goes, as QEMU's */
            if (s->frame_len > NET_FRAME_MAX) {
                log_guest_error("netdev '%s': the peer sent a frame of %" PRIu32 " bytes, more than %d: "
                                "the connection is closed", s->nd.id, s->frame_len, NET_FRAME_MAX);
                socket_disconnect(s);
                break;
            }
            avail = s->in_len - s->in_pos;
        }
        n = MIN(avail, s->frame_len - s->frame_got);
        memcpy(s->frame + s->frame_got, s->in + s->in_pos, n);
        s->in_pos += n;
        s->frame_got += n;
        if (s->frame_got == s->frame_len) {
            s->len_got = 0;
            socket_pass(s, s->frame, s->frame_len);
        }
    }
    s->parsing = false;
}

static void socket_read_stream(struct net_socket *s)
{
    ssize_t n;

    if (s->in_pos < s->in_len)
        return;         /* what was read is not used up yet */
    n = recv(s->fd, s->in, SOCKET_IN_BUF, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        socket_disconnect(s);
        return;
    }
    s->in_pos = 0;
    s->in_len = n;
    socket_parse(s);
}

static void socket_read_dgram(struct net_socket *s)
{
    for (int i = 0; i < SOCKET_DGRAMS_PER_WAKE && s->fd >= 0 && !s->in_flight; i++) {
        /* MSG_TRUNC: the datagram's whole length, to refuse one longer than a frame */
        ssize_t n = recv(s->fd, s->frame, NET_FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC);

        if (n < 0)
            return;     /* nothing more now; an ICMP error for an earlier datagram says nothing */
        if (n > NET_FRAME_MAX) {
            log_guest_error("netdev '%s': a datagram of %zd bytes, more than %d, is dropped", s->nd.id, n,
                            NET_FRAME_MAX);
            continue;
        }
        socket_pass(s, s->frame, n);
    }
}

/* ---- frames to the peer ---- */

/* Send what is left of a frame the kernel took part of; true when nothing is left. */
static bool socket_send_rest(struct net_socket *s)
{
    while (s->out_pos < s->out_len) {
        ssize_t n = send(s->fd, s->out + s->out_pos, s->out_len - s->out_pos, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return false;
        if (n < 0) {
            socket_disconnect(s);   /* the rest of the stream cannot follow */
            return true;
        }
        s->out_pos += n;
    }
    s->out_pos = s->out_len = 0;
    return true;
}

/* sendmsg, again when a signal cut it short: the count sent, 0 when the kernel had no room, or -errno */
static ssize_t socket_sendmsg(struct net_socket *s, struct msghdr *msg)
{
    ssize_t n;

    do
        n = sendmsg(s->fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    return n;
}

/* A frame on a stream: its length, then its bytes. What the kernel does not take now we keep. */
static ssize_t socket_send_stream(struct net_socket *s, const struct iovec *iov, int niov, size_t len)
{
    struct iovec v[1 + 64];
    struct msghdr msg = { .msg_iov = v };
    uint8_t hdr[4];
    uint8_t *flat = NULL;
    ssize_t sent;
    unsigned n;

    stl_be(hdr, (uint32_t)len);
    v[0] = (struct iovec){ hdr, 4 };
    n = iov_slice(v + 1, ARRAY_SIZE(v) - 1, iov, niov, 0, len);
    if (iov_size(v + 1, n) != len) {
        /* more pieces than fit here: in one */
        flat = xmalloc(len);
        iov_to_buf(iov, niov, 0, flat, len);
        v[1] = (struct iovec){ flat, len };
        n = 1;
    }
    msg.msg_iovlen = n + 1;
    sent = socket_sendmsg(s, &msg);
    free(flat);
    if (sent <= 0)
        return sent;
    if ((size_t)sent < 4 + len) {
        size_t off = 0;

        if (sent < 4) {
            memcpy(s->out, hdr + sent, 4 - sent);
            off = 4 - sent;
        }
        iov_to_buf(iov, niov, sent > 4 ? sent - 4 : 0, s->out + off, len);
        s->out_pos = 0;
        s->out_len = 4 + len - sent;
    }
    return len;
}

static ssize_t socket_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct net_socket *s = sock_of(nc);
    size_t len = iov_size(iov, niov);
    ssize_t r;

    /* no peer yet, or a frame too long for any peer to take: gone, as on no cable */
    if (s->fd < 0 || s->connecting || len > NET_FRAME_MAX)
        return len;
    if (s->out_len && !socket_send_rest(s)) {
        r = 0;
    } else if (s->fd < 0) {
        r = len;
    } else if (s->stream) {
        r = socket_send_stream(s, iov, niov, len);
    } else {
        struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = niov };

        if (s->dst.sin_family) {
            msg.msg_name = &s->dst;
            msg.msg_namelen = sizeof(s->dst);
        }
        r = socket_sendmsg(s, &msg);
        if (r > 0)
            r = len;
    }
    /* 0: the core keeps the frame, and we flush its queue once the kernel has room */
    s->blocked = r == 0;
    socket_watch(s);
    return r;
}

/* Frames wait in the core while the kernel has no room, or while part of one is still ours. */
static bool socket_can_receive(struct net_client *nc)
{
    struct net_socket *s = sock_of(nc);

    return s->fd < 0 || s->connecting || (!s->out_len && !s->blocked);
}

/* ---- the connection ---- */

static void socket_connected(struct net_socket *s)
{
    int e = 0;
    socklen_t l = sizeof(e);

    s->connecting = false;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
        e = errno;
    if (e) {
        /* as QEMU's: the backend stays, its link down; skiff says why */
        log_warn("netdev '%s': cannot connect to %s: %s (its link stays down)", s->nd.id,
                 s->info + strlen("socket: connect to "), strerror(e));
        socket_disconnect(s);
        return;
    }
    socket_watch(s);
}

static void socket_fd_event(void *opaque, uint32_t events)
{
    struct net_socket *s = opaque;

    if (s->connecting) {
        socket_connected(s);
        return;
    }
    if (events & EPOLLOUT) {
        if (!s->out_len || socket_send_rest(s)) {
            s->blocked = false;
            socket_watch(s);
            if (s->fd >= 0)
                net_client_flush(&s->nd.nc);
        }
    }
    if (s->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->in_flight) {
        if (s->stream)
            socket_read_stream(s);
        else
            socket_read_dgram(s);
    }
    if (s->fd >= 0)
        socket_watch(s);
}

/* listen=: one peer at a time, as QEMU's; the next waits in the backlog until it leaves */
static void socket_listen_event(void *opaque, uint32_t events)
{
    struct net_socket *s = opaque;
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);
    int fd;

    do
        fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &l, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return;
    loop_del_fd(s->listen_fd);
    socket_set_nodelay(fd, true);
    s->fd = fd;
    socket_reset_input(s);
    s->nd.nc.link_down = false;
    snprintf(s->info, sizeof(s->info), "socket: connection from %s:%d", inet_ntoa(sa.sin_addr),
             ntohs(sa.sin_port));
    socket_watch(s);
}

static void socket_info(struct net_client *nc, char *buf, size_t len)
{
    snprintf(buf, len, "%s", sock_of(nc)->info);
}

static void socket_cleanup(struct net_client *nc)
{
    struct net_socket *s = sock_of(nc);

    if (s->fd >= 0 && s->events)
        loop_del_fd(s->fd);
    if (s->fd >= 0)
        close(s->fd);
    if (s->listen_fd >= 0) {
        loop_del_fd(s->listen_fd);      /* nothing when it is not watched */
        close(s->listen_fd);
    }
    free(s->in);
    free(s->frame);
    free(s->out);
}

static const struct net_client_ops socket_ops = {
    .type = "socket",
    .receive = socket_receive,
    .can_receive = socket_can_receive,
    .info = socket_info,
    .cleanup = socket_cleanup,
};

/* ---- -netdev socket ---- */

/* QEMU's HOST:PORT: an IPv4 address or a name, empty for any; a port 0 to 65535. */
static int parse_host_port(const char *opt, const char *s, struct sockaddr_in *sa, char **err)
{
    const char *colon = strrchr(s, ':');
    char *host;
    uint64_t port;

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (!colon) {
        *err = xasprintf("socket: %s=%s: give HOST:PORT", opt, s);
        return -EINVAL;
    }
    if (parse_uint(colon + 1, &port) < 0 || port > 65535 || !colon[1]) {
        *err = xasprintf("socket: %s=%s: the port is a number, 0 to 65535", opt, s);
        return -EINVAL;
    }
    sa->sin_port = htons((uint16_t)port);
    host = xstrndup(s, colon - s);
    if (!*host) {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (!inet_aton(host, &sa->sin_addr)) {
        struct addrinfo hints = { .ai_family = AF_INET }, *ai;
        int r = getaddrinfo(host, NULL, &hints, &ai);

        if (r) {
            *err = xasprintf("socket: %s=%s: host '%s': %s", opt, s, host, gai_strerror(r));
            free(host);
            return -EINVAL;
        }
        sa->sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        freeaddrinfo(ai);
    }
    free(host);
    return 0;
}

static char *addr_str(const struct sockaddr_in *sa)
{
    return xasprintf("%s:%d", inet_ntoa(sa->sin_addr), ntohs(sa->sin_port));
}

static int sock_error(const char *what, const struct sockaddr_in *sa, int fd, char **err)
{
    int r = -errno;
    char *where = sa ? addr_str(sa) : NULL;

    *err = xasprintf("socket: %s%s%s: %s", what, where ? " " : "", where ? where : "", strerror(-r));
    free(where);
    if (fd >= 0)
        close(fd);
    return r;
}

static int socket_open_listen(struct net_socket *s, const char *spec, char **err)
{
    struct sockaddr_in sa;
    int fd, one = 1, r;

    if ((r = parse_host_port("listen", spec, &sa, err)) < 0)
        return r;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sock_error("cannot make a TCP socket", NULL, -1, err);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return sock_error("cannot listen on", &sa, fd, err);
    /* as QEMU's: one peer waits while another is served */
    if (listen(fd, 0) < 0)
        return sock_error("cannot listen on", &sa, fd, err);
    s->listen_fd = fd;
    s->nd.nc.link_down = true;      /* until a peer comes */
    loop_add_fd(fd, EPOLLIN, socket_listen_event, s);
    return 0;
}

static int socket_open_connect(struct net_socket *s, const char *spec, char **err)
{
    struct sockaddr_in sa;
    char *where;
    int fd, r;

    if ((r = parse_host_port("connect", spec, &sa, err)) < 0)
        return r;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sock_error("cannot make a TCP socket", NULL, -1, err);
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EINPROGRESS)
        return sock_error("cannot connect to", &sa, fd, err);
    socket_set_nodelay(fd, true);
    s->fd = fd;
    s->connecting = r < 0;
    where = addr_str(&sa);
    snprintf(s->info, sizeof(s->info), "socket: connect to %s", where);
    free(where);
    socket_watch(s);
    return 0;
}

static int socket_open_udp(struct net_socket *s, const char *spec, const char *local, char **err)
{
    struct sockaddr_in la;
    char *where;
    int fd, one = 1, r;

    if (!local) {
        *err = xstrdup("socket: udp= needs the local address too (localaddr=HOST:PORT)");
        return -EINVAL;
    }
    if ((r = parse_host_port("udp", spec, &s->dst, err)) < 0 ||
        (r = parse_host_port("localaddr", local, &la, err)) < 0)
        return r;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sock_error("cannot make a UDP socket", NULL, -1, err);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&la, sizeof(la)) < 0)
        return sock_error("cannot bind to", &la, fd, err);
    s->fd = fd;
    where = addr_str(&s->dst);
    snprintf(s->info, sizeof(s->info), "socket: udp=%s", where);
    free(where);
    socket_watch(s);
    return 0;
}

static int socket_open_mcast(struct net_socket *s, const char *spec, const char *local, char **err)
{
    struct ip_mreq mreq = { 0 };
    struct in_addr la = { htonl(INADDR_ANY) };
    char *where;
    int fd, one = 1, r;

    if ((r = parse_host_port("mcast", spec, &s->dst, err)) < 0)
        return r;
    if (!IN_MULTICAST(ntohl(s->dst.sin_addr.s_addr))) {
        *err = xasprintf("socket: mcast=%s: %s is not a multicast address (224.0.0.0 to 239.255.255.255)",
                         spec, inet_ntoa(s->dst.sin_addr));
        return -EINVAL;
    }
    /* for mcast= the local address is an address alone, the interface's, as QEMU takes it */
    if (local && !inet_aton(local, &la)) {
        *err = xasprintf("socket: localaddr=%s: give an IPv4 address (for mcast=, without a port)", local);
        return -EINVAL;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sock_error("cannot make a UDP socket", NULL, -1, err);
    /* every process of the group binds the same address and port */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&s->dst, sizeof(s->dst)) < 0)
        return sock_error("cannot bind to", &s->dst, fd, err);
    mreq.imr_multiaddr = s->dst.sin_addr;
    mreq.imr_interface = la;
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
        return sock_error("cannot join the group", &s->dst, fd, err);
    /* the other members may be on this host: they hear what we send */
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) < 0)
        return sock_error("cannot loop multicast back to this host for", &s->dst, fd, err);
    if (local && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &la, sizeof(la)) < 0)
        return sock_error("cannot send from the interface of localaddr= to", &s->dst, fd, err);
    s->fd = fd;
    where = addr_str(&s->dst);
    snprintf(s->info, sizeof(s->info), "socket: mcast=%s", where);
    free(where);
    socket_watch(s);
    return 0;
}

/* fd=N: a socket the caller (a management daemon) opened: a connected stream, or a datagram socket */
static int socket_open_fd(struct net_socket *s, const char *spec, char **err)
{
    uint64_t n;
    int type;
    socklen_t l = sizeof(type);

    if (parse_uint(spec, &n) < 0 || n > INT32_MAX) {
        *err = xasprintf("socket: fd=%s: give the number of an open socket", spec);
        return -EINVAL;
    }
    if (getsockopt((int)n, SOL_SOCKET, SO_TYPE, &type, &l) < 0) {
        *err = xasprintf("socket: fd=%s: not a socket: %s", spec, strerror(errno));
        return -EBADF;
    }
    if (type != SOCK_STREAM && type != SOCK_DGRAM) {
        *err = xasprintf("socket: fd=%s: a stream or datagram socket, not of type %d", spec, type);
        return -EINVAL;
    }
    if (set_nonblock((int)n, true) < 0 || set_cloexec((int)n) < 0)
        return sock_error("cannot use fd=", NULL, -1, err);
    s->fd = (int)n;
    s->stream = type == SOCK_STREAM;
    if (s->stream)
        socket_set_nodelay(s->fd, true);
    snprintf(s->info, sizeof(s->info), "socket: fd=%d", s->fd);
    socket_watch(s);
    return 0;
}

static int socket_init(struct opts *o, const char *id, struct netdev **out, char **err)
{
    const char *listen_ = opts_get(o, "listen"), *connect_ = opts_get(o, "connect");
    const char *udp = opts_get(o, "udp"), *mcast = opts_get(o, "mcast"), *fd = opts_get(o, "fd");
    const char *local = opts_get(o, "localaddr");
    struct net_socket *s;
    int r;

    if (!!listen_ + !!connect_ + !!udp + !!mcast + !!fd != 1) {
        *err = xstrdup("socket: give exactly one of listen=, connect=, udp=, mcast= or fd=");
        return -EINVAL;
    }
    if (local && !udp && !mcast) {
        *err = xstrdup("socket: localaddr= goes with udp= or mcast= only");
        return -EINVAL;
    }
    s = xnew(struct net_socket);
    snprintf(s->nd.id, sizeof(s->nd.id), "%s", id);
    s->nd.type = "socket";
    s->nd.nc.ops = &socket_ops;
    s->fd = s->listen_fd = -1;
    s->in = xmalloc(SOCKET_IN_BUF);
    s->frame = xmalloc(NET_FRAME_MAX);
    s->out = xmalloc(4 + NET_FRAME_MAX);
    s->stream = listen_ || connect_;
    s->mode = listen_ ? SOCK_LISTEN : connect_ ? SOCK_CONNECT : udp ? SOCK_UDP : mcast ? SOCK_MCAST : SOCK_FD;
    if ((r = netdev_register(&s->nd, err)) < 0) {
        socket_cleanup(&s->nd.nc);
        free(s);
        return r;
    }
    switch (s->mode) {
    case SOCK_LISTEN:
        r = socket_open_listen(s, listen_, err);
        break;
    case SOCK_CONNECT:
        r = socket_open_connect(s, connect_, err);
        break;
    case SOCK_UDP:
        r = socket_open_udp(s, udp, local, err);
        break;
    case SOCK_MCAST:
        r = socket_open_mcast(s, mcast, local, err);
        break;
    case SOCK_FD:
        r = socket_open_fd(s, fd, err);
        break;
    }
    if (r < 0) {
        if (s->mode == SOCK_FD)
            s->fd = -1;     /* the caller's, which we did not take */
        netdev_free(&s->nd);
        return r;
    }
    *out = &s->nd;
    return 0;
}

static struct netdev_type socket_type = {
    .name = "socket",
    .init = socket_init,
    .help = "listen=[HOST]:PORT | connect=HOST:PORT | udp=HOST:PORT,localaddr=HOST:PORT | "
            "mcast=GROUP:PORT[,localaddr=ADDR] | fd=N: frames to a peer over TCP (each after its length, "
            "as QEMU's), a datagram each over UDP or multicast, or an inherited socket",
};
NETDEV_TYPE_REGISTER(socket_type)
