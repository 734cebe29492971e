"""Random Keras models built from the ops tinygen supports, for property tests and benchmarks.

A model is described by a plain dict (`spec`) so hypothesis can shrink it and a failure prints
something a human can rebuild by hand."""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

ACTS = ["linear", "relu", "relu6", "tanh", "sigmoid"]


@st.composite
def layer_specs(draw, two_d: bool) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "maxpool", "avgpool", "residual",
                                 "concat", "mul", "zeropad", "act"] + MOVEMENT_KINDS))
    spec: dict[str, Any] = {"kind": kind}
    if kind in MOVEMENT_KINDS:
        spec.update(draw(movement_params(kind)))
    if kind in ("conv", "depthwise", "residual", "concat"):
        spec["kernel"] = draw(st.integers(1, 5))
        spec["dilation"] = draw(st.sampled_from([1, 1, 2]))
        spec["stride"] = 1 if spec["dilation"] > 1 else draw(st.integers(1, 3))
        spec["padding"] = draw(st.sampled_from(["same", "valid"]))
        spec["filters"] = draw(st.integers(1, 12))
        spec["multiplier"] = draw(st.integers(1, 3))
        spec["activation"] = draw(st.sampled_from(["linear", "relu", "relu6"]))
        spec["batchnorm"] = draw(st.booleans())
    if kind in ("maxpool", "avgpool"):
        spec["pool"] = draw(st.integers(2, 3))
        spec["stride"] = draw(st.integers(1, 3))
        spec["padding"] = draw(st.sampled_from(["same", "valid"]))
    if kind == "zeropad":
        spec["pad"] = (draw(st.integers(0, 2)), draw(st.integers(1, 2)))
    if kind == "act":
        spec["activation"] = draw(st.sampled_from(["tanh", "sigmoid", "relu", "relu6"]))
    return spec


@st.composite
def model_specs(draw) -> dict[str, Any]:
    two_d = draw(st.booleans())
    if two_d:
        shape = (draw(st.integers(3, 12)), draw(st.integers(3, 12)), draw(st.integers(1, 4)))
    else:
        shape = (draw(st.integers(8, 64)), draw(st.integers(1, 6)))
    return dict(
        two_d=two_d, shape=shape, seed=draw(st.integers(0, 2**16)),
        layers=draw(st.lists(layer_specs(two_d), min_size=1, max_size=5)),
        pre=draw(st.sampled_from(["none", "none", "relu", "relu6"])),  # standalone RELU/RELU6 op
        head=draw(st.sampled_from(["flatten", "gap", "none"])),
        units=draw(st.integers(1, 10)),
        final=draw(st.sampled_from(["softmax", "sigmoid", "tanh", "linear", "relu"])),
        # the model's I/O type, as the converter's inference_input_type / inference_output_type
        io=draw(st.sampled_from(["int8", "int8", "uint8", "float32"])),
    )


def build_keras(spec: dict[str, Any]):
    """Build the Keras model of `spec` with a fixed batch of 1; layers that would not fit the
    current spatial size are skipped (so every spec builds)."""
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(spec["seed"])
    two_d = spec["two_d"]
    Conv = L.Conv2D if two_d else L.Conv1D
    DW = L.DepthwiseConv2D if two_d else L.DepthwiseConv1D
    MaxP = L.MaxPooling2D if two_d else L.MaxPooling1D
    AvgP = L.AveragePooling2D if two_d else L.AveragePooling1D
    Pad = L.ZeroPadding2D if two_d else L.ZeroPadding1D
    GAP = L.GlobalAveragePooling2D if two_d else L.GlobalAveragePooling1D

    inp = keras.Input(spec["shape"], batch_size=1)
    x = inp
    if spec.get("pre", "none") != "none":
        x = L.ReLU(max_value=6.0 if spec["pre"] == "relu6" else None)(x)

    def spatial(t) -> list[int]:
        return list(t.shape[1:-1])

    def fits(t, k: int, dil: int, stride: int, padding: str) -> bool:
        eff = (k - 1) * dil + 1
        return padding == "same" or all(s >= eff for s in spatial(t))

    def conv(t, s, filters=None, stride=None):
        stride = s["stride"] if stride is None else stride
        y = Conv(filters or s["filters"], s["kernel"], strides=stride, padding=s["padding"],
                 dilation_rate=s["dilation"], use_bias=True)(t)
        if s["batchnorm"]:
            y = L.BatchNormalization()(y)
        if s["activation"] != "linear":
            y = L.Activation(s["activation"])(y)
        return y

    for s in spec["layers"]:
        k = s["kind"]
        if k == "conv" and fits(x, s["kernel"], s["dilation"], s["stride"], s["padding"]):
            x = conv(x, s)
        elif k == "depthwise" and fits(x, s["kernel"], s["dilation"], s["stride"], s["padding"]):
            x = DW(s["kernel"], strides=s["stride"], padding=s["padding"],
                   dilation_rate=s["dilation"], depth_multiplier=s["multiplier"])(x)
            if s["activation"] != "linear":
                x = L.Activation(s["activation"])(x)
        elif k in ("maxpool", "avgpool") and fits(x, s["pool"], 1, s["stride"], s["padding"]):
            x = (MaxP if k == "maxpool" else AvgP)(s["pool"], strides=s["stride"],
                                                    padding=s["padding"])(x)
        elif k == "residual":
            same = dict(s, padding="same", stride=1)
            x = L.Add()([x, conv(x, same, filters=x.shape[-1], stride=1)])
        elif k == "concat":
            same = dict(s, padding="same", stride=1)
            x = L.Concatenate()([x, conv(x, same)])
        elif k == "mul":
            x = L.Multiply()([x, L.Activation("sigmoid")(x)])
        elif k == "zeropad":
            x = Pad(padding=(s["pad"], s["pad"]) if two_d else s["pad"])(x)
        elif k == "act":
            x = L.Activation(s["activation"])(x)
        elif k in MOVEMENT_KINDS:
            x = movement_layer(x, s, two_d)
    if spec["head"] == "flatten":
        x = L.Flatten()(x)
    elif spec["head"] == "gap":
        x = GAP()(x)
    if spec["head"] != "none":
        x = L.Dense(spec["units"])(x)
    if spec["final"] != "linear":
        x = L.Activation(spec["final"])(x)
    return keras.Model(inp, x)


# ---- data-movement layers (opsb) ------------------------------------------------------------------
# Layers whose TFLite ops only move bytes: crops and strided slices, permutes, channel gathers,
# split-and-swap, mirror padding, resizing (2-D), space-to-depth (2-D). (Keras' UpSampling layers
# become TILE, which TFLite-Micro cannot run, so resizing goes through tf.image.resize.)

MOVEMENT_KINDS = ["crop", "stride", "permute", "shuffle", "split", "mirror", "resize", "s2d"]


@st.composite
def movement_params(draw, kind: str) -> dict[str, Any]:
    return {
        "crop": lambda: {"crop": (draw(st.integers(0, 2)), draw(st.integers(1, 2)))},
        "stride": lambda: {"step": draw(st.integers(2, 3)), "start": draw(st.integers(0, 1)),
                           "reverse": draw(st.booleans())},
        "permute": lambda: {},
        "shuffle": lambda: {"seed": draw(st.integers(0, 99)), "keep": draw(st.integers(1, 3))},
        "split": lambda: {"first": draw(st.integers(1, 3))},
        "mirror": lambda: {"pad": (draw(st.integers(0, 2)), draw(st.integers(1, 2))),
                           "mode": draw(st.sampled_from(["REFLECT", "SYMMETRIC"]))},
        "resize": lambda: {"size": (draw(st.integers(2, 12)), draw(st.integers(2, 12))),
                           "method": draw(st.sampled_from(["nearest", "bilinear"]))},
        "s2d": lambda: {},
    }[kind]()


def movement_layer(x, s: dict[str, Any], two_d: bool):
    """The layer of a data-movement spec, or x unchanged when it does not fit x's shape."""
    import tensorflow as tf
    from keras import layers as L

    k, spatial, ch = s["kind"], list(x.shape[1:-1]), x.shape[-1]
    if k == "crop" and all(n > sum(s["crop"]) for n in spatial):
        return (L.Cropping2D((s["crop"], s["crop"])) if two_d else L.Cropping1D(s["crop"]))(x)
    if k == "stride" and spatial[0] > s["step"]:
        step = -s["step"] if s["reverse"] else s["step"]
        return L.Lambda(lambda t: t[:, s["start"]::step])(x)
    if k == "permute" and spatial[0] > 1:
        return L.Permute((2, 1, 3) if two_d else (2, 1))(x)
    if k == "shuffle" and ch > 1:
        order = np.random.default_rng(s["seed"]).permutation(ch)[:max(1, ch - s["keep"] + 1)]
        return L.Lambda(lambda t: tf.gather(t, order.tolist(), axis=-1))(x)
    if k == "split" and spatial[0] > s["first"]:
        return L.Lambda(lambda t: tf.concat(tf.split(t, [s["first"], -1], axis=1)[::-1], axis=1))(x)
    if k == "mirror" and all(n > max(s["pad"]) for n in spatial):
        pads = [[0, 0]] + [list(s["pad"])] * len(spatial) + [[0, 0]]
        return L.Lambda(lambda t: tf.pad(t, pads, mode=s["mode"]))(x)
    if k == "resize" and two_d:
        return L.Lambda(lambda t: tf.image.resize(t, s["size"], s["method"]))(x)
    if k == "s2d" and two_d and all(n % 2 == 0 for n in spatial):
        return L.Lambda(lambda t: tf.nn.space_to_depth(t, 2))(x)
    return x


def representative(spec: dict[str, Any], n: int = 24) -> np.ndarray:
    rng = np.random.default_rng(spec["seed"])
    return rng.normal(0.0, 1.0, size=(n, *spec["shape"])).astype(np.float32)
