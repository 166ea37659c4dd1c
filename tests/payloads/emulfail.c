/* emulfail.c: payload that makes KVM give up on an instruction: skiff must print the registers and
 * the instruction's bytes and stop the VM in internal-error, as QEMU does (run by t-console, which
 * asks the monitor) */
#include "lib/payload.h"

/* skiff-no-auto-run */
/* skiff-only-with-module: kvm_pvm (a KVM that emulates protected-mode code and has no int3 there) */

void test_main(uint32_t magic, uint32_t mbi)
{
    check(true, "about to run an instruction this KVM cannot emulate");
    printf("1..1\n");
    __asm__ volatile("int3; nop; nop; nop");
    check(false, "skiff stopped the guest at the int3");
}
