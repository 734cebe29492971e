"""CONCATENATION, int8 / int16 / int32, any axis: the inputs' bytes are copied in turn, no
arithmetic.

TFLite-Micro's integer kernels do not requantize. The converter gives every input the output's
scale and zero point (inserting a QUANTIZE where a producer has fixed output parameters); a model
where they differ is refused by the installed TFLite-Micro (AllocateTensors fails; checked by
patching a converted model), so we refuse it too rather than guess. Fused activations other than
NONE are refused, as TFLite-Micro refuses them."""
from __future__ import annotations

import numpy as np

from ..ir import Activation, ConcatAttrs, Graph, Op, OpType
from .base import ConstArray, Lowered, LowerOptions, OpSupport, Port, const_values, unsupported
from .movement import need_data

DTYPES = ("int8", "int16", "int32")
_CTYPES = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}

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
    OpType.CONCATENATION: OpSupport(DTYPES, "any axis; inputs share the output's quantization",
                                    fold=_fold, repeat_inputs=True,
                                    # bytes are copied: lower() compares the inputs' quantization
                                    # with the output's where they have one (a constant may not)
                                    inputs=(Port("input", const=None, quantized=False),)),
}


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins = graph.op_inputs(op)
    y = graph.op_outputs(op)[0]
    if y.dtype not in DTYPES:
        raise unsupported(op, f"output tensor {y.index} is {y.dtype}; TFLite-Micro's kernel takes "
                          f"{', '.join(DTYPES)}")
    if y.dtype != "int32" and (y.quant is None or not y.quant.scale):
        raise unsupported(op, f"output tensor {y.index} has no quantization parameters")
    itemsize = np.dtype(y.dtype).itemsize
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
        if t.dtype != y.dtype:
            raise unsupported(op, f"input {k} is {t.dtype}, the output {y.dtype}")
        if t.is_const:
            consts.append(ConstArray(f"in{k}", _CTYPES[t.dtype], np.asarray(t.data).ravel()
                                     .astype(np.int64)))
            srcs.append(("c", f"in{k}"))
        else:
            need_data(op, t, f"input {k}", DTYPES)
            srcs.append(("a", n_act))   # index among the op's activation inputs (o.inp)
            n_act += 1
        if len(t.shape) != rank or any(t.shape[d] != y.shape[d] for d in range(rank) if d != axis):
            raise unsupported(op, f"input {k} shape {t.shape} does not fit output {y.shape} "
                              f"along axis {axis}")
        if y.dtype != "int32" and t.quant is not None and \
                (t.quant.scale != y.quant.scale or t.quant.zero_point != y.quant.zero_point):
            raise unsupported(op, f"input {k} quantization ({t.quant.scale[0]}, "
                              f"{t.quant.zero_point[0]}) differs from the output's "
                              f"({y.quant.scale[0]}, {y.quant.zero_point[0]}); TFLite-Micro "
                              "refuses this too", "re-convert the model with the TFLite converter")
        inner.append(int(np.prod(t.shape[axis:], dtype=np.int64)) * itemsize)
        total += t.shape[axis]
    if total != y.shape[axis]:
        raise unsupported(op, f"inputs sum to {total} along axis {axis}, output has {y.shape[axis]}")
    consts.append(ConstArray("inner", "int32_t", np.array(inner, dtype=np.int64)))
    params = dict(outer=outer, n_inputs=len(ins), srcs=srcs)
    return Lowered("concat", ("tg_concat",), params, tuple(consts), notes=tuple(notes))
