/* head.S: multiboot header and 32-bit entry of every test payload */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003     /* page-align modules, want memory info */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .text
    .code32
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    push %ebx               /* multiboot info */
    push %eax               /* magic */
    call payload_start
1:  hlt
    jmp 1b

    .bss
    .align 16
stack:
    .space 16384
stack_top:
.section .note.GNU-stack,"",@progbits
