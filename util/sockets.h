/* sockets.h: stream sockets at a unix path or a TCP host and port: parse, listen, connect, accept */
#ifndef UTIL_SOCKETS_H
#define UTIL_SOCKETS_H

#include "util/osdep.h"

/* Where a stream socket is: a unix socket's path, or a TCP host and port. */
struct socket_address {
    char *path;     /* a unix socket; NULL for TCP */
    char *host;     /* TCP: a name or address; NULL or "" is every local address for a server,
                       localhost for a client */
    char *port;     /* TCP: a number or a service name */
};

/*
 * "unix:PATH" or "tcp:[HOST]:PORT", QEMU's short spelling (-serial, -monitor, -incoming). The
 * address owns copies of the strings (socket_address_free). 0, or -EINVAL with *err.
 */
int socket_address_parse(const char *s, struct socket_address *addr, char **err);
void socket_address_free(struct socket_address *addr);

/*
 * A socket listening at addr, non-blocking and close-on-exec; a unix socket file left at the
 * path by an earlier run is removed first. The fd, or -errno with *err.
 */
int socket_listen(const struct socket_address *addr, char **err);
/* A socket connected to addr (the connect itself blocks), then non-blocking; close-on-exec. */
int socket_connect(const struct socket_address *addr, char **err);
/* The next client of a listening socket, non-blocking and close-on-exec; -EAGAIN when none waits. */
int socket_accept(int listen_fd);
/* TCP_NODELAY (QEMU's nodelay=on): small writes leave at once instead of waiting to be merged. */
int socket_set_nodelay(int fd, bool on);

#endif
