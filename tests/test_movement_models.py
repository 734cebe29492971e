"""Data-movement ops in whole models (opsb): the generated C runs the same plans numpy runs
(no TensorFlow), on every cross compiler; real Keras exports with a dynamic batch fold their shape
arithmetic away; a PyTorch-style NCHW model and the corpus MobileNet v2 (a PyTorch export) match
TFLite-Micro; the slice masks TFLite-Micro refuses match TFLite's reference kernels.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinygen.ir import (BlockAttrs, GatherAttrs, Graph, MirrorPadAttrs, NoAttrs, Op, OpType,
                        PackAttrs, Quant, ResizeAttrs, SplitAttrs, StridedSliceAttrs, Tensor)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "corpus" / "tflm" / "examples"
Q = Quant((0.05,), (-3,))


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


needs_tf = pytest.mark.skipif(not (_have("tensorflow") and _have("tflite_micro")),
                              reason="needs tensorflow and tflite-micro")


# ---- the C kernel runs the plans numpy runs ------------------------------------------------------

class _Builder:
    """A graph whose ops all read one int8 input; each op's output is a model output."""

    def __init__(self, shape, dtype="int8"):
        self.tensors = [Tensor(0, "x", tuple(shape), dtype, Q)]
        self.ops: list[Op] = []
        self.dtype = dtype

    def const(self, values) -> int:
        data = np.array(values, dtype=values.dtype if isinstance(values, np.ndarray) else "int32")
        data.setflags(write=False)
        self.tensors.append(Tensor(len(self.tensors), "c", data.shape, data.dtype.name, None, data))
        return len(self.tensors) - 1

    def op(self, op_type, consts_before=(), consts_after=(), out_shapes=((),), attrs=NoAttrs()):
        ins = tuple(self.const(c) for c in consts_before) + (0,) + \
            tuple(self.const(c) for c in consts_after)
        outs = []
        for shape in out_shapes:
            self.tensors.append(Tensor(len(self.tensors), "y", tuple(shape), self.dtype, Q))
            outs.append(len(self.tensors) - 1)
        self.ops.append(Op(len(self.ops), op_type, ins, tuple(outs), attrs))

    def graph(self) -> Graph:
        outs = tuple(t for op in self.ops for t in op.outputs)
        return Graph(tuple(self.tensors), tuple(self.ops), (0,), outs, "0" * 64)


def _many_moves(dtype: str) -> Graph:
    b = _Builder((2, 5, 6, 4), dtype)
    ss = lambda *m: StridedSliceAttrs(*m, False)  # noqa: E731
    b.op(OpType.STRIDED_SLICE, (), ([1, 4, -1, 3], [0, 0, 0, 0], [-1, -2, -2, -3]), [(1, 2, 3, 1)],
         ss(0, 0, 0, 0, 0))                                         # negative strides everywhere
    b.op(OpType.STRIDED_SLICE, (), ([0, 1, 0], [2, 4, 0], [1, 2, 1]), [(2, 2, 1, 6, 4)],
         ss(1, 5, 0, 4, 0))                                         # a new axis, an implicit ellipsis
    b.op(OpType.TRANSPOSE, (), ([3, 1, 0, 2],), [(4, 5, 2, 6)])
    b.op(OpType.TILE, (), ([1, 2, 1, 2],), [(2, 10, 6, 8)])
    b.op(OpType.MIRROR_PAD, (), ([[1, 0], [2, 3], [0, 5], [1, 1]],), [(3, 10, 11, 6)],
         MirrorPadAttrs("SYMMETRIC"))
    b.op(OpType.GATHER, (), ([[3, 0, 3], [1, 1, 2]],), [(2, 5, 2, 3, 4)], GatherAttrs(2, 0))
    b.op(OpType.RESIZE_NEAREST_NEIGHBOR, (), ([7, 4],), [(2, 7, 4, 4)], ResizeAttrs(False, True))
    b.op(OpType.SPACE_TO_BATCH_ND, (), ([2, 3], [[1, 2], [0, 0]]), [(12, 4, 2, 4)])
    b.op(OpType.BATCH_TO_SPACE_ND, (), ([1, 2], [[1, 0], [0, 3]]), [(1, 4, 9, 4)])
    b.op(OpType.DEPTH_TO_SPACE, (), (), [(2, 10, 12, 1)], BlockAttrs(2))
    b.op(OpType.SPLIT_V, (), ([2, 1, 3], [2]), [(2, 5, 2, 4), (2, 5, 1, 4), (2, 5, 3, 4)],
         SplitAttrs(3))
    b.op(OpType.UNPACK, (), (), [(2, 5, 6)] * 4, PackAttrs(3, 4))
    b.op(OpType.SLICE, (), ([1, 0, 2, 1], [1, -1, 3, 2]), [(1, 5, 3, 2)])
    b.op(OpType.PACK, (), (np.arange(240, dtype=np.int8).reshape(2, 5, 6, 4),), [(2, 5, 2, 6, 4)],
         PackAttrs(2, 2))                                           # a constant input from flash
    return b.graph()


@pytest.mark.host
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
def test_generated_c_runs_the_plans_numpy_runs(dtype, tmp_path):
    """tg_move (negative steps, tables, fills, several moves per op) against the numpy executor
    that folds constants, under ASan+UBSan; then the same sources on every cross compiler."""
    from harness import build_host, run_host
    from tinygen.codegen import compile_graph, generate
    from tinygen.ops import support_table

    if dtype != "int8":   # the int8-only ops keep their own dtype checks: leave them out
        graph = _many_moves("int8")
        keep = [op for op in graph.ops if dtype in support_table()[op.type].dtypes]
        graph = _retyped(Graph(graph.tensors, tuple(keep), (0,),
                               tuple(t for op in keep for t in op.outputs), "0" * 64), dtype)
    else:
        graph = _many_moves("int8")
    gen = generate(compile_graph(graph), tmp_path)
    x = np.random.default_rng(3).integers(-1000, 1000, size=(3, 240)).astype(dtype)
    spec = [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
    ours = run_host(build_host(tmp_path, gen=gen), [x], spec)
    table = support_table()
    want: list[list[np.ndarray]] = []
    for row in x:
        xc = Tensor(0, "x", graph.tensor(0).shape, dtype, Q, row.reshape(graph.tensor(0).shape))
        per_op = []
        for op in graph.ops:
            ins = [xc if i == 0 else graph.tensor(i) for i in op.inputs]
            per_op += table[op.type].fold(op, ins, [graph.tensor(t) for t in op.outputs])
        want.append(per_op)
    for k, got in enumerate(ours):
        assert np.array_equal(got, np.stack([w[k].ravel() for w in want])), f"output {k}"
    _cross_compile(tmp_path)


def _retyped(graph: Graph, dtype: str) -> Graph:
    from dataclasses import replace

    def one(t: Tensor) -> Tensor:
        if not t.is_const:
            return replace(t, dtype=dtype)
        return replace(t, dtype=dtype, data=t.data.astype(dtype)) if t.dtype == "int8" else t
    return replace(graph, tensors=tuple(one(t) for t in graph.tensors))


CROSS = {"arm-none-eabi-gcc": ["-mcpu=cortex-m7", "-mthumb"],
         "arm-none-eabi-gcc(m0)": ["-mcpu=cortex-m0", "-mthumb"],
         "riscv64-unknown-elf-gcc": ["-march=rv32imc", "-mabi=ilp32", "-ffreestanding"]}


def _cross_compile(gen_dir: Path) -> None:
    for name, flags in CROSS.items():
        cc = name.split("(")[0]
        if shutil.which(cc) is None:
            pytest.skip(f"{cc} not installed")
        for src in sorted(gen_dir.glob("*.c")):
            if src.name.startswith("_"):
                continue
            res = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2",
                                  *flags, "-I", str(gen_dir), "-c", str(src), "-o",
                                  str(gen_dir / f"{src.stem}.{cc}.o")],
                                 capture_output=True, text=True, timeout=300)
            assert res.returncode == 0, f"{name} {src.name}:\n{res.stderr[:3000]}"
    # freestanding targets have no libc: the kernels must not turn loops into memcpy/memset calls
    nm = shutil.which("riscv64-unknown-elf-nm")
    for obj in sorted(gen_dir.glob("tg_*.riscv64-unknown-elf-gcc.o")) if nm else []:
        undefined = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True,
                                   timeout=60).stdout
        assert not {"memcpy", "memset", "memmove"} & set(undefined.split()), (obj.name, undefined)


# ---- real exports ----------------------------------------------------------------------------------

def _convert(tf, converter, rep) -> bytes:
    from tinygen.train.convert import convert_int8

    return convert_int8(tf, converter, rep)


def _ops(model: bytes) -> list[str]:
    from tinygen.importers.tflite import load_model

    return [op.type.value for op in load_model(model).ops]


def _exact(model: bytes, tmp_path, n: int = 8):
    from harness import check_bit_exact, random_inputs, tflm_arena
    from tinygen.codegen import compile_model

    inputs = random_inputs(compile_model(model), n, np.random.default_rng(11))
    ours, theirs, gen = check_bit_exact(model, inputs, tmp_path)
    assert int(np.count_nonzero(ours != theirs)) == 0
    assert gen.arena_bytes <= tflm_arena(model)["head"]
    return gen


@needs_tf
@pytest.mark.tf
@pytest.mark.host
def test_keras_dynamic_batch_folds_its_shape_arithmetic(tmp_path):
    """keras.Input without batch_size: Reshape/Flatten and tf.shape give SHAPE -> STRIDED_SLICE ->
    PACK / CONCATENATION -> RESHAPE chains; all of it is evaluated at compile time. (A GATHER of
    a shape folds too, tests/test_movement.py; TFLite-Micro cannot run one: no int32 GATHER.)"""
    from harness import quiet_tf
    from tinygen.codegen import compile_model

    tf = quiet_tf()
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 4))
    x = L.Conv1D(6, 3, padding="same", activation="relu")(inp)
    x = L.Reshape((8, 12))(x)
    x = L.Lambda(lambda t: tf.reshape(t, tf.concat([tf.shape(t)[:1], [4, 24]], 0)),
                 output_shape=(4, 24))(x)
    x = L.Lambda(lambda t: tf.transpose(t, [0, 2, 1]), output_shape=(24, 4))(x)
    x = L.Dense(5)(L.Flatten()(x))
    rep = np.random.default_rng(0).normal(size=(32, 16, 4)).astype(np.float32)
    model = _convert(tf, tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, x)), rep)
    shape_ops = {"SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION"}
    assert shape_ops <= set(_ops(model))
    compiled = [c.op.type.value for c in compile_model(model).ops]
    assert not shape_ops & set(compiled) and "TRANSPOSE" in compiled
    _exact(model, tmp_path)


@needs_tf
@pytest.mark.tf
@pytest.mark.host
def test_pytorch_style_nchw_model(tmp_path):
    """An NCHW network as PyTorch exports it: TRANSPOSE in, convolution, TRANSPOSE out."""
    from harness import quiet_tf

    tf = quiet_tf()
    w = tf.constant(np.random.default_rng(1).normal(size=(3, 3, 3, 8)).astype(np.float32))

    def fn(x):
        y = tf.nn.relu(tf.nn.conv2d(tf.transpose(x, [0, 2, 3, 1]), w, 1, "SAME"))
        return tf.reshape(tf.transpose(y, [0, 3, 1, 2])[:, :, ::2], (1, -1))

    module = tf.Module()
    module.f = tf.function(fn, input_signature=[tf.TensorSpec((1, 3, 10, 12), tf.float32)])
    conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
    rep = np.random.default_rng(0).uniform(-1, 1, size=(32, 3, 10, 12)).astype(np.float32)
    model = _convert(tf, conv, rep)
    ops = _ops(model)
    assert ops[0] == "TRANSPOSE" and ops.count("TRANSPOSE") == 2
    _exact(model, tmp_path)


@needs_tf
@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/corpus not present")
@pytest.mark.tf
@pytest.mark.host
def test_mobilenet_v2_pytorch_export(tmp_path):
    """The corpus MobileNet v2 (PyTorch export, NCHW input, 3.5 MB of weights): one plain build
    (its ASan build takes minutes), two images, byte for byte with TFLite-Micro."""
    from harness import as_bytes, build_host, random_inputs, run_host, tflm_arena, tflm_run
    from tinygen.codegen import generate

    model = (EXAMPLES / "mobilenet_v2_quantized_1x3x224x224.tflite").read_bytes()
    gen = generate(model, tmp_path)
    first = gen.compiled.ops[0]
    assert first.op.type == OpType.TRANSPOSE
    move = first.lowered.params["moves"][0]      # NCHW -> NHWC: 3 planes of 224 x 224, merged
    assert move["count"][-2:] == [224 * 224, 3] and move["run"] == 1
    inputs = random_inputs(gen, 2, np.random.default_rng(5))
    spec = [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
    ours = as_bytes(run_host(build_host(tmp_path, sanitize=False, gen=gen), inputs, spec))
    assert int(np.count_nonzero(ours != as_bytes(tflm_run(model, inputs)))) == 0
    assert gen.arena_bytes <= tflm_arena(model)["head"]


def _patched_slice(model: bytes, masks: dict, begin, end, strides, out_shape) -> bytes:
    """The one STRIDED_SLICE of `model` given new masks, begin/end/strides and output shape."""
    from test_ops_table import _pack_model
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    g = m.subgraphs[0]
    op = g.operators[0]
    for key, value in masks.items():
        setattr(op.builtinOptions, key, value)
    for k, values in ((1, begin), (2, end), (3, strides)):
        t = g.tensors[op.inputs[k]]
        t.shape = [len(values)]
        m.buffers[t.buffer].data = np.array(values, dtype=np.int32).view(np.uint8)
    out = g.tensors[op.outputs[0]]
    out.shape, out.shapeSignature = list(out_shape), None
    return _pack_model(m)


@needs_tf
@pytest.mark.tf
@pytest.mark.host
def test_ellipsis_and_new_axis_masks_follow_tflite(tmp_path):
    """Masks the converter never writes and TFLite-Micro refuses (its Prepare zeroes them):
    tinygen follows TFLite's reference kernel, which implements TensorFlow's definition."""
    from harness import as_bytes, build_host, quiet_tf, run_host
    from test_ops_table import convert_fn, rep_data, tflite_reference
    from tflite_micro import runtime
    from tinygen.codegen import generate

    tf = quiet_tf()
    base = convert_fn(lambda x: x[..., 1:3], (4, 5, 6), rep_data((4, 5, 6)))
    x = np.random.default_rng(2).integers(-128, 128, size=(4, 120)).astype(np.int8)
    cases = [  # x[:, None, 1:3] (implicit ellipsis after), x[0, ..., ::2], x[..., None, 2]
        (dict(beginMask=1, endMask=1, newAxisMask=2), [0, 0, 1], [0, 0, 3], [1, 1, 1], (1, 1, 2, 5, 6)),
        (dict(ellipsisMask=2, shrinkAxisMask=1, endMask=4), [0, 0, 0], [1, 0, 0], [1, 1, 2], (4, 5, 3)),
        (dict(ellipsisMask=1, newAxisMask=2, shrinkAxisMask=4), [0, 0, 2], [0, 0, 3], [1, 1, 1], (1, 4, 5, 1)),
    ]
    for k, (masks, begin, end, strides, shape) in enumerate(cases):
        model = _patched_slice(base, masks, begin, end, strides, shape)
        with pytest.raises(RuntimeError):
            runtime.Interpreter.from_bytes(model, arena_size=1 << 16)
        gen = generate(model, tmp_path / str(k))
        spec = [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
        ours = as_bytes(run_host(build_host(tmp_path / str(k), gen=gen), [x], spec))
        assert np.array_equal(ours, as_bytes(tflite_reference(model, [x]))), masks


@pytest.mark.host
def test_gather_from_a_table_in_flash_checks_positions(tmp_path):
    """An embedding lookup: int32 positions computed at run time pick rows of a constant int8
    table read from flash; a position outside the table fails the call, as in TFLite-Micro."""
    from harness import build_host, run_host
    from tinygen.codegen import compile_graph, generate

    table = np.arange(-40, 40, 4, dtype=np.int8).reshape(5, 4)
    table.setflags(write=False)
    tensors = (Tensor(0, "pos", (2, 3), "int32"), Tensor(1, "table", (5, 4), "int8", Q, table),
               Tensor(2, "rows", (2, 3, 4), "int8", Q))
    graph = Graph(tensors, (Op(0, OpType.GATHER, (1, 0), (2,), GatherAttrs(0, 0)),), (0,), (2,),
                  "0" * 64)
    gen = generate(compile_graph(graph), tmp_path)
    assert gen.compiled.kernels == ["tg_gather"] and gen.weight_bytes == 20
    exe = build_host(tmp_path, gen=gen)
    pos = np.random.default_rng(4).integers(0, 5, size=(5, 6)).astype(np.int32)
    got = run_host(exe, [pos], [(24, np.dtype("int8"))])[0]
    assert np.array_equal(got, table[pos].reshape(5, 24))
    with pytest.raises(AssertionError, match="exited 3"):
        run_host(exe, [np.array([[0, 1, 5, 2, 0, 0]], dtype=np.int32)], [(24, np.dtype("int8"))])
