"""The student network (the teacher is in teacher.py). Imported only after TensorFlow is wanted.

Student: a tiny 1D-CNN over the front end's int8 band energies [n_bands, channels], fixed batch 1
for deployment (a clean int8 graph: no SHAPE/STRIDED_SLICE). Conv -> BatchNorm -> ReLU folds
into one CONV_2D; the input is the raw int8 feature value as a float, so the int8 input tensor
has scale 1, zero point 0. Layers are named conv<i>/bn<i>/logits: pruning finds them by name.
"""
from __future__ import annotations

import numpy as np

def build_student(keras, n_bands: int, n_classes: int, channels=(8, 16), kernel=(5, 3),
                  batch_size: int | None = 1, in_channels: int = 1):
    """Logits model. Conv-BN-ReLU-Pool per entry of `channels`, Flatten, Dense."""
    inp = keras.Input((n_bands, in_channels), batch_size=batch_size, name="features")
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
        elif kind in ("LSTM", "Bidirectional") and hasattr(layer, "input"):
            steps = int(layer.input.shape[1])
            rnns = (layer.forward_layer, layer.backward_layer) if kind == "Bidirectional" else (layer,)
            for rnn in rnns:
                total += steps * (int(np.prod(rnn.cell.kernel.shape)) +
                                  int(np.prod(rnn.cell.recurrent_kernel.shape)))
    return total


def _flat_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _flat_layers(layer)
        else:
            yield layer
