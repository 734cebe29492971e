"""RELU and RELU6 as standalone ops (the converter emits them where it cannot fuse them).

Both are functions of one int8 value, so the 256 answers are computed here with TFLite-Micro's
arithmetic and the kernel is the shared table lookup (tg_lut):
- RELU (CalculateReluOpData): out = clamp(out_zp + MultiplyByQuantizedMultiplier(x - in_zp,
  in_scale / out_scale), max(-128, out_zp), 127).
- RELU6 (Relu6Prepare): no requantisation; out = clamp(x, in_zp, round(6 / in_scale) + in_zp),
  computed in float32 as TFLite-Micro does.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from ..quant import multiply_by_quantized_multiplier, tflite_round
from .base import ConstArray, Lowered, OpSupport, act, unsupported
from .common import multiplier, need_int8_activation

SUPPORT = {
    OpType.RELU: OpSupport(("int8",), "256-entry table", inputs=(act(),)),
    OpType.RELU6: OpSupport(("int8",), "256-entry table", inputs=(act(),)),
}


def relu_table(op: Op, in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    mult, shift = multiplier(op, float(np.float32(in_scale)) / float(np.float32(out_scale)),
                             "input scale / output scale")
    lo = max(-128, out_zp)
    return np.array([min(max(out_zp + multiply_by_quantized_multiplier(v - in_zp, mult, shift), lo),
                         127) for v in range(-128, 128)], dtype=np.int8)


def relu6_table(op: Op, in_scale: float, in_zp: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        six = float(np.float32(6.0) / np.float32(in_scale))
    if not abs(six) < 2 ** 31 - 256:  # TFLite-Micro casts it (+ zero point) to int32
        raise unsupported(op, f"input scale {in_scale:.4g} is too small: 6 / scale overflows int32",
                          "check the input tensor's scale")
    six = min(max(tflite_round(six) + in_zp, -128), 127)
    return np.array([min(max(v, in_zp), six) for v in range(-128, 128)], dtype=np.int8)


def lower(op: Op, graph: Graph) -> Lowered:
    x = need_int8_activation(op, graph.op_inputs(op)[0], "input")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    if x.quant.per_channel or y.quant.per_channel:
        raise unsupported(op, "per-channel quantized activations")
    if x.size != y.size:
        raise unsupported(op, f"input has {x.size} elements but output has {y.size}")
    if op.type == OpType.RELU:
        lut = relu_table(op, x.scale, x.zero_point, y.scale, y.zero_point)
    else:
        lut = relu6_table(op, x.scale, x.zero_point)
    return Lowered("lut", ("tg_lut",), dict(size=x.size, fn="tg_lut_s8"),
                   (ConstArray("lut", "int8_t", lut),), macs=0, inplace=True,
                   notes=("256-entry table",))
