"""The only module that reads the TFLite flatbuffer: bytes in, `ir.Graph` out.

A model file is untrusted input. Every structural problem — wrong magic, truncation, offsets
pointing outside the file, several subgraphs, float or dynamic tensors, unknown ops — ends in a
one-line `ModelError` / `UnsupportedModel` / `UnsupportedOp`, never a traceback.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Union

import numpy as np

from ..checks import check_graph
from ..errors import ModelError, UnsupportedModel, UnsupportedOp
from ..ir import (printable, Activation, ActivationAttrs, ConcatAttrs, ConvAttrs, FullyConnectedAttrs, Graph,
                  MeanAttrs, NoAttrs, Op, OpType, Padding, PoolAttrs, Quant, SoftmaxAttrs, Tensor)

MAX_MODEL_BYTES = 64 << 20  # far above anything a microcontroller holds; refuses absurd inputs early

# TFLite TensorType enum -> numpy dtype name (the ones a quantized model may contain).
_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16",
           9: "int8", 10: "float64"}

_ACTIVATIONS = {0: Activation.NONE, 1: Activation.RELU, 2: Activation.RELU_N1_TO_1,
                3: Activation.RELU6}
_PADDINGS = {0: Padding.SAME, 1: Padding.VALID}


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


def _tensor(model, sg, index: int, buf: bytes) -> Tensor:
    t = sg.Tensors(index)
    type_code = t.Type()
    dtype = _DTYPES.get(type_code, f"type{type_code}")
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    signature = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else ()
    name = (t.Name() or b"").decode("utf-8", "replace")
    if any(d < 0 for d in shape + signature):
        raise UnsupportedModel(f"tensor {index} has a dynamic shape {signature or shape}; build "
                               "the Keras model with a fixed batch (keras.Input(..., batch_size=1))")

    quant = None
    q = t.Quantization()
    if q is not None and q.ScaleLength() > 0 and q.ZeroPointLength() > 0:  # as TFLite-Micro reads it
        scales = tuple(float(s) for s in q.ScaleAsNumpy())
        zps = tuple(int(z) for z in q.ZeroPointAsNumpy())
        quant = Quant(scale=scales, zero_point=zps, axis=int(q.QuantizedDimension()))

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
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=data)


def _op(model, op, index: int, names: dict[int, str], tensors: tuple[Tensor, ...]) -> Op:
    import tflite

    n_tensors = len(tensors)
    if not 0 <= op.OpcodeIndex() < model.OperatorCodesLength():
        raise ModelError(f"op {index} refers to operator code {op.OpcodeIndex()}, which does not exist")
    oc = model.OperatorCodes(op.OpcodeIndex())
    code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
    name = names.get(code, f"builtin {code}")
    if name == "CUSTOM":
        custom = (oc.CustomCode() or b"?").decode("utf-8", "replace")
        name = f"CUSTOM '{custom[:40]}'"
    try:
        op_type = OpType[name]
    except KeyError:
        from ..ops import supported_op_types

        outs = op.OutputsAsNumpy() if op.OutputsLength() else []
        layer = printable(tensors[int(outs[0])].name.split(";")[0]) if len(outs) and \
            0 <= int(outs[0]) < n_tensors else ""
        where = f" [layer '{layer}']" if layer else ""
        raise UnsupportedOp(f"op {index} ({name}){where}: not supported by tinygen; supported ops: "
                            f"{', '.join(supported_op_types())}. Rewrite that layer with "
                            "supported ops or run it outside the network") from None

    inputs = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
    outputs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
    for t in inputs + outputs:
        if t >= n_tensors or t < -1:
            raise ModelError(f"op {index} ({name}) refers to tensor {t}, which does not exist")

    table = op.BuiltinOptions()
    attrs = NoAttrs()

    def options(cls):
        o = cls()
        if table is None:
            raise ModelError(f"op {index} ({name}) has no options table; the file is corrupt")
        o.Init(table.Bytes, table.Pos)
        return o

    def act(code_: int) -> Activation:
        if code_ not in _ACTIVATIONS:
            raise UnsupportedOp(f"op {index} ({name}): fused activation code {code_} is not "
                                "supported (only NONE, RELU, RELU6, RELU_N1_TO_1)")
        return _ACTIVATIONS[code_]

    def pad(code_: int) -> Padding:
        if code_ not in _PADDINGS:
            raise ModelError(f"op {index} ({name}): unknown padding code {code_}")
        return _PADDINGS[code_]

    if op_type == OpType.CONV_2D:
        o = options(tflite.Conv2DOptions)
        attrs = ConvAttrs(o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor(),
                          pad(o.Padding()), act(o.FusedActivationFunction()))
    elif op_type == OpType.DEPTHWISE_CONV_2D:
        o = options(tflite.DepthwiseConv2DOptions)
        attrs = ConvAttrs(o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor(),
                          pad(o.Padding()), act(o.FusedActivationFunction()), o.DepthMultiplier())
    elif op_type in (OpType.MAX_POOL_2D, OpType.AVERAGE_POOL_2D):
        o = options(tflite.Pool2DOptions)
        attrs = PoolAttrs(o.FilterHeight(), o.FilterWidth(), o.StrideH(), o.StrideW(),
                          pad(o.Padding()), act(o.FusedActivationFunction()))
    elif op_type == OpType.FULLY_CONNECTED:
        o = options(tflite.FullyConnectedOptions)
        if o.WeightsFormat() != 0:
            raise UnsupportedOp(f"op {index} ({name}): shuffled weights format is not supported; "
                                "convert with the default weights format")
        attrs = FullyConnectedAttrs(act(o.FusedActivationFunction()), bool(o.KeepNumDims()))
    elif op_type in (OpType.ADD, OpType.MUL):
        cls = tflite.AddOptions if op_type == OpType.ADD else tflite.MulOptions
        attrs = ActivationAttrs(act(options(cls).FusedActivationFunction()) if table else Activation.NONE)
    elif op_type == OpType.SOFTMAX:
        attrs = SoftmaxAttrs(float(options(tflite.SoftmaxOptions).Beta()))
    elif op_type == OpType.CONCATENATION:
        o = options(tflite.ConcatenationOptions)
        attrs = ConcatAttrs(int(o.Axis()), act(o.FusedActivationFunction()))
    elif op_type == OpType.MEAN:
        attrs = MeanAttrs(bool(options(tflite.ReducerOptions).KeepDims()) if table else False)
    return Op(index=index, type=op_type, inputs=inputs, outputs=outputs, attrs=attrs)


def _check_graph(graph: Graph) -> None:
    """Whole-model checks that give a better message than any single op could."""
    for idx in graph.inputs + graph.outputs:
        t = graph.tensor(idx)
        if t.dtype != "int8":
            which = "input" if idx in graph.inputs else "output"
            raise UnsupportedModel(
                f"model {which} tensor {idx} is {t.dtype}; tinygen compiles full-integer int8 models: "
                "convert with optimizations=[DEFAULT], a representative_dataset, "
                "supported_ops=[TFLITE_BUILTINS_INT8], inference_input_type=inference_output_type=tf.int8")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedModel(f"model has {len(graph.inputs)} inputs and {len(graph.outputs)} "
                               "outputs; tinygen compiles single-input, single-output models")
    produced = set(graph.inputs)
    for op in graph.ops:
        for i in op.inputs:
            if i >= 0 and not graph.tensor(i).is_const and i not in produced:
                raise UnsupportedModel(f"op {op.index} ({op.type.value}) reads tensor {i} before "
                                       "any op writes it; the graph is not in execution order")
        produced.update(op.outputs)
    for op in graph.ops:
        for t in graph.op_outputs(op):
            if t.dtype != "int8":
                raise UnsupportedOp(f"op {op.index} ({op.type.value}): output tensor {t.index} is "
                                    f"{t.dtype}; only int8 activations are supported — quantize "
                                    "the whole model to int8")
