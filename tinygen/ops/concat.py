"""CONCATENATION, int8, any axis: the inputs' bytes are copied in turn, no arithmetic.

TFLite-Micro's int8 kernel does not requantize. The converter gives every input the output's
scale and zero point (inserting a QUANTIZE where a producer has fixed output parameters); a model
where they differ is refused by the installed TFLite-Micro (AllocateTensors fails; checked by
patching a converted model), so we refuse it too rather than guess. Fused activations other than
NONE are refused, as TFLite-Micro refuses them."""
from __future__ import annotations

import numpy as np

from ..ir import Activation, ConcatAttrs, Graph, Op, OpType
from .base import ConstArray, Lowered, OpSupport, Port, const_values, unsupported
from .common import need_int8_activation

def _fold(op: Op, ins, outs):
    """Constant inputs (shape vectors, mostly): the same bytes the kernel would copy."""
    values = const_values(ins)
    if values is None or len(outs) != 1 or any(v is None for v in values):
        return None
    y = outs[0]
    if any(t.quant != y.quant or t.dtype != y.dtype for t in ins):
        return None
    a: ConcatAttrs = op.attrs
    if a.activation != Activation.NONE or not -len(y.shape) <= a.axis < len(y.shape):
        return None
    try:
        return [np.concatenate(values, axis=a.axis)]
    except ValueError:   # shapes that do not concatenate: lowering reports them
        return None


SUPPORT = {
    OpType.CONCATENATION: OpSupport(("int8",), "any axis; inputs share the output's quantization",
                                    fold=_fold, inputs=(Port("input", const=None),),
                                    repeat_inputs=True),
}


def lower(op: Op, graph: Graph) -> Lowered:
    ins = graph.op_inputs(op)
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    a: ConcatAttrs = op.attrs
    if a.activation != Activation.NONE:
        raise unsupported(op, f"fused activation {a.activation.value}",
                          "TFLite-Micro supports only NONE here; apply the activation separately")
    rank = len(y.shape)
    axis = a.axis + rank if a.axis < 0 else a.axis
    if not 0 <= axis < rank:
        raise unsupported(op, f"axis {a.axis} for a rank-{rank} output")
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    srcs, inner, consts, notes = [], [], [], []
    total = 0
    n_act = 0
    for k, t in enumerate(ins):
        if t is None:
            raise unsupported(op, f"input {k} is missing")
        if t.is_const:
            if t.dtype != "int8":
                raise unsupported(op, f"constant input {k} is {t.dtype}, not int8")
            consts.append(ConstArray(f"in{k}", "int8_t", np.asarray(t.data, dtype=np.int8).ravel()))
            srcs.append(("c", f"in{k}"))
        else:
            need_int8_activation(op, t, f"input {k}")
            srcs.append(("a", n_act))   # index among the op's activation inputs (o.inp)
            n_act += 1
        if len(t.shape) != rank or any(t.shape[d] != y.shape[d] for d in range(rank) if d != axis):
            raise unsupported(op, f"input {k} shape {t.shape} does not fit output {y.shape} "
                              f"along axis {axis}")
        if t.quant is not None and (t.quant.scale != y.quant.scale
                                    or t.quant.zero_point != y.quant.zero_point):
            raise unsupported(op, f"input {k} quantization ({t.quant.scale[0]}, "
                              f"{t.quant.zero_point[0]}) differs from the output's "
                              f"({y.quant.scale[0]}, {y.quant.zero_point[0]}); TFLite-Micro "
                              "refuses this too", "re-convert the model with the TFLite converter")
        inner.append(int(np.prod(t.shape[axis:], dtype=np.int64)))
        total += t.shape[axis]
    if total != y.shape[axis]:
        raise unsupported(op, f"inputs sum to {total} along axis {axis}, output has {y.shape[axis]}")
    consts.append(ConstArray("inner", "int32_t", np.array(inner, dtype=np.int64)))
    params = dict(outer=outer, n_inputs=len(ins), srcs=srcs)
    return Lowered("concat", ("tg_concat",), params, tuple(consts), notes=tuple(notes))
