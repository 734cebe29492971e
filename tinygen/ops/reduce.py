"""SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX and ARG_MIN over any axes, as TFLite-Micro computes them.

SUM (reduce_common.cc, reference_ops::QuantizedMeanOrSum with compute_sum): int32 sums, then
    MultiplyByQuantizedMultiplier(sum - in_zp * count, QuantizeMultiplier(in_scale / out_scale))
    + out_zp, clamped; the sums live in arena scratch.
REDUCE_MAX / REDUCE_MIN (ReduceGeneric): the raw values; TFLite-Micro requires the input's
    scale and zero point on the output, and runs them on int8 only.
ARG_MAX / ARG_MIN (arg_min_max.cc): one axis; the first index of the extreme; int32 (TFLite-Micro
    refuses an int64 output when it runs).
Axes are a constant input (int32 or int64), negative axes count from the end, repeats are
ignored, keep_dims either way (the output shape is the file's). The input's axes are collapsed
into at most 5 loops, each with its output stride (0 along a reduced axis).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType, Tensor
from .base import Lowered, LowerOptions, OpSupport, Port, act, param, unsupported
from .common import multiplier, unary_io

_AXES = param("axes", "int32", "int64")
_REDUCE = (act(), _AXES)
# ARG_MAX/MIN compare raw values (no quantization read); lower() names the index type it takes
_ARG = dict(inputs=(Port("input", quantized=False), _AXES),
            outputs=(Port("index", None, quantized=False),))
SUPPORT = {
    OpType.SUM: OpSupport(("int8", "int16"), "any axes (negative too), keep_dims either way",
                          inputs=_REDUCE),
    OpType.REDUCE_MAX: OpSupport(("int8",), "any axes (negative too), keep_dims either "
                                 "way; output quantized as the input", inputs=_REDUCE),
    OpType.REDUCE_MIN: OpSupport(("int8",), "any axes (negative too), keep_dims either "
                                 "way; output quantized as the input", inputs=_REDUCE),
    OpType.ARG_MAX: OpSupport(("int8", "uint8", "int16", "int32", "float32"),
                              "one axis (negative too); int32 index output (TFLite-Micro refuses int64)",
                              **_ARG),
    OpType.ARG_MIN: OpSupport(("int8", "uint8", "int16", "int32", "float32"),
                              "one axis (negative too); int32 index output (TFLite-Micro refuses "
                              "int64)", **_ARG),
}
SUFFIX = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "int64": "s64",
          "float32": "f32"}
MAX_RANK = 5


def _axes(op: Op, graph: Graph, rank: int) -> list[int]:
    ins = graph.op_inputs(op)
    t = ins[1] if len(ins) > 1 else None
    if t is None or not t.is_const or t.dtype not in ("int32", "int64"):
        raise unsupported(op, "the axes are not a constant int32/int64 tensor",
                          "reduce over fixed axes")
    axes = []
    for a in np.asarray(t.data).ravel().tolist():
        if not -rank <= a < rank:
            raise unsupported(op, f"axis {a} is outside a rank-{rank} input")
        a = a + rank if a < 0 else a
        if a not in axes:
            axes.append(a)
    return sorted(axes)


def reduce_loops(shape: tuple[int, ...], axes: list[int]) -> tuple[list[int], list[int], int]:
    """The input as at most 5 loops (outermost first), each loop's output stride, output size.
    Adjacent axes that are both reduced or both kept merge into one loop."""
    groups: list[list] = []
    for d, n in enumerate(shape):
        red = d in axes
        if n == 1:
            continue
        if groups and groups[-1][1] == red:
            groups[-1][0] *= n
        else:
            groups.append([n, red])
    strides, acc = [0] * len(groups), 1
    for g in range(len(groups) - 1, -1, -1):
        if not groups[g][1]:
            strides[g] = acc
            acc *= groups[g][0]
    ext = [g[0] for g in groups]
    while len(ext) < MAX_RANK:
        ext.insert(0, 1)
        strides.insert(0, 0)
    return ext, strides, acc


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    if op.type in (OpType.ARG_MAX, OpType.ARG_MIN):
        return _lower_arg(op, graph)
    x, y = _io(op, graph, SUPPORT[op.type].dtypes)
    axes = _axes(op, graph, len(x.shape))
    shape, strides, out_size = reduce_loops(x.shape, axes)
    if len(shape) > MAX_RANK:
        raise unsupported(op, f"reduces a pattern of {len(shape)} alternating axis groups (max 5)")
    if out_size != y.size:
        raise unsupported(op, f"output has {y.size} elements; reducing axes {axes} of "
                          f"{list(x.shape)} gives {out_size}")
    params = dict(shape=shape, out_stride=strides, out_size=out_size, count=x.size // out_size,
                  in_zp=x.zero_point, out_zp=y.zero_point, mult=0, shift=0, is_max=0, sum=False)
    if op.type == OpType.SUM:
        m, s = multiplier(op, float(np.float32(x.scale)) / float(np.float32(y.scale)),
                          "input scale / output scale")
        params.update(mult=m, shift=s, sum=True, fn=f"tg_reduce_sum_{SUFFIX[x.dtype]}")
        return Lowered("reduce", ("tg_reduce",), params, scratch_bytes=4 * out_size)
    if np.float32(x.scale) != np.float32(y.scale) or x.zero_point != y.zero_point:
        raise unsupported(op, "output quantization differs from the input's (TFLite-Micro "
                          "requires them equal)")
    params.update(is_max=int(op.type == OpType.REDUCE_MAX), fn=f"tg_reduce_minmax_{SUFFIX[x.dtype]}")
    return Lowered("reduce", ("tg_reduce",), params)


def _io(op: Op, graph: Graph, dtypes) -> tuple[Tensor, Tensor]:
    x, y = unary_io(op, graph, dtypes, same_size=False)
    if len(x.shape) > MAX_RANK:
        raise unsupported(op, f"input has rank {len(x.shape)} (TFLite-Micro reduces up to 5)")
    return x, y


def _lower_arg(op: Op, graph: Graph) -> Lowered:
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    x, y = ins[0], outs[0]
    if x is None or x.is_const or x.dtype not in SUPPORT[op.type].dtypes:
        raise unsupported(op, f"input must be a {'/'.join(SUPPORT[op.type].dtypes)} activation")
    if y.dtype != "int32":
        raise unsupported(op, f"index output is {y.dtype}; TFLite-Micro runs ARG_MAX/ARG_MIN with "
                          "an int32 output only", "convert with output_type=tf.int32")
    axes = _axes(op, graph, len(x.shape))
    if len(axes) != 1:
        raise unsupported(op, f"{len(axes)} axes; ARG_MAX/ARG_MIN take exactly one")
    a = axes[0]
    outer = int(np.prod(x.shape[:a], dtype=np.int64))
    inner = int(np.prod(x.shape[a + 1:], dtype=np.int64))
    if outer * inner != y.size:
        raise unsupported(op, f"output has {y.size} elements, expected {outer * inner}")
    params = dict(outer=outer, axis=x.shape[a], inner=inner,
                  is_max=int(op.type == OpType.ARG_MAX),
                  fn=f"tg_arg_{SUFFIX[x.dtype]}_{SUFFIX[y.dtype]}")
    return Lowered("argminmax", ("tg_reduce",), params)
