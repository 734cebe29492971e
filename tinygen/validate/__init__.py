"""On-target validation: send inputs to running firmware over serial, compare with the reference.

    report = run_port(board, "auto", "student_int8.tflite", samples=100)
    report = run_emulated(board, ".pio/build/stm32h7_twin/firmware.elf", "student_int8.tflite")

Validation talks to a running device (tinygen.validate.device) and never builds: the firmware is
a flashed board or an ELF for the board's twin. Both return a `Report`
(tinygen.validate.report). On a device error they raise the usual one-line `tinygen.errors.*`
with the partial report attached as `err.report` (also saved when `report_path` is given), so no
measured sample is lost.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..boards import Board, get_board
from ..errors import DataError, TinygenError
from .device import Device, open_device
from .reference import Reference, find_front_end, load_front_end, random_inputs
from .report import Report, SampleResult

__all__ = ["run_port", "run_emulated", "validate", "make_inputs", "Inputs", "reference_for",
           "Device", "open_device", "check_integrity"]


@dataclass
class Inputs:
    """What to send: raw int16 windows (through the device's front end) or the model's inputs."""

    mode: str                                   # "raw" or "features"
    data: list                                  # raw: int16 windows; features: lists of arrays
    labels: Optional[np.ndarray] = None
    num_classes: Optional[int] = None
    class_names: Optional[list] = None

    def __len__(self) -> int:
        return len(self.data)


def _features_json(path: Optional[os.PathLike | str]) -> dict:
    if path is None:
        return {}
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def tone_windows(window: int, samples: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A mix of tones and noise in the int16 range, one window per sample."""
    t = np.arange(window)
    out = []
    for _ in range(samples):
        f = rng.uniform(0.002, 0.45, size=3)
        a = rng.uniform(500, 9000, size=3)
        x = (a[:, None] * np.sin(2 * np.pi * f[:, None] * t + rng.uniform(0, 6.3, 3)[:, None])).sum(0)
        x += rng.normal(0, rng.uniform(10, 2000), window)
        out.append(np.clip(np.round(x), -32768, 32767).astype(np.int16))
    return out


def make_inputs(reference, info, samples: int = 20, data_dir: Optional[os.PathLike | str] = None,
                features_path: Optional[os.PathLike | str] = None, mode: str = "auto",
                seed: int = 0) -> Inputs:
    """Choose and build the inputs for a run (labelled when the data says what they are)."""
    raw_ok = bool(info.has_front_end and info.raw_samples and reference.has_front_end)
    if mode == "auto":
        mode = "raw" if raw_ok else "features"
    if mode == "raw" and not raw_ok:
        raise DataError("raw windows need a firmware built with the FFT front end and its "
                        "features.json; use --mode features")
    rng = np.random.default_rng(seed)
    if mode == "features":
        if data_dir is not None:
            raise DataError("--data sends raw recordings through the front end; this firmware/model "
                            "has none (use --samples N for random inputs)")
        return Inputs("features", [random_inputs(reference.inputs, rng) for _ in range(samples)])
    window = info.raw_samples
    meta = _features_json(features_path)
    if data_dir is not None and features_path is None:
        raise DataError("--data needs the model's features.json (the front end and the class "
                        "names); pass --features or keep it beside the model")
    if data_dir is None and not meta.get("data_source"):
        return Inputs("raw", tone_windows(window, samples, rng))
    # A trained run: its test split (cached test_windows.npz, or rebuilt from the data).
    from ..train.pipeline import load_split

    w, y, names = load_split(features_path, Path(data_dir) if data_dir else None, "test")
    if w.shape[1] != window:
        raise DataError(f"the data's windows have {w.shape[1]} samples, the firmware wants {window}")
    pick = np.sort(rng.permutation(len(w))[:samples]) if len(w) > samples else np.arange(len(w))
    return Inputs("raw", list(np.asarray(w[pick], dtype=np.int16)), np.asarray(y[pick]),
                  len(names), [str(n) for n in names])


def _one(device: Device, reference, inputs: Inputs, i: int) -> SampleResult:
    label = None if inputs.labels is None else int(inputs.labels[i])
    if inputs.mode == "raw":
        window = inputs.data[i]
        exp_f = reference.front_end(window)
        exp = reference.invoke([exp_f])
        r = device.infer_raw(window)
        return SampleResult(i, "raw", exp, r.outputs, r.net_cycles, r.fe_cycles, exp_f,
                            r.features, label)
    x = inputs.data[i]
    r = device.infer(x)
    return SampleResult(i, "features", reference.invoke(x), r.outputs, r.net_cycles, label=label)


def validate(device: Device, reference, samples: int = 20, data_dir=None, features_path=None,
             mode: str = "auto", model_name: Optional[str] = None, report_path=None,
             progress: Optional[Callable[[int, int], None]] = None,
             inputs: Optional[Inputs] = None) -> Report:
    """The whole session on an open device. See the module docstring for error handling."""
    t0 = time.monotonic()
    report = Report(board=device.board.id, port=device.name, emulated=device.emulated,
                    model=model_name, model_sha256=reference.model_sha256,
                    output_zero_point=reference.outputs[0].zero_point)
    try:
        report.device = device.info.to_dict()
        report.cpu_hz = device.info.cpu_hz
        device.check(reference, model_name or "the model")
        report.integrity = check_integrity(device, reference, features_path)
        if inputs is None:
            inputs = make_inputs(reference, device.info, samples, data_dir, features_path, mode)
        report.requested = len(inputs)
        report.num_classes, report.class_names = inputs.num_classes, inputs.class_names
        for i in range(len(inputs)):
            report.add(_one(device, reference, inputs, i))
            report.resends = device.resends
            if progress:
                progress(i + 1, len(inputs))
    except TinygenError as err:
        _keep_partial(report, err, t0, report_path)
        raise
    report.seconds = time.monotonic() - t0
    if report_path:
        report.save(report_path)
    return report


def _expected_for(reply, model_path, fe_path) -> dict:
    """The expected sets of the --optimize mode the firmware was built with: the device does not
    say which, so take the mode whose model digest equals the one the device computed (speed,
    the default, when neither does: the mismatch is then reported against it)."""
    from ..integrity import SET_MODEL, expected_sets

    got = {s.id: s for s in reply.sets}.get(SET_MODEL)
    first = None
    for optimize in ("speed", "size"):
        want = expected_sets(model_path, fe_path, optimize)
        if got is None or got.computed == want[SET_MODEL].digest(reply.algorithm):
            return want
        first = first or want
    return first


def check_integrity(device: Device, reference, features_path=None) -> Optional[dict]:
    """The device recomputes its constants' digests now (INTEGRITY); they must equal what was
    generated beside them and what this tinygen computes from the model file (and features.json).
    None when the firmware was built without the check; FirmwareMismatch (one line) otherwise."""
    from ..errors import FirmwareMismatch
    from ..integrity import SET_FRONT_END, SET_NAMES

    model_path = getattr(reference, "model_path", None)
    if device.info.field.integrity == "off" or model_path is None:
        return None
    reply = device.client.integrity(timeout=device.client.timeout + 30.0)
    fe_path = features_path if reference.has_front_end and device.info.has_front_end else None
    want = _expected_for(reply, model_path, fe_path)
    sets = []
    for got in reply.sets:
        name = SET_NAMES.get(got.id, f"set {got.id}")
        if got.id not in want:
            if got.id == SET_FRONT_END:
                continue        # the firmware has a front end the reference was not given
            raise FirmwareMismatch(f"the firmware on {device.name} checks an unknown set {got.id}")
        model_digest = want[got.id].digest(reply.algorithm)
        if got.computed != model_digest:
            raise FirmwareMismatch(
                f"the {name} constants in flash on {device.name} are not {Path(model_path).name}'s: "
                f"{reply.algorithm} {got.computed.hex()} over {got.bytes:,} B, the model gives "
                f"{model_digest.hex()} over {want[got.id].total:,} B; reflash the firmware")
        if got.expected != model_digest:
            raise FirmwareMismatch(
                f"the {name} digest generated into the firmware on {device.name} "
                f"({got.expected.hex()}) is not what this tinygen computes from "
                f"{Path(model_path).name} ({model_digest.hex()}); rebuild it with this tinygen")
        sets.append({"set": name, "arrays": got.arrays, "bytes": got.bytes,
                     "digest": got.computed.hex(), "ok": True})
    summary = ", ".join(f"{s['set']} {s['bytes']:,} B {reply.algorithm} {s['digest']}" for s in sets)
    return {"algorithm": reply.algorithm, "sets": sets,
            "summary": f"{summary}: equal to the model file" if sets else "no sets"}


def _keep_partial(report: Report, err: TinygenError, t0: float, report_path) -> None:
    done = len(report.samples)
    report.error = str(err) if done == 0 else f"after {done} sample(s): {err}"
    report.seconds = time.monotonic() - t0
    err.report = report
    if report_path:
        report.save(report_path)
    if done and report.requested:
        err.args = (f"{err} (stopped after {done} of {report.requested} samples; partial "
                    "results kept in the report)",)


def reference_for(model_path, features_path=None) -> tuple[Reference, Optional[Path]]:
    """TFLite-Micro for the model, with its front end (features.json beside it by default)."""
    if features_path is None:
        features_path = find_front_end(model_path)
    return Reference(model_path, load_front_end(features_path)), features_path


def run_port(board: Board | str, port: str, model_path, features_path=None, samples: int = 20,
             data_dir=None, timeout: float = 5.0, mode: str = "auto", report_path=None,
             reference=None, progress=None) -> Report:
    """Validate a flashed board on a serial port (a path, socket://, loop://, or "auto")."""
    board = get_board(board) if isinstance(board, str) else board
    if reference is None:
        reference, features_path = reference_for(model_path, features_path)
    with open_device(board, port=port, timeout=timeout) as dev:
        return validate(dev, reference, samples, data_dir, features_path, mode,
                        model_name=Path(model_path).name, report_path=report_path,
                        progress=progress)


def run_emulated(board: Board | str, elf, model_path, features_path=None, samples: int = 20,
                 data_dir=None, timeout: float = 10.0, mode: str = "auto", report_path=None,
                 reference=None, progress=None) -> Report:
    """Validate the board's twin firmware (an ELF) on QEMU."""
    board = get_board(board) if isinstance(board, str) else board
    if reference is None:
        reference, features_path = reference_for(model_path, features_path)
    with open_device(board, emulate=True, elf=Path(elf), timeout=timeout) as dev:
        return validate(dev, reference, samples, data_dir, features_path, mode,
                        model_name=Path(model_path).name, report_path=report_path,
                        progress=progress)
