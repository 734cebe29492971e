/* RESIZE_BILINEAR, int8: TFLite-Micro's ResizeBilinearInteger. tinygen tabulates per
 * output row and column the two source rows/columns (element offsets) and the Q10 weight of the
 * second; each output is the four-tap sum in Q20, rounded half away from zero. */
#ifndef TG_RESIZE_H
#define TG_RESIZE_H

#include "tg_runtime.h"

typedef struct {
    int32_t batches, out_h, out_w, depth;
    int32_t in_batch;          /* elements per input batch */
    const int32_t *rows;       /* out_h x {offset of row y0, offset of row y1, Q10 weight of y1} */
    const int32_t *cols;       /* out_w x {offset of col x0, offset of col x1, Q10 weight of x1} */
} tg_resize_bilinear_t;

void tg_resize_bilinear_s8(const tg_resize_bilinear_t *p, const int8_t *in, int8_t *out);

#endif
