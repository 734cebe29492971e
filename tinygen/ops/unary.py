"""LEAKY_RELU, HARD_SWISH and ELU, bit-exact with TFLite-Micro.

An int8 input has 256 values, so each int8 op is tabulated here with TFLite-Micro's exact
arithmetic and the kernel is the shared table lookup (tg_lut):
- LEAKY_RELU (leaky_relu_common.cc, reference_ops::QuantizeLeakyRelu): x = in - in_zp;
  out = clamp(out_zp + MultiplyByQuantizedMultiplier(x, identity or alpha multiplier)), the
  multipliers QuantizeMultiplier(in_scale / out_scale) and (in_scale * alpha / out_scale) in
  double, as the installed TFLite-Micro computes them (a 2021 leaky_relu_common.cc multiplied in
  float32; alpha 3.5 on 16x8 showed the difference). int16 runs the same arithmetic in C.
- HARD_SWISH (hard_swish_common.cc, reference_ops::HardSwish): gemmlowp int16 fixed point with
  the output and "reluish" multipliers cut to 16 bits (DownScaleInt32ToInt16Multiplier).
- ELU (elu.cc): TFLite-Micro itself fills a 256-entry table in float32 (expf(x) - 1 below 0);
  the same float32 steps are taken here, with the host C library's expf.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, LeakyReluAttrs, Op, OpType
from ..libm import expf, round_f32
from ..quant import (DTYPE_RANGE, MAX_LEFT_SHIFT, multiply_by_quantized_multiplier,
                     quantize_multiplier, rounding_divide_by_pot)
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, unsupported
from .common import act16_params, multiplier, unary_io

SUPPORT = {
    OpType.LEAKY_RELU: OpSupport(("int8", "int16"), "any alpha (negative too); int8: 256-entry "
                                 "table", inputs=(act(),)),
    OpType.HARD_SWISH: OpSupport(("int8",), "256-entry table, gemmlowp int16 fixed point as "
                                 "TFLite-Micro", inputs=(act(),)),
    OpType.ELU: OpSupport(("int8",), "256-entry table, float32 as TFLite-Micro fills it",
                          inputs=(act(),)),
}

F32 = np.float32


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    dtypes = SUPPORT[op.type].dtypes
    x, y = unary_io(op, graph, dtypes)
    if op.type == OpType.LEAKY_RELU:
        ident, alpha = _leaky_multipliers(op, x, y)
        if x.dtype == "int16":
            params = act16_params(x.size, x.zero_point, y.zero_point, pos=ident, neg=alpha,
                                  fn="tg_leaky_relu_s16")
            return Lowered("act16", ("tg_act16",), params, inplace=True)
        lut = [_leaky(v - x.zero_point, y.zero_point, ident, alpha) for v in range(-128, 128)]
    elif op.type == OpType.HARD_SWISH:
        lut = _hard_swish_table(op, x, y)
    else:
        lut = _elu_table(x, y)
    return Lowered("lut", ("tg_lut",), dict(size=x.size, fn="tg_lut_s8"),
                   (ConstArray("lut", "int8_t", np.array(lut, dtype=np.int8)),), inplace=True,
                   notes=("256-entry table",))


def _leaky_multipliers(op: Op, x, y) -> tuple[tuple[int, int], tuple[int, int]]:
    if not isinstance(op.attrs, LeakyReluAttrs):
        raise unsupported(op, "has no alpha attribute; the file is incomplete")
    alpha = float(F32(op.attrs.alpha))
    if not math.isfinite(alpha):
        raise unsupported(op, f"alpha {alpha} is not a finite number", "re-export the model")
    s_in, s_out = float(F32(x.scale)), float(F32(y.scale))
    ident = multiplier(op, s_in / s_out, "input scale / output scale")
    m, s = quantize_multiplier(s_in * alpha / s_out)   # alpha may be 0 or negative
    if s > MAX_LEFT_SHIFT:
        raise unsupported(op, f"alpha multiplier {s_in * alpha / s_out:.4g} needs a left shift of "
                          f"{s} bits, beyond the {MAX_LEFT_SHIFT} that TFLite-Micro's int32 "
                          "arithmetic allows", "check alpha and the scales of its tensors")
    return ident, (m, s)


def _leaky(x: int, out_zp: int, ident, alpha, dtype: str = "int8") -> int:
    m, s = ident if x >= 0 else alpha
    lo, hi = DTYPE_RANGE[dtype]
    return min(max(out_zp + multiply_by_quantized_multiplier(x, m, s), lo), hi)


# ---- HARD_SWISH: gemmlowp's int16 fixed point ------------------------------------------------

def _s16(v: int) -> int:
    return ((v + 32768) & 0xFFFF) - 32768


def _srdhm16(a: int, b: int) -> int:
    if a == b == -32768:
        return 32767
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    q = abs(ab + nudge) // (1 << 15)
    return _s16(q if ab + nudge >= 0 else -q)


def _sdhm16(a: int, b: int) -> int:
    """SaturatingDoublingHighMul: rounds toward zero."""
    if a == b == -32768:
        return 32767
    ab = a * b
    q = abs(ab) // (1 << 15)
    return _s16(q if ab >= 0 else -q)


def _sat_left_shift16(v: int, amount: int) -> int:
    return min(max(v * (1 << amount), -32768), 32767)


def _downscale16(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    if m >= (1 << 31) - 1 - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


def _hard_swish_table(op: Op, x, y) -> list[int]:
    hires = F32(1.0 / 128.0) * F32(x.scale)
    with np.errstate(over="ignore"):
        out_real = float(hires / F32(y.scale))
    out_m32, out_exp = multiplier(op, out_real, "output multiplier")
    if out_exp > 0:
        raise unsupported(op, "output scale too small for the input scale (TFLite-Micro requires "
                          "an output multiplier below 1)")
    relu_m32, relu_exp = multiplier(op, float(hires / F32(3.0 / 32768.0)), "reluish multiplier")
    out_m, relu_m = _downscale16(out_m32), _downscale16(relu_m32)
    table = []
    for v in range(-128, 128):
        hi_in = _s16((v - x.zero_point) * (1 << 7))
        pre_out = _srdhm16(hi_in, out_m)
        reluish = hi_in
        if relu_exp > 0:
            reluish = _sat_left_shift16(reluish, relu_exp - 1)
        reluish = _srdhm16(reluish, relu_m)
        if relu_exp > 0:
            reluish = _sat_left_shift16(reluish, 1)
        if relu_exp < 0:
            reluish = _s16(rounding_divide_by_pot(reluish, -relu_exp))
        reluish = _s16((reluish + (1 << 15)) >> 1)
        out = _s16(rounding_divide_by_pot(_sdhm16(reluish, pre_out), -out_exp))
        out = _s16(out + y.zero_point)
        table.append(min(max(out, -128), 127))
    return table


# ---- ELU: TFLite-Micro's own float32 table ---------------------------------------------------

def _elu_table(x, y) -> list[int]:
    inverse = F32(1.0) / F32(y.scale)
    table = []
    for v in range(-128, 128):
        deq = F32(x.scale) * F32(v - x.zero_point)
        t = F32(expf(deq) - F32(1.0)) if deq < 0 else deq
        rescaled = F32(round_f32(F32(t * inverse)))
        q = int(np.float32(rescaled + F32(y.zero_point)))
        table.append(min(max(q, -128), 127))
    return table
