/* firmware.h: finding firmware and ROM images (SeaBIOS, VGA BIOS) where distributions install them */
#ifndef HW_CORE_FIRMWARE_H
#define HW_CORE_FIRMWARE_H

#include "util/osdep.h"

/*
 * Read the image `name`: a path when it holds a '/', else looked up in $SKIFF_FIRMWARE_DIR,
 * /usr/share/seabios, /usr/share/qemu and /usr/lib/ipxe/qemu. 0 with *data (to free), or
 * -errno with *err naming the file and where it was looked for. `what` names it for the user.
 */
int firmware_load(const char *what, const char *name, uint8_t **data, size_t *len, char **err);

#endif
