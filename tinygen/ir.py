"""The intermediate representation: what a model *is*, with no framework objects in it.

Importers (tinygen/importers/) turn a model file into a `Graph`; everything after them — ops,
planner, renderer, analyze — reads only these frozen dataclasses. Constant tensor data is a
read-only numpy array.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np


class OpType(enum.Enum):
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    MAX_POOL_2D = "MAX_POOL_2D"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MEAN = "MEAN"
    RESHAPE = "RESHAPE"
    SQUEEZE = "SQUEEZE"
    EXPAND_DIMS = "EXPAND_DIMS"
    SOFTMAX = "SOFTMAX"
    ADD = "ADD"
    MUL = "MUL"
    PAD = "PAD"
    PADV2 = "PADV2"
    CONCATENATION = "CONCATENATION"
    LOGISTIC = "LOGISTIC"
    TANH = "TANH"
    QUANTIZE = "QUANTIZE"
    RELU = "RELU"
    RELU6 = "RELU6"


# Ops that only reinterpret their input's bytes: the planner aliases output to input.
ALIAS_OPS = frozenset({OpType.RESHAPE, OpType.SQUEEZE, OpType.EXPAND_DIMS})


class Activation(enum.Enum):
    NONE = "NONE"
    RELU = "RELU"
    RELU6 = "RELU6"
    RELU_N1_TO_1 = "RELU_N1_TO_1"


class Padding(enum.Enum):
    SAME = "SAME"
    VALID = "VALID"


@dataclass(frozen=True)
class Quant:
    """Affine quantization real = scale * (q - zero_point); per-channel along `axis` if len > 1."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str                 # as in the model file: untrusted text, never pasted into C unescaped
    shape: tuple[int, ...]
    dtype: str                # numpy dtype name: "int8", "int32", "float32", ...
    quant: Optional[Quant] = None
    data: Optional[np.ndarray] = field(default=None, compare=False, repr=False)  # constants only

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    @property
    def scale(self) -> float:
        assert self.quant is not None and not self.quant.per_channel
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None
        return self.quant.zero_point[0]


def printable(text: str, max_len: int = 60) -> str:
    """Untrusted text made safe for a terminal line: printable ASCII, no escapes, shortened."""
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return text if len(text) <= max_len else text[: max_len - 3] + "..."


# ---- typed op attributes -------------------------------------------------------------------

@dataclass(frozen=True)
class NoAttrs:
    pass


@dataclass(frozen=True)
class ConvAttrs:
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    padding: Padding
    activation: Activation
    depth_multiplier: int = 1  # DEPTHWISE_CONV_2D only


@dataclass(frozen=True)
class PoolAttrs:
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    padding: Padding
    activation: Activation


@dataclass(frozen=True)
class FullyConnectedAttrs:
    activation: Activation
    keep_num_dims: bool = False


@dataclass(frozen=True)
class ActivationAttrs:
    """ADD, MUL: only a fused activation."""
    activation: Activation


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int
    activation: Activation


@dataclass(frozen=True)
class MeanAttrs:
    keep_dims: bool


Attrs = Union[NoAttrs, ConvAttrs, PoolAttrs, FullyConnectedAttrs, ActivationAttrs, SoftmaxAttrs,
              ConcatAttrs, MeanAttrs]


@dataclass(frozen=True)
class Op:
    index: int                 # position in execution order
    type: OpType
    inputs: tuple[int, ...]    # tensor indices; -1 marks an absent optional input (e.g. no bias)
    outputs: tuple[int, ...]
    attrs: Attrs = NoAttrs()


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    sha256: str                # of the model file's bytes
    description: str = ""      # model file's description string (untrusted text)

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def op_inputs(self, op: Op) -> list[Optional[Tensor]]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Op) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    def layer_name(self, op: Op, max_len: int = 60) -> str:
        """The Keras layer an op came from, as the converter records it in the output tensor's
        name (untrusted: printable ASCII only, shortened)."""
        if not op.outputs:
            return ""
        return printable(self.tensors[op.outputs[0]].name.split(";")[0], max_len)

    @property
    def activations(self) -> list[Tensor]:
        """Non-constant tensors that some op touches or that are graph inputs/outputs."""
        used: set[int] = set(self.inputs) | set(self.outputs)
        for op in self.ops:
            used.update(i for i in op.inputs if i >= 0)
            used.update(op.outputs)
        return [t for t in self.tensors if t.index in used and not t.is_const]
