"""REVERSE_V2: the input with the elements of some axes in reverse order, as one move whose
loops over those axes start at the last element and step backwards.

TFLite-Micro's kernel (kernels/reverse.cc) takes the axes from an int32 tensor, counts negative
ones from the end, sorts them and refuses a set that is not contiguous; reversing a contiguous
run of axes as one flattened block is the same as reversing each of them, which is what the
move does. The converter writes it for the backward direction of a Keras Bidirectional layer.
"""
from __future__ import annotations

from ..ir import Graph, Op, OpType
from .base import LowerOptions, OpSupport, act, unsupported
from .movement import Loop, Move, check_shape, const_ints, folder, index, lowered, need_data, same_type, \
    strides_of

DTYPES = ("int8", "int16", "int32")
MAX_RANK = 6          # RuntimeShape::kMaxSmallSize, TFLite-Micro's limit


def reversed_axes(op: Op, rank: int, axes: list[int]) -> set[int]:
    """The axes to reverse, as TFLite-Micro's Eval checks them."""
    if len(axes) > rank:
        raise unsupported(op, f"{len(axes)} axes for a rank-{rank} input",
                          "TFLite-Micro refuses this too")
    fixed = sorted(a + rank if a < 0 else a for a in axes)
    if any(not 0 <= a < rank for a in fixed):
        raise unsupported(op, f"axes {axes} outside a rank-{rank} input",
                          "TFLite-Micro refuses this too")
    if any(b != a + 1 for a, b in zip(fixed, fixed[1:])):
        raise unsupported(op, f"axes {axes} are not contiguous",
                          "TFLite-Micro reverses only contiguous axes")
    return set(fixed)


def plan(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(op, f"rank {rank}; TFLite-Micro reverses at most {MAX_RANK} axes")
    axes = reversed_axes(op, rank, const_ints(op, ins[1] if len(ins) > 1 else None, "axis"))
    check_shape(op, y, x.shape)
    src, dst = strides_of(x.shape), strides_of(x.shape)
    loops, start = [], 0
    for d, n in enumerate(x.shape):
        if d in axes:               # walk this axis from its last element backwards
            loops.append(Loop(n, -src[d], dst[d]))
            start += (n - 1) * src[d]
        else:
            loops.append(Loop(n, src[d], dst[d]))
    return [Move(tuple(loops), run=1, src=start)]


SUPPORT = {OpType.REVERSE_V2: OpSupport(DTYPES, "contiguous axes (negative too), as TFLite-Micro; "
                                        "the backward direction of a Keras Bidirectional layer",
                                        fold=folder(plan), inputs=(act(), index("axis")))}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    x = need_data(op, ins[0], "input", DTYPES)
    same_type(op, x, outs[0])
    return lowered(op, graph, plan(op, ins, outs))
