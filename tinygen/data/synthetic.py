"""Synthetic rotating-machine vibration, deterministic by seed.

Physics, kept simple but honest:
- shaft rotation at one of several speed conditions, with slow speed jitter (phase = integral
  of the instantaneous speed, so every harmonic follows the jitter);
- shaft harmonics: residual imbalance (1x) and misalignment (2x, 3x) in every machine;
  an imbalance fault raises 1x (centrifugal force grows with speed squared), misalignment raises 2x/3x;
- rolling-element bearing faults from the bearing geometry (a 6205-like deep-groove bearing):
  BPFO, BPFI, BSF and FTF. Each defect strike is an impulse that rings a structural resonance
  (damped sine). Outer race: fixed in the load zone, steady strikes. Inner race: the defect
  rotates through the load zone, so strikes are amplitude-modulated at shaft speed. Ball: strikes
  at 2x BSF, modulated by the cage (FTF). Strike times slip by a percent or two (rolling slip);
- broadband structural response and sensor noise; per-recording sensor gain and DC offset;
  ADC quantisation to int16 (2048 counts per g).
Fault severities run down to barely detectable, so a poor model does not reach 100 %.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

CLASSES = ("healthy", "imbalance", "misalignment", "outer_race", "inner_race", "ball")

# 6205-like bearing: 9 balls, ball diameter 7.94 mm, pitch diameter 39.04 mm, contact angle 0.
N_BALLS, BALL_D, PITCH_D = 9, 7.94, 39.04
_RATIO = BALL_D / PITCH_D
FTF = 0.5 * (1 - _RATIO)                         # cage, per shaft revolution
BPFO = 0.5 * N_BALLS * (1 - _RATIO)              # outer-race defect
BPFI = 0.5 * N_BALLS * (1 + _RATIO)              # inner-race defect
BSF = 0.5 * PITCH_D / BALL_D * (1 - _RATIO ** 2)  # ball spin

SPEEDS_HZ = (15.0, 20.0, 25.0, 30.0, 35.0)       # operating conditions (shaft Hz)
COUNTS_PER_G = 2048.0
RESONANCE_HZ = (900.0, 1800.0)                   # housing resonance rung by bearing strikes


def _smooth_walk(rng, n, fs, corner_hz):
    """Slowly varying zero-mean noise with unit standard deviation."""
    b, a = signal.butter(2, corner_hz / (fs / 2))
    w = signal.lfilter(b, a, rng.normal(size=n + 2000))[2000:]
    return w / (w.std() + 1e-12)


def _resonance_kernel(rng, fs):
    fn = rng.uniform(*RESONANCE_HZ)
    zeta = rng.uniform(0.03, 0.08)
    t = np.arange(int(fs * 0.02)) / fs
    return np.exp(-2 * np.pi * fn * zeta * t) * np.sin(2 * np.pi * fn * np.sqrt(1 - zeta ** 2) * t)


def _strikes(rng, n, fs, cycles, amplitude):
    """Impulses where the defect's cumulative cycle count crosses an integer (with slip)."""
    k = np.arange(np.floor(cycles[0]) + 1, np.floor(cycles[-1]) + 1)
    pos = np.interp(k, cycles, np.arange(n))
    period = np.diff(pos).mean() if len(pos) > 1 else n
    pos = pos + rng.normal(scale=0.015 * period, size=len(pos))
    pos = np.clip(np.round(pos).astype(int), 0, n - 1)
    out = np.zeros(n)
    np.add.at(out, pos, amplitude(pos) * rng.uniform(0.8, 1.2, size=len(pos)))
    return out


def _defect_tones(rng, label, shaft_cycles, phase, severity):
    """Low-frequency lines at the defect frequency and its harmonics (the periodic load change
    as elements roll over the defect, seen directly below the resonance in advanced faults).
    Inner race: modulated by shaft rotation (sidebands at +-1x); ball: by the cage (+-FTF)."""
    rate = {"outer_race": BPFO, "inner_race": BPFI, "ball": 2 * BSF}[label]
    cycles = 2 * np.pi * shaft_cycles * rate
    tones = sum(severity * rng.uniform(0.05, 0.12) / k * np.sin(k * cycles + rng.uniform(0, 2 * np.pi))
                for k in range(1, 5))
    if label == "inner_race":
        tones = tones * (1 + 0.8 * np.cos(phase + rng.uniform(0, 2 * np.pi)))
    elif label == "ball":
        tones = tones * (1 + 0.8 * np.cos(2 * np.pi * shaft_cycles * FTF + rng.uniform(0, 2 * np.pi)))
    return tones


def recording(label: str, rng: np.random.Generator, fs: float, n: int) -> np.ndarray:
    """One recording of class `label`, int16, n samples."""
    fr0 = rng.choice(SPEEDS_HZ) * rng.uniform(0.97, 1.03)
    fr = fr0 * (1 + 0.004 * _smooth_walk(rng, n, fs, 0.5))
    shaft_cycles = np.cumsum(fr) / fs
    phase = 2 * np.pi * shaft_cycles

    harm = {1: rng.uniform(0.02, 0.06), 2: rng.uniform(0.005, 0.03), 3: rng.uniform(0.0, 0.01)}
    if label == "imbalance":
        harm[1] += rng.uniform(0.3, 1.0) * (fr0 / 25.0) ** 2
    elif label == "misalignment":
        harm[2] += rng.uniform(0.12, 0.5)
        harm[3] += rng.uniform(0.04, 0.15)
        harm[1] += rng.uniform(0.0, 0.06)
    x = sum(a * np.sin(h * phase + rng.uniform(0, 2 * np.pi)) for h, a in harm.items())

    kernel = _resonance_kernel(rng, fs)
    broadband = signal.lfilter(kernel, [1.0], rng.normal(size=n))
    x = x + rng.uniform(0.005, 0.02) * broadband

    severity = rng.uniform(0.25, 1.2)
    if label == "outer_race":
        strikes = _strikes(rng, n, fs, shaft_cycles * BPFO, lambda p: severity)
    elif label == "inner_race":
        mod_phase = rng.uniform(0, 2 * np.pi)
        strikes = _strikes(rng, n, fs, shaft_cycles * BPFI,
                           lambda p: severity * (0.25 + np.maximum(0, np.cos(phase[p] + mod_phase)) ** 1.5))
    elif label == "ball":
        cage = 2 * np.pi * shaft_cycles * FTF + rng.uniform(0, 2 * np.pi)
        strikes = _strikes(rng, n, fs, shaft_cycles * 2 * BSF,
                           lambda p: severity * 0.7 * (1 + 0.8 * np.cos(cage[p])))
    else:
        strikes = None
    if strikes is not None:
        x = x + signal.fftconvolve(strikes, kernel)[:n]
        x = x + _defect_tones(rng, label, shaft_cycles, phase, severity)

    x = x + rng.normal(scale=rng.uniform(0.01, 0.05), size=n)      # sensor noise
    counts = x * COUNTS_PER_G * rng.uniform(0.8, 1.25) + rng.uniform(-300, 300)
    return np.clip(np.round(counts), -32768, 32767).astype(np.int16)


def generate(seed: int = 0, fs: float = 8000.0, recordings_per_class: int = 100,
             seconds: float = 1.0, classes=CLASSES):
    """[(label_index, int16 samples)] for every recording; same seed, same data."""
    out = []
    n = int(round(seconds * fs))
    for ci, label in enumerate(classes):
        for r in range(recordings_per_class):
            rng = np.random.default_rng([seed, ci, r])
            out.append((ci, recording(label, rng, fs, n)))
    return out
