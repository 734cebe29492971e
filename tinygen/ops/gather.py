"""GATHER: slices of the input picked by positions along `axis`, with batch_dims.

Constant positions (the common case: a fixed channel or time-step selection) become one move
per batch whose table lists the chosen slices; they are checked here, once. Positions computed
at run time go to tg_gather(), which checks each one as TFLite-Micro does and returns an error
for a position outside the axis. TFLite-Micro takes int32 positions and the types below."""
from __future__ import annotations

import numpy as np

from ..ir import GatherAttrs, Graph, Op, OpType
from .base import ConstArray, Lowered, LowerOptions, OpSupport, Port, param, unsupported
from .movement import Loop, Move, check_shape, folder, lowered, need_data, same_type

DTYPES = ("int8",)


def geometry(op: Op, x, coords, y) -> tuple[int, int, int, int, int, int]:
    """(axis, batch_dims, batch, outer, axis size, inner, coords per batch) checked as
    TFLite-Micro's GatherPrepare does; the output shape as it computes it."""
    a: GatherAttrs = op.attrs
    rank, crank = len(x.shape), len(coords.shape)
    axis = a.axis + rank if a.axis < 0 else a.axis
    bd = a.batch_dims + crank if a.batch_dims < 0 else a.batch_dims
    if not 0 <= axis < rank:
        raise unsupported(op, f"axis {a.axis} for a rank-{rank} input")
    if not (0 <= bd <= axis and bd < rank and bd <= crank) or x.shape[:bd] != coords.shape[:bd]:
        raise unsupported(op, f"batch_dims {a.batch_dims} does not fit input {list(x.shape)} "
                          f"and positions {list(coords.shape)}", "TFLite-Micro refuses this too")
    check_shape(op, y, x.shape[:axis] + coords.shape[bd:] + x.shape[axis + 1:])
    prod = lambda s: int(np.prod(s, dtype=np.int64))  # noqa: E731
    return (prod(x.shape[:bd]), prod(x.shape[bd:axis]), x.shape[axis], prod(x.shape[axis + 1:]),
            prod(coords.shape[bd:]), bd)


def plan(op: Op, ins, outs):
    x, coords, y = ins[0], ins[1], outs[0]
    if coords is None or not coords.is_const or coords.dtype not in ("int32", "int64"):
        raise unsupported(op, "positions are not a constant int32 tensor")
    batch, outer, size, inner, n, _ = geometry(op, x, coords, y)
    pos = np.asarray(coords.data, dtype=np.int64).reshape(batch, n)
    if pos.size and (pos.min() < 0 or pos.max() >= size):
        raise unsupported(op, f"a position ({int(pos.min())}..{int(pos.max())}) is outside the "
                          f"axis of {size}", "TFLite-Micro returns an error for it at run time")
    return [Move((Loop(outer, size * inner, n * inner),
                  Loop(n, tuple(int(p) * inner for p in pos[b]), inner)),
                 run=inner, src=b * outer * size * inner, dst=b * outer * n * inner)
            for b in range(batch)]


SUPPORT = {OpType.GATHER: OpSupport(DTYPES, "any axis and batch_dims; int32 positions, "
                                    "constant or computed (checked at run time)",
                                    fold=folder(plan),
                                    # the table may be a constant (an embedding, read from flash);
                                    # bytes are moved, so its quantization is not read
                                    inputs=(Port("input", const=None, quantized=False),
                                            Port("positions", ("int32", "int64"), const=None,
                                                 quantized=False)))}


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    x, coords, y = ins[0], ins[1] if len(ins) > 1 else None, outs[0]
    if x is None or coords is None:
        raise unsupported(op, "an input is missing")
    if y.dtype not in DTYPES:
        raise unsupported(op, f"output tensor {y.index} is {y.dtype}; TFLite-Micro's kernel takes "
                          f"{', '.join(DTYPES)}")
    same_type(op, x, y)
    if coords.is_const:
        need_data(op, x, "input", DTYPES)
        return lowered(op, graph, plan(op, ins, outs))
    if coords.dtype != "int32":
        raise unsupported(op, f"positions are {coords.dtype}; TFLite-Micro takes int32")
    batch, outer, size, inner, n, _ = geometry(op, x, coords, y)
    itemsize = np.dtype(y.dtype).itemsize
    params = dict(batch=batch, outer=outer, size=size, inner=inner * itemsize, coords=n,
                  table=x.is_const)
    consts = ()
    if x.is_const:   # an embedding table: the rows are read from flash
        consts = (ConstArray("table", "int8_t", np.asarray(x.data).reshape(-1).view(np.int8)),)
    return Lowered("gather", ("tg_gather",), params, consts)
