"""RELU and RELU6 as standalone ops (the converter emits them where it cannot fuse them).

TFLite-Micro's arithmetic (activations_common.cc):
- RELU (CalculateReluOpData): out = clamp(out_zp + MultiplyByQuantizedMultiplier(x - in_zp,
  in_scale / out_scale), max(type_min, out_zp), type_max).
- RELU6 (Relu6Prepare): no requantisation; out = clamp(x, in_zp, round(6 / in_scale) + in_zp),
  computed in float32 as TFLite-Micro does.
int8 is a function of one of 256 values, so the answers are computed here and the kernel is the
shared table lookup (tg_lut); int16 runs the same arithmetic in C (tg_act16).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from ..quant import DTYPE_RANGE, multiply_by_quantized_multiplier, tflite_round
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, unsupported
from .common import act16_params, multiplier, unary_io

SUPPORT = {
    OpType.RELU: OpSupport(("int8", "int16"), "int8: 256-entry table; int16: requantizing",
                           inputs=(act(),)),
    OpType.RELU6: OpSupport(("int8", "int16"), "int8: 256-entry table; int16: a clamp",
                            inputs=(act(),)),
}


def relu_multiplier(op: Op, in_scale: float, out_scale: float) -> tuple[int, int]:
    return multiplier(op, float(np.float32(in_scale)) / float(np.float32(out_scale)),
                      "input scale / output scale")


def relu_table(op: Op, in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    mult, shift = relu_multiplier(op, in_scale, out_scale)
    lo = max(-128, out_zp)
    return np.array([min(max(out_zp + multiply_by_quantized_multiplier(v - in_zp, mult, shift), lo),
                         127) for v in range(-128, 128)], dtype=np.int8)


def relu6_bounds(op: Op, in_scale: float, in_zp: int, dtype: str) -> tuple[int, int]:
    qmin, qmax = DTYPE_RANGE[dtype]
    with np.errstate(over="ignore"):
        six = float(np.float32(6.0) / np.float32(in_scale))
    if not abs(six) < 2 ** 31 - 2 * (qmax + 1):  # TFLite-Micro casts it (+ zero point) to int32
        raise unsupported(op, f"input scale {in_scale:.4g} is too small: 6 / scale overflows int32",
                          "check the input tensor's scale")
    return in_zp, min(max(tflite_round(six) + in_zp, qmin), qmax)


def relu6_table(op: Op, in_scale: float, in_zp: int) -> np.ndarray:
    lo, hi = relu6_bounds(op, in_scale, in_zp, "int8")
    return np.array([min(max(v, lo), hi) for v in range(-128, 128)], dtype=np.int8)


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    x, y = unary_io(op, graph, ("int8", "int16"))
    if x.dtype == "int16":
        return _lower_int16(op, x, y)
    if op.type == OpType.RELU:
        lut = relu_table(op, x.scale, x.zero_point, y.scale, y.zero_point)
    else:
        lut = relu6_table(op, x.scale, x.zero_point)
    return Lowered("lut", ("tg_lut",), dict(size=x.size, fn="tg_lut_s8"),
                   (ConstArray("lut", "int8_t", lut),), macs=0, inplace=True,
                   notes=("256-entry table",))


def _lower_int16(op: Op, x, y) -> Lowered:
    if op.type == OpType.RELU:
        params = act16_params(x.size, x.zero_point, y.zero_point,
                              pos=relu_multiplier(op, x.scale, y.scale),
                              lo=max(-32768, y.zero_point), fn="tg_relu_s16")
    else:
        lo, hi = relu6_bounds(op, x.scale, x.zero_point, "int16")
        params = act16_params(x.size, lo=lo, hi=hi, fn="tg_clamp_s16")
    return Lowered("act16", ("tg_act16",), params, inplace=True)
