"""Drift: a device's statistics (STATS, tinygen.wire.DeviceStats) against the training distribution
stored in features.json ("training_stats", tinygen.features.training_stats).

Per feature (band b of channel c), the drift score is how far the device's running mean lies
outside the envelope of the conditions training saw, [condition_lo, condition_hi], in units of
the spread inside one condition (condition_std, at least one int8 step):

    score = max(0, mean - condition_hi, condition_lo - mean) / max(condition_std, 1)

0 inside the envelope. A band whose score exceeds the threshold (default 2) is flagged. Measured
on the synthetic vibration data (1024-sample windows, 32 bands; training on one machine at 15
and 20 Hz, loads 0-1): windows from the training conditions scored 0.00-0.03 in every band,
mixed or one class at a time; the same machine at 30 or 35 Hz scored 8.7-18 in its shaft bands,
another machine 5.0. With fewer than MIN_WINDOWS windows the device's mean is too noisy to judge
and nothing is flagged.

Saturation is flagged on its own: raw samples at the int16 rails beyond the training fraction by
more than SATURATION_MARGIN (a clipping sensor or a gain change).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import DataError
from .wire import DeviceStats

THRESHOLD = 2.0
MIN_WINDOWS = 8
SATURATION_MARGIN = 0.01
_KEYS = ("mean", "std", "condition_lo", "condition_hi", "condition_std")


@dataclass(frozen=True)
class Training:
    """features.json's training statistics, per feature."""

    mean: np.ndarray
    std: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    spread: np.ndarray
    saturated_raw: float
    saturated_features: float
    class_prior: np.ndarray
    windows: int


def load_training(features_path) -> tuple[Training, dict]:
    """The training statistics and the whole document (front end, class names)."""
    path = Path(features_path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    ts = doc.get("training_stats")
    if not isinstance(ts, dict) or any(k not in ts for k in _KEYS):
        raise DataError(f"{path} has no training statistics; it comes from a tinygen older than "
                        "the drift monitor: train again (tinygen train) to write them")
    try:
        arrays = [np.asarray(ts[k], dtype=np.float64) for k in _KEYS]
        t = Training(*arrays, float(ts.get("saturated_raw", 0.0)),
                     float(ts.get("saturated_features", 0.0)),
                     np.asarray(ts.get("class_prior", []), dtype=np.float64),
                     int(ts.get("windows", 0)))
    except (TypeError, ValueError):
        raise DataError(f"{path}: training_stats holds something other than numbers") from None
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise DataError(f"{path}: training_stats arrays differ in length")
    return t, doc


@dataclass
class Drift:
    """One comparison: per-feature scores and what they flag."""

    windows: int
    threshold: float
    mean: np.ndarray
    std: np.ndarray
    scores: np.ndarray
    flagged: list[int]
    saturated_raw: float
    saturated_features: float
    saturation_flag: bool
    classes: np.ndarray
    class_prior: np.ndarray
    judged: bool                       # enough windows to judge
    labels: list[str] = field(default_factory=list)     # "band 12" / "band 12 axis 1"
    training: Optional[Training] = None

    @property
    def drifted(self) -> bool:
        return self.judged and (bool(self.flagged) or self.saturation_flag)

    def to_dict(self) -> dict:
        t = self.training
        return {"windows": self.windows, "judged": self.judged, "drifted": self.drifted,
                "threshold": self.threshold, "flagged": [self.labels[i] for i in self.flagged],
                "bands": [{"band": self.labels[i], "score": round(float(self.scores[i]), 3),
                           "device_mean": round(float(self.mean[i]), 3),
                           "device_std": round(float(self.std[i]), 3),
                           "training_mean": round(float(t.mean[i]), 3) if t else None,
                           "training_lo": round(float(t.lo[i]), 3) if t else None,
                           "training_hi": round(float(t.hi[i]), 3) if t else None}
                          for i in range(len(self.scores))],
                "saturated_raw": self.saturated_raw, "saturated_features": self.saturated_features,
                "saturation_flag": self.saturation_flag,
                "classes": [int(c) for c in self.classes],
                "class_prior": [float(p) for p in self.class_prior]}


def band_labels(n_features: int, channels: int) -> list[str]:
    if channels <= 1:
        return [f"band {b}" for b in range(n_features)]
    return [f"band {i // channels} axis {i % channels}" for i in range(n_features)]


def compare(stats: DeviceStats, training: Training, threshold: float = THRESHOLD,
            channels: int = 1) -> Drift:
    n = len(training.mean)
    if len(stats.mean_q16) != n:
        raise DataError(f"the device keeps statistics of {len(stats.mean_q16)} features, "
                        f"features.json of {n}: is this the firmware of that front end?")
    mean, std = stats.mean, stats.std
    outside = np.maximum(0.0, np.maximum(mean - training.hi, training.lo - mean))
    scores = outside / np.maximum(training.spread, 1.0)
    judged = stats.windows >= MIN_WINDOWS
    flagged = [int(i) for i in np.flatnonzero(scores > threshold)] if judged else []
    sat_flag = judged and stats.saturated_raw > training.saturated_raw + SATURATION_MARGIN
    return Drift(stats.windows, threshold, mean, std, scores, flagged, stats.saturated_raw,
                 stats.saturated_features, bool(sat_flag), stats.classes, training.class_prior,
                 judged, band_labels(n, channels), training)


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def report_text(d: Drift, class_names: Sequence[str] = (), hz: Sequence[float] = ()) -> str:
    t = d.training
    lines = [f"{d.windows:,} windows seen since the statistics were reset"]
    lines.append(f"saturated raw samples {_pct(d.saturated_raw)} (training {_pct(t.saturated_raw)}), "
                 f"saturated features {_pct(d.saturated_features)} (training "
                 f"{_pct(t.saturated_features)})" + ("  CLIPPING" if d.saturation_flag else ""))
    lines.append(f"{'':>2}{'feature':<16}{'Hz':>7}  {'training envelope':>19}  {'device mean':>11}"
                 f"  {'std':>5}  {'drift':>6}")
    for i, label in enumerate(d.labels):
        f_hz = f"{hz[i]:.0f}" if i < len(hz) else ""
        mark = "  DRIFT" if i in d.flagged else ""
        lines.append(f"  {label:<16}{f_hz:>7}  {t.lo[i]:>8.1f} .. {t.hi[i]:>7.1f}  {d.mean[i]:>11.1f}"
                     f"  {d.std[i]:>5.1f}  {d.scores[i]:>6.2f}{mark}")
    if len(d.classes):
        total = max(int(d.classes.sum()), 1)
        names = list(class_names) or [f"class {k}" for k in range(len(d.classes))]
        parts = [f"{names[k] if k < len(names) else k} {100 * c / total:.0f} %"
                 + (f" ({100 * d.class_prior[k]:.0f} %)" if k < len(d.class_prior) else "")
                 for k, c in enumerate(d.classes)]
        lines.append("predicted classes (training share): " + ", ".join(parts))
    if not d.judged:
        lines.append(f"verdict: too few windows to judge ({d.windows} < {MIN_WINDOWS})")
    elif d.drifted:
        what = [f"{len(d.flagged)} of {len(d.labels)} features beyond {d.threshold:g} "
                f"(within-condition standard deviations outside the training envelope)"] if d.flagged else []
        if d.saturation_flag:
            what.append("raw samples clip more often than in training")
        lines.append("verdict: DRIFT: " + "; ".join(what))
    else:
        lines.append(f"verdict: no drift (every feature within {d.threshold:g} of the training "
                     "envelope)")
    return "\n".join(lines)
