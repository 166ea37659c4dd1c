/* accel.h: what the board needs from the accelerator (KVM, or the test accelerator that runs no vCPU) */
#ifndef HW_CORE_ACCEL_H
#define HW_CORE_ACCEL_H

#include "util/osdep.h"
#include "hw/core/irq.h" // struct msi_msg

struct ram_mapping;

/* What the machine carries out at a request (hw/core/machine.c). */
enum accel_machine_event {
    ACCEL_EVENT_RESET,          /* a reset (under -no-reboot: the exit that replaces it) */
    ACCEL_EVENT_SHUTDOWN,       /* the guest's poweroff (ACPI S5) */
    ACCEL_EVENT_EXIT,           /* an exit with a status: debug-exit, a fatal vCPU error */
};

/*
 * An ioeventfd: a guest write of `len` bytes (0: of any width) at `addr` signals `fd` instead of
 * reaching the device's handler, with `data` compared first when `match` (KVM_IOEVENTFD).
 */
struct accel_ioeventfd {
    int fd;
    bool pio;
    bool match;
    uint8_t len;
    uint64_t addr;
    uint64_t data;
};

/* Whether a guest write (`size` bytes of `val` at `addr`) is one that e catches, as KVM decides it. */
static inline bool accel_ioeventfd_hit(const struct accel_ioeventfd *e, bool pio, uint64_t addr,
                                       uint64_t val, unsigned size)
{
    uint64_t mask = size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;

    if (e->pio != pio || e->addr != addr || (e->len && e->len != size))
        return false;
    return !e->match || (val & mask) == (e->data & mask);
}

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
    /*
     * MSI routes in the GSI routing table: add returns the route's GSI (for an irqfd). Changes
     * are batched; routes_commit hands the table to the interrupt controllers at once.
     */
    int (*msi_route_add)(struct msi_msg msg);
    int (*msi_route_update)(int gsi, struct msi_msg msg);
    void (*msi_route_release)(int gsi);
    int (*routes_commit)(void);
    /* Deliver one MSI write to the local APICs now. */
    int (*msi_send)(struct msi_msg msg);
    /*
     * Wire an eventfd to a GSI (fast path): a signal pulses the GSI, or sends its MSI route.
     * With resample_fd >= 0 (level-triggered INTx) the signal asserts the line until the
     * guest's EOI, which lowers it and signals resample_fd.
     */
    int (*irqfd)(int fd, int gsi, int resample_fd, bool assign);
    /* An ioeventfd (fast path); io_region_add_eventfd is how devices get one. */
    int (*ioeventfd)(const struct accel_ioeventfd *e, bool assign);
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

/* What devices call: -ENOTSUP where there is no accelerator or it lacks the operation. */
static inline int accel_msi_route_add(struct msi_msg msg)
{
    return accel && accel->msi_route_add ? accel->msi_route_add(msg) : -ENOTSUP;
}

static inline int accel_msi_route_update(int gsi, struct msi_msg msg)
{
    return accel && accel->msi_route_update ? accel->msi_route_update(gsi, msg) : -ENOTSUP;
}

static inline void accel_msi_route_release(int gsi)
{
    if (accel && accel->msi_route_release)
        accel->msi_route_release(gsi);
}

static inline int accel_routes_commit(void)
{
    return accel && accel->routes_commit ? accel->routes_commit() : -ENOTSUP;
}

static inline int accel_msi_send(struct msi_msg msg)
{
    return accel && accel->msi_send ? accel->msi_send(msg) : -ENOTSUP;
}

static inline int accel_irqfd(int fd, int gsi, int resample_fd, bool assign)
{
    return accel && accel->irqfd ? accel->irqfd(fd, gsi, resample_fd, assign) : -ENOTSUP;
}

static inline int accel_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    return accel && accel->ioeventfd ? accel->ioeventfd(e, assign) : -ENOTSUP;
}

static inline void accel_machine_event(enum accel_machine_event ev, int status)
{
    if (accel && accel->machine_event)
        accel->machine_event(ev, status);
}

#endif
