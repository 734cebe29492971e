"""gemmlowp's fixed-point transcendental functions on int32 raw values, in exact integer Python.

Not an op plugin (listed in ops.HELPERS): LOGISTIC and TANH use it to tabulate their int8 -> int8 function
once at generation time (an int8 input has only 256 values, so a 256-byte table is exactly the
kernel), and the unit tests use it as a reference for the C softmax. Re-written from the formulas
in gemmlowp/fixedpoint/fixedpoint.h (exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1,
logistic, tanh) as TFLite-Micro's reference integer kernels call them; int32 wrap-around is
modelled where gemmlowp relies on it.
"""
from __future__ import annotations

import math

from ..quant import rounding_divide_by_pot, saturating_rounding_doubling_high_mul as srdhm

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def wrap32(x: int) -> int:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def add(a: int, b: int) -> int:
    return wrap32(a + b)


def sub(a: int, b: int) -> int:
    return wrap32(a - b)


def sat_mul_pot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT<exponent> (int32)."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return wrap32(x << exponent)


def rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    sign = 1 if s >= 0 else -1
    q = abs(s + sign) // 2  # C++ division truncates toward zero
    return q if s + sign >= 0 else -q


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    constant_term = 1895147668        # exp(-1/8) in Q0.31
    constant_1_over_3 = 715827883
    x = add(a, 1 << 28)               # a + 1/8
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = sat_mul_pot(x4, -2)
    poly = sat_mul_pot(add(srdhm(add(x4_over_4, x3), constant_1_over_3), x2), -1)
    return add(constant_term, srdhm(constant_term, add(x, poly)))


_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
           (3, 720401), (4, 242))


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 in Q(integer_bits).(31-integer_bits); result in Q0.31."""
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    mask = one_quarter - 1
    a_mod = sub(a & mask, one_quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(sat_mul_pot(a_mod, integer_bits))
    remainder = sub(a_mod, a)
    for exponent, multiplier in _BARREL:
        if integer_bits > exponent:
            if remainder & (1 << (frac + exponent)):
                result = srdhm(result, multiplier)
    if integer_bits > 5:
        if a < -(1 << (36 - integer_bits)):
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def _newton_reciprocal(half_denominator: int) -> int:
    """Three Newton-Raphson steps for 1/(2*half_denominator); result in Q2.29."""
    x = add(1515870810, srdhm(half_denominator, -1010580540))   # 48/17 - 32/17 * d
    for _ in range(3):
        hdx = srdhm(half_denominator, x)
        one_minus = sub(1 << 29, hdx)
        x = add(x, sat_mul_pot(srdhm(x, one_minus), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_reciprocal(rounding_half_sum(a, INT32_MAX))
    return sat_mul_pot(x, 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_reciprocal(rounding_half_sum(a, INT32_MAX))
    return sat_mul_pot(sub(x, 1 << 29), 2)


def logistic(a: int, integer_bits: int) -> int:
    if a == 0:
        return 1 << 30
    abs_a = a if a > 0 else -a
    r = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-abs_a, integer_bits))
    return r if a > 0 else sub(INT32_MAX, r)


def tanh(a: int, integer_bits: int) -> int:
    if a == 0:
        return 0
    n = a if a < 0 else -a
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return -t if a < 0 else t


# ---- parameter derivations (quantization_util.cc) -----------------------------------------

def calculate_input_radius(input_integer_bits: int, input_left_shift: int,
                           total_signed_bits: int = 31) -> int:
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1)
                          * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def frexp_multiplier(real: float) -> tuple[int, int]:
    """What LOGISTIC / TANH Prepare do: frexp + round, *without* QuantizeMultiplier's 2^31 fix-up
    (a mantissa rounding up to 2^31 wraps to INT32_MIN in the int32 cast, exactly as there)."""
    q, shift = math.frexp(real)
    q_fixed = int(math.floor(abs(q) * (1 << 31) + 0.5)) * (1 if q >= 0 else -1)
    return wrap32(q_fixed), shift
