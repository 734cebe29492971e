"""CONV_2D and DEPTHWISE_CONV_2D (int8 activations, int8 per-channel weights, int32 bias).

A convolution whose height (or width) is 1 on input, filter and output is a Conv1D in disguise
(TFLite expresses Conv1D as RESHAPE + CONV_2D): it goes to the dedicated 1D kernel, and so does a
pointwise (1x1, stride 1) convolution, whose H*W pixels form one contiguous row.

In place (issue 12: below the liveness bound): a depthwise layer with depth multiplier 1 on the
channel-plane route with one band may write its output over its input at no cost (dw_inplace_safe
has the proof); a pointwise layer has an in-place variant (Lowered.inplace_variant) that stages
groups of positions in scratch, forward when it narrows, in reverse when it widens (tg_conv.h,
tg_conv_pw_inplace). compile_graph takes the variants where they make the arena smaller.
"""
from __future__ import annotations

import numpy as np

from ..ir import ConvAttrs, Graph, Op, OpType
from . import conv16
from .base import ConstArray, Lowered, LowerOptions, OpSupport, act, param, unsupported, weights
from .common import (activation_bounds, bias_values, channel_multipliers, check_out_size,
                     expected_out_size, folded_bias, need_batch_one, need_const,
                     need_int8_activation, padding_before, check_window)

# int8: int32 bias; 16x8 (int16 activations): int64 bias, or int32 (ops/conv16.py)
_PORTS = (act(), weights("filter"), param("bias", "int32", "int64", optional=True))
SUPPORT = {
    OpType.CONV_2D: OpSupport(("int8", "int16"), "any stride and dilation, SAME/VALID, per-channel "
                              "weights, fused RELU/RELU6; dedicated 1D and pointwise kernels; "
                              "int16: 16x8 (ops/conv16.py)", inputs=_PORTS),
    OpType.DEPTHWISE_CONV_2D: OpSupport(("int8", "int16"), "any depth multiplier, stride and dilation; "
                                        "int16: 16x8 (ops/conv16.py)", inputs=_PORTS),
}


def _geometry(op: Op, x, w, y, a: ConvAttrs) -> dict:
    _, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = y.shape
    k_h, k_w = w.shape[1], w.shape[2]
    if min(a.stride_h, a.stride_w, a.dilation_h, a.dilation_w) < 1:
        raise unsupported(op, "stride and dilation must be at least 1")
    check_window(op, "height", in_h, out_h, a.stride_h, a.dilation_h, k_h)
    check_window(op, "width", in_w, out_w, a.stride_w, a.dilation_w, k_w)
    check_out_size(op, "height", out_h, expected_out_size(a.padding, in_h, a.stride_h, a.dilation_h, k_h))
    check_out_size(op, "width", out_w, expected_out_size(a.padding, in_w, a.stride_w, a.dilation_w, k_w))
    return dict(
        in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c, k_h=k_h, k_w=k_w,
        stride_h=a.stride_h, stride_w=a.stride_w, dil_h=a.dilation_h, dil_w=a.dilation_w,
        pad_top=padding_before(a.padding, in_h, out_h, a.stride_h, a.dilation_h, k_h),
        pad_left=padding_before(a.padding, in_w, out_w, a.stride_w, a.dilation_w, k_w))


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins = graph.op_inputs(op) + [None] * 3
    if op.type == OpType.DEPTHWISE_CONV_2D and len(op.inputs) > 2 and op.inputs[2] < 0:
        raise unsupported(op, "bias given as absent (-1): TFLite-Micro crashes on this form, so "
                          "the output cannot be checked", "drop the third input or give a zero bias")
    if ins[0] is not None and ins[0].dtype == "int16":
        return conv16.lower_conv(op, graph, _geometry)   # 16x8: int16 activations
    x = need_int8_activation(op, ins[0], "input")
    w = need_const(op, ins[1], "filter", "int8")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise unsupported(op, f"expects 4-D NHWC tensors, got input {x.shape}, filter {w.shape}")
    need_batch_one(op, x)
    a: ConvAttrs = op.attrs
    geo = _geometry(op, x, w, y, a)
    out_c = geo["out_c"]
    as_conv = op.type == OpType.CONV_2D
    if as_conv:
        if w.shape[0] != out_c or w.shape[3] != geo["in_c"]:
            raise unsupported(op, f"filter {w.shape} does not match input channels {geo['in_c']} "
                              f"and output channels {out_c} (grouped convolution)",
                              "use groups=1 or a depthwise convolution")
        weights = w.data.reshape(out_c, -1)                       # [OC][KH][KW][IC], as read
    else:
        if w.shape[0] != 1 or w.shape[3] != out_c:
            raise unsupported(op, f"depthwise filter has shape {w.shape}")
        mult = out_c // geo["in_c"] if geo["in_c"] else 0
        if mult * geo["in_c"] != out_c or (a.depth_multiplier not in (0, mult)):
            raise unsupported(op, f"output channels {out_c} are not input channels "
                              f"{geo['in_c']} x depth multiplier {a.depth_multiplier}")
        geo["depth_mult"] = mult
        weights_by_channel = np.ascontiguousarray(w.data.reshape(-1, out_c).T)  # [OC][KH*KW]
        # One input channel: every output channel reads the same window, so this is an ordinary
        # convolution with filter [OC][KH][KW][1] (CMSIS-NN treats it so too) and takes the conv
        # kernels' fast routes (micro_speech's 10x8 x 8 first layer, person_detect's stem).
        as_conv = geo["in_c"] == 1
        if as_conv:
            weights = weights_by_channel

    mults, shifts = channel_multipliers(op, x, w, y, out_c)
    window = geo["k_h"] * geo["k_w"] * (geo["in_c"] if as_conv else 1)
    bias = bias_values(op, ins[2], out_c)
    if not as_conv:
        # Kernel reads TFLite's own order [KH][KW][OC] (channels side by side, as in NHWC input).
        folded = folded_bias(op, bias, weights_by_channel, x.zero_point)
        weights = w.data.reshape(-1, out_c)
    else:
        folded = folded_bias(op, bias, weights, x.zero_point)
    act_min, act_max = activation_bounds(op, y, a.activation)
    params = dict(geo, in_offset=-x.zero_point, out_offset=y.zero_point, act_min=act_min,
                  act_max=act_max, rq_fast=int(rq_fast_ok(mults, shifts, bias, folded, window)))
    consts = (ConstArray("weights", "int8_t", weights.ravel()),
              ConstArray("bias", "int32_t", bias),
              ConstArray("bias_folded", "int32_t", folded),
              ConstArray("mult", "int32_t", np.array(mults, dtype=np.int64)),
              ConstArray("shift", "int32_t", np.array(shifts, dtype=np.int64))
              ) + rq_consts(params["rq_fast"], mults, shifts, y.zero_point)
    macs = geo["out_h"] * geo["out_w"] * out_c * geo["k_h"] * geo["k_w"] * (
        geo["in_c"] if op.type == OpType.CONV_2D else 1)

    if not as_conv:
        return _depthwise(geo, params, consts, macs)
    one_d = _as_1d(geo)
    if one_d is not None:
        k_h, k_w, dil_w = 1, one_d["k"], one_d["dil"]
    else:
        k_h, k_w, dil_w = geo["k_h"], geo["k_w"], geo["dil_w"]
    padded, run_pad = _pad_runs(weights, k_h, k_w, geo["in_c"], dil_w)
    params["run_pad"] = run_pad
    params["q15"], params["scratch_bytes"] = conv_q15(k_h, k_w, geo["in_c"], dil_w, run_pad)
    consts = (ConstArray("weights", "int8_t", padded.ravel()),) + consts[1:]
    template, notes = ("conv2d", ()) if one_d is None else ("conv1d", ("1-D kernel",))
    params = params if one_d is None else dict(params, **one_d)

    def variant(q15: int, scratch: int, lean=None, inplace=None) -> Lowered:
        return Lowered(template, ("tg_conv", "tg_simd"),
                       dict(params, q15=q15, scratch_bytes=scratch, pw_group=0), consts, macs,
                       scratch_bytes=scratch, notes=notes, lean=lean, inplace_variant=inplace)

    def in_place(q15: int, scratch: int, lean=None) -> Lowered:
        """Output over input, groups of positions staged after the kernel's scratch
        (tg_conv.h, tg_conv_pw_inplace, has the proof)."""
        group = pw_group(params["len_in"], geo["in_c"])
        total = scratch + -(-group * geo["in_c"] // 4) * 4
        p = dict(params, q15=q15, scratch_bytes=total, pw_group=group, pw_stage_at=scratch)
        return Lowered(template, ("tg_conv", "tg_simd"), p, consts, macs, scratch_bytes=total,
                       notes=notes + ("in place",), lean=lean, inplace=True,
                       grows=geo["out_c"] > geo["in_c"], needs_inplace=True)

    q15, scratch = params["q15"], params["scratch_bytes"]
    inplace = None
    if one_d is not None and one_d["note_1d"] == "pointwise":
        inplace = in_place(q15, scratch, in_place(0, 0) if scratch else None)
    # lean: the in-register route, no scratch (where the windows' scratch would grow the arena)
    return variant(q15, scratch, variant(0, 0, inplace=inplace) if scratch else None, inplace)


# Pointwise in place: input bytes staged per group of positions (at least 4, the DSP batch).
PW_STAGE_BUDGET = 256


def pw_group(n: int, in_c: int) -> int:
    """Positions per staged group of tg_conv_pw_inplace: a multiple of 4 within PW_STAGE_BUDGET
    bytes of input (at least 4), at most n."""
    return min(n, max(4, PW_STAGE_BUDGET // in_c // 4 * 4))


def _depthwise(geo: dict, params: dict, consts: tuple, macs: int) -> Lowered:
    """The channel-plane route with the largest band DW_PLANE_BUDGET allows; lean variants: one
    output row per band, then the per-position route (no scratch)."""
    def variant(plane: tuple[int, int, int], lean=None, inplace=None) -> Lowered:
        p = dict(params, plane_w=plane[0], band=plane[1], scratch_bytes=plane[2])
        return Lowered("depthwise", ("tg_depthwise", "tg_simd"), p, consts, macs,
                       scratch_bytes=plane[2], lean=lean, inplace=dw_inplace_safe(geo, plane),
                       inplace_variant=inplace)

    plane = dw_planes(geo)
    if not plane[1]:
        return variant(plane)
    whole = dw_planes(geo, whole=True)
    inplace = variant(whole) if dw_inplace_safe(geo, whole) and whole != plane else None
    lean = variant((0, 0, 0), inplace=inplace)
    one_row = dw_planes(geo, max_band=1)
    if one_row[1] < plane[1]:
        lean = variant(one_row, lean, inplace)
    return variant(plane, lean, inplace)


def dw_inplace_safe(g: dict, plane: tuple[int, int, int]) -> bool:
    """Whether tg_depthwise.h may write its output over its input: depth multiplier 1 on the
    channel-plane route with the whole height in one band. The route is chosen by the generated
    parameters (band > 0), not by the build, so DSP, portable (Cortex-M0, RISC-V, Xtensa,
    -D TG_NO_DSP) and the shared `--optimize size` kernel all take it. Proof: tg_dw_planes copies
    all the input rows of channel c into the plane before it writes any output of channel c, and
    writes channel c's outputs only; output (p, c) is byte p*C + c, a byte of channel c of the
    input (input and output both have C channels and the output has no more positions), which
    has been copied already; bytes of channels > c, still to be copied, are never written.
    Refused: several bands (band 2 would reread input rows that band 1's outputs overwrote) and
    the per-position route (each position writes all channels while its neighbours' windows
    still need them)."""
    return (g.get("depth_mult") == 1 and g["in_c"] == g["out_c"] and plane[1] > 0
            and plane[1] >= g["out_h"])


def _pad_runs(weights: np.ndarray, k_h: int, k_w: int, in_c: int, dil_w: int
              ) -> tuple[np.ndarray, int]:
    """Weights [OC][KH][KW][IC] in the order tg_conv.h reads them: each kernel row split into
    the runs the input is contiguous over (the whole row when dil_w == 1, else one tap), each run
    zero-padded to whole 4-byte words so the DSP path reads words only (the zero weights meet
    zero-padded input lanes: the sums do not change)."""
    runs, run = (1, k_w * in_c) if dil_w == 1 else (k_w, in_c)
    run_pad = -(-run // 4) * 4
    w = weights.reshape(weights.shape[0], k_h, runs, run)
    if run_pad != run:
        w = np.concatenate([w, np.zeros((*w.shape[:3], run_pad - run), dtype=w.dtype)], axis=3)
    return np.ascontiguousarray(w.reshape(weights.shape[0], -1)), run_pad


# Largest window (weight bytes of one channel, runs padded) the DSP batch route expands: its
# scratch is 8 bytes per window byte (four windows as int16 lanes), so 9 KB at most (3x3x128);
# larger windows take the in-register route, which needs none.
CONV_Q15_MAX_WINDOW = 1152


def conv_q15(k_h: int, k_w: int, in_c: int, dil_w: int, run_pad: int) -> tuple[int, int]:
    """(q15, scratch bytes): whether tg_conv.h's DSP batch route runs this layer
    (TG_CONV_USE_Q15) and the scratch it needs (TG_CONV_SCRATCH_BYTES). Windows of 4 taps or
    fewer take the tiny-window route. Portable builds ignore the route and its scratch."""
    window = k_h * (1 if dil_w == 1 else k_w) * run_pad       # TG_CONV_WSTRIDE
    if k_h * k_w * in_c <= 4 or window > CONV_Q15_MAX_WINDOW:
        return 0, 0
    return 1, 8 * window


# The depthwise channel plane: at most this many bytes of scratch when the whole plane does not
# fit (then it is refilled band by band); a band of one output row above DW_PLANE_LIMIT takes
# the per-position route instead.
DW_PLANE_BUDGET = 4096
DW_PLANE_LIMIT = 16384
DW_PAIRS_MAX = 32                                              # TG_DW_PAIRS_MAX


def dw_planes(g: dict, max_band: int = 0, whole: bool = False) -> tuple[int, int, int]:
    """(plane_w, band, scratch bytes) of tg_depthwise.h's channel-plane route: int16 rows of
    plane_w values, `band` output rows per fill (as many as DW_PLANE_BUDGET holds, at least 1);
    band 0 is the per-position route (width dilation, or a kernel too large). max_band: at most
    this many rows per band (0: no limit). whole: one band of every row whatever the budget
    (the in-place route), if one row fits DW_PLANE_LIMIT."""
    pairs = g["k_h"] * ((g["k_w"] + 1) // 2)
    if g["dil_w"] != 1 or pairs > DW_PAIRS_MAX:
        return 0, 0, 0
    plane_w = ((g["out_w"] - 1) * g["stride_w"] + g["k_w"] + 2) & ~1

    def plane_bytes(rows: int) -> int:
        return 2 * plane_w * ((rows - 1) * g["stride_h"] + (g["k_h"] - 1) * g["dil_h"] + 1)

    if plane_bytes(1) > DW_PLANE_LIMIT:
        return 0, 0, 0
    band = min(g["out_h"], max_band or g["out_h"])
    while band > 1 and plane_bytes(band) > DW_PLANE_BUDGET and not whole:
        band -= 1
    return plane_w, band, -(-plane_bytes(band) // 4) * 4


def _as_1d(g: dict) -> dict | None:
    """Parameters of the 1D kernel when one spatial axis is trivially 1 everywhere."""
    if g["in_h"] == 1 and g["k_h"] == 1 and g["out_h"] == 1:
        return dict(len_in=g["in_w"], len_out=g["out_w"], k=g["k_w"], stride=g["stride_w"],
                    dil=g["dil_w"], pad=g["pad_left"], note_1d="H = 1")
    if g["in_w"] == 1 and g["k_w"] == 1 and g["out_w"] == 1:
        return dict(len_in=g["in_h"], len_out=g["out_h"], k=g["k_h"], stride=g["stride_h"],
                    dil=g["dil_h"], pad=g["pad_top"], note_1d="W = 1")
    if (g["k_h"] == 1 and g["k_w"] == 1 and g["stride_h"] == 1 and g["stride_w"] == 1
            and (g["out_h"], g["out_w"]) == (g["in_h"], g["in_w"])):
        # Pointwise: the H*W positions are one contiguous row of in_c-byte pixels (a GEMM).
        n = g["in_h"] * g["in_w"]
        return dict(len_in=n, len_out=n, k=1, stride=1, dil=1, pad=0, note_1d="pointwise")
    return None


def rq_fast_ok(mults, shifts, bias: np.ndarray, folded: np.ndarray, window: int) -> bool:
    """Whether the kernels may use tg_rq_fast (firmware/kernels/tg_simd.h) for this layer: every
    channel shifts right by 1..22 with a multiplier above 2^30 (then the high product's sign is
    the accumulator's), and no accumulator can reach 2^30 in magnitude (a tap is at most
    255 * 128 in magnitude on the padded route, (x + offset) * w, and 128 * 128 otherwise)."""
    if not len(shifts) or any(not (-22 <= s <= -1) for s in shifts):
        return False
    if any(int(m) <= (1 << 30) for m in mults):
        return False
    b = max(int(np.abs(bias).max(initial=0)), int(np.abs(folded).max(initial=0)))
    return b + 255 * 128 * int(window) < (1 << 30)


def rq_consts(rq_fast: int, mults, shifts, out_offset: int) -> tuple[ConstArray, ...]:
    """tg_rq_fast's operands, one record per channel read through one pointer:
    {multiplier, 2^(e-1) + (out_offset << e), e} with e = -shift."""
    if not rq_fast:
        return ()
    rec = [(m, (1 << (-s - 1)) + (out_offset << -s), -s) for m, s in zip(mults, shifts)]
    return (ConstArray("rq", "int32_t", np.array(rec, dtype=np.int64).ravel()),)
