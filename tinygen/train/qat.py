"""Quantization-aware fine-tuning of the student (`--qat`, or automatic when int8 PTQ loses more
than QAT_TRIGGER_PP points against the float student on validation).

TFLite folds BatchNorm into the conv and quantizes the folded weights per output channel
(symmetric int8) and every activation per tensor (asymmetric int8). So QAT first folds BN into
each conv (a conv with bias), then fine-tunes that folded student with the same rounding
simulated in the forward pass and passed straight through in the backward pass (STE):
- conv weights: per output channel, scale max|w| / 127; Dense weights likewise per output;
- activations after each ReLU and the logits: per tensor, range tracked as a moving min/max.
The fine-tuned folded student is an ordinary Keras model (the fake quantization lives only in
the training copy), and the usual converter quantizes it: the weights have learnt to sit where
int8 rounding leaves them.
"""
from __future__ import annotations

import numpy as np

QAT_TRIGGER_PP = 0.5


def build_folded(keras, n_bands: int, in_channels: int, n_classes: int, widths, kernels,
                 batch_size=None, fake_quant: bool = False):
    """The student with BN folded: Conv(bias) -> ReLU -> Pool per stage, Flatten, Dense."""
    layers = _fake_quant_layers(keras) if fake_quant else None
    conv = layers["Conv1D"] if fake_quant else keras.layers.Conv1D
    dense = layers["Dense"] if fake_quant else keras.layers.Dense
    inp = keras.Input((n_bands, in_channels), batch_size=batch_size, name="features")
    x = inp
    for i, (ch, k) in enumerate(zip(widths, kernels)):
        x = conv(ch, k, padding="same", name=f"conv{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        if fake_quant:
            x = layers["ActQuant"](name=f"act{i}")(x)
        x = keras.layers.MaxPooling1D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    out = dense(n_classes, name="logits")(x)
    if fake_quant:
        out = layers["ActQuant"](name="act_logits")(out)
    return keras.Model(inp, out, name="student_folded")


def fold_into(student, folded) -> None:
    """Copy `student` (Conv-BN) into `folded` (Conv with bias): w' = w * g / sqrt(v + eps),
    b' = beta - mean * g / sqrt(v + eps)."""
    i = 0
    while True:
        try:
            conv, bn = student.get_layer(f"conv{i}"), student.get_layer(f"bn{i}")
        except ValueError:
            break
        gamma, beta, mean, var = bn.get_weights()
        scale = gamma / np.sqrt(var + bn.epsilon)
        kernel = conv.get_weights()[0] * scale
        folded.get_layer(f"conv{i}").set_weights([kernel, beta - mean * scale])
        i += 1
    folded.get_layer("logits").set_weights(student.get_layer("logits").get_weights())


def copy_weights(src, dst) -> None:
    """Same-named conv/Dense layers (QAT copy -> plain folded student)."""
    for layer in dst.layers:
        if layer.name.startswith("conv") or layer.name == "logits":
            layer.set_weights(src.get_layer(layer.name).get_weights()[:2])


def _fake_quant_layers(keras):
    ops = keras.ops

    def ste(x, q):
        return x + ops.stop_gradient(q - x)

    def quant_weights(w, axes):
        scale = ops.maximum(ops.max(ops.abs(w), axis=axes, keepdims=True), 1e-8) / 127.0
        return ste(w, ops.clip(ops.round(w / scale), -127, 127) * scale)

    class Conv1D(keras.layers.Conv1D):
        def call(self, inputs):
            y = self.convolution_op(inputs, quant_weights(self.kernel, (0, 1)))
            return y + self.bias

    class Dense(keras.layers.Dense):
        def call(self, inputs):
            return ops.matmul(inputs, quant_weights(self.kernel, (0,))) + self.bias

    class ActQuant(keras.layers.Layer):
        """Per-tensor asymmetric int8 with a moving min/max range (0.99 momentum)."""

        def build(self, shape):
            self.lo = self.add_weight(shape=(), initializer="zeros", trainable=False, name="lo")
            self.hi = self.add_weight(shape=(), initializer="zeros", trainable=False, name="hi")
            self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

        def call(self, x, training=False):
            if training:
                lo, hi = ops.minimum(ops.min(x), 0.0), ops.maximum(ops.max(x), 0.0)
                first = ops.equal(self.seen, 0.0)
                self.lo.assign(ops.where(first, lo, 0.99 * self.lo + 0.01 * lo))
                self.hi.assign(ops.where(first, hi, 0.99 * self.hi + 0.01 * hi))
                self.seen.assign(1.0)
            scale = ops.maximum(self.hi - self.lo, 1e-6) / 255.0
            zero = ops.round(-self.lo / scale) - 128.0
            q = ops.clip(ops.round(x / scale) + zero, -128.0, 127.0)
            return ste(x, (q - zero) * scale)

    return {"Conv1D": Conv1D, "Dense": Dense, "ActQuant": ActQuant}
