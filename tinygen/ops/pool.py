"""MAX_POOL_2D and AVERAGE_POOL_2D, int8 and int16 NHWC (Keras MaxPooling1D/2D, AveragePooling1D/2D).

TFLite-Micro's reference integer pooling: the window is clipped to the input (SAME padding adds
no taps), max / rounded average (half away from zero, over the taps that exist) of the raw int8
values, clamped to the fused activation range. Input and output share quantization in any
converted model; TFLite-Micro does not rescale and refuses a pair that differs (zero points, or
scales more than 1e-6 apart), and so do we.
The average divides by the tap count with an exact multiply-shift (tables for the counts that
occur are computed here), so the kernel executes no divide instruction.
int16 (16x8 models) is the same arithmetic on int16 values (TFLite-Micro's int16 pooling), with
the activation range of a symmetric int16 output.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, OpType, PoolAttrs
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, unsupported
from .common import (activation_bounds, check_out_size, check_window, expected_out_size,
                     need_int8_activation, padding_before)
from .conv16 import need_int16_activation

SUPPORT = {
    OpType.MAX_POOL_2D: OpSupport(("int8", "int16"), "any window and stride, SAME/VALID",
                                  inputs=(act(),)),
    OpType.AVERAGE_POOL_2D: OpSupport(("int8", "int16"), "any window and stride, SAME/VALID",
                                      inputs=(act(),)),
}

MAX_RECIP_TABLE = 1024   # entries; beyond that the kernel divides (huge SAME windows only)


def _spans(out_size: int, stride: int, pad: int, filt: int, in_size: int) -> list[tuple[int, int]]:
    """(first, end) input index of each output position's clipped window."""
    spans = []
    for o in range(out_size):
        origin = o * stride - pad
        spans.append((origin + max(0, -origin), origin + min(filt, in_size - origin)))
    return spans


def recip(n: int) -> tuple[int, int]:
    """(m, ell) with floor(v / n) == ((2v * m) >> 32) >> ell == (v * m) >> (31 + ell) for all
    0 <= v < 2^31, and m < 2^32 (Granlund & Montgomery 1994, Thm 4.2, N = 31)."""
    ell = (n - 1).bit_length()          # ceil(log2 n)
    m = (1 << (31 + ell)) // n + 1
    assert m < (1 << 32)
    return m, ell


def inplace_safe(y_spans: list, x_spans: list, in_w: int, out_w: int) -> bool:
    """Output spatial position p may overwrite input position p only if every input position it
    reads is >= p (then nothing still to be read has been overwritten). The condition
    y0[oy] * in_w + x0[ox] >= oy * out_w + ox splits into a row term and a column term, so it
    holds for every (oy, ox) exactly when it holds for the smallest of each: O(out_h + out_w)."""
    rows = min(y0 * in_w - oy * out_w for oy, (y0, _) in enumerate(y_spans))
    cols = min(x0 - ox for ox, (x0, _) in enumerate(x_spans))
    return rows + cols >= 0


def _io(op: Op, graph: Graph):
    """(x, y, int16?): int8 activations, or symmetric int16 ones (16x8)."""
    x, y = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    if x is not None and x.dtype == "int16":
        return (need_int16_activation(op, x, "input"), need_int16_activation(op, y, "output"),
                True)
    return need_int8_activation(op, x, "input"), need_int8_activation(op, y, "output"), False


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    x, y, s16 = _io(op, graph)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"expects 4-D NHWC tensors, got input {x.shape}, output {y.shape}")
    if abs(float(x.scale) - float(y.scale)) > 1e-6 or x.zero_point != y.zero_point:
        raise unsupported(op, f"input quantization ({x.scale:.6g}, {x.zero_point}) differs from "
                          f"the output's ({y.scale:.6g}, {y.zero_point}); TFLite-Micro refuses "
                          "this too", "re-convert the model with the TFLite converter")
    a: PoolAttrs = op.attrs
    n, in_h, in_w, c = x.shape
    yn, out_h, out_w, yc = y.shape
    if (yn, yc) != (n, c):
        raise unsupported(op, f"input {x.shape} and output {y.shape} differ in batch or channels")
    if min(a.filter_h, a.filter_w, a.stride_h, a.stride_w) < 1:
        raise unsupported(op, "filter size and stride must be at least 1")
    check_window(op, "height", in_h, out_h, a.stride_h, 1, a.filter_h)
    check_window(op, "width", in_w, out_w, a.stride_w, 1, a.filter_w)
    check_out_size(op, "height", out_h, expected_out_size(a.padding, in_h, a.stride_h, 1, a.filter_h))
    check_out_size(op, "width", out_w, expected_out_size(a.padding, in_w, a.stride_w, 1, a.filter_w))
    pad_top = padding_before(a.padding, in_h, out_h, a.stride_h, 1, a.filter_h)
    pad_left = padding_before(a.padding, in_w, out_w, a.stride_w, 1, a.filter_w)
    ys = _spans(out_h, a.stride_h, pad_top, a.filter_h, in_h)
    xs = _spans(out_w, a.stride_w, pad_left, a.filter_w, in_w)
    if any(e <= s for s, e in ys + xs):
        raise unsupported(op, "a pooling window lies entirely in the padding")
    act_min, act_max = activation_bounds(op, y, a.activation)   # int8 or int16 (zero point 0)
    params = dict(batches=n, in_h=in_h, in_w=in_w, channels=c, out_h=out_h, out_w=out_w,
                  filter_h=a.filter_h, filter_w=a.filter_w, stride_h=a.stride_h,
                  stride_w=a.stride_w, pad_top=pad_top, pad_left=pad_left,
                  act_min=act_min, act_max=act_max, count_min=0, count_max=0, has_recip=False,
                  fn=("tg_maxpool_" if op.type == OpType.MAX_POOL_2D else "tg_avgpool_")
                  + ("s16" if s16 else "s8"), ctype="int16_t" if s16 else "int8_t")
    consts: tuple[ConstArray, ...] = ()
    if op.type == OpType.AVERAGE_POOL_2D:
        counts = sorted({h * w for h in {ye - y0 for y0, ye in ys} for w in {xe - x0 for x0, xe in xs}})
        lo, hi = counts[0], counts[-1]
        if s16 and hi >= (1 << 15):    # |sum| + n / 2 of int16 values must stay below 2^31
            raise unsupported(op, f"an average over {hi} taps could overflow the int32 sum")
        if hi - lo + 1 <= MAX_RECIP_TABLE and hi < (1 << 23):
            mults = np.zeros(hi - lo + 1, dtype=np.int64)
            shifts = np.zeros(hi - lo + 1, dtype=np.int64)
            for cnt in counts:
                mults[cnt - lo], shifts[cnt - lo] = recip(cnt)
            consts = (ConstArray("recip_mult", "uint32_t", mults),
                      ConstArray("recip_shift", "uint8_t", shifts))
            params.update(count_min=lo, count_max=hi, has_recip=True)
    # macs stay 0: like the anchors' figures (FACTS.md), only CONV/DEPTHWISE/FC count MACs
    return Lowered("pool", ("tg_pool",), params, consts,
                   inplace=n == 1 and inplace_safe(ys, xs, in_w, out_w))
