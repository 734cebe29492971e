"""SPLIT, SPLIT_V and UNPACK: each output is a block of the input, one move each.

Along the outermost axis that is not 1 every output is one contiguous run of the input: a view
(no code, no memory) when it starts on a word boundary. TFLite-Micro reads the sizes from the
output tensors (SPLIT_V's size_splits are not read), requires a constant axis, and takes the
types below."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType, PackAttrs
from .base import LowerOptions, OpSupport, act, unsupported
from .movement import Loop, Move, check_shape, const_ints, folder, index, lowered, need_data, same_type

# float32 too: the converter leaves a DEQUANTIZE -> SPLIT -> QUANTIZE island in float where an
# unrolled LSTM's first step splits its gates (the recurrent input is still the zero state);
# a split only copies bytes, so tinygen copies them as TFLite-Micro's float kernel does.
SPLIT_DTYPES = ("int8", "int16", "int32", "float32")
UNPACK_DTYPES = ("int8", "int16", "int32", "float32")
_DATA = {OpType.SPLIT: 1, OpType.SPLIT_V: 0, OpType.UNPACK: 0}   # position of the data input


def _axis(op: Op, value: int, rank: int) -> int:
    axis = value + rank if value < 0 else value
    if not 0 <= axis < rank:
        raise unsupported(op, f"axis {value} for a rank-{rank} input")
    return axis


def blocks(op: Op, x, axis: int, parts, data_pos: int):
    """Output k takes parts[k] entries of `axis`, after those of outputs 0..k-1."""
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    size = x.shape[axis]
    moves, at = [], 0
    for k, p in enumerate(parts):
        moves.append(Move((Loop(outer, size * inner, p * inner),), run=p * inner, src=at * inner,
                          src_arg=data_pos, dst_arg=k))
        at += p
    return moves


def plan(op: Op, ins, outs):
    pos = _DATA[op.type]
    x = ins[pos]
    rank = len(x.shape)
    if op.type == OpType.UNPACK:
        a: PackAttrs = op.attrs
        axis = _axis(op, a.axis, rank)
        if len(outs) != x.shape[axis]:
            raise unsupported(op, f"{len(outs)} outputs for an axis of {x.shape[axis]}")
        for y in outs:
            check_shape(op, y, x.shape[:axis] + x.shape[axis + 1:])
        return blocks(op, x, axis, [1] * len(outs), pos)
    axis_t = ins[0] if op.type == OpType.SPLIT else (ins[2] if len(ins) > 2 else None)
    axis_v = const_ints(op, axis_t, "axis", ("int32",))
    if len(axis_v) != 1:
        raise unsupported(op, f"axis has {len(axis_v)} values")
    axis = _axis(op, axis_v[0], rank)
    parts = [y.shape[axis] if len(y.shape) == rank else -1 for y in outs]
    for y, p in zip(outs, parts):
        check_shape(op, y, x.shape[:axis] + (max(p, 0),) + x.shape[axis + 1:])
    if op.type == OpType.SPLIT and len(set(parts)) != 1:
        raise unsupported(op, f"outputs of different sizes {parts} along axis {axis}")
    if sum(parts) != x.shape[axis]:
        raise unsupported(op, f"outputs add up to {sum(parts)} along axis {axis}, the input has "
                          f"{x.shape[axis]}")
    return blocks(op, x, axis, parts, pos)


_NOTE = "{}; along the outermost axis that is not 1, outputs are views (no copy)"
# outputs: one or more activations; SPLIT_V's sizes are the outputs' shapes (size_splits unread)
_OUTS = dict(outputs=(act("output"),), repeat_outputs=True)
SUPPORT = {
    OpType.SPLIT: OpSupport(SPLIT_DTYPES, _NOTE.format("constant axis"), fold=folder(plan),
                            inputs=(index("axis"), act()), **_OUTS),
    OpType.SPLIT_V: OpSupport(SPLIT_DTYPES, _NOTE.format("constant axis, any sizes"),
                              fold=folder(plan),
                              inputs=(act(), index("size_splits"), index("axis")), **_OUTS),
    OpType.UNPACK: OpSupport(UNPACK_DTYPES, _NOTE.format("any axis"), fold=folder(plan),
                             inputs=(act(),), **_OUTS),
}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    pos = _DATA[op.type]
    x = need_data(op, ins[pos] if len(ins) > pos else None, "input",
                  UNPACK_DTYPES if op.type == OpType.UNPACK else SPLIT_DTYPES)
    for y in outs:
        same_type(op, x, y)
    return lowered(op, graph, plan(op, ins, outs))
