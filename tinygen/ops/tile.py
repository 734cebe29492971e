"""TILE: the input repeated `multiples` times along each axis, as one move whose repeat loops
step the source by 0. TFLite-Micro has no TILE kernel (its interpreter refuses such models);
tinygen follows TensorFlow Lite's reference kernel, which the tests check it against."""
from __future__ import annotations

from ..ir import Graph, Op, OpType
from .base import LowerOptions, OpSupport, act, unsupported
from .movement import check_shape, const_ints, folder, index, Loop, lower_single, Move, strides_of
DTYPES = ("int8", "int16", "int32")


def plan(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    mult = const_ints(op, ins[1] if len(ins) > 1 else None, "multiples", ("int32", "int64"))
    if len(mult) != len(x.shape) or any(m < 0 for m in mult):
        raise unsupported(op, f"multiples {mult} for a rank-{len(x.shape)} input")
    check_shape(op, y, [d * m for d, m in zip(x.shape, mult)])
    src, dst = strides_of(x.shape), strides_of(y.shape)
    loops = []
    for d, (n, m) in enumerate(zip(x.shape, mult)):
        loops += [Loop(m, 0, n * dst[d]), Loop(n, src[d], dst[d])]
    return [Move(tuple(loops), run=1)]


SUPPORT = {OpType.TILE: OpSupport(DTYPES, "any multiples (TFLite-Micro has no TILE: checked "
                                  "against TFLite's reference kernel)", fold=folder(plan),
                                  inputs=(act(), index("multiples")))}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    return lower_single(op, graph, DTYPES, plan)
