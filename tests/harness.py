"""Shared test machinery: Keras -> int8 .tflite, the TFLite-Micro reference, and generated C
compiled and run on the host.

The host runner reads N input vectors from stdin and writes N output vectors to stdout, so one
process checks many inputs. It is built with -std=c99 -Wall -Wextra -Werror -pedantic and
AddressSanitizer + UBSan: an arena overrun or signed overflow fails the test even when the bytes
happen to match.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def quiet_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf  # noqa: F401

    tf.get_logger().setLevel("ERROR")
    return tf


def to_int8_tflite(model, representative: np.ndarray, io: str = "int8") -> bytes:
    """Full-integer int8 conversion (FACTS.md recipe), converter chatter silenced. `io`: the
    model's input and output type as users' models come ("int8", "uint8" or "float32": a
    QUANTIZE first, a DEQUANTIZE or QUANTIZE last)."""
    from tinygen.train.convert import convert_int8, to_int8_tflite as convert

    tf = quiet_tf()
    if io == "int8":
        return convert(tf, model, representative)
    return convert_int8(tf, tf.lite.TFLiteConverter.from_keras_model(model), representative,
                        input_type=io, output_type=io)


def tflm_run(model: bytes, inputs, arena_size: int = 4 << 20, resets=None):
    """Run TFLite-Micro's Python interpreter on a batch of inputs.

    `inputs` is one array (n, ...) for a single-input model, or a list with one such array per
    model input. Returns the stacked output for a single-output model, else a list per output.
    The interpreter keeps recurrent state across the batch, like the firmware; `resets` (a set
    of record numbers) resets it before those records, as the runner's 'R' command does."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    per_input = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    from tinygen.importers.tflite import load_model

    n_out = len(load_model(model).outputs)
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for r in range(len(per_input[0])):
        if resets and r in resets:
            interp.reset()
        for k, batch in enumerate(per_input):
            d = interp.get_input_details(k)
            interp.set_input(np.asarray(batch[r]).reshape(d["shape"]).astype(d["dtype"]), k)
        interp.invoke()
        for k in range(n_out):
            outs[k].append(np.array(interp.get_output(k)).ravel())
    stacked = [np.stack(o) for o in outs]
    return stacked[0] if not isinstance(inputs, (list, tuple)) and n_out == 1 else stacked


def tflm_arena(model: bytes, arena_size: int = 4 << 20) -> dict[str, int]:
    """TFLite-Micro's own figures: 'head' (activations) and 'tail' (interpreter), bytes."""
    from tflite_micro import runtime

    r, w = os.pipe()
    saved = os.dup(2)
    try:
        os.dup2(w, 2)
        interp = runtime.Interpreter.from_bytes(model, arena_size=arena_size)
        interp.print_allocations()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(w)
    text = os.read(r, 1 << 20).decode(errors="replace")
    os.close(r)
    figures = {}
    for key in ("head", "tail"):
        m = re.search(rf"\[RecordingMicroAllocator\].*?{key}.*?(\d+)\s*bytes", text, re.I) or \
            re.search(rf"{key}[^\d]*(\d+)", text, re.I)
        if m:
            figures[key] = int(m.group(1))
    figures["_text"] = text  # type: ignore[assignment]
    return figures


FIXTURES = Path(__file__).parent / "fixtures"


def write_runner(gen_dir: Path, name: str, gen) -> Path:
    """The host runner for this model's inputs and outputs (tests/fixtures/host_runner.c.j2)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(FIXTURES)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    ios = dict(inputs=[dict(k=k) for k in range(len(gen.inputs))],
               outputs=[dict(k=k) for k in range(len(gen.outputs))])
    runner = gen_dir / "_host_runner.c"
    runner.write_text(env.get_template("host_runner.c.j2").render(name=name, NAME=name.upper(), **ios))
    return runner


def build_host(gen_dir: Path, name: str = "model", sanitize: bool = True, opt: str = "-O1",
               dsp_emulated: bool = False, gen=None) -> Path:
    """Compile the generated C with the host gcc: the portable path, or with `dsp_emulated` the
    DSP path's kernels with each intrinsic written in C (TG_SIMD_EMULATE, tg_simd.h)."""
    if gen is not None or not (gen_dir / "_host_runner.c").is_file():
        write_runner(gen_dir, name, gen or _gen_of(gen_dir, name))
    exe = gen_dir / ("_host_runner_dsp" if dsp_emulated else "_host_runner")
    flags = [*STRICT, opt, *(["-DTG_SIMD_EMULATE"] if dsp_emulated else []), "-I", str(gen_dir),
             *(SANITIZE if sanitize else [])]
    objs = [compile_cached(src, flags) for src in sorted(gen_dir.glob("*.c"))]
    _gcc([*flags, *map(str, objs), "-o", str(exe)])
    return exe


# Compiled objects, keyed by the flags and the preprocessed source (so every header counts).
# The kernels' .c files are the same for most models of a run: with the sanitizers on, compiling
# them once instead of per model is most of a host build's time.
OBJ_CACHE = Path(os.environ.get("TINYGEN_OBJ_CACHE") or
                 Path(tempfile.gettempdir()) / f"tinygen-host-objs-{os.getuid()}")


def compile_cached(src: Path, flags: list[str]) -> Path:
    import hashlib

    pre = _gcc([*flags, "-E", "-P", str(src)]).stdout     # -P: no line markers (no tmp paths)
    i = flags.index("-I")
    options = flags[:i] + flags[i + 2:]                     # the folder itself is in `pre`
    key = hashlib.sha256("\0".join([_gcc_version(), *options]).encode() + b"\0" + pre).hexdigest()
    obj = OBJ_CACHE / key[:2] / f"{key}.o"
    if not obj.is_file():
        obj.parent.mkdir(parents=True, exist_ok=True)
        tmp = obj.with_suffix(f".{os.getpid()}.tmp")
        _gcc([*flags, "-c", str(src), "-o", str(tmp)])
        os.replace(tmp, obj)                 # atomic: parallel test workers share the cache
    return obj


def _gcc_version() -> str:
    global _GCC_VERSION
    if not _GCC_VERSION:
        _GCC_VERSION = _gcc(["--version"]).stdout.decode(errors="replace").splitlines()[0]
    return _GCC_VERSION


_GCC_VERSION = ""


def _gcc(args: list[str]) -> subprocess.CompletedProcess:
    # a hang guard only: ResNet-8's sanitized model.c takes minutes on a busy machine
    res = subprocess.run(["gcc", *args], capture_output=True, timeout=1800)
    if res.returncode:
        raise AssertionError(f"host compile failed:\n{res.stderr.decode(errors='replace')[:4000]}")
    return res


def _gen_of(gen_dir: Path, name: str):
    """Single int8 input and output: what a runner built without a GenResult assumes."""
    from types import SimpleNamespace

    return SimpleNamespace(inputs=[None], outputs=[None])


def _records(inputs, resets=None) -> bytes:
    """stdin for the runner: per record a command byte and every input's bytes."""
    per_input = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    out = bytearray()
    for r in range(len(per_input[0])):
        out += b"R" if resets and r in resets else b"I"
        for batch in per_input:
            out += np.ascontiguousarray(batch[r]).tobytes()
    return bytes(out)


def run_host(exe: Path, inputs, out_bytes, resets=None):
    """Run the runner on a batch (see tflm_run for the shapes). `out_bytes` is the output's size
    (single output, int8 result as before) or a list of (nbytes, dtype) per output."""
    n = len(inputs[0] if isinstance(inputs, (list, tuple)) else inputs)
    res = subprocess.run([str(exe)], input=_records(inputs, resets), capture_output=True, timeout=300)
    if res.returncode:
        raise AssertionError(f"host runner exited {res.returncode}:\n"
                             f"{res.stderr.decode(errors='replace')[:4000]}")
    if isinstance(out_bytes, int):
        return np.frombuffer(res.stdout, dtype=np.int8).reshape(n, out_bytes)
    rows = np.frombuffer(res.stdout, dtype=np.uint8).reshape(n, -1)
    outs, at = [], 0
    for nbytes, dtype in out_bytes:
        outs.append(np.ascontiguousarray(rows[:, at:at + nbytes]).view(dtype))
        at += nbytes
    return outs


def random_inputs(gen, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """n random records for every model input, over its type's whole range (floats: around
    the input's quantization range, where there is one)."""
    batches = []
    for io in gen.inputs:
        dt = np.dtype(io.dtype)
        if dt.kind == "f":
            lo, hi = (-4.0, 4.0) if io.scale is None else (io.scale * (-160 - io.zero_point),
                                                          io.scale * (160 - io.zero_point))
            batches.append(rng.uniform(lo, hi, size=(n, io.count)).astype(dt))
        else:
            info = np.iinfo(dt)
            batches.append(rng.integers(info.min, int(info.max) + 1, size=(n, io.count),
                                        dtype=np.int64).astype(dt))
    return batches


def random_int8(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return rng.integers(-128, 128, size=(n, size), dtype=np.int64).astype(np.int8)


def check_bit_exact(model: bytes, inputs, workdir: Optional[Path] = None,
                    name: str = "model", resets=None):
    """Generate C for `model`, run it and TFLite-Micro on `inputs`; return (ours, theirs, gen).

    Both kernel paths run: the portable one and the DSP one (intrinsics emulated in C).
    For a single int8 input and output (`inputs` one int8 array) `ours` holds two rows per input
    (portable first) and `theirs` TFLite-Micro's rows twice, as int8. Otherwise `inputs` is a
    list with one batch per model input, and ours/theirs are the outputs' raw bytes (uint8,
    one row per record, all outputs side by side), portable rows then DSP rows: float outputs
    compare bit for bit."""
    from tinygen.codegen import generate

    tmp = Path(workdir or tempfile.mkdtemp(prefix="tg_exact_"))
    gen = generate(model, tmp, name=name)
    typed = isinstance(inputs, (list, tuple))
    spec = gen.outputs[0].nbytes if not typed else [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
    runs = [run_host(build_host(tmp, name, dsp_emulated=dsp, gen=gen), inputs, spec, resets)
            for dsp in (False, True)]
    theirs = tflm_run(model, inputs, resets=resets)
    if not typed:
        return np.concatenate(runs), np.concatenate([theirs, theirs]), gen
    ours = np.concatenate([as_bytes(r) for r in runs])
    ref = as_bytes(theirs)
    return ours, np.concatenate([ref, ref]), gen


def as_bytes(outputs: list[np.ndarray]) -> np.ndarray:
    """Outputs (one batch per model output) as raw bytes, one row per record."""
    return np.concatenate([np.ascontiguousarray(o).view(np.uint8).reshape(len(o), -1)
                           for o in outputs], axis=1)
