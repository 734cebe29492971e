"""The two networks. Imported only after TensorFlow is wanted (the CLI stays light).

Teacher: a conv-stem + bidirectional LSTM over the front end's band energies (as floats,
standardised per band), read as a sequence from low to high frequency. It never ships, so it
stays float and may be several times larger than the student.
Student: a tiny 1D-CNN over the front end's int8 band energies, fixed batch 1 (a clean int8
graph: no SHAPE/STRIDED_SLICE). Conv -> BatchNorm -> ReLU folds into one CONV_2D; the input
is the raw int8 feature value as a float, so the int8 input tensor has scale 1, zero point 0.
"""
from __future__ import annotations

import numpy as np

def teacher_inputs(features: np.ndarray) -> np.ndarray:
    """int8 band energies [N, n_bands] (the front end's output) -> float32 [N, n_bands, 1].
    The teacher standardises them per band itself (a Normalization layer adapted on the
    training split), so teacher.keras is self-contained."""
    return features.astype(np.float32)[..., None]


def build_teacher(keras, input_shape, n_classes: int, units: int = 32, x_train=None,
                  stem_channels: int = 16, pool: int = 4, dropout: float = 0.3):
    """Per-band standardisation -> Conv1D stem (Conv-BN-ReLU, pool 4: 64 bands -> 16 steps)
    -> bidirectional LSTM over the steps from low to high frequency, every step's state kept
    (Flatten), so the head knows *where* in frequency the energy sits -> Dropout -> logits.
    Pool 4 rather than 2: the same validation accuracy on the default data at about half the
    LSTM time."""
    inp = keras.Input(input_shape, name="band_energies")
    norm = keras.layers.Normalization(axis=1, name="standardise")
    if x_train is not None:
        norm.adapt(x_train)
    x = norm(inp)
    x = keras.layers.Conv1D(stem_channels, 5, padding="same", use_bias=False, name="stem")(x)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    x = keras.layers.MaxPooling1D(pool, name="stem_pool")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True, name="lstm"),
                                   name="bilstm")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
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
        elif kind in ("LSTM", "Bidirectional"):
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
