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

Machines and operating conditions, so that a test can hold out what training never saw:
- a *machine* fixes its bearing (one of three geometries, so its defect frequencies differ), its
  housing resonance per axis, its residual imbalance/misalignment and its sensor's gain and noise;
- an *operating condition* is a shaft speed (SPEEDS_HZ) and a load (0-2: heavier load, harder
  strikes and more broadband response).
Every recording is one (class, machine, speed) with a drawn load, named
`<class>/m<machine>_<speed>hz_load<load>`, so `--holdout` globs such as `m8_*` or `*_25hz_*` pick
machines or conditions. Axes: x (radial, in the load zone), y (radial, 90 degrees on) and z
(axial); a one-axis data set is x alone. Imbalance is a rotating force (x and y in quadrature),
misalignment shows most axially, bearing strikes most in the load zone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES = ("healthy", "imbalance", "misalignment", "outer_race", "inner_race", "ball")
AXES = ("x", "y", "z")

# Deep-groove bearings (balls, ball diameter mm, pitch diameter mm; contact angle 0): a 6205-like
# one first (the textbook figures), then two others, so machines differ in defect frequencies.
BEARINGS = ((9, 7.94, 39.04), (8, 7.94, 33.50), (10, 9.53, 46.00))


def bearing_rates(n_balls: int, ball_d: float, pitch_d: float) -> dict:
    """Defect frequencies per shaft revolution: cage (FTF), outer race, inner race, ball spin."""
    r = ball_d / pitch_d
    return {"ftf": 0.5 * (1 - r), "bpfo": 0.5 * n_balls * (1 - r), "bpfi": 0.5 * n_balls * (1 + r),
            "bsf": 0.5 * pitch_d / ball_d * (1 - r ** 2)}


_R = bearing_rates(*BEARINGS[0])
FTF, BPFO, BPFI, BSF = _R["ftf"], _R["bpfo"], _R["bpfi"], _R["bsf"]

SPEEDS_HZ = (15.0, 20.0, 25.0, 30.0, 35.0)       # operating conditions (shaft Hz)
LOADS = (0, 1, 2)
COUNTS_PER_G = 2048.0
RESONANCE_HZ = (900.0, 1800.0)                   # housing resonance rung by bearing strikes
# How each source reaches each axis (x, y, z): strikes in the load zone, misalignment axially.
STRIKE_GAIN = np.array([1.0, 0.55, 0.3])
MISALIGN_GAIN = np.array([0.5, 0.4, 1.0])


@dataclass(frozen=True)
class Machine:
    index: int
    rates: dict                 # bearing defect frequencies per revolution
    resonance: tuple            # ((fn, zeta) per axis)
    residual: tuple             # healthy 1x, 2x, 3x amplitudes (g)
    gain: tuple                 # sensor gain per axis
    noise: float                # sensor noise (g)
    broadband: float            # structural broadband level (g)


def machine(seed: int, index: int) -> Machine:
    rng = np.random.default_rng([seed, 99, index])
    fn = rng.uniform(*RESONANCE_HZ)
    return Machine(index, bearing_rates(*BEARINGS[index % len(BEARINGS)]),
                   tuple((fn * rng.uniform(0.85, 1.15), rng.uniform(0.03, 0.08)) for _ in AXES),
                   (rng.uniform(0.02, 0.06), rng.uniform(0.005, 0.03), rng.uniform(0.0, 0.01)),
                   tuple(rng.uniform(0.8, 1.25, size=3)), rng.uniform(0.01, 0.05),
                   rng.uniform(0.005, 0.02))


def _random_machine(rng) -> Machine:
    return machine(int(rng.integers(1 << 30)), int(rng.integers(len(BEARINGS))))


def _scipy_signal():
    """scipy.signal, imported when data is generated (it takes seconds; every CLI command
    imports this module)."""
    from scipy import signal
    return signal


def _smooth_walk(rng, n, fs, corner_hz):
    """Slowly varying zero-mean noise with unit standard deviation."""
    signal = _scipy_signal()
    b, a = signal.butter(2, corner_hz / (fs / 2))
    w = signal.lfilter(b, a, rng.normal(size=n + 2000))[2000:]
    return w / (w.std() + 1e-12)


def _resonance_kernel(fs, fn, zeta):
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


def _defect_tones(rng, label, rates, shaft_cycles, phase, severity):
    """Low-frequency lines at the defect frequency and its harmonics (the periodic load change
    as elements roll over the defect, seen directly below the resonance in advanced faults).
    Inner race: modulated by shaft rotation (sidebands at +-1x); ball: by the cage (+-FTF)."""
    rate = {"outer_race": rates["bpfo"], "inner_race": rates["bpfi"], "ball": 2 * rates["bsf"]}[label]
    cycles = 2 * np.pi * shaft_cycles * rate
    tones = sum(severity * rng.uniform(0.05, 0.12) / k * np.sin(k * cycles + rng.uniform(0, 2 * np.pi))
                for k in range(1, 5))
    if label == "inner_race":
        tones = tones * (1 + 0.8 * np.cos(phase + rng.uniform(0, 2 * np.pi)))
    elif label == "ball":
        tones = tones * (1 + 0.8 * np.cos(2 * np.pi * shaft_cycles * rates["ftf"] + rng.uniform(0, 2 * np.pi)))
    return tones


def _bearing_strikes(rng, label, rates, n, fs, shaft_cycles, phase, severity):
    if label == "outer_race":
        return _strikes(rng, n, fs, shaft_cycles * rates["bpfo"], lambda p: severity)
    if label == "inner_race":
        mod = rng.uniform(0, 2 * np.pi)
        return _strikes(rng, n, fs, shaft_cycles * rates["bpfi"],
                        lambda p: severity * (0.25 + np.maximum(0, np.cos(phase[p] + mod)) ** 1.5))
    cage = 2 * np.pi * shaft_cycles * rates["ftf"] + rng.uniform(0, 2 * np.pi)
    return _strikes(rng, n, fs, shaft_cycles * 2 * rates["bsf"],
                    lambda p: severity * 0.7 * (1 + 0.8 * np.cos(cage[p])))


def _shaft_lines(rng, label, mach, fr0, phase, n_axes):
    """Per-axis shaft harmonics: imbalance rotates (x, y in quadrature), misalignment is axial."""
    harm = dict(zip((1, 2, 3), mach.residual))
    harm = {h: a * rng.uniform(0.7, 1.3) for h, a in harm.items()}
    if label == "imbalance":
        harm[1] += rng.uniform(0.3, 1.0) * (fr0 / 25.0) ** 2
    elif label == "misalignment":
        harm[2] += rng.uniform(0.12, 0.5)
        harm[3] += rng.uniform(0.04, 0.15)
        harm[1] += rng.uniform(0.0, 0.06)
    offsets = {h: rng.uniform(0, 2 * np.pi) for h in harm}
    lines = []
    for axis in range(n_axes):
        quad = (0.0, np.pi / 2, 0.0)[axis]
        g1 = (1.0, 1.0, 0.15)[axis]
        x = g1 * harm[1] * np.sin(phase + offsets[1] + quad)
        x = x + MISALIGN_GAIN[axis] / MISALIGN_GAIN[0] * sum(
            harm[h] * np.sin(h * phase + offsets[h] + h * quad) for h in (2, 3))
        lines.append(x)
    return lines


def recording(label: str, rng: np.random.Generator, fs: float, n: int, mach: Machine | None = None,
              speed_hz: float | None = None, load: int = 1, axes: int = 1) -> np.ndarray:
    """One recording of class `label`: int16 [n] for one axis, [n, axes] for several. A random
    machine and speed when none are given."""
    mach = mach or _random_machine(rng)
    fr0 = (speed_hz or rng.choice(SPEEDS_HZ)) * rng.uniform(0.98, 1.02)
    fr = fr0 * (1 + 0.004 * _smooth_walk(rng, n, fs, 0.5))
    shaft_cycles = np.cumsum(fr) / fs
    phase = 2 * np.pi * shaft_cycles
    lines = _shaft_lines(rng, label, mach, fr0, phase, axes)

    severity = rng.uniform(0.25, 1.2) * (1 + 0.25 * load)
    faulty = label in ("outer_race", "inner_race", "ball")
    strikes = _bearing_strikes(rng, label, mach.rates, n, fs, shaft_cycles, phase, severity) if faulty else None
    tones = _defect_tones(rng, label, mach.rates, shaft_cycles, phase, severity) if faulty else 0.0
    level = mach.broadband * (1 + 0.3 * load)
    signal = _scipy_signal()
    out = []
    for axis in range(axes):
        kernel = _resonance_kernel(fs, *mach.resonance[axis])
        x = lines[axis] + level * signal.lfilter(kernel, [1.0], rng.normal(size=n))
        if faulty:
            x = x + STRIKE_GAIN[axis] * (signal.fftconvolve(strikes, kernel)[:n] + tones)
        x = x + rng.normal(scale=mach.noise, size=n)                  # sensor noise
        counts = x * COUNTS_PER_G * mach.gain[axis] * rng.uniform(0.95, 1.05) + rng.uniform(-300, 300)
        out.append(np.clip(np.round(counts), -32768, 32767).astype(np.int16))
    return out[0] if axes == 1 else np.stack(out, axis=1)


def recording_name(label: str, machine_index: int, speed_hz: float, load: int) -> str:
    return f"{label}/m{machine_index}_{speed_hz:g}hz_load{load}"


def default_holdout(machines: int, speeds=SPEEDS_HZ) -> tuple[str, ...]:
    """The held-out test set of the built-in data: the last fifth of the machines (at least one)
    and the middle speed, on every machine. Training never hears either."""
    held = range(machines - max(1, machines // 5), machines)
    return tuple(f"m{m}_*" for m in held) + (f"*_{speeds[len(speeds) // 2]:g}hz_*",)


def generate(seed: int = 0, fs: float = 8000.0, machines: int = 10, seconds: float = 2.0,
             axes: int = 1, speeds=SPEEDS_HZ, classes=CLASSES, progress=None):
    """[(label_index, int16 samples, name)]: one recording per class, machine and speed, each at
    a drawn load; same seed, same data. `progress(done, total)` after each recording."""
    out = []
    n = int(round(seconds * fs))
    fleet = [machine(seed, m) for m in range(machines)]
    total = len(classes) * machines * len(speeds)
    for ci, label in enumerate(classes):
        for mach in fleet:
            for si, speed in enumerate(speeds):
                rng = np.random.default_rng([seed, ci, mach.index, si])
                load = int(rng.choice(LOADS))
                x = recording(label, rng, fs, n, mach, speed, load, axes)
                out.append((ci, x, recording_name(label, mach.index, speed, load)))
                if progress:
                    progress(len(out), total)
    return out
