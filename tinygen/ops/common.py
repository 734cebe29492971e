"""Checks and quantization parameters shared by several op plugins (not itself a plugin)."""
from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError
from ..ir import Op, Padding, Tensor
from ..quant import MAX_LEFT_SHIFT, activation_range, activation_range_int8, quantize_multiplier
from .base import unsupported

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
MAX_WINDOW_EXTENT = 1 << 30   # strides, dilated windows and paddings stay far inside int32 in C


def multiplier(op: Op, real: float, what: str = "requantisation multiplier") -> tuple[int, int]:
    """QuantizeMultiplier(real) for a ratio of scales read from the model, refusing what
    TFLite-Micro cannot compute: x * (1 << shift) overflows int32 for shift > MAX_LEFT_SHIFT
    (undefined behaviour there; a shift >= 32 is undefined in our C too). Ratios so small that the
    shift passes -31 become multiplier 0, as in TFLite-Micro (every output is the zero point)."""
    if not (math.isfinite(real) and real > 0):
        raise unsupported(op, f"{what} {real!r} is not a finite positive number",
                          "check the scales of its tensors")
    m, s = quantize_multiplier(real)
    if s > MAX_LEFT_SHIFT:
        raise unsupported(op, f"{what} {real:.4g} needs a left shift of {s} bits, beyond the "
                          f"{MAX_LEFT_SHIFT} that TFLite-Micro's int32 arithmetic allows",
                          "check the scales of its tensors (e.g. the output scale is far too small)")
    return m, s


def check_window(op: Op, axis: str, in_size: int, out_size: int, stride: int, dilation: int,
                 kernel: int) -> None:
    """Refuse window geometry (from the op's options) whose C index arithmetic would leave int32."""
    if min(stride, dilation, kernel) < 1:
        raise unsupported(op, f"{axis}: stride {stride}, dilation {dilation} and window {kernel} "
                          "must be at least 1")
    extent = (kernel - 1) * dilation + 1
    if max(extent, (out_size + 1) * stride, in_size + extent) >= MAX_WINDOW_EXTENT:
        raise unsupported(op, f"{axis}: window {kernel} x dilation {dilation} at stride {stride} "
                          f"spans more than {MAX_WINDOW_EXTENT:,} positions",
                          "the options are corrupt; re-export the model")


def need_int8_activation(op: Op, t: Tensor | None, role: str) -> Tensor:
    if t is None:
        raise unsupported(op, f"missing {role} tensor")
    if t.dtype != "int8":
        raise unsupported(op, f"{role} tensor {t.index} is {t.dtype}, only int8 is supported",
                          "quantize the model to int8")
    if t.quant is None or not t.quant.scale:
        raise unsupported(op, f"{role} tensor {t.index} has no quantization parameters",
                          "convert with full-integer quantization")
    if t.is_const:
        raise unsupported(op, f"{role} tensor {t.index} is a constant",
                          "let the converter fold constant subgraphs")
    return t


def need_const(op: Op, t: Tensor | None, role: str, dtype: str) -> Tensor:
    if t is None or not t.is_const:
        raise unsupported(op, f"{role} must be a constant tensor", "freeze the weights")
    if t.dtype != dtype:
        raise unsupported(op, f"{role} tensor {t.index} is {t.dtype}, expected {dtype}",
                          "use int8 weights and int32 bias (full-integer quantization)")
    return t


def need_batch_one(op: Op, t: Tensor) -> None:
    if len(t.shape) == 4 and t.shape[0] != 1:
        raise unsupported(op, f"batch size {t.shape[0]} (tensor {t.index})",
                          "build the model with a batch of 1 (keras.Input(..., batch_size=1))")


def padding_before(padding: Padding, in_size: int, out_size: int, stride: int, dilation: int,
                   kernel: int) -> int:
    """TFLite's ComputePaddingWithOffset: the padding before the first element."""
    if padding == Padding.VALID:
        return 0
    effective = (kernel - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2


def expected_out_size(padding: Padding, in_size: int, stride: int, dilation: int,
                      kernel: int) -> int:
    effective = (kernel - 1) * dilation + 1
    if padding == Padding.SAME:
        return (in_size + stride - 1) // stride
    return (in_size - effective + stride) // stride


def check_out_size(op: Op, axis: str, got: int, want: int) -> None:
    if got != want:
        raise ModelError(f"op {op.index} ({op.type.value}): output {axis} is {got} but the "
                         f"padding/stride rules give {want}; the file is inconsistent")


def channel_multipliers(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: int
                        ) -> tuple[list[int], list[int]]:
    """Per-output-channel (multiplier, shift) from input_scale * filter_scale / output_scale,
    in double precision and in that order, as TFLite-Micro's PopulateConvolutionQuantizationParams.
    Per-tensor FULLY_CONNECTED goes through GetQuantizedConvolutionMultipler there, which in the
    installed TFLite-Micro multiplies in double too (older sources multiplied the two float32
    scales first: tests/test_tflm_semantics.py holds an input where the two differ)."""
    scales = w.quant.scale
    if len(scales) not in (1, channels):
        raise unsupported(op, f"filter has {len(scales)} scales for {channels} channels")
    if any(z != 0 for z in w.quant.zero_point):
        raise unsupported(op, "filter zero points are not 0 (asymmetric weights)",
                          "quantize weights symmetrically (the TFLite int8 default)")
    mults, shifts = [], []
    in_scale, out_scale = float(np.float32(x.scale)), float(np.float32(y.scale))
    for c in range(channels):
        f = float(np.float32(scales[c if len(scales) > 1 else 0]))
        m, s = multiplier(op, in_scale * f / out_scale, f"channel {c}'s multiplier")
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def check_bias_scale(op: Op, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> None:
    """TFLite-Micro's GetQuantizedConvolutionMultipler, which FULLY_CONNECTED with per-tensor
    weights calls: the bias scale (0 if it has none) must equal input scale x weight scale within
    2 % of the output scale, or it refuses the model. The kernels never read the bias scale."""
    if b is None or w.quant.per_channel:
        return
    product = float(np.float32(x.scale)) * float(np.float32(w.quant.scale[0]))
    bias_scale = float(np.float32(b.quant.scale[0])) if b.quant is not None else 0.0
    if not abs(product - bias_scale) / float(np.float32(y.scale)) <= 0.02:
        raise unsupported(op, f"bias scale {bias_scale:.6g} is not input scale x weight scale "
                          f"({product:.6g}); TFLite-Micro refuses this",
                          "re-convert the model with the TFLite converter")


def activation_bounds(op: Op, y: Tensor, activation) -> tuple[int, int]:
    try:
        if y.dtype == "int8":
            return activation_range_int8(activation, y.scale, y.zero_point)
        return activation_range(activation, y.scale, y.zero_point, y.dtype)
    except OverflowError:
        raise unsupported(op, f"output scale {y.scale:.4g} is too small for the fused "
                          f"{activation.value}: its bounds overflow int32 (undefined in "
                          "TFLite-Micro)", "check the output tensor's scale") from None


def bias_values(op: Op, b: Tensor | None, channels: int) -> np.ndarray:
    if b is None:
        return np.zeros(channels, dtype=np.int64)
    need_const(op, b, "bias", "int32")
    if b.size != channels:
        raise ModelError(f"op {op.index} ({op.type.value}): bias has {b.size} values for "
                         f"{channels} output channels")
    return b.data.astype(np.int64).ravel()


def folded_bias(op: Op, bias: np.ndarray, weights_2d: np.ndarray, in_zero_point: int) -> np.ndarray:
    """bias + (-in_zp) * sum(weights of channel): exact integer identity, done once here.
    Refused when some input could carry a channel's int32 accumulator past int32: the bias (or
    the folded one, where our kernels start) plus 255 x the sum of |weights| (every x - zp lies in
    [-255, 255]). TFLite-Micro's accumulator would overflow there too: undefined behaviour."""
    w = weights_2d.astype(np.int64)
    folded = bias - in_zero_point * w.sum(axis=1)
    reach = np.maximum(np.abs(bias), np.abs(folded)) + 255 * np.abs(w).sum(axis=1)
    if reach.size and int(reach.max()) > INT32_MAX:
        c = int(np.argmax(reach))
        raise unsupported(op, f"channel {c}: bias {int(bias[c])} plus the largest possible sum "
                          "of products overflows the int32 accumulator",
                          "check the bias and weights (the file looks corrupt)")
    return folded


def unary_io(op: Op, graph, dtypes: tuple[str, ...], same_size: bool = True
             ) -> tuple[Tensor, Tensor]:
    """The activation input and output of a unary op: same type (one of `dtypes`), quantized
    per tensor, the same number of elements (unless `same_size` is False: reductions)."""
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    if not ins or ins[0] is None or len(outs) != 1:
        raise unsupported(op, "expects an input and one output")
    x, y = ins[0], outs[0]
    for role, t in (("input", x), ("output", y)):
        if t.dtype not in dtypes:
            raise unsupported(op, f"{role} tensor {t.index} is {t.dtype}; supported: "
                              f"{', '.join(dtypes)}", "quantize the model (int8, or 16x8)")
        if t.quant is None or not t.quant.scale:
            raise unsupported(op, f"{role} tensor {t.index} has no quantization parameters",
                              "convert with full-integer quantization")
        if t.quant.per_channel:
            raise unsupported(op, f"{role} tensor {t.index} is per-channel quantized")
    if x.dtype != y.dtype:
        raise unsupported(op, f"input is {x.dtype} but output is {y.dtype}")
    if x.is_const:
        raise unsupported(op, f"input tensor {x.index} is a constant",
                          "let the converter fold constant subgraphs")
    if same_size and x.size != y.size:
        raise unsupported(op, f"input has {x.size} elements but output has {y.size}")
    return x, y


def act16_params(size: int, in_zp: int = 0, out_zp: int = 0, pos=(0, 0), neg=(0, 0),
                 lo: int = -32768, hi: int = 32767, fn: str = "") -> dict:
    """Parameters of an int16 activation kernel (tg_act16), with every field filled."""
    return dict(size=size, in_zp=in_zp, out_zp=out_zp, mult_pos=pos[0], shift_pos=pos[1],
                mult_neg=neg[0], shift_neg=neg[1], lo=lo, hi=hi, fn=fn, sigmoid=False)
