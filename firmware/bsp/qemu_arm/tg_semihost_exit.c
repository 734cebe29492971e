/* Exit an Arm semihosting session with a status (SYS_EXIT_EXTENDED, ADP_Stopped_ApplicationExit).
 * Shared by the Cortex-M QEMU twins; QEMU needs -semihosting-config enable=on,target=native. */
#include <stdint.h>

#include "tg_bsp.h"

void bsp_exit(int code)
{
    static volatile uint32_t block[2];
    block[0] = 0x20026u; /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)code;
    for (;;) {
        __asm__ volatile("mov r0, #0x20\n\t"
                         "mov r1, %0\n\t"
                         "bkpt 0xAB"
                         :
                         : "r"(block)
                         : "r0", "r1", "memory");
    }
}
