/* trampoline.S: real-mode start of application processors: copied to 0x70000, entered by SIPI vector 0x70 */
    .text
    .globl ap_trampoline, ap_trampoline_end, ap_gdtr
    .code16
ap_trampoline:
    cli
    xorw %ax, %ax
    movw %cs, %ax
    movw %ax, %ds
    lgdtl ap_gdtr - ap_trampoline
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x10, $ap_start32
    .align 8
ap_gdtr:
    .word 0
    .long 0
ap_trampoline_end:

    .code32
ap_start32:
    movw $0x18, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    /* a stack each: 4 KiB slices of ap_stacks by arrival order */
    movl $1, %eax
    lock xaddl %eax, ap_next
    movl %eax, %ebx
    incl %ebx
    shll $12, %ebx
    addl $ap_stacks, %ebx
    movl %ebx, %esp
    pushl %eax
    call ap_main
1:  cli
    hlt
    jmp 1b

    .data
    .globl ap_next
ap_next:
    .long 0
    .bss
    .align 4096
ap_stacks:
    .space 4096 * 16

    .section .note.GNU-stack,"",@progbits
