"""SOFTMAX over the last axis, int8 -> int8 (output scale 1/256, zero point -128).

TFLite-Micro (installed snapshot, softmax.cc) sends int8 -> int8 to reference_ops::Softmax, the
gemmlowp path (not the int16 LUT path): PreprocessSoftmaxScaling(beta, input_scale, 5) gives
input_multiplier / input_left_shift, diff_min = -CalculateInputRadius(5, left_shift).
"""
from __future__ import annotations

import math

from ..ir import Graph, Op, OpType, SoftmaxAttrs
from ..quant import MAX_LEFT_SHIFT, quantize_multiplier
from . import gemmlowp
from .base import Lowered, OpSupport, act, unsupported
from .common import need_int8_activation

SUPPORT = {
    OpType.SOFTMAX: OpSupport(("int8",), "last axis, any beta; gemmlowp path as TFLite-Micro",
                              inputs=(act(),)),
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


def lower(op: Op, graph: Graph) -> Lowered:
    x = need_int8_activation(op, graph.op_inputs(op)[0], "input")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    if x.quant.per_channel or y.quant.per_channel:
        raise unsupported(op, "per-channel quantized activations")
    if y.zero_point != -128 or float(y.scale) != 1.0 / 256:
        raise unsupported(op, f"int8 output must have scale 1/256 and zero point -128 (has "
                          f"{y.scale}, {y.zero_point}); TFLite-Micro refuses anything else")
    if x.shape != y.shape or not x.shape:
        raise unsupported(op, f"input {x.shape} and output {y.shape} must have the same shape")
    a: SoftmaxAttrs = op.attrs
    if not (a.beta > 0 and math.isfinite(a.beta)):
        raise unsupported(op, f"beta {a.beta} must be finite and positive")
    mult, shift, diff_min = softmax_params(op, a.beta, x.scale)
    depth = x.shape[-1]
    params = dict(rows=x.size // depth, depth=depth, input_multiplier=mult,
                  input_left_shift=shift, diff_min=diff_min)
    return Lowered("softmax", ("tg_softmax",), params, inplace=True)
