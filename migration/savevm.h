/* savevm.h: a machine's whole state as one stream: its virtual clock, guest RAM and every device's section */
#ifndef MIGRATION_SAVEVM_H
#define MIGRATION_SAVEVM_H

#include "util/osdep.h"

struct vmbuf;

/*
 * For now the machine of the test accelerator, which has no vCPU, in-kernel irqchip or kvmclock
 * whose state would need sections of their own: elsewhere these return -ENOTSUP. Each is 0, or
 * -errno with *err set (to free).
 *
 * A load goes into a machine started with the same options that has not run: the stream is
 * checked whole first (its framing, every device it names and every device it must name, the
 * RAM size, the pages), then the clock, RAM and devices are loaded in that order. A device that
 * refuses its section stays as it was, but the ones before it were loaded: a machine whose load
 * failed is not one to run.
 */
int savevm_save(struct vmbuf *b, char **err);
int savevm_load(struct vmbuf *b, char **err);
int savevm_save_file(const char *path, char **err);
int savevm_load_file(const char *path, char **err);

#endif
