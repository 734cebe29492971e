"""CONV_2D and DEPTHWISE_CONV_2D (int8 activations, int8 per-channel weights, int32 bias).

A convolution whose height (or width) is 1 on input, filter and output is a Conv1D in disguise
(TFLite expresses Conv1D as RESHAPE + CONV_2D): it goes to the dedicated 1D kernel.
"""
from __future__ import annotations

import numpy as np

from ..ir import ConvAttrs, Graph, Op, OpType
from .base import ConstArray, Lowered, unsupported
from .common import (activation_bounds, bias_values, channel_multipliers, check_out_size,
                     expected_out_size, folded_bias, need_batch_one, need_const,
                     need_int8_activation, padding_before)

OP_TYPES = (OpType.CONV_2D, OpType.DEPTHWISE_CONV_2D)


def _geometry(op: Op, x, w, y, a: ConvAttrs) -> dict:
    _, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = y.shape
    k_h, k_w = w.shape[1], w.shape[2]
    if min(a.stride_h, a.stride_w, a.dilation_h, a.dilation_w) < 1:
        raise unsupported(op, "stride and dilation must be at least 1")
    check_out_size(op, "height", out_h, expected_out_size(a.padding, in_h, a.stride_h, a.dilation_h, k_h))
    check_out_size(op, "width", out_w, expected_out_size(a.padding, in_w, a.stride_w, a.dilation_w, k_w))
    return dict(
        in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c, k_h=k_h, k_w=k_w,
        stride_h=a.stride_h, stride_w=a.stride_w, dil_h=a.dilation_h, dil_w=a.dilation_w,
        pad_top=padding_before(a.padding, in_h, out_h, a.stride_h, a.dilation_h, k_h),
        pad_left=padding_before(a.padding, in_w, out_w, a.stride_w, a.dilation_w, k_w))


def lower(op: Op, graph: Graph) -> Lowered:
    ins = graph.op_inputs(op) + [None] * 3
    x = need_int8_activation(op, ins[0], "input")
    w = need_const(op, ins[1], "filter", "int8")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"expects 4-D NHWC tensors, got input {x.shape}, filter {w.shape}")
    need_batch_one(op, x)
    a: ConvAttrs = op.attrs
    geo = _geometry(op, x, w, y, a)
    out_c = geo["out_c"]
    if op.type == OpType.CONV_2D:
        if w.shape[0] != out_c or w.shape[3] != geo["in_c"]:
            raise unsupported(op, f"filter {w.shape} does not match input channels {geo['in_c']} "
                              f"and output channels {out_c} (grouped convolution)",
                              "use groups=1 or a depthwise convolution")
        weights = w.data.reshape(out_c, -1)                       # [OC][KH][KW][IC], as read
    else:
        if w.shape[0] != 1 or w.shape[3] != out_c:
            raise unsupported(op, f"depthwise filter has shape {w.shape}")
        mult = out_c // geo["in_c"] if geo["in_c"] else 0
        if mult * geo["in_c"] != out_c or (a.depth_multiplier not in (0, mult)):
            raise unsupported(op, f"output channels {out_c} are not input channels "
                              f"{geo['in_c']} x depth multiplier {a.depth_multiplier}")
        geo["depth_mult"] = mult
        weights = np.ascontiguousarray(w.data.reshape(-1, out_c).T)  # [OC][KH*KW]: read order

    mults, shifts = channel_multipliers(op, x, w, y, out_c)
    bias = bias_values(op, ins[2], out_c)
    folded = folded_bias(op, bias, weights, x.zero_point)
    act_min, act_max = activation_bounds(op, y, a.activation)
    params = dict(geo, in_offset=-x.zero_point, out_offset=y.zero_point, act_min=act_min,
                  act_max=act_max)
    consts = (ConstArray("weights", "int8_t", weights.ravel()),
              ConstArray("bias", "int32_t", bias),
              ConstArray("bias_folded", "int32_t", folded),
              ConstArray("mult", "int32_t", np.array(mults, dtype=np.int64)),
              ConstArray("shift", "int32_t", np.array(shifts, dtype=np.int64)))
    macs = geo["out_h"] * geo["out_w"] * out_c * geo["k_h"] * geo["k_w"] * (
        geo["in_c"] if op.type == OpType.CONV_2D else 1)

    if op.type == OpType.DEPTHWISE_CONV_2D:
        return Lowered("depthwise", ("tg_depthwise",), params, consts, macs)
    one_d = _as_1d(geo)
    if one_d is not None:
        return Lowered("conv1d", ("tg_conv",), dict(params, **one_d), consts, macs,
                       notes=("1-D kernel",))
    return Lowered("conv2d", ("tg_conv",), params, consts, macs)


def _as_1d(g: dict) -> dict | None:
    """Parameters of the 1D kernel when one spatial axis is trivially 1 everywhere."""
    if g["in_h"] == 1 and g["k_h"] == 1 and g["out_h"] == 1:
        return dict(len_in=g["in_w"], len_out=g["out_w"], k=g["k_w"], stride=g["stride_w"],
                    dil=g["dil_w"], pad=g["pad_left"])
    if g["in_w"] == 1 and g["k_w"] == 1 and g["out_w"] == 1:
        return dict(len_in=g["in_h"], len_out=g["out_h"], k=g["k_h"], stride=g["stride_h"],
                    dil=g["dil_h"], pad=g["pad_top"])
    return None
