"""The teacher: what it sees and how it is built. It never ships, so it may see more and be larger.

The student reads 64 mel-like band energies of one window (the int8 front end). The teacher reads
two float views of the same raw window, per channel:
- the power spectrum at 4x the student's resolution at high frequency (256 linear bins of
  fs/512 each for a 1024-sample window), in log;
- the *envelope spectrum*: band-pass the window around the housing resonances, take the
  magnitude of its analytic signal and the spectrum of that. Bearing strikes ring the
  resonance at the defect rate, so the envelope carries lines at BPFO, BPFI or 2xBSF (with
  shaft and cage sidebands): the classic bearing diagnosis, which band energies blur.
Both views are standardised per bin (a Normalization layer adapted on the training split, so
teacher.keras is self-contained), then a Conv1D stem and a bidirectional LSTM read them from low
to high frequency. On the default data it generalises to unseen machines and speeds much better
than the student (README, benchmarks/bench_train.py): that is what distillation hands on.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

MAX_STEPS = 256


def view_steps(window: int) -> int:
    return min(MAX_STEPS, window // 2)


def teacher_view(windows: np.ndarray, window: int, channels: int, sample_rate: float) -> np.ndarray:
    """int16 raw windows [N, window * channels] (interleaved) -> float32 [N, steps, 2 * channels]:
    per channel, the log power spectrum and the log envelope spectrum."""
    x = windows.reshape(len(windows), window, channels).astype(np.float32)
    x = np.moveaxis(x - x.mean(axis=1, keepdims=True), 1, 2)            # [N, C, window]
    steps = view_steps(window)
    hann = np.hanning(window).astype(np.float32)
    power = np.abs(np.fft.rfft(x * hann, axis=-1))[..., 1:window // 2 + 1] ** 2
    spec = np.log1p(power.reshape(*power.shape[:-1], steps, -1).sum(-1))
    band = signal.butter(4, [sample_rate / 16, sample_rate * 7 / 16], btype="band",
                         fs=sample_rate, output="sos")
    env = np.abs(signal.hilbert(signal.sosfiltfilt(band, x, axis=-1), axis=-1))
    env = env - env.mean(axis=-1, keepdims=True)
    env_spec = np.log1p(np.abs(np.fft.rfft(env * hann, axis=-1))[..., 1:steps + 1] ** 2)
    views = np.stack([spec, env_spec], axis=-1)                         # [N, C, steps, 2]
    return np.moveaxis(views, 1, 2).reshape(len(x), steps, 2 * channels).astype(np.float32)


def build_teacher(keras, input_shape, n_classes: int, x_train=None, units: int = 32,
                  stem=((16, 4), (32, 2)), dropout: float = 0.3):
    """Standardise -> two Conv-BN-ReLU-MaxPool stages (256 bins -> 32 steps) -> bidirectional
    LSTM over the steps, every step's state kept (Flatten: *where* in frequency matters) ->
    Dropout -> logits. A plain Keras graph (no custom layers), so it can be converted later."""
    inp = keras.Input(input_shape, name="spectra")
    norm = keras.layers.Normalization(axis=(1, 2), name="standardise")
    if x_train is not None:
        norm.adapt(x_train)
    x = norm(inp)
    for i, (channels, pool) in enumerate(stem):
        x = keras.layers.Conv1D(channels, 5, padding="same", use_bias=False, name=f"stem{i}")(x)
        x = keras.layers.BatchNormalization(name=f"stem{i}_bn")(x)
        x = keras.layers.ReLU(name=f"stem{i}_relu")(x)
        x = keras.layers.MaxPooling1D(pool, name=f"stem{i}_pool")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True, name="lstm"),
                                   name="bilstm")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inp, out, name="teacher")
