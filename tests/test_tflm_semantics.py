"""Where TFLite-Micro's Prepare decides something the kernels alone do not say, measured against
the installed interpreter: which quantization it refuses, and how it rounds a multiplier."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fuzz import model_edit as me
from tinygen.codegen import generate
from tinygen.errors import UnsupportedOp
from tinygen.importers.tflite import load_model
from tinygen.quant import multiply_by_quantized_multiplier, quantize_multiplier

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not (SHARED / "anchors").is_dir():
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MICRO_SPEECH = SHARED / "corpus" / "tflm" / "examples" / "micro_speech_quantized.tflite"
FFT = SHARED / "anchors" / "cnn_fft_flatten.tflite"
needs_shared = pytest.mark.skipif(not MICRO_SPEECH.is_file(), reason="shared/corpus not present")
pytestmark = [needs_shared, pytest.mark.tf]


def tflm_refuses(data: bytes) -> bool:
    from tflite_micro import runtime

    try:
        runtime.Interpreter.from_bytes(data, arena_size=1 << 20)
    except RuntimeError:
        return True
    return False


def fc_alone(out_scale: float) -> bytes:
    """micro_speech's FULLY_CONNECTED (per-tensor weights) as the whole model, its output scale
    set: tensor 2 (1x25x20x8) -> tensor 6 (1x4), weights tensor 7, bias tensor 1."""
    m = me.unpack(MICRO_SPEECH)
    sg = m.subgraphs[0]
    sg.operators = [op for op in sg.operators if list(op.outputs) == [6]]
    sg.inputs, sg.outputs = me.indices([2]), me.indices([6])
    me.set_quant(m, 6, scale=[out_scale])
    return me.pack(m)


def input_for_accumulator(graph, target: int) -> np.ndarray:
    """An int8 input making output channel 0's accumulator exactly `target` (greedy over the
    weights, largest first; every (x - zero point) lies in [0, 255])."""
    x, w, b = graph.tensor(2), graph.tensor(7), graph.tensor(1)
    w0 = w.data[0].astype(np.int64)
    rest, v = target - int(b.data[0]), np.zeros(w0.size, dtype=np.int64)
    for i in np.argsort(-np.abs(w0), kind="stable"):
        if w0[i]:
            v[i] = int(np.clip(round(rest / w0[i]), 0, 255))
            rest -= v[i] * int(w0[i])
    assert rest == 0
    return (v + x.zero_point).astype(np.int8)[None, :]


@pytest.mark.host
def test_per_tensor_fc_multiplier_is_double_precision(tmp_path):
    """TFLite-Micro's GetQuantizedConvolutionMultipler multiplies input and weight scales in
    double here (its older source multiplied them in float32 first). With output scale
    0.08298804 the two give different multipliers, and accumulator -272846 rounds differently:
    TFLite-Micro says -119, the float32 product would say -118."""
    from harness import build_host, run_host, tflm_run

    data = fc_alone(0.08298804)
    graph = load_model(data)
    x, w, y = graph.tensor(2), graph.tensor(7), graph.tensor(6)
    f32 = lambda v: float(np.float32(v))
    double = quantize_multiplier(f32(x.scale) * f32(w.scale) / f32(y.scale))
    single = quantize_multiplier(float(np.float32(x.scale) * np.float32(w.scale)) / f32(y.scale))
    acc = -272846
    assert [multiply_by_quantized_multiplier(acc, *m) + y.zero_point for m in (double, single)] == [-119, -118]
    inputs = input_for_accumulator(graph, acc)
    gen = generate(data, tmp_path)
    ours = run_host(build_host(tmp_path, sanitize=False), inputs, gen.output_bytes)
    theirs = tflm_run(data, inputs)
    assert ours[0, 0] == theirs[0, 0] == -119
    assert np.array_equal(ours, theirs)


def test_per_tensor_fc_bias_scale_is_checked():
    """TFLite-Micro refuses a per-tensor FULLY_CONNECTED whose bias scale is not input scale x
    weight scale (within 2 % of the output scale); a per-channel one it does not check."""
    m = me.unpack(MICRO_SPEECH)
    me.set_quant(m, 1, scale=[4.030073614558205e-05 * 100])
    data = me.pack(m)
    assert tflm_refuses(data)
    with pytest.raises(UnsupportedOp, match=r"op 2 \(FULLY_CONNECTED\): bias scale .* TFLite-Micro refuses"):
        generate(data, Path("/nonexistent/never-written"))


@pytest.mark.parametrize("change", ["zero_point", "scale"])
def test_pool_input_and_output_quantization_must_agree(change):
    """TFLite-Micro's pooling refuses input and output zero points that differ, or scales more
    than 1e-6 apart (pooling_common.cc); cnn_fft_flatten's op 2 reads tensor 10, writes 11."""
    m = me.unpack(FFT)
    q = me.tensor(m, 11).quantization
    if change == "zero_point":
        me.set_quant(m, 11, zero_point=[int(q.zeroPoint[0]) + 1])
    else:
        me.set_quant(m, 11, scale=[float(q.scale[0]) * 1.001])
    data = me.pack(m)
    assert tflm_refuses(data)
    with pytest.raises(UnsupportedOp, match=r"op 2 \(MAX_POOL_2D\): input quantization .* differs"):
        generate(data, Path("/nonexistent/never-written"))


TFLM_RUNS = r"""
import sys, numpy as np
from tflite_micro import runtime
interp = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read(), arena_size=1 << 20)
interp.set_input(np.zeros(interp.get_input_details(0)["shape"], np.int8), 0)
interp.invoke()
"""


def test_depthwise_with_absent_bias(tmp_path):
    """A DEPTHWISE_CONV_2D listing its bias as -1 crashes TFLite-Micro (segmentation fault; with
    two inputs, or CONV_2D / FULLY_CONNECTED with -1, it runs): refused, since no reference
    output exists to match. micro_speech's op 1 is the depthwise convolution."""
    import subprocess
    import sys

    m = me.unpack(MICRO_SPEECH)
    me.operator(m, 1).inputs = me.indices([4, 8, -1])
    path = tmp_path / "dw.tflite"
    path.write_bytes(me.pack(m))
    res = subprocess.run([sys.executable, "-c", TFLM_RUNS, str(path)], capture_output=True, timeout=300)
    assert res.returncode < 0   # killed by a signal
    with pytest.raises(UnsupportedOp, match=r"op 1 \(DEPTHWISE_CONV_2D\): bias given as absent"):
        generate(path, tmp_path / "gen")
