/* Data movement: the one kernel behind TRANSPOSE, STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, PACK,
 * UNPACK, TILE, GATHER (constant positions), SPACE_TO_DEPTH, DEPTH_TO_SPACE, SPACE_TO_BATCH_ND,
 * BATCH_TO_SPACE_ND, MIRROR_PAD and RESIZE_NEAREST_NEIGHBOR. tinygen describes each op as a few
 * moves (tinygen/ops/movement.py): `run` contiguous bytes copied at every point of six nested
 * loops. A loop steps its source by src_step bytes per iteration (0 repeats, negative walks
 * backwards) or, where src_map is set, reads the source offset of each iteration from that
 * table. Loops that were contiguous in both source and destination were merged offline, so
 * the copies are as long as the layout allows. Bytes only: the element type does not matter. */
#ifndef TG_MOVE_H
#define TG_MOVE_H

#include "tg_runtime.h"

#define TG_MOVE_LOOPS 6

typedef struct {
    int32_t src;                              /* byte offset of the first run in the source */
    int32_t dst;                              /* ... in the destination */
    int32_t run;                              /* bytes copied at each point */
    int32_t count[TG_MOVE_LOOPS];             /* iterations, outermost loop first (1: unused) */
    int32_t src_step[TG_MOVE_LOOPS];          /* source bytes per iteration (no src_map) */
    int32_t dst_step[TG_MOVE_LOOPS];          /* destination bytes per iteration */
    const int32_t *src_map[TG_MOVE_LOOPS];    /* source byte offset of each iteration, or 0 */
} tg_move_t;

/* Copy as `m` describes. Source and destination do not overlap (distinct tensors). */
void tg_move(const tg_move_t *m, const int8_t *src, int8_t *dst);

/* Set `count` elements of `elem` bytes (1, 2 or 4; dst aligned to it) to `value`. */
void tg_fill(int8_t *dst, int32_t count, int32_t value, int32_t elem);

#endif
