"""The only module that reads the TFLite flatbuffer: bytes in, `ir.Graph` out.

A model file is untrusted input. Every structural problem — wrong magic, truncation, offsets
pointing outside the file, several subgraphs, dynamic tensors, a float model — ends in a one-line
`ModelError` / `UnsupportedModel`, never a traceback. Ops tinygen has no name for become
`OpType.UNKNOWN` and are refused at lowering together with every other op it cannot compile,
so the user sees all of them at once. Op options are read by tflite_options.py.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Union

import numpy as np

from ..checks import check_graph
from ..errors import ModelError, UnsupportedModel, UnsupportedOp
from ..ir import Graph, Op, OpType, Quant, Tensor, UnknownAttrs, printable
from .tflite_options import parse_attrs

MAX_MODEL_BYTES = 64 << 20  # far above anything a microcontroller holds; refuses absurd inputs early

# TFLite TensorType enum -> numpy dtype name (the ones a quantized model may contain).
_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16",
           8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64", 15: "uint32",
           16: "uint16"}

# Ops that may read or write float32 activations in a quantized model: the QUANTIZE that takes a
# float input and the DEQUANTIZE that gives a float output (typed model I/O, as TFLite-Micro runs it).
_FLOAT_EDGE_OPS = {OpType.QUANTIZE, OpType.DEQUANTIZE}
# Ops that only move float32 bytes between a DEQUANTIZE and a QUANTIZE (ops/split.py says where
# the converter writes them): no float arithmetic, so not a float model.
_FLOAT_MOVE_OPS = {OpType.SPLIT, OpType.SPLIT_V, OpType.UNPACK}


def _builtin_names() -> dict[int, str]:
    import tflite

    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}


def load_model(source: Union[str, Path, bytes]) -> Graph:
    """Read a .tflite file (path or bytes) into a Graph, or raise a one-line ModelError."""
    if isinstance(source, (bytes, bytearray)):
        buf, label = bytes(source), "model"
    else:
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise ModelError(f"{label}: no such model file; pass the path of a .tflite file")
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelError(f"{label}: {size} bytes is far too large for a microcontroller model")
        try:
            buf = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{label}: cannot read the model file ({exc.strerror})") from None
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{label}: not a TFLite flatbuffer (missing 'TFL3' identifier); "
                         "export the model with tf.lite.TFLiteConverter")
    try:
        graph = _parse(buf)
    except (ModelError, UnsupportedModel):
        raise
    except Exception as exc:  # flatbuffers raises anything from IndexError to struct.error
        raise ModelError(f"{label}: corrupt or truncated TFLite file ({type(exc).__module__}."
                         f"{type(exc).__name__} while reading the flatbuffer); "
                         "re-export the model") from None
    return check_graph(graph)  # tinygen/checks.py: every index, scale, zero point, shape, arity


def _parse(buf: bytes) -> Graph:
    import tflite

    model = tflite.Model.GetRootAsModel(buf, 0)
    if model.SubgraphsLength() != 1:
        raise UnsupportedModel(f"model has {model.SubgraphsLength()} subgraphs; tinygen compiles "
                               "single-subgraph models (no control flow ops)")
    sg = model.Subgraphs(0)
    names = _builtin_names()

    tensors = tuple(_tensor(model, sg, i, buf) for i in range(sg.TensorsLength()))
    ops = []
    for i in range(sg.OperatorsLength()):
        ops.append(_op(model, sg.Operators(i), i, names, tensors))

    inputs = tuple(int(x) for x in sg.InputsAsNumpy()) if sg.InputsLength() else ()
    outputs = tuple(int(x) for x in sg.OutputsAsNumpy()) if sg.OutputsLength() else ()
    for idx in inputs + outputs:
        if not 0 <= idx < len(tensors):
            raise ModelError(f"model input/output refers to tensor {idx}, which does not exist")
    graph = Graph(tensors=tensors, ops=tuple(ops), inputs=inputs, outputs=outputs,
                  sha256=hashlib.sha256(buf).hexdigest(),
                  description=(model.Description() or b"").decode("utf-8", "replace"))
    _check_graph(graph)
    return graph


def _static_shape(index: int, name: str, shape: tuple[int, ...], signature: tuple[int, ...]
                  ) -> tuple[int, ...]:
    """The shape tinygen compiles. A -1 batch in the signature with 1 in `shape` is what every
    Keras export without batch_size=1 has (TensorFlow documents `shape` holding 1 there):
    compiled as batch 1, as TFLite-Micro runs it. Any other dynamic dimension is refused."""
    if any(d < 0 for d in shape):
        raise ModelError(f"tensor {index} ('{printable(name, 40)}') has a negative dimension in "
                         f"{shape}; the file is corrupt")
    dynamic = [k for k, d in enumerate(signature) if d < 0]
    batch_only = dynamic == [0] and len(shape) == len(signature) and shape[:1] == (1,)
    if dynamic and not batch_only:
        raise UnsupportedModel(
            f"tensor {index} ('{printable(name, 40)}') has dynamic dimensions {signature}; tinygen "
            "compiles static shapes (only a dynamic batch of 1 is accepted): fix the input shape "
            "before converting, e.g. keras.Input(shape, batch_size=1)")
    return shape


def _tensor(model, sg, index: int, buf: bytes) -> Tensor:
    t = sg.Tensors(index)
    type_code = t.Type()
    dtype = _DTYPES.get(type_code, f"type{type_code}")
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    signature = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else ()
    name = (t.Name() or b"").decode("utf-8", "replace")
    shape = _static_shape(index, name, shape, signature)

    quant = _quant(shape, t.Quantization())

    data = None
    b = t.Buffer()
    if b >= model.BuffersLength():  # TFLite-Micro reads past its buffer table (a crash)
        raise ModelError(f"tensor {index} refers to buffer {b}, which does not exist; the file "
                         "is corrupt")
    if 0 < b < model.BuffersLength():
        buffer = model.Buffers(b)
        raw = None
        if buffer.DataLength() > 0:
            raw = buffer.DataAsNumpy().tobytes()
        elif buffer.Offset() > 1:  # large-model layout: data appended after the flatbuffer
            start, size = int(buffer.Offset()), int(buffer.Size())
            if start + size > len(buf):
                raise ModelError(f"tensor {index}: buffer lies outside the file (truncated?)")
            raw = buf[start:start + size]
        if raw is not None:
            if dtype not in _DTYPES.values():
                raise UnsupportedModel(f"tensor {index} has unsupported type code {type_code}")
            expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            if len(raw) != expected:
                raise ModelError(f"tensor {index}: buffer holds {len(raw)} bytes, shape {shape} "
                                 f"needs {expected}; the file is corrupt")
            data = np.frombuffer(raw, dtype=dtype).reshape(shape)
            data.setflags(write=False)
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=data,
                  is_variable=bool(t.IsVariable()))


def _quant(shape: tuple[int, ...], q) -> Quant | None:
    """The tensor's quantization as TFLite-Micro reads it: none unless it has both scales and zero
    points. Whether the values make sense is tinygen/checks.py's job (it sees which tensors are
    used, and how)."""
    if q is None or q.ScaleLength() == 0 or q.ZeroPointLength() == 0:
        return None
    scales = tuple(float(s) for s in q.ScaleAsNumpy())
    axis = int(q.QuantizedDimension())
    if len(shape) == 1 and len(scales) == shape[0]:
        axis = 0    # a per-channel bias: converters may keep the filter's axis (person_detect: 3)
    return Quant(scale=scales, zero_point=tuple(int(z) for z in q.ZeroPointAsNumpy()), axis=axis)


def _op(model, op, index: int, names: dict[int, str], tensors: tuple[Tensor, ...]) -> Op:
    n_tensors = len(tensors)
    if not 0 <= op.OpcodeIndex() < model.OperatorCodesLength():
        raise ModelError(f"op {index} refers to operator code {op.OpcodeIndex()}, which does not exist")
    oc = model.OperatorCodes(op.OpcodeIndex())
    code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
    name = names.get(code, f"builtin {code}")
    if name == "CUSTOM":
        custom = (oc.CustomCode() or b"?").decode("utf-8", "replace")
        name = f"CUSTOM '{printable(custom, 40)}'"

    inputs = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
    outputs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
    for t in inputs:
        if t >= n_tensors or t < -1:
            raise ModelError(f"op {index} ({name}) refers to tensor {t}, which does not exist")
    for t in outputs:
        if not 0 <= t < n_tensors:
            raise ModelError(f"op {index} ({name}) writes tensor {t}, which does not exist")

    if name not in OpType.__members__ or name == "UNKNOWN":
        return Op(index=index, type=OpType.UNKNOWN, inputs=inputs, outputs=outputs,
                  attrs=UnknownAttrs(name))
    op_type = OpType[name]
    attrs = parse_attrs(op_type, op.BuiltinOptions(), index, name)
    return Op(index=index, type=op_type, inputs=inputs, outputs=outputs, attrs=attrs)


def _check_graph(graph: Graph) -> None:
    """Whole-model checks that give a better message than any single op could."""
    _check_not_float(graph)
    produced = set(graph.inputs)
    for op in graph.ops:
        for i in op.inputs:
            t = graph.tensor(i) if i >= 0 else None
            if t is not None and not t.is_const and not t.is_variable and i not in produced:
                raise UnsupportedModel(f"op {op.index} ({op.name}) reads tensor {i} before "
                                       "any op writes it; the graph is not in execution order")
        produced.update(op.outputs)


def _check_not_float(graph: Graph) -> None:
    """A float model (or a float op inside a quantized one) is refused in one line. Float is
    allowed only at the edges: a QUANTIZE reading a float model input, a DEQUANTIZE writing a
    float model output (TFLite's inference_input_type / inference_output_type = float32)."""
    float_ops = []
    for op in graph.ops:
        if op.type in _FLOAT_EDGE_OPS or op.type in _FLOAT_MOVE_OPS:
            continue
        tensors = [graph.tensor(i) for i in op.inputs + op.outputs if i >= 0]
        if any(t.dtype in ("float32", "float16", "float64") and not t.is_const for t in tensors):
            float_ops.append(op)
    if not float_ops:
        return
    names = sorted({op.name for op in float_ops})
    where = "the whole model computes" if len(float_ops) == len(graph.ops) else \
        f"{len(float_ops)} of {len(graph.ops)} ops compute"
    raise UnsupportedModel(
        f"{where} in floating point ({', '.join(names)}, first at op {float_ops[0].index}); "
        "tinygen compiles quantized models: convert with full-integer quantization "
        "(optimizations=[tf.lite.Optimize.DEFAULT], a representative_dataset, "
        "supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8]); float32 model input and output "
        "are fine (inference_input_type / inference_output_type)")
