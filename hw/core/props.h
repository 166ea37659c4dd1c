/* props.h: typed device properties: setting them from text, their defaults, freeing them, and their help */
#ifndef HW_CORE_PROPS_H
#define HW_CORE_PROPS_H

#include "hw/core/device.h"

/* Set a property of the device's type, or of its bus type, from text. 0 or -errno with *err. */
int prop_set_by_name(struct device *dev, const char *name, const char *value, char **err);
int props_set_defaults(struct device *dev, char **err);
/* Free what the properties own (strings). */
void props_free(struct device *dev);
/*
 * How a netdev= property finds its backend by id: 0 with *out, -ENOENT (no such netdev) or
 * -EBUSY (another NIC has it). The network layer registers it (from a constructor), so that
 * hw/core does not reach up into net/.
 */
typedef int (*prop_netdev_resolver)(const char *id, void **out);
void props_set_netdev_resolver(prop_netdev_resolver fn);
/* Parse "52:54:00:12:34:56". 0 or -EINVAL. */
int mac_addr_parse(const char *s, struct mac_addr *mac);

#endif
