"""FULLY_CONNECTED (int8, per-tensor or per-channel weights, optional int32 bias)."""
from __future__ import annotations

import numpy as np

from ..ir import FullyConnectedAttrs, Graph, Op, OpType
from . import conv16
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, param, unsupported, weights
from .conv import rq_consts, rq_fast_ok
from .common import (activation_bounds, bias_values, channel_multipliers, check_bias_scale,
                     folded_bias, need_const, need_int8_activation)

SUPPORT = {
    OpType.FULLY_CONNECTED: OpSupport(("int8", "int16"), "per-tensor or per-channel weights, optional "
                                      "bias, keep_num_dims; int16: 16x8 (ops/conv16.py)",
                                      inputs=(act(), weights("weights"),
                                              param("bias", "int32", "int64", optional=True))),
}


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    """--optimize speed stores the weights pre-widened to int16 with the bias and rq records in
    the same stream (twice the flash; on the DSP path 11 instructions per 16 MACs with the input
    expanded into the scratch, 25 per 32 in the lean variant without); size keeps them int8."""
    ins = graph.op_inputs(op) + [None] * 3
    if ins[0] is not None and ins[0].dtype == "int16":
        return conv16.lower_fc(op, graph)   # 16x8: int16 activations
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
    params["wide"] = int(opts.optimize == "speed")
    params["q15"], params["scratch_bytes"] = (wide_q15 if params["wide"] else fc_q15)(in_depth, out_depth)
    rq = rq_consts(params["rq_fast"], mults, shifts, y.zero_point)
    if params["wide"]:     # bias and rq records travel in the weight stream
        recs = rq[0].values.reshape(-1, 3) if rq else None
        consts = (ConstArray("wide", "uint32_t", widened_rows(weights, folded, recs)),)
    else:
        consts = (ConstArray("weights", "int8_t", weights.ravel()),
                  ConstArray("bias_folded", "int32_t", folded)) + rq
    consts += (ConstArray("mult", "int32_t", np.array(mults, dtype=np.int64)),
               ConstArray("shift", "int32_t", np.array(shifts, dtype=np.int64)))
    lean = None
    if params["scratch_bytes"]:    # without the expanded input: no scratch
        lean = Lowered("fully_connected", ("tg_fully_connected", "tg_simd"),
                       dict(params, q15=0, scratch_bytes=0), consts, macs=batches * in_depth * out_depth)
    return Lowered("fully_connected", ("tg_fully_connected", "tg_simd"), params, consts,
                   macs=batches * in_depth * out_depth, scratch_bytes=params["scratch_bytes"],
                   lean=lean)


# Largest input the DSP path expands to int16 lanes (scratch: 2 bytes per input byte).
FC_Q15_MAX = 1024


def fc_q15(in_depth: int, out_depth: int) -> tuple[int, int]:
    """(q15, scratch bytes) of tg_fully_connected.h's DSP route: worth expanding the input once
    when at least 8 output rows reuse it."""
    n4 = in_depth & ~3
    if in_depth > FC_Q15_MAX or out_depth < 8 or not n4:
        return 0, 0
    return 1, 2 * n4


def wide_q15(in_depth: int, out_depth: int) -> tuple[int, int]:
    """(q15, scratch bytes) of the wide route (--optimize speed): the input expanded once to int16
    lanes, every group of four inputs (the last one zero-padded) two words, when at least two
    blocks of four rows reuse it (11 instructions per 16 MACs instead of 13)."""
    if in_depth > FC_Q15_MAX or out_depth < 8:
        return 0, 0
    return 1, 8 * (-(-in_depth // 4))


def widened_rows(weights: np.ndarray, bias: np.ndarray | None = None,
                 rq: np.ndarray | None = None) -> np.ndarray:
    """[out][in] int8 weights as tg_fully_connected.h's wide route reads them: blocks of four rows
    (the last one padded with zero rows), each one stream: the four rows' folded bias (4 words),
    then a run of 8-word groups, one per four inputs (the last one zero-padded): row k's int16
    pairs [w[4g], w[4g+2]] and [w[4g+1], w[4g+3]] at words 2k and 2k + 1, the lanes SXTB16 makes of
    the input word (tg_dot_4x1_q15's layout); then, with rq_fast, the four rows' tg_rq_fast records
    (3 words each). One pointer walks the whole layer: no other array is live across the inner
    loop, whose registers are all taken."""
    out_depth, in_depth = weights.shape
    rows, cols = -(-out_depth // 4) * 4, -(-in_depth // 4) * 4
    w = np.zeros((rows, cols), dtype=np.int64)
    w[:out_depth, :in_depth] = weights
    w = w.reshape(rows // 4, 4, cols // 4, 2, 2)           # block, k, group, lane (hi/lo), parity
    w = w.transpose(0, 2, 1, 4, 3) & 0xFFFF                # block, group, k, parity, lane
    w = (w[..., 0] | (w[..., 1] << 16)).reshape(rows // 4, -1)
    parts = []
    if bias is not None:
        b = np.zeros(rows, dtype=np.int64)
        b[:out_depth] = bias
        parts.append(b.reshape(rows // 4, 4))
    parts.append(w)
    if rq is not None:
        r = np.zeros((rows, 3), dtype=np.int64)
        r[:out_depth] = rq
        parts.append(r.reshape(rows // 4, 12))
    return (np.concatenate(parts, axis=1) & 0xFFFFFFFF).ravel().astype(np.uint32)
