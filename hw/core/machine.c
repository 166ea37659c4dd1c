/* machine.c: the run state of the machine: reset, shutdown and exit requests from any thread */
#define LOG_PREFIX "machine: "
#include "hw/core/machine.h"
#include "hw/core/accel.h"
#include "hw/core/device.h"
#include "target-x86/cpu.h" // cpus_stop, cpus_resume, cpus_running
#include "target-x86/kvm.h" // kvm_clock_hold, kvm_clock_release
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
    bool qtest_stopped;         /* the run state without vCPUs (-accel qtest) */
    bool shut_down;             /* -no-shutdown: the guest powered off, not reset since */
    bool prelaunch;             /* -S, or reset after a shutdown: not run since */
    bool suspended;             /* ACPI S3: the vCPUs sleep, the clocks run */
    bool suspend_stopped;       /* suspended, and stopped by the monitor on top */
    bool waking;                /* the reset hooks of a wake-up are running */
    int wakeup_req;             /* enum machine_wakeup + 1, 0 = none */
    unsigned wakeup_mask;       /* 1 << enum machine_wakeup: the events that wake the guest */
    struct { machine_reset_fn *fn; void *opaque; } hooks[MAX_RESET_HOOKS];
    int nhooks;
    struct { machine_reset_fn *fn; void *opaque; } suspend_hooks[MAX_SLEEP_HOOKS];
    int nsuspend_hooks;
    struct { machine_wakeup_fn *fn; void *opaque; } wakeup_hooks[MAX_SLEEP_HOOKS];
    int nwakeup_hooks;
} M;

void machine_add_reset_hook(machine_reset_fn *fn, void *opaque)
{
    if (M.nhooks == MAX_RESET_HOOKS)
        die("internal error: too many reset hooks");
    M.hooks[M.nhooks].fn = fn;
    M.hooks[M.nhooks].opaque = opaque;
    M.nhooks++;
}

void machine_add_suspend_hook(machine_reset_fn *fn, void *opaque)
{
    if (M.nsuspend_hooks == MAX_SLEEP_HOOKS)
        die("internal error: too many suspend hooks");
    M.suspend_hooks[M.nsuspend_hooks].fn = fn;
    M.suspend_hooks[M.nsuspend_hooks].opaque = opaque;
    M.nsuspend_hooks++;
}

void machine_add_wakeup_hook(machine_wakeup_fn *fn, void *opaque)
{
    if (M.nwakeup_hooks == MAX_SLEEP_HOOKS)
        die("internal error: too many wake-up hooks");
    M.wakeup_hooks[M.nwakeup_hooks].fn = fn;
    M.wakeup_hooks[M.nwakeup_hooks].opaque = opaque;
    M.nwakeup_hooks++;
}

/* The vCPUs stop where the guest put itself to sleep; the clocks and timers run on (an RTC
 * alarm must come), as QEMU's pause_all_vcpus without vm_stop. */
static void machine_suspend(void)
{
    if (M.suspended)
        return;
    if (machine_running()) {
        if (machine_cfg.qtest)
            M.qtest_stopped = true;
        else
            cpus_stop();
    } else {
        /* the monitor stopped it between the guest's request and now: asleep and stopped */
        M.suspend_stopped = true;
    }
    M.suspended = true;
    log_debug("guest suspended to RAM (S3)");
    for (int i = 0; i < M.nsuspend_hooks; i++)
        M.suspend_hooks[i].fn(M.suspend_hooks[i].opaque);
}

/* QEMU's wake-up: a reset that keeps RAM, the PM told why, and the vCPUs run again. */
static void machine_wakeup(enum machine_wakeup why)
{
    log_debug("guest wakes up (reason %d)", (int)why);
    M.waking = true;
    for (int i = 0; i < M.nhooks; i++)
        M.hooks[i].fn(M.hooks[i].opaque);
    M.waking = false;
    for (int i = 0; i < M.nwakeup_hooks; i++)
        M.wakeup_hooks[i].fn(M.wakeup_hooks[i].opaque, why);
    if (machine_cfg.qtest)
        M.qtest_stopped = false;
    else
        cpus_resume();
}

static void machine_requests_bh(void *opaque)
{
    int ex = atomic_exchange(&M.exit_req, 0), wake;

    if (ex) {
        loop_quit(ex - 1);
        return;
    }
    if (atomic_exchange(&M.shutdown_req, false)) {
        if (machine_cfg.no_shutdown) {
            /* as QEMU: the machine stops where it powered off, until a reset */
            log_info("guest powered off; stopped until a reset (-no-shutdown)");
            machine_stop();
            M.shut_down = true;
        } else {
            loop_quit(EXIT_GUEST_POWEROFF);
            return;
        }
    }
    if (atomic_exchange(&M.reset_req, false)) {
        if (machine_cfg.no_reboot) {
            loop_quit(0);
            return;
        }
        /* hooks run in order: the CPUs pause first and resume last (a stopped machine, or one
         * that was shut down, stays stopped) */
        for (int i = 0; i < M.nhooks; i++)
            M.hooks[i].fn(M.hooks[i].opaque);
        /* as QEMU: a machine reset from its shutdown (or its sleep) waits to be started, like
         * one under -S */
        if (M.shut_down || M.suspended)
            M.prelaunch = true;
        M.shut_down = M.suspended = M.suspend_stopped = false;
        M.wakeup_req = 0;
    }
    if (atomic_exchange(&M.suspend_req, false))
        machine_suspend();
    wake = M.wakeup_req;
    M.wakeup_req = 0;
    if (wake)
        machine_wakeup(wake - 1);
}

void machine_request_suspend(void)
{
    atomic_store(&M.suspend_req, true);
    bh_schedule(M.bh);
}

int machine_request_wakeup(enum machine_wakeup why, char **err)
{
    if (!M.suspended || M.suspend_stopped) {
        /* QEMU's words (a stopped guest is not "suspended" either) */
        if (err)
            *err = xstrdup("Unable to wake up: guest is not in suspended state");
        return -EBUSY;
    }
    if (!(M.wakeup_mask & (1u << why)))
        return 0;
    /* awake from now on: a second event before the bottom half runs finds it so */
    M.suspended = false;
    M.wakeup_req = why + 1;
    bh_schedule(M.bh);
    return 0;
}

void machine_wakeup_enable(enum machine_wakeup why, bool on)
{
    if (on)
        M.wakeup_mask |= 1u << why;
    else
        M.wakeup_mask &= ~(1u << why);
}

bool machine_suspended(void)
{
    return M.suspended && !M.suspend_stopped;
}

bool machine_waking(void)
{
    return M.waking;
}

bool machine_running(void)
{
    return machine_cfg.qtest ? !M.qtest_stopped : cpus_running();
}

bool machine_shut_down(void)
{
    return M.shut_down;
}

bool machine_prelaunch(void)
{
    return M.prelaunch && !machine_running();
}

void machine_stop(void)
{
    if (M.suspended) {
        /* asleep already: what stops now is its time (the RTC alarm that would wake it) */
        if (!M.suspend_stopped) {
            M.suspend_stopped = true;
            if (!machine_cfg.qtest)
                kvm_clock_hold();
            clock_virtual_stop();
        }
        return;
    }
    if (!machine_running())
        return;
    if (machine_cfg.qtest) {
        M.qtest_stopped = true;
    } else {
        cpus_stop();
        kvm_clock_hold();
    }
    clock_virtual_stop();
}

int machine_cont(char **err)
{
    if (M.shut_down) {
        /* QEMU's words for it */
        *err = xstrdup("Resetting the Virtual Machine is required");
        return -EBUSY;
    }
    M.prelaunch = false;
    if (M.suspended) {
        /* as QEMU: cont gives a stopped sleeper its time back; only a wake-up event wakes it */
        if (M.suspend_stopped) {
            M.suspend_stopped = false;
            clock_virtual_resume();
            if (!machine_cfg.qtest)
                kvm_clock_release();
        }
        return 0;
    }
    if (machine_running())
        return 0;
    clock_virtual_resume();
    if (machine_cfg.qtest) {
        M.qtest_stopped = false;
    } else {
        kvm_clock_release();
        cpus_resume();
    }
    return 0;
}

void machine_init_requests(void)
{
    M.bh = bh_new(machine_requests_bh, NULL);
    M.qtest_stopped = machine_cfg.start_paused;
    M.prelaunch = machine_cfg.start_paused;
    M.shut_down = M.suspended = M.suspend_stopped = M.waking = false;
    M.wakeup_req = 0;
    M.wakeup_mask = WAKEUP_MASK_ALL;
}

void machine_cleanup_requests(void)
{
    bh_free(M.bh);
    M.bh = NULL;
    M.nhooks = M.nsuspend_hooks = M.nwakeup_hooks = 0;
    M.qtest_stopped = M.shut_down = M.prelaunch = false;
    M.suspended = M.suspend_stopped = M.waking = false;
    M.wakeup_req = 0;
}

void machine_request_reset(void)
{
    atomic_store(&M.reset_req, true);
    bh_schedule(M.bh);
}

void machine_request_shutdown(void)
{
    atomic_store(&M.shutdown_req, true);
    bh_schedule(M.bh);
}

void machine_request_exit(int status)
{
    int expected = 0;

    /* the first exit status wins */
    atomic_compare_exchange_strong(&M.exit_req, &expected, status + 1);
    bh_schedule(M.bh);
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
