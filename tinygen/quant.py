"""Fixed-point parameter derivation, matching TFLite-Micro's integer kernels bit for bit.

These mirror tensorflow/lite/kernels/internal/quantization_util.cc and common.h (read via the
search tool, re-written here): the multipliers the C kernels use are computed once, in Python,
with exactly the same double-precision steps, so the firmware never touches a float.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

# TFLite-Micro requantises with x * (1 << shift): beyond 30 the shift alone overflows int32.
# Callers with ratios read from a model go through ops.common.multiplier, which refuses more.
MAX_LEFT_SHIFT = 30


def tflite_round(x: float) -> int:
    """std::round: halves away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real):
        raise ValueError(f"quantize_multiplier({real!r}): the model's scales should have been "
                         "refused by tinygen.checks")
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    assert q_fixed <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    # No saturation of shift > 30: TFLite applies it only under TFLITE_SINGLE_ROUNDING, and
    # TFLite-Micro is built with double rounding.
    return int(q_fixed), int(shift)


# ---- integer reference of the runtime helpers (used by unit tests of the C side) -----------

def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    num = ab + nudge
    # C++ integer division truncates toward zero
    q = abs(num) // (1 << 31)
    return q if num >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    xl = np.int32(np.int64(x) * (1 << left)).item()  # wraps like the C int32 product
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(xl, multiplier), right)


DTYPE_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
               "int32": (INT32_MIN, INT32_MAX)}


def activation_range(activation, scale: float, zero_point: int, dtype: str = "int8"
                     ) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for any quantized output type (int8, int16, ...)."""
    from .ir import Activation

    qmin, qmax = DTYPE_RANGE[dtype]

    def quantize(v: float) -> int:
        # TFLite divides in float32 here (f / scale with float operands): keep that precision.
        with np.errstate(over="ignore"):
            r = float(np.float32(v) / np.float32(scale))
        if not math.isfinite(r) or not INT32_MIN <= zero_point + tflite_round(r) <= INT32_MAX:
            raise OverflowError(f"activation bound {v} / {scale} leaves int32")
        return zero_point + tflite_round(r)

    if activation == Activation.RELU:
        return max(qmin, quantize(0.0)), qmax
    if activation == Activation.RELU6:
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == Activation.RELU_N1_TO_1:
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    return qmin, qmax


def activation_range_int8(activation, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs."""
    return activation_range(activation, scale, zero_point, "int8")
