/*
 * l1-kvm-hold: run in the svm lane's L1 for its whole life: one KVM virtual machine with an
 * in-kernel interrupt controller and one vCPU that never runs.
 *
 * Why: L1 is emulated by TCG, and KVM patches the kernel's text whenever the first VM appears
 * and the last one goes (the preempt-notifier static key, called from every context switch),
 * and when the first local APIC is created or the last one enabled (apic_sw_disabled). TCG
 * was seen to lose that race now and then: both L1 CPUs stuck at the patched branch in
 * finish_task_switch(), soft lockups, and no progress until the kit gave up. With this VM
 * holding both keys above zero, the VMMs that the scenarios start one after another change
 * only counters, never the kernel's text.
 *
 * Prints one line when it holds the VM, then sleeps until it is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        fprintf(stderr, "l1-kvm-hold: /dev/kvm: %s\n", strerror(errno));
        return 1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        fprintf(stderr, "l1-kvm-hold: KVM_CREATE_VM: %s\n", strerror(errno));
        return 1;
    }
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
        fprintf(stderr, "l1-kvm-hold: KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
        return 1;
    }
    if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
        fprintf(stderr, "l1-kvm-hold: KVM_CREATE_VCPU: %s\n", strerror(errno));
        return 1;
    }
    printf("kit: a VM holds KVM's static keys in L1\n");
    fflush(stdout);
    for (;;) {
        pause();
    }
}
