"""Architectures nobody here designed: Keras applications (MobileNetV3-Small, MobileNetV2,
EfficientNet), random weights (no downloads: weights=None), converted the way users convert
them, compiled by tinygen and compared byte for byte with TFLite-Micro.

Each model comes in one of the variants users have: int8 I/O with a fixed batch of 1; uint8
input with a -1 batch (`Input(shape)` without batch_size); float32 I/O (the converter's default
inference types: a QUANTIZE first, a DEQUANTIZE last) with a -1 batch. The model's outputs are
the application's class probabilities and its last feature map, so a difference anywhere in
the network shows in thousands of bytes, not only in 10 saturated probabilities.

Random weights with identity batch norms make activations vanish layer by layer: the logits of
MobileNetV2 0.35 came out with a range of ~1e-6, and on the softmax input scale the converter
gave them (7.8e-9) TFLite-Micro aborts (SIGABRT, measured) and tinygen refuses in one line. So
each model first takes its batch-norm statistics from one batch of the representative data,
and activations keep a trained network's ranges.

Conversion takes 15-80 s a model on the 2-core CI machine, so the .tflite files are cached
under $TINYGEN_CACHE/zoo (benchmarks/zoo.py), keyed by the code that makes them and the
TensorFlow version. The generated C is built plainly (no sanitizers): a model.c of 1-5 MB takes
minutes under ASan (tests/test_zoo_exact.py and the op tables run the same kernels under
ASan+UBSan).
"""
from __future__ import annotations

import hashlib
import inspect
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import zoo  # noqa: E402
from harness import (as_bytes, build_host, quiet_tf, random_inputs, run_host,  # noqa: E402
                     tflm_arena, tflm_run)

SIZE = 96          # input height and width: small, and the applications still make sense at it
CLASSES = 10
RECORDS = 4        # random inputs per model, plus the input type's two extremes


def mobilenet_v3_small(keras, inp):
    return keras.applications.MobileNetV3Small(input_tensor=inp, alpha=0.75, minimalistic=False,
                                               weights=None, classes=CLASSES)


def mobilenet_v2(keras, inp):
    return keras.applications.MobileNetV2(input_tensor=inp, alpha=0.35, weights=None,
                                          classes=CLASSES)


def efficientnet(keras, inp):
    """EfficientNet's own builder (MBConv blocks, swish = LOGISTIC * MUL, squeeze-excite) at
    width and depth 0.25: B0's 4 MB would take minutes to compile in a test."""
    from keras.src.applications.efficientnet import EfficientNet

    return EfficientNet(0.25, 0.25, SIZE, input_tensor=inp, weights=None, classes=CLASSES,
                        name="efficientnet_w025")


# name: (builder, float input range the application expects, input type, output type, batch)
# MobileNetV3 and EfficientNet rescale 0..255 themselves; MobileNetV2 expects -1..1.
APPS = {
    "mobilenet_v3_small_075": (mobilenet_v3_small, (0.0, 255.0), "int8", "int8", 1),
    "mobilenet_v2_035_uint8": (mobilenet_v2, (-1.0, 1.0), "uint8", "int8", None),
    "efficientnet_w025_float": (efficientnet, (0.0, 255.0), "float32", "float32", None),
}

# Ops each model must hold: what makes the architecture what it is.
WANT = {
    "mobilenet_v3_small_075": {"HARD_SWISH", "MEAN", "MUL", "DEPTHWISE_CONV_2D", "SOFTMAX"},
    "mobilenet_v2_035_uint8": {"QUANTIZE", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED"},
    "efficientnet_w025_float": {"QUANTIZE", "DEQUANTIZE", "LOGISTIC", "MUL", "MEAN", "ADD"},
}


def last_feature_map(app):
    """The last layer whose output still has a spatial extent (before global pooling)."""
    return [layer for layer in app.layers
            if len(layer.output.shape) == 4 and layer.output.shape[1] > 1][-1]


def calibrate_batch_norms(keras, model, data):
    """Batch-norm statistics from one batch (momentum 0, one training-mode pass)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    model(data, training=True)


def build_and_convert(name: str) -> bytes:
    from tinygen.train.convert import convert_int8

    tf = quiet_tf()
    import keras

    builder, (lo, hi), io_in, io_out, batch = APPS[name]
    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, 3), batch_size=batch)
    app = builder(keras, inp)
    model = keras.Model(inp, [app.output, last_feature_map(app).output])
    rep = np.random.default_rng(0).uniform(lo, hi, size=(16, SIZE, SIZE, 3)).astype(np.float32)
    calibrate_batch_norms(keras, app, rep)
    return convert_int8(tf, tf.lite.TFLiteConverter.from_keras_model(model), rep,
                        input_type=io_in, output_type=io_out)


def app_model(name: str) -> bytes:
    """The converted model, cached under a key of everything that makes it (edits to the
    tests themselves do not cost a new conversion)."""
    import tensorflow as tf

    builder = APPS[name][0]
    made_by = [builder, last_feature_map, calibrate_batch_norms, build_and_convert]
    text = "".join(inspect.getsource(f) for f in made_by) + repr((APPS[name][1:], SIZE, CLASSES))
    key = hashlib.sha256((text + tf.__version__).encode()).hexdigest()[:12]
    path = zoo.cache_dir() / f"keras_app_{name}-{key}.tflite"
    if not path.is_file():
        path.write_bytes(build_and_convert(name))
    return path.read_bytes()


def edge_inputs(gen, rng, lo: float, hi: float) -> list[np.ndarray]:
    """RECORDS random records of each input's own type, then its two extremes. Float inputs are
    images in the application's range lo..hi; their extremes lie a quarter of it beyond, where
    QUANTIZE saturates."""
    batches = random_inputs(gen, RECORDS, rng)
    out = []
    for io, b in zip(gen.inputs, batches):
        dt = np.dtype(io.dtype)
        if dt.kind == "f":
            b = rng.uniform(lo, hi, size=b.shape).astype(dt)
            lo, hi = lo - (hi - lo) / 4, hi + (hi - lo) / 4
        else:
            lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
        out.append(np.concatenate([b, np.full_like(b[:1], lo), np.full_like(b[:1], hi)]))
    return out


@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("name", list(APPS))
def test_keras_application_bit_exact(name, tmp_path):
    from tinygen.codegen import generate
    from tinygen.importers.tflite import load_model

    model = app_model(name)
    graph = load_model(model)
    ops = Counter(op.type.value for op in graph.ops)
    assert not WANT[name] - set(ops), f"{name} lacks {WANT[name] - set(ops)}; it has {dict(ops)}"
    _, (lo, hi), io_in, io_out, _ = APPS[name]
    gen = generate(model, tmp_path)
    assert [io.dtype for io in gen.inputs] == [io_in]
    assert [io.dtype for io in gen.outputs] == [io_out, io_out]
    inputs = edge_inputs(gen, np.random.default_rng(len(name)), lo, hi)
    spec = [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
    theirs = as_bytes(tflm_run(model, inputs))
    for dsp in (False, True):      # the portable kernels, then the DSP path's (intrinsics in C)
        exe = build_host(tmp_path, sanitize=False, dsp_emulated=dsp, gen=gen)
        ours = as_bytes(run_host(exe, inputs, spec))
        assert ours.shape == theirs.shape and theirs.shape[1] > 1000
        differing = int(np.count_nonzero(ours != theirs))
        assert differing == 0, f"{differing} of {ours.size} bytes differ (dsp={dsp})"
    scratch = gen.compiled.scratch_bytes
    assert gen.arena_bytes <= tflm_arena(model)["head"] + scratch
