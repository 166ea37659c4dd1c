/* piix-ide.h: what the board asks of the PIIX3 IDE function, whose channels are the buses ide.0 and ide.1 */
#ifndef HW_IDE_PIIX_IDE_H
#define HW_IDE_PIIX_IDE_H

#include "util/osdep.h"

struct device;
struct block_dev;
struct blockdev;

/* The drive at bus 0-1, unit 0-1: false when there is none; else whether a CD-ROM, its medium
 * (NULL: none) and its named drive. */
bool piix_ide_drive(struct device *dev, int bus, int unit, bool *cdrom, struct block_dev **bd,
                    struct blockdev **blk);

#endif
