"""The op table: one row per op plugin, several shapes/params each, 1D and 2D, random and edge
inputs; the generated C (host gcc, ASan+UBSan) must equal TFLite-Micro byte for byte.

Rows are small models (the op under test plus, where the converter needs one, a Dense/Conv in
front to give it realistic quantization). Models that Keras cannot express directly (PADV2,
MEAN over one spatial axis of a 4-D tensor, broadcast MUL against a constant, ...) are written as
tf.functions. Run:  python -m pytest tests/test_ops_table.py -q   (about 2-3 minutes on 2 cores)
A hypothesis property at the bottom draws extra pooling / softmax / elementwise shapes
(TINYGEN_OPS_EXAMPLES, default 6).
"""
from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

from hypothesis import HealthCheck, assume, given, settings, strategies as st  # noqa: E402

from harness import check_bit_exact, quiet_tf, to_int8_tflite  # noqa: E402

N_EXAMPLES = int(os.environ.get("TINYGEN_OPS_EXAMPLES", "6"))


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


needs_tf = pytest.mark.skipif(not (_have("tensorflow") and _have("tflite_micro")),
                              reason="needs tensorflow and tflite-micro")


# ---- model builders --------------------------------------------------------------------------

def keras_model(shape, body):
    import keras

    inp = keras.Input(shape, batch_size=1)
    return keras.Model(inp, body(inp))


def convert_fn(fn, shape, rep: np.ndarray) -> bytes:
    """int8 conversion of a tf.function of one [1, *shape] float input."""
    tf = quiet_tf()
    spec = tf.TensorSpec((1,) + tuple(shape), tf.float32)
    module = tf.Module()
    module.f = tf.function(fn, input_signature=[spec])
    conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
    from tinygen.train.convert import convert_int8

    return convert_int8(tf, conv, rep)


def rep_data(shape, lo=-1.0, hi=1.0, n=48, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, size=(n,) + tuple(shape)).astype(np.float32)


def inputs_for(size: int, seed: int, n_random: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fixed = [np.full(size, -128), np.full(size, 127), np.zeros(size),
             np.tile([-128, 127], size)[:size], np.arange(size) % 256 - 128]
    rand = rng.integers(-128, 128, size=(n_random, size))
    return np.concatenate([np.array(fixed), rand]).astype(np.int8)


# ---- the table ---------------------------------------------------------------------------------
# (id, op types that must appear in the converted model, builder returning .tflite bytes)

def _k(shape, body, lo=-1.0, hi=1.0):
    return lambda: to_int8_tflite(keras_model(shape, body), rep_data(shape, lo, hi))


def _f(shape, fn, lo=-1.0, hi=1.0):
    return lambda: convert_fn(fn, shape, rep_data(shape, lo, hi))


def _layers():
    import keras

    return keras.layers


def _tf():
    return quiet_tf()


def cases():
    """The rows; built lazily so that collecting the tests does not import TensorFlow."""
    L = _layers()
    tf = _tf()
    dense = lambda n, act=None: L.Dense(n, activation=act)  # noqa: E731
    c1 = lambda n: L.Conv1D(n, 3, padding="same")  # noqa: E731
    c2 = lambda n: L.Conv2D(n, 3, padding="same")  # noqa: E731
    rows = [
        # MAX_POOL_2D
        ("maxpool1d_p2", {"MAX_POOL_2D"}, _k((32, 4), lambda x: L.MaxPooling1D(2)(c1(4)(x)))),
        ("maxpool1d_p3s1_same", {"MAX_POOL_2D"}, _k((17, 3), lambda x: L.MaxPooling1D(3, 1, padding="same")(x))),
        ("maxpool1d_p4s3_relu", {"MAX_POOL_2D"}, _k((30, 5), lambda x: L.MaxPooling1D(4, 3)(L.ReLU()(c1(5)(x))))),
        ("maxpool2d_2x2", {"MAX_POOL_2D"}, _k((8, 10, 3), lambda x: L.MaxPooling2D(2)(c2(3)(x)))),
        ("maxpool2d_3x3s2_same", {"MAX_POOL_2D"}, _k((9, 7, 2), lambda x: L.MaxPooling2D(3, 2, padding="same")(x))),
        # AVERAGE_POOL_2D
        ("avgpool1d_p2", {"AVERAGE_POOL_2D"}, _k((32, 4), lambda x: L.AveragePooling1D(2)(c1(4)(x)))),
        ("avgpool1d_p3s2_same", {"AVERAGE_POOL_2D"}, _k((19, 3), lambda x: L.AveragePooling1D(3, 2, padding="same")(x), -3, 2)),
        ("avgpool2d_3x3s1_same", {"AVERAGE_POOL_2D"}, _k((7, 9, 3), lambda x: L.AveragePooling2D(3, 1, padding="same")(c2(3)(x)))),
        ("avgpool2d_2x3_valid", {"AVERAGE_POOL_2D"}, _k((10, 9, 2), lambda x: L.AveragePooling2D((2, 3))(x))),
        ("avgpool2d_big_same", {"AVERAGE_POOL_2D"}, _k((12, 12, 2), lambda x: L.AveragePooling2D(5, 3, padding="same")(x))),
        # MEAN
        ("gap1d", {"MEAN"}, _k((37, 6), lambda x: L.GlobalAveragePooling1D()(c1(6)(x)))),
        ("gap2d", {"MEAN"}, _k((5, 7, 3), lambda x: L.GlobalAveragePooling2D()(c2(3)(x)))),
        ("gap2d_keepdims", {"MEAN"}, _k((6, 4, 5), lambda x: L.GlobalAveragePooling2D(keepdims=True)(c2(5)(x)))),
        ("gap1d_long", {"MEAN"}, _k((200, 8), lambda x: L.GlobalAveragePooling1D()(x), -4, 4)),
        ("mean_w_only", {"MEAN"}, _f((4, 6, 3), lambda x: tf.reduce_mean(x, axis=[2]))),
        ("mean_h_keep", {"MEAN"}, _f((5, 6, 3), lambda x: tf.reduce_mean(x, axis=[1], keepdims=True))),
        # SOFTMAX
        ("softmax_4", {"SOFTMAX"}, _k((10,), lambda x: L.Softmax()(dense(4)(x)))),
        ("softmax_12", {"SOFTMAX"}, _k((16,), lambda x: L.Softmax()(dense(12)(x)), -4, 4)),
        ("softmax_rows", {"SOFTMAX"}, _k((6, 5), lambda x: L.Softmax()(dense(5)(x)), -8, 8)),
        ("softmax_wide", {"SOFTMAX"}, _k((40,), lambda x: L.Softmax()(x), -20, 20)),
        ("softmax_many_rows", {"SOFTMAX"}, _k((32, 10), lambda x: L.Softmax()(x), -10, 10)),
        ("softmax_beta", {"SOFTMAX"}, _f((9,), lambda x: tf.nn.softmax(x), -1, 1)),
        # ADD
        ("add_residual1d", {"ADD"}, _k((16, 4), lambda x: L.Add()([x, c1(4)(x)]))),
        ("add_relu2d", {"ADD"}, _k((6, 6, 3), lambda x: L.ReLU()(L.Add()([c2(3)(x), c2(3)(x)])))),
        ("add_residual2d_big", {"ADD"}, _k((12, 12, 4), lambda x: L.Add()([x, c2(4)(x)]), -2, 2)),
        ("add_bcast_big", {"ADD"}, _f((10, 10, 8), lambda x: x + 2.0 * tf.reduce_mean(x, axis=[1, 2], keepdims=True))),
        ("add_bcast_channel", {"ADD"}, _f((5, 7, 4), lambda x: x + tf.reduce_mean(x, axis=[1, 2], keepdims=True))),
        ("add_bcast_const", {"ADD"}, _f((6, 3), lambda x: x + tf.constant([[0.5, -0.25, 1.0]]), -2, 2)),
        ("add_scales_differ", {"ADD"}, _f((12,), lambda x: x + 5.0 * tf.sigmoid(x), -4, 4)),
        ("add_after_tanh", {"ADD", "TANH"}, _f((8,), lambda x: tf.tanh(x) + 3.0 * x, -3, 3)),
        # MUL
        ("mul_1d", {"MUL"}, _k((20, 3), lambda x: L.Multiply()([x, c1(3)(x)]))),
        ("mul_gate_sigmoid", {"MUL", "LOGISTIC"}, _k((8, 6), lambda x: L.Multiply()([x, L.Activation("sigmoid")(dense(6)(x))]))),
        ("mul_bcast_se", {"MUL"}, _f((4, 5, 6), lambda x: x * tf.reduce_mean(x, axis=[1, 2], keepdims=True))),
        ("mul_const", {"MUL"}, _f((7, 2), lambda x: x * tf.constant([[2.0, -0.5]]), -3, 3)),
        # PAD / PADV2
        ("pad_causal1d", {"PAD"}, _k((12, 3), lambda x: L.Conv1D(3, 3, padding="causal")(x))),
        ("zeropad2d", {"PAD"}, _k((5, 6, 2), lambda x: L.ZeroPadding2D(((1, 2), (0, 3)))(x), -1, 3)),
        ("zeropad1d", {"PAD"}, _k((9, 4), lambda x: L.ZeroPadding1D((2, 1))(x), 0, 2)),
        ("padv2_const", {"PADV2"}, _f((6, 3), lambda x: tf.pad(x, [[0, 0], [1, 2], [0, 1]], constant_values=0.75))),
        # CONCATENATION
        ("concat_channels", {"CONCATENATION"}, _k((10, 3), lambda x: L.Concatenate()([c1(2)(x), c1(3)(x)]))),
        ("concat_time", {"CONCATENATION"}, _k((8, 4), lambda x: L.Concatenate(axis=1)([x, c1(4)(x)]))),
        ("concat_2d_3way", {"CONCATENATION"}, _k((4, 5, 2), lambda x: L.Concatenate()([x, c2(3)(x), c2(1)(x)]))),
        ("concat_h", {"CONCATENATION"}, _f((3, 4, 2), lambda x: tf.concat([x, 2.0 * x], axis=1))),
        # LOGISTIC / TANH
        ("sigmoid", {"LOGISTIC"}, _k((50,), lambda x: L.Activation("sigmoid")(x), -6, 6)),
        ("sigmoid_offset", {"LOGISTIC"}, _k((30,), lambda x: L.Activation("sigmoid")(dense(30)(x)), -1, 3)),
        ("tanh", {"TANH"}, _k((50,), lambda x: L.Activation("tanh")(x), -3, 3)),
        ("tanh_2d", {"TANH"}, _k((4, 4, 3), lambda x: L.Activation("tanh")(c2(3)(x)), -10, 10)),
        # QUANTIZE (int8 -> int8 requantize)
        ("quantize_requant", {"QUANTIZE"}, _f((8,), lambda x: tf.concat([tf.sigmoid(x), 4.0 * x], axis=1), -3, 3)),
        ("quantize_softmax", {"QUANTIZE", "SOFTMAX"}, _f((6, 5), lambda x: tf.concat([tf.nn.softmax(x), x], axis=2), -2, 2)),
    ]
    return rows


CASES = None


def _cases():
    global CASES
    if CASES is None:
        CASES = {r[0]: r for r in cases()}
    return CASES


CASE_IDS = [
    "maxpool1d_p2", "maxpool1d_p3s1_same", "maxpool1d_p4s3_relu", "maxpool2d_2x2",
    "maxpool2d_3x3s2_same", "avgpool1d_p2", "avgpool1d_p3s2_same", "avgpool2d_3x3s1_same",
    "avgpool2d_2x3_valid", "avgpool2d_big_same", "gap1d", "gap2d", "gap2d_keepdims", "gap1d_long",
    "mean_w_only", "mean_h_keep", "softmax_4", "softmax_12", "softmax_rows", "softmax_wide",
    "softmax_many_rows", "softmax_beta", "add_residual1d", "add_relu2d", "add_residual2d_big", "add_bcast_big", "add_bcast_channel", "add_bcast_const",
    "add_scales_differ", "add_after_tanh", "mul_1d", "mul_gate_sigmoid", "mul_bcast_se", "mul_const",
    "pad_causal1d", "zeropad2d", "zeropad1d", "padv2_const", "concat_channels", "concat_time",
    "concat_2d_3way", "concat_h", "sigmoid", "sigmoid_offset", "tanh", "tanh_2d",
    "quantize_requant", "quantize_softmax",
]


@needs_tf
def test_case_ids_cover_the_table():
    assert sorted(CASE_IDS) == sorted(_cases()), "CASE_IDS and cases() disagree"


def _check(model: bytes, want_ops: set, tmp, seed: int):
    from tinygen.importers.tflite import load_model

    graph = load_model(model)
    present = {op.type.value for op in graph.ops}
    missing = want_ops - present
    assert not missing, f"model lacks {missing}; it has {sorted(present)}"
    size = graph.tensor(graph.inputs[0]).size
    ours, theirs, gen = check_bit_exact(model, inputs_for(size, seed), tmp)
    differing = int(np.count_nonzero(ours != theirs))
    assert differing == 0, f"{differing} differing bytes of {ours.size} (ops {sorted(present)})"
    return gen


@needs_tf
@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_op_row(case_id, tmp_path):
    _, want, build = _cases()[case_id]
    _check(build(), want, tmp_path, seed=zlib.crc32(case_id.encode()) % 1000)


# ---- property rows: random shapes for the cheap ops --------------------------------------------

@st.composite
def op_specs(draw):
    kind = draw(st.sampled_from(["maxpool", "avgpool", "softmax", "add", "mul", "gap"]))
    two_d = draw(st.booleans())
    c = draw(st.integers(1, 6))
    h = draw(st.integers(1, 7)) if two_d else None
    w = draw(st.integers(2, 24))
    spec = dict(kind=kind, shape=((h, w, c) if two_d else (w, c)),
                pool=draw(st.integers(1, 4)), stride=draw(st.integers(1, 3)),
                padding=draw(st.sampled_from(["same", "valid"])),
                lo=draw(st.sampled_from([-1.0, -4.0, 0.0])), hi=draw(st.sampled_from([1.0, 3.0])),
                seed=draw(st.integers(0, 1000)))
    if spec["padding"] == "valid":
        spec["pool"] = min(spec["pool"], w, h or w)
    return spec


def build_spec(spec) -> bytes:
    L = _layers()
    shape, two_d = spec["shape"], len(spec["shape"]) == 3
    k = spec["kind"]
    # a 1x1 convolution, not Dense: the converter fails on Dense over a trailing axis of 1
    pointwise = lambda x, act=None: (L.Conv2D if two_d else L.Conv1D)(shape[-1], 1, activation=act)(x)  # noqa: E731
    if k in ("maxpool", "avgpool"):
        cls = {("maxpool", False): L.MaxPooling1D, ("maxpool", True): L.MaxPooling2D,
               ("avgpool", False): L.AveragePooling1D, ("avgpool", True): L.AveragePooling2D}[(k, two_d)]
        body = lambda x: cls(spec["pool"], spec["stride"], padding=spec["padding"])(x)  # noqa: E731
    elif k == "softmax":
        body = lambda x: L.Softmax()(x)  # noqa: E731
    elif k == "gap":
        body = lambda x: (L.GlobalAveragePooling2D() if two_d else L.GlobalAveragePooling1D())(  # noqa: E731
            pointwise(x))
    else:
        layer = L.Add() if k == "add" else L.Multiply()
        body = lambda x: layer([x, pointwise(x, "relu")])  # noqa: E731
    return to_int8_tflite(keras_model(shape, body), rep_data(shape, spec["lo"], spec["hi"], seed=spec["seed"]))


@needs_tf
@pytest.mark.tf
@pytest.mark.host
@settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True, print_blob=True)
@given(spec=op_specs())
def test_op_property(spec, tmp_path_factory):
    try:
        model = build_spec(spec)
    except Exception as exc:  # the TF converter itself fails on a few tiny shapes (rank bugs)
        if type(exc).__name__ != "ConverterError":
            raise
        assume(False)
    _check(model, set(), tmp_path_factory.mktemp("p"), spec["seed"])


# ---- unit checks of the Python side (no TensorFlow needed) ---------------------------------------

def test_avgpool_reciprocal_is_exact():
    from tinygen.ops.pool import recip

    rng = np.random.default_rng(0)
    for n in list(range(1, 300)) + [1000, 1024, 4095, 65535, 65536, (1 << 23) - 1]:
        m, ell = recip(n)
        assert m < (1 << 32)
        vs = np.concatenate([rng.integers(0, 1 << 31, 200), [0, 1, n - 1, n, n + 1, (1 << 31) - 1],
                             np.arange(1, 50) * n - 1])
        for v in vs.tolist():
            if 0 <= v < (1 << 31):
                assert (((2 * v * m) >> 32) >> ell) == v // n, (n, v)


def _graph(op_type, in_t, out_t, extra=(), attrs=None):
    from tinygen.ir import Graph, NoAttrs, Op

    tensors = (in_t, out_t) + tuple(extra)
    op = Op(index=7, type=op_type, inputs=(0,) + tuple(t.index for t in extra), outputs=(1,),
            attrs=attrs or NoAttrs())
    return Graph(tensors=tensors, ops=(op,), inputs=(0,), outputs=(1,), sha256="0" * 64), op


def test_quantize_refuses_a_pair_tflm_lacks_in_one_line():
    from tinygen.errors import UnsupportedOp
    from tinygen.ir import OpType, Quant, Tensor
    from tinygen.ops import lower

    x = Tensor(0, "x", (1, 8), "float32")
    y = Tensor(1, "y", (1, 8), "uint8", Quant((0.1,), (3,)))
    graph, op = _graph(OpType.QUANTIZE, x, y)
    with pytest.raises(UnsupportedOp) as err:
        lower(op, graph)
    msg = str(err.value)
    assert msg.startswith("op 7 (QUANTIZE): float32 -> uint8 is not a QUANTIZE") and "\n" not in msg
    ok = lower(op, _graph(OpType.QUANTIZE, x, Tensor(1, "y", (1, 8), "int8", Quant((0.1,), (3,))))[0])
    assert ok.params["fn"] == "tg_quantize_f32_s8" and ok.params["out_zp"] == 3


def test_unsupported_type_is_refused_naming_the_op():
    """(SOFTMAX takes int16 since the 16x8 work; int32 it never takes: the port check says so.)"""
    from tinygen.errors import UnsupportedOp
    from tinygen.ir import OpType, Quant, SoftmaxAttrs, Tensor
    from tinygen.ops import lower

    x = Tensor(0, "x", (1, 8), "int32", None)
    y = Tensor(1, "y", (1, 8), "int16", Quant((1 / 32768,), (0,)))
    graph, op = _graph(OpType.SOFTMAX, x, y, attrs=SoftmaxAttrs(1.0))
    with pytest.raises(UnsupportedOp, match=r"^op 7 \(SOFTMAX\): input tensor 0 is int32; this "
                       r"kernel takes int8 or int16"):
        lower(op, graph)


@given(st.lists(st.integers(1, 4), min_size=1, max_size=5), st.data())
@settings(max_examples=60, deadline=None)
def test_broadcast_loops_match_numpy(out_shape, data):
    """Walking the collapsed loops visits exactly numpy's broadcast pairs, in output order."""
    from tinygen.ir import Op, OpType
    from tinygen.ops.elementwise import broadcast_loops

    out_shape = tuple(out_shape)
    def operand():
        rank = data.draw(st.integers(0, len(out_shape)))
        tail = out_shape[len(out_shape) - rank:]
        return tuple(d if data.draw(st.booleans()) else 1 for d in tail)
    s1, s2 = operand(), operand()
    if np.broadcast_shapes(s1, s2, out_shape) != out_shape or \
            np.broadcast_shapes(s1, s2) != tuple(out_shape[len(out_shape) - len(np.broadcast_shapes(s1, s2)):]):
        return
    if tuple(d for d in np.broadcast_shapes(s1, s2, (1,) * len(out_shape))) != out_shape:
        return
    it = broadcast_loops(Op(0, OpType.ADD, (0, 1), (2,)), s1, s2, out_shape)
    a = np.arange(int(np.prod(s1)), dtype=np.int64).reshape(s1)
    b = np.arange(int(np.prod(s2)), dtype=np.int64).reshape(s2)
    want = np.stack(np.broadcast_arrays(a, b, np.empty(out_shape))[:2], axis=-1).reshape(-1, 2)
    got = []
    sh, t1, t2 = it["shape"], it["stride1"], it["stride2"]
    for i0 in range(sh[0]):
        for i1 in range(sh[1]):
            for i2 in range(sh[2]):
                for i3 in range(sh[3]):
                    got.append((i0 * t1[0] + i1 * t1[1] + i2 * t1[2] + i3 * t1[3],
                                i0 * t2[0] + i1 * t2[1] + i2 * t2[2] + i3 * t2[3]))
    assert np.array_equal(np.array(got).reshape(-1, 2), want)


@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 2), st.integers(0, 2)), min_size=1,
                max_size=4))
@settings(max_examples=60, deadline=None)
def test_pad_loops_match_numpy(dims):
    """Running the kernel's loop structure in Python reproduces numpy.pad."""
    from tinygen.ir import Op, OpType
    from tinygen.ops.pad import pad_loops

    shape = tuple(d[0] for d in dims)
    pads = [(d[1], d[2]) for d in dims]
    x = (np.arange(int(np.prod(shape))) % 100 + 1).reshape(shape)
    want = np.pad(x, pads, constant_values=-7).ravel()
    p = pad_loops(Op(0, OpType.PAD, (0, 1), (2,)), shape, pads)
    flat, out = x.ravel(), []
    ins, bef, outs = p["in_shape"], p["before"], p["out_shape"]
    for a in range(outs[0]):
        for b in range(outs[1]):
            for c in range(outs[2]):
                ia, ib, ic = a - bef[0], b - bef[1], c - bef[2]
                if 0 <= ia < ins[0] and 0 <= ib < ins[1] and 0 <= ic < ins[2]:
                    row = flat[((ia * ins[1] + ib) * ins[2] + ic) * ins[3]:][:ins[3]].tolist()
                    out += [-7] * bef[3] + row + [-7] * (outs[3] - ins[3] - bef[3])
                else:
                    out += [-7] * outs[3]
    assert out == want.tolist()


def test_concat_refuses_mixed_quantization():
    from tinygen.errors import UnsupportedOp
    from tinygen.ir import Activation, ConcatAttrs, Graph, Op, OpType, Quant, Tensor
    from tinygen.ops import lower

    a = Tensor(0, "a", (1, 4, 2), "int8", Quant((0.1,), (0,)))
    b = Tensor(1, "b", (1, 4, 3), "int8", Quant((0.2,), (0,)))
    y = Tensor(2, "y", (1, 4, 5), "int8", Quant((0.1,), (0,)))
    op = Op(index=3, type=OpType.CONCATENATION, inputs=(0, 1), outputs=(2,),
            attrs=ConcatAttrs(-1, Activation.NONE))
    graph = Graph(tensors=(a, b, y), ops=(op,), inputs=(0,), outputs=(2,), sha256="0" * 64)
    with pytest.raises(UnsupportedOp, match=r"^op 3 \(CONCATENATION\): input 1 quantization"):
        lower(op, graph)
    ok = Op(index=3, type=OpType.CONCATENATION, inputs=(0, 0), outputs=(2,),
            attrs=ConcatAttrs(2, Activation.NONE))
    a2 = Tensor(0, "a", (1, 4, 2), "int8", Quant((0.1,), (0,)))
    y2 = Tensor(2, "y", (1, 4, 4), "int8", Quant((0.1,), (0,)))
    low = lower(ok, Graph(tensors=(a2, b, y2), ops=(ok,), inputs=(0,), outputs=(2,), sha256="0" * 64))
    assert low.params["outer"] == 4 and low.consts[-1].values.tolist() == [2, 2]


# ---- arithmetic ops, typed model I/O and 16x8 (issue 10, arithmetic half) ----------------------
# Each row: (id, op types that must appear, builder, I/O kind). I/O kind "int8" is the default
# int8 model; "int16" a 16x8 model with int16 I/O; "float32" / "uint8" the converter's
# inference_input_type / inference_output_type (a QUANTIZE first, a DEQUANTIZE or QUANTIZE last).

def _fn_conv(fn, shape, io="int8", lo=-1.0, hi=1.0):
    from tinygen.train.convert import convert_int8

    def build():
        tf = quiet_tf()
        spec = tf.TensorSpec((1,) + tuple(shape), tf.float32)
        module = tf.Module()
        module.f = tf.function(fn, input_signature=[spec])
        conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()],
                                                               module)
        return convert_int8(tf, conv, rep_data(shape, lo, hi), input_type=io, output_type=io,
                            int16_activations=io == "int16")
    return build


def _keras_conv(shape, body, io="int8", lo=-1.0, hi=1.0):
    from tinygen.train.convert import convert_int8

    def build():
        tf = quiet_tf()
        conv = tf.lite.TFLiteConverter.from_keras_model(keras_model(shape, body))
        return convert_int8(tf, conv, rep_data(shape, lo, hi), input_type=io, output_type=io,
                            int16_activations=io == "int16")
    return build


def _as_elu(build):
    """An int8 ELU model. The converter (TF 2.21) leaves tf.nn.elu in float32 between a
    DEQUANTIZE and a QUANTIZE, so the int8 op users meet in other tools' exports is made here
    from a converted LEAKY_RELU (its output range covers ELU's -1): the op renamed, its
    options dropped, the scales the quantizer chose kept."""
    def run():
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(build(), 0))
        leaky = {i for i, c in enumerate(m.operatorCodes)
                 if c.builtinCode == schema.BuiltinOperator.LEAKY_RELU}
        for i in leaky:
            m.operatorCodes[i].builtinCode = m.operatorCodes[i].deprecatedBuiltinCode = \
                schema.BuiltinOperator.ELU
        for op in m.subgraphs[0].operators:
            if op.opcodeIndex in leaky:
                op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.NONE, None
        return _pack_model(m)
    return run


def arith_cases():
    L = _layers()
    tf = _tf()
    c = lambda v: tf.constant(v, tf.float32)  # noqa: E731
    rows = []
    for io in ("int8", "int16"):
        t = f"_{io}"
        rows += [
            ("sub" + t, {"SUB"}, _fn_conv(lambda x: x - 0.5 * tf.sigmoid(x), (12,), io, -3, 3)),
            ("sub_bcast" + t, {"SUB"}, _fn_conv(lambda x: x - tf.reduce_max(x, axis=[1], keepdims=True), (6, 4), io)),
            ("rsub_const" + t, {"SUB"}, _fn_conv(lambda x: c([[1.0, 2.0, -1.0, 0.5]]) - x, (6, 4), io, -2, 2)),
            ("add" + t, {"ADD"}, _fn_conv(lambda x: x + 3.0 * tf.tanh(x), (5, 4, 3), io, -2, 2)),
            ("mul" + t, {"MUL"}, _fn_conv(lambda x: x * tf.sigmoid(x), (16,), io, -4, 4)),
            ("sqdiff" + t, {"SQUARED_DIFFERENCE"}, _fn_conv(lambda x: tf.math.squared_difference(x, 0.3 * x + 0.1), (20,), io, -2, 2)),
            ("sqdiff_bcast" + t, {"SQUARED_DIFFERENCE"}, _fn_conv(lambda x: tf.math.squared_difference(x, tf.reduce_max(x, axis=[2], keepdims=True)), (3, 5, 4), io)),
            ("maximum" + t, {"MAXIMUM"}, _fn_conv(lambda x: tf.maximum(x, 0.5 * x + 0.2), (20,), io, -2, 2)),
            ("minimum_const" + t, {"MINIMUM"}, _fn_conv(lambda x: tf.minimum(x, c([[0.5, -0.25, 0.0, 1.0]])), (5, 4), io, -2, 2)),
            ("leaky" + t, {"LEAKY_RELU"}, _fn_conv(lambda x: tf.nn.leaky_relu(x, 0.2), (24,), io, -3, 3)),
            ("leaky_big_alpha" + t, {"LEAKY_RELU"}, _fn_conv(lambda x: tf.nn.leaky_relu(x, 3.5), (24,), io, -3, 3)),
            ("leaky_neg_alpha" + t, {"LEAKY_RELU"}, _fn_conv(lambda x: tf.nn.leaky_relu(2.0 * x, -0.7), (24,), io, -3, 3)),
            ("sum_axis1" + t, {"SUM"}, _fn_conv(lambda x: tf.reduce_sum(x, axis=[1]), (4, 5, 3), io)),
            ("sum_keep_neg" + t, {"SUM"}, _fn_conv(lambda x: tf.reduce_sum(0.3 * x, axis=[1, -1], keepdims=True), (4, 5, 3), io)),
            ("logistic" + t, {"LOGISTIC"}, _fn_conv(lambda x: tf.sigmoid(3.0 * x), (24,), io, -3, 3)),
            ("tanh" + t, {"TANH"}, _fn_conv(lambda x: tf.tanh(3.0 * x), (24,), io, -3, 3)),
            ("relu" + t, {"RELU"}, _keras_conv((4, 6), lambda x: L.ReLU()(x), io, -2, 2)),
            ("relu6" + t, {"RELU6"}, _keras_conv((4, 6), lambda x: L.ReLU(max_value=6.0)(x), io, -8, 8)),
        ]
    rows += [
        ("hard_swish", {"HARD_SWISH"}, _fn_conv(lambda x: x * tf.nn.relu6(x + 3.0) / 6.0, (24,), "int8", -5, 5)),
        # ELU: TFLite-Micro has it for int8 only (elu.cc: float32 and int8), so no 16x8 row.
        ("elu", {"ELU"}, _as_elu(_fn_conv(lambda x: tf.nn.leaky_relu(x, 0.5), (64,), "int8", -3, 3))),
        ("elu_coarse", {"ELU"}, _as_elu(_fn_conv(lambda x: tf.nn.leaky_relu(x, 0.1), (40,), "int8", -12, 4))),
        ("reduce_max", {"REDUCE_MAX"}, _fn_conv(lambda x: tf.reduce_max(x, axis=[2]), (4, 5, 3))),
        ("reduce_max_all_keep", {"REDUCE_MAX"}, _fn_conv(lambda x: tf.reduce_max(x, axis=[1, 2, 3], keepdims=True), (4, 5, 3))),
        ("reduce_min_13", {"REDUCE_MIN"}, _fn_conv(lambda x: tf.reduce_min(x, axis=[1, 3]), (4, 5, 3))),
        ("arg_max_i32", {"ARG_MAX"}, _fn_conv(lambda x: tf.math.argmax(x, axis=2, output_type=tf.int32), (4, 5, 3))),
        ("arg_min_neg", {"ARG_MIN"}, _fn_conv(lambda x: tf.math.argmin(x, axis=-1, output_type=tf.int32), (4, 5, 3))),
        ("prelu", {"PRELU"}, _keras_conv((6, 4), lambda x: L.PReLU(alpha_initializer=tf.keras.initializers.RandomUniform(-0.5, 0.5))(L.Conv1D(4, 1)(x)))),
        ("io_float", {"QUANTIZE", "DEQUANTIZE"}, _keras_conv((16,), lambda x: L.Dense(6, activation="tanh")(x), "float32", -2, 2)),
        ("io_uint8", {"QUANTIZE"}, _keras_conv((16,), lambda x: L.Dense(6)(x), "uint8", -2, 2)),
        ("io_float_16x8", {"QUANTIZE", "DEQUANTIZE"}, _fn_conv(lambda x: tf.nn.leaky_relu(x - tf.reduce_max(x, axis=[1], keepdims=True), 0.1), (5, 4), "float32", -2, 2)),
    ]
    return rows


ARITH_CASE_IDS = [
    *(f"{n}_{io}" for io in ("int8", "int16") for n in (
        "sub", "sub_bcast", "rsub_const", "add", "mul", "sqdiff", "sqdiff_bcast", "maximum",
        "minimum_const", "leaky", "leaky_big_alpha", "leaky_neg_alpha", "sum_axis1",
        "sum_keep_neg", "logistic", "tanh", "relu", "relu6")),
    "hard_swish", "elu", "elu_coarse", "reduce_max", "reduce_max_all_keep", "reduce_min_13",
    "arg_max_i32", "arg_min_neg", "prelu", "io_float", "io_uint8", "io_float_16x8",
]
# The default suite runs one row per op and I/O kind (a few minutes); TINYGEN_OPS_ALL=1 runs all.
ARITH_DEFAULT = {"sub_bcast_int8", "rsub_const_int16", "add_int16", "mul_int16", "sqdiff_bcast_int8",
                 "sqdiff_int16", "maximum_int16", "minimum_const_int8", "leaky_neg_alpha_int8",
                 "leaky_big_alpha_int16", "sum_keep_neg_int8", "sum_axis1_int16", "logistic_int16",
                 "tanh_int16", "relu_int16", "relu6_int16", "hard_swish", "elu", "elu_coarse",
                 "reduce_max_all_keep", "reduce_min_13", "arg_max_i32", "arg_min_neg", "prelu", "io_float", "io_uint8",
                 "io_float_16x8"}
if os.environ.get("TINYGEN_OPS_ALL") != "1":
    ARITH_CASE_IDS_RUN = [c for c in ARITH_CASE_IDS if c in ARITH_DEFAULT]
else:
    ARITH_CASE_IDS_RUN = ARITH_CASE_IDS
_ARITH = None


def _arith():
    global _ARITH
    if _ARITH is None:
        _ARITH = {r[0]: r for r in arith_cases()}
    return _ARITH


@needs_tf
def test_arith_case_ids_cover_the_table():
    assert sorted(ARITH_CASE_IDS) == sorted(_arith())
    assert ARITH_DEFAULT <= set(ARITH_CASE_IDS)


def typed_edge_inputs(gen, seed: int, n_random: int = 12) -> list[np.ndarray]:
    """Random records of each input's own type plus its extremes; float inputs also get values
    exactly half a quantum from a step and the floats either side (the rounding edges)."""
    from harness import random_inputs

    rng = np.random.default_rng(seed)
    batches = random_inputs(gen, n_random, rng)
    out = []
    for io, b in zip(gen.inputs, batches):
        dt = np.dtype(io.dtype)
        if dt.kind == "f":
            k = rng.integers(-140, 140, size=b.shape) + 0.5
            half = (k * np.float32(io.scale)).astype(np.float32)
            extra = [half, np.nextafter(half, np.float32(np.inf)), np.nextafter(half, np.float32(-np.inf)),
                     np.full_like(b, 1e30), np.full_like(b, -1e30)]
        else:
            info = np.iinfo(dt)
            extra = [np.full_like(b[:1], info.min), np.full_like(b[:1], info.max), np.zeros_like(b[:1])]
        out.append(np.concatenate([b, *extra]).astype(dt))
    n = min(len(x) for x in out)
    return [x[:n] for x in out]


# ---- data-movement ops (opsb): a few multi-output models, each in every type TFLite-Micro runs ----
# One model holds many variants of its ops as separate outputs, so one conversion and one compile
# check them all. int16 models come from TFLite's 16x8 conversion; int32 ones retype an int8
# model's activations (TFLite-Micro moves any type byte for byte; the converter makes no int32
# activations). TILE is checked against TFLite's reference kernels: TFLite-Micro has no TILE.

def _movement_fns():
    tf = _tf()
    r = tf.compat.v1.image
    slicing = lambda x: [x[:, 1:5:2], x[:, ::-1, 2:], x[:, :, 3], x[:, -3:, :, ::2],  # noqa: E731
                         x[:, 4:0:-2, ::3, 1:3], x[:, 2:4], tf.slice(x, [0, 1, 2, 0], [1, 3, -1, 2]),
                         tf.slice(x, [0, 2, 0, 0], [1, 3, -1, -1]), *tf.split(x, 2, axis=1),
                         *tf.split(x, [1, 2, 5], axis=2), *tf.unstack(x[:, :3], axis=3),
                         tf.expand_dims(tf.pad(x[:, 1], [[0, 0], [1, 0], [0, 2]]), 3)]
    # (the converter leaves a TRANSPOSE of the input in float when a CONCATENATION shares the
    # model, so they are in separate models)
    reorder = lambda x: [tf.transpose(x, [0, 2, 3, 1]), tf.transpose(x, [0, 3, 1, 2]),  # noqa: E731
                         tf.transpose(tf.reshape(x, (1, 3, 2, 2, 5)), [0, 4, 2, 1, 3]),
                         tf.expand_dims(tf.squeeze(x[:, :, 2:3], 2), 1),
                         tf.pad(x, [[0, 0], [2, 1], [0, 3], [0, 0]])]
    stacking = lambda x: [tf.stack([x, x[:, ::-1]], axis=2),  # noqa: E731
                          tf.concat([x[:, 1:], x[:, :2]], axis=1)]
    resize = lambda x: [tf.image.resize(x, (9, 13), "nearest"),  # noqa: E731
                        r.resize_nearest_neighbor(x, (7, 4), align_corners=True),
                        r.resize_nearest_neighbor(x, (11, 9), half_pixel_centers=True),
                        tf.image.resize(x, (9, 13), "bilinear"),
                        r.resize_bilinear(x, (7, 4), align_corners=True), r.resize_bilinear(x, (3, 2))]
    nearest16 = lambda x: [tf.image.resize(x, (9, 13), "nearest"),  # noqa: E731
                           r.resize_nearest_neighbor(x, (7, 4), align_corners=True),
                           r.resize_nearest_neighbor(x, (3, 3), half_pixel_centers=True)]
    blocks = lambda x: [tf.nn.space_to_depth(x, 2), tf.nn.depth_to_space(x, 2),  # noqa: E731
                        # no padding: TFLite-Micro pads with an uninitialised value (see
                        # ops/space.py), so padded positions cannot be compared with it
                        tf.space_to_batch_nd(x, [2, 2], [[0, 0], [0, 0]]),
                        tf.batch_to_space(tf.reshape(x, (4, 2, 3, 4)), [2, 2], [[1, 0], [0, 3]])]
    mirror = lambda x: [tf.pad(x, [[0, 0], [2, 1], [0, 3], [0, 0]], mode="REFLECT"),  # noqa: E731
                        tf.pad(x, [[0, 0], [1, 2], [3, 0], [1, 1]], mode="SYMMETRIC"),
                        tf.gather(x, [3, 0, 2, 2], axis=2), tf.gather(x, [[1, 4], [0, 0]], axis=1),
                        tf.pad(x, [[0, 0], [1, 0], [0, 0], [1, 2]], constant_values=0.5)]
    tile = lambda x: [tf.tile(x, [1, 2, 1, 3]), tf.tile(x[:, :, :1], [2, 1, 3, 1])]  # noqa: E731
    gather = lambda x: [tf.gather(x, [[3, 0], [2, 2]], axis=2)]  # noqa: E731
    # REVERSE_V2 (the backward direction of a Bidirectional LSTM, unrolled): one, two and all
    # spatial axes, a negative axis
    reverse = lambda x: [tf.reverse(x, [1]), tf.reverse(x, [2, 3]), tf.reverse(x, [-1]),  # noqa: E731
                         tf.reverse(x, [1, 2, 3])]
    return {
        "slicing": ({"STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "UNPACK", "PAD", "RESHAPE"},
                    (6, 8, 4), slicing),
        "reorder": ({"TRANSPOSE", "RESHAPE", "PAD"}, (3, 4, 5), reorder),
        "stacking": ({"PACK", "CONCATENATION"}, (3, 4, 5), stacking),
        "resize": ({"RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"}, (5, 6, 3), resize),
        "nearest16": ({"RESIZE_NEAREST_NEIGHBOR"}, (5, 6, 3), nearest16),
        "blocks": ({"SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"},
                   (4, 6, 4), blocks),
        "mirror": ({"MIRROR_PAD", "GATHER", "PADV2"}, (5, 6, 3), mirror),
        "tile": ({"TILE"}, (3, 4, 2), tile),
        "gather_runtime": ({"GATHER"}, (4, 5, 3), gather),
        "reverse": ({"REVERSE_V2"}, (3, 4, 5), reverse),
    }


# (model, type): every type TFLite-Micro runs the model's ops in (measured on the installed
# TFLite-Micro: TRANSPOSE has no int32, RESIZE_BILINEAR / GATHER / the block ops / MIRROR_PAD only
# int8; TILE, not in TFLite-Micro, in the three types TFLite's kernel takes).
MOVEMENT_ROWS = [("slicing", "int8"), ("slicing", "int16"), ("slicing", "int32"),
                 ("reorder", "int8"), ("reorder", "int16"), ("stacking", "int8"),
                 ("stacking", "int16"), ("stacking", "int32"), ("resize", "int8"),
                 ("nearest16", "int16"), ("blocks", "int8"), ("mirror", "int8"), ("tile", "int8"),
                 ("tile", "int16"), ("tile", "int32"), ("gather_runtime", "int8"),
                 ("reverse", "int8"), ("reverse", "int16"), ("reverse", "int32")]


def retype(model: bytes, dtype: str) -> bytes:
    """The model with every int8 activation tensor made `dtype` (no quantization for int32)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    codes = {"int16": schema.TensorType.INT16, "int32": schema.TensorType.INT32}
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    for t in m.subgraphs[0].tensors:
        if t.type == schema.TensorType.INT8 and (t.buffer == 0 or m.buffers[t.buffer].data is None):
            t.type = codes[dtype]
            if dtype == "int32":
                t.quantization = None
    return _pack_model(m)


def positions_as_input(model: bytes) -> bytes:
    """GATHER's constant positions made a second model input (positions computed at run time)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    g = m.subgraphs[0]
    op = next(o for o in g.operators
              if m.operatorCodes[o.opcodeIndex].builtinCode == schema.BuiltinOperator.GATHER)
    g.tensors[op.inputs[1]].buffer = 0
    g.inputs = list(g.inputs) + [op.inputs[1]]
    return _pack_model(m)


def _pack_model(m) -> bytes:
    import flatbuffers

    fb = flatbuffers.Builder(4096)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def movement_model(name: str, dtype: str) -> bytes:
    want, shape, fn = _movement_fns()[name]
    tf = _tf()
    spec = tf.TensorSpec((1,) + shape, tf.float32)
    module = tf.Module()
    module.f = tf.function(fn, input_signature=[spec])
    conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
    from tinygen.train.convert import convert_int8

    io = "int16" if dtype == "int16" else "int8"
    model = convert_int8(tf, conv, rep_data(shape), input_type=io, output_type=io,
                         int16_activations=dtype == "int16")
    if dtype == "int32":
        model = retype(model, "int32")
    if name == "gather_runtime":
        model = positions_as_input(model)
    return model


def tflite_reference(model: bytes, inputs) -> list:
    """TFLite's builtin kernels without delegates, for ops TFLite-Micro does not have (its
    reference resolver lacks TILE version 3; TILE copies bytes, so the two kernels agree)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    outs = [[] for _ in it.get_output_details()]
    for r in range(len(inputs[0])):
        for d, batch in zip(it.get_input_details(), inputs):
            it.set_tensor(d["index"], batch[r].reshape(d["shape"]))
        it.invoke()
        for k, d in enumerate(it.get_output_details()):
            outs[k].append(it.get_tensor(d["index"]).ravel())
    return [np.stack(o) for o in outs]


@needs_tf
@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("case_id", ARITH_CASE_IDS_RUN)
def test_arith_row(case_id, tmp_path):
    from tinygen.codegen import generate
    from tinygen.importers.tflite import load_model

    _, want, build = _arith()[case_id]
    model = build()
    present = {op.type.value for op in load_model(model).ops}
    assert not want - present, f"model lacks {want - present}; it has {sorted(present)}"
    gen = generate(model, tmp_path / "probe")
    inputs = typed_edge_inputs(gen, zlib.crc32(case_id.encode()) % 1000)
    ours, theirs, _ = check_bit_exact(model, inputs, tmp_path / "gen")
    differing = int(np.count_nonzero(ours != theirs))
    assert differing == 0, f"{differing} differing bytes of {ours.size} (ops {sorted(present)})"


@pytest.mark.parametrize("name,dtype", MOVEMENT_ROWS)
def test_movement_row(name, dtype, tmp_path):
    from harness import as_bytes, build_host, random_inputs, run_host, tflm_arena
    from tinygen.codegen import compile_model, generate
    from tinygen.importers.tflite import load_model

    model = movement_model(name, dtype)
    graph = load_model(model)
    present = {op.type.value for op in graph.ops}
    assert _movement_fns()[name][0] <= present, f"model has only {sorted(present)}"
    assert all(graph.tensor(i).dtype == dtype for i in graph.outputs)
    rng = np.random.default_rng(zlib.crc32(f"{name}{dtype}".encode()))
    inputs = random_inputs(compile_model(model), 12, rng)
    if name == "gather_runtime":     # in-range positions: TFLite-Micro fails on others, so do we
        inputs[1] = rng.integers(0, 5, size=inputs[1].shape, dtype=np.int64).astype(np.int32)
    if name == "tile":
        gen = generate(model, tmp_path)
        spec = [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
        ours = as_bytes(run_host(build_host(tmp_path, gen=gen), inputs, spec))
        theirs = as_bytes(tflite_reference(model, inputs))
    else:
        ours, theirs, gen = check_bit_exact(model, inputs, tmp_path)
        assert gen.arena_bytes <= tflm_arena(model)["head"]
    assert int(np.count_nonzero(ours != theirs)) == 0, f"{sorted(present)} differ"
