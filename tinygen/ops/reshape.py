"""RESHAPE, SQUEEZE, EXPAND_DIMS: the bytes do not move, so the output aliases the input.

No code is emitted and no memory is planned for the output (planner: alias). Any element type
TFLite-Micro's kernels take (they copy bytes)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from .base import Lowered, LowerOptions, OpSupport, Port, act, unsupported
from .movement import need_data

DTYPES = ("int8", "int16", "int32")


def _fold(op: Op, ins, outs):
    """A constant input (a shape vector, a weight) reshaped: same bytes, the output's shape."""
    if not ins or ins[0] is None or not ins[0].is_const or len(outs) != 1:
        return None
    x, y = ins[0], outs[0]
    if x.size != y.size or x.dtype != y.dtype or x.quant != y.quant:
        return None
    return [np.asarray(x.data).reshape(y.shape)]


_NOTE = "no code, no copy: the output aliases the input"
# The new shape or axis may be computed at run time; the output's static shape is what counts.
_SHAPE = Port("shape", None, const=None, optional=True, quantized=False)
SUPPORT = {
    OpType.RESHAPE: OpSupport(DTYPES, _NOTE, fold=_fold, inputs=(act(), _SHAPE)),
    OpType.SQUEEZE: OpSupport(DTYPES, _NOTE, fold=_fold, inputs=(act(),)),
    OpType.EXPAND_DIMS: OpSupport(DTYPES, _NOTE, fold=_fold,
                                  inputs=(act(), Port("axis", None, const=None, quantized=False))),
}


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    x = need_data(op, graph.op_inputs(op)[0], "input", DTYPES)
    y = graph.op_outputs(op)[0]
    if y.size != x.size:
        raise unsupported(op, f"reshapes {x.size} values into {y.size}")
    if y.dtype != x.dtype:
        raise unsupported(op, f"output is {y.dtype}, input {x.dtype}; a reshape keeps the type")
    if x.quant != y.quant and (x.quant is None or y.quant is None or
                               (y.scale, y.zero_point) != (x.scale, x.zero_point)):
        raise unsupported(op, "output quantization differs from the input's",
                          "a reshape cannot requantize; add a QUANTIZE op")
    return Lowered("alias", (), {}, alias=True)
