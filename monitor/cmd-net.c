/* cmd-net.c: the command cores set_link, info network, hostfwd_add, hostfwd_remove and info usernet, over the network core */
#include "monitor/commands.h"
#include "net/net.h"
#include "net/slirp.h"

int mon_set_link(const char *name, bool up, char **err)
{
    return net_set_link(name, up, err);
}

char *mon_info_network(void)
{
    size_t len = net_info(NULL, 0);
    char *text = xmalloc(len + 1);

    net_info(text, len + 1);
    return text;
}

int mon_hostfwd_add(const char *netdev, const char *rule, char **msg)
{
    return net_slirp_hostfwd_add(netdev, rule, msg);
}

int mon_hostfwd_remove(const char *netdev, const char *rule, char **msg)
{
    return net_slirp_hostfwd_remove(netdev, rule, msg);
}

char *mon_info_usernet(void)
{
    return net_slirp_usernet_info();
}
