"""The training pipeline end to end on a small configuration (trained once per session)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tinygen.errors import DataError
from tinygen.features import FrontEnd

SMALL = dict(teacher_epochs=3, student_epochs=8, recordings_per_class=4, seconds=3.0)


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tflite_micro")
    from tinygen.train.pipeline import TrainOptions, train
    out = tmp_path_factory.mktemp("run")
    messages = []
    result = train(out, seed=1, progress=messages.append, options=TrainOptions(**SMALL))
    return result, messages


pytestmark = pytest.mark.tf


def test_outputs_written(run):
    result, messages = run
    for name in ("teacher.keras", "student.keras", "student_int8.tflite", "features.json",
                 "metrics.json", "test_windows.npz"):
        assert (result.out_dir / name).is_file(), name
    assert result.tflite_path.name == "student_int8.tflite"
    assert json.loads(result.metrics_path.read_text()) == result.metrics
    assert any("teacher" in m for m in messages) and any("TFLite-Micro" in m for m in messages)


def test_metrics_are_complete_and_sane(run):
    m = run[0].metrics
    acc = m["accuracy_test"]
    assert set(acc) == {"teacher_float", "student_alone_float", "student_distilled_float",
                        "student_int8_tflm"}
    chance = 1.0 / len(m["classes"])
    assert all(chance < v <= 1.0 for v in acc.values())
    assert acc["student_int8_tflm"] > 0.6
    cm = np.array(m["confusion_int8_tflm"])
    assert cm.sum() == m["windows"]["test"]
    assert np.trace(cm) / cm.sum() == pytest.approx(acc["student_int8_tflm"], abs=1e-4)
    assert m["deployed_student"] in ("alone", "distilled")
    assert 0 < m["sizes"]["student_int8_weight_bytes"] < 20_000
    assert m["sizes"]["tflm_arena_bytes_host64"] > 0 and m["macs"]["student"] > 0
    assert m["int8_io"]["input_scale"] == 1.0 and m["int8_io"]["input_zero_point"] == 0
    assert "SOFTMAX" in m["int8_ops"] and "CONV_2D" in m["int8_ops"]


def test_int8_model_is_clean(run):
    """Fixed batch 1: no SHAPE / STRIDED_SLICE / PACK; int8 in and out."""
    ops = run[0].metrics["int8_ops"]
    assert not {"SHAPE", "STRIDED_SLICE", "PACK", "QUANTIZE", "DEQUANTIZE"} & set(ops)
    from tflite_micro import runtime
    interp = runtime.Interpreter.from_bytes(run[0].tflite_path.read_bytes(), arena_size=64 * 1024)
    inp = interp.get_input_details(0)
    assert inp["dtype"] == np.int8 and list(inp["shape"]) == [1, 64, 1]
    assert interp.get_output_details(0)["dtype"] == np.int8


def test_load_split_and_features_reproduce_int8_accuracy(run):
    """The stored test windows, through the front end and TFLM, give metrics.json's number."""
    from tinygen.train.convert import tflm_predict
    from tinygen.train.pipeline import load_split
    result = run[0]
    windows, labels, names = load_split(result.out_dir)
    assert windows.dtype == np.int16 and windows.shape[1] == 1024 and len(names) == 6
    fe = FrontEnd.from_json(result.features_path)
    pred = tflm_predict(result.tflite_path.read_bytes(), fe.compute(windows),
                        result.metrics["sizes"]["tflm_arena_bytes_host64"]).argmax(axis=1)
    assert float((pred == labels).mean()) == pytest.approx(
        result.metrics["accuracy_test"]["student_int8_tflm"], abs=1e-4)
    # Rebuilding the split from features.json (no cache) gives the same test windows.
    (result.out_dir / "test_windows.npz").rename(result.out_dir / "cache.npz")
    try:
        again, labels2, _ = load_split(result.features_path)
    finally:
        (result.out_dir / "cache.npz").rename(result.out_dir / "test_windows.npz")
    assert np.array_equal(again, windows) and np.array_equal(labels2, labels)


def test_load_split_unknown_split(run):
    from tinygen.train.pipeline import load_split
    with pytest.raises(DataError):
        load_split(run[0].out_dir, split="holdout")


def test_quantize_own_student(run, tmp_path):
    from tinygen.train.quantize import quantize
    res = quantize(run[0].out_dir / "student.keras", tmp_path, features_json=run[0].features_path,
                   seed=1)
    acc = res.metrics["accuracy_test"]
    assert acc["student_int8_tflm"] > 0.6
    assert res.tflite_path.is_file() and res.metrics["int8_io"]["input_scale"] == 1.0


def test_poor_model_is_not_perfect(run):
    """The data is hard enough that nearest-class-mean on the features stays below 100 %."""
    from tinygen.data import split_windows, synthetic_dataset
    fe = FrontEnd.from_json(run[0].features_path)
    splits = split_windows(synthetic_dataset(seed=1, recordings_per_class=4, seconds=3.0), 1024, 1)
    xtr, ytr = fe.compute(splits["train"][0]).astype(float), splits["train"][1]
    xte, yte = fe.compute(splits["test"][0]).astype(float), splits["test"][1]
    means = np.stack([xtr[ytr == c].mean(axis=0) for c in range(6)])
    pred = np.argmin(((xte[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert 1 / 6 < (pred == yte).mean() < 1.0


def cli(*args):
    return subprocess.run([sys.executable, "-m", "tinygen", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_bad_data_is_one_line(tmp_path):
    (tmp_path / "data").mkdir()
    r = cli("train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if line.startswith("tinygen: error:")]
    assert len(errors) == 1 and "no class sub-folders" in errors[0] and "Traceback" not in r.stderr


def test_cli_bad_window_is_one_line(tmp_path):
    r = cli("train", "--window", "1000", "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "power of two" in r.stderr and "Traceback" not in r.stderr
