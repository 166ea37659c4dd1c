/* machine.h: the machine's configuration and its run state: start, reset, shutdown, exit */
#ifndef HW_CORE_MACHINE_H
#define HW_CORE_MACHINE_H

#include "util/osdep.h"
#include "target-x86/cpuid.h"

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

/* Requests, callable from any thread (vCPU or main); carried out by the main loop. */
void machine_request_reset(void);
void machine_request_shutdown(void);        /* ACPI poweroff: exit 0 unless -no-shutdown */
void machine_request_exit(int status);      /* debug-exit, fatal vCPU errors */

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
 * The run state the monitor shows and changes (QEMU's stop, cont, info status). With
 * -no-shutdown a guest's poweroff stops the machine "shut down": only a reset lets it run again.
 */
bool machine_running(void);
bool machine_shut_down(void);
bool machine_prelaunch(void);               /* stopped and never run: -S, or reset after shutdown */
void machine_stop(void);                    /* the vCPUs and the virtual clock */
int machine_cont(char **err);               /* -EBUSY when shut down: reset it first */
void machine_cleanup_requests(void);

#endif
