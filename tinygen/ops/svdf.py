"""SVDF (keyword spotters), integer: int8 input, int8 feature weights, int16 or int8 time weights
and activation state (a variable tensor: the state area), int32 bias, int8 output.

As TFLite-Micro's PrepareSvdf / EvalIntegerSvdfReference: the two effective scales are computed
in float32 (input * feature / state, state * time / output) and then quantized as doubles; the
fused activation is not applied on the integer path (TFLite-Micro clamps to int8 only), which
tinygen reproduces and notes.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType, SvdfAttrs
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, param, state, unsupported, weights
from .common import multiplier, need_const, need_int8_activation

SUPPORT = {
    OpType.SVDF: OpSupport(("int8",), "int8 input/output, int16 or int8 state and time weights, "
                           "any rank; fused activation ignored as TFLite-Micro's integer path does",
                           inputs=(act(), weights("feature weights", per_channel=False),
                                   weights("time weights", "int16", "int8", per_channel=False),
                                   param("bias", optional=True),
                                   state("activation state", "int16", "int8"))),
}


def _scale(a: float, b: float, c: float) -> float:
    """float32 arithmetic, as TFLite-Micro writes it, widened to double afterwards."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # a non-finite result is refused by common.multiplier, in one line
        return float(np.float32(np.float32(a) * np.float32(b)) / np.float32(c))


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins = graph.op_inputs(op) + [None] * 5
    a: SvdfAttrs = op.attrs
    x = need_int8_activation(op, ins[0], "input")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    wf = need_const(op, ins[1], "feature weights", "int8")
    s = ins[4]
    if s is None or not s.is_variable or s.dtype not in ("int16", "int8") or s.quant is None:
        raise unsupported(op, "the activation state must be an int16 or int8 variable tensor")
    wt = need_const(op, ins[2], "time weights", s.dtype)
    if len(x.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2:
        raise unsupported(op, f"expects 2-D input and weights, got {x.shape}, {wf.shape}, {wt.shape}")
    batches, n_in = x.shape
    n_filter, n_memory = wt.shape
    rank = a.rank
    if rank < 1 or n_filter % rank or wf.shape != (n_filter, n_in):
        raise unsupported(op, f"feature weights {wf.shape}, time weights {wt.shape} and rank "
                          f"{rank} disagree")
    n_unit = n_filter // rank
    if y.size != batches * n_unit or s.size != batches * n_filter * n_memory:
        raise unsupported(op, f"output {y.shape} or state {s.shape} do not match")
    bias = np.zeros(n_unit, dtype=np.int64)
    if ins[3] is not None:
        bias = need_const(op, ins[3], "bias", "int32").data.astype(np.int64).ravel()
        if bias.size != n_unit:
            raise unsupported(op, f"bias has {bias.size} values for {n_unit} units")
    m1, s1 = multiplier(op, _scale(x.scale, wf.scale, s.scale), "input x feature / state scale")
    m2, s2 = multiplier(op, _scale(s.scale, wt.scale, y.scale), "state x time / output scale")
    params = dict(batches=batches, n_in=n_in, n_filter=n_filter, n_memory=n_memory, rank=rank,
                  state16=int(s.dtype == "int16"), in_zp=x.zero_point, state_zp=s.zero_point,
                  out_zp=y.zero_point, mult1=m1, shift1=s1, mult2=m2, shift2=s2,
                  has_bias=int(ins[3] is not None),
                  wt_ctype="int16_t" if s.dtype == "int16" else "int8_t")
    consts = (ConstArray("w_feature", "int8_t", wf.data.ravel()),
              ConstArray("w_time", params["wt_ctype"], wt.data.ravel()),
              ConstArray("bias", "int32_t", bias))
    macs = batches * n_filter * (n_in + n_memory)
    return Lowered("svdf", ("tg_svdf",), params, consts, macs,
                   notes=(f"rank {rank}, memory {n_memory}, {s.dtype} state",))
