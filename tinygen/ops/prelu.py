"""PRELU (prelu_common.cc): int8 or int16 input, int8 alpha (constant or not), broadcasting.

Multipliers QuantizeMultiplier(in_scale / out_scale) for x >= 0 and QuantizeMultiplier(in_scale *
alpha_scale / out_scale) for the product x * alpha below 0, in double as TFLite-Micro computes
them; the broadcast is collapsed into 4 loops (elementwise.broadcast_loops).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from .base import ConstArray, Lowered, LowerOptions, OpSupport, Port, act, unsupported
from .common import multiplier, unary_io
from .elementwise import broadcast_loops

SUPPORT = {
    OpType.PRELU: OpSupport(("int8", "int16"), "int8 alpha (constant or not), broadcasting (up "
                            "to 4 collapsed axes)",
                            inputs=(act(), Port("alpha", ("int8",), const=None))),
}


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    x, y = unary_io(op, graph, ("int8", "int16"))
    ins = graph.op_inputs(op)
    a = ins[1] if len(ins) > 1 else None
    if a is None or a.dtype != "int8" or a.quant is None or not a.quant.scale:
        raise unsupported(op, "alpha must be an int8 quantized tensor (TFLite-Micro requires it)")
    if a.quant.per_channel:
        raise unsupported(op, "alpha is per-channel quantized")
    f = lambda v: float(np.float32(v))  # noqa: E731
    m1, s1 = multiplier(op, f(x.scale) / f(y.scale), "input scale / output scale")
    m2, s2 = multiplier(op, f(x.scale) * f(a.scale) / f(y.scale), "alpha multiplier")
    params = dict(it=broadcast_loops(op, x.shape, a.shape, y.shape), input_offset=-x.zero_point,
                  alpha_offset=-a.zero_point, output_offset=y.zero_point, m1=m1, s1=s1, m2=m2,
                  s2=s2, alpha_const=a.is_const, fn=f"tg_prelu_{'s8' if x.dtype == 'int8' else 's16'}")
    consts = (ConstArray("alpha", "int8_t", np.asarray(a.data, dtype=np.int8).ravel()),) \
        if a.is_const else ()
    return Lowered("prelu", ("tg_prelu",), params, consts,
                   inplace=tuple(x.shape) == tuple(y.shape))
