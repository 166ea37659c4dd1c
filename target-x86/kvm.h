/* kvm.h: the KVM virtual machine: /dev/kvm, the VM fd, memory slots, in-kernel irqchip and PIT */
#ifndef TARGET_X86_KVM_H
#define TARGET_X86_KVM_H

#include "util/osdep.h"
#include "hw/core/irq-route.h"

#include <linux/kvm.h>

struct kvm_state {
    int kvm_fd;
    int vm_fd;
    int vcpu_mmap_size;
    int max_vcpus;
    int nr_slots;
    unsigned long *slot_used;
    struct kvm_cpuid2 *supported_cpuid;
    int coalesced_mmio;         /* page offset of the ring in kvm_run, or 0 */
    /* the fast paths this KVM has; without one, skiff takes the user-space path */
    bool has_irqfd, has_irqfd_resample, has_ioeventfd, has_ioeventfd_any_length, has_signal_msi;
    /* the GSI routing table: the board's fixed irqchip pins and the MSI routes devices add */
    struct irq_route_table routes;
    /* without KVM_CAP_SIGNAL_MSI: routes kept for recent messages, reused round robin */
    struct { struct msi_msg msg; int gsi; } msi_cache[8];
    unsigned msi_cache_next;
    /* pristine state of the in-kernel devices, restored on reset */
    struct kvm_irqchip chips[3];
    struct kvm_pit_state2 pit;
    struct kvm_clock_data held_clock;   /* kvm_clock_hold's reading */
    bool clock_held;
};

extern struct kvm_state kvm;

/* Open /dev/kvm and create the VM with its irqchip and PIT. Dies with advice on failure. */
void kvm_init(int nr_vcpus);
void kvm_cleanup(void);
/* Install the KVM accelerator ops (memory slots, GSIs, eventfds) for the board. */
void kvm_accel_install(void);
/* Restore the in-kernel PIC, IOAPIC and PIT to power-on state. */
void kvm_irqchip_reset(void);
/* The guest's kvmclock while the VM is stopped: held at the stop, set back at the restart, so
 * that a stopped guest does not see the time pass (as QEMU's kvmclock device does). */
void kvm_clock_hold(void);
void kvm_clock_release(void);
int kvm_vm_ioctl(unsigned long req, void *arg);
bool kvm_has_cap(int cap);

#endif
