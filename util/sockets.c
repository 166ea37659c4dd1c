/* sockets.c: stream sockets at a unix path or a TCP host and port, for chardevs and whatever else listens or connects */
#include "util/sockets.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int socket_address_parse(const char *s, struct socket_address *addr, char **err)
{
    const char *colon;

    memset(addr, 0, sizeof(*addr));
    if (!strncmp(s, "unix:", 5)) {
        if (!s[5]) {
            *err = xstrdup("unix needs a PATH");
            return -EINVAL;
        }
        addr->path = xstrdup(s + 5);
        return 0;
    }
    if (strncmp(s, "tcp:", 4)) {
        *err = xasprintf("'%s' is not unix:PATH or tcp:[HOST]:PORT", s);
        return -EINVAL;
    }
    s += 4;
    /* the last colon, so that an IPv6 address keeps its own */
    colon = strrchr(s, ':');
    if (!colon) {
        *err = xstrdup("tcp needs HOST:PORT");
        return -EINVAL;
    }
    addr->host = xstrndup(s, colon - s);
    addr->port = xstrdup(colon + 1);
    return 0;
}

void socket_address_free(struct socket_address *addr)
{
    free(addr->path);
    free(addr->host);
    free(addr->port);
    memset(addr, 0, sizeof(*addr));
}

static char *socket_address_str(const struct socket_address *addr)
{
    if (addr->path)
        return xstrdup(addr->path);
    return xasprintf("%s:%s", addr->host ? addr->host : "", addr->port ? addr->port : "");
}

/* The error of a failed listen or connect, naming the address; returns -errno. */
static int socket_error(const struct socket_address *addr, bool server, int fd, char **err)
{
    int r = -errno;
    char *where = socket_address_str(addr);

    *err = xasprintf("cannot %s socket %s: %s", server ? "listen on" : "connect to", where,
                     strerror(-r));
    free(where);
    if (fd >= 0)
        close(fd);
    return r;
}

/* Fill a unix socket address; -ENAMETOOLONG with *err when the path does not fit. */
static int unix_sockaddr(const char *path, struct sockaddr_un *sa, char **err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        *err = xasprintf("socket path '%s' is too long", path);
        return -ENAMETOOLONG;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

/* Each address the host and port name, in the resolver's order; -EINVAL with *err. */
static int tcp_resolve(const struct socket_address *addr, bool server, struct addrinfo **ai,
                       char **err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    const char *host = addr->host && *addr->host ? addr->host : (server ? NULL : "localhost");
    int r = getaddrinfo(host, addr->port, &hints, ai);

    if (r) {
        *err = xasprintf("cannot resolve '%s:%s': %s", addr->host ? addr->host : "",
                         addr->port ? addr->port : "", gai_strerror(r));
        return -EINVAL;
    }
    return 0;
}

/* A listening or connected socket; a TCP name is tried address by address until one works. */
static int socket_open(const struct socket_address *addr, bool server, char **err)
{
    struct addrinfo *ai, *a;
    int fd = -1, r;

    if (addr->path) {
        struct sockaddr_un sa;

        r = unix_sockaddr(addr->path, &sa, err);
        if (r < 0)
            return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return socket_error(addr, server, fd, err);
        if (server) {
            unlink(addr->path);
            r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0;
        } else {
            r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0;
        }
        return r ? socket_error(addr, server, fd, err) : fd;
    }
    if (!addr->port) {
        *err = xstrdup("a TCP socket needs a port");
        return -EINVAL;
    }
    r = tcp_resolve(addr, server, &ai, err);
    if (r < 0)
        return r;
    for (a = ai; a; a = a->ai_next) {
        int one = 1;

        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (server) {
            /* a restarted server takes its port back while old connections linger */
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            r = bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 1) < 0;
        } else {
            r = connect(fd, a->ai_addr, a->ai_addrlen) < 0;
        }
        if (!r)
            break;
        r = errno;
        close(fd);
        fd = -1;
        errno = r;
    }
    freeaddrinfo(ai);
    return fd < 0 ? socket_error(addr, server, -1, err) : fd;
}

int socket_listen(const struct socket_address *addr, char **err)
{
    int fd = socket_open(addr, true, err);

    if (fd >= 0)
        set_nonblock(fd, true);
    return fd;
}

int socket_connect(const struct socket_address *addr, char **err)
{
    int fd = socket_open(addr, false, err);

    if (fd >= 0)
        set_nonblock(fd, true);
    return fd;
}

int socket_accept(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    return fd < 0 ? -errno : fd;
}

int socket_set_nodelay(int fd, bool on)
{
    int v = on;

    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) < 0 ? -errno : 0;
}
