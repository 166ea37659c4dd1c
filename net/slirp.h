/* slirp.h: -netdev user for the monitor: hostfwd_add, hostfwd_remove and info usernet */
#ifndef NET_SLIRP_H
#define NET_SLIRP_H

#include "util/osdep.h"

/*
 * hostfwd_add [NETDEV] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, as QEMU's: NETDEV is
 * a user backend's id, or NULL for the first one made. 0, or -errno with *msg in QEMU's words
 * ("Invalid host forwarding rule 'RULE' (why)").
 */
int net_slirp_hostfwd_add(const char *netdev, const char *rule, char **msg);
/*
 * hostfwd_remove [NETDEV] [tcp|udp]:[hostaddr]:hostport: *msg is what QEMU prints either way
 * ("host forwarding rule for RULE removed", "... not found", "invalid format"); 0 when removed.
 */
int net_slirp_hostfwd_remove(const char *netdev, const char *rule, char **msg);
/*
 * info usernet, as QEMU's: for each user backend "Hub N (ID):" (N -1 unless it is on a hub's
 * port) and libslirp's table of its connections. Free it.
 */
char *net_slirp_usernet_info(void);

#endif
