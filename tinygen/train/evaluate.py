"""Scores from predictions: accuracy, confusion matrix, per-class precision and recall, mean ± std."""
from __future__ import annotations

import numpy as np


def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    return round(float((np.asarray(pred) == np.asarray(y)).mean()), 4) if len(y) else float("nan")


def confusion(y, pred, n: int) -> list[list[int]]:
    cm = np.zeros((n, n), dtype=int)
    np.add.at(cm, (np.asarray(y), np.asarray(pred)), 1)
    return cm.tolist()


def per_class(cm: list[list[int]], names: list[str]) -> list[dict]:
    """Precision (of the predictions of a class, how many were right) and recall (of the windows
    of a class, how many were found); None where there is nothing to divide by."""
    m = np.asarray(cm, dtype=float)
    rows = []
    for i, name in enumerate(names):
        predicted, actual = m[:, i].sum(), m[i].sum()
        rows.append({"class": name, "windows": int(actual),
                     "precision": round(m[i, i] / predicted, 4) if predicted else None,
                     "recall": round(m[i, i] / actual, 4) if actual else None})
    return rows


def spread(values) -> dict:
    """Mean and sample standard deviation (ddof 1; 0 for one value), in the values' unit."""
    v = np.asarray(values, dtype=float)
    return {"mean": round(float(v.mean()), 4), "std": round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 4),
            "n": int(len(v))}
