"""Read users' recordings: one sub-folder per class (folder name = label), each file one recording.

Formats: .npz (array named by --channel, or the only array), .csv (one column, or the column named
by --channel in a header row), .mat (scipy.io.loadmat, variable named by --channel, or the only one),
.wav (scipy.io.wavfile; channel index by --channel for multi-channel files). A sample rate comes from
the file (.wav header; a scalar `fs`/`sample_rate` entry in .npz/.mat) or from --sample-rate.

Several sensor axes: `--channel x,y,z` names several arrays / columns / .wav channels, in that
order; `--channel all` takes every column of a .csv or channel of a .wav; a single 2-D array
(samples x axes, either orientation, at most 8 axes) is taken as its axes. The recording is then
[n, channels].
Every problem raises DataError with one line naming the file.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

FORMATS = (".npz", ".csv", ".mat", ".wav")
RATE_KEYS = ("fs", "sample_rate", "samplerate", "sr")
MAX_CHANNELS = 8           # the front end's limit


@dataclass
class Recording:
    label: int
    samples: np.ndarray        # [n] or [n, channels], original dtype (int16 later, dataset-wide)
    source: str
    sample_rate: float | None  # from the file itself, if it says


def _names(channel: str | None) -> list[str] | None:
    """--channel as a list ("x,y,z" -> three names); None when not given."""
    if channel is None:
        return None
    names = [c.strip() for c in str(channel).split(",")]
    if not all(names):
        raise DataError(f"--channel '{channel}' has an empty name; use e.g. x,y,z")
    return names


def _stack(columns: list[np.ndarray], path: Path) -> np.ndarray:
    """One column -> [n]; several equal-length 1-D columns -> [n, channels]."""
    if len(columns) == 1:
        return columns[0]
    flat = [np.asarray(c).squeeze() for c in columns]
    if any(c.ndim != 1 for c in flat) or len({len(c) for c in flat}) != 1:
        raise DataError(f"{path}: the chosen channels are not 1-D signals of one length "
                        f"({', '.join(str(np.shape(c)) for c in columns)})")
    return np.stack(flat, axis=1)


def _pick(arrays: dict, channel: str | None, path: Path) -> np.ndarray:
    data = {k: v for k, v in arrays.items()
            if not k.startswith("__") and k.lower() not in RATE_KEYS}
    if channel is not None:
        missing = [c for c in _names(channel) if c not in data]
        if missing:
            raise DataError(f"{path}: no array named '{missing[0]}' (has: {', '.join(sorted(data)) or 'none'})")
        return _stack([np.asarray(data[c]) for c in _names(channel)], path)
    if len(data) != 1:
        raise DataError(f"{path}: {len(data)} arrays ({', '.join(sorted(data))}); choose one with --channel")
    return np.asarray(next(iter(data.values())))


def _rate_from(arrays: dict) -> float | None:
    for k, v in arrays.items():
        if k.lower() in RATE_KEYS:
            v = np.asarray(v).ravel()
            if v.size == 1:
                return float(v[0])
    return None


def _load_npz(path, channel):
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile/pickle/value errors: all mean "not a usable .npz"
        raise DataError(f"{path}: cannot read .npz ({exc})") from None
    return _pick(arrays, channel, path), _rate_from(arrays)


def _load_mat(path, channel):
    from scipy.io import loadmat
    try:
        arrays = loadmat(path)
    except Exception as exc:
        raise DataError(f"{path}: cannot read .mat ({exc})") from None
    return _pick(arrays, channel, path), _rate_from(arrays)


def _load_csv(path, channel):
    try:
        with open(path, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read .csv ({exc})") from None
    if not rows:
        raise DataError(f"{path}: empty .csv")
    header = None
    try:
        float(rows[0][0])
    except ValueError:
        header, rows = [h.strip() for h in rows[0]], rows[1:]
    ncol = len(rows[0]) if rows else 0
    if channel == "all":
        cols = list(range(ncol))
    elif channel is not None:
        missing = [c for c in _names(channel) if header is None or c not in header]
        if missing:
            raise DataError(f"{path}: no column named '{missing[0]}'"
                            + (f" (has: {', '.join(header)})" if header else " (no header row)"))
        cols = [header.index(c) for c in _names(channel)]
    elif ncol == 1:
        cols = [0]
    else:
        raise DataError(f"{path}: {ncol} columns; choose one with --channel, several with "
                        "--channel x,y,z (needs a header row), or --channel all")
    try:
        values = np.array([[float(r[c]) for c in cols] for r in rows])
    except (ValueError, IndexError):
        raise DataError(f"{path}: a row holds a non-numeric or missing value in column(s) "
                        f"{', '.join(str(c + 1) for c in cols)}") from None
    return (values[:, 0] if len(cols) == 1 else values), None


def _load_wav(path, channel):
    from scipy.io import wavfile
    try:
        rate, data = wavfile.read(path)
    except Exception as exc:
        raise DataError(f"{path}: cannot read .wav ({exc})") from None
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim == 2:
        if channel == "all":
            idx = list(range(data.shape[1]))
        elif channel is None:
            if data.shape[1] != 1:
                raise DataError(f"{path}: {data.shape[1]} channels; choose one with --channel "
                                f"0..{data.shape[1] - 1}, several with --channel 0,1,2, or --channel all")
            idx = [0]
        else:
            try:
                idx = [int(c) for c in _names(channel)]
                data[:, idx]
            except (ValueError, IndexError):
                raise DataError(f"{path}: no channel '{channel}' (channels 0..{data.shape[1] - 1})") from None
        data = data[:, idx[0]] if len(idx) == 1 else data[:, idx]
    return data, float(rate)


LOADERS = {".npz": _load_npz, ".csv": _load_csv, ".mat": _load_mat, ".wav": _load_wav}


def load_file(path: Path, label: int, channel: str | None) -> Recording:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise DataError(f"{path}: unknown file type '{path.suffix}'; use one of {', '.join(FORMATS)}")
    samples, rate = loader(path, channel)
    samples = np.asarray(samples)
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.ravel()
    if samples.ndim == 2 and samples.shape[0] < samples.shape[1]:
        samples = samples.T                      # axes x samples -> samples x axes
    if samples.ndim > 2 or (samples.ndim == 2 and samples.shape[1] > MAX_CHANNELS):
        raise DataError(f"{path}: expected a signal of samples x at most {MAX_CHANNELS} axes, "
                        f"got shape {samples.shape}; pick channels with --channel")
    if samples.dtype.kind not in "iuf":
        raise DataError(f"{path}: samples are {samples.dtype}, not numbers")
    if samples.dtype.kind == "f" and not np.all(np.isfinite(samples)):
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise DataError(f"{path}: {bad} NaN or Inf samples; clean the recording first")
    return Recording(label, samples, str(path), rate)


def load_folder(data_dir: Path, channel: str | None = None):
    """(class_names, [Recording]) from data_dir/<class>/<files>."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} does not exist")
    class_dirs = sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    stray = sorted(p.name for p in data_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if not class_dirs:
        hint = f" (found files {', '.join(stray[:3])} at the top: put them in one sub-folder per class)" if stray else ""
        raise DataError(f"data folder {data_dir} has no class sub-folders{hint}")
    if len(class_dirs) < 2:
        raise DataError(f"data folder {data_dir} has a single class '{class_dirs[0].name}'; "
                        "a classifier needs at least two class sub-folders")
    names, recordings = [], []
    for label, cdir in enumerate(class_dirs):
        files = sorted(p for p in cdir.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataError(f"class folder {cdir} is empty; add recordings or remove it")
        names.append(cdir.name)
        recordings.extend(load_file(f, label, channel) for f in files)
    return names, recordings
