"""SOFTMAX over the last axis: int8 -> int8 (output scale 1/256, zero point -128), int8 -> int16
(scale 1/65536, zero point -32768) and int16 -> int16 (scale 1/32768, zero point 0).

TFLite-Micro (installed snapshot, softmax.cc) sends int8 input to reference_ops::Softmax, the
gemmlowp path: PreprocessSoftmaxScaling(beta, input_scale, 5) gives input_multiplier /
input_left_shift, diff_min = -CalculateInputRadius(5, left_shift).
int16 input goes to reference_ops::SoftmaxInt16, the LUT path: the difference from the row
maximum is scaled by QuantizeMultiplier(input_scale * beta / (10 / 65535)) so that [-10, 0]
spans 65535 steps, exp() and the reciprocal 1/(1 + x) are 513-entry int16 tables with linear
interpolation (gen_lut<float, int16_t, int16_t>, computed here in float32 with the C library's
expf, as TFLite-Micro's Prepare fills them).
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Op, OpType, SoftmaxAttrs
from ..libm import expf
from ..quant import MAX_LEFT_SHIFT, quantize_multiplier
from . import gemmlowp
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, unsupported
from .common import need_int8_activation

SUPPORT = {
    OpType.SOFTMAX: OpSupport(("int8", "int16"), "last axis, any beta; int8: gemmlowp path as "
                              "TFLite-Micro, int8 or int16 output; int16: TFLite-Micro's exp and "
                              "reciprocal tables", inputs=(act(),)),
}

SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(op: Op, beta: float, in_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) exactly as TFLite-Micro's Prepare, which
    aborts (QuantizeMultiplierGreaterThanOne: TFLITE_CHECK) unless the real multiplier exceeds 1;
    a left shift beyond 30 overflows its int32 arithmetic."""
    real = min(float(beta) * float(in_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    if not real > 1.0:
        raise unsupported(op, f"input scale {in_scale:.4g} x beta {beta:.4g} is too small: "
                          "TFLite-Micro's int8 softmax aborts on it",
                          "check the input tensor's scale")
    q_fixed, shift = quantize_multiplier(real)  # QuantizeMultiplierGreaterThanOne
    if shift > MAX_LEFT_SHIFT:
        raise unsupported(op, f"input scale {in_scale:.4g} x beta {beta:.4g} is too large for "
                          f"TFLite-Micro's int8 softmax (left shift {shift})",
                          "check the input tensor's scale")
    radius = gemmlowp.calculate_input_radius(SCALED_DIFF_INTEGER_BITS, shift, 31)
    return q_fixed, shift, -radius


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    if graph.op_inputs(op)[0] is not None and graph.op_inputs(op)[0].dtype == "int16":
        return _lower_int16(op, graph)
    x = need_int8_activation(op, graph.op_inputs(op)[0], "input")
    y = graph.op_outputs(op)[0]
    out16 = y.dtype == "int16"
    y = need_int16_out(op, y) if out16 else need_int8_activation(op, y, "output")
    if x.quant.per_channel or y.quant.per_channel:
        raise unsupported(op, "per-channel quantized activations")
    want = (-32768, 1.0 / 65536) if out16 else (-128, 1.0 / 256)
    # TFLite-Micro: TF_LITE_ENSURE_NEAR(scale, 1/2^bits, 0.001 / 2^bits); the kernel's output
    # assumes exactly 1/2^bits (a 16x8 converter writes 1/65535)
    if y.zero_point != want[0] or abs(float(y.scale) - want[1]) > 0.001 * want[1]:
        raise unsupported(op, f"{y.dtype} output must have scale 1/{int(1 / want[1])} and zero "
                          f"point {want[0]} (has {y.scale}, {y.zero_point}); TFLite-Micro "
                          "refuses anything else")
    if x.shape != y.shape or not x.shape:
        raise unsupported(op, f"input {x.shape} and output {y.shape} must have the same shape")
    a: SoftmaxAttrs = op.attrs
    if not (a.beta > 0 and math.isfinite(a.beta)):
        raise unsupported(op, f"beta {a.beta} must be finite and positive")
    mult, shift, diff_min = softmax_params(op, a.beta, x.scale)
    depth = x.shape[-1]
    params = dict(rows=x.size // depth, depth=depth, input_multiplier=mult,
                  input_left_shift=shift, diff_min=diff_min)
    params["fn"] = "tg_softmax_s8_s16" if out16 else "tg_softmax_s8"
    return Lowered("softmax", ("tg_softmax",), params, inplace=not out16,
                   notes=("int8 -> int16",) if out16 else ())


def need_int16_out(op: Op, y):
    """An int16 softmax output (zero point -32768: not the symmetric int16 activation)."""
    if y.quant is None or y.quant.per_channel:
        raise unsupported(op, f"output tensor {y.index} needs per-tensor quantization")
    return y


# ---- int16 -> int16: the LUT path -----------------------------------------------------------

LUT_STEPS = 512


def gen_lut_int16(func, input_min: float, input_max: float) -> np.ndarray:
    """gen_lut<float, int16_t, int16_t>(func, input_min, input_max, -1, 1): 512 samples with the
    midpoint error halved into them, plus one more for the last slope; float32 throughout."""
    f32 = np.float32
    lo, hi = f32(input_min), f32(input_max)
    step = f32((hi - lo) / f32(LUT_STEPS))
    half = f32(step / f32(2))
    inv = f32(65536.0 / 2.0)                      # (max - min + 1) / (output_max - output_min)

    def rnd(v) -> float:                          # TfLiteRound on float: half away from zero
        return float(np.copysign(np.floor(np.abs(f32(v)) + f32(0.5)), f32(v)))

    lut = np.zeros(LUT_STEPS + 1, dtype=np.int64)
    for i in range(LUT_STEPS):
        at = f32(lo + f32(f32(i) * step))
        val, nxt = func(at), func(f32(lo + f32(f32(i + 1) * step)))
        mid = func(f32(at + half))
        sample = rnd(f32(val * inv))
        interp = rnd(f32(f32(f32(nxt * inv) + f32(rnd(f32(val * inv)))) / f32(2)))
        bias = rnd(f32(f32(interp - rnd(f32(mid * inv))) / f32(2)))
        lut[i] = min(max(f32(sample - bias), -32768.0), 32767.0)
    lut[LUT_STEPS] = min(max(rnd(f32(func(hi) * inv)), -32768.0), 32767.0)
    return lut


def _lower_int16(op: Op, graph: Graph) -> Lowered:
    from .conv16 import need_int16_activation
    x = graph.op_inputs(op)[0]
    y = graph.op_outputs(op)[0]
    if y.dtype != "int16" or y.quant is None or y.quant.per_channel or x.quant is None \
            or x.quant.per_channel or not x.scale:
        raise unsupported(op, f"int16 input needs a per-tensor quantized int16 output (has {y.dtype})")
    if y.zero_point != 0 or abs(float(y.scale) - 1 / 32768) > 0.001 / 32768:
        raise unsupported(op, f"int16 output must have scale 1/32768 and zero point 0 (has "
                          f"{y.scale}, {y.zero_point}); TFLite-Micro refuses anything else")
    if x.is_const:
        need_int16_activation(op, x, "input")   # the one-line message for a constant input
    if x.shape != y.shape or not x.shape:
        raise unsupported(op, f"input {x.shape} and output {y.shape} must have the same shape")
    a: SoftmaxAttrs = op.attrs
    if not (a.beta > 0 and math.isfinite(a.beta)):
        raise unsupported(op, f"beta {a.beta} must be finite and positive")
    mult, shift = quantize_multiplier(float(np.float32(x.scale)) * float(np.float32(a.beta))
                                      / (10.0 / 65535.0))
    if mult == 0 or shift > 31 - 17:              # int32 input_diff << shift must not wrap
        raise unsupported(op, f"input scale {x.scale} x beta {a.beta} is outside the range "
                          "TFLite-Micro's int16 softmax handles")
    exp_lut = gen_lut_int16(lambda v: expf(v), -10.0, 0.0)
    recip_lut = gen_lut_int16(lambda v: np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + v)),
                              0.0, 1.0)
    depth = x.shape[-1]
    if depth > (1 << 16):
        raise unsupported(op, f"a row of {depth} values could overflow the int32 sum of exps")
    params = dict(rows=x.size // depth, depth=depth, input_multiplier=mult,
                  input_left_shift=shift, diff_min=0, fn="tg_softmax_s16")
    consts = (ConstArray("exp_lut", "int16_t", exp_lut), ConstArray("recip_lut", "int16_t", recip_lut))
    return Lowered("softmax", ("tg_softmax",), params, consts, inplace=True, notes=("int16 LUT",))
