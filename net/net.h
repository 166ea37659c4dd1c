/* net.h: the registry of network backends (-netdev TYPE,id=ID) that a NIC's netdev= property names */
#ifndef NET_NET_H
#define NET_NET_H

#include "util/osdep.h"

struct device;

/* A backend, as its type's code (tap, user, socket) makes it; the NIC side comes with the NICs. */
struct netdev {
    char id[64];
    const char *type;           /* "tap", "user", "socket" */
    struct device *nic;         /* the NIC that took it, or NULL */
    struct netdev *next;
};

/* Add a backend under its id: 0, or -EEXIST with *err when the id is taken. */
int netdev_register(struct netdev *n, char **err);
void netdev_unregister(struct netdev *n);
struct netdev *netdev_find(const char *id);

#endif
