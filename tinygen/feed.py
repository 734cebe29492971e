"""Recordings -> raw windows for a device's front end, and sending them (INFER_RAW).

`tinygen monitor --feed PATH` uses this to show a device (or its twin, which has seen nothing) a
stretch of real operation before its drift statistics are read. Files are read as training reads
them (tinygen.data.loaders: .npz, .csv, .mat, .wav), scaled by the front end's input gain, the
channels of features.json's data source, cut into non-overlapping windows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .data.loaders import FORMATS, load_file
from .errors import DataError


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"--feed {path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS)
    if not files:
        raise DataError(f"--feed {path}: no recordings ({', '.join(FORMATS)}) in it")
    return files


def windows_from(path, fe, doc: dict, limit: int) -> list[np.ndarray]:
    """Up to `limit` int16 raw windows (channels interleaved) from the recordings at `path`."""
    channel = (doc.get("data_source") or {}).get("channel")
    out: list[np.ndarray] = []
    for f in _files(Path(path)):
        rec = load_file(f, 0, channel)
        if rec.sample_rate is not None and abs(rec.sample_rate - fe.config.sample_rate) > 1e-6:
            raise DataError(f"{f}: {rec.sample_rate:g} Hz, the front end takes "
                            f"{fe.config.sample_rate:g} Hz")
        x = np.asarray(rec.samples, dtype=np.float64)
        x = x.reshape(len(x), -1)
        if x.shape[1] != fe.channels:
            raise DataError(f"{f}: {x.shape[1]} channel(s), the front end takes {fe.channels}")
        x = np.clip(np.round(x * fe.config.input_gain), -32768, 32767).astype(np.int16)
        for k in range(len(x) // fe.window):
            out.append(x[k * fe.window:(k + 1) * fe.window].reshape(-1))
            if len(out) == limit:
                return out
    if not out:
        raise DataError(f"--feed {path}: every recording is shorter than one window "
                        f"({fe.window} samples)")
    return out


def send(device, windows, progress: Optional[str] = None,
         on_reply: Optional[Callable[[int, object], None]] = None) -> None:
    """Each window through the device's front end and network (INFER_RAW); the replies are not
    checked here (tinygen validate does that), only collected by `on_reply` when given."""
    from .validate.report import Progress

    bar = Progress(progress) if progress else None
    for i, w in enumerate(windows):
        reply = device.infer_raw(w)
        if on_reply is not None:
            on_reply(i, reply)
        if bar:
            bar(i + 1, len(windows))
    if bar:
        bar.done()
