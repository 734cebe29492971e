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
class OpSupport:
    """What a plugin declares about one op type it lowers (shown by `tinygen ops`)."""

    dtypes: tuple[str, ...]   # activation types its kernels take, e.g. ("int8", "int16");
                              # () for ops that exist only at compile time (SHAPE)
    notes: str = ""           # one line: the attributes and limits a user needs to know
    fold: Optional[Fold] = None  # exact compile-time evaluation on constants (tinygen/fold.py)


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

    @property
    def weight_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)


def unsupported(op: Op, what: str, fix: str = "") -> UnsupportedOp:
    """One-line error naming the op and its index: 'op 3 (CONV_2D): <what>; <fix>'."""
    msg = f"op {op.index} ({op.name}): {what}"
    if fix:
        msg += f"; {fix}"
    return UnsupportedOp(msg)
