/* fuzz-devices.c: libFuzzer target: a guest writing anything to any port, address and its own RAM (PRD tables, DMA buffers, extboot's frames), with monitor commands (eject, change, stop, cont, system_reset) between, on the board run by the test accelerator with disks and CD-ROMs */
#include "tests/fuzz/fuzz-board.h"

#include <stdint.h>

/* Input: operations as fuzz_run_ops (fuzz-board.h) reads them. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        fuzz_rig_init();
        /* extboot's port (0x404) serving the first disk: frames of int 13h registers in RAM */
        device_create_simple("extboot", "drive=ide0-hd0");
        ready = true;
    }
    fuzz_rig_reset();
    fuzz_run_ops(data, size);
    return 0;
}
