"""PACK: N tensors of one shape stacked along a new axis; input k fills every N-th block.

TFLite-Micro's kernel copies bytes (no requantization) for the types below; a constant input is
copied from flash."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType, PackAttrs
from .base import LowerOptions, OpSupport, Port, unsupported
from .movement import Loop, Move, check_shape, folder, lowered, need_data, same_type

DTYPES = ("int8", "int16", "int32")


def plan(op: Op, ins, outs):
    a: PackAttrs = op.attrs
    y = outs[0]
    if any(t is None for t in ins) or not ins:
        raise unsupported(op, "an input is missing")
    x = ins[0]
    rank = len(y.shape)
    axis = a.axis + rank if a.axis < 0 else a.axis
    n = len(ins)
    if not 0 <= axis < rank or a.count not in (n, 0):
        raise unsupported(op, f"axis {a.axis}, values_count {a.count} for {n} inputs of rank "
                          f"{rank - 1}")
    for t in ins:
        check_shape(op, t, x.shape, f"input {t.index}")
    check_shape(op, y, x.shape[:axis] + (n,) + x.shape[axis:])
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis:], dtype=np.int64))
    return [Move((Loop(outer, inner, n * inner),), run=inner, dst=k * inner, src_arg=k)
            for k in range(n)]


SUPPORT = {OpType.PACK: OpSupport(DTYPES, "any axis, constant inputs from flash",
                                  fold=folder(plan), repeat_inputs=True,
                                  # bytes are copied; a constant input may carry no quantization
                                  inputs=(Port("input", const=None, quantized=False),))}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    y = outs[0]
    if y.dtype not in DTYPES:
        raise unsupported(op, f"output tensor {y.index} is {y.dtype}; TFLite-Micro's kernel takes "
                          f"{', '.join(DTYPES)}")
    if all(t is None or t.is_const for t in ins):
        raise unsupported(op, "every input is a constant", "let the converter fold it")
    for k, t in enumerate(ins):
        if t is not None and not t.is_const:
            need_data(op, t, f"input {k}", DTYPES)
        if t is not None:
            same_type(op, t, y, "output")
    return lowered(op, graph, plan(op, ins, outs))
