"""The training pipeline end to end on a small configuration, through the CLI as a user runs it
(`tinygen train ... --json`), trained once per session: three-axis synthetic data with machines
and speeds held out, teacher, students over two seeds, forced QAT, pruning to a flash budget, the
accuracy-vs-size table, the teacher converted to int8 and set beside the student on the Cortex-M7
twin, and report.html checked in headless Chromium."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygen.errors import DataError
from tinygen.features import FrontEnd

MAX_FLASH = 2600
SMALL = ["--seed", "1", "--machines", "3", "--seconds", "1", "--axes", "3", "--teacher-epochs", "3",
         "--student-epochs", "6", "--finetune-epochs", "2", "--seeds", "2", "--qat",
         "--max-flash", str(MAX_FLASH)]


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "tinygen", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tflite_micro")
    out = tmp_path_factory.mktemp("run")
    proc = cli("train", "--out", str(out), *SMALL, "--json", timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


pytestmark = pytest.mark.tf


def metrics(run) -> dict:
    return json.loads((run[0] / "metrics.json").read_text())


def test_outputs_written_and_json_is_quiet(run):
    out, proc = run
    for name in ("teacher.keras", "teacher_int8.tflite", "student.keras", "student_int8.tflite",
                 "features.json", "metrics.json", "test_windows.npz", "report.html"):
        assert (out / name).is_file(), name
    assert json.loads(proc.stdout) == metrics(run)
    # --json: no stage messages, no progress bars
    assert "tinygen:" not in proc.stderr and "epoch" not in proc.stderr, proc.stderr[-2000:]


def test_held_out_and_in_distribution_side_by_side(run):
    m = metrics(run)
    assert m["holdout"] == ["m2_*", "*_25hz_*"]
    # 3 machines x 5 speeds x 6 classes; held out: machine 2 (5 speeds) + 25 Hz on machines 0, 1
    assert m["recordings"] == {"total": 90, "held_out": 6 * (5 + 2)}
    assert m["windows"]["test"] == 6 * 7 * (8000 // 1024)
    keys = {"teacher_float", "teacher_int8_tflm", "student_alone_float", "student_distilled_float",
            "student_int8_tflm"}
    assert set(m["accuracy_test"]) == keys == set(m["accuracy_in_distribution"])
    assert all(0.0 <= v <= 1.0 for v in m["accuracy_in_distribution"].values())
    assert m["accuracy_in_distribution"]["student_int8_tflm"] > 1.0 / len(m["classes"])
    for name in ("test", "in_distribution", "val"):
        cm = np.array(m["confusion"][name])
        assert cm.sum() == m["windows"][name]
        assert np.trace(cm) / cm.sum() == pytest.approx(
            {"test": m["accuracy_test"], "in_distribution": m["accuracy_in_distribution"]}.get(
                name, {"student_int8_tflm": m["validation_accuracy"]["student_int8_tflm"]})
            ["student_int8_tflm"], abs=1e-4)
        recall = [r["recall"] for r in m["per_class"][name]]
        assert recall == pytest.approx([cm[i, i] / cm[i].sum() for i in range(len(cm))], abs=1e-4)


def test_distillation_over_seeds_and_choice_on_validation(run):
    d = metrics(run)["distillation"]
    assert d["seeds"] == 2
    for kind in ("alone", "distilled"):
        assert all(len(d[kind][s]) == 2 for s in ("val", "test", "in_distribution"))
    gains = [100 * (a - b) for a, b in zip(d["distilled"]["test"], d["alone"]["test"])]
    assert d["gain_test_pp"]["mean"] == pytest.approx(np.mean(gains), abs=1e-3)
    assert d["gain_test_pp"]["std"] == pytest.approx(np.std(gains, ddof=1), abs=1e-3)
    kind = d["chosen"]["kind"]
    means = {k: np.mean(d[k]["val"]) for k in ("alone", "distilled")}
    assert means[kind] == max(means.values())
    assert d[kind]["val"][d["chosen"]["seed_index"]] == max(d[kind]["val"])


def test_qat_and_flash_budget(run):
    """--qat ran beside PTQ; --max-flash pruned the student until tinygen's own compile fits."""
    from tinygen.codegen import compile_model
    m = metrics(run)
    q = m["quantization"]
    assert {"ptq", "qat", "float"} <= set(q) and q["deployed"] in ("PTQ", "QAT")
    compiled = compile_model((run[0] / "student_int8.tflite").read_bytes())
    assert compiled.weight_bytes == m["sizes"]["student_flash_bytes"] <= MAX_FLASH
    assert compiled.macs == m["macs"]["student"]
    assert m["sizes"]["student_widths"] != [8, 16]          # the full student needs more flash
    rows = m["size_table"]
    assert [r["deployed"] for r in rows].count(True) == 1
    assert [r for r in rows if r["deployed"]][0]["widths"] == m["sizes"]["student_widths"]
    assert [8, 16] in [r["widths"] for r in rows] and [2, 4] in [r["widths"] for r in rows]
    flash = [r["flash_bytes"] for r in rows]
    assert flash == sorted(flash, reverse=True) and max(flash) > MAX_FLASH


def test_int8_model_is_clean_and_three_axis(run):
    """Fixed batch 1: no SHAPE / STRIDED_SLICE / PACK; int8 in and out; input [1, 64, 3]."""
    ops = metrics(run)["int8_ops"]
    assert not {"SHAPE", "STRIDED_SLICE", "PACK", "QUANTIZE", "DEQUANTIZE"} & set(ops)
    from tflite_micro import runtime
    interp = runtime.Interpreter.from_bytes((run[0] / "student_int8.tflite").read_bytes(),
                                            arena_size=64 * 1024)
    inp = interp.get_input_details(0)
    assert inp["dtype"] == np.int8 and list(inp["shape"]) == [1, 64, 3]
    doc = json.loads((run[0] / "features.json").read_text())
    assert doc["front_end"]["channels"] == 3 and doc["raw_samples"] == 3072
    assert doc["input_shape"] == [1, 64, 3]


@pytest.mark.host
def test_three_axis_network_is_bit_exact_in_c(run, tmp_path):
    """Raw x/y/z windows -> front end -> the trained network: tinygen's C equals TFLite-Micro
    (the front end's C twin is checked on three axes in test_features_c.py)."""
    from harness import build_host, run_host, tflm_run
    from tinygen.codegen import generate
    from tinygen.train.pipeline import load_split
    windows, _, _ = load_split(run[0])
    features = FrontEnd.from_json(run[0] / "features.json").compute(windows[::3])
    buf = (run[0] / "student_int8.tflite").read_bytes()
    gen = generate(buf, tmp_path, name="model")
    ours = run_host(build_host(tmp_path, sanitize=False), features, gen.output_bytes)
    assert len(ours) == 98 and (ours != tflm_run(buf, features)).sum() == 0


def test_load_split_reproduces_both_accuracies(run):
    """Stored held-out windows, and the in-distribution split rebuilt from features.json,
    through the front end and TFLM, give metrics.json's numbers."""
    from tinygen.train.convert import tflm_predict
    from tinygen.train.pipeline import load_split
    out, m = run[0], metrics(run)
    fe = FrontEnd.from_json(out / "features.json")
    buf = (out / "student_int8.tflite").read_bytes()
    arena = m["sizes"]["tflm_arena_bytes_host64"]
    for split, key in (("test", "accuracy_test"), ("in_distribution", "accuracy_in_distribution")):
        windows, labels, names = load_split(out, split=split)
        assert windows.dtype == np.int16 and windows.shape[1] == 3072 and len(names) == 6
        pred = tflm_predict(buf, fe.compute(windows), arena).argmax(axis=1)
        assert float((pred == labels).mean()) == pytest.approx(m[key]["student_int8_tflm"], abs=1e-4)
    (out / "test_windows.npz").rename(out / "cache.npz")
    try:
        again, labels2, _ = load_split(out / "features.json")
    finally:
        (out / "cache.npz").rename(out / "test_windows.npz")
    with np.load(out / "test_windows.npz") as z:
        assert np.array_equal(again, z["windows"]) and np.array_equal(labels2, z["labels"])


def test_no_held_out_window_reaches_training(run):
    """Every training window of the run is a slice of a recording trained on, never of a
    held-out one (the split-level proof is in test_data_split.py)."""
    from tinygen.data import dataset_from_source, split_windows
    from tinygen.data.dataset import held_out
    doc = json.loads((run[0] / "features.json").read_text())
    ds = dataset_from_source(doc["data_source"])
    mask = held_out(ds, doc["holdout"])
    train = split_windows(ds, 1024, doc["split_seed"], holdout=doc["holdout"])["train"][0]
    held_windows = {rec[off:off + 1024].tobytes() for (_, rec), h in zip(ds.recordings, mask) if h
                    for off in range(0, len(rec) - 1023, 512)}
    assert len(held_windows) > 0 and not held_windows & {w.tobytes() for w in train}


def test_load_split_unknown_split(run):
    from tinygen.train.pipeline import load_split
    with pytest.raises(DataError):
        load_split(run[0], split="bogus")


def test_quantize_own_student(run, tmp_path):
    from tinygen.train.quantize import quantize
    res = quantize(run[0] / "student.keras", tmp_path, features_json=run[0] / "features.json", seed=1)
    assert res.tflite_path.is_file() and res.metrics["int8_io"]["input_scale"] == 1.0
    assert res.metrics["accuracy_test"]["student_int8_tflm"] > 1 / 6


# ---- the teacher in int8, and on the device ---------------------------------------------------------

def teacher_inputs(run, split: str = "test", every: int = 1):
    """The int8 teacher's inputs for a split's windows: its float views, quantized."""
    from tinygen.train.convert import io_quantization
    from tinygen.train.pipeline import load_split
    from tinygen.train.teacher import teacher_view
    from tinygen.train.teacher_int8 import quantize_input
    windows, labels, _ = load_split(run[0], split=split)
    buf = (run[0] / "teacher_int8.tflite").read_bytes()
    views = teacher_view(windows[::every], 1024, 3, 8000.0)
    return buf, quantize_input(views, io_quantization(buf)), labels[::every]


def test_teacher_int8_is_the_unrolled_bilstm_scored_through_tflm(run):
    """teacher_int8.tflite: int8 in and out, the Bidirectional LSTM unrolled (REVERSE_V2 for
    the backward direction); its TFLite-Micro accuracy on both test sets is metrics.json's,
    recomputed here from the stored windows through the teacher's views."""
    from tinygen.train.convert import op_names, tflm_predict
    m = metrics(run)
    t = m["teacher_int8"]
    assert "error" not in t, t
    ops = op_names((run[0] / "teacher_int8.tflite").read_bytes())
    assert {"REVERSE_V2", "FULLY_CONNECTED", "LOGISTIC", "TANH", "CONV_2D"} <= set(ops)
    assert len(ops) == t["ops"] and t["op_types"] == sorted(set(ops))
    assert t["io"]["output_scale"] > 0 and -128 <= t["io"]["input_zero_point"] <= 127
    assert t["tflm_arena_total_host64"] > 100_000       # ~1,000 ops of interpreter structures
    for split, key in (("test", "accuracy_test"), ("in_distribution", "accuracy_in_distribution")):
        buf, x, y = teacher_inputs(run, split)
        pred = tflm_predict(buf, x, 4 << 20).argmax(1)
        assert float((pred == y).mean()) == pytest.approx(m[key]["teacher_int8_tflm"], abs=1e-4)
        assert m[key]["teacher_int8_tflm"] == t["scores"][split]
    assert m["accuracy_in_distribution"]["teacher_int8_tflm"] > 1.0 / len(m["classes"])


@pytest.mark.host
def test_teacher_int8_is_bit_exact_in_c(run, tmp_path):
    """The int8 teacher (~1,000 ops, weights shared between its unrolled steps) through
    tinygen's C, portable kernels and the DSP kernels with emulated intrinsics, equals
    TFLite-Micro on every byte."""
    from harness import build_host, run_host, tflm_run
    from tinygen.codegen import generate
    buf, x, _ = teacher_inputs(run, "test", every=21)
    gen = generate(buf, tmp_path, name="model")
    assert gen.weight_bytes == metrics(run)["on_device"]["teacher"]["weight_bytes"]
    theirs = tflm_run(buf, x)
    assert len(x) == 14 and len(np.unique(theirs, axis=0)) > 1
    for dsp in (False, True):
        ours = run_host(build_host(tmp_path, sanitize=False, dsp_emulated=dsp, gen=gen), x,
                        gen.output_bytes)
        assert ours.shape == theirs.shape and int((ours != theirs).sum()) == 0


def test_teacher_and_student_side_by_side_on_the_twin(run):
    """Both networks compiled, built for the Cortex-M7 twin and counted once: every figure is
    there, the teacher is the bigger and slower one, and the train table, report.html and
    `tinygen build`'s summary (text and JSON) all carry the same rows."""
    from tinygen.codegen import compile_model
    from tinygen.commands.build import teacher_json, teacher_lines
    from tinygen.train.report import format_table
    m = metrics(run)
    d = m["on_device"]
    assert d["board"] == "stm32h7" and "not cycles" in d["unit"]
    t, s = d["teacher"], d["student"]
    for fig in (t, s):
        assert fig["twin"] == "mps2-an500" and fig["fits"] is True
        assert fig["firmware_flash_bytes"] > fig["weight_bytes"] > 0
        assert fig["ram_bytes"] == fig["arena_bytes"] + fig["state_bytes"] + fig["stack_bytes"]
        assert fig["stack_bytes"] > 0 and fig["instructions"] > fig["macs"] > 0
    student = compile_model((run[0] / "student_int8.tflite").read_bytes())
    assert (s["weight_bytes"], s["macs"], s["arena_bytes"]) == (
        student.weight_bytes, student.macs, student.plan.arena_bytes)
    assert t["weight_bytes"] > 10 * s["weight_bytes"] and t["instructions"] > 10 * s["instructions"]
    assert t["ops"] > 500 and t["state_bytes"] == 0         # unrolled: no variable tensors
    table = format_table(m)
    assert "teacher on the device" in table
    assert f"{t['instructions']:>13,}" in table and f"{s['instructions']:>13,}" in table
    assert "\n".join(teacher_lines(m)) in table        # the build prints the same lines
    rows = teacher_json(m)["rows"]
    assert [r["model"] for r in rows] == ["teacher", "student"]
    assert rows[0]["accuracy"]["test"] == m["accuracy_test"]["teacher_int8_tflm"]
    assert rows[1]["instructions"] == s["instructions"]
    html = (run[0] / "report.html").read_text()
    assert '<table class="device">' in html and f"{t['instructions']:,}" in html
    from tinygen.boards import get_board
    fit = teacher_lines(m, get_board("stm32h7"))[-1]
    assert "the teacher would fit the stm32h7" in fit and f"{t['firmware_flash_bytes']:,} of" in fit
    small = dict(m, on_device=dict(d, teacher=dict(t, firmware_flash_bytes=3 << 20)))
    assert "DOES NOT FIT the stm32h7" in teacher_lines(small, get_board("stm32h7"))[-1]
    assert teacher_json({"teacher_int8": {"error": "converter crashed"}}) == {"error": "converter crashed"}
    assert teacher_lines({"teacher_int8": {"error": "boom"}}) == ["teacher on the device: not measured (boom)"]


# ---- the report, in a real browser --------------------------------------------------------------

@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
def test_report_in_headless_chromium(run, tmp_path):
    """report.html loads with no missing resource (nothing but inline data), and the confusion
    matrix image is decoded and shown. A copy with a missing picture proves the check can fail."""
    from browser import Browser
    report = run[0] / "report.html"
    text = report.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace("<h1>", '<img id="gone" src="missing.png"><h1>', 1))
    shown = ("(() => { const i = document.getElementById('confusion-test');"
             " const r = i.getBoundingClientRect();"
             " return [i.complete, i.naturalWidth, r.width, r.height]; })()")
    every = "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length"
    with Browser() as browser:
        page = browser.load(report.as_uri())
        assert page.failed_requests() == []
        complete, natural, width, height = page.evaluate(shown)
        assert complete and natural > 100 and width > 100 and height > 100
        assert page.evaluate(every) == 0
        assert page.evaluate("document.images.length") >= 4
        verdict = page.evaluate("document.getElementById('distillation-verdict').textContent")
        assert "distillation" in verdict and "2 seeds" in verdict
        rows = page.evaluate("document.querySelectorAll('table.sizes tr').length")
        assert rows == 1 + len(metrics(run)["size_table"])
        assert page.evaluate("document.querySelectorAll('table.device tr').length") == 3
        page.screenshot(tmp_path / "report.png")
        bad = browser.load(broken.as_uri())
        assert bad.failed_requests() == [(tmp_path / "missing.png").as_uri()]
        assert bad.evaluate(every) == 1
    assert (tmp_path / "report.png").stat().st_size > 10_000


# ---- fast checks: no training ---------------------------------------------------------------------

def test_cli_bad_data_is_one_line(tmp_path):
    (tmp_path / "data").mkdir()
    r = cli("train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if line.startswith("tinygen: error:")]
    assert len(errors) == 1 and "no class sub-folders" in errors[0] and "Traceback" not in r.stderr


@pytest.mark.parametrize("args,what", [(["--window", "1000"], "power of two"),
                                       (["--holdout", "*_99hz_*"], "matches no recording"),
                                       (["--max-flash", "0"], "must be positive"),
                                       (["--holdout", "m1_*", "--no-holdout"], "contradict")])
def test_cli_bad_options_are_one_line(tmp_path, args, what):
    r = cli("train", "--machines", "2", "--seconds", "0.5", *args, "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and what in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
