"""The two networks. Imported only after TensorFlow is wanted (the CLI stays light).

Teacher: an LSTM over the float full-resolution low-frequency log spectrum of the raw window,
read as a sequence of chunks of neighbouring bins. It never ships, so it stays float.
Student: a tiny 1D-CNN over the front end's int8 band energies, fixed batch 1 (a clean int8
graph: no SHAPE/STRIDED_SLICE). Conv -> BatchNorm -> ReLU folds into one CONV_2D; the input
is the raw int8 feature value as a float, so the int8 input tensor has scale 1, zero point 0.
"""
from __future__ import annotations

import numpy as np

TEACHER_CHUNK = 16
TEACHER_BINS = 256


def teacher_inputs(windows: np.ndarray) -> np.ndarray:
    """int16 [N, window] -> float32 [N, steps, TEACHER_CHUNK]: the float log power spectrum of
    the lowest TEACHER_BINS FFT bins at full resolution (where shaft and defect lines live; the
    student sees them merged into bands), read by the LSTM as a sequence of chunks of
    neighbouring bins from low to high frequency."""
    x = windows.astype(np.float32) / 32768.0
    x = (x - x.mean(axis=1, keepdims=True)) * np.hanning(x.shape[1]).astype(np.float32)
    bins = min(TEACHER_BINS, x.shape[1] // 2)
    power = np.abs(np.fft.rfft(x, axis=1)[:, 1:bins + 1]) ** 2
    logp = (np.log10(power + 1e-10) / 4.0 + 1.0).astype(np.float32)
    return logp.reshape(len(x), -1, TEACHER_CHUNK)


def build_teacher(keras, input_shape, n_classes: int, units: int = 48):
    inp = keras.Input(input_shape, name="spectrogram")
    x = keras.layers.LSTM(units, name="lstm")(inp)
    x = keras.layers.Dense(64, activation="relu")(x)
    out = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inp, out, name="teacher")


def build_student(keras, n_features: int, n_classes: int, channels=(8, 16), kernel=(5, 3),
                  batch_size: int | None = 1):
    """Logits model. Conv-BN-ReLU-Pool twice, Flatten, Dense."""
    inp = keras.Input((n_features, 1), batch_size=batch_size, name="features")
    x = inp
    for i, (ch, k) in enumerate(zip(channels, kernel)):
        x = keras.layers.Conv1D(ch, k, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        x = keras.layers.MaxPooling1D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inp, out, name="student")


def with_softmax(keras, logits_model, batch_size: int = 1):
    """The deployable student: same weights, fixed batch, softmax output (stays int8 in TFLite)."""
    shape = logits_model.input_shape[1:]
    inp = keras.Input(shape, batch_size=batch_size, name="features")
    out = keras.layers.Softmax(name="probabilities")(logits_model(inp))
    return keras.Model(inp, out, name="student_int8_ready")


def count_macs(model) -> int:
    """Multiply-accumulates of one inference (Conv1D and Dense layers; LSTM gates)."""
    total = 0
    for layer in _flat_layers(model):
        kind = type(layer).__name__
        if kind == "Conv1D":
            k = layer.kernel.shape
            total += int(layer.output.shape[1]) * int(np.prod(k))
        elif kind == "Dense":
            total += int(np.prod(layer.kernel.shape))
        elif kind == "LSTM":
            steps = int(layer.input.shape[1])
            total += steps * (int(np.prod(layer.cell.kernel.shape)) +
                              int(np.prod(layer.cell.recurrent_kernel.shape)))
    return total


def _flat_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _flat_layers(layer)
        else:
            yield layer
