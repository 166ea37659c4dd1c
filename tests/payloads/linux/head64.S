/*
 * head64.S: the protected-mode part of the test bzImage: startup_32 at +0, startup_64 at +0x200.
 * skiff's direct boot enters startup_64 in long mode. A boot through firmware (setup16.S) enters
 * startup_32 in flat 32-bit protected mode with ESI = boot_params; like Linux's own startup_32,
 * it builds identity page tables for the first 4 GiB and switches to long mode itself.
 */
    .section .text.head, "ax"
    .code32
    .globl startup_32
startup_32:
    cli
    /* zero the page tables (RAM the firmware used may hold anything) */
    mov $pml4, %edi
    mov $(6 * 4096 / 4), %ecx
    xor %eax, %eax
    rep stosl
    movl $(pdpt + 3), pml4
    mov $pd, %eax
    or $3, %eax
    mov $pdpt, %edi
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 1b
    /* 2048 2-MiB pages: present, writable, large */
    mov $pd, %edi
    mov $0x83, %eax
    mov $2048, %ecx
2:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 2b
    mov $pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $0xc0000080, %ecx       /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    lgdt gdt64_ptr
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG, PE */
    mov %eax, %cr0
    ljmp $0x10, $from32

    .org 0x200
    .code64
    .globl startup_64
startup_64:
    cli
    lea stack_top(%rip), %rsp
    mov %rsi, %rdi              /* boot_params */
    call kernel_main
3:  hlt
    jmp 3b

from32:
    mov $0x18, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %esi, %esi              /* boot_params, zero-extended */
    jmp startup_64

    .section .rodata
    .align 8
gdt64:
    .quad 0
    .quad 0
    .quad 0x00af9b000000ffff    /* 0x10: 64-bit code */
    .quad 0x00cf93000000ffff    /* 0x18: data */
gdt64_ptr:
    .word gdt64_ptr - gdt64 - 1
    .long gdt64

    .bss
    .align 4096
pml4:
    .space 4096
pdpt:
    .space 4096
pd:
    .space 4 * 4096
    .align 16
    .space 16384
stack_top:

    .section .note.GNU-stack,"",@progbits
