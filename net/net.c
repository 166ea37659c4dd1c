/* net.c: the registry of network backends by id */
#include "net/net.h"

static struct netdev *netdevs;

int netdev_register(struct netdev *n, char **err)
{
    if (netdev_find(n->id)) {
        *err = xasprintf("-netdev id=%s: there is already a netdev with that id", n->id);
        return -EEXIST;
    }
    n->next = netdevs;
    netdevs = n;
    return 0;
}

void netdev_unregister(struct netdev *n)
{
    for (struct netdev **pp = &netdevs; *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            return;
        }
    }
}

struct netdev *netdev_find(const char *id)
{
    for (struct netdev *n = netdevs; n; n = n->next)
        if (!strcmp(n->id, id))
            return n;
    return NULL;
}
