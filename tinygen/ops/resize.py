"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR on NHWC tensors, with align_corners and
half_pixel_centers, as TFLite-Micro's reference kernels compute them.

Nearest neighbour: the source row and column of every output row and column are computed here
with TFLite-Micro's float32 arithmetic (GetNearestNeighbor) and become the tables of one move that
copies whole pixels. Bilinear: TFLite-Micro's integer path (ResizeBilinearInteger: scales in
Q10, the four weights, round half away from zero at 2^20) with the rows, columns and Q10
weights tabulated here; tg_resize_bilinear does the arithmetic per channel. No requantisation:
TFLite-Micro moves the values as they are. Types: what TFLite-Micro runs (its bilinear kernel
fails on int16 at Invoke; measured)."""
from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, OpType, ResizeAttrs
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, unsupported
from .movement import Loop, Move, check_shape, const_ints, folder, index, lowered, need_data, same_type

NEAREST_DTYPES = ("int8", "int16")
BILINEAR_DTYPES = ("int8",)


def _shapes(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    if len(x.shape) != 4:
        raise unsupported(op, f"a rank-{len(x.shape)} input; TFLite-Micro resizes 4-D NHWC")
    size = const_ints(op, ins[1] if len(ins) > 1 else None, "size")
    if len(size) != 2 or min(size) < 1:
        raise unsupported(op, f"size {size} is not two positive values")
    a: ResizeAttrs = op.attrs
    if a.align_corners and a.half_pixel_centers and op.type == OpType.RESIZE_BILINEAR:
        raise unsupported(op, "align_corners and half_pixel_centers together",
                          "TFLite-Micro refuses this too")
    b, h, w, c = x.shape
    check_shape(op, y, (b, size[0], size[1], c))
    return x, y, a, (b, h, w, c), size


def nearest(j: int, in_size: int, out_size: int, align: bool, half: bool) -> int:
    """TFLite-Micro's GetNearestNeighbor, in float32 as it computes it."""
    f = np.float32
    scale = f(in_size - 1) / f(out_size - 1) if align and out_size > 1 else f(in_size) / f(out_size)
    v = float((f(j) + f(0.5 if half else 0.0)) * scale)
    r = math.floor(v + 0.5) if align else math.floor(v)   # TfLiteRound: half away from zero
    r = min(r, in_size - 1)
    return max(0, r) if half else r


def plan_nearest(op: Op, ins, outs):
    x, y, a, (b, h, w, c), (oh, ow) = _shapes(op, ins, outs)
    rows = tuple(nearest(r, h, oh, a.align_corners, a.half_pixel_centers) * w * c for r in range(oh))
    cols = tuple(nearest(q, w, ow, a.align_corners, a.half_pixel_centers) * c for q in range(ow))
    return [Move((Loop(b, h * w * c, oh * ow * c), Loop(oh, rows, ow * c), Loop(ow, cols, c)),
                 run=c)]


def bilinear_axis(in_size: int, out_size: int, align: bool, half: bool) -> list[tuple[int, int, int]]:
    """Per output index (lower index, upper index, Q10 weight of the upper one): TFLite-Micro's
    ComputeInterpolationValuesInteger (C division truncates toward zero)."""
    scale = ((1 << 10) * in_size + out_size // 2) // out_size
    if align and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    def tdiv(a: int, b: int) -> int:
        return -(-a // b) if a < 0 else a // b
    out = []
    for j in range(out_size):
        v = j * scale + scale // 2 - (1 << 9) if half else j * scale
        lo = max(tdiv(v, 1 << 10), 0)
        hi = min(tdiv(v + (1 << 10) - 1, 1 << 10), in_size - 1)
        out.append((lo, hi, v - (1 << 10) * lo))
    return out


SUPPORT = {
    OpType.RESIZE_NEAREST_NEIGHBOR: OpSupport(NEAREST_DTYPES, "align_corners, half_pixel_centers;"
                                              " whole pixels copied", fold=folder(plan_nearest),
                                              inputs=(act(), index("size"))),
    OpType.RESIZE_BILINEAR: OpSupport(BILINEAR_DTYPES, "align_corners or half_pixel_centers; "
                                      "TFLite-Micro's integer arithmetic (Q10 weights)",
                                      inputs=(act(), index("size"))),
}


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    dtypes = NEAREST_DTYPES if op.type == OpType.RESIZE_NEAREST_NEIGHBOR else BILINEAR_DTYPES
    x = need_data(op, ins[0], "input", dtypes)
    same_type(op, x, outs[0])
    if op.type == OpType.RESIZE_NEAREST_NEIGHBOR:
        return lowered(op, graph, plan_nearest(op, ins, outs))
    x, y, a, (b, h, w, c), (oh, ow) = _shapes(op, ins, outs)
    rows = bilinear_axis(h, oh, a.align_corners, a.half_pixel_centers)
    cols = bilinear_axis(w, ow, a.align_corners, a.half_pixel_centers)
    row_table = [v for lo, hi, wt in rows for v in (lo * w * c, hi * w * c, wt)]
    col_table = [v for lo, hi, wt in cols for v in (lo * c, hi * c, wt)]
    params = dict(batches=b, out_h=oh, out_w=ow, depth=c, in_batch=h * w * c)
    consts = (ConstArray("rows", "int32_t", np.array(row_table, dtype=np.int64)),
              ConstArray("cols", "int32_t", np.array(col_table, dtype=np.int64)))
    return Lowered("resize_bilinear", ("tg_resize",), params, consts,
                   macs=4 * y.size)
