/* machine.c: the run state of the machine: reset, shutdown and exit requests from any thread */
#define LOG_PREFIX "machine: "
#include "hw/machine.h"
#include "hw/accel.h"
#include "hw/device.h"
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
        loop_quit(ex - 1);
        return;
    }
    if (atomic_exchange(&M.shutdown_req, false)) {
        if (machine_cfg.no_shutdown) {
            log_info("guest powered off; staying (-no-shutdown)");
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
        /* hooks run in order: the CPUs pause first and resume last */
        for (int i = 0; i < M.nhooks; i++)
            M.hooks[i].fn(M.hooks[i].opaque);
    }
}

void machine_init_requests(void)
{
    M.bh = bh_new(machine_requests_bh, NULL);
}

void machine_cleanup_requests(void)
{
    bh_free(M.bh);
    M.bh = NULL;
    M.nhooks = 0;
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
