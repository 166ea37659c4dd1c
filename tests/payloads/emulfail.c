/* emulfail.c: payload that makes KVM give up on an instruction: skiff must print the registers and
 * the instruction's bytes and exit with status 1, not hang (as QEMU does, paused) */
#include "lib/payload.h"

/* skiff-expect-exit: 1 */
/* skiff-expect-stderr: KVM internal error */
/* skiff-expect-stderr: Code at 0000000000 */
/* skiff-expect-stderr: cc 90 90 90 */
/* skiff-only-with-module: kvm_pvm (a KVM that emulates protected-mode code and has no int3 there) */

void test_main(uint32_t magic, uint32_t mbi)
{
    check(true, "about to run an instruction this KVM cannot emulate");
    printf("1..1\n");
    __asm__ volatile("int3; nop; nop; nop");
    check(false, "skiff stopped the guest at the int3");
}
