/* piix-ide.h: putting disks and CD-ROMs on the PIIX3 IDE function's channels */
#ifndef HW_IDE_PIIX_IDE_H
#define HW_IDE_PIIX_IDE_H

#include "util/osdep.h"

struct device;
struct block_dev;

/* A disk (bd) or CD-ROM (bd NULL: no medium) on bus 0-1, unit 0-1. 0 or -errno with *err. */
int piix_ide_attach(struct device *dev, int bus, int unit, struct block_dev *bd, bool cdrom,
                    char **err);
/* A drive's IDENTIFY serial number and model (NULL: skiff's own). */
void piix_ide_set_ident(struct device *dev, int bus, int unit, const char *serial, const char *model);

/*
 * The monitor's change and eject: put bd (NULL: none) in the CD-ROM at bus/unit after the
 * requests in flight end; the guest sees a unit attention. A tray the guest locked stays shut
 * unless force. The old medium is the caller's to close. 0 or -errno with *err.
 */
int piix_ide_change_medium(struct device *dev, int bus, int unit, struct block_dev *bd, bool force,
                           char **err);
/* A CD-ROM's tray: whether the guest locked it, whether it is open. false: no CD-ROM there. */
bool piix_ide_tray(struct device *dev, int bus, int unit, bool *locked, bool *open);

#endif
