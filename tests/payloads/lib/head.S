/* head.S: multiboot header and 32-bit entry of every test payload */
#define MB_MAGIC 0x1badb002
#ifdef MB_AOUT
#define MB_FLAGS 0x00010003     /* ... and load me by the address fields below */
#else
#define MB_FLAGS 0x00000003     /* page-align modules, want memory info */
#endif

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
#ifdef MB_AOUT
    /* the a.out kludge (multiboot spec 3.1.3), for a flat binary of the image: header_addr,
     * load_addr, load_end_addr, bss_end_addr, entry_addr; the link script names the ends */
    .long mb_header, __image_start, _edata, __image_end, _start
#endif

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
