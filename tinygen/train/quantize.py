"""Bring-your-own Keras student: int8 PTQ on the front end's features, evaluated with TFLM.

The model must take the front end's features, shape (n_bands, channels) (or (n_bands,) for one channel), as the
raw int8 values in float. Its batch is fixed to 1 here, whatever it was saved with."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DataError, ModelError
from ..features import FrontEnd
from ..features.training_stats import training_stats
from .evaluate import confusion as _confusion
from .pipeline import (TrainOptions, TrainResult, _import_tf, _say, features_document,
                       load_data, make_front_end)


def quantize(model_path: Path, out_dir: Path, data_dir: Path | None = None,
             sample_rate: float | None = None, channel: str | None = None,
             window: int | None = None, seed: int = 0, features_json: Path | None = None,
             progress: Callable[[str], None] | None = None) -> TrainResult:
    from ..data import dataset_from_source, folder_dataset, split_windows
    t_start = time.perf_counter()
    model_path, out_dir = Path(model_path), Path(out_dir)
    if not model_path.is_file():
        raise ModelError(f"{model_path} does not exist")
    out_dir.mkdir(parents=True, exist_ok=True)

    _say(progress, "loading data")
    holdout = None
    if features_json is not None:
        # Reuse the run's front end and, unless --data says otherwise, its data and split seed.
        doc = _read_json(features_json)
        fe = FrontEnd.from_dict(doc)
        if data_dir is None:
            ds = dataset_from_source(doc.get("data_source", {}), None, fe.config.input_gain)
            seed = doc.get("split_seed", seed)
            holdout = doc.get("holdout") or None          # the run's test set: its held-out recordings
        else:
            ds = folder_dataset(Path(data_dir), sample_rate, channel, fe.config.input_gain)
        if abs(fe.config.sample_rate - ds.sample_rate) > 1e-6:
            raise DataError(f"{features_json} is for {fe.config.sample_rate:g} Hz, the data is {ds.sample_rate:g} Hz")
    else:
        ds = load_data(data_dir, sample_rate, channel, seed, TrainOptions())
        fe = make_front_end(ds, window or 1024, TrainOptions().n_bands)
    splits = split_windows(ds, fe.window, seed, holdout=holdout)
    if features_json is None:
        fe.calibrate(splits["train"][0])
    if holdout:
        splits["test"] = splits.pop("holdout")
    feats = {k: fe.compute(v[0]) for k, v in splits.items()}

    tf, keras = _import_tf(seed)
    from . import convert, models
    _say(progress, f"loading {model_path.name}")
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        raise ModelError(f"{model_path}: cannot load a Keras model ({exc})") from None
    shape = tuple(model.input_shape[1:])
    accepted = [(fe.n_bands, fe.channels)] + ([(fe.n_features,)] if fe.channels == 1 else [])
    if shape not in accepted:
        raise ModelError(f"{model_path.name} takes input {shape}; the front end gives "
                         f"({fe.n_bands}, {fe.channels}): train it on tinygen features")
    n_out = model.output_shape[-1]
    if n_out != len(ds.class_names):
        raise ModelError(f"{model_path.name} has {n_out} outputs for {len(ds.class_names)} classes")
    inp = keras.Input(shape, batch_size=1, name="features")
    deploy = keras.Model(inp, model(inp))
    x = {k: v.reshape((len(v),) + shape).astype(np.float32) for k, v in feats.items()}

    _say(progress, "int8 post-training quantization")
    buf = convert.to_int8_tflite(tf, deploy, x["train"], seed=seed)
    quant = convert.io_quantization(buf)
    convert.check_input_is_identity(quant)
    _say(progress, "evaluating with TFLite-Micro")
    arena = convert.tflm_min_arena(buf)
    pred = convert.tflm_predict(buf, feats["test"], arena).argmax(axis=1)
    y = splits["test"][1]
    float_pred = np.concatenate([np.asarray(model(x["test"][i:i + 256], training=False))
                                 for i in range(0, len(y), 256)]).argmax(axis=1)

    paths = {"tflite": out_dir / "student_int8.tflite", "features": out_dir / "features.json",
             "metrics": out_dir / "metrics.json"}
    paths["tflite"].write_bytes(buf)
    doc = dict(features_document(fe, ds, seed, holdout or ()),
               training_stats=training_stats(fe, *splits["train"], ds.class_names))
    paths["features"].write_text(json.dumps(doc, indent=2) + "\n")
    np.savez_compressed(out_dir / "test_windows.npz", windows=splits["test"][0], labels=y,
                        class_names=np.array(ds.class_names))
    metrics = {
        "model": str(model_path), "seed": seed, "data": ds.source, "classes": ds.class_names,
        "windows": {k: int(len(v[1])) for k, v in splits.items()},
        "accuracy_test": {"student_float": round(float((float_pred == y).mean()), 4),
                          "student_int8_tflm": round(float((pred == y).mean()), 4)},
        "confusion_int8_tflm": _confusion(y, pred, len(ds.class_names)),
        "sizes": {"student_params": int(model.count_params()),
                  "student_int8_weight_bytes": convert.weight_bytes(buf),
                  "student_int8_tflite_bytes": len(buf), "tflm_arena_bytes_host64": arena},
        "macs": {"student": models.count_macs(model)},
        "int8_io": quant, "int8_ops": convert.op_names(buf),
        "wall_time_s": {"total_s": round(time.perf_counter() - t_start, 2)},
    }
    paths["metrics"].write_text(json.dumps(metrics, indent=2) + "\n")
    return TrainResult(out_dir, paths["tflite"], paths["features"], paths["metrics"], metrics)


def _read_json(path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read front end parameters {path}: {exc}") from None
