"""Edits of real .tflite files for tests: keep a contiguous run of a model's ops (a sub-model with
the same kernels and quantization) and re-draw constant weights, through TensorFlow's own
flatbuffer object API (tensorflow.lite.python.schema_py_generated). Used to test recurrent ops
on the corpus models beyond their one set of weights, and one op of a model whose neighbours
belong to another kernel family."""
from __future__ import annotations

import numpy as np


def _schema():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tensorflow.lite.python import schema_py_generated as schema

    return schema


def _load(model: bytes):
    schema = _schema()
    return schema, schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))


def _pack(schema, m) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def slice_ops(model: bytes, first: int, last: int) -> bytes:
    """The sub-model running ops first..last (inclusive): its input is op `first`'s input 0,
    its output op `last`'s output 0."""
    schema, m = _load(model)
    sg = m.subgraphs[0]
    ops = sg.operators[first:last + 1]
    sg.operators = ops
    sg.inputs = np.array([ops[0].inputs[0]], dtype=np.int32)
    sg.outputs = np.array([ops[-1].outputs[0]], dtype=np.int32)
    m.signatureDefs = None
    return _pack(schema, m)


def redraw_weights(model: bytes, rng: np.random.Generator, dtypes=("int8",)) -> bytes:
    """Every constant tensor of the given types gets new uniform random values of its type
    (quantization unchanged): the same graph with other weights."""
    schema, m = _load(model)
    names = {v: k for k, v in schema.TensorType.__dict__.items() if not k.startswith("_")}
    sg = m.subgraphs[0]
    for t in sg.tensors:
        buf = m.buffers[t.buffer] if t.buffer < len(m.buffers) else None
        kind = names.get(t.type, "").lower()
        if buf is None or buf.data is None or len(buf.data) == 0 or kind not in dtypes:
            continue
        info = np.iinfo(np.dtype(kind))
        lo = -info.max if kind == "int8" else info.min // 4
        hi = info.max if kind == "int8" else info.max // 4
        vals = rng.integers(lo, hi + 1, size=len(buf.data) // np.dtype(kind).itemsize)
        buf.data = np.frombuffer(vals.astype(kind).tobytes(), dtype=np.uint8)
    return _pack(schema, m)
