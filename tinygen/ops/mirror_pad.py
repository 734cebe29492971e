"""MIRROR_PAD (REFLECT, SYMMETRIC): one move whose padded axes read the input through a table of
mirrored positions, computed by TFLite-Micro's GetInputDimension; axes without padding are
copied as runs. Paddings beyond what TensorFlow allows (REFLECT: size - 1, SYMMETRIC: size)
would make TFLite-Micro read outside its input, so they are refused."""
from __future__ import annotations

from ..ir import Graph, MirrorPadAttrs, Op, OpType
from .base import LowerOptions, OpSupport, act, unsupported
from .movement import check_shape, const_ints, folder, index, Loop, lower_single, Move, strides_of
DTYPES = ("int8",)


def mirrored(j: int, left: int, size: int, offset: int) -> int:
    """TFLite-Micro's GetInputDimension: the input index of padded index j (offset 1: REFLECT,
    0: SYMMETRIC)."""
    if j < left:
        original = left + offset - 1
        return original - min(j, original - offset)
    j -= left
    if j >= size:
        j -= size
        original = size - (1 + offset)
        return original - min(j, original)
    return j


def plan(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    a: MirrorPadAttrs = op.attrs
    offset = 1 if a.mode == "REFLECT" else 0
    rank = len(x.shape)
    table = const_ints(op, ins[1] if len(ins) > 1 else None, "paddings", ("int32", "int64"))
    if len(table) != 2 * rank:
        raise unsupported(op, f"paddings have {len(table)} values for a rank-{rank} input")
    pads = [(table[2 * d], table[2 * d + 1]) for d in range(rank)]
    for d, ((lo, hi), size) in enumerate(zip(pads, x.shape)):
        if min(lo, hi) < 0 or max(lo, hi) > size - offset:
            raise unsupported(op, f"axis {d}: paddings {lo}, {hi} of an axis of {size} exceed "
                              f"{a.mode}'s limit of {size - offset}")
    check_shape(op, y, [n + lo + hi for n, (lo, hi) in zip(x.shape, pads)])
    src, dst = strides_of(x.shape), strides_of(y.shape)
    loops = []
    for d, ((lo, hi), size) in enumerate(zip(pads, x.shape)):
        n = size + lo + hi
        step = tuple(mirrored(j, lo, size, offset) * src[d] for j in range(n)) if lo or hi else src[d]
        loops.append(Loop(n, step, dst[d]))
    return [Move(tuple(loops), run=1)]


SUPPORT = {OpType.MIRROR_PAD: OpSupport(DTYPES, "REFLECT and SYMMETRIC, any axes",
                                        fold=folder(plan),
                                        inputs=(act(), index("paddings")))}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    return lower_single(op, graph, DTYPES, plan)
