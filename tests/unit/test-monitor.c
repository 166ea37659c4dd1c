/* test-monitor.c: the monitor's command cores called directly, as a QMP server calls them, on the board the fuzz targets run (test accelerator: drives, no vCPU) */
#include "monitor/commands.h"
#include "tests/fuzz/fuzz-board.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <string.h>

static struct mon_block_info *block_find(struct mon_block_info *list, const char *device)
{
    for (; list; list = list->next)
        if (!strcmp(list->device, device))
            return list;
    return NULL;
}

static const struct mon_pci_device_info *pci_find(const struct mon_pci_device_info *list, int slot, int fn)
{
    for (; list; list = list->next)
        if (list->slot == slot && list->function == fn)
            return list;
    return NULL;
}

/* Bytes the keyboard controller holds for the guest (port 0x60 while 0x64 says full). */
static int kbd_drain(uint8_t *b, int max)
{
    uint32_t v = 0;
    int n = 0;

    while (n < max) {
        io_dispatch(IO_SPACE_PIO, 0x64, &v, 1, false);
        if (!(v & 1))
            break;
        io_dispatch(IO_SPACE_PIO, 0x60, &v, 1, false);
        b[n++] = v;
    }
    return n;
}

/* Run the main loop until the keyboard has n bytes (a timer lets keys go), 2 s at most. */
static int kbd_wait(uint8_t *b, int n)
{
    int got = 0;

    for (int i = 0; i < 200 && got < n; i++) {
        loop_iterate(false);
        got += kbd_drain(b + got, n - got);
        if (got < n)
            usleep(10000);
    }
    return got;
}

static void test_run_state(void)
{
    struct mon_status_info s = mon_query_status();
    char *err = NULL;

    CHECK(s.running && s.status == RUN_STATE_RUNNING && !strcmp(run_state_name(s.status), "running"),
          "query-status: running, status \"running\"");
    mon_stop();
    s = mon_query_status();
    CHECK(!s.running && s.status == RUN_STATE_PAUSED, "after stop: not running, paused");
    CHECK(mon_cont(&err) == 0 && mon_query_status().running, "cont runs it again");
    CHECK(mon_system_powerdown(&err) == 0, "system_powerdown finds the PIIX4 power button");

    /* a vCPU's fatal exit stops the machine in an error state, which query-status names */
    machine_stop_error(RUN_STATE_INTERNAL_ERROR);
    s = mon_query_status();
    CHECK(!s.running && s.status == RUN_STATE_INTERNAL_ERROR && !strcmp(run_state_name(s.status), "internal-error"),
          "after a fatal error: not running, \"internal-error\", as QEMU's query-status says");
    CHECK(mon_cont(&err) == -EBUSY && strstr(err, "Resetting the Virtual Machine is required"),
          "cont wants a reset first, in QEMU's words");
    free(err);
    err = NULL;
    mon_system_reset();
    loop_iterate(false);
    s = mon_query_status();
    CHECK(s.status == RUN_STATE_PRELAUNCH && mon_cont(&err) == 0 && mon_query_status().running,
          "system_reset leaves it in prelaunch, and cont runs it");
}

static void test_machine(void)
{
    struct mon_version_info v = mon_query_version();
    struct mon_kvm_info kvm = mon_query_kvm();
    char version[64];

    snprintf(version, sizeof(version), "%d.%d.%d", v.qemu.major, v.qemu.minor, v.qemu.micro);
    CHECK(!strcmp(version, SKIFF_VERSION) && !strcmp(v.package, "skiff"),
          "query-version: skiff's version as QMP's triple (%s), package skiff", version);
    CHECK(!kvm.enabled && kvm.present, "query-kvm: present, not enabled under -accel qtest");
    CHECK(!strcmp(mon_query_uuid().uuid, "00000000-0000-0000-0000-000000000000"),
          "query-uuid: all zero without -uuid");
    CHECK(mon_query_name().name == NULL, "query-name: no name without -name");
}

static void test_cpus(void)
{
    char *err = NULL, *text;

    CHECK(mon_query_cpus_fast() == NULL, "query-cpus-fast: no vCPU under the test accelerator");
    CHECK(mon_inject_nmi(&err) == -ENODEV && err && strstr(err, "no CPUs"), "inject-nmi says there is no CPU");
    free(err);
    err = NULL;
    text = mon_x_query_registers(0, &err);
    CHECK(!text && err, "x-query-registers of CPU 0 is refused");
    free(text);
    free(err);
}

static void test_memory(void)
{
    uint8_t b[4] = { 0 };
    char *err = NULL;

    gmem_write(0x1000, "skif", 4);
    CHECK(mon_memory_read(0x1000, b, 4) == 0 && !memcmp(b, "skif", 4), "guest RAM reads back what was written");
    CHECK(mon_memory_read(FUZZ_RAM - 2, b, 4) == -EFAULT, "a read past the end of RAM is refused");
    CHECK(mon_pmemsave(UINT64_MAX, 2, "/dev/null", &err) == -EINVAL && strstr(err, "wraps around"),
          "pmemsave: a range that wraps around is refused");
    free(err);
    err = NULL;
    CHECK(mon_pmemsave(0, 16, "/dev/null", &err) == -EPERM && strstr(err, "writes no files"),
          "pmemsave writes no file where the monitor may not (the fuzz board's)");
    free(err);
}

static void test_block(void)
{
    struct mon_block_info *list = mon_query_block(), *hd0, *hd1, *cd0, *cd1;
    struct mon_block_stats *stats;
    char *err = NULL;
    int n = 0;

    hd0 = block_find(list, "ide0-hd0");
    hd1 = block_find(list, "ide0-hd1");
    cd0 = block_find(list, "ide1-cd0");
    cd1 = block_find(list, "ide1-cd1");
    CHECK(list && list == hd0 && hd1 && cd0 && cd1, "query-block: the four drives by QEMU's names, ide0-hd0 first");
    CHECK(hd0 && hd0->inserted && !strcmp(hd0->inserted->file, fuzz_rig.disk) &&
          !strcmp(hd0->inserted->drv, "raw") && !hd0->inserted->ro && !hd0->removable && !hd0->has_tray_open,
          "a disk: its image, raw, writable, not removable, no tray");
    CHECK(hd0 && hd0->inserted && hd0->inserted->cache.writeback && !hd0->inserted->cache.direct &&
          hd0->inserted->cache.no_flush, "cache=unsafe: writeback, no-flush, not direct");
    CHECK(cd0 && cd0->removable && cd0->has_tray_open && !cd0->tray_open && !cd0->locked && cd0->inserted &&
          cd0->inserted->ro, "a CD-ROM with a disc: removable, tray closed and unlocked, read-only");
    CHECK(cd1 && cd1->removable && !cd1->inserted, "the empty CD-ROM drive has nothing inserted");
    mon_block_info_free(list);

    stats = mon_query_blockstats();
    for (struct mon_block_stats *s = stats; s; s = s->next)
        n++;
    CHECK(n == 4 && !strcmp(stats->device, "ide0-hd0"), "query-blockstats: one entry a drive");
    mon_list_free(stats);

    CHECK(mon_eject("nosuch", false, &err) == -ENODEV && strstr(err, "'nosuch'"),
          "eject of a drive that is not there: -ENODEV, naming it");
    free(err);
    err = NULL;
    CHECK(mon_eject("ide0-hd0", false, &err) < 0 && strstr(err, "not removable"), "eject of a disk is refused");
    free(err);
    err = NULL;
    CHECK(mon_eject("ide1-cd0", false, &err) == 0, "eject of the CD-ROM's disc");
    list = mon_query_block();
    cd0 = block_find(list, "ide1-cd0");
    CHECK(cd0 && !cd0->inserted && cd0->tray_open, "then nothing is inserted and the tray stands open");
    mon_block_info_free(list);

    CHECK(mon_blockdev_change_medium("ide1-cd0", fuzz_rig.cd, "vmdk", &err) == -EINVAL && strstr(err, "vmdk"),
          "blockdev-change-medium refuses a format skiff does not read");
    free(err);
    err = NULL;
    CHECK(mon_blockdev_change_medium("ide1-cd0", fuzz_rig.cd, NULL, &err) == 0,
          "blockdev-change-medium with the format probed");
    list = mon_query_block();
    cd0 = block_find(list, "ide1-cd0");
    CHECK(cd0 && cd0->inserted && !strcmp(cd0->inserted->file, fuzz_rig.cd) && !cd0->tray_open,
          "the new disc is inserted and the tray closed");
    mon_block_info_free(list);
}

static void test_pci(void)
{
    struct mon_pci_device_info *list = mon_query_pci();
    const struct mon_pci_device_info *ide = pci_find(list, 1, 1), *pm = pci_find(list, 1, 3);

    CHECK(list && list->slot == 0 && list->class_info.class == 0x0600 &&
          !strcmp(list->class_info.desc, "Host bridge"), "query-pci: the host bridge first, class 0x0600");
    CHECK(ide && ide->id.vendor == 0x8086 && ide->id.device == 0x7010 && ide->class_info.class == 0x0101 &&
          !strcmp(ide->class_info.desc, "IDE controller"), "the PIIX3 IDE function at 01.1: 8086:7010, class 0x0101");
    CHECK(ide && ide->nregions == 1 && ide->regions[0].bar == 4 && !strcmp(ide->regions[0].type, "io") &&
          ide->regions[0].size == 16, "with its bus master BAR: BAR 4, I/O, 16 bytes");
    CHECK(pm && pm->irq_pin == 1, "the PIIX4 PM function interrupts on INTA#");
    mon_list_free(list);
}

static void test_send_key(void)
{
    const char *cad[] = { "ctrl", "alt", "delete" };
    const char *bad[] = { "a", "nosuchkey" };
    const char *many[MON_SEND_KEY_MAX + 1];
    uint8_t b[8];
    char *err = NULL;

    kbd_drain(b, sizeof(b));
    CHECK(mon_send_key(bad, 2, 0, &err) == -EINVAL && strstr(err, "'nosuchkey'"), "send-key names an unknown key");
    free(err);
    err = NULL;
    CHECK(kbd_drain(b, 1) == 0, "and presses nothing");
    for (int i = 0; i < MON_SEND_KEY_MAX + 1; i++)
        many[i] = "a";
    CHECK(mon_send_key(many, MON_SEND_KEY_MAX + 1, 0, &err) == -EINVAL && strstr(err, "at most 16"),
          "send-key takes at most 16 keys");
    free(err);
    err = NULL;
    CHECK(mon_send_key(cad, 3, MON_SEND_KEY_HOLD_MAX + 1, &err) == -EINVAL, "and holds them at most 60 s");
    free(err);
    err = NULL;
    CHECK(mon_send_key(cad, 3, 0, &err) == 0 && kbd_drain(b, 4) == 4 && !memcmp(b, "\x1d\x38\xe0\x53", 4),
          "send-key ctrl alt delete: the keyboard says 1D 38 E0 53");
    CHECK(kbd_wait(b, 4) == 4 && !memcmp(b, "\xe0\xd3\xb8\x9d", 4),
          "and lets them go after the hold time, last first: E0 D3 B8 9D");
}

int main(void)
{
    fuzz_rig_init();
    test_run_state();
    test_machine();
    test_cpus();
    test_memory();
    test_block();
    test_pci();
    test_send_key();
    monitor_cleanup_all();
    return tap_done();
}
