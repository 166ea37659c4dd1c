/* head64.S: the protected-mode part of the test bzImage: startup_32 at +0, startup_64 at +0x200 */
    .section .text.head, "ax"
    .code32
    .globl startup_32
startup_32:
    /* skiff enters 64-bit kernels at startup_64; this one is never used */
    cli
1:  hlt
    jmp 1b

    .org 0x200
    .code64
    .globl startup_64
startup_64:
    cli
    lea stack_top(%rip), %rsp
    mov %rsi, %rdi              /* boot_params */
    call kernel_main
2:  hlt
    jmp 2b

    .bss
    .align 16
    .space 16384
stack_top:

    .section .note.GNU-stack,"",@progbits
