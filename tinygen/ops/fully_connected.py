"""FULLY_CONNECTED (int8, per-tensor or per-channel weights, optional int32 bias)."""
from __future__ import annotations

import numpy as np

from ..ir import FullyConnectedAttrs, Graph, Op, OpType
from .base import ConstArray, Lowered, OpSupport, act, param, unsupported, weights
from .conv import rq_consts, rq_fast_ok
from .common import (activation_bounds, bias_values, channel_multipliers, check_bias_scale,
                     folded_bias, need_const, need_int8_activation)

SUPPORT = {
    OpType.FULLY_CONNECTED: OpSupport(("int8",), "per-tensor or per-channel weights, optional "
                                      "bias, keep_num_dims",
                                      inputs=(act(), weights("weights"), param("bias", optional=True))),
}


def lower(op: Op, graph: Graph) -> Lowered:
    ins = graph.op_inputs(op) + [None] * 3
    x = need_int8_activation(op, ins[0], "input")
    w = need_const(op, ins[1], "weights", "int8")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    if len(w.shape) != 2:
        raise unsupported(op, f"weights have shape {w.shape}, expected [out, in]")
    out_depth, in_depth = w.shape
    if in_depth == 0 or x.size % in_depth:
        raise unsupported(op, f"input of {x.size} values is not a multiple of the weights' "
                          f"depth {in_depth}")
    batches = x.size // in_depth
    if y.size != batches * out_depth:
        raise unsupported(op, f"output has {y.size} values, expected {batches * out_depth}")
    a: FullyConnectedAttrs = op.attrs
    mults, shifts = channel_multipliers(op, x, w, y, out_depth)
    bias = bias_values(op, ins[2], out_depth)
    check_bias_scale(op, x, w, ins[2], y)
    weights = w.data
    folded = folded_bias(op, bias, weights, x.zero_point)
    act_min, act_max = activation_bounds(op, y, a.activation)
    params = dict(batches=batches, in_depth=in_depth, out_depth=out_depth,
                  out_offset=y.zero_point, act_min=act_min, act_max=act_max,
                  rq_fast=int(rq_fast_ok(mults, shifts, bias, folded, in_depth)))
    consts = (ConstArray("weights", "int8_t", weights.ravel()),
              ConstArray("bias_folded", "int32_t", folded),
              ConstArray("mult", "int32_t", np.array(mults, dtype=np.int64)),
              ConstArray("shift", "int32_t", np.array(shifts, dtype=np.int64))
              ) + rq_consts(params["rq_fast"], mults, shifts, y.zero_point)
    return Lowered("fully_connected", ("tg_fully_connected", "tg_simd"), params, consts,
                   macs=batches * in_depth * out_depth)
