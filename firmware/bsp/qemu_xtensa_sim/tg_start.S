/* Start-up of the Xtensa twin (QEMU `sim` machine, de233_fpu core), for clang-22 + llvm-mc-22.
 *
 * The sim machine starts at the core's reset vector, 0xfe000000, not at the ELF entry, and sets
 * up nothing: this file does what a ROM and a runtime would.
 *   - tg_reset_vector (0xfe000000): jump to tg_start in RAM (L32R + JX: RAM is out of J's reach).
 *   - tg_start: one live register window (WINDOWBASE 0, WINDOWSTART 1), VECBASE to tg_vectors,
 *     PS = WOE (window exceptions on) | UM (general exceptions to the user vector), interrupts
 *     off (INTENABLE is 0 from reset), the FPU (coprocessor 0) granted in CPENABLE, a1 = stack top,
 *     .bss zeroed (QEMU loads .text/.data from the ELF), then tg_xtensa_main through CALLX4.
 *   - tg_vectors: the windowed ABI needs the window overflow/underflow handlers (the code
 *     compilers emit assumes them: these are the Xtensa ISA's spill layout, a frame's a0-a3 in the
 *     16 bytes below the next frame's stack pointer, the rest in its own frame's extra save
 *     area), and MOVSP's Alloca exception (clang emits MOVSP around calls with more than six
 *     arguments): the caller's frame, spilled, is reloaded through the underflow handler of its
 *     size, then MOVSP runs again. Any other exception or interrupt exits QEMU with status
 *     64 + EXCCAUSE (tg_fatal), so a fault is a message, never a hang.
 *
 * The offsets in tg_vectors are the LX cores' VECBASE layout (also the ESP32's). */

#define SYS_EXIT 1
#define EXCCAUSE_ALLOCA 5
#define PS_OWB_SHIFT 8
#define PS_OWB_BITS 4

    .section .note.GNU-stack, "", @progbits

    .section .reset_vector, "ax"
    .global tg_reset_vector
tg_reset_vector:
    j 1f
    .balign 4
2:  .4byte tg_start
1:  l32r a2, 2b
    jx a2

    .section .vectors, "ax"
    .balign 1024
    .global tg_vectors
tg_vectors:

/* Window overflow: spill the frame whose registers are about to be reused; underflow: reload
 * the caller's frame on return (RETW) when it is no longer in the register file. */
    .org tg_vectors + 0x00
tg_window_overflow4:
    s32e a0, a5, -16
    s32e a1, a5, -12
    s32e a2, a5, -8
    s32e a3, a5, -4
    rfwo

    .org tg_vectors + 0x40
tg_window_underflow4:
    l32e a0, a5, -16
    l32e a1, a5, -12
    l32e a2, a5, -8
    l32e a3, a5, -4
    rfwu

    .org tg_vectors + 0x80
tg_window_overflow8:
    s32e a0, a9, -16
    l32e a0, a1, -12        /* the frame's extra save area hangs below its caller's sp */
    s32e a1, a9, -12
    s32e a2, a9, -8
    s32e a3, a9, -4
    s32e a4, a0, -32
    s32e a5, a0, -28
    s32e a6, a0, -24
    s32e a7, a0, -20
    rfwo

    .org tg_vectors + 0xC0
tg_window_underflow8:
    l32e a1, a9, -12
    l32e a0, a9, -16
    l32e a7, a1, -12
    l32e a2, a9, -8
    l32e a4, a7, -32
    l32e a3, a9, -4
    l32e a5, a7, -28
    l32e a6, a7, -24
    l32e a7, a7, -20
    rfwu

    .org tg_vectors + 0x100
tg_window_overflow12:
    s32e a0, a13, -16
    l32e a0, a1, -12
    s32e a1, a13, -12
    s32e a2, a13, -8
    s32e a3, a13, -4
    s32e a4, a0, -48
    s32e a5, a0, -44
    s32e a6, a0, -40
    s32e a7, a0, -36
    s32e a8, a0, -32
    s32e a9, a0, -28
    s32e a10, a0, -24
    s32e a11, a0, -20
    rfwo

    .org tg_vectors + 0x140
tg_window_underflow12:
    l32e a1, a13, -12
    l32e a0, a13, -16
    l32e a11, a1, -12
    l32e a2, a13, -8
    l32e a4, a11, -48
    l32e a8, a11, -32
    l32e a3, a13, -4
    l32e a5, a11, -44
    l32e a6, a11, -40
    l32e a7, a11, -36
    l32e a9, a11, -28
    l32e a10, a11, -24
    l32e a11, a11, -20
    rfwu

/* Interrupt levels 2-6, NMI, kernel: nothing is enabled, so reaching one is a fault. */
    .org tg_vectors + 0x180
    j tg_fatal
    .org tg_vectors + 0x1C0
    j tg_fatal
    .org tg_vectors + 0x200
    j tg_fatal
    .org tg_vectors + 0x240
    j tg_fatal
    .org tg_vectors + 0x280
    j tg_fatal
    .org tg_vectors + 0x2C0
    j tg_fatal
    .org tg_vectors + 0x300
    j tg_fatal

/* User exception vector (PS.UM = 1). MOVSP raised Alloca because the caller's frame is spilled:
 * pretend the current window is one below, put the window base that was current into PS.OWB
 * (where RFWU takes it back from), restore a0, and reload the caller's frame with the underflow
 * handler of its call size (a0's top two bits). RFWU returns to EPC1: MOVSP again. */
    .org tg_vectors + 0x340
tg_user_exception:
    wsr a0, excsave1
    rsr a0, exccause
    beqi a0, EXCCAUSE_ALLOCA, tg_alloca
    j tg_fatal
tg_alloca:
    rsr a0, windowbase
    rotw -1                 /* the window base that faulted is now a4 */
    rsr a2, ps
    extui a3, a2, PS_OWB_SHIFT, PS_OWB_BITS
    xor a3, a3, a4
    rsr a4, excsave1        /* the faulting frame's a0, back in its register */
    slli a3, a3, PS_OWB_SHIFT
    xor a2, a2, a3          /* PS.OWB = the faulting window base */
    wsr a2, ps
    rsync
    bbci a4, 31, 4f         /* return address 01xx...: CALL4 */
    rotw -1
    bbci a8, 30, 8f         /* 10xx...: CALL8, else CALL12 */
    rotw -1
    j tg_window_underflow12
4:  j tg_window_underflow4
8:  j tg_window_underflow8

    .org tg_vectors + 0x3C0
    j tg_fatal

    .text
    .balign 4
    .global tg_fatal
tg_fatal:
    movi a2, SYS_EXIT
    rsr a3, exccause
    addi a3, a3, 64
    .byte 0x00, 0x51, 0x00  /* SIMCALL: LLVM's assembler has no mnemonic for it */
1:  j 1b

    .balign 4
.Lvectors:  .4byte tg_vectors
.Lps:       .4byte 0x00040020   /* PS: WOE | UM (INTENABLE is 0 from reset: no interrupts) */
.Lstack:    .4byte _estack
.Lbss:      .4byte _sbss
.Lbss_end:  .4byte _ebss
.Lmain:     .4byte tg_xtensa_main
    .global tg_start
tg_start:
    movi a0, 0              /* no return address: the outermost frame */
    movi a2, 1
    wsr a2, windowstart
    movi a2, 0
    wsr a2, windowbase
    rsync
    l32r a2, .Lvectors
    wsr a2, vecbase
    l32r a2, .Lps
    wsr a2, ps
    rsync
    movi a2, 0xff
    wsr a2, cpenable
    rsync
    l32r a1, .Lstack
    l32r a2, .Lbss
    l32r a3, .Lbss_end
    movi a4, 0
1:  bgeu a2, a3, 2f
    s32i a4, a2, 0
    addi a2, a2, 4
    j 1b
2:  l32r a4, .Lmain
    callx4 a4               /* never returns: tg_xtensa_main exits through simcall */
3:  j 3b
