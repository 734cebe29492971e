"""ADD and MUL, int8, with broadcasting of the shapes Keras produces and fused activations.

Arithmetic (TFLite-Micro add_common.cc / mul_common.cc, reference integer_ops add.h / mul.h):
  ADD: left_shift 20; twice_max = 2 * max(s1, s2); input k multiplier = sk / twice_max and output
       multiplier twice_max / (2^20 * s_out), each via QuantizeMultiplierSmallerThanOneExp.
  MUL: one multiplier s1 * s2 / s_out via QuantizeMultiplier.
Broadcasting: the operands' shapes are aligned at the right (missing leading axes are 1), then
collapsed here into at most 4 loops with per-operand strides (0 along a broadcast axis), so the
kernel never computes an index per element. A constant operand becomes a flash array.
"""
from __future__ import annotations

import numpy as np

from ..ir import ActivationAttrs, Graph, Op, OpType, Tensor
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier
from .base import ConstArray, Lowered, OpSupport, Port, unsupported
from .common import activation_bounds, multiplier, need_int8_activation

_OPERANDS = (Port("input 1", const=None), Port("input 2", const=None))
SUPPORT = {
    OpType.ADD: OpSupport(("int8",), "broadcasting (up to 4 collapsed axes), constant operand",
                          inputs=_OPERANDS),
    OpType.MUL: OpSupport(("int8",), "broadcasting (up to 4 collapsed axes), constant operand",
                          inputs=_OPERANDS),
}

LEFT_SHIFT = 20
ADD_TABLE_MIN_ELEMENTS = 256   # from here on, 2 KB of flash buys ~2x fewer instructions per element


def _operand(op: Op, t: Tensor | None, role: str) -> Tensor:
    if t is not None and t.is_const:
        if t.dtype != "int8" or t.quant is None or not t.quant.scale:
            raise unsupported(op, f"constant {role} tensor {t.index} is not int8-quantized")
        return t
    return need_int8_activation(op, t, role)


def broadcast_loops(op: Op, s1: tuple, s2: tuple, so: tuple) -> dict:
    """Output extents and operand strides, collapsed to exactly 4 loops (outermost first)."""
    rank = len(so)
    if len(s1) > rank or len(s2) > rank:
        raise unsupported(op, f"operand shapes {s1}, {s2} have more axes than the output {so}")
    e1 = (1,) * (rank - len(s1)) + tuple(s1)
    e2 = (1,) * (rank - len(s2)) + tuple(s2)

    def strides(shape):
        st, acc = [0] * rank, 1
        for d in range(rank - 1, -1, -1):
            st[d] = acc if shape[d] != 1 else 0
            acc *= shape[d]
        return st

    for d in range(rank):
        for e in (e1[d], e2[d]):
            if e not in (1, so[d]):
                raise unsupported(op, f"shapes {s1} and {s2} do not broadcast to {so}")
        if so[d] != max(e1[d], e2[d]) and not (so[d] == 1 and e1[d] == e2[d] == 1):
            raise unsupported(op, f"output shape {so} is not the broadcast of {s1} and {s2}")
    t1, t2 = strides(e1), strides(e2)
    dims = [[so[d], t1[d], t2[d]] for d in range(rank) if so[d] != 1]
    merged: list[list[int]] = []
    for ext, a, b in dims:
        if merged and merged[-1][1] == a * ext and merged[-1][2] == b * ext:
            merged[-1] = [merged[-1][0] * ext, a, b]
        else:
            merged.append([ext, a, b])
    if len(merged) > 4:
        raise unsupported(op, f"broadcast of {s1} and {s2} needs {len(merged)} loops (max 4)",
                          "reshape the operands to at most 4 non-trivial axes")
    while len(merged) < 4:
        merged.insert(0, [1, 0, 0])
    return dict(shape=[m[0] for m in merged], stride1=[m[1] for m in merged],
                stride2=[m[2] for m in merged])


def lower(op: Op, graph: Graph) -> Lowered:
    ins = graph.op_inputs(op)
    if len(ins) != 2:
        raise unsupported(op, f"expects 2 inputs, got {len(ins)}")
    x1 = _operand(op, ins[0], "input 1")
    x2 = _operand(op, ins[1], "input 2")
    if x1.is_const and x2.is_const:
        raise unsupported(op, "both operands are constants", "let the converter fold them")
    if x1.is_const:                      # both ops are symmetric in their operands
        x1, x2 = x2, x1
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    for t in (x1, x2, y):
        if t.quant.per_channel:
            raise unsupported(op, f"tensor {t.index} is per-channel quantized")
    it = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    a: ActivationAttrs = op.attrs
    act_min, act_max = activation_bounds(op, y, a.activation)
    params = dict(it=it, in1_offset=-x1.zero_point, in2_offset=-x2.zero_point,
                  out_offset=y.zero_point, act_min=act_min, act_max=act_max,
                  b_const=x2.is_const)
    consts: tuple[ConstArray, ...] = ()
    if x2.is_const:
        consts = (ConstArray("in2", "int8_t", np.asarray(x2.data, dtype=np.int8).ravel()),)

    s1, s2, so = float(x1.scale), float(x2.scale), float(y.scale)
    if op.type == OpType.ADD:
        twice_max = 2.0 * max(s1, s2)
        real_out = twice_max / ((1 << LEFT_SHIFT) * so)
        if not 0.0 < real_out < 1.0:
            raise unsupported(op, "output scale too small relative to the input scales "
                              "(TFLite-Micro requires a multiplier below 1)")
        m1, sh1 = quantize_multiplier(s1 / twice_max)
        m2, sh2 = quantize_multiplier(s2 / twice_max)
        mo, sho = quantize_multiplier(real_out)
        if max(sh1, sh2, sho) > 0:
            raise unsupported(op, "an ADD multiplier is not below 1")
        params.update(left_shift=LEFT_SHIFT, in1_mult=m1, in1_shift=sh1, in2_mult=m2,
                      in2_shift=sh2, out_mult=mo, out_shift=sho, tables=False)
        if y.size >= ADD_TABLE_MIN_ELEMENTS:
            def table(off: int, m: int, sh: int) -> np.ndarray:
                return np.array([multiply_by_quantized_multiplier((v + off) << LEFT_SHIFT, m, sh)
                                 for v in range(-128, 128)], dtype=np.int64)
            consts += (ConstArray("t1", "int32_t", table(-x1.zero_point, m1, sh1)),
                       ConstArray("t2", "int32_t", table(-x2.zero_point, m2, sh2)))
            params["tables"] = True
        template, kernel = "add", "tg_add"
    else:
        mo, sho = multiplier(op, s1 * s2 / so, "input scales x input scales / output scale")
        params.update(out_mult=mo, out_shift=sho)
        template, kernel = "mul", "tg_mul"
    # the planner may overwrite the first activation input (o.inp[0], here x1)
    inplace = tuple(x1.shape) == tuple(y.shape)
    return Lowered(template, (kernel,), params, consts, inplace=inplace)
