"""MEAN over adjacent axes (Keras GlobalAveragePooling1D/2D, keepdims either way), int8 and int16.

The installed TFLite-Micro (checked against its Python interpreter, quantization equal or not,
keep_dims true or false, 3-D and 4-D) computes every int8 MEAN in integers:
    acc = sum(x - input_zp);  out = clamp(MBQM(acc, m', s') + output_zp)
where (m, s) = QuantizeMultiplier(input_scale / output_scale) and the count n is folded in as
    k = min(floor(log2 n), 32, 31 + s);  m' = (m << k) // n;  s' = s - k.
(Older TFLite-Micro used float arithmetic or a truncating division on some of these paths.)
int16 (16x8 models) takes the same integer path with an int16 clamp.
"""
from __future__ import annotations

from ..ir import Graph, MeanAttrs, Op, OpType
from .base import Lowered, LowerOptions, OpSupport, act, param, unsupported
from .common import multiplier, need_int8_activation
from .conv16 import need_int16_activation

SUPPORT = {
    OpType.MEAN: OpSupport(("int8", "int16"), "over adjacent axes, keep_dims either way",
                           inputs=(act(), param("axes", "int32", "int64"))),
}


def mean_multiplier(m: int, s: int, count: int) -> tuple[int, int]:
    """(m, s) = QuantizeMultiplier(input_scale / output_scale) with the count folded in."""
    k = min(count.bit_length() - 1, 32, 31 + s)
    return (m << k) // count, s - k


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins = graph.op_inputs(op)
    s16 = ins[0] is not None and ins[0].dtype == "int16"
    need = need_int16_activation if s16 else need_int8_activation
    x = need(op, ins[0], "input")
    y = need(op, graph.op_outputs(op)[0], "output")
    axes_t = ins[1] if len(ins) > 1 else None
    if axes_t is None or not axes_t.is_const or axes_t.dtype not in ("int32", "int64"):
        raise unsupported(op, "the reduction axes must be a constant int32 tensor")
    if x.quant.per_channel or y.quant.per_channel:
        raise unsupported(op, "per-channel quantized activations")
    rank = len(x.shape)
    axes = sorted({int(a) + rank if int(a) < 0 else int(a) for a in axes_t.data.ravel()})
    if not axes or axes[0] < 0 or axes[-1] >= rank:
        raise unsupported(op, f"reduction axes {axes_t.data.ravel().tolist()} for a rank-{rank} input")
    if axes != list(range(axes[0], axes[-1] + 1)):
        raise unsupported(op, f"reduction over non-adjacent axes {axes}",
                          "reduce adjacent axes (e.g. H and W of NHWC) or reshape first")
    outer = inner = count = 1
    for d, e in enumerate(x.shape):
        if d < axes[0]:
            outer *= e
        elif d > axes[-1]:
            inner *= e
        else:
            count *= e
    if y.size != outer * inner:
        raise unsupported(op, f"output has {y.size} elements, expected {outer * inner}")
    if count >= (1 << (15 if s16 else 23)):
        raise unsupported(op, f"mean over {count} elements could overflow the int32 sum")
    m, s = multiplier(op, float(x.scale) / float(y.scale), "input scale / output scale")
    mult, shift = mean_multiplier(m, s, count)
    a: MeanAttrs = op.attrs
    params = dict(outer=outer, reduce=count, inner=inner, bias=-count * x.zero_point,
                  mult=mult, shift=shift, out_offset=y.zero_point,
                  fn="tg_mean_s16" if s16 else "tg_mean_s8")
    return Lowered("mean", ("tg_mean",), params, inplace=True,
                   notes=(f"axes {axes}, keep_dims={a.keep_dims}",))
