"""Model -> C sources: lower every op, plan the arena, render the templates.

`compile_model` is the pure analysis (shared with `tinygen analyze`); `generate` writes files.
The same model and options always give byte-identical sources (no timestamps, sorted output).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from . import __version__
from .errors import TinygenError
from .importers.tflite import load_model
from .ir import Graph, Op, Tensor
from .ops import lower
from .ops.base import Lowered
from .planner import Plan, TensorUse, align_up, lower_bound, make_buffers, plan_memory
from .render import c_comment, c_identifier, environment
from .resources import firmware_dir


@dataclass(frozen=True)
class CompiledOp:
    op: Op
    lowered: Lowered


@dataclass(frozen=True)
class Compiled:
    graph: Graph
    ops: tuple[CompiledOp, ...]
    plan: Plan
    facts_lower_bound: int   # FACTS.md's definition: unaligned sizes, model op order, no aliasing

    @property
    def macs(self) -> int:
        return sum(c.lowered.macs for c in self.ops)

    @property
    def weight_bytes(self) -> int:
        return sum(c.lowered.weight_bytes for c in self.ops)

    @property
    def input(self) -> Tensor:
        return self.graph.tensor(self.graph.inputs[0])

    @property
    def output(self) -> Tensor:
        return self.graph.tensor(self.graph.outputs[0])

    @property
    def kernels(self) -> list[str]:
        return sorted({k for c in self.ops for k in c.lowered.kernels})


@dataclass(frozen=True)
class GenResult:
    name: str
    out_dir: Path
    header: Path
    sources: tuple[Path, ...]
    files: tuple[Path, ...]
    compiled: Compiled = field(repr=False)

    # Flat figures other stages use (builder, harness, reports).
    @property
    def input_bytes(self) -> int: return self.compiled.input.nbytes
    @property
    def output_bytes(self) -> int: return self.compiled.output.nbytes
    @property
    def arena_bytes(self) -> int: return self.compiled.plan.arena_bytes
    @property
    def weight_bytes(self) -> int: return self.compiled.weight_bytes
    @property
    def macs(self) -> int: return self.compiled.macs
    @property
    def sha256(self) -> str: return self.compiled.graph.sha256
    @property
    def input_scale(self) -> float: return self.compiled.input.scale
    @property
    def input_zero_point(self) -> int: return self.compiled.input.zero_point
    @property
    def output_scale(self) -> float: return self.compiled.output.scale
    @property
    def output_zero_point(self) -> int: return self.compiled.output.zero_point
    @property
    def input_shape(self) -> tuple[int, ...]: return self.compiled.input.shape
    @property
    def output_shape(self) -> tuple[int, ...]: return self.compiled.output.shape


def liveness_lower_bound(graph: Graph, uses: list[TensorUse]) -> int:
    """FACTS.md's liveness lower bound: the largest total size of the tensors one op reads and
    writes plus those still waiting to be read, in model order, at exact sizes (no alignment),
    reshapes counted as the same bytes, nothing computed in place."""
    plain = [TensorUse(u.reads, u.writes, alias=u.alias) for u in uses]
    sizes = {t.index: t.nbytes for t in graph.activations}
    buffers, _, _ = make_buffers(len(uses), plain, sizes, graph.inputs, graph.outputs, align=1)
    return lower_bound(buffers)


def compile_graph(graph: Graph) -> Compiled:
    if not graph.ops:
        raise TinygenError("model has no ops; nothing to compile")
    compiled = tuple(CompiledOp(op, lower(op, graph)) for op in graph.ops)
    uses = []
    for c in compiled:
        reads = tuple(t for t in c.op.inputs if t >= 0 and not graph.tensor(t).is_const)
        uses.append(TensorUse(reads=reads, writes=c.op.outputs, alias=c.lowered.alias,
                              inplace=c.lowered.inplace))
    sizes = {t.index: t.nbytes for t in graph.activations}
    plan = plan_memory(len(graph.ops), uses, sizes, graph.inputs, graph.outputs)
    return Compiled(graph, compiled, plan, liveness_lower_bound(graph, uses))


def compile_model(model: Union[str, Path, bytes]) -> Compiled:
    return compile_graph(load_model(model))


@dataclass
class _OpContext:
    """What an op template sees as `o` (see ops/base.py)."""
    op: Op
    template: str
    tpl: Any
    sym: str
    p: dict
    c: dict
    consts: tuple
    inp: list
    out: list
    notes: tuple
    in_shapes: str
    out_shapes: str
    tensor_notes: list
    optimize: str = "speed"   # "size": templates call the shared generic kernels (one copy each)


def _shape(t: Optional[Tensor]) -> str:
    return "x".join(str(d) for d in t.shape) if t is not None else "-"


OPTIMIZE = ("speed", "size")


def render_sources(compiled: Compiled, name: str, optimize: str = "speed") -> dict[str, str]:
    """File name -> text for the model's own files (header and source). `optimize`: "speed"
    gives every conv/depthwise/FC layer its own specialised kernel; "size" calls one shared
    generic kernel per op kind (less code, more instructions)."""
    env = environment()
    graph, plan = compiled.graph, compiled.plan

    def ptr(t: int) -> str:
        return f"(arena + {plan.offsets[t]})"

    contexts = []
    for c in compiled.ops:
        op = c.op
        sym = f"{name}_op{op.index}"
        acts_in = [t for t in op.inputs if t >= 0 and not graph.tensor(t).is_const]
        contexts.append(_OpContext(
            op=op, template=c.lowered.template,
            tpl=env.get_template(f"ops/{c.lowered.template}.c.j2").module,
            sym=sym, p=c.lowered.params, c={a.suffix: f"{sym}_{a.suffix}" for a in c.lowered.consts},
            consts=c.lowered.consts, inp=[ptr(t) for t in acts_in], out=[ptr(t) for t in op.outputs],
            notes=c.lowered.notes,
            in_shapes=", ".join(_shape(graph.tensor(t)) for t in acts_in),
            out_shapes=", ".join(_shape(graph.tensor(t)) for t in op.outputs),
            tensor_notes=[f"out t{t} @ {plan.offsets[t]}: {graph.tensor(t).name}"
                          for t in op.outputs], optimize=optimize))

    x, y = compiled.input, compiled.output
    values = dict(
        version=__version__, sha256=graph.sha256, name=name, NAME=name.upper(),
        description=graph.description, ops=contexts, kernels=compiled.kernels,
        input_shape=list(x.shape), output_shape=list(y.shape),
        input_bytes=x.nbytes, output_bytes=y.nbytes,
        input_scale=x.scale, input_zero_point=x.zero_point,
        output_scale=y.scale, output_zero_point=y.zero_point,
        input_scale_text=repr(float(x.scale)), output_scale_text=repr(float(y.scale)),
        arena_bytes=plan.arena_bytes, arena_alloc=max(align_up(plan.arena_bytes), 4),
        lower_bound=plan.lower_bound, plan_strategy=plan.strategy,
        weight_bytes=compiled.weight_bytes, macs=compiled.macs,
        input_offset=plan.offsets[graph.inputs[0]], output_offset=plan.offsets[graph.outputs[0]],
        sha256_bytes=list(bytes.fromhex(graph.sha256)),
    )
    return {f"{name}.h": env.get_template("model.h.j2").render(values),
            f"{name}.c": env.get_template("model.c.j2").render(values)}


def runtime_files(compiled: Compiled) -> list[Path]:
    """The hand-written C this model needs: the shared runtime and only the kernels it uses."""
    fw = firmware_dir()
    files = [fw / "runtime" / "tg_runtime.h"]
    for k in compiled.kernels:
        files += [fw / "kernels" / f"{k}.h", fw / "kernels" / f"{k}.c"]
    return files


def check_name(name: str) -> str:
    safe = c_identifier(name)
    if safe != name or name.startswith("tg_"):
        raise TinygenError(f"--name '{c_comment(name, 40)}' is not a plain C identifier; "
                           f"try --name {safe.removeprefix('tg_') or 'model'}")
    return name


def generate(model: Union[str, Path, bytes, Compiled], out_dir: Union[str, Path],
             name: str = "model", optimize: str = "speed") -> GenResult:
    """Write `<name>.h`, `<name>.c` and the runtime files the model needs into out_dir."""
    name = check_name(name)
    if optimize not in OPTIMIZE:
        raise TinygenError(f"--optimize {c_comment(str(optimize), 20)} is not one of "
                           f"{', '.join(OPTIMIZE)}; pick speed (default) or size")
    compiled = model if isinstance(model, Compiled) else compile_model(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, text in render_sources(compiled, name, optimize).items():
        path = out / fname
        path.write_text(text)
        written.append(path)
    for src in runtime_files(compiled):
        dst = out / src.name
        shutil.copyfile(src, dst)
        written.append(dst)
    sources = tuple(sorted(p for p in written if p.suffix == ".c"))
    return GenResult(name=name, out_dir=out, header=out / f"{name}.h", sources=sources,
                     files=tuple(sorted(written)), compiled=compiled)
