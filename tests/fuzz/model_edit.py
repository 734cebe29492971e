"""Edit a .tflite model through the flatbuffer object API (TFLite-Micro's own schema module).

The regression tests build each hostile reproducer from a real model with a few readable lines,
and the mutator makes its targeted field edits the same way: unpack once, clone, change fields
(absent ones included), pack.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Union

import numpy as np


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def unpack(source: Union[bytes, str, Path]):
    buf = source if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    return schema().ModelT.InitFromPackedBuf(bytes(buf), 0)


def pack(model) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def clone(model):
    """A copy whose subgraphs, operator codes and metadata may be edited freely; buffers (the
    weights, large) are shared: replace a BufferT in the copy's list instead of editing it."""
    out = copy.copy(model)
    out.subgraphs = copy.deepcopy(model.subgraphs)
    out.operatorCodes = copy.deepcopy(model.operatorCodes)
    out.buffers = list(model.buffers) if model.buffers is not None else None
    return out


def tensor(model, index: int):
    return model.subgraphs[0].tensors[index]


def operator(model, index: int):
    return model.subgraphs[0].operators[index]


def indices(values) -> np.ndarray:
    return np.array(list(values), dtype=np.int32)


def set_quant(model, index: int, scale=None, zero_point=None, axis=None) -> None:
    """Replace a tensor's scales / zero points / quantized axis (lists of any length)."""
    q = tensor(model, index).quantization
    if q is None:
        q = tensor(model, index).quantization = schema().QuantizationParametersT()
    if scale is not None:
        q.scale = np.array(list(scale), dtype=np.float32)
    if zero_point is not None:
        q.zeroPoint = np.array(list(zero_point), dtype=np.int64)
    if axis is not None:
        q.quantizedDimension = axis
