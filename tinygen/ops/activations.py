"""LOGISTIC and TANH, int8 -> int8, bit-exact with TFLite-Micro's reference integer kernels.

TFLite-Micro (the installed 2026 snapshot) evaluates both with gemmlowp fixed point: the input
minus its zero point is scaled by `input_multiplier / input_left_shift` (frexp of
input_scale * 2^27, kInputIntegerBits = 4) into Q4.27, values beyond +-input_range_radius
saturate, the rest go through gemmlowp::logistic / gemmlowp::tanh, and the Q0.31 result is
rounded to 8 bits (logistic: Q0.8 - 128, zero point -128; tanh: Q0.7, zero point 0).
An int8 input has only 256 values, so the whole function is tabulated here, once, with exact
integer arithmetic (gemmlowp.py); the C kernel is a 256-byte table lookup, no math at run time.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from ..quant import multiply_by_quantized_multiplier, rounding_divide_by_pot
from . import gemmlowp
from .base import ConstArray, Lowered, OpSupport, act, unsupported
from .common import need_int8_activation

SUPPORT = {
    OpType.LOGISTIC: OpSupport(("int8",), "256-entry table, gemmlowp fixed point as TFLite-Micro",
                               inputs=(act(),)),
    OpType.TANH: OpSupport(("int8",), "256-entry table, gemmlowp fixed point as TFLite-Micro",
                           inputs=(act(),)),
}

INPUT_INTEGER_BITS = 4


def _table(op: Op, in_scale: float, in_zp: int) -> np.ndarray:
    real = float(in_scale) * float(1 << (31 - INPUT_INTEGER_BITS))
    multiplier, left_shift = gemmlowp.frexp_multiplier(real)
    if not 0 <= left_shift <= 31:  # TFLite-Micro's CalculateInputRadius shifts by it: undefined < 0
        raise unsupported(op, f"input scale {in_scale:.4g} is outside the range TFLite-Micro "
                          f"handles (input shift {left_shift})", "check the input tensor's scale")
    radius = gemmlowp.calculate_input_radius(INPUT_INTEGER_BITS, left_shift, 31)
    out = np.empty(256, dtype=np.int8)
    for v in range(-128, 128):
        x = v - in_zp
        if x <= -radius:
            y = -128
        elif x >= radius:
            y = 127
        else:
            q4 = multiply_by_quantized_multiplier(x, multiplier, left_shift)
            if op.type == OpType.LOGISTIC:
                q0 = gemmlowp.logistic(q4, INPUT_INTEGER_BITS)
                y = rounding_divide_by_pot(q0, 31 - 8) - 128
            else:
                q0 = gemmlowp.tanh(q4, INPUT_INTEGER_BITS)
                y = rounding_divide_by_pot(q0, 31 - 7)
            y = min(max(y, -128), 127)
        out[v + 128] = y
    return out


def lower(op: Op, graph: Graph) -> Lowered:
    x = need_int8_activation(op, graph.op_inputs(op)[0], "input")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    if x.quant.per_channel or y.quant.per_channel:
        raise unsupported(op, "per-channel quantized activations")
    if x.size != y.size:
        raise unsupported(op, f"input has {x.size} elements but output has {y.size}")
    if op.type == OpType.LOGISTIC and y.zero_point != -128:
        raise unsupported(op, f"output zero point is {y.zero_point}; TFLite-Micro requires -128 "
                          "for int8 LOGISTIC", "convert with the standard int8 converter")
    lut = _table(op, x.scale, x.zero_point)
    params = dict(size=x.size, fn="tg_lut_s8")
    return Lowered("lut", ("tg_lut",), params, (ConstArray("lut", "int8_t", lut),),
                   inplace=True, notes=("256-entry table",))
