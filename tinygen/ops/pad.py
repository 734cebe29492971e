"""PAD and PADV2, int8, constant mode. The pad value is what TFLite-Micro writes: the output zero
point for PAD, the given int8 constant for PADV2. Unpadded inner axes are merged into the axis
outside them, so the kernel copies whole contiguous rows (at most 4 loops)."""
from __future__ import annotations

from ..ir import Graph, Op, OpType
from .base import Lowered, OpSupport, Port, act, param, unsupported
from .common import need_int8_activation

_PADDINGS = param("paddings", "int32", "int64")
SUPPORT = {
    OpType.PAD: OpSupport(("int8",), "constant mode, up to 4 axes", inputs=(act(), _PADDINGS)),
    OpType.PADV2: OpSupport(("int8",), "constant mode with a given value, up to 4 axes",
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


def lower(op: Op, graph: Graph) -> Lowered:
    ins = graph.op_inputs(op)
    x = need_int8_activation(op, ins[0], "input")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    p = ins[1] if len(ins) > 1 else None
    if p is None or not p.is_const or p.dtype not in ("int32", "int64"):
        raise unsupported(op, "paddings must be a constant int32 tensor")
    rank = len(x.shape)
    table = p.data.reshape(-1).tolist()
    if len(table) != 2 * rank:
        raise unsupported(op, f"paddings have {len(table)} values for a rank-{rank} input")
    pads = [(int(table[2 * d]), int(table[2 * d + 1])) for d in range(rank)]
    if any(b < 0 or a < 0 for b, a in pads):
        raise unsupported(op, "negative paddings (cropping)")
    want = tuple(e + b + a for e, (b, a) in zip(x.shape, pads))
    if tuple(y.shape) != want:
        raise unsupported(op, f"output shape {y.shape} does not match padded shape {want}")
    if op.type == OpType.PADV2 and len(ins) > 2 and ins[2] is not None:
        c = ins[2]
        if not c.is_const or c.dtype != "int8" or c.size != 1:
            raise unsupported(op, "the pad value must be a constant int8 scalar")
        value = int(c.data.ravel()[0])
    else:
        value = int(y.zero_point)
    params = dict(pad_loops(op, x.shape, pads), value=value)
    return Lowered("pad", ("tg_pad",), params)
