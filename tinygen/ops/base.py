"""What every op plugin returns: the numbers its C call needs, computed here, laid out by a template.

An op plugin is a module tinygen/ops/<name>.py with
    SUPPORT: dict[OpType, OpSupport]           # the op types it lowers, their types and limits
    def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered
                                               # raises UnsupportedOp naming op, index and the fix
SUPPORT is the one source of `tinygen ops` and of the README's op table.
and a Jinja template templates/ops/<template>.c.j2 defining two macros:
    {% macro decl(o) %}  file-scope C: const parameter structs / weight arrays (flash)
    {% macro call(o) %}  statements inside <name>_invoke(); must `return` a nonzero status on error
where `o` is an `_OpContext` (see codegen.py): o.p = Lowered.params, o.c = {const suffix: C name},
o.sym = unique C prefix for this op, o.inp[i] / o.out[i] = `int8_t *` expressions of its activation
inputs / outputs, o.tinp[i] / o.tout[i] = the same typed by element (`int16_t *`, `float *`, ...),
o.scratch = `int8_t *` to Lowered.scratch_bytes of word-aligned arena scratch, live during the op.
The runtime C the call needs lives in firmware/kernels/<kernel>.c/.h and is copied into gen/ only
when some op of the model uses it.

OpSupport also says what the op accepts, so that a hostile model is refused in one line before
lower() runs: `inputs` (and `outputs`, one activation by default) are Ports, e.g.
    OpSupport(("int8",), "notes", inputs=(act(), weights("filter"), param("bias", optional=True)))
A Port says which dtypes the kernel takes there (act() takes the op's `dtypes`), whether the tensor
is an activation (act), recurrent state (state: a TFLite variable tensor), a constant (weights,
param) or either, whether it may be absent (-1, or missing at the end), and whether the kernel
reads its quantization (then an int8, uint8 or int16 tensor there must have one, one scale unless
per_channel; int32, int64, float32 and bool tensors carry none). tinygen/checks.py checks every op
against it, and already enforces what needs no op knowledge: finite positive scales, zero points
inside their type, per-channel scale counts, indices in range, sane shapes, one writer per tensor.
tests/test_checks.py requires `inputs` of every plugin. lower() keeps the relations between tensors
(shapes, equal scales) and takes multipliers from common.multiplier(), which refuses ratios
TFLite-Micro's int32 arithmetic cannot hold.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import UnsupportedOp
from ..ir import Op, Tensor


C_TYPE_BYTES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4,
                "int64_t": 8}


# fold(op, inputs, outputs) -> the outputs' values, or None when the op cannot be evaluated now
# (some input is not a constant). Inputs are Tensors (None for an absent optional input).
Fold = Callable[[Op, Sequence[Optional[Tensor]], Sequence[Tensor]], Optional[list[np.ndarray]]]


@dataclass(frozen=True)
class Port:
    """One input or output slot of an op (see the module docstring)."""

    role: str                                 # names the tensor in messages: "filter", "bias"
    dtypes: Optional[tuple[str, ...]] = ()    # () the op's OpSupport.dtypes; None any dtype
    const: Optional[bool] = False             # True a constant, False an activation, None either
    optional: bool = False                    # may be absent (-1, or missing at the end)
    quantized: bool = True                    # the kernel reads its scale and zero point,
    per_channel: bool = False                 # ... which may be one per channel
    variable: bool = False                    # a TFLite variable tensor (recurrent state)


def act(role: str = "input", *dtypes: str, optional: bool = False) -> Port:
    """An activation (computed at run time, quantized) of the op's dtypes unless given."""
    return Port(role, tuple(dtypes), const=False, optional=optional)


def state(role: str, *dtypes: str, optional: bool = False) -> Port:
    """A variable tensor the op reads and updates in place (LSTM / SVDF state), of the op's dtypes
    unless given: it lives in the model's state area, kept across calls."""
    return Port(role, tuple(dtypes), const=False, optional=optional, variable=True)


def weights(role: str, *dtypes: str, optional: bool = False, per_channel: bool = True) -> Port:
    """A quantized constant (filters), int8 unless dtypes are given, per channel or not."""
    return Port(role, dtypes or ("int8",), const=True, optional=optional, per_channel=per_channel)


def param(role: str, *dtypes: str, optional: bool = False) -> Port:
    """A constant whose quantization the kernel ignores (axes, paddings, shapes, a bias), int32
    unless dtypes are given."""
    return Port(role, dtypes or ("int32",), const=True, optional=optional, quantized=False)


@dataclass(frozen=True)
class OpSupport:
    """What a plugin declares about one op type it lowers (shown by `tinygen ops`)."""

    dtypes: tuple[str, ...]   # activation types its kernels take, e.g. ("int8", "int16");
                              # () for ops that exist only at compile time (SHAPE)
    notes: str = ""           # one line: the attributes and limits a user needs to know
    fold: Optional[Fold] = None  # exact compile-time evaluation on constants (tinygen/fold.py)
    inputs: Optional[tuple[Port, ...]] = None   # what it reads (checks.py); None: undeclared
    outputs: tuple[Port, ...] = (act("output"),)
    repeat_inputs: bool = False    # the last input port may repeat (CONCATENATION: 1..N inputs)
    repeat_outputs: bool = False   # the last output port may repeat (SPLIT, UNPACK)


def const_values(inputs: Sequence[Optional[Tensor]]) -> Optional[list[Optional[np.ndarray]]]:
    """The data of every present input, or None if any of them is not a constant (for folds)."""
    if any(t is not None and not t.is_const for t in inputs):
        return None
    return [t.data if t is not None else None for t in inputs]


OPTIMIZE = ("speed", "size")


@dataclass(frozen=True)
class LowerOptions:
    """What the user asked of the whole compilation that may change how an op is lowered (its
    constants' layout, its scratch), the same for every op. Plugins that do not care ignore it."""

    optimize: str = "speed"   # "speed": layouts for the fastest kernels (e.g. FC weights stored
                              # pre-widened to int16); "size": the smallest flash and code


@dataclass(frozen=True)
class ConstArray:
    """A constant array emitted to flash as `static const <ctype> <sym>_<suffix>[]`."""

    suffix: str
    ctype: str          # "int8_t", "int16_t", "int32_t", "uint8_t"
    values: np.ndarray  # 1-D, already in the order the kernel reads it

    @property
    def nbytes(self) -> int:
        """Bytes in flash: counted by the C type, whatever numpy dtype holds the values."""
        return int(self.values.size) * C_TYPE_BYTES[self.ctype]


@dataclass(frozen=True)
class Lowered:
    template: str                      # templates/ops/<template>.c.j2
    kernels: tuple[str, ...]           # firmware/kernels/<kernel>.{c,h} files needed
    params: dict[str, Any]             # plain ints/strings/lists for the template
    consts: tuple[ConstArray, ...] = ()
    macs: int = 0
    inplace: bool = False              # output may overwrite input 0 (planner may alias them)
    alias: bool = False                # output IS input 0 (reshape family): no code, no memory
    scratch_bytes: int = 0             # arena scratch live only during this op (o.scratch in C)
    views: tuple[tuple[int, int], ...] = ()  # (output tensor, byte offset): outputs that ARE a
                                       # contiguous, word-aligned part of input 0 (no code, no memory)
    notes: tuple[str, ...] = field(default_factory=tuple)
    lean: Optional["Lowered"] = None   # the same op with less scratch (slower): compile_graph
                                       # takes it where this op's scratch would grow the arena
    grows: bool = False                # in place with an output larger than input 0 (written
                                       # from the end back): the planner may merge them into a
                                       # buffer of the output's size with the input at its start
    needs_inplace: bool = False        # correct only with output 0 over input 0 (the kernel takes
                                       # one buffer): compile_graph keeps it only where merged
    inplace_variant: Optional["Lowered"] = None  # the same op run in place (more scratch or slower):
                                       # compile_graph takes it where that makes the arena smaller

    @property
    def weight_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)


def unsupported(op: Op, what: str, fix: str = "") -> UnsupportedOp:
    """One-line error naming the op and its index: 'op 3 (CONV_2D): <what>; <fix>'."""
    msg = f"op {op.index} ({op.name}): {what}"
    if fix:
        msg += f"; {fix}"
    return UnsupportedOp(msg)

