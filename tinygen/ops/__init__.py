"""Op plugins: one module per op family, discovered automatically.

Each module in this package (other than base and the shared helpers) declares SUPPORT and
lower(op, graph, opts); see base.py. Adding an op = one module here, one kernel in firmware/kernels/,
one template in templates/ops/, one row in the op test table (tests/test_ops_table.py).
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from ..errors import ModelError, UnsupportedOp
from ..ir import Graph, Op, OpType
from .base import Lowered, LowerOptions, OpSupport

# Modules here that are shared helpers, not plugins.
HELPERS = frozenset({"base", "common", "gemmlowp", "conv16", "movement"})


@lru_cache(maxsize=1)
def registry() -> dict[OpType, ModuleType]:
    table: dict[OpType, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in HELPERS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        assert hasattr(module, "SUPPORT"), (f"tinygen/ops/{info.name}.py declares no SUPPORT: "
                                            "a plugin must; a shared helper belongs in HELPERS")
        for op_type in module.SUPPORT:
            assert op_type not in table, f"{op_type} lowered by two modules"
            table[op_type] = module
    return table


def support_table() -> dict[OpType, OpSupport]:
    """Every supported op type and what its plugin declares, in OpType order."""
    reg = registry()
    return {t: reg[t].SUPPORT[t] for t in OpType if t in reg}


def supported_op_types() -> list[str]:
    return sorted(t.value for t in registry())


def lower(op: Op, graph: Graph, opts: LowerOptions = LowerOptions()) -> Lowered:
    """Lower one op; an UnsupportedOp names the op, its index and the layer it came from."""
    module = registry().get(op.type)
    layer = graph.layer_name(op)
    where = f" [layer '{layer}']" if layer else ""
    if module is None:
        raise UnsupportedOp(f"op {op.index} ({op.name}){where}: no kernel in tinygen for this op")
    if not op.outputs or not any(i >= 0 for i in op.inputs):
        # every TFLite op reads and writes something; plugins may rely on input 0 and output 0
        raise ModelError(f"op {op.index} ({op.name}){where}: has no "
                         f"{'outputs' if not op.outputs else 'inputs'}; the file is corrupt")
    from ..checks import check_ops  # (checks imports this package)

    check_ops(graph, op, module.SUPPORT[op.type])  # the tensors against the declared ports
    try:
        return module.lower(op, graph, opts)
    except UnsupportedOp as err:
        raise UnsupportedOp(f"{err}{where}") from None


def lower_all(graph: Graph, opts: LowerOptions = LowerOptions()) -> list[Lowered]:
    """Lower every op; if any cannot be compiled, one UnsupportedOp names all of them."""
    lowered, failures = [], []
    for op in graph.ops:
        try:
            lowered.append(lower(op, graph, opts))
        except UnsupportedOp as err:
            failures.append(str(err))
    if len(failures) == 1:
        raise UnsupportedOp(f"{failures[0]}; `tinygen ops` lists what is supported")
    if failures:
        raise UnsupportedOp(f"{len(failures)} of {len(graph.ops)} ops cannot be compiled: "
                            + " | ".join(failures) + "; `tinygen ops` lists what is supported")
    return lowered
