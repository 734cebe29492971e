"""RESHAPE, SQUEEZE, EXPAND_DIMS: the bytes do not move, so the output aliases the input.

No code is emitted and no memory is planned for the output (planner: alias)."""
from __future__ import annotations

from ..ir import Graph, Op, OpType
from .base import Lowered, OpSupport, unsupported
from .common import need_int8_activation

SUPPORT = {
    OpType.RESHAPE: OpSupport(("int8",), "no code, no copy: the output aliases the input"),
    OpType.SQUEEZE: OpSupport(("int8",), "no code, no copy: the output aliases the input"),
    OpType.EXPAND_DIMS: OpSupport(("int8",), "no code, no copy: the output aliases the input"),
}


def lower(op: Op, graph: Graph) -> Lowered:
    x = need_int8_activation(op, graph.op_inputs(op)[0], "input")
    y = graph.op_outputs(op)[0]
    if y.size != x.size:
        raise unsupported(op, f"reshapes {x.size} values into {y.size}")
    if y.quant is None or (y.scale, y.zero_point) != (x.scale, x.zero_point):
        raise unsupported(op, "output quantization differs from the input's",
                          "a reshape cannot requantize; add a QUANTIZE op")
    return Lowered("alias", (), {}, alias=True)
