"""SOFTMAX over the last axis, int8 -> int8 (output scale 1/256, zero point -128).

TFLite-Micro (installed snapshot, softmax.cc) sends int8 -> int8 to reference_ops::Softmax, the
gemmlowp path (not the int16 LUT path): PreprocessSoftmaxScaling(beta, input_scale, 5) gives
input_multiplier / input_left_shift, diff_min = -CalculateInputRadius(5, left_shift).
"""
from __future__ import annotations

from ..ir import Graph, Op, OpType, SoftmaxAttrs
from ..quant import quantize_multiplier
from . import gemmlowp
from .base import Lowered, LowerOptions, OpSupport, unsupported
from .common import need_int8_activation

SUPPORT = {
    OpType.SOFTMAX: OpSupport(("int8",), "last axis, any beta; gemmlowp path as TFLite-Micro; "
                              "int8 -> int16 output too"),
}

SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, in_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) exactly as TFLite-Micro's Prepare."""
    real = min(float(beta) * float(in_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    q_fixed, shift = quantize_multiplier(real)  # QuantizeMultiplierGreaterThanOne
    radius = gemmlowp.calculate_input_radius(SCALED_DIFF_INTEGER_BITS, shift, 31)
    return q_fixed, shift, -radius


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
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
    if not a.beta > 0:
        raise unsupported(op, f"beta {a.beta} must be positive")
    mult, shift, diff_min = softmax_params(a.beta, x.scale)
    if not 1 <= shift <= 30 or float(a.beta) * float(x.scale) * (1 << 26) <= 1.0:
        raise unsupported(op, f"input scale {x.scale} x beta {a.beta} is outside the range "
                          "TFLite-Micro's int8 softmax handles")
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
