/* See tg_simd.h: the primitives are inline; this file records which path a build took. */
#include "tg_simd.h"

/* 1 when this build uses the ARMv7E-M DSP instructions or Xtensa's MAC16, 0 for the portable C
 * path. */
int tg_simd_dsp_path(void)
{
    return TG_Q15_ROUTE;
}
