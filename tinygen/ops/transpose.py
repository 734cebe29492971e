"""TRANSPOSE: any permutation of up to 5 axes (TFLite-Micro's limit), as one move.

The output is walked in order and each output axis reads the input with the stride of the input
axis it comes from; axes that stay adjacent are merged, so NCHW -> NHWC copies whole rows of H*W
positions one channel apart. Types: those TFLite-Micro's kernel takes (int8, int16)."""
from __future__ import annotations

from ..ir import Graph, Op, OpType
from .base import LowerOptions, OpSupport, act, unsupported
from .movement import check_shape, const_ints, folder, index, Loop, lower_single, Move, strides_of
DTYPES = ("int8", "int16")
MAX_RANK = 5


def plan(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    rank = len(x.shape)
    perm = const_ints(op, ins[1] if len(ins) > 1 else None, "perm", ("int32", "int64"))
    if rank > MAX_RANK:
        raise unsupported(op, f"rank {rank}; TFLite-Micro transposes at most {MAX_RANK} axes")
    if sorted(p % rank if rank else p for p in perm) != list(range(rank)) or \
            any(not 0 <= p < rank for p in perm):
        raise unsupported(op, f"perm {perm} is not a permutation of {rank} axes")
    check_shape(op, y, [x.shape[p] for p in perm])
    src, dst = strides_of(x.shape), strides_of(y.shape)
    loops = tuple(Loop(x.shape[p], src[p], dst[d]) for d, p in enumerate(perm))
    return [Move(loops, run=1)]


SUPPORT = {OpType.TRANSPOSE: OpSupport(DTYPES, "any permutation of up to 5 axes; adjacent axes "
                                       "copied as runs", fold=folder(plan),
                                       inputs=(act(), index("perm")))}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    return lower_single(op, graph, DTYPES, plan)
