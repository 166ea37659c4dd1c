/* extboot.S: skiff's extboot option ROM: a boot connection vector (BCV) that takes the next BIOS hard-disk number and serves int 13h for it by handing the caller's registers to skiff's extboot port (docs/extboot.md); other drives' calls go to the handler it found */

/*
 * Assembled by GNU as (as --32, real mode code) and made a flat image by roms/roms.mk; romsum
 * pads it to whole 512-byte blocks, writes the block count into byte 2 and makes the bytes sum
 * to zero, as the BIOS checks before it runs a ROM.
 *
 * The ROM has no PnP header, so SeaBIOS treats it as a legacy ROM: it does not run it during its
 * option ROM scan but calls its entry (offset 3) as a BCV when it maps the boot drives, in the
 * order of fw_cfg's "bootorder" ("/rom@genroms/extboot.bin"). A BCV called first gets drive
 * 0x80, which SeaBIOS then boots; SeaBIOS numbers its own disks after the ones we took, since it
 * reads the same count in the BIOS data area. The shadow RAM under the ROM is still writable when
 * BCVs run, so the drive number and the chained vector live in the ROM's own bytes.
 */

    .code16
    .text

EXTBOOT_PORT = 0x404            /* hw/pc/extboot.c */
STATUS_BUSY = 1                 /* an inb of the port while skiff works on a request */
NO_ANSWER = 0xffff              /* the result word as the ROM leaves it; skiff writes 0 or 1 */
BDA_HDCOUNT = 0x475             /* 0040:0075, the number of hard disks */

    .globl _start
_start:
    .byte 0x55, 0xaa
    .byte 0                     /* size in 512-byte blocks: romsum */
    jmp bcv                     /* offset 3: the BIOS's entry */

    .org 0x08
    /* the signature a boot program can find at the int 13h vector's segment (docs/extboot.md) */
    .ascii "SKIFF EXTBOOT"

    .org 0x18
    .word 0                     /* no PCI data structure */
    .word 0                     /* no PnP header: a legacy ROM, run as a BCV */

    .org 0x20
drive:      .byte 0             /* our BIOS drive number; 0 until the BCV ran */
            .byte 0
chained13:  .long 0             /* the int 13h handler we found (offset, segment) */

/*
 * The BCV: claim the next hard-disk number and hook int 13h, once, when skiff's port answers
 * (an unclaimed port reads all ones).
 */
bcv:
    pushw %ax
    pushw %dx
    pushw %ds
    pushf
    cli
    mov $EXTBOOT_PORT, %dx
    inb %dx, %al
    cmp $0xff, %al
    je 1f
    cmpb $0, %cs:drive
    jne 1f
    xor %ax, %ax
    mov %ax, %ds
    mov BDA_HDCOUNT, %al
    cmp $0x7f, %al
    jae 1f
    or $0x80, %al
    mov %al, %cs:drive
    incb BDA_HDCOUNT
    mov 0x13 * 4, %ax
    mov %ax, %cs:chained13
    mov 0x13 * 4 + 2, %ax
    mov %ax, %cs:chained13 + 2
    movw $int13, 0x13 * 4
    mov %cs, 0x13 * 4 + 2
1:  popf
    popw %ds
    popw %dx
    popw %ax
    lret

/*
 * int 13h: our drive's calls go to skiff as a frame on the caller's stack, the rest to the
 * handler we chained. The frame, from its lowest address: EDI ESI EBP ESP EBX EDX ECX EAX as
 * pushal leaves them, DS, ES, and the result word: skiff reads it at the linear address written
 * to the port, serves the call and writes the registers back with the result (bit 0: carry).
 */
int13:
    cmp %cs:drive, %dl
    je 1f
    ljmp *%cs:chained13
1:  pushw $NO_ANSWER
    pushw %es
    pushw %ds
    pushal
    xor %eax, %eax
    mov %ss, %ax
    shl $4, %eax
    movzwl %sp, %edx
    add %edx, %eax
    mov $EXTBOOT_PORT, %dx
    outl %eax, %dx
    /* skiff answers at once, or when the disk has; the port reads busy until then */
2:  inb %dx, %al
    cmp $STATUS_BUSY, %al
    je 2b
    popal
    popw %ds
    popw %es
    /* the stack: result, then the interrupt's IP, CS and FLAGS */
    pushw %bp
    mov %sp, %bp
    cmpw $NO_ANSWER, 2(%bp)
    jne 3f
    mov $0xaa, %ah              /* nothing answered: drive not ready */
    jmp 4f
3:  testw $1, 2(%bp)
    jz 5f
4:  orw $1, 8(%bp)              /* carry set in the caller's FLAGS */
    jmp 6f
5:  andw $0xfffe, 8(%bp)
6:  popw %bp
    add $2, %sp                 /* the result word; iret reloads FLAGS */
    iret
