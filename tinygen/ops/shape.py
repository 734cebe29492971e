"""SHAPE and FILL: shape arithmetic that exists only at compile time.

On static shapes SHAPE is a constant; FILL of constant dims and value is a constant. Both are
evaluated by tinygen/fold.py and never reach the C. A FILL whose value is computed at run time
has no kernel and is refused."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..ir import Graph, Op, OpType, Tensor
from .base import Lowered, LowerOptions, OpSupport, Port, const_values, unsupported


def _fold_shape(op: Op, ins: Sequence[Optional[Tensor]], outs: Sequence[Tensor]):
    if not ins or ins[0] is None or len(outs) != 1:
        return None
    return [np.array(ins[0].shape, dtype=outs[0].dtype)]


def _fold_fill(op: Op, ins: Sequence[Optional[Tensor]], outs: Sequence[Tensor]):
    values = const_values(ins)
    if values is None or len(values) != 2 or len(outs) != 1 or values[0] is None or values[1] is None:
        return None
    dims, value = values
    if dims.ndim != 1 or value.size != 1 or tuple(int(d) for d in dims) != tuple(outs[0].shape):
        return None
    return [np.full(outs[0].shape, value.reshape(()), dtype=outs[0].dtype)]


def _any(role: str) -> Port:
    return Port(role, None, const=None, quantized=False)


SUPPORT = {
    OpType.SHAPE: OpSupport((), "evaluated at compile time (static shapes)", fold=_fold_shape,
                            inputs=(_any("input"),), outputs=(_any("shape"),)),
    OpType.FILL: OpSupport((), "evaluated at compile time when dims and value are constant",
                           fold=_fold_fill, inputs=(_any("dims"), _any("value")),
                           outputs=(_any("output"),)),
}


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    raise unsupported(op, "its inputs are computed at run time; tinygen evaluates this op only "
                      "at compile time", "give it constant inputs (static shapes)")
