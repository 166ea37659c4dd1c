/* boot.S: the first sector of the firmware test image: a disk MBR or an El Torito no-emulation boot image that loads the rest and calls stage2 */
    .code16
    .section .head, "ax"
    .globl _start
_start:
    cli
    ljmp $0, $1f                /* CS:IP = 0000:7cxx whatever the BIOS jumped with */
1:  xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7c00, %sp
    sti
    mov %dl, boot_drive
    /* a CD's boot catalog loads the whole image; a disk's MBR reads the rest itself */
    cmpl $STAGE2_MAGIC, stage2_magic
    je 2f
    mov $dap, %si
    mov $0x42, %ah
    int $0x13
    jc fail
    cmpl $STAGE2_MAGIC, stage2_magic
    jne fail
2:  movzbl boot_drive, %edx
    pushl %edx
    calll stage2_main
fail:
    mov $0x3f8, %dx
    mov $'F', %al
    outb %al, %dx
    mov $0xf4, %dx
    mov $0x7f, %al
    outb %al, %dx
3:  hlt
    jmp 3b

boot_drive: .byte 0
    .balign 4
dap:
    .byte 0x10, 0
    .word STAGE2_SECTORS
    .word 0x7e00, 0
    .quad 1
    .org 510
    .byte 0x55, 0xaa
