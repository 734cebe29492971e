"""Binary elementwise ops with broadcasting: ADD, SUB, SQUARED_DIFFERENCE, MUL (int8, int16),
MAXIMUM, MINIMUM (int8, int16, int32, float32).

Arithmetic (TFLite-Micro add_common.cc, sub_common.cc, squared_difference.cc, mul_common.cc):
  ADD, SUB: left_shift 20 (int8) / 15 (int16); twice_max = 2 * max(s1, s2); input k multiplier
       sk / twice_max and output multiplier twice_max / (2^left_shift * s_out), each via
       QuantizeMultiplierSmallerThanOneExp, in double precision (the installed TFLite-Micro; a
       2025 sub_common.cc divides in float32, which differs in the last multiplier bits).
  SQUARED_DIFFERENCE: left_shift 7 (int8) / 0 (int16); the same input multipliers; output
       multiplier twice_max^2 / (2^(2*left_shift) * s_out) via QuantizeMultiplier.
  MUL: one multiplier s1 * s2 / s_out via QuantizeMultiplier; int16 needs zero points 0.
  MAXIMUM / MINIMUM: the raw stored values compared, no requantization.
Broadcasting: the operands' shapes are aligned at the right (missing leading axes are 1), then
collapsed here into at most 4 loops with per-operand strides (0 along a broadcast axis), so the
kernel never computes an index per element. A constant operand (either one) becomes a flash
array.
"""
from __future__ import annotations

import numpy as np

from ..ir import ActivationAttrs, Graph, Op, OpType, Tensor
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier
from .base import ConstArray, Lowered, LowerOptions, OpSupport, Port, unsupported
from .common import activation_bounds, multiplier

_BCAST = "broadcasting (up to 4 collapsed axes), a constant operand"
_OPERANDS = (Port("input 1", const=None), Port("input 2", const=None))
SUPPORT = {
    OpType.ADD: OpSupport(("int8", "int16"), f"{_BCAST}, fused activation", inputs=_OPERANDS),
    OpType.SUB: OpSupport(("int8", "int16"), f"{_BCAST}, fused activation", inputs=_OPERANDS),
    OpType.MUL: OpSupport(("int8", "int16"), f"{_BCAST}, fused activation; int16 zero points 0",
                          inputs=_OPERANDS),
    OpType.SQUARED_DIFFERENCE: OpSupport(("int8", "int16"), f"{_BCAST}; int16 zero points 0",
                                         inputs=_OPERANDS),
    OpType.MAXIMUM: OpSupport(("int8", "int16", "int32", "float32"),
                              f"{_BCAST} (integer types); raw values compared", inputs=_OPERANDS),
    OpType.MINIMUM: OpSupport(("int8", "int16", "int32", "float32"),
                              f"{_BCAST} (integer types); raw values compared", inputs=_OPERANDS),
}

ADD_TABLE_MIN_ELEMENTS = 256   # from here on, 2 KB of flash buys ~2x fewer instructions per element
QUANTIZED = ("int8", "int16")
CTYPE = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32"}
KIND = {OpType.ADD: 0, OpType.SUB: 1, OpType.SQUARED_DIFFERENCE: 2}


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


def _operands(op: Op, graph: Graph, dtypes: tuple[str, ...]) -> tuple[Tensor, Tensor, Tensor]:
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    if len(ins) != 2 or len(outs) != 1 or any(t is None for t in ins):
        raise unsupported(op, f"expects 2 inputs and 1 output, got {len(ins)} and {len(outs)}")
    x1, x2 = ins
    y = outs[0]
    if x1.is_const and x2.is_const:
        raise unsupported(op, "both operands are constants", "let the converter fold them")
    for role, t in (("input 1", x1), ("input 2", x2), ("output", y)):
        if t.dtype not in dtypes:
            raise unsupported(op, f"{role} tensor {t.index} is {t.dtype}; supported: "
                              f"{', '.join(dtypes)}")
        if t.dtype != y.dtype:
            raise unsupported(op, f"{role} tensor {t.index} is {t.dtype} but the output is "
                              f"{y.dtype} (TFLite-Micro needs one type)")
        if t.dtype in QUANTIZED and (t.quant is None or not t.quant.scale):
            raise unsupported(op, f"{role} tensor {t.index} has no quantization parameters",
                              "convert with full-integer quantization")
        if t.quant is not None and t.quant.per_channel:
            raise unsupported(op, f"tensor {t.index} is per-channel quantized")
    if y.is_const:
        raise unsupported(op, "the output is a constant")
    if y.dtype == "float32" and (x1.is_const or x2.is_const):
        raise unsupported(op, "a constant float32 operand", "quantize the model")
    return x1, x2, y


def _placement(x1: Tensor, x2: Tensor, y: Tensor) -> tuple[list, tuple[ConstArray, ...], bool]:
    """Where each operand comes from (a flash array or activation input k), the flash arrays,
    and whether the output may overwrite the first activation input (same shape: every element
    is read before its slot is written)."""
    operands, consts, act = [], [], 0
    for k, t in enumerate((x1, x2)):
        if t.is_const:
            name = f"in{k + 1}"
            consts.append(ConstArray(name, CTYPE[t.dtype], np.asarray(t.data).astype(t.dtype).ravel()))
            operands.append(("const", name))
        else:
            operands.append(("act", act))
            act += 1
    first_act = x2 if x1.is_const else x1
    return operands, tuple(consts), tuple(first_act.shape) == tuple(y.shape)


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    if op.type in (OpType.MAXIMUM, OpType.MINIMUM):
        return _lower_minmax(op, graph)
    x1, x2, y = _operands(op, graph, QUANTIZED)
    it = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    activation = op.attrs.activation if isinstance(op.attrs, ActivationAttrs) else None
    act_min, act_max = activation_bounds(op, y, activation)
    operands, consts, inplace = _placement(x1, x2, y)
    params = dict(it=it, operands=operands, in1_offset=-x1.zero_point, in2_offset=-x2.zero_point,
                  out_offset=y.zero_point, act_min=act_min, act_max=act_max)
    if op.type == OpType.MUL:
        params.update(_mul_params(op, x1, x2, y), fn=f"tg_mul_{SUFFIX[y.dtype]}")
        return Lowered("mul", ("tg_mul",), params, consts, inplace=inplace)
    params.update(_add_params(op, x1, x2, y), fn=f"tg_add_{SUFFIX[y.dtype]}",
                  kind=KIND[op.type], tables=False)
    if y.dtype == "int8" and op.type != OpType.SQUARED_DIFFERENCE and y.size >= ADD_TABLE_MIN_ELEMENTS:
        consts += _add_tables(op, params)
        params["tables"] = True
    return Lowered("add", ("tg_add",), params, consts, inplace=inplace)


def _f32(x) -> np.float32:
    return np.float32(x)


def _add_params(op: Op, x1: Tensor, x2: Tensor, y: Tensor) -> dict:
    int16 = y.dtype == "int16"
    if op.type == OpType.SQUARED_DIFFERENCE:
        if int16 and (x1.zero_point or x2.zero_point or y.zero_point):
            raise unsupported(op, "int16 zero points are not 0 (TFLite-Micro requires 0)")
        left = 0 if int16 else 7
    else:
        left = 15 if int16 else 20
    s1, s2, so = _f32(x1.scale), _f32(x2.scale), _f32(y.scale)
    twice = 2.0 * float(max(s1, s2))
    r1, r2 = float(s1) / twice, float(s2) / twice
    if op.type == OpType.SQUARED_DIFFERENCE:   # (1 << 2*left) * s_out is a float32 product there
        real_out = twice * twice / float(_f32(1 << (2 * left)) * so)
    else:
        real_out = twice / ((1 << left) * float(so))
    if op.type != OpType.SQUARED_DIFFERENCE and not 0.0 < real_out < 1.0:
        raise unsupported(op, "output scale too small relative to the input scales "
                          "(TFLite-Micro requires an output multiplier below 1)")
    m1, sh1 = quantize_multiplier(r1)   # ratios in (0, 1]
    m2, sh2 = quantize_multiplier(r2)
    mo, sho = multiplier(op, real_out, "output multiplier")
    if max(sh1, sh2) > 0 or (op.type != OpType.SQUARED_DIFFERENCE and sho > 0):
        raise unsupported(op, "a rescaling multiplier is not below 1")
    return dict(left_shift=left, in1_mult=m1, in1_shift=sh1, in2_mult=m2, in2_shift=sh2,
                out_mult=mo, out_shift=sho)


def _add_tables(op: Op, p: dict) -> tuple[ConstArray, ...]:
    """int8 ADD/SUB: the rescaled input term of all 256 values per operand (SUB negates the
    second, so the kernel always sums)."""
    sign2 = -1 if op.type == OpType.SUB else 1

    def table(off: int, m: int, sh: int, sign: int) -> np.ndarray:
        return np.array([sign * multiply_by_quantized_multiplier((v + off) << p["left_shift"], m, sh)
                         for v in range(-128, 128)], dtype=np.int64)
    return (ConstArray("t1", "int32_t", table(p["in1_offset"], p["in1_mult"], p["in1_shift"], 1)),
            ConstArray("t2", "int32_t", table(p["in2_offset"], p["in2_mult"], p["in2_shift"], sign2)))


def _mul_params(op: Op, x1: Tensor, x2: Tensor, y: Tensor) -> dict:
    if y.dtype == "int16" and (x1.zero_point or x2.zero_point or y.zero_point):
        raise unsupported(op, "int16 zero points are not 0 (TFLite-Micro requires 0)")
    real = float(_f32(x1.scale)) * float(_f32(x2.scale)) / float(_f32(y.scale))
    mo, sho = multiplier(op, real, "input scales x input scales / output scale")
    return dict(out_mult=mo, out_shift=sho)


def _lower_minmax(op: Op, graph: Graph) -> Lowered:
    x1, x2, y = _operands(op, graph, ("int8", "int16", "int32", "float32"))
    it = broadcast_loops(op, x1.shape, x2.shape, y.shape)
    operands, consts, inplace = _placement(x1, x2, y)
    params = dict(it=it, operands=operands, is_max=int(op.type == OpType.MAXIMUM),
                  fn=f"tg_minmax_{SUFFIX[y.dtype]}")
    return Lowered("minmax", ("tg_minmax",), params, consts, inplace=inplace)
