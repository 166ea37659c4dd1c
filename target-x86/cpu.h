/* cpu.h: vCPUs: one thread each running KVM_RUN, their entry state, pause/resume/reset */
#ifndef TARGET_X86_CPU_H
#define TARGET_X86_CPU_H

#include "util/osdep.h"
#include "target-x86/cpuid.h"

#include <linux/kvm.h>

/* How the boot processor starts. */
enum cpu_entry_mode {
    CPU_ENTRY_RESET,        /* real mode at F000:FFF0, for firmware */
    CPU_ENTRY_PROT32,       /* flat 32-bit protected mode, paging off (PVH, multiboot) */
    CPU_ENTRY_LONG64,       /* 64-bit long mode on identity page tables (Linux 64-bit boot) */
    CPU_ENTRY_REAL,         /* real mode at rip (below 1 MiB) as CS = rip >> 4, IP = rip & 15:
                             * an ACPI waking vector, as firmware enters it */
};

struct cpu_entry {
    enum cpu_entry_mode mode;
    uint64_t rip;
    uint64_t rsp;
    uint64_t rsi;           /* Linux: boot_params */
    uint32_t eax, ebx;      /* multiboot magic and info; PVH start_info in ebx */
    uint64_t cr3;           /* long mode page tables */
    uint64_t gdt_base;
    uint16_t gdt_limit;
};

struct vcpu {
    int index;
    uint32_t apic_id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    pid_t tid;              /* the vCPU thread's id (info cpus), 0 until it runs */
    bool thread_started;
    bool pause_req;
    bool paused;
    bool quit;
    bool exit_pending;      /* an I/O or MMIO exit that KVM_RUN has not finished yet */
    /* power-on state, restored on reset */
    struct kvm_regs regs0;
    struct kvm_sregs sregs0;
    struct kvm_fpu fpu0;
    struct kvm_lapic_state lapic0;
    struct kvm_mp_state mp0;
    struct kvm_xcrs xcrs0;
    struct kvm_vcpu_events events0;
    struct kvm_debugregs debugregs0;
    struct kvm_xsave *xsave0;               /* NULL without KVM_CAP_XSAVE */
    struct kvm_msr_entry *msrs0;            /* every MSR KVM saves, as it read at power-on */
    int nmsrs0;
    bool has_xcrs;
};

void cpus_create(const struct cpu_topology *t);
/* Set the boot processor's registers for its entry (CPUs must be paused or not started). */
/* 0, or -errno (logged) when KVM refused the registers. */
int cpus_set_entry(const struct cpu_entry *entry);
/* Start the vCPU threads (running unless start_paused). */
void cpus_start(bool start_paused);
/* Stop every vCPU outside KVM_RUN and wait; call from the main loop with the device lock. */
void cpus_pause(void);
void cpus_resume(void);
/* The monitor's stop: pause, and stay paused (through resets too) until cpus_resume; a guest
 * with kvmclock is told (KVM_KVMCLOCK_CTRL). */
void cpus_stop(void);
/* Running: started without -S, or resumed since, and not stopped. */
bool cpus_running(void);
/* Restore power-on state of every vCPU (CPUs paused). */
/* 0, or -errno (logged): the VM cannot run on and stops in internal-error. */
int cpus_reset(void);
/* End the threads and free everything (main thread, device lock held). */
void cpus_destroy(void);
int cpus_count(void);
/*
 * Coalesced MMIO/PIO: writes KVM queues in a ring instead of exiting. Every exit drains the
 * ring before its own access; while any zone is registered the main loop also drains it
 * every few milliseconds, so queued output never waits for the guest's next exit.
 */
void cpus_coalesced_zone_count(int delta);
void cpus_drain_coalesced(void);
struct vcpu *cpu_get(int index);
/* Print registers and the bytes at the instruction pointer, for fatal errors. */
void cpu_dump_state(struct vcpu *v, FILE *out);
/*
 * The monitor's "info registers": vCPU index's state (every vCPU's, each under a "CPU#N" line,
 * when index < 0). Running vCPUs pause for the look and go on; main thread, device lock held.
 */
void cpus_dump_state(int index, FILE *out);
/* -d cpu_reset: every vCPU's state under QEMU's "CPU Reset (CPU N)" line; the caller paused them */
void cpus_dump_reset(FILE *out);
/* -name debug-threads=on: vCPU threads are named "CPU N/KVM", as QEMU's */
extern bool cpus_name_threads;
/* An NMI to every vCPU (the monitor's nmi, as a machine's NMI button); 0 or -errno. */
int cpus_nmi(void);

#endif
