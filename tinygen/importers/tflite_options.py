"""TFLite builtin options -> typed IR attributes, one small parser per options table.

The importer (tflite.py) owns the flatbuffer; this module only reads an op's options table and
returns an `ir.Attrs`. A missing table means TFLite's defaults (the converter omits tables whose
fields are all default). Anything out of range is a one-line ModelError / UnsupportedOp naming
the op; the op plugins check what their kernels accept.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..errors import ModelError, UnsupportedOp
from ..ir import (Activation, ActivationAttrs, ArgAttrs, Attrs, BlockAttrs, ConcatAttrs,
                  ConvAttrs, FullyConnectedAttrs, GatherAttrs, LeakyReluAttrs, LstmAttrs,
                  MirrorPadAttrs, NoAttrs, OpType, PackAttrs, Padding, PoolAttrs, ReduceAttrs,
                  ResizeAttrs, SoftmaxAttrs, SplitAttrs, StridedSliceAttrs, SvdfAttrs,
                  TransposeConvAttrs)

_CLAMPS = {0: Activation.NONE, 1: Activation.RELU, 2: Activation.RELU_N1_TO_1, 3: Activation.RELU6}
_NONLINEAR = {4: Activation.TANH, 5: Activation.SIGN_BIT}
_PADDINGS = {0: Padding.SAME, 1: Padding.VALID}
_INDEX_TYPES = {2: "int32", 4: "int64"}     # TensorType codes an index output may have
_MIRROR_MODES = {0: "REFLECT", 1: "SYMMETRIC"}


class _Reader:
    """An op's options table (or None) plus what messages need to name the op."""

    def __init__(self, table, index: int, name: str):
        self.table, self.index, self.name = table, index, name

    def options(self, cls):
        """The table read as `cls`, or None when the op has no table (all defaults)."""
        if self.table is None:
            return None
        o = cls()
        o.Init(self.table.Bytes, self.table.Pos)
        return o

    def fail(self, what: str) -> ModelError:
        return ModelError(f"op {self.index} ({self.name}): {what}; the file is corrupt")

    def clamp(self, code: int) -> Activation:
        if code in _CLAMPS:
            return _CLAMPS[code]
        raise UnsupportedOp(f"op {self.index} ({self.name}): fused activation code {code} is not "
                            "supported (only NONE, RELU, RELU6, RELU_N1_TO_1)")

    def cell_activation(self, code: int) -> Activation:
        if code in _CLAMPS or code in _NONLINEAR:
            return {**_CLAMPS, **_NONLINEAR}[code]
        raise self.fail(f"unknown activation code {code}")

    def padding(self, code: int) -> Padding:
        if code not in _PADDINGS:
            raise self.fail(f"unknown padding code {code}")
        return _PADDINGS[code]


def _conv(r: _Reader, t) -> Attrs:
    import tflite

    if r.name == "DEPTHWISE_CONV_2D":
        o = r.options(tflite.DepthwiseConv2DOptions)
        if o is None:
            raise r.fail("no options table")
        return ConvAttrs(o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor(),
                         r.padding(o.Padding()), r.clamp(o.FusedActivationFunction()),
                         o.DepthMultiplier())
    o = r.options(tflite.Conv2DOptions)
    if o is None:
        raise r.fail("no options table")
    return ConvAttrs(o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor(),
                     r.padding(o.Padding()), r.clamp(o.FusedActivationFunction()))


def _pool(r: _Reader, t) -> Attrs:
    o = r.options(t.Pool2DOptions)
    if o is None:
        raise r.fail("no options table")
    return PoolAttrs(o.FilterHeight(), o.FilterWidth(), o.StrideH(), o.StrideW(),
                     r.padding(o.Padding()), r.clamp(o.FusedActivationFunction()))


def _fully_connected(r: _Reader, t) -> Attrs:
    o = r.options(t.FullyConnectedOptions)
    if o is None:
        return FullyConnectedAttrs(Activation.NONE)
    if o.WeightsFormat() != 0:
        raise UnsupportedOp(f"op {r.index} ({r.name}): shuffled weights format is not supported; "
                            "convert with the default weights format")
    return FullyConnectedAttrs(r.clamp(o.FusedActivationFunction()), bool(o.KeepNumDims()))


def _arithmetic(cls_name: str, has_pot_flag: bool):
    """ADD and SUB carry pot_scale_int16 (default true); MUL has no such field."""
    def parse(r: _Reader, t) -> Attrs:
        o = r.options(getattr(t, cls_name))
        if o is None:
            return ActivationAttrs(Activation.NONE)
        pot = bool(o.PotScaleInt16()) if has_pot_flag else True
        return ActivationAttrs(r.clamp(o.FusedActivationFunction()), pot)
    return parse


def _softmax(r: _Reader, t) -> Attrs:
    o = r.options(t.SoftmaxOptions)
    return SoftmaxAttrs(float(o.Beta()) if o is not None else 0.0)   # schema default; TFLM too


def _concat(r: _Reader, t) -> Attrs:
    o = r.options(t.ConcatenationOptions)
    if o is None:
        return ConcatAttrs(0, Activation.NONE)
    return ConcatAttrs(int(o.Axis()), r.clamp(o.FusedActivationFunction()))


def _reduce(r: _Reader, t) -> Attrs:
    o = r.options(t.ReducerOptions)
    return ReduceAttrs(bool(o.KeepDims()) if o is not None else False)


def _leaky_relu(r: _Reader, t) -> Attrs:
    o = r.options(t.LeakyReluOptions)
    return LeakyReluAttrs(float(o.Alpha()) if o is not None else 0.0)  # schema default, not Keras


def _arg(cls_name: str):
    def parse(r: _Reader, t) -> Attrs:
        o = r.options(getattr(t, cls_name))
        code = int(o.OutputType()) if o is not None else 4   # TFLite's default: int64
        if code not in _INDEX_TYPES:
            raise r.fail(f"output type code {code} is not an index type")
        return ArgAttrs(_INDEX_TYPES[code])
    return parse


def _strided_slice(r: _Reader, t) -> Attrs:
    o = r.options(t.StridedSliceOptions)
    if o is None:
        return StridedSliceAttrs(0, 0, 0, 0, 0, False)
    return StridedSliceAttrs(int(o.BeginMask()), int(o.EndMask()), int(o.EllipsisMask()),
                             int(o.NewAxisMask()), int(o.ShrinkAxisMask()), bool(o.Offset()))


def _split(cls_name: str):
    def parse(r: _Reader, t) -> Attrs:
        o = r.options(getattr(t, cls_name))
        if o is None:
            raise r.fail("no options table")
        return SplitAttrs(int(o.NumSplits()))
    return parse


def _pack(r: _Reader, t) -> Attrs:
    o = r.options(t.PackOptions)
    if o is None:
        raise r.fail("no options table")
    return PackAttrs(int(o.Axis()), int(o.ValuesCount()))


def _unpack(r: _Reader, t) -> Attrs:
    o = r.options(t.UnpackOptions)
    if o is None:
        raise r.fail("no options table")
    return PackAttrs(int(o.Axis()), int(o.Num()))


def _gather(r: _Reader, t) -> Attrs:
    o = r.options(t.GatherOptions)
    return GatherAttrs(int(o.Axis()), int(o.BatchDims())) if o is not None else GatherAttrs(0, 0)


def _transpose_conv(r: _Reader, t) -> Attrs:
    o = r.options(t.TransposeConvOptions)
    if o is None:
        raise r.fail("no options table")
    return TransposeConvAttrs(r.padding(o.Padding()), int(o.StrideH()), int(o.StrideW()),
                              r.clamp(o.FusedActivationFunction()))


def _resize(cls_name: str):
    def parse(r: _Reader, t) -> Attrs:
        o = r.options(getattr(t, cls_name))
        if o is None:
            return ResizeAttrs(False, False)
        return ResizeAttrs(bool(o.AlignCorners()), bool(o.HalfPixelCenters()))
    return parse


def _block(cls_name: str):
    def parse(r: _Reader, t) -> Attrs:
        o = r.options(getattr(t, cls_name))
        if o is None:
            raise r.fail("no options table")
        return BlockAttrs(int(o.BlockSize()))
    return parse


def _mirror_pad(r: _Reader, t) -> Attrs:
    o = r.options(t.MirrorPadOptions)
    code = int(o.Mode()) if o is not None else 0
    if code not in _MIRROR_MODES:
        raise r.fail(f"unknown mirror-pad mode {code}")
    return MirrorPadAttrs(_MIRROR_MODES[code])


def _lstm(r: _Reader, t) -> Attrs:
    o = r.options(t.UnidirectionalSequenceLSTMOptions)
    if o is None:
        raise r.fail("no options table")
    return LstmAttrs(r.cell_activation(o.FusedActivationFunction()), float(o.CellClip()),
                     float(o.ProjClip()), bool(o.TimeMajor()), bool(o.AsymmetricQuantizeInputs()),
                     bool(o.DiagonalRecurrentTensors()))


def _svdf(r: _Reader, t) -> Attrs:
    o = r.options(t.SVDFOptions)
    if o is None:
        raise r.fail("no options table")
    return SvdfAttrs(int(o.Rank()), r.clamp(o.FusedActivationFunction()),
                     bool(o.AsymmetricQuantizeInputs()))


_Parser = Callable[[_Reader, object], Attrs]

PARSERS: dict[OpType, _Parser] = {
    OpType.CONV_2D: _conv,
    OpType.DEPTHWISE_CONV_2D: _conv,
    OpType.MAX_POOL_2D: _pool,
    OpType.AVERAGE_POOL_2D: _pool,
    OpType.FULLY_CONNECTED: _fully_connected,
    OpType.ADD: _arithmetic("AddOptions", True),
    OpType.SUB: _arithmetic("SubOptions", True),
    OpType.MUL: _arithmetic("MulOptions", False),
    OpType.SOFTMAX: _softmax,
    OpType.CONCATENATION: _concat,
    OpType.MEAN: _reduce,
    OpType.SUM: _reduce,
    OpType.REDUCE_MAX: _reduce,
    OpType.REDUCE_MIN: _reduce,
    OpType.LEAKY_RELU: _leaky_relu,
    OpType.ARG_MAX: _arg("ArgMaxOptions"),
    OpType.ARG_MIN: _arg("ArgMinOptions"),
    OpType.STRIDED_SLICE: _strided_slice,
    OpType.SPLIT: _split("SplitOptions"),
    OpType.SPLIT_V: _split("SplitVOptions"),
    OpType.PACK: _pack,
    OpType.UNPACK: _unpack,
    OpType.GATHER: _gather,
    OpType.TRANSPOSE_CONV: _transpose_conv,
    OpType.RESIZE_NEAREST_NEIGHBOR: _resize("ResizeNearestNeighborOptions"),
    OpType.RESIZE_BILINEAR: _resize("ResizeBilinearOptions"),
    OpType.SPACE_TO_DEPTH: _block("SpaceToDepthOptions"),
    OpType.DEPTH_TO_SPACE: _block("DepthToSpaceOptions"),
    OpType.MIRROR_PAD: _mirror_pad,
    OpType.UNIDIRECTIONAL_SEQUENCE_LSTM: _lstm,
    OpType.SVDF: _svdf,
}


def parse_attrs(op_type: OpType, table: Optional[object], index: int, name: str) -> Attrs:
    """The typed attributes of op `index`; ops whose options tinygen does not need get NoAttrs."""
    import tflite

    parser = PARSERS.get(op_type)
    return parser(_Reader(table, index, name), tflite) if parser else NoAttrs()
