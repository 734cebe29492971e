"""The training distribution of the front end's features, for features.json ("training_stats"):
what `tinygen monitor` compares a device's drift statistics with.

Per feature (band b of channel c at [b * channels + c], like the network's input):
    mean, std                     over every training window
    condition_lo, condition_hi    the 1st and 99th percentile, over training segments, of a
                                  segment's mean: a segment is a stretch of one recording, so one
                                  machine at one operating condition; this is the envelope of the
                                  conditions training saw
    condition_std                 the median standard deviation inside a segment
and the fraction of raw samples at the int16 rails and of features at the int8 rails, and the
classes' share of the training windows.

Why an envelope of conditions rather than the mean of all windows: training mixes classes,
machines and speeds, so one healthy machine at one trained speed sits far from the overall mean
in many bands (measured on the synthetic data: up to 1.9 overall standard deviations in 18 of 32
bands) while it is exactly what training saw. A device's mean outside every condition training
saw, by more than the spread inside one condition, is what drift looks like.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

LOW_PCT, HIGH_PCT = 1.0, 99.0


def _round(values) -> list[float]:
    return [round(float(v), 4) for v in np.asarray(values, dtype=np.float64).ravel()]


def training_stats(fe, windows: np.ndarray, labels: np.ndarray, segments: np.ndarray,
                   class_names: Optional[Sequence[str]] = None) -> dict:
    """fe: the FrontEnd; windows: int16 raw training windows [N, raw_samples]; labels [N];
    segments: each window's segment id [N] (tinygen.data.dataset.split_windows)."""
    raw = np.asarray(windows, dtype=np.int16)
    feats = fe.compute(raw).astype(np.int64)
    f = feats.astype(np.float64)
    seg = np.asarray(segments)
    ids, inverse = np.unique(seg, return_inverse=True)
    sums = np.zeros((len(ids), f.shape[1]))
    np.add.at(sums, inverse, f)
    counts = np.bincount(inverse, minlength=len(ids)).astype(np.float64)
    seg_mean = sums / counts[:, None]
    sq = np.zeros_like(sums)
    np.add.at(sq, inverse, (f - seg_mean[inverse]) ** 2)
    several = counts >= 2
    seg_std = np.sqrt(sq[several] / counts[several][:, None]) if several.any() else np.zeros((1, f.shape[1]))
    n_classes = int(max(np.max(labels) + 1 if len(labels) else 0, len(class_names or ())))
    prior = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes) / max(len(labels), 1)
    return {
        "windows": int(len(f)), "segments": int(len(ids)), "features": int(f.shape[1]),
        "mean": _round(f.mean(axis=0)), "std": _round(f.std(axis=0)),
        "condition_lo": _round(np.percentile(seg_mean, LOW_PCT, axis=0)),
        "condition_hi": _round(np.percentile(seg_mean, HIGH_PCT, axis=0)),
        "condition_std": _round(np.median(seg_std, axis=0)),
        "saturated_raw": round(float(np.mean((raw == 32767) | (raw == -32768))), 6),
        "saturated_features": round(float(np.mean((feats == 127) | (feats == -128))), 6),
        "class_prior": _round(prior),
        "percentiles": [LOW_PCT, HIGH_PCT],
    }
