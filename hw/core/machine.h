/* machine.h: the machine's configuration and its run state: start, reset, shutdown, exit */
#ifndef HW_CORE_MACHINE_H
#define HW_CORE_MACHINE_H

#include "util/osdep.h"

struct ram_region;

/* How the vCPUs are laid out (-smp): the guest's CPUID, MADT and SMBIOS say the same. */
struct cpu_topology {
    int cpus;       /* vCPUs that exist */
    int sockets;
    int cores;      /* per socket */
    int threads;    /* per core */
};

struct machine_config {
    uint64_t ram_size;
    struct cpu_topology topo;
    const char *cpu_model;
    const char *kernel;
    const char *initrd;
    const char *append;
    const char *bios;
    bool no_reboot;
    bool no_shutdown;
    bool start_paused;      /* -S */
    bool qtest;             /* the test accelerator: no vCPU */
    const char *name;
};

/* Guest RAM as the board laid it out. */
struct machine_ram {
    struct ram_region *region;  /* all of RAM: the board maps its parts */
    uint8_t *hva;           /* all of RAM, contiguous in the host */
    int fd;
    uint64_t size;
    uint64_t below_4g;      /* bytes of RAM mapped from 0 */
    uint64_t above_4g;      /* bytes of RAM mapped from 4 GiB */
};

extern struct machine_config machine_cfg;
extern struct machine_ram machine_ram;

/* Exit statuses besides the guest's own (debug-exit) */
#define EXIT_GUEST_POWEROFF 0
#define EXIT_VM_ERROR 1

/*
 * The run state, in QEMU's names (query-status, info status: "running", "paused (shutdown)"):
 * what the vCPUs do and why they are stopped.
 */
enum run_state {
    RUN_STATE_PRELAUNCH,        /* -S, or reset after a shutdown or sleep: not run since */
    RUN_STATE_RUNNING,
    RUN_STATE_PAUSED,           /* the monitor's stop */
    RUN_STATE_SHUTDOWN,         /* -no-shutdown: the guest powered off; a reset runs it again */
    RUN_STATE_SUSPENDED,        /* ACPI S3: the vCPUs sleep, the clocks run */
    RUN_STATE_INTERNAL_ERROR,   /* the accelerator could not go on (a vCPU's fatal exit) */
    RUN_STATE_IO_ERROR,         /* a drive's error with werror/rerror=stop */
};

/* Requests, callable from any thread (vCPU or main); carried out by the main loop. */
void machine_request_reset(void);
void machine_request_shutdown(void);        /* ACPI poweroff: exit 0 unless -no-shutdown */
void machine_request_exit(int status);      /* debug-exit */
/*
 * The power button (QEMU's system_powerdown): the board's power-management device says what
 * pressing it does. -ENODEV with *err when the machine has none.
 */
typedef void machine_power_button_fn(void *opaque);
void machine_set_power_button(machine_power_button_fn *fn, void *opaque);
int machine_request_powerdown(char **err);
/* A vCPU cannot go on (KVM's internal error): the VM stops in that state, as QEMU's does. */
void machine_request_error(enum run_state why);

/* The board registers what a reset must redo (reload the kernel, set the entry registers). */
typedef void machine_reset_fn(void *opaque);
void machine_add_reset_hook(machine_reset_fn *fn, void *opaque);
void machine_init_requests(void);

/*
 * Machine-done: once every device exists (the board's and -device's), the hooks run in order and
 * build what depends on all of them: boot order, ACPI and SMBIOS tables, option ROMs, fw_cfg.
 */
typedef void machine_done_fn(void *opaque);
void machine_add_done_hook(machine_done_fn *fn, void *opaque);
void machine_done(void);

/*
 * ACPI S3, suspend to RAM, as QEMU's run state "suspended": the guest's request stops the vCPUs
 * while the clocks and devices run on, until a wake-up event; the wake-up resets the machine
 * (its reset hooks run with machine_waking() true, RAM untouched) and the vCPUs start again at
 * the firmware's reset vector, or, with no firmware, at the guest's waking vector.
 */
enum machine_wakeup {
    MACHINE_WAKEUP_RTC,             /* the RTC alarm; enabled by the PM's RTC_EN */
    MACHINE_WAKEUP_PMTIMER,         /* the PM timer's overflow; enabled by TMR_EN */
    MACHINE_WAKEUP_POWER_BUTTON,    /* always */
    MACHINE_WAKEUP_OTHER,           /* the monitor's system_wakeup: always */
};
void machine_request_suspend(void);         /* any thread */
/*
 * A wake-up event (main thread). Refused with -EBUSY and QEMU's words when the guest is not
 * suspended (err may be NULL); an event the guest did not enable is dropped (0).
 */
int machine_request_wakeup(enum machine_wakeup why, char **err);
void machine_wakeup_enable(enum machine_wakeup why, bool on);
bool machine_suspended(void);               /* "paused (suspended)": asleep, not stopped */
bool machine_waking(void);                  /* inside the reset hooks of a wake-up */
/* What runs when the guest has gone to sleep (the RTC's CMOS resume flag), and after the
 * wake-up's reset, before the vCPUs run (the PM's WAK_STS). */
typedef void machine_wakeup_fn(void *opaque, enum machine_wakeup why);
void machine_add_suspend_hook(machine_reset_fn *fn, void *opaque);
void machine_add_wakeup_hook(machine_wakeup_fn *fn, void *opaque);

/*
 * The run state the monitor shows and changes (QEMU's stop, cont, info status). With
 * -no-shutdown a guest's poweroff stops the machine "shut down": only a reset lets it run again.
 * A suspended machine that the monitor stops is "paused" (its clocks stop too) until cont makes
 * it suspended again, as in QEMU 8.2 on: cont does not wake a sleeping guest.
 */
enum run_state run_state_get(void);
const char *run_state_name(enum run_state s);
/*
 * Listeners hear of every change, as QEMU's VM change state handlers: running is whether the
 * vCPUs now run. Entering RUNNING they hear it before the vCPUs start; leaving it, after the vCPUs
 * stopped. The guest's clocks run in RUNNING and SUSPENDED only.
 */
typedef void run_state_listener_fn(void *opaque, bool running, enum run_state state);
void run_state_add_listener(run_state_listener_fn *fn, void *opaque);
void run_state_remove_listener(run_state_listener_fn *fn, void *opaque);
/* Whether the guest's time runs in this state (the kvmclock hold follows it). */
bool run_state_time_runs(enum run_state s);

bool machine_running(void);
bool machine_shut_down(void);
bool machine_prelaunch(void);               /* stopped and never run: -S, or reset after shutdown */
/* Stop in an error state the monitor reports (internal-error, io-error); cont runs it on. */
void machine_stop_error(enum run_state why);
void machine_stop(void);                    /* the vCPUs and the virtual clock */
int machine_cont(char **err);               /* -EBUSY when shut down: reset it first */
void machine_cleanup_requests(void);

#endif
