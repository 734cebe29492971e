"""On-target validation: send windows to the firmware over serial, compare with the Python reference.

    report = run_port("stm32h7", "/dev/ttyACM0", "student_int8.tflite", samples=100)
    report = run_emulated("stm32h7", "build/.pio/build/twin/firmware.elf", "student_int8.tflite")

Both return a `Report` (tinygen.validate.report). On a device error they raise the usual
one-line `tinygen.errors.*` with the partial report attached as `err.report` (also saved when
`report_path` is given), so no measured sample is lost.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import DataError, FirmwareMismatch, TinygenError

__all__ = ["run_port", "run_emulated", "validate_transport", "make_inputs", "Inputs",
           "build_twin_firmware"]


@dataclass
class Inputs:
    """What to send: raw int16 windows (through the device's front end) or int8 features."""

    mode: str                                   # "raw" or "features"
    data: np.ndarray                            # [N, raw_samples] int16 or [N, input_bytes] int8
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


def make_inputs(reference, info, samples: int = 20, data_dir: Optional[os.PathLike | str] = None,
                features_path: Optional[os.PathLike | str] = None, mode: str = "auto",
                seed: int = 0) -> Inputs:
    """Choose and build the windows for a run (labelled when the data says what they are)."""
    raw_ok = bool(info.has_front_end and info.raw_samples and getattr(reference, "has_front_end", False))
    if mode == "auto":
        mode = "raw" if raw_ok else "features"
    if mode == "raw" and not raw_ok:
        raise DataError("raw windows need a firmware built with the FFT front end and its "
                        "features.json; use --mode features")
    rng = np.random.default_rng(seed)
    if mode == "features":
        if data_dir is not None:
            raise DataError("--data sends raw recordings through the front end; this firmware/model "
                            "has none (use --samples N for random feature vectors)")
        x = rng.integers(-128, 128, size=(samples, info.input_bytes), dtype=np.int16).astype(np.int8)
        return Inputs("features", x)
    window = info.raw_samples
    meta = _features_json(features_path)
    if data_dir is not None and features_path is None:
        raise DataError("--data needs the model's features.json (the front end and the class "
                        "names); pass --features or keep it beside the model")
    if data_dir is not None or meta.get("data_source"):
        # A trained run: its test split (cached test_windows.npz, or rebuilt from the data).
        from ..train.pipeline import load_split

        w, y, names = load_split(features_path, Path(data_dir) if data_dir else None, "test")
        if w.shape[1] != window:
            raise DataError(f"the data's windows have {w.shape[1]} samples, the firmware wants {window}")
        pick = np.sort(rng.permutation(len(w))[:samples]) if len(w) > samples else np.arange(len(w))
        return Inputs("raw", np.asarray(w[pick], dtype=np.int16), np.asarray(y[pick]), len(names),
                      [str(n) for n in names])
    # No data described: a mix of tones and noise in the int16 range.
    t = np.arange(window)
    out = np.empty((samples, window), dtype=np.int16)
    for i in range(samples):
        f = rng.uniform(0.002, 0.45, size=3)
        a = rng.uniform(500, 9000, size=3)
        x = (a[:, None] * np.sin(2 * np.pi * f[:, None] * t + rng.uniform(0, 6.3, 3)[:, None])).sum(0)
        x += rng.normal(0, rng.uniform(10, 2000), window)
        out[i] = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    return Inputs("raw", out)


def check_identity(info, reference, port: str, model_name: str) -> None:
    """Refuse firmware built from another model (hash) or with other tensor sizes."""
    want = getattr(reference, "model_sha256", None)
    if want and info.model_sha256 != want:
        raise FirmwareMismatch(
            f"the firmware on {port} was built from model sha256 {info.model_sha256[:12]}..., not "
            f"{model_name} ({want[:12]}...); rebuild and flash it for this model")
    if info.input_bytes != reference.input_bytes or info.output_bytes != reference.output_bytes:
        raise FirmwareMismatch(
            f"the firmware on {port} takes {info.input_bytes} input / {info.output_bytes} output "
            f"bytes, {model_name} has {reference.input_bytes} / {reference.output_bytes}")
    if getattr(reference, "has_front_end", False) and info.has_front_end and reference.raw_samples \
            and info.raw_samples != reference.raw_samples:
        raise FirmwareMismatch(f"the firmware's front end takes {info.raw_samples}-sample windows, "
                               f"features.json says {reference.raw_samples}; rebuild the firmware")


def validate_transport(transport, board: str, reference, samples: int = 20,
                       data_dir=None, features_path=None, mode: str = "auto",
                       timeout: float = 5.0, expect_boot: bool = False, emulated: bool = False,
                       model_name: Optional[str] = None, report_path=None,
                       progress: Optional[Callable[[int, int], None]] = None,
                       inputs: Optional[Inputs] = None):
    """The whole session on an open transport. See the module docstring for error handling."""
    from .protocol import Client
    from .report import Report, SampleResult

    t0 = time.monotonic()
    report = Report(board=board, port=transport.name, emulated=emulated,
                    model=model_name, model_sha256=getattr(reference, "model_sha256", None),
                    output_zero_point=int(getattr(reference, "output_zero_point", 0)))
    client = Client(transport, timeout=timeout)
    try:
        info = client.connect(expect_boot=expect_boot, boot_timeout=max(timeout, 20.0))
        report.device = info.to_dict()
        report.cpu_hz = info.cpu_hz
        check_identity(info, reference, transport.name, model_name or "the model")
        if inputs is None:
            inputs = make_inputs(reference, info, samples, data_dir, features_path, mode)
        report.requested = len(inputs)
        report.num_classes = inputs.num_classes
        report.class_names = inputs.class_names
        for i in range(len(inputs)):
            label = None if inputs.labels is None else int(inputs.labels[i])
            if inputs.mode == "raw":
                window = inputs.data[i]
                exp_f = reference.front_end(window)
                exp = reference.network(exp_f)
                r = client.infer_raw(window)
                got_f = np.frombuffer(r.features, dtype=np.int8)
                res = SampleResult(i, "raw", exp.tolist(), np.frombuffer(r.output, np.int8).tolist(),
                                   r.net_cycles, r.fe_cycles, exp_f.tolist(), got_f.tolist(), label)
            else:
                x = inputs.data[i]
                exp = reference.network(x)
                r = client.infer_features(x.tobytes())
                res = SampleResult(i, "features", exp.tolist(),
                                   np.frombuffer(r.output, np.int8).tolist(), r.net_cycles,
                                   label=label)
            report.add(res)
            if progress:
                progress(i + 1, len(inputs))
    except TinygenError as err:
        done = len(report.samples)
        report.error = str(err) if done == 0 else f"after {done} sample(s): {err}"
        err.report = report  # type: ignore[attr-defined]
        report.seconds = time.monotonic() - t0
        if report_path:
            report.save(report_path)
        if done and report.requested:
            err.args = (f"{err} (stopped after {done} of {report.requested} samples; "
                        "partial results kept in the report)",)
        raise
    report.seconds = time.monotonic() - t0
    if report_path:
        report.save(report_path)
    return report


def _reference_for(model_path, features_path):
    from .reference import Reference, find_front_end, load_front_end

    if features_path is None and model_path is not None:
        features_path = find_front_end(model_path)
    return Reference(model_path, load_front_end(features_path)), features_path


def run_port(board: str, port: str, model_path, features_path=None, samples: int = 20,
             data_dir=None, baud: int = 115200, timeout: float = 5.0, mode: str = "auto",
             report_path=None, reference=None, progress=None):
    """Validate a flashed board on a serial port (/dev/ttyACM0, COM3, socket://, loop://)."""
    from .transport import Transport

    if reference is None:
        reference, features_path = _reference_for(model_path, features_path)
    with Transport.open(port, baud=baud, connect_timeout=timeout) as t:
        return validate_transport(t, board, reference, samples, data_dir, features_path, mode,
                                  timeout, expect_boot=False, emulated=False,
                                  model_name=Path(model_path).name if model_path else None,
                                  report_path=report_path, progress=progress)


def build_twin_firmware(board: str, model_path, out_dir, features_path=None,
                        optimize: str = "speed") -> Path:
    """An ELF for the board's twin: through the boards work (tinygen.project + tinygen.builder)
    when present, else straight with the cross compiler (generated model + protocol + BSP)."""
    from ..emulate import twin_for_board

    out_dir = Path(out_dir)
    try:
        from .. import builder, project  # the boards work; optional
    except ImportError:
        builder = project = None
    if builder is not None and project is not None and os.environ.get("TINYGEN_DIRECT_BUILD") != "1":
        try:
            return _build_with_project(board, model_path, out_dir, features_path, project, builder,
                                       optimize)
        except TinygenError:
            raise
        except Exception as exc:  # the boards work is young: say so, then build directly
            import sys
            print(f"tinygen: note: PlatformIO twin build unavailable ({type(exc).__name__}: {exc}); "
                  "building the twin firmware directly", file=sys.stderr)
    from ..codegen import generate
    from .firmware import build_twin_elf

    twin = twin_for_board(board)
    gen = generate(model_path, out_dir / "gen", name="model", optimize=optimize)
    srcs = list(gen.sources)
    has_fe = False
    if features_path is not None:
        from ..features import emit_c
        from .reference import load_front_end

        fe_files = emit_c(load_front_end(features_path), out_dir / "features")
        srcs += [p for p in fe_files if p.suffix == ".c"]
        has_fe = True
    main = out_dir / "twin_main.c"
    main.write_text(harness_main_source(board, has_fe))
    return build_twin_elf(twin, [main, *srcs], out_dir / f"{board}_{twin.name}.elf",
                          include_dirs=[out_dir / "gen", out_dir / "features"])


def _build_with_project(board, model_path, out_dir, features_path, project, builder,
                        optimize: str = "speed") -> Path:
    from ..boards import get_board
    from ..codegen import generate

    b = get_board(board)
    gen = generate(model_path, out_dir / "gen", name="model", optimize=optimize)
    fe = None
    if features_path is not None:
        from .reference import load_front_end
        fe = load_front_end(features_path)
    setup = builder.ensure_offline_setup((b.arch,))
    proj = project.write_project(b, out_dir / "project", gen, front_end=fe, cache=setup)
    env = (getattr(proj, "envs", None) or {}).get("twin")
    if not env:
        raise DataError(f"the generated project for {board} has no twin environment")
    return Path(builder.build_project(proj.dir, env).elf)


def harness_main_source(board: str, has_front_end: bool) -> str:
    """main.c of the direct build: the generated model (and front end) behind the protocol."""
    return _TWIN_MAIN.format(board=board,
                             fe_include='#include "tg_features.h"' if has_front_end else "",
                             raw="TG_FEATURES_WINDOW" if has_front_end else "0",
                             features="tg_features_run" if has_front_end else "NULL")


# The fallback harness: the generated model (and front end) behind the protocol.
_TWIN_MAIN = """/* Written by tinygen.validate (direct twin build) - do not edit. */
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tg_app.h"
#include "tg_bsp.h"
{fe_include}

static const tg_app_t app = {{
    .board = "{board}",
    .build_flags = "tinygen twin build -O2",
    .model_sha256 = model_sha256,
    .input_bytes = MODEL_INPUT_BYTES,
    .output_bytes = MODEL_OUTPUT_BYTES,
    .arena_bytes = MODEL_ARENA_BYTES,
    .input_scale = MODEL_INPUT_SCALE,
    .input_zero_point = MODEL_INPUT_ZERO_POINT,
    .output_scale = MODEL_OUTPUT_SCALE,
    .output_zero_point = MODEL_OUTPUT_ZERO_POINT,
    .invoke = model_invoke,
    .raw_samples = {raw},
    .features = {features},
}};

int main(void)
{{
    bsp_init();
    tg_protocol_run(&app);
    return 0;
}}
"""


def run_emulated(board: str, project_or_elf, model_path=None, features_path=None, samples: int = 20,
                 data_dir=None, timeout: float = 10.0, mode: str = "auto", report_path=None,
                 reference=None, progress=None, startup_timeout: float = 10.0, work_dir=None):
    """Validate on the board's QEMU twin. `project_or_elf`: an ELF, a PlatformIO project folder
    (built with tinygen.builder), or None to build one from `model_path` into `work_dir`."""
    from ..emulate import QemuTwin, twin_for_board

    twin = twin_for_board(board)
    if reference is None:
        reference, features_path = _reference_for(model_path, features_path)
    elf = _resolve_elf(board, project_or_elf, model_path, features_path, work_dir)
    from ..errors import DeviceError, EmulatorError

    with QemuTwin(twin, elf, startup_timeout=startup_timeout) as q:
        try:
            return validate_transport(q.transport, board, reference, samples, data_dir,
                                      features_path, mode, timeout, expect_boot=True, emulated=True,
                                      model_name=Path(model_path).name if model_path else None,
                                      report_path=report_path, progress=progress)
        except DeviceError as err:
            if q.alive():
                raise
            # QEMU itself went away (bad image, guest fault -> exit 3): say that instead.
            q.stop()
            new = EmulatorError(f"the {twin.machine} emulator exited with status {q.returncode} "
                                f"during validation ({err}); QEMU said: {q.log_tail(200)}")
            new.report = getattr(err, "report", None)  # type: ignore[attr-defined]
            raise new from None


def _resolve_elf(board, project_or_elf, model_path, features_path, work_dir) -> Path:
    if project_or_elf is not None:
        p = Path(project_or_elf)
        if p.is_file():
            return p
        if p.is_dir() and (p / "platformio.ini").is_file():
            from .. import builder
            from ..boards import get_board
            return Path(builder.build_project(p, get_board(board).env_twin).elf)
        raise DataError(f"{p} is neither an ELF nor a PlatformIO project")
    if model_path is None:
        raise DataError("give a firmware ELF or a model to build one from")
    import tempfile
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="tinygen-twin-"))
    return build_twin_firmware(board, model_path, work, features_path)
