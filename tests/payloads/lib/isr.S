/* isr.S: interrupt entry stubs for vectors 0-255; each pushes its vector and calls isr_dispatch */
    .text
    .code32

    /* stub i sits at isr_stubs + 16 * i (the IDT is built from that) */
    .globl isr_stubs
    .align 16
isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    pushl $0                /* keep the frame the same for vectors with and without error codes */
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushal
    pushl 32(%esp)          /* the vector */
    call isr_dispatch
    addl $4, %esp
    popal
    addl $8, %esp
    /*
     * Return without iret: the software KVM this lane runs on emulates every instruction
     * of a guest without paging, and KVM's emulator has no protected-mode iret. Same
     * privilege level, so iret is "restore EFLAGS, jump to EIP, drop CS": popf + ret.
     * Frame now: [esp] EIP, [esp+4] CS, [esp+8] EFLAGS.
     */
    pushl %eax
    movl 4(%esp), %eax      /* EIP */
    xchgl %eax, 12(%esp)    /* EIP into the EFLAGS slot, EFLAGS into eax */
    movl %eax, 8(%esp)      /* EFLAGS into the CS slot */
    popl %eax
    addl $4, %esp           /* [esp] EFLAGS, [esp+4] EIP */
    popfl
    ret

    .section .note.GNU-stack,"",@progbits
