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

static struct {
    struct bh *bh;
    atomic_bool reset_req;
    atomic_bool shutdown_req;
    atomic_int exit_req;        /* status + 1, 0 = none */
    bool qtest_stopped;         /* the run state without vCPUs (-accel qtest) */
    bool shut_down;             /* -no-shutdown: the guest powered off, not reset since */
    bool prelaunch;             /* -S, or reset after a shutdown: not run since */
    struct { machine_reset_fn *fn; void *opaque; } hooks[MAX_RESET_HOOKS];
    int nhooks;
} M;

void machine_add_reset_hook(machine_reset_fn *fn, void *opaque)
{
    if (M.nhooks == MAX_RESET_HOOKS)
        die("internal error: too many reset hooks");
    M.hooks[M.nhooks].fn = fn;
    M.hooks[M.nhooks].opaque = opaque;
    M.nhooks++;
}

static void machine_requests_bh(void *opaque)
{
    int ex = atomic_exchange(&M.exit_req, 0);

    if (ex) {
        accel_machine_event(ACCEL_EVENT_EXIT, ex - 1);
        loop_quit(ex - 1);
        return;
    }
    if (atomic_exchange(&M.shutdown_req, false)) {
        accel_machine_event(ACCEL_EVENT_SHUTDOWN, 0);
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
        accel_machine_event(ACCEL_EVENT_RESET, 0);
        if (machine_cfg.no_reboot) {
            loop_quit(0);
            return;
        }
        /* hooks run in order: the CPUs pause first and resume last (a stopped machine, or one
         * that was shut down, stays stopped) */
        for (int i = 0; i < M.nhooks; i++)
            M.hooks[i].fn(M.hooks[i].opaque);
        /* as QEMU: a machine reset from its shutdown waits to be started, like one under -S */
        if (M.shut_down)
            M.prelaunch = true;
        M.shut_down = false;
    }
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
    M.shut_down = false;
}

void machine_cleanup_requests(void)
{
    bh_free(M.bh);
    M.bh = NULL;
    M.nhooks = 0;
    M.qtest_stopped = M.shut_down = M.prelaunch = false;
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
