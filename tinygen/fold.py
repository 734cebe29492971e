"""Compile-time evaluation of what the converter leaves computable before the first inference.

Keras exports without a fixed batch keep SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE chains whose
values never change; PyTorch exports carry constant CASTs and FILLs. An op whose plugin declares a
`fold` (OpSupport.fold) and whose inputs are all constants is evaluated here, exactly, in numpy;
its outputs become constant tensors and the op disappears, so nothing of it reaches the C. Ops
keep their original index, so messages still name the op as the model file numbers it.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .checks import check_arity
from .errors import ModelError, UnsupportedModel
from .ir import Graph, Op
from .ops import support_table


def fold_constants(graph: Graph) -> Graph:
    """The graph with every foldable op evaluated and removed."""
    table = support_table()
    tensors = list(graph.tensors)
    kept: list[Op] = []
    for op in graph.ops:
        spec = table.get(op.type)
        ins = [tensors[i] if i >= 0 else None for i in op.inputs]
        outs = [tensors[i] for i in op.outputs]
        values = None
        # (an op with no inputs or outputs at all is refused by lowering, in its own words)
        if spec is not None and spec.fold is not None and op.inputs and op.outputs:
            check_arity(graph, op, spec)    # a fold indexes its inputs: a corrupt op is refused
            values = spec.fold(op, ins, outs)
        if values is None:
            kept.append(op)
            continue
        for t, v in zip(outs, values):
            tensors[t.index] = _as_constant(op, t, v)
    if len(kept) == len(graph.ops):
        return graph
    folded = replace(graph, tensors=tuple(tensors), ops=tuple(kept))
    for idx in folded.outputs:
        if folded.tensor(idx).is_const:
            raise UnsupportedModel(f"model output tensor {idx} is a constant (it does not depend on "
                                   "the input); there is nothing to compute on the device")
    return folded


def _as_constant(op: Op, t, value: np.ndarray):
    value = np.asarray(value)
    if tuple(value.shape) != tuple(t.shape) or value.dtype != np.dtype(t.dtype):
        raise ModelError(f"op {op.index} ({op.name}): evaluates to {value.dtype}{list(value.shape)}"
                         f" but its output tensor {t.index} is {t.dtype}{list(t.shape)}; the file "
                         "is inconsistent")
    data = np.ascontiguousarray(value)
    data.setflags(write=False)
    return replace(t, data=data)
