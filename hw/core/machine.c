/* machine.c: the run state of the machine: reset, shutdown and exit requests from any thread */
#define LOG_PREFIX "machine: "
#include "hw/core/machine.h"
#include "hw/core/accel.h"
#include "hw/core/device.h"
#include "util/log.h"
#include "util/main-loop.h"

#include <stdatomic.h>

const struct accel_ops *accel;
struct machine_config machine_cfg;
struct machine_ram machine_ram = { .fd = -1 };

#define MAX_RESET_HOOKS 16
#define MAX_SLEEP_HOOKS 4

/* QEMU's default: every wake-up event counts until the PM's reset turns RTC and PM timer off */
#define WAKEUP_MASK_ALL ((1u << MACHINE_WAKEUP_RTC) | (1u << MACHINE_WAKEUP_PMTIMER) | \
                         (1u << MACHINE_WAKEUP_POWER_BUTTON) | (1u << MACHINE_WAKEUP_OTHER))

static struct {
    struct bh *bh;
    atomic_bool reset_req;
    atomic_bool shutdown_req;
    atomic_bool suspend_req;
    atomic_int exit_req;        /* status + 1, 0 = none */
    atomic_int error_req;       /* enum run_state + 1: stop in that error state; 0 = none */
    enum run_state state;
    bool paused_asleep;         /* PAUSED by the monitor while SUSPENDED: cont goes back to sleep */
    bool waking;                /* the reset hooks of a wake-up are running */
    int wakeup_req;             /* enum machine_wakeup + 1, 0 = none */
    unsigned wakeup_mask;       /* 1 << enum machine_wakeup: the events that wake the guest */
    struct { machine_reset_fn *fn; void *opaque; } hooks[MAX_RESET_HOOKS];
    int nhooks;
    struct { machine_reset_fn *fn; void *opaque; } suspend_hooks[MAX_SLEEP_HOOKS];
    int nsuspend_hooks;
    struct { machine_wakeup_fn *fn; void *opaque; } wakeup_hooks[MAX_SLEEP_HOOKS];
    int nwakeup_hooks;
    /* one per device that cares (each virtio disk, each NIC): grown as they come */
    struct run_state_listener { run_state_listener_fn *fn; void *opaque; } *listeners;
    int nlisteners, listeners_cap;
} machine;

/* ---- the run state ---- */

static const char *const run_state_names[] = {
    [RUN_STATE_PRELAUNCH] = "prelaunch", [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_PAUSED] = "paused", [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_SUSPENDED] = "suspended", [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_IO_ERROR] = "io-error",
};

const char *run_state_name(enum run_state s)
{
    return (size_t)s < ARRAY_SIZE(run_state_names) ? run_state_names[s] : "?";
}

enum run_state run_state_get(void)
{
    return machine.state;
}

bool run_state_time_runs(enum run_state s)
{
    return s == RUN_STATE_RUNNING || s == RUN_STATE_SUSPENDED;
}

void run_state_add_listener(run_state_listener_fn *fn, void *opaque)
{
    if (machine.nlisteners == machine.listeners_cap) {
        machine.listeners_cap = machine.listeners_cap ? 2 * machine.listeners_cap : 8;
        machine.listeners = xrealloc(machine.listeners, machine.listeners_cap * sizeof(*machine.listeners));
    }
    machine.listeners[machine.nlisteners].fn = fn;
    machine.listeners[machine.nlisteners].opaque = opaque;
    machine.nlisteners++;
}

void run_state_remove_listener(run_state_listener_fn *fn, void *opaque)
{
    for (int i = 0; i < machine.nlisteners; i++) {
        if (machine.listeners[i].fn == fn && machine.listeners[i].opaque == opaque) {
            machine.listeners[i] = machine.listeners[--machine.nlisteners];
            return;
        }
    }
}

/* A new state: the listeners hear of it (the caller orders it around the vCPUs' stop or start). */
static void run_state_set(enum run_state s)
{
    bool time_before = run_state_time_runs(machine.state);

    if (s == machine.state)
        return;
    machine.state = s;
    /* the virtual clock (timers of the devices) stops and runs with the guest's time */
    if (time_before && !run_state_time_runs(s))
        clock_virtual_stop();
    else if (!time_before && run_state_time_runs(s))
        clock_virtual_resume();
    for (int i = 0; i < machine.nlisteners; i++)
        machine.listeners[i].fn(machine.listeners[i].opaque, s == RUN_STATE_RUNNING, s);
}

/* The vCPUs stop, then the state changes. */
static void machine_vcpus_stop(enum run_state s)
{
    if (machine.state == RUN_STATE_RUNNING && accel && accel->vcpus_stop)
        accel->vcpus_stop();
    run_state_set(s);
}

/* The state says running, then the vCPUs go. */
static void machine_vcpus_start(void)
{
    bool was = machine.state == RUN_STATE_RUNNING;

    run_state_set(RUN_STATE_RUNNING);
    if (!was && accel && accel->vcpus_resume)
        accel->vcpus_resume();
}

void machine_add_reset_hook(machine_reset_fn *fn, void *opaque)
{
    if (machine.nhooks == MAX_RESET_HOOKS)
        die("internal error: too many reset hooks");
    machine.hooks[machine.nhooks].fn = fn;
    machine.hooks[machine.nhooks].opaque = opaque;
    machine.nhooks++;
}

void machine_add_suspend_hook(machine_reset_fn *fn, void *opaque)
{
    if (machine.nsuspend_hooks == MAX_SLEEP_HOOKS)
        die("internal error: too many suspend hooks");
    machine.suspend_hooks[machine.nsuspend_hooks].fn = fn;
    machine.suspend_hooks[machine.nsuspend_hooks].opaque = opaque;
    machine.nsuspend_hooks++;
}

void machine_add_wakeup_hook(machine_wakeup_fn *fn, void *opaque)
{
    if (machine.nwakeup_hooks == MAX_SLEEP_HOOKS)
        die("internal error: too many wake-up hooks");
    machine.wakeup_hooks[machine.nwakeup_hooks].fn = fn;
    machine.wakeup_hooks[machine.nwakeup_hooks].opaque = opaque;
    machine.nwakeup_hooks++;
}

/* The vCPUs stop where the guest put itself to sleep; the clocks and timers run on (an RTC
 * alarm must come), as QEMU's pause_all_vcpus without vm_stop. */
static void machine_suspend(void)
{
    if (machine.state == RUN_STATE_SUSPENDED || machine.paused_asleep)
        return;
    if (machine.state == RUN_STATE_RUNNING)
        machine_vcpus_stop(RUN_STATE_SUSPENDED);
    else
        /* the monitor stopped it between the guest's request and now: asleep and stopped */
        machine.paused_asleep = true;
    log_debug("guest suspended to RAM (S3)");
    for (int i = 0; i < machine.nsuspend_hooks; i++)
        machine.suspend_hooks[i].fn(machine.suspend_hooks[i].opaque);
}

/* QEMU's wake-up: a reset that keeps RAM, the PM told why, and the vCPUs run again. */
static void machine_wakeup(enum machine_wakeup why)
{
    log_debug("guest wakes up (reason %d)", (int)why);
    machine.waking = true;
    for (int i = 0; i < machine.nhooks; i++)
        machine.hooks[i].fn(machine.hooks[i].opaque);
    machine.waking = false;
    for (int i = 0; i < machine.nwakeup_hooks; i++)
        machine.wakeup_hooks[i].fn(machine.wakeup_hooks[i].opaque, why);
    machine_vcpus_start();
}

static void machine_requests_bh(void *opaque)
{
    int ex = atomic_exchange(&machine.exit_req, 0), wake, error;

    if (ex) {
        accel_machine_event(ACCEL_EVENT_EXIT, ex - 1);
        loop_quit(ex - 1);
        return;
    }
    error = atomic_exchange(&machine.error_req, 0);
    if (error)
        machine_stop_error(error - 1);
    if (atomic_exchange(&machine.shutdown_req, false)) {
        accel_machine_event(ACCEL_EVENT_SHUTDOWN, 0);
        if (machine_cfg.no_shutdown) {
            /* as QEMU: the machine stops where it powered off, until a reset */
            log_info("guest powered off; stopped until a reset (-no-shutdown)");
            machine.paused_asleep = false;
            machine_vcpus_stop(RUN_STATE_SHUTDOWN);
        } else {
            loop_quit(EXIT_GUEST_POWEROFF);
            return;
        }
    }
    if (atomic_exchange(&machine.reset_req, false)) {
        accel_machine_event(ACCEL_EVENT_RESET, 0);
        if (machine_cfg.no_reboot) {
            loop_quit(0);
            return;
        }
        /* hooks run in order: the CPUs pause first and resume last (a stopped machine, or one
         * that was shut down, stays stopped) */
        for (int i = 0; i < machine.nhooks; i++)
            machine.hooks[i].fn(machine.hooks[i].opaque);
        /* as QEMU: a machine reset from its shutdown (or its sleep) waits to be started, like
         * one under -S */
        if (machine.state == RUN_STATE_SHUTDOWN || machine.state == RUN_STATE_SUSPENDED ||
            machine.state == RUN_STATE_INTERNAL_ERROR || machine.paused_asleep)
            run_state_set(RUN_STATE_PRELAUNCH);
        machine.paused_asleep = false;
        machine.wakeup_req = 0;
    }
    if (atomic_exchange(&machine.suspend_req, false))
        machine_suspend();
    wake = machine.wakeup_req;
    machine.wakeup_req = 0;
    if (wake)
        machine_wakeup(wake - 1);
}

void machine_request_suspend(void)
{
    atomic_store(&machine.suspend_req, true);
    bh_schedule(machine.bh);
}

int machine_request_wakeup(enum machine_wakeup why, char **err)
{
    if (machine.state != RUN_STATE_SUSPENDED) {
        /* QEMU's words (a stopped guest is not "suspended" either) */
        if (err)
            *err = xstrdup("Unable to wake up: guest is not in suspended state");
        return -EBUSY;
    }
    if (!(machine.wakeup_mask & (1u << why)))
        return 0;
    if (machine.wakeup_req)
        return 0;       /* a second event before the bottom half runs */
    machine.wakeup_req = why + 1;
    bh_schedule(machine.bh);
    return 0;
}

void machine_wakeup_enable(enum machine_wakeup why, bool on)
{
    if (on)
        machine.wakeup_mask |= 1u << why;
    else
        machine.wakeup_mask &= ~(1u << why);
}

bool machine_suspended(void)
{
    return machine.state == RUN_STATE_SUSPENDED;
}

bool machine_waking(void)
{
    return machine.waking;
}

bool machine_running(void)
{
    return machine.state == RUN_STATE_RUNNING;
}

bool machine_shut_down(void)
{
    return machine.state == RUN_STATE_SHUTDOWN;
}

bool machine_prelaunch(void)
{
    return machine.state == RUN_STATE_PRELAUNCH;
}

void machine_stop(void)
{
    if (machine.state == RUN_STATE_SUSPENDED) {
        /* asleep already: what stops now is its time (the RTC alarm that would wake it) */
        machine.paused_asleep = true;
        run_state_set(RUN_STATE_PAUSED);
        return;
    }
    if (machine.state != RUN_STATE_RUNNING)
        return;
    machine_vcpus_stop(RUN_STATE_PAUSED);
}

void machine_stop_error(enum run_state why)
{
    machine.paused_asleep = false;
    machine_vcpus_stop(why);
}

int machine_cont(char **err)
{
    if (machine.state == RUN_STATE_SHUTDOWN || machine.state == RUN_STATE_INTERNAL_ERROR) {
        /* QEMU's words for it */
        *err = xstrdup("Resetting the Virtual Machine is required");
        return -EBUSY;
    }
    if (machine.paused_asleep) {
        /* as QEMU: cont gives a stopped sleeper its time back; only a wake-up event wakes it */
        machine.paused_asleep = false;
        run_state_set(RUN_STATE_SUSPENDED);
        return 0;
    }
    if (machine.state == RUN_STATE_SUSPENDED)
        return 0;
    machine_vcpus_start();
    return 0;
}

void machine_init_requests(void)
{
    machine.bh = bh_new(machine_requests_bh, NULL);
    /* the vCPUs are started (or not, with -S) once the machine is built */
    machine.state = machine_cfg.start_paused ? RUN_STATE_PRELAUNCH : RUN_STATE_RUNNING;
    machine.paused_asleep = machine.waking = false;
    machine.wakeup_req = 0;
    machine.wakeup_mask = WAKEUP_MASK_ALL;
}

void machine_cleanup_requests(void)
{
    bh_free(machine.bh);
    machine.bh = NULL;
    machine.nhooks = machine.nsuspend_hooks = machine.nwakeup_hooks = machine.nlisteners = 0;
    machine.state = RUN_STATE_RUNNING;
    machine.paused_asleep = machine.waking = false;
    machine.wakeup_req = 0;
}

void machine_request_reset(void)
{
    atomic_store(&machine.reset_req, true);
    bh_schedule(machine.bh);
}

void machine_request_shutdown(void)
{
    atomic_store(&machine.shutdown_req, true);
    bh_schedule(machine.bh);
}

static struct {
    machine_power_button_fn *fn;
    void *opaque;
} power_button;

void machine_set_power_button(machine_power_button_fn *fn, void *opaque)
{
    power_button.fn = fn;
    power_button.opaque = opaque;
}

int machine_request_powerdown(char **err)
{
    if (!power_button.fn) {
        *err = xstrdup("this machine has no ACPI power button");
        return -ENODEV;
    }
    power_button.fn(power_button.opaque);
    return 0;
}

void machine_request_error(enum run_state why)
{
    int expected = 0;

    atomic_compare_exchange_strong(&machine.error_req, &expected, (int)why + 1);
    bh_schedule(machine.bh);
}

void machine_request_exit(int status)
{
    int expected = 0;

    /* the first exit status wins */
    atomic_compare_exchange_strong(&machine.exit_req, &expected, status + 1);
    bh_schedule(machine.bh);
}

/* ---- machine-done ---- */

#define MAX_DONE_HOOKS 8

static struct {
    machine_done_fn *fn;
    void *opaque;
} done_hooks[MAX_DONE_HOOKS];
static int ndone_hooks;

void machine_add_done_hook(machine_done_fn *fn, void *opaque)
{
    if (ndone_hooks == MAX_DONE_HOOKS)
        die("internal error: too many machine-done hooks");
    done_hooks[ndone_hooks].fn = fn;
    done_hooks[ndone_hooks].opaque = opaque;
    ndone_hooks++;
}

void machine_done(void)
{
    for (int i = 0; i < ndone_hooks; i++)
        done_hooks[i].fn(done_hooks[i].opaque);
    ndone_hooks = 0;
}
