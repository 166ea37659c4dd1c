/*
 * setup16.S: the test bzImage's real-mode setup code, for boot loaders that enter a kernel as
 * firmware does (QEMU's linuxboot option ROM under -bios): at CS = setup segment + 0x20, IP 0,
 * DS = ES = SS = the setup segment. Like Linux's own setup (arch/x86/boot), it builds
 * boot_params from its header and the BIOS's e820 map (int 15h, AX=E820h), enables A20, and
 * enters the 32-bit entry code32_start in flat protected mode with ESI = boot_params
 * (boot.rst "32-bit boot protocol"). mkbzimage puts it at 0x280 of the setup sectors, so it
 * runs at CS offset 0x80.
 */
#define BP      0x8000      /* boot_params, in the setup segment (below the heap and stack) */
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR  0x1f1
#define BP_HDR_END 0x280
#define BP_E820_TABLE 0x2d0
#define E820_MAX 128
#define SMAP    0x534d4150

    .code16
    .section .text
    .globl setup16
setup16:
    cli
    cld
    mov %es, %ax                /* the setup segment: the header is at ES:0 */
    mov %ax, %ds

    /* boot_params: zero, then the setup header */
    mov $BP, %di
    mov $2048, %cx
    xor %ax, %ax
    rep stosw
    mov $BP_HDR, %si
    mov $(BP + BP_HDR), %di
    mov $(BP_HDR_END - BP_HDR), %cx
    rep movsb

    /* the memory map, entry by entry, as the BIOS gives it */
    xor %ebp, %ebp              /* entries */
    xor %esi, %esi              /* the BIOS's continuation value */
    mov $(BP + BP_E820_TABLE), %di
1:  mov %esi, %ebx
    mov $0xe820, %eax
    mov $SMAP, %edx
    mov $20, %ecx
    int $0x15
    jc 2f
    cmp $SMAP, %eax
    jne 2f
    mov %ebx, %esi
    inc %ebp
    add $20, %di
    cmp $E820_MAX, %ebp
    jae 2f
    test %ebx, %ebx
    jnz 1b
2:  mov %bp, %ax
    mov %al, %es:(BP + BP_E820_ENTRIES)

    /* A20 through port 0x92 (the fast gate) */
    in $0x92, %al
    or $2, %al
    and $0xfe, %al
    out %al, $0x92

    /* the GDT's and the 32-bit code's linear addresses: CS-relative offsets plus CS's base */
    mov %cs, %ax
    mov %ax, %ds
    movzwl %ax, %eax
    shl $4, %eax
    mov %eax, %edx
    add $gdt, %eax
    mov %eax, gdt_ptr + 2
    mov %edx, %edi
    add $pm32, %edi
    mov %es, %si
    movzwl %si, %esi
    shl $4, %esi
    add $BP, %esi               /* ESI: boot_params, for the kernel */
    lgdtl gdt_ptr

    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    pushl $0x10
    pushl %edi
    lretl

    .code32
pm32:
    mov $0x18, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    xor %ebp, %ebp
    xor %edi, %edi
    xor %ebx, %ebx
    jmp *0x214(%esi)            /* code32_start */

    .align 8
gdt:
    .quad 0
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x10: flat 32-bit code (__BOOT_CS) */
    .quad 0x00cf93000000ffff    /* 0x18: flat data (__BOOT_DS) */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .long 0

    .section .note.GNU-stack,"",@progbits
