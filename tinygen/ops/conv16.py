"""16x8 lowering (int16 activations, int8 weights) of CONV_2D, DEPTHWISE_CONV_2D and
FULLY_CONNECTED: a shared helper, not a plugin. ops/conv.py and ops/fully_connected.py send an
int16 op here with one line; the kernels are firmware/kernels/tg_conv16.h.

TFLite-Micro's int16 kernels (reference_integer_ops ConvPerChannel, DepthwiseConvPerChannel and
FullyConnected for int16 input): int16 tensors are symmetric (zero point 0, nothing to fold),
sums are exact, and the bias type picks the requantisation: an int64 bias gives
MultiplyByQuantizedMultiplier(int64 acc, m, s) = (acc * m16 + 2^(t-1)) >> t with
m16 = min((m + 2^15) >> 16, 0x7FFF) and t = 15 - s (both computed here); an int32 bias (or none)
gives the int32 form, gemmlowp double rounding. Per-channel (m, s) come from
input_scale * filter_scale / output_scale as for int8 (common.channel_multipliers).
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..ir import Activation, Graph, Op, OpType, Tensor
from .base import ConstArray, Lowered, unsupported
from .common import channel_multipliers, check_bias_scale, need_batch_one, need_const

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def need_int16_activation(op: Op, t: Tensor | None, role: str) -> Tensor:
    """An int16 activation: quantized, symmetric (TFLite's 16x8 spec), not a constant."""
    if t is None:
        raise unsupported(op, f"missing {role} tensor")
    if t.dtype != "int16":
        raise unsupported(op, f"{role} tensor {t.index} is {t.dtype}, expected int16 (16x8 model)")
    if t.quant is None or not t.quant.scale or t.quant.per_channel:
        raise unsupported(op, f"{role} tensor {t.index} needs one scale (per-tensor quantization)")
    if t.zero_point != 0:
        raise unsupported(op, f"{role} tensor {t.index} has zero point {t.zero_point}; int16 "
                          "activations must be symmetric (zero point 0) as TFLite-Micro requires")
    if t.is_const:
        raise unsupported(op, f"{role} tensor {t.index} is a constant",
                          "let the converter fold constant subgraphs")
    return t


def activation_range_int16(activation: Activation, scale: float) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for an int16 output (zero point 0). OverflowError when a
    bound leaves int32 (a float-to-int32 conversion TFLite-Micro leaves undefined)."""
    def q(v: float) -> int:
        with np.errstate(over="ignore"):
            r = float(np.float32(v) / np.float32(scale))
        if not np.isfinite(r) or abs(r) >= 2.0 ** 31:
            raise OverflowError(f"activation bound {v} / {scale} leaves int32")
        return int(np.floor(abs(r) + 0.5)) * (1 if r >= 0 else -1)
    if activation == Activation.RELU:
        return max(INT16_MIN, q(0.0)), INT16_MAX
    if activation == Activation.RELU6:
        return max(INT16_MIN, q(0.0)), min(INT16_MAX, q(6.0))
    if activation == Activation.RELU_N1_TO_1:
        return max(INT16_MIN, q(-1.0)), min(INT16_MAX, q(1.0))
    if activation != Activation.NONE:
        raise ValueError(activation)
    return INT16_MIN, INT16_MAX


# Without a bias, TFLite-Micro's int16 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED all take
# the int64 requantisation (measured against its interpreter on SEANet's conv models with the bias
# input removed: the int32 form differs by one in about 1 % of outputs).
NO_BIAS_ACC64 = True


def bias16(op: Op, b: Tensor | None, channels: int) -> tuple[np.ndarray, bool, bool]:
    """(bias values, has_bias, acc64): TFLite-Micro's int16 kernels take an int64 bias (int64
    requantisation) or an int32 one (int32 requantisation); the int64 form without one."""
    if b is None:
        return np.zeros(channels, dtype=np.int64), False, NO_BIAS_ACC64
    if not b.is_const or b.dtype not in ("int64", "int32"):
        raise unsupported(op, f"bias tensor {b.index} is {b.dtype}; a 16x8 layer takes a constant "
                          "int64 (or int32) bias")
    if b.size != channels:
        raise ModelError(f"op {op.index} ({op.type.value}): bias has {b.size} values for "
                         f"{channels} output channels")
    return b.data.astype(np.int64).ravel(), True, b.dtype == "int64"


def requant_arrays(mults: list[int], shifts: list[int], acc64: bool) -> tuple[np.ndarray, np.ndarray]:
    """What tg_rq16 applies per channel: (m16, t) for the int64 form, else (m, s)."""
    if not acc64:
        return np.array(mults, dtype=np.int64), np.array(shifts, dtype=np.int64)
    m16 = [min((m + (1 << 15)) >> 16, 0x7FFF) if m < 0x7FFF0000 else 0x7FFF for m in mults]
    t = [15 - s for s in shifts]
    if any(not 1 <= v <= 62 for v in t):
        raise ValueError("shift out of range")
    return np.array(m16, dtype=np.int64), np.array(t, dtype=np.int64)


def run_layout(rows: np.ndarray) -> np.ndarray:
    """Each row (one dot-product run) with its groups of four stored as [w0 w2 w1 w3], the tail
    in natural order: what tg_dot16 reads (SXTB16 then gives the pairs (w0,w1), (w2,w3))."""
    rows = np.array(rows, dtype=np.int8, copy=True)
    n4 = rows.shape[-1] // 4 * 4
    g = rows[..., :n4].reshape(*rows.shape[:-1], -1, 4)
    rows[..., :n4] = g[..., [0, 2, 1, 3]].reshape(*rows.shape[:-1], n4)
    return rows


def _common(op: Op, x: Tensor, w: Tensor, y: Tensor, b: Tensor | None, channels: int,
            activation: Activation) -> tuple[dict, tuple[ConstArray, ...]]:
    mults, shifts = channel_multipliers(op, x, w, y, channels)
    bias, has_bias, acc64 = bias16(op, b, channels)
    try:
        m_arr, s_arr = requant_arrays(mults, shifts, acc64)
    except ValueError:
        raise unsupported(op, "the requantisation scale is outside TFLite's range (a near-constant "
                          "output?)", "recalibrate with representative data that exercises the layer") from None
    try:
        act_min, act_max = activation_range_int16(activation, y.scale)
    except ValueError:
        raise unsupported(op, f"fused activation {activation.value}") from None
    except OverflowError:
        raise unsupported(op, f"output scale {y.scale:.4g} is too small for the fused "
                          f"{activation.value}: its bounds overflow int32 (undefined in "
                          "TFLite-Micro)", "check the output tensor's scale") from None
    params = dict(act_min=act_min, act_max=act_max, acc64=int(acc64), has_bias=int(has_bias))
    consts = (ConstArray("bias", "int64_t", bias), ConstArray("mult", "int32_t", m_arr),
              ConstArray("shift", "int32_t", s_arr))
    return params, consts


def lower_conv(op: Op, graph: Graph, geometry) -> Lowered:
    """CONV_2D / DEPTHWISE_CONV_2D with an int16 input; `geometry` is conv.py's shape check."""
    ins = graph.op_inputs(op) + [None] * 3
    x = need_int16_activation(op, ins[0], "input")
    w = need_const(op, ins[1], "filter", "int8")
    y = need_int16_activation(op, graph.op_outputs(op)[0], "output")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"expects 4-D NHWC tensors, got input {x.shape}, filter {w.shape}")
    need_batch_one(op, x)
    geo = geometry(op, x, w, y, op.attrs)
    out_c = geo["out_c"]
    depthwise = op.type == OpType.DEPTHWISE_CONV_2D
    if depthwise:
        mult = out_c // geo["in_c"] if geo["in_c"] else 0
        if w.shape[0] != 1 or w.shape[3] != out_c or mult * geo["in_c"] != out_c:
            raise unsupported(op, f"depthwise filter {w.shape} does not match {geo['in_c']} input "
                              f"and {out_c} output channels")
        weights = w.data.reshape(-1)                          # [KH][KW][OC], TFLite's order
        macs = geo["out_h"] * geo["out_w"] * out_c * geo["k_h"] * geo["k_w"]
    else:
        if w.shape[0] != out_c or w.shape[3] != geo["in_c"]:
            raise unsupported(op, f"filter {w.shape} does not match input channels {geo['in_c']} "
                              f"and output channels {out_c} (grouped convolution)")
        mult = 1
        run = geo["k_w"] * geo["in_c"] if geo["dil_w"] == 1 else geo["in_c"]
        weights = run_layout(w.data.reshape(-1, run)).reshape(-1)
        macs = geo["out_h"] * geo["out_w"] * out_c * geo["k_h"] * geo["k_w"] * geo["in_c"]
    params, consts = _common(op, x, w, y, ins[2], out_c, op.attrs.activation)
    params.update(geo, depth_mult=mult, fn="tg_depthwise16_inline" if depthwise else "tg_conv2d16_inline")
    return Lowered("conv16", ("tg_conv16", "tg_simd"), params,
                   (ConstArray("weights", "int8_t", weights),) + consts, macs, notes=("16x8",))


def lower_fc(op: Op, graph: Graph) -> Lowered:
    ins = graph.op_inputs(op) + [None] * 3
    x = need_int16_activation(op, ins[0], "input")
    w = need_const(op, ins[1], "weights", "int8")
    y = need_int16_activation(op, graph.op_outputs(op)[0], "output")
    if len(w.shape) != 2:
        raise unsupported(op, f"weights have shape {w.shape}, expected [out, in]")
    out_depth, in_depth = w.shape
    if in_depth == 0 or x.size % in_depth or y.size != x.size // in_depth * out_depth:
        raise unsupported(op, f"input {x.shape}, weights {w.shape} and output {y.shape} disagree")
    params, consts = _common(op, x, w, y, ins[2], out_depth, op.attrs.activation)
    check_bias_scale(op, x, w, ins[2], y)   # Prepare checks it for int16 as for int8
    params.update(batches=x.size // in_depth, in_depth=in_depth, out_depth=out_depth)
    weights = run_layout(w.data).reshape(-1)
    return Lowered("fc16", ("tg_conv16", "tg_simd"), params,
                   (ConstArray("weights", "int8_t", weights),) + consts,
                   macs=x.size // in_depth * in_depth * out_depth, notes=("16x8",))
