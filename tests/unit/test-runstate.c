/* test-runstate.c: the machine's run state and its listeners: what stop, cont, a -no-shutdown poweroff, a reset and S3 do, in QEMU's words */
#include "hw/core/machine.h"
#include "tests/unit/tap.h"
#include "util/main-loop.h"

static struct {
    int calls;
    bool running;
    enum run_state state;
    int time_changes;
    bool time_runs;
} heard;

static void listener(void *opaque, bool running, enum run_state s)
{
    heard.calls++;
    heard.running = running;
    heard.state = s;
    if (run_state_time_runs(s) != heard.time_runs) {
        heard.time_runs = run_state_time_runs(s);
        heard.time_changes++;
    }
}

/* Let the requests (shutdown, reset, suspend, wake-up) run. */
static void settle(void)
{
    for (int i = 0; i < 4; i++)
        loop_iterate(false);
}

int main(void)
{
    char *err = NULL;

    loop_init();
    devlock_lock();
    machine_cfg.qtest = true;       /* no vCPUs: the states alone */
    machine_cfg.no_shutdown = true;
    clock_virtual_set_manual();
    machine_init_requests();
    run_state_add_listener(listener, NULL);
    heard.time_runs = true;

    CHECK(run_state_get() == RUN_STATE_RUNNING && !strcmp(run_state_name(run_state_get()), "running"),
          "a machine started without -S is running");
    machine_stop();
    CHECK(heard.calls == 1 && !heard.running && heard.state == RUN_STATE_PAUSED && !heard.time_runs,
          "stop: the listener hears 'paused', not running, and the guest's time stands");
    machine_stop();
    CHECK(heard.calls == 1, "a second stop changes nothing and tells nobody");
    CHECK(machine_cont(&err) == 0 && heard.calls == 2 && heard.running && heard.time_runs,
          "cont: running again, time runs");

    machine_request_shutdown();
    settle();
    CHECK(machine_shut_down() && heard.state == RUN_STATE_SHUTDOWN && !heard.running &&
          !strcmp(run_state_name(RUN_STATE_SHUTDOWN), "shutdown"),
          "-no-shutdown: the guest's poweroff leaves it 'shutdown'");
    CHECK(machine_cont(&err) == -EBUSY && err && !strcmp(err, "Resetting the Virtual Machine is required"),
          "cont on a shut down machine says what QEMU says");
    free(err);
    err = NULL;
    machine_request_reset();
    settle();
    CHECK(machine_prelaunch() && heard.state == RUN_STATE_PRELAUNCH, "a reset of it waits in 'prelaunch', as QEMU's");
    CHECK(machine_cont(&err) == 0 && machine_running(), "and cont runs it");

    machine_request_suspend();
    settle();
    CHECK(machine_suspended() && heard.state == RUN_STATE_SUSPENDED && !heard.running && heard.time_runs,
          "S3: 'suspended', the vCPUs stop and the guest's time runs on");
    machine_stop();
    CHECK(run_state_get() == RUN_STATE_PAUSED && !heard.time_runs, "stop while asleep: 'paused', time stands");
    CHECK(machine_cont(&err) == 0 && machine_suspended() && heard.time_runs,
          "cont: back to 'suspended', not awake (only a wake-up event wakes it)");
    CHECK(machine_request_wakeup(MACHINE_WAKEUP_OTHER, &err) == 0, "system_wakeup is taken");
    settle();
    CHECK(machine_running() && heard.running, "and the guest runs again");
    CHECK(machine_request_wakeup(MACHINE_WAKEUP_OTHER, &err) == -EBUSY && err &&
          !strcmp(err, "Unable to wake up: guest is not in suspended state"),
          "a wake-up of a running guest is refused in QEMU's words");
    free(err);
    err = NULL;

    machine_stop_error(RUN_STATE_INTERNAL_ERROR);
    CHECK(run_state_get() == RUN_STATE_INTERNAL_ERROR && !strcmp(run_state_name(run_state_get()), "internal-error"),
          "an accelerator error stops it in 'internal-error'");
    CHECK(machine_cont(&err) == -EBUSY && run_state_get() == RUN_STATE_INTERNAL_ERROR,
          "cont cannot leave it (a reset must come first, as in QEMU)");
    free(err);
    err = NULL;
    machine_request_reset();
    settle();
    CHECK(machine_prelaunch() && machine_cont(&err) == 0 && machine_running(),
          "a reset leaves it in 'prelaunch', and cont runs it");
    run_state_remove_listener(listener, NULL);
    machine_stop();
    CHECK(heard.state == RUN_STATE_RUNNING, "a removed listener hears nothing more");
    machine_cleanup_requests();
    loop_cleanup();
    return tap_done();
}
