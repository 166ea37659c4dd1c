/* fuzz-board.h: the PC board under the test accelerator, as the fuzz targets set it up once per process */
#ifndef TESTS_FUZZ_FUZZ_BOARD_H
#define TESTS_FUZZ_FUZZ_BOARD_H

#include "hw/accel.h"
#include "hw/machine.h"
#include "hw/pc.h"
#include "hw/qtest.h"
#include "util/main-loop.h"

/* 16 MiB of RAM, one CPU that never runs, the virtual clock stepped by hand; o as given. */
static inline void fuzz_board_init(struct pc_options *o)
{
    loop_init();
    devlock_lock();
    machine_init_requests();
    machine_cfg.ram_size = 16 * MiB;
    machine_cfg.topo = (struct cpu_topology){ 1, 1, 1, 1 };
    machine_cfg.qtest = true;
    clock_virtual_set_manual();
    qtest_accel_install();
    pc_init(o);
}

#endif
