"""Issue 16's hostile models, each made from a real anchor by one or two field edits.

Before tinygen/checks.py every one of them crashed `tinygen generate` / `analyze` with a traceback
or was accepted into C with undefined behaviour; now each is refused with one line that names the
tensor or op. TFLite-Micro's own verdict on the same file (measured by test_tflm_verdicts) is why
refusing is right: it refuses or aborts on some, and on the rest it computes through undefined
integer conversions or outside the TFLite quantization spec, so there are no bytes to match:

| case                         | TFLite-Micro (installed snapshot)                        |
|------------------------------|----------------------------------------------------------|
| scale NaN / inf              | runs: frexp/round of NaN or inf cast to int (undefined)  |
| conv output scale 0          | refuses (AllocateTensors fails)                          |
| mean output scale 0          | runs: division by 0 -> inf multiplier (undefined)        |
| zero point -2^62 / 2^40      | runs: silently truncated to int32 (-2^62 -> 0)           |
| softmax input scale 4.66e-10 | aborts the process (QuantizeMultiplierGreaterThanOne)    |
| activation with two scales   | runs: reads the first scale only                         |
| FC weights not quantized     | runs: scale 0, every multiplier 0                        |
| an op with no inputs         | refuses                                                  |
| an op output index -1        | refuses                                                  |
| filter scale 1e10            | runs: x * (1 << 33) (undefined)                          |
| activation zero point 300    | runs: clamp bounds cross (act_min 300 > act_max 127)     |
| output scale inf             | runs: multipliers 0, then inf in the next layer          |
| negative filter scales       | runs: negative multipliers (outside the spec)            |
| tensor buffer index too big  | crashes (reads past its buffer table; found by the fuzzer)|
| model input marked variable  | runs (found by the fuzzer: tinygen's state area crashed) |
| conv bias of 2^31 - 1        | runs: int32 accumulator overflow (UBSan found it in ours) |
| softmax without options      | aborts: beta takes the schema default 0                  |
| no model outputs             | runs, computing nothing (tinygen analyze crashed)        |

A valid extreme that TFLite-Micro computes with defined arithmetic (filter scales so small that
every multiplier underflows to 0) is accepted and bit-exact.
"""
from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fuzz import model_edit as me
from tinygen.cli import main

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
if not ANCHORS.is_dir():  # CI clones main with shared/ beside it
    ANCHORS = Path(__file__).resolve().parents[1].parent / "shared" / "anchors"
RAW = ANCHORS / "cnn_raw_stride.tflite"   # RESHAPE, CONV x2, RESHAPE, MEAN, FC, SOFTMAX
FFT = ANCHORS / "cnn_fft_flatten.tflite"  # RESHAPE, CONV, MAX_POOL, CONV, MAX_POOL, RESHAPE, FC, SOFTMAX
needs_anchors = pytest.mark.skipif(not RAW.is_file(), reason="shared/anchors not present")

# cnn_raw_stride's tensors: 0 input, 5 FC weights, 7 conv2 filter, 10 conv1 input,
# 11 conv1 output, 14 MEAN output, 15 FC output (softmax input).


def _quant(index, **kw):
    return lambda m: me.set_quant(m, index, **kw)


def _no_quant(index):
    def edit(m):
        me.tensor(m, index).quantization = None
    return edit


def _op_io(op, inputs=None, outputs=None):
    def edit(m):
        if inputs is not None:
            me.operator(m, op).inputs = me.indices(inputs)
        if outputs is not None:
            me.operator(m, op).outputs = me.indices(outputs)
    return edit


def _filter_scales(index, fn):
    def edit(m):
        q = me.tensor(m, index).quantization
        me.set_quant(m, index, scale=[fn(float(s)) for s in q.scale])
    return edit


def _buffer(index, b):
    def edit(m):
        me.tensor(m, index).buffer = b
    return edit


def _variable(index):
    def edit(m):
        me.tensor(m, index).isVariable = True
    return edit


def _bias_value(index, position, value):
    def edit(m):
        t = me.tensor(m, index)
        data = np.frombuffer(np.asarray(m.buffers[t.buffer].data, np.uint8).tobytes(), np.int32).copy()
        data[position] = value
        m.buffers[t.buffer] = me.schema().BufferT()
        m.buffers[t.buffer].data = np.frombuffer(data.tobytes(), np.uint8).copy()
    return edit


def _graph_io(outputs):
    def edit(m):
        m.subgraphs[0].outputs = me.indices(outputs)
    return edit


def _no_options(op):
    def edit(m):
        me.operator(m, op).builtinOptions = None
    return edit


# name: (seed, edit, what the one-line error must say, TFLite-Micro's verdict)
CASES = {
    "scale_nan": (RAW, _filter_scales(7, lambda s: math.nan), r"tensor 7 .* scale nan \(channel 0\); a scale must be finite and positive", "runs"),
    "scale_inf": (RAW, _filter_scales(5, lambda s: math.inf), r"tensor 5 .* scale inf \(channel 0\);", "runs"),
    "conv_output_scale_0": (RAW, _quant(11, scale=[0.0]), r"tensor 11 .* scale 0\.0;", "refuses"),
    "mean_output_scale_0": (RAW, _quant(14, scale=[0.0]), r"tensor 14 .* scale 0\.0;", "runs"),
    "zero_point_-2^62": (RAW, _quant(11, zero_point=[-(1 << 62)]), r"tensor 11 .* zero point -4611686018427387904, outside int8's range \[-128, 127\]", "runs"),
    "zero_point_2^40": (RAW, _quant(15, zero_point=[1 << 40]), r"tensor 15 .* zero point 1099511627776, outside int8", "runs"),
    "softmax_scale_4.66e-10": (RAW, _quant(15, scale=[4.66e-10]), r"op 6 \(SOFTMAX\): input scale 4\.66e-10 x beta 1 is too small: TFLite-Micro's int8 softmax aborts", "aborts"),
    "activation_two_scales": (RAW, _quant(11, scale=[0.006, 0.012], zero_point=[-128, -128]), r"tensor 11 .* is an activation with 2 scales", "runs"),
    "fc_weights_unquantized": (RAW, _no_quant(5), r"op 5 \(FULLY_CONNECTED\): weights tensor 5 has no quantization parameters; .*\[layer '", "runs"),
    "softmax_no_inputs": (RAW, _op_io(6, inputs=[]), r"op 6 \(SOFTMAX\) \[layer .*\]: has no inputs; the file is corrupt", "refuses"),
    "pool_no_inputs": (FFT, _op_io(2, inputs=[]), r"op 2 \(MAX_POOL_2D\) \[layer .*\]: has no inputs; the file is corrupt", "refuses"),
    "reshape_no_inputs": (RAW, _op_io(0, inputs=[]), r"op 0 \(RESHAPE\) \[layer .*\]: has no inputs; the file is corrupt", "refuses"),
    "output_index_-1": (RAW, _op_io(6, outputs=[-1]), r"op 6 \(SOFTMAX\) writes tensor -1, which does not exist", "refuses"),
    "filter_scale_1e10": (RAW, _filter_scales(7, lambda s: 1e10), r"op 2 \(CONV_2D\): channel 0's multiplier .* left shift of 33 bits", "runs"),
    "activation_zero_point_300": (RAW, _quant(11, zero_point=[300]), r"tensor 11 .* zero point 300, outside int8's range", "runs"),
    "output_scale_inf": (RAW, _quant(11, scale=[math.inf]), r"tensor 11 .* scale inf;", "runs"),
    "buffer_index_out_of_range": (RAW, _buffer(14, 1000), r"tensor 14 refers to buffer 1000, which does not exist", "aborts"),
    "model_input_is_variable": (RAW, _variable(0), r"model input tensor 0 .* is a variable \(state\) tensor", "runs"),
    "bias_int32_max": (RAW, _bias_value(8, 4, (1 << 31) - 1), r"op 1 \(CONV_2D\): channel 4: bias 2147483647 plus the largest possible sum of products overflows", "runs"),
    "softmax_without_options": (RAW, _no_options(6), r"op 6 \(SOFTMAX\): beta 0\.0 must be finite and positive", "aborts"),
    "no_model_outputs": (RAW, _graph_io([]), r"model has no outputs", "runs"),
    "negative_filter_scales": (RAW, _filter_scales(7, lambda s: -s), r"tensor 7 .* scale -0\.00\d+ \(channel 0\); a scale must be finite and positive", "runs"),
}


def hostile(name: str) -> bytes:
    seed, edit, _, _ = CASES[name]
    model = me.unpack(seed)
    edit(model)
    return me.pack(model)


@needs_anchors
@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_in_one_line(name, tmp_path, capsys):
    """Both commands exit 2 with one `tinygen: error:` line naming the tensor or op (a traceback
    would escape main() and fail the test)."""
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(hostile(name))
    for args in (["generate", str(path), "--out", str(tmp_path / "gen")], ["analyze", str(path)]):
        assert main(args) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith("tinygen: error: "), err
        assert re.search(CASES[name][2], err), err


TFLM_VERDICT = r"""
import sys, numpy as np
from tflite_micro import runtime
try:
    interp = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read(), arena_size=1 << 20)
    interp.set_input(np.zeros(interp.get_input_details(0)["shape"], np.int8), 0)
    interp.invoke()
    print("runs")
except RuntimeError:
    print("refuses")
"""


@needs_anchors
@pytest.mark.tf
def test_tflm_verdicts(tmp_path):
    """The table above, measured: each file through TFLite-Micro in its own process."""
    got = {}
    for name in sorted(CASES):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(hostile(name))
        res = subprocess.run([sys.executable, "-c", TFLM_VERDICT, str(path)], capture_output=True,
                             text=True, timeout=300)
        got[name] = res.stdout.strip() if res.returncode == 0 else "aborts"
    assert got == {name: case[3] for name, case in CASES.items()}


@needs_anchors
@pytest.mark.tf
@pytest.mark.host
def test_underflowing_multipliers_are_bit_exact(tmp_path):
    """Filter scales of 1e-30: every multiplier of that conv is below 2^-31, so TFLite-Micro (and
    tinygen) use multiplier 0 and the layer outputs its zero point: defined, so we must match."""
    from harness import check_bit_exact

    model = me.unpack(RAW)
    _filter_scales(7, lambda s: s * 1e-28)(model)
    data = me.pack(model)
    rng = np.random.default_rng(16)
    inputs = rng.integers(-128, 128, size=(4, 1024 * 3)).astype(np.int8)
    ours, theirs, gen = check_bit_exact(data, inputs, tmp_path)
    assert gen.macs == 111_304
    assert np.array_equal(ours, theirs)
    conv = next(c for c in gen.compiled.ops if c.op.index == 2)
    mult = next(a for a in conv.lowered.consts if a.suffix == "mult")
    assert mult.values.size == 16 and not np.asarray(mult.values).any()
