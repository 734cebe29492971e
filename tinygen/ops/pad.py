"""PAD and PADV2, constant mode, int8 / int16 / int32 (TFLite-Micro's types). The pad value is
what TFLite-Micro writes: for int8 the output zero point (PAD) or the given constant (PADV2, whose
quantization must be the output's); for int16 and int32 zero or the given constant. Unpadded inner
axes are merged into the axis outside them, so the kernel copies whole contiguous rows (at most
4 loops)."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType
from .base import Lowered, LowerOptions, OpSupport, Port, act, param, unsupported
from .movement import const_ints, need_data, same_type

DTYPES = ("int8", "int16", "int32")
_PADDINGS = param("paddings", "int32", "int64")
SUPPORT = {
    OpType.PAD: OpSupport(DTYPES, "constant mode, up to 4 padded axes", inputs=(act(), _PADDINGS)),
    OpType.PADV2: OpSupport(DTYPES, "constant mode with a given value, up to 4 padded axes",
                            inputs=(act(), _PADDINGS, Port("value", None, const=True,
                                                            optional=True, quantized=False))),
}


def pad_loops(op: Op, shape: tuple, pads: list[tuple[int, int]]) -> dict:
    dims: list[list[int]] = []
    for extent, (before, after) in zip(shape, pads):
        if dims and before == 0 and after == 0:
            dims[-1] = [dims[-1][0] * extent, dims[-1][1] * extent, dims[-1][2] * extent]
        else:
            dims.append([extent, before, after])
    if len(dims) > 4:
        raise unsupported(op, f"padding of shape {shape} needs {len(dims)} loops (max 4)")
    while len(dims) < 4:
        dims.insert(0, [1, 0, 0])
    return dict(in_shape=[d[0] for d in dims], before=[d[1] for d in dims],
                out_shape=[d[0] + d[1] + d[2] for d in dims])


def pad_value(op: Op, x, y, c) -> int:
    """The value TFLite-Micro pads with (its PadEval / PadPrepare)."""
    if c is None:
        return int(y.zero_point) if x.dtype == "int8" else 0
    if not c.is_const or c.dtype != x.dtype or c.size != 1:
        raise unsupported(op, f"the pad value is {'a constant ' if c.is_const else ''}{c.dtype}"
                          f"{list(c.shape)}; TFLite-Micro takes a constant {x.dtype} scalar",
                          "re-convert so that the value has the input's type")
    if x.dtype == "int8" and (c.quant is None or (c.scale, c.zero_point) != (y.scale, y.zero_point)):
        raise unsupported(op, "the pad value's quantization differs from the output's",
                          "TFLite-Micro refuses this too")
    return int(np.asarray(c.data).ravel()[0])


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins = graph.op_inputs(op)
    x = need_data(op, ins[0], "input", DTYPES)
    y = graph.op_outputs(op)[0]
    same_type(op, x, y)
    if x.dtype == "int8" and (y.quant is None or not y.quant.scale):
        raise unsupported(op, f"output tensor {y.index} has no quantization parameters")
    table = const_ints(op, ins[1] if len(ins) > 1 else None, "paddings")
    rank = len(x.shape)
    if len(table) != 2 * rank:
        raise unsupported(op, f"paddings have {len(table)} values for a rank-{rank} input")
    pads = [(table[2 * d], table[2 * d + 1]) for d in range(rank)]
    if any(b < 0 or a < 0 for b, a in pads):
        raise unsupported(op, "negative paddings (cropping)")
    want = tuple(e + b + a for e, (b, a) in zip(x.shape, pads))
    if tuple(y.shape) != want:
        raise unsupported(op, f"output shape {y.shape} does not match padded shape {want}")
    c = ins[2] if op.type == OpType.PADV2 and len(ins) > 2 else None
    params = dict(pad_loops(op, x.shape, pads), value=pad_value(op, x, y, c),
                  elem=np.dtype(x.dtype).itemsize)
    return Lowered("pad", ("tg_pad",), params)
