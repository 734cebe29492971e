"""Op plugins: one module per op family, discovered automatically.

Each module in this package (other than base) declares OP_TYPES and lower(op, graph); see base.py.
Adding an op = one module here, one kernel in firmware/kernels/, one template in templates/ops/,
one row in the op test table (tests/test_ops_table.py).
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from ..errors import UnsupportedOp
from ..ir import Graph, Op, OpType
from .base import Lowered


@lru_cache(maxsize=1)
def registry() -> dict[OpType, ModuleType]:
    table: dict[OpType, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for op_type in getattr(module, "OP_TYPES", ()):
            assert op_type not in table, f"{op_type} lowered by two modules"
            table[op_type] = module
    return table


def supported_op_types() -> list[str]:
    return sorted(t.value for t in registry())


def lower(op: Op, graph: Graph) -> Lowered:
    """Lower one op; an UnsupportedOp names the op, its index and the layer it came from."""
    module = registry().get(op.type)
    layer = graph.layer_name(op)
    where = f" [layer '{layer}']" if layer else ""
    if module is None:
        raise UnsupportedOp(
            f"op {op.index} ({op.type.value}){where}: no int8 kernel for this op; supported ops: "
            f"{', '.join(supported_op_types())}")
    try:
        return module.lower(op, graph)
    except UnsupportedOp as err:
        raise UnsupportedOp(f"{err}{where}") from None
