/* fuzz-board.h: the PC board under the test accelerator, as the fuzz targets set it up once per process, and the guest and monitor operations they drive it with */
#ifndef TESTS_FUZZ_FUZZ_BOARD_H
#define TESTS_FUZZ_FUZZ_BOARD_H

#include "block/blockdev.h"
#include "chardev/chardev.h"
#include "hw/core/accel.h"
#include "hw/core/device.h"
#include "hw/core/guest-mem.h"
#include "hw/core/ioregion.h"
#include "hw/core/machine.h"
#include "hw/pc/pc.h"
#include "hw/core/qtest.h"
#include "monitor/monitor.h"
#include "util/main-loop.h"
#include "tests/unit/tap.h" // tap_tmp_dir

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FUZZ_RAM (16 * MiB)

/* 16 MiB of RAM, one CPU that never runs, the virtual clock stepped by hand; o as given. */
static inline void fuzz_board_init(struct pc_options *o)
{
    loop_init();
    devlock_lock();
    machine_init_requests();
    machine_cfg.ram_size = FUZZ_RAM;
    machine_cfg.topo = (struct cpu_topology){ 1, 1, 1, 1 };
    machine_cfg.qtest = true;
    clock_virtual_set_manual();
    qtest_accel_install();
    pc_init(o);
}

/* ---- a board with drives and a monitor, for the targets that drive devices ---- */

static struct {
    struct monitor *mon;
    char disk[256], probed[256], cd[256];
    char cmds[12][320];
    int ncmds;
} fuzz_rig;

static inline void fuzz_rig_unlink(void)
{
    unlink(fuzz_rig.disk);
    unlink(fuzz_rig.probed);
    unlink(fuzz_rig.cd);
}

/* A temporary image of `size` bytes whose 32-bit words hold their own index. */
static inline void fuzz_rig_image(char *path, size_t pathlen, const char *what, size_t size)
{
    FILE *f;
    int fd;

    snprintf(path, pathlen, "%s/skiff-fuzz-%s.XXXXXX", tap_tmp_dir(), what);
    fd = mkstemp(path);
    if (fd < 0 || !(f = fdopen(fd, "w")))
        abort();
    for (uint32_t i = 0; i < size / 4; i++)
        fwrite(&i, 4, 1, f);
    fclose(f);
}

/*
 * The board with a raw disk (ide0-hd0), a raw disk whose format is probed (ide0-hd1: its sector
 * 0 is guarded), a CD-ROM with a disc (ide1-cd0) and one without (ide1-cd1), serial ports on null
 * chardevs, and a monitor whose commands come from a fixed list (eject, change, stop, cont,
 * system_reset, info) so that no command names a host file of the fuzzer's choosing.
 */
static inline void fuzz_rig_init(void)
{
    struct pc_options o = { 0 };
    char *err = NULL, spec[320];

    fuzz_rig_image(fuzz_rig.disk, sizeof(fuzz_rig.disk), "disk", 1 * MiB);
    fuzz_rig_image(fuzz_rig.probed, sizeof(fuzz_rig.probed), "probed", 256 * KiB);
    fuzz_rig_image(fuzz_rig.cd, sizeof(fuzz_rig.cd), "cd", 512 * KiB);
    atexit(fuzz_rig_unlink);
    o.serial[0] = chardev_new("null,id=s0", &err);
    o.serial[1] = chardev_new("null,id=s1", &err);
    snprintf(spec, sizeof(spec), "file=%s,format=raw,cache=unsafe,index=0", fuzz_rig.disk);
    if (blockdev_add_drive(spec, &err) < 0)
        abort();
    snprintf(spec, sizeof(spec), "file=%s,cache=unsafe,index=1", fuzz_rig.probed);
    if (blockdev_add_drive(spec, &err) < 0)
        abort();
    snprintf(spec, sizeof(spec), "file=%s,format=raw,media=cdrom,index=2", fuzz_rig.cd);
    if (blockdev_add_drive(spec, &err) < 0 || blockdev_add_drive("media=cdrom,index=3", &err) < 0 ||
        blockdev_open_all(&err) < 0)
        abort();
    fuzz_board_init(&o);
    machine_done();
    device_create_simple("isa-debugcon", "chardev=s1");
    fuzz_rig.mon = monitor_new(chardev_new("null,id=mon", &err), &err);
    if (!fuzz_rig.mon)
        abort();
    monitor_allow_file_writes(false);
#define FUZZ_CMD(...) snprintf(fuzz_rig.cmds[fuzz_rig.ncmds++], sizeof(fuzz_rig.cmds[0]), __VA_ARGS__)
    FUZZ_CMD("eject ide1-cd0");
    FUZZ_CMD("eject -f ide1-cd0");
    FUZZ_CMD("change ide1-cd0 %s raw", fuzz_rig.cd);
    FUZZ_CMD("change ide1-cd1 %s raw", fuzz_rig.cd);
    FUZZ_CMD("eject -f ide1-cd1");
    FUZZ_CMD("stop");
    FUZZ_CMD("cont");
    FUZZ_CMD("system_reset");
    FUZZ_CMD("info block");
    FUZZ_CMD("info status");
    FUZZ_CMD("info pci");
    FUZZ_CMD("info blockstats");
#undef FUZZ_CMD
}

/* Each input starts from a reset board as firmware leaves it, with every request of the last done. */
static inline void fuzz_rig_reset(void)
{
    device_drain_all();
    device_reset_all();
    pc_setup_like_firmware();
}

/*
 * Run operations until the input ends, each [op][4 address bytes][4 value bytes]. op & 15:
 *   0-2 port write of 1/2/4 bytes    3-5 port read of 1/2/4 bytes
 *   6 MMIO write (4 bytes) at 0xe0000000 + addr (the PCI hole, APIC, firmware)
 *   7 clock step      8 RAM write of the value's 4 bytes (PRD tables, buffers, descriptors)
 *   9 RAM fill: 256 bytes at addr with the value's low byte
 *   10 a monitor command from the list   11 run the main loop once (requests complete)
 *   12 MMIO read      13 wait for every device's requests in flight
 * The bus master ports are at 0xc000 (the PIIX IDE's BAR 4 as firmware places it).
 */
static inline void fuzz_run_ops(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 9 <= size; i += 9) {
        uint8_t op = data[i] & 15;
        uint32_t addr = ldl_le(data + i + 1), val = ldl_le(data + i + 5);
        unsigned sz = 1u << (op % 3);
        uint8_t fill[256];

        switch (op) {
        case 0: case 1: case 2:
            io_dispatch(IO_SPACE_PIO, addr & 0xffff, &val, sz, true);
            break;
        case 3: case 4: case 5:
            io_dispatch(IO_SPACE_PIO, addr & 0xffff, &val, sz, false);
            break;
        case 6:
            io_dispatch(IO_SPACE_MMIO, 0xe0000000u | addr, &val, 4, true);
            break;
        case 7:
            clock_virtual_step(val % 2000000000u);
            break;
        case 8:
            gmem_write(addr % (FUZZ_RAM - 4), &val, 4);
            break;
        case 9:
            memset(fill, val, sizeof(fill));
            gmem_write(addr % (FUZZ_RAM - sizeof(fill)), fill, sizeof(fill));
            break;
        case 10:
            monitor_run_line(fuzz_rig.mon, fuzz_rig.cmds[val % fuzz_rig.ncmds]);
            break;
        case 11:
            loop_iterate(false);
            break;
        case 12:
            io_dispatch(IO_SPACE_MMIO, 0xe0000000u | addr, &val, 4, false);
            break;
        case 13:
            device_drain_all();
            break;
        default:
            break;
        }
    }
    /* requests (reset, poweroff, exit) the guest made are dropped: the next input starts afresh */
    loop_iterate(false);
}

#endif
