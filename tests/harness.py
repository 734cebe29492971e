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


def to_int8_tflite(model, representative: np.ndarray) -> bytes:
    """Full-integer int8 conversion (FACTS.md recipe), converter chatter silenced."""
    from tinygen.train.convert import to_int8_tflite as convert

    return convert(quiet_tf(), model, representative)


def tflm_run(model: bytes, inputs: np.ndarray, arena_size: int = 4 << 20) -> np.ndarray:
    """Run TFLite-Micro's Python interpreter on each input (int8), return stacked outputs."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    details = interp.get_input_details(0)
    outs = []
    for x in inputs:
        interp.set_input(x.reshape(details["shape"]).astype(np.int8), 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0), dtype=np.int8).ravel())
    return np.stack(outs)


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


RUNNER = r"""
#include <stdio.h>
#include "{name}.h"
static int8_t in[{NAME}_INPUT_BYTES];
static int8_t out[{NAME}_OUTPUT_BYTES];
int main(void) {{
    while (fread(in, 1, sizeof in, stdin) == sizeof in) {{
        if ({name}_invoke(in, out) != 0) return 3;
        if (fwrite(out, 1, sizeof out, stdout) != sizeof out) return 4;
    }}
    return 0;
}}
"""


def build_host(gen_dir: Path, name: str = "model", sanitize: bool = True, opt: str = "-O1",
               dsp_emulated: bool = False) -> Path:
    """Compile the generated C with the host gcc: the portable path, or with `dsp_emulated` the
    DSP path's kernels with each intrinsic written in C (TG_SIMD_EMULATE, tg_simd.h)."""
    runner = gen_dir / "_host_runner.c"
    runner.write_text(RUNNER.format(name=name, NAME=name.upper()))
    exe = gen_dir / ("_host_runner_dsp" if dsp_emulated else "_host_runner")
    sources = sorted(str(p) for p in gen_dir.glob("*.c"))
    cmd = ["gcc", *STRICT, opt, *(["-DTG_SIMD_EMULATE"] if dsp_emulated else []), "-I", str(gen_dir),
           *(SANITIZE if sanitize else []), *sources, "-o", str(exe)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if res.returncode:
        raise AssertionError(f"host compile failed:\n{res.stderr[:4000]}")
    return exe


def run_host(exe: Path, inputs: np.ndarray, out_bytes: int) -> np.ndarray:
    data = np.ascontiguousarray(inputs.astype(np.int8)).tobytes()
    res = subprocess.run([str(exe)], input=data, capture_output=True, timeout=300)
    if res.returncode:
        raise AssertionError(f"host runner exited {res.returncode}:\n"
                             f"{res.stderr.decode(errors='replace')[:4000]}")
    return np.frombuffer(res.stdout, dtype=np.int8).reshape(len(inputs), out_bytes)


def random_int8(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return rng.integers(-128, 128, size=(n, size), dtype=np.int64).astype(np.int8)


def check_bit_exact(model: bytes, inputs: np.ndarray, workdir: Optional[Path] = None,
                    name: str = "model") -> tuple[np.ndarray, np.ndarray, "object"]:
    """Generate C for `model`, run it and TFLite-Micro on `inputs`; return (ours, theirs, gen).

    Both kernel paths run: the portable one and the DSP one (intrinsics emulated in C), so
    `ours` holds two rows per input (portable first) and `theirs` TFLite-Micro's rows twice."""
    from tinygen.codegen import generate

    tmp = Path(workdir or tempfile.mkdtemp(prefix="tg_exact_"))
    gen = generate(model, tmp, name=name)
    portable = run_host(build_host(tmp, name), inputs, gen.output_bytes)
    dsp = run_host(build_host(tmp, name, dsp_emulated=True), inputs, gen.output_bytes)
    theirs = tflm_run(model, inputs)
    return np.concatenate([portable, dsp]), np.concatenate([theirs, theirs]), gen
