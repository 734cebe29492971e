"""One validation pass over the IR, between the importer and the op plugins.

A model file is untrusted input. The importer proves that the flatbuffer can be read; this module
proves that what it says is safe to compile, so that no op plugin, the planner or a template ever
meets a NaN scale, a zero point its type cannot hold, an index of -1 where a tensor is needed, or
an op with fewer inputs than its kernel reads. In order:

check_graph, called once by the importer on every model:
1. Graph inputs and outputs: at least one of each, distinct activation tensors; every output
   written by some op (or itself an input).
2. Ops: every output names a tensor, written by exactly one op, never a constant or a graph input.
3. Every tensor the graph or an op with a plugin uses: a known dtype, rank <= MAX_RANK, activations with at least
   one element and at most MAX_TENSOR_BYTES; quantization: each scale finite and positive, zero
   points inside the type, one zero point or one per scale (TFLite-Micro reads the first for all),
   several scales only on constants and exactly as many as the quantized axis has entries (a
   rank-1 bias given its filter's axis 3, as the converter writes it, counts its elements).
check_ops, called by ops.lower on each op after constant folding (tinygen/fold.py evaluates ops
whose inputs are all constants, whatever their ports say):
4. The op against the ports its plugin declares (OpSupport.inputs / .outputs, ops/base.py): how
   many inputs and outputs, which are constants, their dtypes, and whether the kernel needs their
   quantization (int8, uint8 and int16 tensors; int32, int64, float32 and bool carry none).

Why refuse rather than compute what TFLite-Micro computes: for these values its arithmetic is
undefined (NaN or inf turned into integers, a softmax with a negative shift aborts) or outside the
TFLite quantization spec (an int8 zero point of 300 makes the clamp bounds cross). Measured case by
case in tests/test_hostile_models.py.

Failures are one line naming the tensor or op (and the Keras layer): ModelError when the file
contradicts itself or the TFLite format, UnsupportedModel / UnsupportedOp when it is well formed
but outside what tinygen compiles. Tensors nothing uses are not checked: they never reach the C.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from .errors import ModelError, UnsupportedModel, UnsupportedOp
from .ir import Graph, Op, Tensor, printable
from .ops.base import OpSupport, Port

MAX_RANK = 6                 # TFLite's RuntimeShape keeps up to 6 dimensions inline; kernels fewer
MAX_TENSOR_BYTES = 1 << 26   # 64 MiB: far above any microcontroller's RAM, and every index fits int32

INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-(1 << 15), (1 << 15) - 1),
              "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}

# Types whose values TFLite's kernels take as they are (shape vectors, indices, int32 data moved
# or compared, float32): a port that allows one of them needs no quantization there. A plugin
# that does read an int32 scale (QUANTIZE to int32) checks it in lower().
UNQUANTIZED = frozenset({"int32", "int64", "float32", "bool"})

CORRUPT = "the file is corrupt or was not written by the TFLite converter; re-export the model"


def check_graph(graph: Graph) -> Graph:
    """Raise a one-line TinygenError for anything unsafe to compile; return the graph unchanged."""
    _check_io(graph)
    _check_writers(graph)
    for index in sorted(_used(graph)):
        check_tensor(graph, graph.tensors[index])
    return graph


# ---- names in messages ---------------------------------------------------------------------

def op_where(graph: Graph, op: Op) -> str:
    """' [layer 'x']' for the Keras layer the op came from, or '' (safe on any output list)."""
    if op.outputs and 0 <= op.outputs[0] < len(graph.tensors):
        layer = printable(graph.tensors[op.outputs[0]].name.split(";")[0])
        if layer:
            return f" [layer '{layer}']"
    return ""


def _op_error(cls, graph: Graph, op: Op, what: str, fix: str):
    return cls(f"op {op.index} ({op.name}): {what}; {fix}{op_where(graph, op)}")


def _tensor_label(t: Tensor) -> str:
    name = printable(t.name, 50)
    return f"tensor {t.index} '{name}'" if name else f"tensor {t.index}"


# ---- 1, 2: graph structure ---------------------------------------------------------------------

def _used(graph: Graph) -> set[int]:
    """The model's inputs and outputs, and every tensor of an op tinygen has a plugin for. The
    other ops are refused at lowering, all of them in one message: their tensors (a custom op's
    uint64, say) must not preempt that message."""
    from .ops import registry

    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.ops:
        if op.type in registry():
            used.update(i for i in op.inputs + op.outputs if 0 <= i < len(graph.tensors))
    return used


def _check_io(graph: Graph) -> None:
    n = len(graph.tensors)
    for which, indices in (("inputs", graph.inputs), ("outputs", graph.outputs)):
        if not indices:   # nothing to feed or nothing to read: generate and analyze assume both
            raise ModelError(f"model has no {which}; {CORRUPT}")
    for which, indices in (("input", graph.inputs), ("output", graph.outputs)):
        for idx in indices:
            if not 0 <= idx < n:
                raise ModelError(f"model {which} refers to tensor {idx}, which does not exist; {CORRUPT}")
            t = graph.tensors[idx]
            if t.is_const or t.is_variable:
                kind = "a constant" if t.is_const else "a variable (state) tensor"
                raise ModelError(f"model {which} {_tensor_label(t)} is {kind}; {CORRUPT}")
        if len(set(indices)) != len(indices):
            raise ModelError(f"model lists the same tensor twice among its {which}s {list(indices)}; "
                             f"{CORRUPT}")


def _check_writers(graph: Graph) -> None:
    n = len(graph.tensors)
    writer: dict[int, int] = {}
    for op in graph.ops:
        if not op.outputs:
            raise _op_error(ModelError, graph, op, "has no outputs", CORRUPT)
        for idx in op.inputs:
            if not -1 <= idx < n:
                raise _op_error(ModelError, graph, op, f"reads tensor {idx}, which does not exist",
                                CORRUPT)
        for k, idx in enumerate(op.outputs):
            if not 0 <= idx < n:
                what = "is absent (-1)" if idx == -1 else f"is tensor {idx}, which does not exist"
                raise _op_error(ModelError, graph, op, f"output {k} {what}", CORRUPT)
            t = graph.tensors[idx]
            if t.is_const or t.is_variable:
                kind = "constant" if t.is_const else "variable (state)"
                raise _op_error(ModelError, graph, op, f"writes the {kind} {_tensor_label(t)} as "
                                "an output", CORRUPT)
            if idx in graph.inputs:
                raise _op_error(ModelError, graph, op, f"writes the model input {_tensor_label(t)}",
                                CORRUPT)
            if idx in writer:
                raise _op_error(ModelError, graph, op, f"writes {_tensor_label(t)}, which op "
                                f"{writer[idx]} already writes", CORRUPT)
            writer[idx] = op.index
    for idx in graph.outputs:
        if idx not in writer and idx not in graph.inputs:
            raise ModelError(f"model output {_tensor_label(graph.tensors[idx])} is written by no "
                             f"op; {CORRUPT}")


# ---- 3: tensors ------------------------------------------------------------------------------------

def check_tensor(graph: Graph, t: Tensor) -> None:
    label = _tensor_label(t)
    try:
        itemsize = np.dtype(t.dtype).itemsize
    except TypeError:
        raise UnsupportedModel(f"{label} has type {printable(t.dtype)}, which tinygen does not "
                               "know; convert the model to int8") from None
    if len(t.shape) > MAX_RANK:
        raise UnsupportedModel(f"{label} has {len(t.shape)} dimensions {t.shape}; tinygen "
                               f"compiles tensors of at most {MAX_RANK}")
    if any(d < 0 for d in t.shape):
        raise ModelError(f"{label} has a negative dimension {t.shape}; {CORRUPT}")
    if t.is_variable and t.is_const:
        raise ModelError(f"{label} is a variable (state) tensor with constant data; {CORRUPT}")
    if not t.is_const:
        if t.size == 0:
            raise UnsupportedModel(f"{label} has no elements (shape {t.shape}); tinygen compiles "
                                   "activations of at least one element")
        if t.size * itemsize > MAX_TENSOR_BYTES:
            raise UnsupportedModel(f"{label} of shape {t.shape} needs {t.size * itemsize:,} bytes, "
                                   f"more than {MAX_TENSOR_BYTES:,}: far beyond any "
                                   "microcontroller's RAM")
    if t.quant is not None:
        _check_quant(t, label)


def _check_quant(t: Tensor, label: str) -> None:
    q = t.quant
    scales, zps = q.scale, q.zero_point
    if len(zps) not in (1, len(scales)):
        raise ModelError(f"{label} has {len(scales)} scales but {len(zps)} zero points; {CORRUPT}")
    for c, s in enumerate(scales):
        if not (math.isfinite(s) and s > 0):
            at = f" (channel {c})" if len(scales) > 1 else ""
            raise ModelError(f"{label} has scale {s!r}{at}; a scale must be finite and positive; "
                             f"{CORRUPT}")
    lo, hi = INT_RANGES.get(t.dtype, (None, None))
    if lo is not None:
        for z in zps:
            if not lo <= z <= hi:
                raise ModelError(f"{label} has zero point {z}, outside {t.dtype}'s range "
                                 f"[{lo}, {hi}]; {CORRUPT}")
    if len(scales) > 1:
        _check_per_channel(t, label, len(scales), q.axis)


def _check_per_channel(t: Tensor, label: str, count: int, axis: int) -> None:
    if not t.is_const:
        raise ModelError(f"{label} is an activation with {count} scales; activations have one "
                         f"scale (per-tensor quantization); {CORRUPT}")
    if axis < 0:
        raise ModelError(f"{label} has quantized dimension {axis}; {CORRUPT}")
    # The converter gives a depthwise bias (rank 1) its filter's axis 3: then count the elements.
    extent = t.shape[axis] if axis < len(t.shape) else t.size
    if extent != count:
        raise ModelError(f"{label} of shape {t.shape} has {count} scales along dimension {axis}, "
                         f"which has {extent} entries; {CORRUPT}")


# ---- 4: the ports each plugin declares --------------------------------------------------------------

def check_ops(graph: Graph, op: Op, support: OpSupport) -> None:
    """Refuse `op` in one line unless its tensors fit the ports of `support` (its plugin's
    declaration); a plugin that declares no inputs gets no check here."""
    if support.inputs is None:
        return
    _check_ports(graph, op, support, "input", op.inputs, support.inputs, support.repeat_inputs)
    _check_ports(graph, op, support, "output", op.outputs, support.outputs, support.repeat_outputs)


def check_arity(graph: Graph, op: Op, support: OpSupport) -> None:
    """Only the counts and the required tensors of check_ops: what a plugin's compile-time fold
    needs before it may index its inputs (folding runs before the full port check, on constants
    where the ports expect activations)."""
    if support.inputs is None:
        return
    _check_ports(graph, op, support, "input", op.inputs, support.inputs, support.repeat_inputs,
                 tensors=False)
    _check_ports(graph, op, support, "output", op.outputs, support.outputs,
                 support.repeat_outputs, tensors=False)


def _check_ports(graph: Graph, op: Op, support: OpSupport, kind: str, indices: Sequence[int],
                 ports: Sequence[Port], repeat: bool, tensors: bool = True) -> None:
    if len(indices) > len(ports) and not repeat:
        raise _op_error(UnsupportedOp, graph, op, f"has {len(indices)} {kind}s; tinygen's kernel "
                        f"takes at most {len(ports)}", "re-export the model with the standard "
                        "TFLite converter")
    for k in range(max(len(indices), len(ports))):
        port = ports[min(k, len(ports) - 1)]
        idx = indices[k] if k < len(indices) else -1
        if idx < 0:
            if port.optional:
                continue
            what = "is absent (-1)" if k < len(indices) else f"is missing ({len(indices)} {kind}s)"
            raise _op_error(ModelError, graph, op, f"{kind} {k} ({port.role}) {what}", CORRUPT)
        if tensors:
            _check_port(graph, op, port, support.dtypes, graph.tensors[idx])


def _check_port(graph: Graph, op: Op, port: Port, op_dtypes: tuple[str, ...], t: Tensor) -> None:
    role = f"{port.role} tensor {t.index}"
    dtypes = op_dtypes if port.dtypes == () else port.dtypes
    if dtypes is not None and t.dtype not in dtypes:
        raise _op_error(UnsupportedOp, graph, op, f"{role} is {printable(t.dtype)}; this kernel "
                        f"takes {' or '.join(dtypes) or 'no run-time tensors'}",
                        "quantize the model to int8 (full-integer quantization)")
    if t.is_variable != port.variable:
        what = ("is a variable (state) tensor; this op keeps no state" if t.is_variable else
                "is not a variable tensor; recurrent state must be one")
        raise _op_error(UnsupportedOp, graph, op, f"{role} {what}", "re-export the model")
    if port.const is True and not t.is_const:
        raise _op_error(UnsupportedOp, graph, op, f"{role} must be a constant",
                        "freeze the weights before converting")
    if port.const is False and t.is_const:
        raise _op_error(UnsupportedOp, graph, op, f"{role} is a constant",
                        "let the converter fold constant subgraphs")
    if not port.quantized or t.dtype in UNQUANTIZED:
        return
    if t.quant is None:
        raise _op_error(UnsupportedOp, graph, op, f"{role} has no quantization parameters",
                        "convert with full-integer quantization")
    if t.quant.per_channel and not port.per_channel:
        raise _op_error(UnsupportedOp, graph, op, f"{role} has {len(t.quant.scale)} scales (per "
                        "channel); this kernel takes one", "quantize it per tensor")
