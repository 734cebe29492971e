"""QUANTIZE, DEQUANTIZE and CAST: conversions between element types, as TFLite-Micro runs them.

QUANTIZE (quantize_common.cc): integer -> integer is reference_ops::Requantize,
    out = clamp(MultiplyByQuantizedMultiplier(x - in_zp, m, s) + out_zp) with
    (m, s) = QuantizeMultiplier(in_scale / out_scale), for the pairs TFLite-Micro has: int8 ->
    int8/uint8/int16/int32, uint8 -> int8, int16 -> int8/int16/int32, int32 -> int8/int16. An 8-bit
    input has 256 values, so 8-bit -> 8-bit pairs are a 256-entry table (tg_lut). float32 ->
    int8/int16 is AffineQuantize: round-half-away(x / scale) in float32, plus the zero point.
DEQUANTIZE (dequantize.cc): int8/int16 (and uint8) -> float32, scale * (x - zp) in float32.
CAST (cast.cc): C conversions between int8, uint8, int16, int32 and float32; a CAST of a constant
    is evaluated at compile time (any pair numpy has), so nothing of it reaches the C.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..ir import Graph, Op, OpType, Tensor
from ..quant import DTYPE_RANGE, multiply_by_quantized_multiplier
from .base import ConstArray, Lowered, LowerOptions, OpSupport, Port, const_values, unsupported
from .common import multiplier

SUFFIX = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "float32": "f32"}
REQUANT_PAIRS = {("int8", "int8"), ("int8", "uint8"), ("uint8", "int8"), ("int8", "int16"),
                 ("int8", "int32"), ("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
                 ("int32", "int8"), ("int32", "int16")}
QUANTIZE_PAIRS = REQUANT_PAIRS | {("float32", "int8"), ("float32", "int16")}
DEQUANTIZE_INPUTS = ("int8", "uint8", "int16")
CAST_TYPES = ("int8", "uint8", "int16", "int32", "float32")


def _fold_cast(op: Op, inputs: Sequence[Optional[Tensor]], outputs: Sequence[Tensor]):
    values = const_values(inputs[:1])
    if values is None or values[0] is None:
        return None
    return [cast_values(values[0], outputs[0].dtype)]


def cast_values(x: np.ndarray, dtype: str) -> np.ndarray:
    """static_cast as the reference host computes it: integers wrap; floats truncate, and a
    float outside int32 (or NaN) becomes INT32_MIN first (x86-64's cvttss2si)."""
    x = np.asarray(x)
    if dtype == "bool":
        return x != 0
    if x.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
        inside = (x >= -2.0 ** 31) & (x < 2.0 ** 31)
        as32 = np.where(inside, np.trunc(np.where(inside, x, 0)), -2.0 ** 31).astype(np.int64)
        return as32.astype(dtype)
    return x.astype(np.int64).astype(dtype) if np.dtype(dtype).kind in "iu" and x.dtype.kind in "iub" \
        else x.astype(dtype)


# Any dtype gets past the ports so that lower() can name the type pairs it converts (and say how
# to convert a float model); lower() reads the quantization where the pair needs it (_scale_zp).
_IN = (Port("input", None, quantized=False),)
_OUT = (Port("output", None, quantized=False),)
SUPPORT = {
    OpType.QUANTIZE: OpSupport(("int8", "uint8", "int16", "int32", "float32"),
                               "float32 -> int8/int16; int8 -> int8/uint8/int16/int32; uint8 -> "
                               "int8; int16 -> int8/int16/int32; int32 -> int8/int16 (8-bit pairs: "
                               "256-entry table)", inputs=_IN, outputs=_OUT),
    OpType.DEQUANTIZE: OpSupport(("int8", "uint8", "int16", "float32"),
                                 "int8/uint8/int16 -> float32, the float32 product TFLite-Micro "
                                 "computes", inputs=_IN, outputs=_OUT),
    OpType.CAST: OpSupport(CAST_TYPES, "between int8, uint8, int16, int32, float32; a constant "
                           "input is folded at compile time", fold=_fold_cast, inputs=_IN,
                           outputs=_OUT),
}


def _io(op: Op, graph: Graph) -> tuple[Tensor, Tensor]:
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    if len(ins) != 1 or ins[0] is None or len(outs) != 1:
        raise unsupported(op, f"expects 1 input and 1 output, got {len(ins)} and {len(outs)}")
    x, y = ins[0], outs[0]
    if x.is_const:
        raise unsupported(op, f"input tensor {x.index} is a constant",
                          "let the converter fold constant subgraphs")
    if x.size != y.size:
        raise unsupported(op, f"input has {x.size} elements but output has {y.size}")
    return x, y


def _scale_zp(op: Op, t: Tensor, role: str) -> tuple[float, int]:
    if t.quant is None or not t.quant.scale:
        raise unsupported(op, f"{role} tensor {t.index} ({t.dtype}) has no quantization "
                          "parameters", "convert with full-integer quantization")
    if t.quant.per_channel:
        raise unsupported(op, f"{role} tensor {t.index} is per-channel quantized",
                          "TFLite-Micro supports per-tensor quantization here")
    return float(np.float32(t.scale)), int(t.zero_point)


def _lowered(x: Tensor, y: Tensor, fn: str, consts=(), **values) -> Lowered:
    params = dict(size=x.size, in_zp=0, out_zp=0, mult=0, shift=0, scale=1.0, fn=fn)
    params.update(values)
    same_width = np.dtype(x.dtype).itemsize == np.dtype(y.dtype).itemsize
    return Lowered("quantize", ("tg_quantize",), params, tuple(consts), inplace=same_width)


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    x, y = _io(op, graph)
    if op.type == OpType.CAST:
        return _lower_cast(op, x, y)
    if op.type == OpType.DEQUANTIZE:
        if x.dtype not in DEQUANTIZE_INPUTS or y.dtype != "float32":
            raise unsupported(op, f"{x.dtype} -> {y.dtype}; TFLite-Micro dequantizes "
                              f"{'/'.join(DEQUANTIZE_INPUTS)} to float32")
        scale, zp = _scale_zp(op, x, "input")
        return _lowered(x, y, f"tg_dequantize_{SUFFIX[x.dtype]}_f32", in_zp=zp, scale=scale)
    if (x.dtype, y.dtype) not in QUANTIZE_PAIRS:
        raise unsupported(op, f"{x.dtype} -> {y.dtype} is not a QUANTIZE TFLite-Micro runs",
                          "supported: " + ", ".join(f"{a}->{b}" for a, b in sorted(QUANTIZE_PAIRS)))
    out_scale, out_zp = _scale_zp(op, y, "output")
    if x.dtype == "float32":
        return _lowered(x, y, f"tg_quantize_f32_{SUFFIX[y.dtype]}", out_zp=out_zp, scale=out_scale)
    in_scale, in_zp = _scale_zp(op, x, "input")
    m, s = multiplier(op, in_scale / out_scale, "input scale / output scale")
    if x.dtype in ("int8", "uint8") and y.dtype in ("int8", "uint8"):
        return _lut(x, y, in_zp, out_zp, m, s)
    return _lowered(x, y, f"tg_requant_{SUFFIX[x.dtype]}_{SUFFIX[y.dtype]}", in_zp=in_zp,
                    out_zp=out_zp, mult=m, shift=s)


def _lut(x: Tensor, y: Tensor, in_zp: int, out_zp: int, m: int, s: int) -> Lowered:
    """8-bit -> 8-bit: entry b + 128 is the answer for the stored byte b read as int8 (a uint8
    byte pattern is the same byte), stored as the output's byte pattern."""
    lo, hi = DTYPE_RANGE[y.dtype]
    lut = np.empty(256, dtype=np.int8)
    for b in range(-128, 128):
        v = b if x.dtype == "int8" else b & 0xFF
        q = min(max(multiply_by_quantized_multiplier(v - in_zp, m, s) + out_zp, lo), hi)
        lut[b + 128] = np.int8(q if q < 128 else q - 256)
    return Lowered("lut", ("tg_lut",), dict(size=x.size, fn="tg_lut_s8"),
                   (ConstArray("lut", "int8_t", lut),), inplace=True, notes=("256-entry table",))


def _lower_cast(op: Op, x: Tensor, y: Tensor) -> Lowered:
    for role, t in (("input", x), ("output", y)):
        if t.dtype not in CAST_TYPES:
            raise unsupported(op, f"{role} is {t.dtype}; CAST runs between "
                              f"{', '.join(CAST_TYPES)} (a constant input is folded)")
    return _lowered(x, y, f"tg_cast_{SUFFIX[x.dtype]}_{SUFFIX[y.dtype]}")
