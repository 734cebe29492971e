"""The compiler's contract: untrusted input, errors, determinism, portability, the anchors."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tinygen.codegen import compile_model, generate
from tinygen.errors import ModelError, TinygenError, UnsupportedModel, UnsupportedOp
from tinygen.importers.tflite import load_model

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
if not ANCHORS.is_dir():  # CI clones main with shared/ beside it
    ANCHORS = Path(__file__).resolve().parents[1].parent / "shared" / "anchors"
FFT_ANCHOR = ANCHORS / "cnn_fft_flatten.tflite"
RAW_ANCHOR = ANCHORS / "cnn_raw_stride.tflite"
needs_anchors = pytest.mark.skipif(not FFT_ANCHOR.is_file(), reason="shared/anchors not present")

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
CROSS = {
    "arm-none-eabi-gcc": ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"],
    "arm-none-eabi-gcc(m0)": ["-mcpu=cortex-m0", "-mthumb"],
    "riscv64-unknown-elf-gcc": ["-march=rv32imc", "-mabi=ilp32", "-ffreestanding"],
    "gcc": [],
}


def _replace_same_length(buf: bytes, old: bytes, new: bytes) -> bytes:
    assert len(new) <= len(old) and old in buf
    return buf.replace(old, new.ljust(len(old), b" "), 1)


@needs_anchors
def test_hostile_names_stay_harmless(tmp_path):
    buf = FFT_ANCHOR.read_bytes()
    evil = b'*/ system("x"); /*\\\n??/'
    buf = _replace_same_length(buf, b"serving_default_keras_tensor_53:0", evil)
    buf = _replace_same_length(buf, b"MLIR Converted.", b"*/ x(); /*\n#")
    gen = generate(buf, tmp_path)
    text = (tmp_path / "model.c").read_text() + (tmp_path / "model.h").read_text()
    assert 'system("x")' not in text.replace('system("x"); / *', "")
    assert "*/ system" not in text and "*/ x()" not in text and "??/" not in text
    for line in text.splitlines():
        assert not line.rstrip().endswith("\\"), "a line splice would swallow the next line"
    subprocess.run(["gcc", *STRICT, "-I", str(tmp_path), "-c", str(tmp_path / "model.c"),
                    "-o", str(tmp_path / "m.o")], check=True, timeout=120)
    assert gen.arena_bytes == 1280


@needs_anchors
@pytest.mark.parametrize("cut", [0, 7, 8, 100, 1000, 3000, 5000])
def test_truncated_model_is_one_clear_error(cut):
    buf = FFT_ANCHOR.read_bytes()[:cut]
    with pytest.raises(ModelError) as err:
        load_model(buf)
    assert "\n" not in str(err.value)


@needs_anchors
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_corrupted_models_never_crash(data):
    """Any byte flips give a model, or a TinygenError; never another exception."""
    buf = bytearray(FFT_ANCHOR.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(8, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    try:
        compile_model(bytes(buf))
    except TinygenError as err:
        assert "\n" not in str(err)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        load_model(tmp_path / "nope.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
        load_model(junk)


@needs_anchors
def test_bad_c_name_is_refused(tmp_path):
    with pytest.raises(TinygenError, match="not a plain C identifier"):
        generate(FFT_ANCHOR, tmp_path, name="my model")


@needs_anchors
def test_generation_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(RAW_ANCHOR, a)
    generate(RAW_ANCHOR, b)
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    first = (a / "model.c").read_text().splitlines()[0]
    assert "tinygen" in first and "do not edit" in first and compile_model(RAW_ANCHOR).graph.sha256 in first


@needs_anchors
def test_header_contract(tmp_path):
    gen = generate(FFT_ANCHOR, tmp_path, name="vib")
    h = (tmp_path / "vib.h").read_text()
    for macro in ("VIB_INPUT_BYTES 128", "VIB_OUTPUT_BYTES 4", f"VIB_ARENA_BYTES {gen.arena_bytes}",
                  "VIB_SHA256", "VIB_INPUT_SCALE", "VIB_INPUT_ZERO_POINT", "VIB_OUTPUT_SCALE",
                  "VIB_OUTPUT_ZERO_POINT", "VIB_TINYGEN_VERSION"):
        assert f"#define {macro}" in h
    assert "typedef int8_t vib_input0_t;" in h and "typedef vib_input0_t vib_input_t;" in h
    assert "int vib_invoke(const vib_input_t *input, vib_output_t *output);" in h
    assert "int vib_invoke_ptrs(const void *const *inputs, void *const *outputs);" in h
    assert "void vib_reset(void);" in h and "#define VIB_STATE_BYTES 0" in h
    assert not any("malloc" in p.read_text() for p in tmp_path.iterdir())


CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "tflm" / "examples"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")
def test_header_contract_several_inputs(tmp_path):
    """simple_add_model: two int8 inputs, one output, a -1 batch in its signature."""
    gen = generate(CORPUS / "simple_add_model.tflite", tmp_path)
    h = (tmp_path / "model.h").read_text()
    assert [io.count for io in gen.inputs] == [16384, 16384] and len(gen.outputs) == 1
    for macro in ("MODEL_NUM_INPUTS 2", "MODEL_INPUT0_BYTES 16384", "MODEL_INPUT1_COUNT 16384",
                  "MODEL_OUTPUT_BYTES 16384", "MODEL_OUTPUT0_BYTES 16384"):
        assert f"#define {macro}" in h
    assert "MODEL_INPUT_BYTES" not in h        # several inputs: only the numbered names
    assert ("int model_invoke(const model_input0_t *in0, const model_input1_t *in1, "
            "model_output0_t *out0);") in h
    subprocess.run(["gcc", *STRICT, "-I", str(tmp_path), "-c", str(tmp_path / "model.c"),
                    "-o", str(tmp_path / "m.o")], check=True, timeout=120)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")
def test_equal_depthwise_layers_share_one_kernel(tmp_path):
    """person_detect's five 6x6x128 depthwise layers (ops 13-21) run one specialised kernel
    that takes each layer's arrays (codegen._share_kernels: issue 12's code size), so its 28
    per-layer calls need 24 functions, not 28; every other layer keeps its own."""
    import re

    generate(CORPUS / "person_detect.tflite", tmp_path)
    src = (tmp_path / "model.c").read_text()
    defs = re.findall(r"^static \w+ void (model_op\d+)_run\(", src, re.M)
    calls = re.findall(r"^ +(model_op\d+)_run\((.*)\);$", src, re.M)
    assert (len(defs), len(calls)) == (24, 28)
    assert sorted(set(f for f, _ in calls)) == sorted(defs)
    shared = [args.split(",")[0] for f, args in calls if f == "model_op13"]
    assert shared == [f"&model_op{i}_params" for i in (13, 15, 17, 19, 21)]
    subprocess.run(["gcc", *STRICT, "-I", str(tmp_path), "-c", str(tmp_path / "model.c"),
                    "-o", str(tmp_path / "m.o")], check=True, timeout=120)


@needs_anchors
@pytest.mark.parametrize("compiler", sorted(CROSS))
def test_generated_code_is_portable(tmp_path, compiler):
    cc = compiler.split("(")[0]
    gen = generate(RAW_ANCHOR, tmp_path / "raw")
    generate(FFT_ANCHOR, tmp_path / "fft")
    for folder in ("raw", "fft"):
        d = tmp_path / folder
        for src in sorted(d.glob("*.c")):
            subprocess.run([cc, *STRICT, *CROSS[compiler], "-I", str(d), "-c", str(src), "-o",
                            str(tmp_path / (src.stem + ".o"))], check=True, timeout=120,
                           capture_output=True)
    assert gen.arena_bytes == 5112


@needs_anchors
@pytest.mark.tf
@pytest.mark.parametrize("anchor,arena", [(FFT_ANCHOR, 1280), (RAW_ANCHOR, 5112)])
def test_anchors_bit_exact(tmp_path, anchor, arena):
    pytest.importorskip("tflite_micro")
    from harness import check_bit_exact, tflm_arena

    model = anchor.read_bytes()
    graph = load_model(model)
    size = graph.tensor(graph.inputs[0]).size
    rng = np.random.default_rng(1)
    inputs = rng.integers(-128, 128, size=(64, size)).astype(np.int8)
    ours, theirs, gen = check_bit_exact(model, inputs, tmp_path)
    assert int(np.count_nonzero(ours != theirs)) == 0
    assert gen.arena_bytes == arena == gen.compiled.facts_lower_bound
    assert gen.arena_bytes <= tflm_arena(model)["head"]


@pytest.mark.tf
def test_float_model_refused(tmp_path):
    from harness import quiet_tf

    tf = quiet_tf()
    import keras

    inp = keras.Input((16,), batch_size=1)
    model = keras.Model(inp, keras.layers.Dense(3)(inp))
    buf = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    with pytest.raises(UnsupportedModel, match="computes in floating point.*full-integer quantization"):
        load_model(buf)


@pytest.mark.tf
def test_unsupported_op_names_op_and_index(tmp_path):
    from harness import to_int8_tflite

    import keras

    import tensorflow as tf

    # LOG_SOFTMAX: an int8 op TFLite-Micro has and no tinygen plugin lowers
    inp = keras.Input((16, 2), batch_size=1)
    x = keras.layers.Conv1D(4, 3)(inp)
    x = keras.layers.Lambda(lambda t: tf.nn.log_softmax(t), name="logsoft_layer")(x)
    model = keras.Model(inp, keras.layers.Flatten()(x))
    buf = to_int8_tflite(model, np.random.default_rng(0).normal(size=(8, 16, 2)).astype(np.float32))
    with pytest.raises(UnsupportedOp) as err:
        compile_model(buf)
    msg = str(err.value)
    assert "LOG_SOFTMAX" in msg and "op " in msg and "\n" not in msg
    assert "[layer '" in msg and "logsoft" in msg.lower()         # names the Keras layer too


@needs_anchors
def test_analyze_json_and_plan_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import json

    from tinygen.cli import main

    png = tmp_path / "plan.png"
    assert main(["analyze", str(RAW_ANCHOR), "--board", "stm32h7", "--json", "--plot", str(png)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["totals"]["arena_bytes"] == 5112 and doc["totals"]["liveness_lower_bound"] == 5112
    assert doc["totals"]["macs"] == 111_304                       # the anchor table's figure
    assert [r["op"] for r in doc["ops"]][:2] == ["RESHAPE", "CONV_2D"] and doc["board"]["fits"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
