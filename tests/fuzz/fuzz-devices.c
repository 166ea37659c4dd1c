/* fuzz-devices.c: libFuzzer target: a guest writing anything to any port or address, on the board run
 * by the test accelerator (the qtest entry points: io_dispatch, guest memory, the virtual clock) */
#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/ioregion.h"
#include "tests/fuzz/fuzz-board.h"

#include <stdint.h>
#include <stdlib.h>

static void machine_setup(void)
{
    struct pc_options o = { 0 };
    char *err = NULL;

    o.serial[0] = chardev_new("null,id=s0", &err);
    o.serial[1] = chardev_new("null,id=s1", &err);
    fuzz_board_init(&o);
    device_create_simple("isa-debugcon", "chardev=s1");
}

/*
 * Input: a sequence of operations, each [op][4 address bytes][4 value bytes].
 * op & 7: 0-2 port write of 1/2/4 bytes, 3-5 port read, 6 MMIO write (4 bytes), 7 clock step.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        machine_setup();
        ready = true;
    }
    device_reset_all();
    for (size_t i = 0; i + 9 <= size; i += 9) {
        uint8_t op = data[i] & 7;
        uint32_t addr = ldl_le(data + i + 1), val = ldl_le(data + i + 5);
        unsigned sz = 1u << (op % 3);

        switch (op) {
        case 0: case 1: case 2:
            io_dispatch(IO_SPACE_PIO, addr & 0xffff, &val, sz, true);
            break;
        case 3: case 4: case 5:
            io_dispatch(IO_SPACE_PIO, addr & 0xffff, &val, sz, false);
            break;
        case 6:
            /* 0xe0000000 and up: the PCI hole, APIC, firmware */
            io_dispatch(IO_SPACE_MMIO, 0xe0000000u | addr, &val, 4, true);
            break;
        case 7:
            clock_virtual_step(val % 2000000000u);
            break;
        }
    }
    /* requests (reset, poweroff, exit) the guest made are dropped: the next input starts afresh */
    loop_iterate(false);
    return 0;
}
