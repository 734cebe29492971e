"""A data set = class names + int16 recordings at one sample rate, and its leak-free split.

The split is by recording segment: each recording is cut into contiguous segments of
`segment_windows` windows; whole segments go to train, validation or test (stratified per
class, shuffled by seed); windows are cut inside a segment only. No window ever spans two
segments, so no test window shares a sample with a training window.
"""
from __future__ import annotations

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
    recordings: list[tuple[int, np.ndarray]]   # (label, int16 samples)
    sample_rate: float
    input_gain: float = 1.0                     # int16 counts per unit of the source files
    source: dict = field(default_factory=dict)  # how to rebuild it (written to features.json)


def synthetic_dataset(seed: int = 0, sample_rate: float = 8000.0, recordings_per_class: int = 100,
                      seconds: float = 1.0) -> Dataset:
    recs = synthetic.generate(seed, sample_rate, recordings_per_class, seconds)
    return Dataset(list(synthetic.CLASSES), recs, sample_rate, 1.0,
                   {"kind": "synthetic", "seed": seed, "sample_rate": sample_rate,
                    "recordings_per_class": recordings_per_class, "seconds": seconds})


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
    return Dataset(names, out, float(rate), input_gain,
                   {"kind": "folder", "data_dir": str(Path(data_dir).resolve()), "channel": channel,
                    "sample_rate": float(rate)})


def _int16_gain(signals) -> float:
    """1.0 if every file already holds int16-range integers; else map the peak to half scale."""
    if all(s.dtype.kind in "iu" for s in signals):
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
        return synthetic_dataset(source["seed"], source["sample_rate"],
                                 source["recordings_per_class"], source["seconds"])
    if source.get("kind") == "folder":
        return folder_dataset(Path(source["data_dir"]), source.get("sample_rate"),
                              source.get("channel"), input_gain)
    raise DataError("features.json does not say where its data came from; pass --data DIR")


def split_windows(ds: Dataset, window: int, seed: int = 0, segment_windows: int = 8,
                  fractions=(0.7, 0.15, 0.15), train_hop: int | None = None):
    """{split: (windows int16 [N, window], labels int64 [N], segment ids [N])}.

    Training windows overlap by half inside a segment (more data); validation and test windows
    do not overlap at all."""
    if train_hop is None:
        train_hop = window // 2
    for label, samples in ds.recordings:
        if len(samples) < window:
            raise DataError(f"a recording of class '{ds.class_names[label]}' has {len(samples)} "
                            f"samples, shorter than one window ({window}); use a smaller --window")
    rng = np.random.default_rng([seed, 7])
    out = {s: ([], [], []) for s in SPLITS}
    seg_id = 0
    for label, name in enumerate(ds.class_names):
        recs = [s for lab, s in ds.recordings if lab == label]
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
            seg = s[start:min(start + seg_len, len(s))]
            split = assign[idx]
            hop = train_hop if split == "train" else window
            for off in range(0, len(seg) - window + 1, hop):
                out[split][0].append(seg[off:off + window])
                out[split][1].append(label)
                out[split][2].append(seg_id)
            seg_id += 1
    result = {}
    for split, (w, y, g) in out.items():
        result[split] = (np.stack(w).astype(np.int16), np.asarray(y, np.int64), np.asarray(g, np.int64))
    return result


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
