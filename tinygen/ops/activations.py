"""LOGISTIC and TANH, int8 -> int8, bit-exact with TFLite-Micro's reference integer kernels.

TFLite-Micro (the installed 2026 snapshot) evaluates both with gemmlowp fixed point: the input
minus its zero point is scaled by `input_multiplier / input_left_shift` (frexp of
input_scale * 2^27, kInputIntegerBits = 4) into Q4.27, values beyond +-input_range_radius
saturate, the rest go through gemmlowp::logistic / gemmlowp::tanh, and the Q0.31 result is
rounded to 8 bits (logistic: Q0.8 - 128, zero point -128; tanh: Q0.7, zero point 0).
An int8 input has only 256 values, so the whole function is tabulated here, once, with exact
integer arithmetic (gemmlowp.py); the C kernel is a 256-byte table lookup, no math at run time.

int16 (16x8 models; logistic_common.cc / tanh.cc Prepare, reference_integer_ops int16 Logistic /
Tanh): zero points 0, output scale 2^-15; the input is rescaled to 1/(3*4096) by a multiplier
(0 when the input scale is the power of two the table wants) and the result interpolated in
TFLite-Micro's 256-entry sigmoid table (tg_act16).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from ..quant import multiply_by_quantized_multiplier, rounding_divide_by_pot
from . import gemmlowp
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, unsupported
from .common import unary_io
from ..libm import checked_log2

_NOTES = ("int8: 256-entry table, gemmlowp fixed point as TFLite-Micro; int16: TFLite-Micro's "
          "interpolated sigmoid table (zero points 0, output scale 2^-15)")
SUPPORT = {
    OpType.LOGISTIC: OpSupport(("int8", "int16"), _NOTES, inputs=(act(),)),
    OpType.TANH: OpSupport(("int8", "int16"), _NOTES, inputs=(act(),)),
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


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    x, y = unary_io(op, graph, ("int8", "int16"))
    if x.dtype == "int16":
        return _lower_int16(op, x, y)
    if op.type == OpType.LOGISTIC and y.zero_point != -128:
        raise unsupported(op, f"output zero point is {y.zero_point}; TFLite-Micro requires -128 "
                          "for int8 LOGISTIC", "convert with the standard int8 converter")
    lut = _table(op, x.scale, x.zero_point)
    params = dict(size=x.size, fn="tg_lut_s8")
    return Lowered("lut", ("tg_lut",), params, (ConstArray("lut", "int8_t", lut),),
                   inplace=True, notes=("256-entry table",))


def _lower_int16(op: Op, x, y) -> Lowered:
    if x.zero_point != 0 or y.zero_point != 0:
        raise unsupported(op, "int16 zero points are not 0 (TFLite-Micro requires 0)")
    pot, out_log2 = checked_log2(y.scale)
    if not pot or out_log2 != -15:
        raise unsupported(op, f"int16 output scale {y.scale} is not 2^-15 (TFLite-Micro requires it)")
    pot, in_log2 = checked_log2(x.scale)
    shift = 12 + in_log2
    pot = pot and (shift in (0, 1) if op.type == OpType.TANH else shift == 0)
    if pot:
        mult = 0
    else:   # rescale the input to 1/(3*4096), as Prepare does in double
        m, shift = float(x.scale) * 4096.0 * 3.0, 0
        while m <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            m *= 2.0
        mult = int(m)
    if mult > 32767 or shift < 0:
        raise unsupported(op, f"int16 input scale {x.scale} is outside what TFLite-Micro handles")
    params = dict(size=x.size, input_multiplier=mult, input_left_shift=shift, sigmoid=True,
                  fn="tg_logistic_s16" if op.type == OpType.LOGISTIC else "tg_tanh_s16")
    return Lowered("act16", ("tg_act16",), params, inplace=True)
