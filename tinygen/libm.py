"""The C library's float32 math (logf, expf) for parameters TFLite-Micro derives with it.

TFLite-Micro computes a few Prepare-time values with
float32 libm calls (CheckedLog2's std::log, ELU's table with std::exp); numpy's float32 exp and
log are other implementations and may differ in the last bit, so the host C library's own
functions are called through ctypes: the same ones the reference interpreter was linked with.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
from functools import lru_cache

import numpy as np

from .quant import tflite_round


@lru_cache(maxsize=1)
def _libm():
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for name in ("expf", "logf"):
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = [ctypes.c_float], ctypes.c_float
    return lib


def expf(x: float) -> np.float32:
    return np.float32(_libm().expf(float(np.float32(x))))


def logf(x: float) -> np.float32:
    return np.float32(_libm().logf(float(np.float32(x))))


def checked_log2(x: float) -> tuple[bool, int]:
    """CheckedLog2: (is x a power of two within 1e-3 in log2, round(log2 x)), in float32."""
    x_log2 = logf(x) * (np.float32(1.0) / logf(2.0))
    rounded = np.float32(tflite_round(float(x_log2)))
    frac = np.float32(x_log2 - rounded)
    return bool(abs(float(frac)) < 1e-3), int(rounded)


def round_f32(x: np.float32) -> int:
    """TfLiteRound on a float32 (halves away from zero), exact."""
    return int(math.copysign(math.floor(abs(float(x)) + 0.5), float(x)))
