"""The integer FFT front end: raw int16 samples -> int8 band log-energies (the network's input).

Pipeline, identical step for step in firmware/features/tg_features.c (bit-exact):

1. DC removal: mean = floor(sum(x) / N) (an arithmetic shift, N is a power of two).
2. Window and scale: y = ((x - mean) * hann_q15) >> (2 + log2 r), r the first stage's radix.
3. Real FFT of N points as an N/2-point complex FFT of z[n] = y[2n] + j y[2n+1], decimation in
   time, scaled so nothing overflows (the CMSIS-style scaled FFT): a first stage with unit
   twiddles fused with the window (radix 4 when log2(N/2) is odd, else 2; inputs read in
   mixed-radix digit-reversed order, the `order` table), radix-4 stages (Q30 twiddles: a
   product's high word is a quarter, the stage's scaling), and a last radix-2 stage (Q30
   twiddles on doubled inputs) which the C fuses with the split step. Every product is the high
   word of a 32x32-bit multiply, floor (SMMUL/SMMLA on Cortex-M) or, where subtracted, ceiling
   (SMMLS), so a complex product costs four instructions. The split step, bins k and N/2-k
   together (they share their four products), gives X[k] * 16 for 0 < k < N/2, |X| < 2^30.
   The last stage's and the split's twiddles come from one quarter-wave table (m <= N/8) by
   symmetry, as the C reads them.
4. Power |X|^2 as int64 (< 2^61), summed over each band's bins (band edges precomputed).
5. log2 of the band energy in Q6 (1/64 octave): position of the top bit + a 64-entry table.
6. Affine map of the log to int8: ((log - lo) * mult) >> 16, clamped to [0, 255], minus 128.
   lo and mult are calibrated once on training windows so the int8 range covers the data.

Several channels (an accelerometer's x/y/z): the raw window is interleaved, sample t of channel c
at [t * channels + c] (the order a sensor FIFO delivers), and each channel runs steps 1-6 on its
own with the same tables and map. The features are band-major, channel-minor ([band * channels +
c]): exactly the row-major layout of the network's input tensor [1, n_bands, channels].

Everything here is integer numpy (int64/uint64); `compute` takes one window or a batch.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import DataError

Q15_ONE = 1 << 15
LOG_FRAC_BITS = 6        # log2 values are in 1/64 octave
LOG_TABLE_BITS = 6       # 64-entry table for the fractional part
MAP_SHIFT = 16           # int8 map: ((log - lo) * mult) >> MAP_SHIFT
PRESCALE_SHIFT = 2       # (x - mean) * hann_q15 >> (2 + log2 first radix): < 2^29 after it
MAX_CHANNELS = 8


def _q15(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values * Q15_ONE), -Q15_ONE, Q15_ONE - 1).astype(np.int64)


def _q31(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values * (1 << 31)), -(1 << 31), (1 << 31) - 1).astype(np.int64)


def _mulhi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """High word of a 32x32 -> 64-bit product (one SMULL on Cortex-M): floor(a * b / 2^32)."""
    return (a * b) >> 32


def _mulhi_neg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """-ceil(a * b / 2^32) = floor(-a * b / 2^32): what SMMLS subtracts."""
    return (-a * b) >> 32


def _cmul(xr, xi, c, s):
    """High words of (xr + j xi) * (c - j s): tr floor + floor, ti floor - ceiling (SMMUL,
    SMMLA, SMMUL, SMMLS)."""
    return _mulhi(xr, c) + _mulhi(xi, s), _mulhi(xi, c) + _mulhi_neg(xr, s)


def hann_q15(n: int) -> np.ndarray:
    """Periodic Hann window in Q15."""
    return _q15(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n))


def _q30(values: np.ndarray) -> np.ndarray:
    return np.round(values * (1 << 30)).astype(np.int64)


def fft_radices(m: int) -> list[int]:
    """Radices of the m-point complex FFT (m >= 8), first stage first: 4 or 2 (unit twiddles,
    fused with the window; 4 when log2(m) is odd), then 4s, then a last 2."""
    levels = m.bit_length() - 1
    first = 4 if levels % 2 else 2
    return [first] + [4] * ((levels - 1 - first // 2) // 2) + [2]


def prescale_shift(m: int) -> int:
    """The window's shift: the first stage adds r inputs, so each is divided by r first."""
    return PRESCALE_SHIFT + fft_radices(m)[0].bit_length() - 1


def dit_order(m: int) -> np.ndarray:
    """Input index held at each position before the first stage (mixed-radix digit reversal):
    each stage of radix r combines r sub-transforms of x[r n + i] stored as contiguous blocks."""
    perm = np.zeros(1, dtype=np.int64)
    for r in fft_radices(m):        # built bottom up: the last stage splits first
        perm = np.concatenate([i + r * perm for i in range(r)])
    return perm


def radix4_twiddles_q30(m: int) -> list[np.ndarray]:
    """Per radix-4 stage, in the C loop's order: for each m' < q = size / 4, the cos and sin
    (Q30) of W_size^(i m') for i = 1, 2, 3, interleaved (m' = 0 too, which the C skips)."""
    out, radices = [], fft_radices(m)
    size = radices[0]
    for _ in radices[1:-1]:
        size *= 4
        q = size // 4
        mm = np.arange(q)[:, None] * np.arange(1, 4)[None, :]
        ang = 2 * np.pi * mm / size
        out.append(np.stack([_q30(np.cos(ang)), _q30(np.sin(ang))], axis=-1).reshape(q, -1))
    return out


def quarter_twiddles(n: int) -> np.ndarray:
    """For m = 0 .. N/8: W_{N/2}^m in Q30 (the last stage) and W_N^m in Q31 (the split), as
    [cos, sin, cos, sin]. Each sine is the cosine of the complementary index, so the table's
    symmetries (sin <-> cos at N/8, the sign of cos past N/8) hold exactly."""
    m = np.arange(n // 8 + 1)
    half = n // 2
    return np.stack([_q30(np.cos(2 * np.pi * m / half)), _q30(np.cos(2 * np.pi * (half // 4 - m) / half)),
                     _q31(np.cos(2 * np.pi * m / n)), _q31(np.cos(2 * np.pi * (half // 2 - m) / n))], axis=1)


def unfold_quarter(quarter: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The quarter table unfolded the way tg_features.c reads it: the last stage's twiddles for
    m < N/4 ([m, 2]: m > N/8 reads N/4 - m with cos negated) and the split's for 0 < k <= N/4
    ([k - 1, 2]: k > N/8 reads N/4 - k with cos and sin swapped)."""
    half = n // 2
    m = np.arange(half // 2)
    mir = np.minimum(m, half // 2 - m)
    last = np.stack([np.where(m <= half // 4, 1, -1) * quarter[mir, 0], quarter[mir, 1]], axis=1)
    k = np.arange(1, half // 2 + 1)
    low = k <= half // 4
    kk = np.where(low, k, half // 2 - k)
    split = np.stack([np.where(low, quarter[kk, 2], quarter[kk, 3]),
                      np.where(low, quarter[kk, 3], quarter[kk, 2])], axis=1)
    return last, split


def log2_table() -> np.ndarray:
    """Fractional log2 of the 6 bits below the top bit, at each cell's midpoint, in Q6."""
    i = np.arange(1 << LOG_TABLE_BITS)
    frac = np.log2(1.0 + (i + 0.5) / (1 << LOG_TABLE_BITS))
    return np.round(frac * (1 << LOG_FRAC_BITS)).astype(np.int64)


def mel_band_edges(n_fft: int, sample_rate: float, n_bands: int, f_min: float, f_max: float,
                   knee_hz: float) -> list[int]:
    """Band edges in FFT bins, spaced evenly on a mel-like scale (linear below knee_hz,
    logarithmic above), each band at least one bin wide. Bin 0 (DC) is never used."""
    n_bins = n_fft // 2
    hz_per_bin = sample_rate / n_fft
    lo_bin = max(1, int(round(f_min / hz_per_bin)))
    hi_bin = min(n_bins, int(round(f_max / hz_per_bin)))
    if hi_bin - lo_bin < n_bands:
        raise DataError(f"{n_bands} bands do not fit between {f_min:g} and {f_max:g} Hz with a "
                        f"{n_fft}-sample window; use fewer bands or a longer window")

    def warp(f):
        return np.log1p(np.asarray(f) / knee_hz)

    targets = np.expm1(np.linspace(warp(lo_bin * hz_per_bin), warp(hi_bin * hz_per_bin),
                                   n_bands + 1)) * knee_hz / hz_per_bin
    edges = [lo_bin]
    for i in range(1, n_bands):
        remaining = n_bands - i
        edge = int(round(targets[i]))
        edge = max(edge, edges[-1] + 1)                 # at least one bin per band
        edge = min(edge, hi_bin - remaining)            # leave room for the bands after it
        edges.append(edge)
    edges.append(hi_bin)
    return edges


def check_window(n: int) -> None:
    if n < 16 or n > 4096 or n & (n - 1):
        raise DataError(f"window {n} is not a power of two between 16 and 4096; pick e.g. 1024")


@dataclass
class FrontEndConfig:
    window: int = 1024
    sample_rate: float = 8000.0
    n_bands: int = 64
    f_min: float = 8.0
    f_max: float = 4000.0
    knee_hz: float = 150.0     # bands are ~linear below this, logarithmic above
    band_edges: list[int] = field(default_factory=list)
    log_lo: int = 0          # Q6 log2 value mapped to int8 -128
    log_mult: int = 1 << 12  # int8 steps per Q6 unit, in Q16
    # Float samples (user files) become int16 by this gain; 1.0 for int16 sources.
    input_gain: float = 1.0
    channels: int = 1        # sensor axes, interleaved in the raw window; one FFT each

    def hashed(self) -> dict:
        """The fields the parameters hash covers. `channels` only when it is not 1, so a
        single-channel front end keeps the hash it had before channels existed."""
        d = asdict(self)
        if d["channels"] == 1:
            del d["channels"]
        return d

    def validate(self) -> None:
        check_window(self.window)
        if not isinstance(self.channels, int) or not 1 <= self.channels <= MAX_CHANNELS:
            raise DataError(f"{self.channels} channels: the front end takes 1 to {MAX_CHANNELS}")
        n = self.window
        if not self.band_edges:
            self.band_edges = mel_band_edges(n, self.sample_rate, self.n_bands, self.f_min,
                                             min(self.f_max, self.sample_rate / 2), self.knee_hz)
        e = self.band_edges
        if len(e) != self.n_bands + 1 or e[0] < 1 or e[-1] > n // 2 or any(
                b <= a for a, b in zip(e, e[1:])):
            raise DataError("inconsistent band edges; regenerate it with tinygen train")


class FrontEnd:
    """The integer reference of the feature extractor (and the source of the C tables)."""

    def __init__(self, config: FrontEndConfig):
        config.validate()
        self.config = config
        n = config.window
        self.window = n
        self.half = n // 2
        self.channels = config.channels
        self.n_bands = config.n_bands
        self.n_features = config.n_bands * config.channels    # the network's input elements
        self.raw_samples = n * config.channels                # int16 values in one raw window
        self.hann = hann_q15(n)
        self.first = fft_radices(self.half)[0]
        self.prescale = prescale_shift(self.half)
        self.twiddles = radix4_twiddles_q30(self.half)
        self.quarter = quarter_twiddles(n)
        self.last_twiddles, self.split_twiddles = unfold_quarter(self.quarter, n)
        self.log_table = log2_table()
        self.order = dit_order(self.half)[0::self.first]   # first stage: i, i + N/(2r), ...
        self.edges = np.asarray(config.band_edges, dtype=np.int64)

    # ---- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"tinygen_version": __version__, "front_end": asdict(self.config),
                "params_hash": self.params_hash()}

    @property
    def input_shape(self) -> list[int]:
        """The network's input tensor: [1, n_bands, channels]."""
        return [1, self.n_bands, self.channels]

    def params_hash(self) -> str:
        blob = json.dumps(self.config.hashed(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict, source: str = "features.json") -> "FrontEnd":
        """source: the file the user gave, named in every error."""
        try:
            return cls(FrontEndConfig(**data["front_end"]))
        except (KeyError, TypeError, ValueError) as exc:   # missing or mistyped fields
            raise DataError(f"{source} is not a tinygen front end description ({exc}); "
                            f"regenerate it with tinygen train") from None
        except DataError as err:
            raise DataError(f"{source}: {err}") from None

    @classmethod
    def from_json(cls, path) -> "FrontEnd":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read front end parameters {path}: {exc}") from None
        return cls.from_dict(data, str(path))

    # ---- the integer pipeline ------------------------------------------------------------
    def band_log2(self, samples: np.ndarray) -> np.ndarray:
        """Q6 log2 of each band's energy, int64 [..., n_features] (steps 1-5), band-major."""
        x = np.asarray(samples)
        if x.dtype != np.int16:
            raise DataError(f"front end input must be int16 samples, got {x.dtype}")
        if x.ndim == 3 and x.shape[1:] == (self.window, self.channels):
            x = x.reshape(len(x), self.raw_samples)      # [batch, window, channels] -> interleaved
        single = x.ndim == 1
        x = np.atleast_2d(x).astype(np.int64)
        if x.ndim != 2 or x.shape[-1] != self.raw_samples:
            what = f"{self.window} samples" + (f" x {self.channels} channels" if self.channels > 1 else "")
            raise DataError(f"front end expects windows of {what}, got shape {tuple(np.shape(samples))}")
        c = self.channels
        per_channel = x.reshape(len(x), self.window, c).transpose(0, 2, 1).reshape(-1, self.window)
        out = self._log2_q6(self._band_energy(per_channel))          # [batch * c, n_bands]
        out = out.reshape(len(x), c, self.n_bands).transpose(0, 2, 1).reshape(len(x), -1)
        return out[0] if single else out

    def compute(self, samples: np.ndarray) -> np.ndarray:
        """int16 raw windows -> int8 features. A window is [raw_samples] (channels interleaved)
        or, batched, [batch, raw_samples] or [batch, window, channels]; the features are
        [n_features] or [batch, n_features], band-major."""
        log = self.band_log2(samples)
        return self.map_to_int8(log)

    def map_to_int8(self, log_q6: np.ndarray) -> np.ndarray:
        c = self.config
        q = ((log_q6 - c.log_lo) * c.log_mult) >> MAP_SHIFT
        return (np.clip(q, 0, 255) - 128).astype(np.int8)

    def calibrate(self, windows: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.9) -> None:
        """Choose log_lo / log_mult so training features span the int8 range."""
        log = self.band_log2(windows)
        lo = int(np.floor(np.percentile(log, low_pct)))
        hi = int(np.ceil(np.percentile(log, high_pct)))
        hi = max(hi, lo + 4 * (1 << LOG_FRAC_BITS))   # at least 4 octaves: keeps mult < 2^16
        self.config.log_lo = lo
        self.config.log_mult = int(round(255 * (1 << MAP_SHIFT) / (hi - lo)))

    def _band_energy(self, x: np.ndarray) -> np.ndarray:
        shift = self.window.bit_length() - 1
        mean = x.sum(axis=1, keepdims=True) >> shift
        y = ((x - mean) * self.hann) >> self.prescale
        zr, zi = self._fft(y[:, 0::2], y[:, 1::2])
        xr, xi = self._split(zr, zi)
        power = xr * xr + xi * xi                       # < 2^61: int64 is enough
        cums = np.concatenate([np.zeros((len(x), 1), np.int64), np.cumsum(power, axis=1)], axis=1)
        return (cums[:, self.edges[1:]] - cums[:, self.edges[:-1]]).astype(np.uint64)

    def _fft(self, yr: np.ndarray, yi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The scaled complex FFT of yr + j yi, stage by stage as in tg_features.c."""
        b, m, r = len(yr), self.half, self.first
        idx = [self.order + i * (m // r) for i in range(r)]     # first stage: unit twiddles
        if r == 4:
            zr, zi = _butterfly4([(yr[:, i], yi[:, i]) for i in idx])
        else:
            a, c = idx
            zr = np.stack([yr[:, a] + yr[:, c], yr[:, a] - yr[:, c]], axis=2)
            zi = np.stack([yi[:, a] + yi[:, c], yi[:, a] - yi[:, c]], axis=2)
        zr, zi = zr.reshape(b, m), zi.reshape(b, m)
        size = r
        for w in self.twiddles:
            size *= 4
            q = size // 4
            zr, zi = zr.reshape(b, m // size, 4, q), zi.reshape(b, m // size, 4, q)
            t = [(zr[:, :, 0] >> 2, zi[:, :, 0] >> 2)]
            t += [_cmul(zr[:, :, i], zi[:, :, i], w[:, 2 * i - 2], w[:, 2 * i - 1]) for i in (1, 2, 3)]
            zr, zi = _butterfly4(t)
            zr, zi = zr.reshape(b, m), zi.reshape(b, m)
        # last stage: radix 2 over the halves, the second input doubled so its Q30 product is
        # a half, like the first's >> 1
        h = m // 2
        w = self.last_twiddles
        tr, ti = _cmul(zr[:, h:] * 2, zi[:, h:] * 2, w[:, 0], w[:, 1])
        ar, ai = zr[:, :h] >> 1, zi[:, :h] >> 1
        return np.concatenate([ar + tr, ar - tr], axis=1), np.concatenate([ai + ti, ai - ti], axis=1)

    def _split(self, zr: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X[k] (k < N/2, bin 0 left 0: no band uses it) from Z[k] and Z[N/2 - k], the pair
        (k, N/2 - k) sharing its four products; at k = N/4 the k formula is the one kept."""
        m = self.half
        k = np.arange(1, m // 2 + 1)
        mk = m - k
        er, ei = zr[:, k] + zr[:, mk], zi[:, k] - zi[:, mk]
        dr, di = zr[:, k] - zr[:, mk], zi[:, k] + zi[:, mk]
        c, s = self.split_twiddles[:, 0], self.split_twiddles[:, 1]
        u = _mulhi(di, c) + _mulhi_neg(dr, s)
        v = _mulhi(dr, c) + _mulhi(di, s)
        ar, ai = er >> 1, ei >> 1
        xr, xi = np.zeros_like(zr), np.zeros_like(zi)
        xr[:, mk], xi[:, mk] = ar - u, ai + v           # X[N/2 - k], imaginary part negated
        xr[:, k], xi[:, k] = ar + u, ai - v
        return xr, xi

    def _log2_q6(self, energy: np.ndarray) -> np.ndarray:
        e = energy.astype(np.uint64)
        msb = np.zeros(e.shape, dtype=np.int64)
        rest = e.copy()
        for s in (32, 16, 8, 4, 2, 1):
            big = (rest >> np.uint64(s)) != 0
            msb = np.where(big, msb + s, msb)
            rest = np.where(big, rest >> np.uint64(s), rest)
        tb = LOG_TABLE_BITS
        down = np.clip(msb - tb, 0, None).astype(np.uint64)
        up = np.clip(tb - msb, 0, None).astype(np.uint64)
        idx = (((e >> down) << up) & np.uint64((1 << tb) - 1)).astype(np.int64)
        out = msb * (1 << LOG_FRAC_BITS) + self.log_table[idx]
        return np.where(e == 0, 0, out)


def _butterfly4(t: list) -> tuple[np.ndarray, np.ndarray]:
    """The radix-4 sums of four (already scaled or twiddled) inputs t0..t3, each (re, im):
    the outputs stacked on a new axis 2 (the four quarters of a block)."""
    a0 = (t[0][0] + t[2][0], t[0][1] + t[2][1])
    a1 = (t[0][0] - t[2][0], t[0][1] - t[2][1])
    c0 = (t[1][0] + t[3][0], t[1][1] + t[3][1])
    c1 = (t[1][0] - t[3][0], t[1][1] - t[3][1])
    outr = [a0[0] + c0[0], a1[0] + c1[1], a0[0] - c0[0], a1[0] - c1[1]]
    outi = [a0[1] + c0[1], a1[1] - c1[0], a0[1] - c0[1], a1[1] + c1[0]]
    return np.stack(outr, axis=2), np.stack(outi, axis=2)


def estimate_hz_per_feature(fe: FrontEnd) -> list[float]:
    """Centre frequency of each band, for reports."""
    hz = fe.config.sample_rate / fe.window
    e = fe.edges
    return [float(hz * (a + b - 1) / 2) for a, b in zip(e[:-1], e[1:])]


def default_front_end(window: int = 1024, sample_rate: float = 8000.0, channels: int = 1) -> FrontEnd:
    n_bands = 64 if window >= 512 else max(8, window // 8)
    return FrontEnd(FrontEndConfig(window=window, sample_rate=float(sample_rate), n_bands=n_bands,
                                   channels=channels, f_max=float(sample_rate) / 2,
                                   f_min=max(float(sample_rate) / window, 1.0)))
