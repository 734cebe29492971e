"""The numpy twin of the device's drift statistics (firmware/features/tg_stats.c), bit-exact.

For each feature: an integer Welford mean (Q16) and variance (Q12); past `window_cap` windows
the divisor stays at the cap, so the statistics become a running average over about the last
`window_cap` windows. The fraction of raw samples at the int16 rails and of features at the int8
rails (Q16, the same running average), and counts of the predicted classes. Every division
rounds half away from zero, on non-negative operands, so C's truncation and numpy's floor agree.
"""
from __future__ import annotations

import numpy as np

from ..wire import DeviceStats


def div_round(a, n: int):
    """a / n rounded half away from zero (n > 0), elementwise on int64."""
    a = np.asarray(a, dtype=np.int64)
    h = n // 2
    return np.where(a >= 0, (a + h) // n, -((-a + h) // n))


class StatsTwin:
    def __init__(self, n_features: int, raw_samples: int, classes: int, window_cap: int):
        self.n_features, self.raw_samples = n_features, raw_samples
        self.n_classes, self.window_cap = classes, window_cap
        self.reset()

    def reset(self) -> None:
        self.windows = 0
        self.sat_raw = 0
        self.sat_features = 0
        self.mean = np.zeros(self.n_features, np.int64)
        self.var = np.zeros(self.n_features, np.int64)
        self.classes = np.zeros(self.n_classes, np.int64)

    def window(self, samples, features) -> None:
        """One raw window (int16, channels interleaved) and its int8 features."""
        s = np.asarray(samples, dtype=np.int16).ravel()
        f = np.asarray(features, dtype=np.int8).ravel().astype(np.int64)
        assert s.size == self.raw_samples and f.size == self.n_features
        self.windows = min(self.windows + 1, 0xFFFFFFFF)
        n = min(self.windows, self.window_cap)
        sat = int(np.count_nonzero((s == 32767) | (s == -32768)))
        self.sat_raw += int(div_round(((sat << 16) // self.raw_samples) - self.sat_raw, n))
        x = f * 65536
        delta = x - self.mean
        self.mean = self.mean + div_round(delta, n)
        product = (delta * (x - self.mean)) >> 20
        self.var = self.var + div_round(product - self.var, n)
        sat = int(np.count_nonzero((f == 127) | (f == -128)))
        self.sat_features += int(div_round(((sat << 16) // self.n_features) - self.sat_features, n))

    def predicted(self, cls: int) -> None:
        if 0 <= cls < self.n_classes and self.classes[cls] < 0xFFFFFFFF:
            self.classes[cls] += 1

    def as_device(self) -> DeviceStats:
        """What the device's STATS reply holds for the same windows."""
        return DeviceStats(self.window_cap, self.windows, self.raw_samples, self.sat_raw,
                           self.sat_features, self.mean.copy(), self.var.copy(),
                           self.classes.copy())


def argmax_class(output) -> int:
    """The predicted class as the firmware picks it: the first largest element of output 0."""
    return int(np.argmax(np.asarray(output).ravel()))
