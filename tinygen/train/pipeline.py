"""The training pipeline as one library call: data -> front end -> teacher -> students -> int8.

`train(out_dir, ...)` writes teacher.keras, student.keras, student_int8.tflite, features.json,
metrics.json and test_windows.npz into out_dir and returns a TrainResult. `tinygen build` calls it
when given no model; `tinygen train` is a thin CLI around it.

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

from .. import __version__
from ..data import Dataset, dataset_from_source, folder_dataset, split_windows, synthetic_dataset
from ..errors import DataError
from ..features import FrontEnd, FrontEndConfig, default_front_end
from ..features.frontend import check_window


@dataclass
class TrainOptions:
    teacher_epochs: int = 15
    teacher_units: int = 32          # per direction of the bidirectional LSTM
    teacher_lr: float = 1e-2
    student_epochs: int = 25
    batch_size: int = 128
    temperature: float = 4.0
    alpha: float = 0.3               # weight of the hard labels; 1 - alpha on the teacher
    student_channels: tuple = (8, 16)
    student_kernels: tuple = (5, 3)
    n_bands: int = 64
    recordings_per_class: int = 100  # synthetic data only: many short recordings (machines)
    seconds: float = 1.0              # synthetic data only


@dataclass
class TrainResult:
    out_dir: Path
    tflite_path: Path
    features_path: Path
    metrics_path: Path
    metrics: dict = field(default_factory=dict)


def _say(progress, msg):
    if progress:
        progress(msg)


def load_data(data_dir, sample_rate, channel, seed, options: TrainOptions) -> Dataset:
    if data_dir is None:
        return synthetic_dataset(seed, sample_rate or 8000.0, options.recordings_per_class,
                                 options.seconds)
    return folder_dataset(Path(data_dir), sample_rate, channel)


def make_front_end(ds: Dataset, window: int, n_bands: int) -> FrontEnd:
    fe = default_front_end(window, ds.sample_rate)
    if n_bands != fe.config.n_bands:
        fe = FrontEnd(FrontEndConfig(window=window, sample_rate=ds.sample_rate, n_bands=n_bands,
                                     f_min=fe.config.f_min, f_max=fe.config.f_max))
    fe.config.input_gain = ds.input_gain
    return fe


def features_document(fe: FrontEnd, ds: Dataset, seed: int) -> dict:
    doc = fe.to_dict()
    doc.update({"class_names": ds.class_names, "data_source": ds.source, "split_seed": seed,
                "input_shape": [1, fe.n_features, 1]})
    return doc


def train(out_dir: Path, data_dir: Path | None = None, sample_rate: float | None = None,
          channel: str | None = None, window: int | None = None, seed: int = 0,
          progress: Callable[[str], None] | None = None,
          options: TrainOptions | None = None) -> TrainResult:
    options = options or TrainOptions()
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    window = window or 1024
    check_window(window)                     # fail before minutes of work, not after

    _say(progress, "loading data" if data_dir else f"generating synthetic vibration data (seed {seed})")
    ds = load_data(data_dir, sample_rate, channel, seed, options)
    splits = split_windows(ds, window, seed)
    fe = make_front_end(ds, window, options.n_bands)
    _say(progress, f"front end: {window}-sample windows -> {fe.n_features} int8 band energies; "
                   f"{', '.join(f'{k} {len(v[1])}' for k, v in splits.items())} windows")
    fe.calibrate(splits["train"][0])
    feats = {k: fe.compute(v[0]) for k, v in splits.items()}
    labels = {k: v[1] for k, v in splits.items()}
    t_data = time.perf_counter() - t_start

    tf, keras = _import_tf(seed)
    from . import convert, distill, models

    n_classes = len(ds.class_names)
    timings = {"data_and_features_s": round(t_data, 2)}

    # Teacher: conv stem + bidirectional LSTM over the band energies, standardised per band.
    t0 = time.perf_counter()
    _say(progress, f"training LSTM teacher ({options.teacher_epochs} epochs)")
    spec = {k: models.teacher_inputs(v) for k, v in feats.items()}
    teacher = models.build_teacher(keras, spec["train"].shape[1:], n_classes,
                                   units=options.teacher_units, x_train=spec["train"])
    teacher_val = distill.fit(keras, teacher, spec["train"], labels["train"], spec["val"],
                              labels["val"], options.teacher_epochs, options.batch_size,
                              options.teacher_lr)
    teacher_logits = distill.predict_logits(teacher, spec["train"])
    timings["teacher_s"] = round(time.perf_counter() - t0, 2)

    # Students: the same 1D-CNN trained alone and distilled, same seed and epochs.
    x = {k: v[..., None].astype(np.float32) for k, v in feats.items()}
    students = {}
    for kind in ("alone", "distilled"):
        t0 = time.perf_counter()
        _say(progress, f"training 1D-CNN student {kind} ({options.student_epochs} epochs)")
        keras.utils.set_random_seed(seed + 1)
        student = models.build_student(keras, fe.n_features, n_classes, options.student_channels,
                                       options.student_kernels, batch_size=None)
        soft = distill.softmax(teacher_logits, options.temperature) if kind == "distilled" else None
        val_acc = distill.fit(keras, student, x["train"], labels["train"], x["val"], labels["val"],
                              options.student_epochs, options.batch_size, 1e-2, soft,
                              options.temperature, options.alpha)
        students[kind] = (student, val_acc)
        timings[f"student_{kind}_s"] = round(time.perf_counter() - t0, 2)
    # Deploy the better on validation (never on test); ties go to the distilled one.
    chosen = "distilled" if students["distilled"][1] >= students["alone"][1] else "alone"

    t0 = time.perf_counter()
    _say(progress, f"int8 post-training quantization of the {chosen} student")
    deploy = models.with_softmax(keras, students[chosen][0], batch_size=1)
    buf = convert.to_int8_tflite(tf, deploy, x["train"], seed=seed)
    quant = convert.io_quantization(buf)
    convert.check_input_is_identity(quant)
    _say(progress, "evaluating the int8 student with TFLite-Micro")
    arena = convert.tflm_min_arena(buf)
    int8_out = convert.tflm_predict(buf, feats["test"], arena)
    timings["int8_s"] = round(time.perf_counter() - t0, 2)

    y_test = labels["test"]
    int8_pred = int8_out.argmax(axis=1)
    unseen = None
    if data_dir is None:
        # Fresh machines (another seed): does the model know physics, or the training recordings?
        _say(progress, "evaluating the int8 student on recordings from unseen machines")
        fresh = synthetic_dataset(seed + 1000, ds.sample_rate, max(4, options.recordings_per_class // 5),
                                  options.seconds)
        fw = np.concatenate([v[0] for v in split_windows(fresh, window, seed).values()])
        fy = np.concatenate([v[1] for v in split_windows(fresh, window, seed).values()])
        fp = convert.tflm_predict(buf, fe.compute(fw), arena).argmax(axis=1)
        unseen = {"windows": int(len(fy)), "student_int8_tflm": round(float((fp == fy).mean()), 4)}
    acc = {
        "teacher_float": distill.accuracy(teacher, spec["test"], y_test),
        "student_alone_float": distill.accuracy(students["alone"][0], x["test"], y_test),
        "student_distilled_float": distill.accuracy(students["distilled"][0], x["test"], y_test),
        "student_int8_tflm": float((int8_pred == y_test).mean()),
    }

    paths = {
        "teacher": out_dir / "teacher.keras", "student": out_dir / "student.keras",
        "tflite": out_dir / "student_int8.tflite", "features": out_dir / "features.json",
        "metrics": out_dir / "metrics.json", "test_windows": out_dir / "test_windows.npz",
    }
    teacher.save(paths["teacher"])
    deploy.save(paths["student"])
    paths["tflite"].write_bytes(buf)
    paths["features"].write_text(json.dumps(features_document(fe, ds, seed), indent=2) + "\n")
    np.savez_compressed(paths["test_windows"], windows=splits["test"][0], labels=y_test,
                        class_names=np.array(ds.class_names))

    timings["total_s"] = round(time.perf_counter() - t_start, 2)
    metrics = {
        "tinygen_version": __version__,
        "seed": seed,
        "data": ds.source,
        "classes": ds.class_names,
        "windows": {k: int(len(v)) for k, v in labels.items()},
        "front_end": {"window": fe.window, "n_features": fe.n_features,
                      "sample_rate": ds.sample_rate, "params_hash": fe.params_hash()},
        "accuracy_test": {k: round(v, 4) for k, v in acc.items()},
        "accuracy_unseen_machines": unseen,
        "validation_accuracy": {"teacher": teacher_val, "student_alone": students["alone"][1],
                                "student_distilled": students["distilled"][1]},
        "deployed_student": chosen,
        "distillation": {"temperature": options.temperature, "alpha_hard_labels": options.alpha},
        "int8_minus_teacher_pp": round(100 * (acc["student_int8_tflm"] - acc["teacher_float"]), 2),
        "targets": {"int8_at_least_95pct": acc["student_int8_tflm"] >= 0.95,
                    "int8_within_1pp_of_teacher": acc["student_int8_tflm"] >= acc["teacher_float"] - 0.01},
        "confusion_int8_tflm": _confusion(y_test, int8_pred, n_classes),
        "sizes": {
            "teacher_params": int(teacher.count_params()),
            "student_params": int(students[chosen][0].count_params()),
            "student_int8_weight_bytes": convert.weight_bytes(buf),
            "student_int8_tflite_bytes": len(buf),
            "tflm_arena_bytes_host64": arena,
        },
        "macs": {"teacher": models.count_macs(teacher), "student": models.count_macs(students[chosen][0])},
        "int8_io": quant,
        "int8_ops": convert.op_names(buf),
        "wall_time_s": timings,
    }
    paths["metrics"].write_text(json.dumps(metrics, indent=2) + "\n")
    return TrainResult(out_dir, paths["tflite"], paths["features"], paths["metrics"], metrics)


def _confusion(y, pred, n) -> list[list[int]]:
    cm = np.zeros((n, n), dtype=int)
    np.add.at(cm, (y, pred), 1)
    return cm.tolist()


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


def load_split(source, data_dir: Path | None = None, split: str = "test"):
    """(raw int16 windows [N, window], labels [N], class_names) of a trained run's split.

    `source` is the run folder or its features.json. The test split is read from the run's
    test_windows.npz when present (no data needed); otherwise the data set is rebuilt from the
    description in features.json (or from data_dir) and split again with the same seed."""
    source = Path(source)
    features_json = source / "features.json" if source.is_dir() else source
    if split not in ("train", "val", "test"):
        raise DataError(f"unknown split '{split}'; use train, val or test")
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
    splits = split_windows(ds, fe.window, doc.get("split_seed", 0))
    w, y, _ = splits[split]
    return w, y, ds.class_names
