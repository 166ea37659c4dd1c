/* accel.h: what the board needs from the accelerator (KVM, or the test accelerator that runs no vCPU) */
#ifndef HW_CORE_ACCEL_H
#define HW_CORE_ACCEL_H

#include "util/osdep.h"

struct ram_mapping;

/* What the machine carries out at a request (hw/core/machine.c). */
enum accel_machine_event {
    ACCEL_EVENT_RESET,          /* a reset (under -no-reboot: the exit that replaces it) */
    ACCEL_EVENT_SHUTDOWN,       /* the guest's poweroff (ACPI S5) */
    ACCEL_EVENT_EXIT,           /* an exit with a status: debug-exit, a fatal vCPU error */
};

struct accel_ops {
    const char *name;
    /* Make a mapping visible to the guest at its gpa (or update its flags: read-only, logging). */
    int (*mem_map)(struct ram_mapping *m);
    void (*mem_unmap)(struct ram_mapping *m);
    /* Fetch and clear the accelerator's log of the guest's writes through a mapping: one bit per
     * page of the mapping, set in bitmap (zeroed by the caller). */
    int (*mem_sync_dirty)(struct ram_mapping *m, unsigned long *bitmap);
    /* Set the level of a global system interrupt (GSI) at the interrupt controllers. */
    void (*gsi_set)(int gsi, int level);
    /* Wire an eventfd to a GSI or to a doorbell address (fast paths; optional). */
    int (*irqfd)(int fd, int gsi, bool assign);
    int (*ioeventfd)(int fd, uint64_t addr, unsigned len, bool pio, bool assign);
    /* Let guest writes to an MMIO range queue up instead of exiting one by one; they are
     * handled, in order, at the vCPU's next exit (optional). */
    int (*coalesce_mmio)(uint64_t addr, uint64_t len, bool on);
    /* The same for port writes (-ENOTSUP where KVM lacks coalesced PIO). */
    int (*coalesce_pio)(uint16_t port, uint16_t len, bool on);
    /* Stop the vCPUs where they are (they are told, as kvmclock guests want), and let them run
     * on; the run state (hw/core/machine.c) decides when. None: there are no vCPUs. */
    void (*vcpus_stop)(void);
    void (*vcpus_resume)(void);
    /* The in-kernel interrupt controllers back to their power-on state (a machine reset). */
    void (*irqchip_reset)(void);
    /* The 8259s' edge/level control registers (ELCR), as firmware sets them (optional). */
    int (*pic_set_elcr)(uint16_t elcr);
    /* Hear of a reset, poweroff or exit as the machine carries it out (optional): the test
     * accelerator tells its test, which has no vCPU to see it by. */
    void (*machine_event)(enum accel_machine_event ev, int status);
};

extern const struct accel_ops *accel;

static inline void accel_machine_event(enum accel_machine_event ev, int status)
{
    if (accel && accel->machine_event)
        accel->machine_event(ev, status);
}

#endif
