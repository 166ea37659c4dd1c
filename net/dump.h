/* dump.h: filter-dump, QEMU's -object filter-dump: the frames that pass a netdev, into a pcap file */
#ifndef NET_DUMP_H
#define NET_DUMP_H

#include "util/osdep.h"

struct net_dump;

/*
 * Watch netdev `netdev` (its id) for the object `id`: frames it receives (queue=rx), sends
 * (queue=tx) or both (all), each cut to maxlen bytes, go to a new pcap file (Ethernet, the
 * guest's time since start-up added to the wall time of the start), while `on` (status=).
 * 0, or -errno with *err.
 */
int net_dump_new(struct net_dump **out, const char *id, const char *netdev, const char *file,
                 uint32_t maxlen, const char *queue, bool on, char **err);
/* Off the netdev (if it is still there) and the file closed */
void net_dump_free(struct net_dump *d);

#endif
