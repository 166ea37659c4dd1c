/* char-socket.c: -chardev socket: a unix or TCP stream, as a server serving one client at a time or as a client */
#define LOG_PREFIX "chardev: "
#include "chardev/chardev-int.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/sockets.h"

#include <poll.h>
#include <unistd.h>

struct socket_state {
    struct socket_address addr;     /* where to listen or connect */
    bool server, wait;              /* wait: hold start-up until the first client comes */
    bool nodelay;                   /* TCP_NODELAY on each connection */
    int listen_fd;                  /* a server's; -1 for a client */
    bool connected;
};

static void socket_listen_ready(void *opaque, uint32_t events);

static void socket_connected(struct chardev *c, int fd)
{
    struct socket_state *s = c->state;

    if (s->nodelay && socket_set_nodelay(fd, true) < 0)
        log_warn("%s: cannot set TCP_NODELAY: %s", c->id, strerror(errno));
    c->in_fd = c->out_fd = fd;
    s->connected = true;
    c->drop_warned = false;
    if (s->listen_fd >= 0)
        loop_del_fd(s->listen_fd);     /* one client at a time */
    c->want_input = true;
    chardev_update_watch(c);
    chardev_send_event(c, CHR_EVENT_OPENED);
}

/* The peer left: a server listens for the next one; a client stays closed. */
static void socket_hangup(struct chardev *c)
{
    struct socket_state *s = c->state;

    if (!s->connected)
        return;
    chardev_stop_io(c);
    chardev_close_fds(c);
    s->connected = false;
    c->in_paused = false;
    chardev_send_event(c, CHR_EVENT_CLOSED);
    if (s->listen_fd >= 0)
        loop_add_fd(s->listen_fd, EPOLLIN, socket_listen_ready, c);
}

static void socket_listen_ready(void *opaque, uint32_t events)
{
    struct chardev *c = opaque;
    struct socket_state *s = c->state;
    int fd = socket_accept(s->listen_fd);

    if (fd >= 0 && !s->connected)
        socket_connected(c, fd);
    else if (fd >= 0)
        close(fd);
}

/* QEMU's socket options that skiff does not implement, unless they ask for what it does anyway */
static const struct chardev_unimplemented socket_unimplemented[] = {
    { "telnet", "off", "the telnet protocol" },
    { "websocket", "off", "WebSocket framing" },
    { "reconnect", "0", "a client that reconnects" },
    { "reconnect-ms", "0", "a client that reconnects" },
    { "to", NULL, "a range of ports to try" },
    { "ipv4", NULL, "one address family only" },
    { "ipv6", NULL, "one address family only" },
    { "tls-creds", NULL, "TLS" },
    { "tls-authz", NULL, "TLS" },
    { "abstract", "off", "abstract unix sockets" },
    { NULL, NULL, NULL },
};

static int socket_parse(struct chardev *c, struct opts *o, char **err)
{
    struct socket_state *s = c->state;
    const char *path = opts_get(o, "path"), *host = opts_get(o, "host"), *port = opts_get(o, "port");
    bool tight = true;
    int r;

    s->listen_fd = -1;
    s->wait = true;
    r = chardev_refuse_unimplemented(c, o, socket_unimplemented, err);
    if (r < 0)
        return r;
    if (opts_get_bool(o, "server", &s->server) < 0 || opts_get_bool(o, "wait", &s->wait) < 0 ||
        opts_get_bool(o, "nodelay", &s->nodelay) < 0 || opts_get_bool(o, "tight", &tight) < 0) {
        *err = xasprintf("chardev '%s': server, wait, nodelay and tight take on or off", c->id);
        return -EINVAL;
    }
    /* tight= shapes abstract socket addresses only, which are refused above */
    if (!path && !port) {
        *err = xasprintf("chardev '%s': socket needs path= or host=,port=", c->id);
        return -EINVAL;
    }
    if (path && (host || port)) {
        *err = xasprintf("chardev '%s': a socket is path= (unix) or host= and port= (TCP), not both",
                         c->id);
        return -EINVAL;
    }
    if (path && opts_has(o, "nodelay")) {
        *err = xasprintf("chardev '%s': nodelay= is for TCP sockets (host=, port=)", c->id);
        return -EINVAL;
    }
    /* as QEMU: a client connects at once, there is nothing to wait for */
    if (!s->server && opts_has(o, "wait")) {
        *err = xasprintf("chardev '%s': wait= is for a server (server=on)", c->id);
        return -EINVAL;
    }
    s->wait &= s->server;
    if (path) {
        s->addr.path = xstrdup(path);
    } else {
        s->addr.host = host ? xstrdup(host) : NULL;
        s->addr.port = xstrdup(port);
    }
    return 0;
}

static int socket_open(struct chardev *c, char **err)
{
    struct socket_state *s = c->state;
    char *e = NULL;
    int fd = s->server ? socket_listen(&s->addr, &e) : socket_connect(&s->addr, &e);

    if (fd < 0) {
        *err = xasprintf("%s: %s", c->id, e);
        free(e);
        return fd;
    }
    if (s->server) {
        s->listen_fd = fd;
        loop_add_fd(fd, EPOLLIN, socket_listen_ready, c);
    } else {
        socket_connected(c, fd);
    }
    return 0;
}

static bool socket_is_connected(const struct chardev *c)
{
    const struct socket_state *s = c->state;

    return s->connected;
}

static int socket_wait_connected(struct chardev *c, char **err)
{
    struct socket_state *s = c->state;
    struct pollfd p = { .fd = s->listen_fd, .events = POLLIN };

    if (!s->wait || s->connected)
        return 0;
    fprintf(stderr, "skiff: waiting for a connection on %s\n", s->addr.path ? s->addr.path : c->id);
    while (!s->connected) {
        if (poll(&p, 1, -1) < 0 && errno != EINTR) {
            int r = -errno;

            *err = xasprintf("%s: waiting for a client: %s", c->id, strerror(-r));
            return r;
        }
        socket_listen_ready(c, EPOLLIN);
    }
    return 0;
}

static void socket_close(struct chardev *c)
{
    struct socket_state *s = c->state;

    if (s->listen_fd >= 0) {
        if (!s->connected)
            loop_del_fd(s->listen_fd);
        close(s->listen_fd);
        if (s->addr.path)
            unlink(s->addr.path);
    }
    chardev_close_fds(c);
    socket_address_free(&s->addr);
}

static const struct chardev_ops socket_ops = {
    .name = "socket",
    .state_size = sizeof(struct socket_state),
    .parse = socket_parse,
    .open = socket_open,
    .hangup = socket_hangup,
    .is_connected = socket_is_connected,
    .wait_connected = socket_wait_connected,
    .close = socket_close,
};
CHARDEV_BACKEND_REGISTER(socket_ops);
