"""TRANSPOSE_CONV (Keras Conv2DTranspose / Conv1DTranspose), int8 and 16x8.

Inputs are (output_shape, filter [OC][KH][KW][IC], input, optional bias). TFLite-Micro has no
dynamic tensors and ignores output_shape: the output tensor's static shape rules. tinygen does
the same where output_shape is a constant (it must equal that shape). Where the model takes it as
a runtime int32 input (TFLite-Micro's SEANet models do), the generated code accepts the call only
when the four values equal the static output shape (any other value could not be honoured by a
static model) and returns an error otherwise; the values are otherwise unused.
Padding as TFLite-Micro: ComputePaddingHeightWidth run from the output size (the transposed
direction). int8: int32 bias, input/output zero points; int16: int64 bias (an int16 one is
widened, as TFLite-Micro does), zero points 0. Per-channel multipliers as for CONV_2D.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..ir import Graph, Op, OpType, TransposeConvAttrs
from .base import ConstArray, Lowered, LowerOptions, OpSupport, Port, act, param, unsupported, weights
from .common import (activation_bounds, channel_multipliers, check_window, expected_out_size,
                     folded_bias, need_batch_one, need_const, need_int8_activation, padding_before)
from .conv16 import need_int16_activation, requant_arrays, run_layout

SUPPORT = {
    OpType.TRANSPOSE_CONV: OpSupport(("int8", "int16"), "any stride, SAME/VALID, per-channel "
                                     "weights; output_shape constant or a runtime input equal to "
                                     "the static output shape",
                                     inputs=(Port("output_shape", ("int32",), const=None,
                                                  quantized=False),
                                             weights("filter"), act(),
                                             param("bias", "int32", "int64", "int16",
                                                   optional=True))),
}


def _shape_input(op: Op, s, y) -> bool:
    """True when output_shape is a runtime input (checked by the generated code)."""
    if s is None or s.dtype != "int32" or s.size != 4:
        raise unsupported(op, "output_shape must be an int32 tensor of 4 values")
    if s.is_const:
        if tuple(int(v) for v in s.data.ravel()) != tuple(y.shape):
            raise ModelError(f"op {op.index} (TRANSPOSE_CONV): output_shape "
                             f"{s.data.ravel().tolist()} differs from the output tensor's shape "
                             f"{list(y.shape)}; the file is inconsistent")
        return False
    return True


def _bias(op: Op, b, channels: int, int16: bool) -> tuple[np.ndarray, bool]:
    if b is None:
        return np.zeros(channels, dtype=np.int64), False
    allowed = ("int64", "int16") if int16 else ("int32",)
    if not b.is_const or b.dtype not in allowed or b.size != channels:
        raise unsupported(op, f"bias tensor {b.index} ({b.dtype}, {b.size} values) must be a "
                          f"constant {' or '.join(allowed)} of {channels} values")
    return b.data.astype(np.int64).ravel(), True


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins = graph.op_inputs(op) + [None] * 4
    y = graph.op_outputs(op)[0]
    int16 = ins[2] is not None and ins[2].dtype == "int16"
    need = need_int16_activation if int16 else need_int8_activation
    x, y = need(op, ins[2], "input"), need(op, y, "output")
    w = need_const(op, ins[1], "filter", "int8")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"expects 4-D NHWC tensors, got input {x.shape}, filter {w.shape}")
    need_batch_one(op, x)
    shape_input = _shape_input(op, ins[0], y)
    _, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = y.shape
    oc, k_h, k_w, ic = w.shape
    a: TransposeConvAttrs = op.attrs
    if (oc, ic) != (out_c, in_c) or min(a.stride_h, a.stride_w) < 1:
        raise unsupported(op, f"filter {w.shape} does not match input {x.shape} / output {y.shape}")
    for axis, i, o, k, s in (("height", in_h, out_h, k_h, a.stride_h), ("width", in_w, out_w, k_w, a.stride_w)):
        check_window(op, axis, o, i, s, 1, k)   # the transposed direction: output -> input
        if expected_out_size(a.padding, o, s, 1, k) != i:
            raise ModelError(f"op {op.index} (TRANSPOSE_CONV): output {axis} {o} does not give "
                             f"input {axis} {i} with stride {s}; the file is inconsistent")
    pad_top = padding_before(a.padding, out_h, in_h, a.stride_h, 1, k_h)
    pad_left = padding_before(a.padding, out_w, in_w, a.stride_w, 1, k_w)
    mults, shifts = channel_multipliers(op, x, w, y, out_c)
    bias, has_bias = _bias(op, ins[3], out_c, int16)
    if int16:
        try:
            m_arr, s_arr = requant_arrays(mults, shifts, True)
        except ValueError:
            raise unsupported(op, "the requantisation scale is outside TFLite's range") from None
        act_min, act_max = activation_bounds(op, y, a.activation)   # zero point 0
        weights = run_layout(w.data.reshape(-1, in_c)).reshape(-1)
    else:
        m_arr, s_arr = np.array(mults, dtype=np.int64), np.array(shifts, dtype=np.int64)
        folded_bias(op, bias, w.data.reshape(out_c, -1), x.zero_point)  # the int32 sums' reach
        act_min, act_max = activation_bounds(op, y, a.activation)
        weights = w.data.reshape(-1)
    params = dict(in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c,
                  k_h=k_h, k_w=k_w, stride_h=a.stride_h, stride_w=a.stride_w, pad_top=pad_top,
                  pad_left=pad_left, in_offset=0 if int16 else -x.zero_point,
                  out_offset=0 if int16 else y.zero_point, act_min=act_min, act_max=act_max,
                  acc64=int(int16), has_bias=int(has_bias), int16=int16,
                  shape_input=shape_input, x_at=1 if shape_input else 0)
    consts = (ConstArray("weights", "int8_t", weights), ConstArray("bias", "int64_t", bias),
              ConstArray("mult", "int32_t", m_arr), ConstArray("shift", "int32_t", s_arr),
              ConstArray("shape", "int32_t", np.array(y.shape, dtype=np.int64)))
    macs = in_h * in_w * in_c * k_h * k_w * out_c
    return Lowered("transpose_conv", ("tg_transpose_conv", "tg_conv16", "tg_simd"), params,
                   consts, macs, notes=("16x8" if int16 else "int8",))
