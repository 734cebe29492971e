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
    """Every op tinygen knows by name. An op plugin (tinygen/ops/) lowers it; ops with no plugin
    are refused at lowering, all named at once. UNKNOWN stands for a builtin or custom op that is
    not in this list (its name is in UnknownAttrs)."""
    # convolution, matrix, recurrent
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    TRANSPOSE_CONV = "TRANSPOSE_CONV"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    UNIDIRECTIONAL_SEQUENCE_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    SVDF = "SVDF"
    # pooling and reductions
    MAX_POOL_2D = "MAX_POOL_2D"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MEAN = "MEAN"
    SUM = "SUM"
    REDUCE_MAX = "REDUCE_MAX"
    REDUCE_MIN = "REDUCE_MIN"
    ARG_MAX = "ARG_MAX"
    ARG_MIN = "ARG_MIN"
    # elementwise arithmetic
    ADD = "ADD"
    SUB = "SUB"
    MUL = "MUL"
    MAXIMUM = "MAXIMUM"
    MINIMUM = "MINIMUM"
    SQUARED_DIFFERENCE = "SQUARED_DIFFERENCE"
    # activations
    SOFTMAX = "SOFTMAX"
    LOGISTIC = "LOGISTIC"
    TANH = "TANH"
    RELU = "RELU"
    RELU6 = "RELU6"
    LEAKY_RELU = "LEAKY_RELU"
    PRELU = "PRELU"
    HARD_SWISH = "HARD_SWISH"
    ELU = "ELU"
    # type conversion
    QUANTIZE = "QUANTIZE"
    DEQUANTIZE = "DEQUANTIZE"
    CAST = "CAST"
    # shape and data movement
    RESHAPE = "RESHAPE"
    SQUEEZE = "SQUEEZE"
    EXPAND_DIMS = "EXPAND_DIMS"
    PAD = "PAD"
    PADV2 = "PADV2"
    MIRROR_PAD = "MIRROR_PAD"
    CONCATENATION = "CONCATENATION"
    STRIDED_SLICE = "STRIDED_SLICE"
    SLICE = "SLICE"
    SPLIT = "SPLIT"
    SPLIT_V = "SPLIT_V"
    PACK = "PACK"
    UNPACK = "UNPACK"
    GATHER = "GATHER"
    TRANSPOSE = "TRANSPOSE"
    TILE = "TILE"
    REVERSE_V2 = "REVERSE_V2"
    RESIZE_NEAREST_NEIGHBOR = "RESIZE_NEAREST_NEIGHBOR"
    RESIZE_BILINEAR = "RESIZE_BILINEAR"
    SPACE_TO_DEPTH = "SPACE_TO_DEPTH"
    DEPTH_TO_SPACE = "DEPTH_TO_SPACE"
    SPACE_TO_BATCH_ND = "SPACE_TO_BATCH_ND"
    BATCH_TO_SPACE_ND = "BATCH_TO_SPACE_ND"
    # shape arithmetic the converter leaves behind (folded at compile time when constant)
    SHAPE = "SHAPE"
    FILL = "FILL"
    # anything else
    UNKNOWN = "UNKNOWN"


# Ops that only reinterpret their input's bytes: the planner aliases output to input.
ALIAS_OPS = frozenset({OpType.RESHAPE, OpType.SQUEEZE, OpType.EXPAND_DIMS})


class Activation(enum.Enum):
    NONE = "NONE"
    RELU = "RELU"
    RELU6 = "RELU6"
    RELU_N1_TO_1 = "RELU_N1_TO_1"
    TANH = "TANH"          # only as the cell/gate activation of recurrent ops, never a clamp
    SIGN_BIT = "SIGN_BIT"  # likewise


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
    is_variable: bool = False  # TFLite variable tensor (recurrent state): lives outside the arena

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
    """ADD, SUB, MUL: a fused activation; pot_scale_int16 is TFLite's flag for int16 ADD/SUB
    (True: power-of-two scales, the general int16 path is used when False)."""
    activation: Activation
    pot_scale_int16: bool = True


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int
    activation: Activation


@dataclass(frozen=True)
class ReduceAttrs:
    """MEAN, SUM, REDUCE_MAX, REDUCE_MIN (the axes are the op's second, constant input)."""
    keep_dims: bool


MeanAttrs = ReduceAttrs  # the name MEAN's plugin grew up with


@dataclass(frozen=True)
class LeakyReluAttrs:
    alpha: float


@dataclass(frozen=True)
class ArgAttrs:
    """ARG_MAX, ARG_MIN: the output index type (the axis is the second, constant input)."""
    output_type: str   # numpy dtype name: "int32" or "int64"


@dataclass(frozen=True)
class StridedSliceAttrs:
    begin_mask: int
    end_mask: int
    ellipsis_mask: int
    new_axis_mask: int
    shrink_axis_mask: int
    offset: bool       # begin/end are offsets from the begin values (TFLite 2.14+)


@dataclass(frozen=True)
class SplitAttrs:
    """SPLIT, SPLIT_V."""
    num_splits: int


@dataclass(frozen=True)
class PackAttrs:
    """PACK (count = values_count), UNPACK (count = num)."""
    axis: int
    count: int


@dataclass(frozen=True)
class GatherAttrs:
    axis: int
    batch_dims: int


@dataclass(frozen=True)
class TransposeConvAttrs:
    padding: Padding
    stride_h: int
    stride_w: int
    activation: Activation


@dataclass(frozen=True)
class ResizeAttrs:
    """RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR."""
    align_corners: bool
    half_pixel_centers: bool


@dataclass(frozen=True)
class BlockAttrs:
    """SPACE_TO_DEPTH, DEPTH_TO_SPACE."""
    block_size: int


@dataclass(frozen=True)
class MirrorPadAttrs:
    mode: str          # "REFLECT" or "SYMMETRIC"


@dataclass(frozen=True)
class LstmAttrs:
    """UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite UnidirectionalSequenceLSTMOptions)."""
    activation: Activation      # the cell / output activation (TANH in every Keras export)
    cell_clip: float
    proj_clip: float
    time_major: bool
    asymmetric_quantize_inputs: bool
    diagonal_recurrent_tensors: bool


@dataclass(frozen=True)
class SvdfAttrs:
    rank: int
    activation: Activation
    asymmetric_quantize_inputs: bool


@dataclass(frozen=True)
class UnknownAttrs:
    """An op tinygen does not know: its TFLite name ('SIN', "CUSTOM 'SignalRfft'", ...)."""
    name: str


Attrs = Union[NoAttrs, ConvAttrs, PoolAttrs, FullyConnectedAttrs, ActivationAttrs, SoftmaxAttrs,
              ConcatAttrs, ReduceAttrs, LeakyReluAttrs, ArgAttrs, StridedSliceAttrs, SplitAttrs,
              PackAttrs, GatherAttrs, TransposeConvAttrs, ResizeAttrs, BlockAttrs, MirrorPadAttrs,
              LstmAttrs, SvdfAttrs, UnknownAttrs]


@dataclass(frozen=True)
class Op:
    index: int                 # position in execution order
    type: OpType
    inputs: tuple[int, ...]    # tensor indices; -1 marks an absent optional input (e.g. no bias)
    outputs: tuple[int, ...]
    attrs: Attrs = NoAttrs()

    @property
    def name(self) -> str:
        """The op's TFLite name, for messages ('CONV_2D', or an unknown op's own name)."""
        return self.attrs.name if isinstance(self.attrs, UnknownAttrs) else self.type.value


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
