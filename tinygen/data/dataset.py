"""A data set = class names + int16 recordings at one sample rate, and its leak-free split.

The split is by recording segment: each recording is cut into contiguous segments of
`segment_windows` windows; whole segments go to train, validation or test (stratified per
class, shuffled by seed); windows are cut inside a segment only. No window ever spans two
segments, so no test window shares a sample with a training window.

Held-out recordings (`holdout` globs: a machine, a load, a speed) are set aside whole before
that split, as the "holdout" split: the model never sees a window of them, and the in-distribution
test split says how much of the accuracy survives on recordings it has not heard.

A recording is int16 [n] (one channel) or [n, channels]; windows come out flat, channels
interleaved ([window * channels], the front end's raw input).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import synthetic
from .loaders import load_folder

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    class_names: list[str]
    recordings: list[tuple[int, np.ndarray]]   # (label, int16 samples [n] or [n, channels])
    sample_rate: float
    input_gain: float = 1.0                     # int16 counts per unit of the source files
    source: dict = field(default_factory=dict)  # how to rebuild it (written to features.json)
    names: list[str] = field(default_factory=list)  # "class/file": what --holdout globs match

    def __post_init__(self):
        if not self.names:
            self.names = [f"{self.class_names[lab]}/{i}" for i, (lab, _) in enumerate(self.recordings)]
        counts = {1 if s.ndim == 1 else s.shape[1] for _, s in self.recordings}
        if len(counts) > 1:
            raise DataError(f"recordings have different channel counts ({sorted(counts)}); "
                            "give every file the same channels")
        self.channels = counts.pop() if counts else 1


def synthetic_dataset(seed: int = 0, sample_rate: float = 8000.0, machines: int = 10,
                      seconds: float = 2.0, axes: int = 1, progress=None) -> Dataset:
    recs = synthetic.generate(seed, sample_rate, machines, seconds, axes, progress=progress)
    return Dataset(list(synthetic.CLASSES), [(lab, x) for lab, x, _ in recs], sample_rate, 1.0,
                   {"kind": "synthetic", "seed": seed, "sample_rate": sample_rate,
                    "machines": machines, "seconds": seconds, "axes": axes},
                   [name for _, _, name in recs])


def folder_dataset(data_dir: Path, sample_rate: float | None = None, channel: str | None = None,
                   input_gain: float | None = None) -> Dataset:
    names, recs = load_folder(data_dir, channel)
    rates = {r.sample_rate for r in recs if r.sample_rate is not None}
    if len(rates) > 1:
        by_rate = {}
        for r in recs:
            by_rate.setdefault(r.sample_rate, r.source)
        detail = ", ".join(f"{rate:g} Hz ({src})" for rate, src in list(by_rate.items())[:3])
        raise DataError(f"recordings have unequal sample rates: {detail}; resample them to one rate")
    if rates and sample_rate is not None and abs(next(iter(rates)) - sample_rate) > 1e-6:
        raise DataError(f"--sample-rate {sample_rate:g} Hz disagrees with the files ({next(iter(rates)):g} Hz)")
    rate = sample_rate if sample_rate is not None else (next(iter(rates)) if rates else None)
    if rate is None:
        raise DataError("the recordings do not state a sample rate; pass --sample-rate HZ")
    if rate <= 0:
        raise DataError(f"sample rate {rate:g} Hz is not positive")
    if input_gain is None:
        input_gain = _int16_gain([r.samples for r in recs])
    out = []
    for r in recs:
        scaled = np.round(r.samples.astype(np.float64) * input_gain)
        out.append((r.label, np.clip(scaled, -32768, 32767).astype(np.int16)))
    root = Path(data_dir)
    rel = [Path(r.source).relative_to(root).as_posix() if Path(r.source).is_relative_to(root)
           else r.source for r in recs]
    return Dataset(names, out, float(rate), input_gain,
                   {"kind": "folder", "data_dir": str(Path(data_dir).resolve()), "channel": channel,
                    "sample_rate": float(rate)}, rel)


def _int16_gain(signals) -> float:
    """1.0 if every file already holds int16-range integers (a .csv of integer counts reads as
    floats, so whole-number floats count too); else map the peak to half scale."""
    if all(s.dtype.kind in "iu" or (s.size and np.all(np.mod(s, 1) == 0)) for s in signals):
        peak = max(int(np.max(np.abs(s.astype(np.int64)))) if s.size else 0 for s in signals)
        if peak <= 32767:
            return 1.0
    peak = max(float(np.max(np.abs(s))) if s.size else 0.0 for s in signals)
    if peak == 0:
        raise DataError("every recording is all zeros")
    return 16384.0 / peak


def dataset_from_source(source: dict, data_dir: Path | None = None, input_gain: float | None = None) -> Dataset:
    """Rebuild the data set described in features.json (data_dir overrides the stored folder)."""
    if data_dir is not None:
        return folder_dataset(data_dir, source.get("sample_rate"), source.get("channel"), input_gain)
    if source.get("kind") == "synthetic":
        if "machines" not in source:
            raise DataError("features.json describes synthetic data of an older tinygen; "
                            "train again (tinygen train)")
        return synthetic_dataset(source["seed"], source["sample_rate"], source["machines"],
                                 source["seconds"], source.get("axes", 1))
    if source.get("kind") == "folder":
        return folder_dataset(Path(source["data_dir"]), source.get("sample_rate"),
                              source.get("channel"), input_gain)
    raise DataError("features.json does not say where its data came from; pass --data DIR")


def held_out(ds: Dataset, holdout) -> np.ndarray:
    """Which recordings a list of globs holds out. A glob matches the recording's name
    ("class/file.csv") or its file name alone; every glob must match something."""
    mask = np.zeros(len(ds.recordings), dtype=bool)
    for pattern in holdout or ():
        hit = np.array([fnmatch.fnmatchcase(n, pattern) or fnmatch.fnmatchcase(n.rsplit("/", 1)[-1], pattern)
                        for n in ds.names])
        if not hit.any():
            raise DataError(f"--holdout '{pattern}' matches no recording (names look like "
                            f"'{ds.names[0]}')")
        mask |= hit
    for label, name in enumerate(ds.class_names):
        kept = [not m for m, (lab, _) in zip(mask, ds.recordings) if lab == label]
        if kept and not any(kept):
            raise DataError(f"--holdout takes every recording of class '{name}'; leave some to train on")
    return mask


def split_windows(ds: Dataset, window: int, seed: int = 0, segment_windows: int = 8,
                  fractions=(0.7, 0.15, 0.15), train_hop: int | None = None, holdout=None):
    """{split: (windows int16 [N, window * channels], labels int64 [N], segment ids [N])}, with
    a "holdout" split too when `holdout` globs are given (whole recordings, never trained on).

    Training windows overlap by half inside a segment (more data); validation, test and
    held-out windows do not overlap at all."""
    if train_hop is None:
        train_hop = window // 2
    for (label, samples), name in zip(ds.recordings, ds.names):
        if len(samples) < window:
            raise DataError(f"recording '{name}' has {len(samples)} samples, shorter than one "
                            f"window ({window}); use a smaller --window")
    mask = held_out(ds, holdout)
    rng = np.random.default_rng([seed, 7])
    out = {s: ([], [], []) for s in SPLITS + (("holdout",) if holdout else ())}
    seg_id = 0
    for label, name in enumerate(ds.class_names):
        recs = [s for (lab, s), h in zip(ds.recordings, mask) if lab == label and not h]
        if not recs:
            raise DataError(f"class '{name}' has no recordings")
        seg_len = _segment_length(recs, window, segment_windows, name)
        segments = [(ri, start) for ri, s in enumerate(recs)
                    for start in range(0, len(s) - window + 1, seg_len)]
        order = rng.permutation(len(segments))
        n_test = max(1, int(round(fractions[2] * len(segments))))
        n_val = max(1, int(round(fractions[1] * len(segments))))
        assign = {}
        for rank, idx in enumerate(order):
            assign[idx] = "test" if rank < n_test else ("val" if rank < n_test + n_val else "train")
        for idx, (ri, start) in enumerate(segments):
            s = recs[ri]
            split = assign[idx]
            _cut(out[split], s[start:min(start + seg_len, len(s))], window,
                 train_hop if split == "train" else window, label, seg_id)
            seg_id += 1
    for (label, s), h in zip(ds.recordings, mask):
        if h:
            _cut(out["holdout"], s, window, window, label, seg_id)
            seg_id += 1
    result = {}
    for split, (w, y, g) in out.items():
        width = window * ds.channels
        w = np.stack(w).reshape(len(w), width) if w else np.zeros((0, width), np.int16)
        result[split] = (w.astype(np.int16), np.asarray(y, np.int64), np.asarray(g, np.int64))
    return result


def _cut(into, seg, window, hop, label, seg_id):
    for off in range(0, len(seg) - window + 1, hop):
        into[0].append(seg[off:off + window])
        into[1].append(label)
        into[2].append(seg_id)


def _segment_length(recs, window, segment_windows, name) -> int:
    """Longest segment (<= segment_windows windows) that still gives every split one segment."""
    for k in range(segment_windows, 0, -1):
        seg_len = k * window
        count = sum(len(range(0, len(s) - window + 1, seg_len)) for s in recs)
        if count >= 3:
            return seg_len
    total = sum(len(s) for s in recs)
    raise DataError(f"class '{name}' has only {total} samples; it needs at least 3 windows "
                    f"({3 * window} samples) for train, validation and test")
