/* fuzz-monitor.c: libFuzzer target: anything typed into the human monitor (line editing, every command and argument) on the board run by the test accelerator */
#include "chardev/chardev.h"
#include "monitor/monitor.h"
#include "tests/fuzz/fuzz-board.h"

#include <stdint.h>
#include <stdlib.h>

static struct monitor *mon;

static void machine_setup(void)
{
    struct pc_options o = { 0 };
    char *err = NULL;

    /* no drives: "change" would open whatever host file the fuzzer spelled (a fifo blocks) */
    fuzz_board_init(&o);
    mon = monitor_new(chardev_new("null,id=mon", &err), &err);
    if (!mon)
        abort();
    /* pmemsave would write (or truncate) whatever host file the fuzzer spelled */
    monitor_allow_file_writes(false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        machine_setup();
        ready = true;
    }
    monitor_input(mon, data, (int)MIN(size, (size_t)INT32_MAX));
    monitor_input(mon, (const uint8_t *)"\r", 1);
    /* requests it made (reset, quit) run, and the next input starts afresh */
    loop_iterate(false);
    return 0;
}
