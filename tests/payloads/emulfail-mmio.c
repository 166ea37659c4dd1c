/* emulfail-mmio.c: payload that jumps to an address with no RAM behind it, where a hardware KVM has
 * no instruction to emulate: skiff must print the registers and where the code was, and stop the
 * VM in internal-error, as QEMU does (run by t-console, which asks the monitor) */
#include "lib/payload.h"

/* skiff-no-auto-run */
/* skiff-only-without-module: kvm_pvm (emulfail covers that KVM, which emulates the fetch differently) */

void test_main(uint32_t magic, uint32_t mbi)
{
    check(true, "about to run code at 256 MiB, above the 64 MiB of RAM");
    printf("1..1\n");
    ((void (*)(void))0x10000000)();
    check(false, "skiff stopped the guest at the jump");
}
