"""The benchmark zoo: well-known small-model shapes, built in Keras and converted to int8 once.

Shared by benchmarks/bench_generate.py, benchmarks/bench_zoo.py and tests/test_zoo_exact.py.
Weights are random (seeded): memory, speed and bit-exactness do not depend on training.
Converted models are cached in $TINYGEN_CACHE/zoo (default ~/.cache/tinygen/zoo).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "tflm" / "examples"


def cache_dir() -> Path:
    root = Path(os.environ.get("TINYGEN_CACHE", Path.home() / ".cache" / "tinygen"))
    d = root / "zoo"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def ds_cnn_kws():
    """Keyword-spotting DS-CNN (ARM's 'DS-CNN S' shape): 49x10 MFCC, 64 channels."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((49, 10, 1), batch_size=1)
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same", activation="relu")(inp)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(64, 1)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Softmax()(L.Dense(12)(x)))


def ds_cnn_1d_stream():
    """Streaming wake-word DS-CNN over time (1D): 98 frames x 40 features, 12 classes.

    The issue's anchor row gives this model's MAC count (826,368) but not its layers. This shape
    has exactly that count (stem 384,000 + 4 x (8,000 + 102,400) + 768) with the input and
    blocks of the previous stand-in, so instructions compare like for like with the row."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((98, 40), batch_size=1)
    x = L.Conv1D(64, 6, strides=4, padding="same", activation="relu")(inp)
    for _ in range(4):
        x = L.DepthwiseConv1D(5, padding="same", activation="relu")(x)
        x = L.Conv1D(64, 1, activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(inp, L.Softmax()(L.Dense(12)(x)))


def resnet8():
    """ResNet-8 as in MLPerf Tiny image classification (CIFAR-10, 32x32x3)."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((32, 32, 3), batch_size=1)
    x = L.Conv2D(16, 3, padding="same", activation="relu")(inp)

    def block(x, filters, stride):
        y = L.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
        y = L.Conv2D(filters, 3, padding="same")(y)
        if stride != 1 or x.shape[-1] != filters:
            x = L.Conv2D(filters, 1, strides=stride)(x)
        return L.ReLU()(L.Add()([x, y]))

    x = block(x, 16, 1)
    x = block(x, 32, 2)
    x = block(x, 64, 2)
    x = L.AveragePooling2D(8)(x)
    x = L.Flatten()(x)
    return keras.Model(inp, L.Softmax()(L.Dense(10)(x)))


def mobilenet_96():
    """MobileNet v1 alpha 0.25 on 96x96x3: MLPerf Tiny's visual wake words shape, whose MAC count
    (7,489,664) is exactly the issue's anchor row."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((96, 96, 3), batch_size=1)
    # He initialisation keeps random activations alive through 27 ReLU layers (Glorot lets them
    # collapse, and the final softmax then sees a degenerate 1e-8 input scale).
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu",
                 kernel_initializer="he_normal")(inp)
    for filters, stride in [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1),
                            (128, 1), (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)]:
        # He for a 3x3 depthwise filter: fan-in is 9 (Keras would count 9 x channels).
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu",
                              depthwise_initializer=keras.initializers.RandomNormal(
                                  stddev=(2 / 9) ** 0.5))(x)
        x = L.Conv2D(filters, 1, activation="relu", kernel_initializer="he_normal")(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Softmax()(L.Dense(2)(x)))


def fc_autoencoder():
    """MLPerf Tiny anomaly-detection autoencoder: 640 -> 128x4 -> 8 -> 128x4 -> 640."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((640,), batch_size=1)
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units, activation="relu")(x)
    return keras.Model(inp, L.Dense(640)(x))


# name -> (builder, anchor row of issue 6: (MACs, TFLM+CMSIS-NN instructions, TFLM ref
# instructions, TFLM arena 32-bit) or None)
KERAS_ZOO: dict[str, tuple[Callable, tuple | None]] = {
    "ds_cnn_kws": (ds_cnn_kws, (2_656_768, 7_642_174, 43_610_712, 22_820)),
    "ds_cnn_1d_stream": (ds_cnn_1d_stream, (826_368, 2_188_176, 8_500_094, 16_596)),
    "resnet8": (resnet8, (12_501_632, 30_027_466, 108_692_248, 54_996)),
    "mobilenet_96": (mobilenet_96, (7_489_664, 24_025_566, 101_248_635, 100_708)),
    "fc_autoencoder": (fc_autoencoder, (264_192, 583_249, 1_948_885, 2_580)),
}
ANCHOR_ROWS = {
    "cnn_fft_flatten": (9_728, 141_669, 374_497, 2_756),
    "cnn_raw_stride": (111_304, 727_225, 2_061_964, 8_532),
}
# Real models from ../shared/corpus (not ours): TFLite-Micro + CMSIS-NN remeasured on the same
# twin (FACTS.md, "remeasured"): (MACs as tinygen counts them, TFLM+CMSIS-NN instructions of one
# Invoke, TFLM reference kernels, TFLM arena_used_bytes 32-bit, stack of Invoke, code beside the model)
CORPUS_ROWS = {
    "person_detect": (7_157_888, 22_715_907, 96_635_177, 82_308),
    "micro_speech_quantized": (336_000, 1_489_450, 9_301_072, 6_836),
}
# Stack of one Invoke and code beside the model, TFLite-Micro + CMSIS-NN (FACTS.md, remeasured).
TFLM_STACK = {"cnn_fft_flatten": 1_216, "cnn_raw_stride": 1_180, "person_detect": 1_236,
              "micro_speech_quantized": 1_236}


def convert(model, seed: int = 0, samples: int = 16) -> bytes:
    """int8 .tflite bytes, calibrated on seeded standard-normal inputs."""
    import tensorflow as tf

    from tinygen.train.convert import to_int8_tflite

    shape = tuple(model.inputs[0].shape[1:])
    rep = np.random.default_rng(seed).normal(size=(samples, *shape)).astype(np.float32)
    return to_int8_tflite(tf, model, rep)


def zoo_model(name: str) -> bytes:
    """The int8 .tflite bytes of a zoo or anchor model (built and cached on first use)."""
    if name in ANCHOR_ROWS:
        return (ANCHORS / f"{name}.tflite").read_bytes()
    if name in CORPUS_ROWS:
        return (CORPUS / f"{name}.tflite").read_bytes()
    builder, _ = KERAS_ZOO[name]
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    path = cache_dir() / f"{name}-{key}.tflite"
    if not path.is_file():
        keras = _keras()
        keras.utils.set_random_seed(0)
        path.write_bytes(convert(builder()))
    return path.read_bytes()


def names(include_anchors: bool = True) -> list[str]:
    return (list(ANCHOR_ROWS) if include_anchors else []) + list(KERAS_ZOO)
