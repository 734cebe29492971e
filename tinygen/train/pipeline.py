"""The training pipeline as one library call: data -> front end -> teacher -> students -> int8.

`train(out_dir, ...)` writes teacher.keras, teacher_int8.tflite, student.keras, student_int8.tflite,
features.json, metrics.json, test_windows.npz and report.html into out_dir and returns a
TrainResult.
`tinygen build` calls it when given no model; `tinygen train` is a thin CLI around it.

Stages (stages.py holds each): data and split (whole held-out recordings are the test set when
there are any: unseen machines and speeds by default) -> front end -> teacher -> the student
alone and distilled, over `seeds` initialisations on the same split -> the deployed student,
chosen on validation only -> optional pruning to a flash/MAC budget -> int8 (PTQ, and QAT when
asked or when PTQ loses more than 0.5 points on validation) -> TFLite-Micro evaluation -> the
accuracy-vs-size table -> the teacher in int8 (unrolled LSTM; TFLite-Micro accuracy) and both
networks compiled by tinygen and counted once on the Cortex-M7 twin -> files and report.

Determinism: data, split, front end calibration and the representative set are pure functions of
the seed. Keras weights are seeded too, but TensorFlow's CPU kernels (oneDNN, multi-threaded
reductions) may still differ in the last float bits between runs, which can move an accuracy by
a window or two.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..data import Dataset, dataset_from_source, folder_dataset, split_windows, synthetic_dataset
from ..data import synthetic
from ..errors import DataError
from ..features import FrontEnd, FrontEndConfig, default_front_end
from ..features.frontend import check_window
from .progress import default_enabled


@dataclass
class TrainOptions:
    teacher_epochs: int = 12
    teacher_units: int = 32          # per direction of the bidirectional LSTM
    teacher_lr: float = 3e-3
    student_epochs: int = 25
    student_lr: float = 1e-2
    finetune_epochs: int = 8         # after pruning, and for QAT
    batch_size: int = 128
    temperature: float = 4.0
    alpha: float = 0.3               # weight of the hard labels; 1 - alpha on the teacher
    student_channels: tuple = (8, 16)
    student_kernels: tuple = (5, 3)
    n_bands: int = 64
    seeds: int = 3                   # student initialisations, alone and distilled, same split
    init_seed: int | None = None     # weights' seed (default: the data seed); same data and split
    holdout: tuple | None = None     # globs; None: the built-in data's default, none for folders
    qat: bool = False                # force QAT (it also runs when PTQ loses > 0.5 points)
    max_flash: int | None = None     # bytes of weights + tables, as tinygen compiles the model
    max_macs: int | None = None
    size_table: bool = True          # prune to a few sizes for the accuracy-vs-size table
    teacher_int8: bool = True        # convert the teacher to int8 too (teacher_int8.py)
    on_device: bool = True           # ... and count it beside the student on the twin (device.py)
    bars: bool = field(default_factory=default_enabled)   # progress bars on stderr (a tty)
    machines: int = 10               # synthetic data only
    seconds: float = 2.0             # synthetic data only: per recording
    axes: int = 1                    # synthetic data only: 1 (x) or 3 (x, y, z)


@dataclass
class TrainResult:
    out_dir: Path
    tflite_path: Path
    features_path: Path
    metrics_path: Path
    metrics: dict = field(default_factory=dict)
    report_path: Path | None = None


def _say(progress, msg):
    if progress:
        progress(msg)


def load_data(data_dir, sample_rate, channel, seed, options: TrainOptions, progress_bar=None) -> Dataset:
    if data_dir is None:
        if options.axes not in (1, 2, 3):
            raise DataError(f"--axes {options.axes}: the built-in data has 1 to 3 axes (x, y, z)")
        return synthetic_dataset(seed, sample_rate or 8000.0, options.machines, options.seconds,
                                 options.axes, progress_bar)
    return folder_dataset(Path(data_dir), sample_rate, channel)


def holdout_globs(data_dir, options: TrainOptions) -> tuple:
    if options.holdout is not None:
        return tuple(options.holdout)
    return synthetic.default_holdout(options.machines) if data_dir is None else ()


def make_front_end(ds: Dataset, window: int, n_bands: int) -> FrontEnd:
    fe = default_front_end(window, ds.sample_rate, ds.channels)
    if n_bands != fe.config.n_bands:
        fe = FrontEnd(FrontEndConfig(window=window, sample_rate=ds.sample_rate, n_bands=n_bands,
                                     f_min=fe.config.f_min, f_max=fe.config.f_max,
                                     channels=ds.channels))
    fe.config.input_gain = ds.input_gain
    return fe


def features_document(fe: FrontEnd, ds: Dataset, seed: int, holdout=()) -> dict:
    """features.json: the front end (what validate and build read), the data and the split.
    Issue 17 adds per-band training statistics beside these keys."""
    doc = fe.to_dict()
    doc.update({"class_names": ds.class_names, "data_source": ds.source, "split_seed": seed,
                "holdout": list(holdout), "input_shape": fe.input_shape,
                "raw_samples": fe.raw_samples})
    return doc


def train(out_dir: Path, data_dir: Path | None = None, sample_rate: float | None = None,
          channel: str | None = None, window: int | None = None, seed: int = 0,
          progress: Callable[[str], None] | None = None,
          options: TrainOptions | None = None) -> TrainResult:
    from . import stages
    options = options or TrainOptions()
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    window = window or 1024
    check_window(window)                     # fail before minutes of work, not after
    if options.seeds < 1:
        raise DataError(f"--seeds {options.seeds}: train at least one student per kind")
    out_dir.mkdir(parents=True, exist_ok=True)
    run = stages.Run(out_dir, options, seed, progress, data_dir)
    run.data(sample_rate, channel, window)
    run.timings["data_and_features_s"] = round(time.perf_counter() - t_start, 2)
    run.import_tf()
    run.teacher()
    run.students()
    run.deploy()
    run.size_table()
    if options.teacher_int8:
        run.teacher_int8()
        run.on_device()
    else:
        run.teacher_buf = None
    run.timings["total_s"] = round(time.perf_counter() - t_start, 2)
    return run.write()


def _import_tf(seed: int):
    """TensorFlow with its chatter off and seeds set; imported late (it takes seconds)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .convert import quiet_fds
    with quiet_fds():
        import tensorflow as tf
        import keras
    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)
    return tf, keras


def evaluation_sets(splits: dict) -> dict:
    """{name: (windows, labels)}: "val"; "test", the test set (the held-out recordings when there
    are any, else the test segments); "in_distribution", the test segments of the recordings
    trained on, when the test set is held out."""
    sets = {"val": splits["val"][:2]}
    if "holdout" in splits:
        sets["test"] = splits["holdout"][:2]
        sets["in_distribution"] = splits["test"][:2]
    else:
        sets["test"] = splits["test"][:2]
    return sets


def load_split(source, data_dir: Path | None = None, split: str = "test"):
    """(raw int16 windows [N, window * channels], labels [N], class_names) of a trained run's
    split: "train", "val", "test" (the test set: held-out recordings when the run held some
    out) or "in_distribution".

    `source` is the run folder or its features.json. The test split is read from the run's
    test_windows.npz when present (no data needed); otherwise the data set is rebuilt from the
    description in features.json (or from data_dir) and split again with the same seed."""
    source = Path(source)
    features_json = source / "features.json" if source.is_dir() else source
    if split not in ("train", "val", "test", "in_distribution"):
        raise DataError(f"unknown split '{split}'; use train, val, test or in_distribution")
    try:
        doc = json.loads(features_json.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {features_json}: {exc}") from None
    cached = features_json.parent / "test_windows.npz"
    if split == "test" and data_dir is None and cached.exists():
        with np.load(cached) as z:
            return z["windows"], z["labels"], [str(c) for c in z["class_names"]]
    fe = FrontEnd.from_dict(doc)
    ds = dataset_from_source(doc.get("data_source", {}), data_dir, fe.config.input_gain)
    holdout = doc.get("holdout") or None
    splits = split_windows(ds, fe.window, doc.get("split_seed", 0), holdout=holdout)
    if split in ("train", "val"):
        w, y, _ = splits[split]
    else:
        sets = evaluation_sets(splits)
        if split not in sets:
            raise DataError("this run held nothing out, so its test split is in-distribution; "
                            "use --split test")
        w, y = sets[split]
    return w, y, ds.class_names
