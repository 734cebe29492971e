"""What every op plugin returns: the numbers its C call needs, computed here, laid out by a template.

An op plugin is a module tinygen/ops/<name>.py with
    OP_TYPES: tuple[OpType, ...]               # which IR op types it lowers
    def lower(op: Op, graph: Graph) -> Lowered # raises UnsupportedOp naming op, index and the fix
and a Jinja template templates/ops/<template>.c.j2 defining two macros:
    {% macro decl(o) %}  file-scope C: const parameter structs / weight arrays (flash)
    {% macro call(o) %}  statements inside <name>_invoke(); must `return` a nonzero status on error
where `o` is an `OpContext` (see render.py): o.p = Lowered.params, o.c = {const suffix: C name},
o.sym = unique C prefix for this op, o.inp[i] / o.out[i] = C pointer expressions of its activations.
The runtime C the call needs lives in firmware/kernels/<kernel>.c/.h and is copied into gen/ only
when some op of the model uses it.

A plugin also declares what its op accepts, so that a hostile model is refused in one line before
lower() runs (tinygen/checks.py checks every op against it; tests/test_checks.py requires one for
every op type a plugin lowers):
    SIGNATURE = Signature(inputs=(act("input"), weights("filter"),
                                  param("bias", "int32", optional=True)))
or a dict {OpType: Signature} when the module's op types differ. Each Port says which dtypes the
kernel takes there, whether the tensor must be a constant (weights, param) or an activation
(act), whether it may be absent (-1 or missing at the end), and whether the kernel reads its
quantization (then it must be there, one scale unless per_channel). checks.py also enforces what
needs no op knowledge: finite positive scales, zero points inside their type, per-channel scale
counts, indices in range, sane shapes, one writer per tensor. lower() keeps the relations between
tensors (shapes, equal scales) and computes multipliers through common.multiplier(), which refuses
ratios TFLite-Micro's int32 arithmetic cannot take.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..errors import UnsupportedOp
from ..ir import Op


C_TYPE_BYTES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4}


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
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def weight_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)


def unsupported(op: Op, what: str, fix: str = "") -> UnsupportedOp:
    """One-line error naming the op and its index: 'op 3 (CONV_2D): <what>; <fix>'."""
    msg = f"op {op.index} ({op.type.value}): {what}"
    if fix:
        msg += f"; {fix}"
    return UnsupportedOp(msg)


# ---- what an op accepts (its signature), checked before lowering by tinygen/checks.py -----------

@dataclass(frozen=True)
class Port:
    """One input or output slot of an op."""

    role: str                                    # names the tensor in messages: "filter", "bias"
    dtypes: Optional[tuple[str, ...]] = ("int8",)  # dtypes the kernel takes here; None: any
    const: Optional[bool] = False                # True: a constant; False: an activation; None: either
    optional: bool = False                       # may be absent (-1, or missing at the end)
    quantized: bool = True                       # the kernel reads its scale and zero point
    per_channel: bool = False                    # ... which may be one per channel


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...] = (Port("output"),)
    repeat_inputs: bool = False    # the last input port may repeat (CONCATENATION: 1..N inputs)
    repeat_outputs: bool = False   # the last output port may repeat (SPLIT, UNPACK)


def act(role: str = "input", *dtypes: str, optional: bool = False) -> Port:
    """A quantized activation (computed at run time), int8 unless dtypes are given."""
    return Port(role, dtypes or ("int8",), const=False, optional=optional)


def weights(role: str, *dtypes: str, optional: bool = False, per_channel: bool = True) -> Port:
    """A quantized constant (filter, bias; int8 unless dtypes are given), per channel or not."""
    return Port(role, dtypes or ("int8",), const=True, optional=optional, per_channel=per_channel)


def param(role: str, *dtypes: str, optional: bool = False) -> Port:
    """A constant whose quantization the kernel ignores (axes, paddings, shapes, a bias), int32
    unless dtypes are given."""
    return Port(role, dtypes or ("int32",), const=True, optional=optional, quantized=False)
