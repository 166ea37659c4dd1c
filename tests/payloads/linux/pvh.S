/* pvh.S: the ELF vmlinux stand-in: a Xen PVH entry note and a 32-bit entry taking start_info in EBX */
    .section .note.Xen, "a"
    .align 4
    .long 4                     /* name size */
    .long 4                     /* desc size */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start

    .text
    .code32
    .globl pvh_start
pvh_start:
    cli
    mov $pvh_stack_top, %esp
    push %ebx
    call pvh_main
1:  hlt
    jmp 1b

    .bss
    .align 16
    .space 16384
pvh_stack_top:

    .section .note.GNU-stack,"",@progbits
