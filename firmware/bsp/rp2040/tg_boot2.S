/* RP2040 second-stage boot loader (256 bytes at the start of flash, .boot2).
 *
 * The boot ROM copies these 256 bytes to SRAM (0x20041f00), checks their CRC-32 (the last word,
 * filled in by the builder: firmware/platformio/builder/rp2040.py) and calls them with lr = 0.
 * They set up the flash interface (SSI) for execute-in-place with the plain serial READ command
 * (03h), which every SPI NOR flash answers (the Pico's W25Q16JV included): slower than the Pico
 * SDK's quad-I/O boot2, but one that needs no flash-specific status-register writes. Then it
 * vectors into the image: VTOR = 0x10000100, load the stack pointer, jump to the reset handler.
 * Position independent (it runs from SRAM, linked at 0x10000000): literals are PC-relative.
 * Register map: RP2040 datasheet, SSI (2.6.5); DW_apb_ssi field layout. */
    .syntax unified
    .cpu cortex-m0plus
    .thumb

    .section .boot2, "ax"
    .global tg_boot2
    .type tg_boot2, %function
    .thumb_func
tg_boot2:
    push {lr}
    ldr r3, =0x18000000          /* XIP_SSI_BASE */
    movs r1, #0
    str r1, [r3, #0x08]          /* SSIENR = 0: the SSI must be off to be configured */
    movs r1, #4
    str r1, [r3, #0x14]          /* BAUDR: SCK = clk_sys / 4 (clk_sys: the ROM left the ring oscillator) */
    ldr r1, =0x001f0300          /* CTRLR0: SPI_FRF standard (1 bit), DFS_32 = 31 (32-bit frames),
                                    TMOD = 3 (EEPROM read: command + address, then data) */
    str r1, [r3, #0x00]
    ldr r0, =0x180000f4          /* SPI_CTRLR0 */
    ldr r1, =0x03000218          /* XIP_CMD = 0x03, INST_L = 2 (8-bit command), ADDR_L = 6
                                    (24-bit address), no wait cycles, TRANS_TYPE 0 (1C1A) */
    str r1, [r0]
    movs r1, #0
    str r1, [r3, #0x04]          /* CTRLR1: NDF = 0, one data frame per XIP access */
    movs r1, #1
    str r1, [r3, #0x08]          /* SSIENR = 1 */

    pop {r0}
    cmp r0, #0                   /* called by the boot ROM (lr = 0): start the image */
    beq 1f
    bx r0                        /* called as a function (re-entering XIP): return */
1:
    ldr r0, =0x10000100          /* the image's vector table, after these 256 bytes */
    ldr r1, =0xe000ed08          /* VTOR */
    str r0, [r1]
    ldmia r0, {r0, r1}
    msr msp, r0
    bx r1

    .ltorg
    .size tg_boot2, . - tg_boot2
