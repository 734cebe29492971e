"""RESHAPE, SQUEEZE, EXPAND_DIMS: the bytes do not move, so the output aliases the input.

No code is emitted and no memory is planned for the output (planner: alias)."""
from __future__ import annotations

from ..ir import Graph, Op, OpType
from .base import Lowered, Port, Signature, act, unsupported
from .common import need_int8_activation

OP_TYPES = (OpType.RESHAPE, OpType.SQUEEZE, OpType.EXPAND_DIMS)
# The new shape or axis may be computed at run time; the output's static shape is what counts.
_SHAPE = Port("shape", None, const=None, optional=True, quantized=False)
SIGNATURE = {
    OpType.RESHAPE: Signature(inputs=(act("input"), _SHAPE)),
    OpType.SQUEEZE: Signature(inputs=(act("input"),)),
    OpType.EXPAND_DIMS: Signature(inputs=(act("input"), Port("axis", None, const=None, quantized=False))),
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
