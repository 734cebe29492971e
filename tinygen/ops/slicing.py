"""STRIDED_SLICE and SLICE: one move each; a view when the slice is one contiguous run.

STRIDED_SLICE follows TFLite-Micro's kernel (StridedSliceStartForAxis / EndForAxis: negative
indices count from the end, clamping, begin/end masks, shrink_axis) on any stride, negative ones
included. Two things TFLite-Micro does not run are taken as TensorFlow defines them, checked
against TFLite's reference kernel and numpy: an ellipsis_mask / new_axis_mask (the converter
never writes them, but other tools may), and `offset` (end counts from begin). TFLite-Micro's
Prepare() refuses such models; where it accepts one, the result is the same.
SLICE validates begin and size exactly as TFLite-Micro's Eval does.
"""
from __future__ import annotations

from ..errors import ModelError
from ..ir import Graph, Op, OpType, StridedSliceAttrs
from .base import LowerOptions, OpSupport, act, unsupported
from .movement import Loop, Move, check_shape, const_ints, folder, index, lowered, need_data, same_type, \
    strides_of

DTYPES = ("int8", "int16", "int32")
MAX_RANK = 5
_INDEX = ("int32", "int64")


def dense_spec(op: Op, rank: int, begin, end, strides, a: StridedSliceAttrs):
    """TensorFlow's sparse -> dense slice spec: per input axis (begin, end, stride, begin_mask
    bit, end_mask bit, shrink bit), and the output shape as a list of axis numbers, 'new' for an
    inserted axis of 1 (shrunk axes are left out)."""
    n = len(begin)
    if not len(end) == len(strides) == n:
        raise ModelError(f"op {op.index} ({op.name}): begin, end and strides have "
                         f"{n}, {len(end)}, {len(strides)} values; the file is corrupt")
    ellipsis = a.ellipsis_mask & ((1 << n) - 1)
    if ellipsis & (ellipsis - 1):
        raise unsupported(op, "more than one ellipsis in the slice")
    sparse = n
    if not ellipsis:                       # an implicit ellipsis after the last given axis
        ellipsis, sparse = 1 << n, n + 1
    at = ellipsis.bit_length() - 1
    new_after = sum(1 for i in range(at + 1, n) if a.new_axis_mask >> i & 1)
    axes, shape_of = [], []
    for i in range(sparse):
        if i == at:
            stop = min(rank - (sparse - i) + 1 + new_after, rank)
            while len(axes) < stop:
                shape_of.append(len(axes))
                axes.append((0, 0, 1, True, True, False))
        elif a.new_axis_mask >> i & 1:
            shape_of.append("new")
        else:
            if len(axes) == rank:
                raise unsupported(op, f"slice spec indexes axis {len(axes)} of a rank-{rank} input")
            shrink = bool(a.shrink_axis_mask >> i & 1)
            if not shrink:
                shape_of.append(len(axes))
            axes.append((begin[i], end[i], strides[i], bool(a.begin_mask >> i & 1),
                         bool(a.end_mask >> i & 1), shrink))
    while len(axes) < rank:
        shape_of.append(len(axes))
        axes.append((0, 0, 1, True, True, False))
    return axes, shape_of


def axis_range(size: int, spec, offset: bool) -> tuple[int, int, int]:
    """(start, stride, count) on one axis: TFLite-Micro's StridedSliceStartForAxis / EndForAxis
    and its copy loop (`for i = start; stride > 0 ? i < stop : i > stop; i += stride`)."""
    begin, end, stride, begin_masked, end_masked, shrink = spec
    clamp = (lambda v: min(max(v, 0), size)) if stride > 0 else (lambda v: min(max(v, -1), size - 1))
    start = begin + size if begin < 0 else begin
    start = clamp(start)
    if begin_masked:
        start = 0 if stride > 0 else size - 1
    if shrink:
        stop = start if start >= size else start + 1
    else:
        stop = end + start if offset else end
        stop = clamp(stop + size if stop < 0 else stop)
        if end_masked:
            stop = size if stride > 0 else -1
    span = stop - start if stride > 0 else start - stop
    step = abs(stride)
    return start, stride, max(0, (span + step - 1) // step)


def plan_strided(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    a: StridedSliceAttrs = op.attrs
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(op, f"rank {rank}; TFLite slices at most {MAX_RANK} axes")
    begin, end, strides = (const_ints(op, ins[k] if len(ins) > k else None, role, _INDEX)
                           for k, role in ((1, "begin"), (2, "end"), (3, "strides")))
    if any(s == 0 for s in strides):
        raise unsupported(op, "a stride of 0", "TFLite-Micro refuses it too")
    axes, shape_of = dense_spec(op, rank, begin, end, strides, a)
    ranges = [axis_range(size, spec, a.offset) for size, spec in zip(x.shape, axes)]
    for size, spec, (start, _, count) in zip(x.shape, axes, ranges):
        if spec[5] and count != 1:
            raise unsupported(op, f"shrinks an axis of {size} at index {spec[0]} with stride "
                              f"{spec[2]}, which selects nothing",
                              "TFLite-Micro would leave the output unwritten")
    counts = [c for _, _, c in ranges]
    check_shape(op, y, [1 if d == "new" else counts[d] for d in shape_of])
    return _slice_move(x.shape, ranges)


def _slice_move(shape, ranges):
    """One move: per axis, `count` elements from `start`, `stride` apart."""
    src, dst = strides_of(shape), strides_of([c for _, _, c in ranges])
    loops = tuple(Loop(c, st * s, d) for (_, st, c), s, d in zip(ranges, src, dst))
    return [Move(loops, run=1, src=sum(start * s for (start, _, _), s in zip(ranges, src)))]


def plan_slice(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(op, f"rank {rank}; TFLite-Micro slices at most {MAX_RANK} axes")
    begin = const_ints(op, ins[1] if len(ins) > 1 else None, "begin", _INDEX)
    size = const_ints(op, ins[2] if len(ins) > 2 else None, "size", _INDEX)
    if not len(begin) == len(size) == rank:
        raise unsupported(op, f"begin and size have {len(begin)} and {len(size)} values for a "
                          f"rank-{rank} input", "TFLite-Micro refuses this too")
    ranges = []
    for d, (dim, b, s) in enumerate(zip(x.shape, begin, size)):
        s = dim - b if s == -1 else s
        if not 0 <= b <= dim or not 0 <= s <= dim - b:
            raise unsupported(op, f"axis {d}: begin {b}, size {size[d]} do not fit {dim}",
                              "TFLite-Micro refuses this when it runs")
        ranges.append((b, 1, s))
    check_shape(op, y, [c for _, _, c in ranges])
    return _slice_move(x.shape, ranges)


SUPPORT = {
    OpType.STRIDED_SLICE: OpSupport(DTYPES, "up to 5 axes; begin/end/shrink masks, negative and "
                                    "strided steps, ellipsis/new-axis masks and offset as "
                                    "TensorFlow defines them; a contiguous slice is a view (no "
                                    "copy)", fold=folder(plan_strided),
                                    inputs=(act(), index("begin"), index("end"), index("strides"))),
    OpType.SLICE: OpSupport(DTYPES, "up to 5 axes, size -1; a contiguous slice is a view (no "
                            "copy)", fold=folder(plan_slice),
                            inputs=(act(), index("begin"), index("size"))),
}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    x = need_data(op, ins[0], "input", DTYPES)
    same_type(op, x, outs[0])
    plan = plan_strided if op.type == OpType.STRIDED_SLICE else plan_slice
    result = plan(op, ins, outs)
    if outs[0].size == 0:
        raise unsupported(op, "the slice is empty", "remove the op from the model")
    return lowered(op, graph, result)
