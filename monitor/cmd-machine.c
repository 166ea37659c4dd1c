/* cmd-machine.c: command cores for the run state and what the machine is: query-status, stop, cont, system_reset, system_powerdown, system_wakeup, quit, query-name, query-uuid, query-version, query-kvm */
#include "monitor/commands.h"
#include "hw/core/machine.h"
#include "target-x86/smbios.h"  // smbios_get_uuid
#include "util/main-loop.h"     // loop_quit

#include <stdio.h>

struct mon_status_info mon_query_status(void)
{
    enum run_state s = run_state_get();

    return (struct mon_status_info){ .running = s == RUN_STATE_RUNNING, .status = s };
}

void mon_stop(void)
{
    machine_stop();
}

int mon_cont(char **err)
{
    return machine_cont(err);
}

void mon_system_reset(void)
{
    machine_request_reset();
}

int mon_system_powerdown(char **err)
{
    return machine_request_powerdown(err);
}

/* as if by the power button, QEMU's choice of wake source */
int mon_system_wakeup(char **err)
{
    return machine_request_wakeup(MACHINE_WAKEUP_OTHER, err);
}

void mon_quit(void)
{
    loop_quit(0);
}

struct mon_name_info mon_query_name(void)
{
    return (struct mon_name_info){ .name = machine_cfg.name };
}

struct mon_uuid_info mon_query_uuid(void)
{
    struct mon_uuid_info info;
    uint8_t u[16];

    smbios_get_uuid(u);
    snprintf(info.uuid, sizeof(info.uuid),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
             u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    return info;
}

struct mon_version_info mon_query_version(void)
{
    struct mon_version_info info = { .package = "skiff" };

    sscanf(SKIFF_VERSION, "%d.%d.%d", &info.qemu.major, &info.qemu.minor, &info.qemu.micro);
    return info;
}

struct mon_kvm_info mon_query_kvm(void)
{
    return (struct mon_kvm_info){ .enabled = !machine_cfg.qtest, .present = true };
}
