"""QUANTIZE int8 -> int8 (a requantization between two scales / zero points).

TFLite-Micro (quantize_common.cc, reference_ops::Requantize):
    out = clamp(MultiplyByQuantizedMultiplier(x - in_zp, m, s) + out_zp, -128, 127)
with (m, s) = QuantizeMultiplier(in_scale / out_scale). An int8 input has 256 values, so the
result is tabulated here and the kernel is a table lookup. A float -> int8 QUANTIZE (a float
model input) is refused: the generated function takes int8 input.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from ..quant import multiply_by_quantized_multiplier
from .base import ConstArray, Lowered, OpSupport, Port, unsupported
from .common import multiplier, need_int8_activation

SUPPORT = {
    # Any input dtype gets past the ports so that lower() can say how to convert a float model.
    OpType.QUANTIZE: OpSupport(("int8",), "int8 -> int8 requantization (256-entry table)",
                               inputs=(Port("input", None, quantized=False),)),
}


def lower(op: Op, graph: Graph) -> Lowered:
    x = graph.op_inputs(op)[0]
    if x is not None and x.dtype != "int8":
        raise unsupported(op, f"input is {x.dtype}; the generated <name>_invoke() takes int8 "
                          "input, so only int8 -> int8 requantization is supported",
                          "convert with inference_input_type=tf.int8 (and "
                          "inference_output_type=tf.int8)")
    x = need_int8_activation(op, x, "input")
    y = graph.op_outputs(op)[0]
    if y.dtype != "int8":
        raise unsupported(op, f"output is {y.dtype}; only int8 -> int8 is supported")
    y = need_int8_activation(op, y, "output")
    if x.quant.per_channel or y.quant.per_channel:
        raise unsupported(op, "per-channel quantization")
    m, s = multiplier(op, float(x.scale) / float(y.scale), "input scale / output scale")
    lut = np.empty(256, dtype=np.int8)
    for v in range(-128, 128):
        q = multiply_by_quantized_multiplier(v - x.zero_point, m, s) + y.zero_point
        lut[v + 128] = min(max(q, -128), 127)
    params = dict(size=x.size, fn="tg_lut_s8")
    return Lowered("lut", ("tg_lut",), params, (ConstArray("lut", "int8_t", lut),),
                   inplace=True, notes=("256-entry table",))
