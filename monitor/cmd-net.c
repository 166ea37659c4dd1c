/* cmd-net.c: the command cores set_link and info network, over the network core */
#include "monitor/commands.h"
#include "net/net.h"

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
