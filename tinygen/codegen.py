"""Model -> C sources: lower every op, plan the arena, render the templates.

`compile_model` is the pure analysis (shared with `tinygen analyze`); `generate` writes files.
The same model and options always give byte-identical sources (no timestamps, sorted output).
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Optional, Union

from . import __version__, integrity
from .errors import TinygenError, UnsupportedModel
from .fold import fold_constants
from .importers.tflite import load_model
from .ir import Graph, Op, Tensor
from .ops import lower_all
from .ops.base import OPTIMIZE, Lowered, LowerOptions
from .planner import Plan, PlanError, TensorUse, align_up, lower_bound, make_buffers, plan_memory
from .render import c_comment, c_identifier, environment
from .resources import firmware_dir


# Model input/output element types the generated API takes: numpy name -> C type.
IO_CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
             "int64": "int64_t", "float32": "float"}


@dataclass(frozen=True)
class IOTensor:
    """One model input or output as the generated C API and the serial protocol see it."""
    index: int                 # tensor index in the model
    name: str                  # as in the model file (untrusted text)
    dtype: str                 # numpy dtype name
    ctype: str                 # C element type
    shape: tuple[int, ...]
    count: int                 # elements
    nbytes: int
    scale: Optional[float]     # None when not quantized (float32 I/O, index outputs)
    zero_point: int


def _io_tensor(t: Tensor, role: str) -> IOTensor:
    if t.dtype not in IO_CTYPES:
        raise UnsupportedModel(f"model {role} tensor {t.index} is {t.dtype}; tinygen's generated "
                               f"API takes {', '.join(IO_CTYPES)} inputs and outputs")
    quantized = t.quant is not None and len(t.quant.scale) == 1
    return IOTensor(index=t.index, name=t.name, dtype=t.dtype, ctype=IO_CTYPES[t.dtype],
                    shape=tuple(t.shape), count=t.size, nbytes=t.nbytes,
                    scale=float(t.quant.scale[0]) if quantized else None,
                    zero_point=int(t.quant.zero_point[0]) if quantized else 0)


@dataclass(frozen=True)
class CompiledOp:
    op: Op
    lowered: Lowered
    scratch: Optional[int] = None   # the planner id of its scratch buffer, if it has one


@dataclass(frozen=True)
class Compiled:
    graph: Graph                     # after constant folding
    ops: tuple[CompiledOp, ...]
    plan: Plan
    facts_lower_bound: int   # FACTS.md's definition: unaligned sizes, model op order, no aliasing
    inputs: tuple[IOTensor, ...]
    outputs: tuple[IOTensor, ...]
    state_offsets: dict[int, int]    # variable tensor -> byte offset in the state area
    state_bytes: int
    options: LowerOptions = LowerOptions()   # what the ops were lowered for (--optimize)

    @property
    def macs(self) -> int:
        return sum(c.lowered.macs for c in self.ops)

    @cached_property
    def weight_bytes(self) -> int:
        """Bytes of constant arrays in flash, each distinct array once (see const_symbols)."""
        emitted, _ = const_symbols(self, "m")
        return sum(a.nbytes for _, a in emitted)

    @property
    def scratch_bytes(self) -> int:
        """The largest scratch any one op needs (it is inside the arena)."""
        return max((c.lowered.scratch_bytes for c in self.ops), default=0)

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
    const_table: bool = True        # <name>_const_data/_bytes emitted (generate --integrity off: no)

    @property
    def inputs(self) -> tuple[IOTensor, ...]: return self.compiled.inputs
    @property
    def outputs(self) -> tuple[IOTensor, ...]: return self.compiled.outputs

    # Flat figures of the first input and output (every single-I/O caller's view).
    @property
    def input_bytes(self) -> int: return self.inputs[0].nbytes
    @property
    def output_bytes(self) -> int: return self.outputs[0].nbytes
    @property
    def arena_bytes(self) -> int: return self.compiled.plan.arena_bytes
    @property
    def state_bytes(self) -> int: return self.compiled.state_bytes
    @property
    def weight_bytes(self) -> int: return self.compiled.weight_bytes
    @property
    def macs(self) -> int: return self.compiled.macs
    @property
    def sha256(self) -> str: return self.compiled.graph.sha256
    @property
    def input_scale(self) -> float: return self.inputs[0].scale
    @property
    def input_zero_point(self) -> int: return self.inputs[0].zero_point
    @property
    def output_scale(self) -> float: return self.outputs[0].scale
    @property
    def output_zero_point(self) -> int: return self.outputs[0].zero_point
    @property
    def input_shape(self) -> tuple[int, ...]: return self.inputs[0].shape
    @property
    def output_shape(self) -> tuple[int, ...]: return self.outputs[0].shape


def liveness_lower_bound(graph: Graph, uses: list[TensorUse], sizes: dict[int, int]) -> int:
    """FACTS.md's liveness lower bound: the largest total size of the tensors one op reads and
    writes plus those still waiting to be read, in model order, at exact sizes (no alignment),
    reshapes counted as the same bytes, nothing computed in place, no scratch."""
    plain = [TensorUse(tuple(t for t in u.reads if t in sizes), tuple(t for t in u.writes if t in sizes),
                       alias=u.alias) for u in uses]
    buffers, _, _ = make_buffers(len(uses), plain, sizes, graph.inputs, graph.outputs, align=1)
    return lower_bound(buffers)


def _state_layout(graph: Graph) -> tuple[dict[int, int], int]:
    """Variable tensors (recurrent state) side by side in their own area, word aligned: they
    persist across invocations, so the arena planner never sees them."""
    offsets, size = {}, 0
    for t in graph.activations:
        if t.is_variable:
            offsets[t.index] = size
            size += align_up(t.nbytes)
    return offsets, size


def _plan(graph: Graph, lowered: list[Lowered]) -> tuple[list[CompiledOp], list[TensorUse], dict, Plan]:
    sizes = {t.index: t.nbytes for t in graph.activations if not t.is_variable}
    compiled, uses = [], []
    for op, low in zip(graph.ops, lowered):
        scratch = None
        if low.scratch_bytes:
            scratch = len(graph.tensors) + len(compiled)    # a planner id no tensor has
            sizes[scratch] = low.scratch_bytes
        compiled.append(CompiledOp(op, low, scratch))
        reads = tuple(t for t in op.inputs if t in sizes)
        writes = tuple(t for t in op.outputs if t in sizes) + ((scratch,) if scratch else ())
        uses.append(TensorUse(reads=reads, writes=writes, alias=low.alias, inplace=low.inplace,
                              grows=low.grows, views=low.views))
    return compiled, uses, sizes, plan_memory(len(graph.ops), uses, sizes, graph.inputs, graph.outputs)


def _arena(graph: Graph, lowered: list[Lowered]) -> float:
    """The planned arena, or infinity where an op that needs_inplace did not get merged."""
    plan = _plan(graph, lowered)[3]
    return float("inf") if _unmerged_needs_inplace(graph, lowered, plan) else plan.arena_bytes


def _lean_where_it_pays(graph: Graph, lowered: list[Lowered]) -> list[Lowered]:
    """Kernel scratch is speed bought with RAM. Where an op's scratch is live at the arena's peak
    it grows the arena; such an op gets its lean variant (Lowered.lean: less or no scratch, a
    slower route) when, and only when, that makes the planned arena smaller. Greedy, largest
    scratch first, each op down its chain of lean variants; one plan per try (milliseconds).
    So the arena never exceeds the plan without any kernel scratch, and scratch that fits beside
    the peak's activations stays."""
    best = _arena(graph, lowered)
    all_lean = [low.lean or low for low in lowered]
    if _arena(graph, all_lean) >= best:
        return lowered
    order = sorted((i for i, low in enumerate(lowered) if low.lean),
                   key=lambda i: -lowered[i].scratch_bytes)
    lowered = list(lowered)
    for i in order:
        variant = lowered[i].lean
        while variant is not None:        # the fastest variant of the smallest arena
            trial = lowered[:i] + [variant] + lowered[i + 1:]
            arena = _arena(graph, trial)
            if arena < best:
                lowered, best = trial, arena
            variant = variant.lean
    return lowered


def _merged(graph: Graph, plan: Plan) -> set[int]:
    """Ops whose output 0 the plan put over their input 0 (in place)."""
    outs = {s.tensor for s in plan.sharing if s.reason == "in-place"}
    return {i for i, op in enumerate(graph.ops) if op.outputs and op.outputs[0] in outs}


def _inplace_where_it_pays(graph: Graph, lowered: list[Lowered]) -> list[Lowered]:
    """Running an op in place (Lowered.inplace_variant: its output over its input, for some
    scratch or speed) pays only if its neighbours do too: on a chain of convolutions every op
    must drop its input for the peak to fall. So every op takes its in-place variant at once;
    if that plans a smaller arena, each op then goes back to its usual variant, largest scratch
    first, wherever that does not grow the arena again (speed back where RAM is not at stake),
    and always where the plan did not in fact merge it (a variant that needs_inplace would
    compute garbage)."""
    if not any(low.inplace_variant for low in lowered):
        return lowered
    base = _plan(graph, lowered)[3].arena_bytes
    trial = [low.inplace_variant or low for low in lowered]
    plan = _plan(graph, trial)[3]
    for i in _unmerged_needs_inplace(graph, trial, plan):
        trial[i] = lowered[i]
    best = _arena(graph, trial)
    if best >= base:
        return lowered
    order = sorted((i for i, low in enumerate(lowered) if trial[i] is not low),
                   key=lambda i: -trial[i].scratch_bytes)
    for i in order:
        back = trial[:i] + [lowered[i]] + trial[i + 1:]
        arena = _arena(graph, back)
        if arena <= best:
            trial, best = back, arena
    return trial


def _unmerged_needs_inplace(graph: Graph, lowered: list[Lowered], plan: Plan) -> list[int]:
    merged = _merged(graph, plan)
    return [i for i, low in enumerate(lowered) if low.needs_inplace and i not in merged]


def compile_graph(graph: Graph, opts: LowerOptions = LowerOptions()) -> Compiled:
    graph = fold_constants(graph)
    if not graph.ops:
        raise TinygenError("model has no ops to run; nothing to compile")
    lowered = _lean_where_it_pays(graph, _inplace_where_it_pays(graph, lower_all(graph, opts)))
    state_offsets, state_bytes = _state_layout(graph)
    compiled, uses, sizes, plan = _plan(graph, lowered)
    unmerged = _unmerged_needs_inplace(graph, lowered, plan)
    if unmerged:
        raise PlanError(f"ops {unmerged} run only in place but the plan gives them their own "
                        f"output buffer")
    facts = liveness_lower_bound(graph, uses, {t: n for t, n in sizes.items() if t < len(graph.tensors)})
    return Compiled(graph, tuple(compiled), plan, facts,
                    inputs=tuple(_io_tensor(graph.tensor(i), "input") for i in graph.inputs),
                    outputs=tuple(_io_tensor(graph.tensor(i), "output") for i in graph.outputs),
                    state_offsets=state_offsets, state_bytes=state_bytes, options=opts)


def check_optimize(optimize: str) -> LowerOptions:
    if optimize not in OPTIMIZE:
        raise TinygenError(f"--optimize {c_comment(str(optimize), 20)} is not one of "
                           f"{', '.join(OPTIMIZE)}; pick speed (default) or size")
    return LowerOptions(optimize=optimize)


def compile_model(model: Union[str, Path, bytes], optimize: str = "speed") -> Compiled:
    """`optimize` reaches the op plugins (LowerOptions): "speed" may store constants in the
    layout the fastest kernels read (more flash), "size" the smallest."""
    return compile_graph(load_model(model), check_optimize(optimize))


def const_symbols(compiled: Compiled, name: str):
    """([(symbol, ConstArray)] model.c emits, {symbol: the symbol it reuses}). An array equal to
    an earlier one (same C type, same values) is emitted once and shared: an unrolled recurrent
    layer's steps read the same weights, which would otherwise be in flash once per step."""
    first: dict = {}
    emitted, alias = [], {}
    for c in compiled.ops:
        for a in c.lowered.consts:
            sym = f"{name}_op{c.op.index}_{a.suffix}"
            key = (a.ctype, a.values.dtype.str, a.values.tobytes())
            if key in first:
                alias[sym] = first[key]
            else:
                first[key] = sym
                emitted.append((sym, a))
    return emitted, alias


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
    inp: list          # int8_t * expressions of its activation inputs (in op input order)
    out: list          # int8_t * expressions of its outputs
    tinp: list         # the same, typed by each tensor's element type (int16_t *, float *, ...)
    tout: list
    scratch: str       # int8_t * expression of its scratch (a null pointer when it has none)
    notes: tuple
    in_shapes: str
    out_shapes: str
    tensor_notes: list
    optimize: str = "speed"   # "size": templates call the shared generic kernels (one copy each)
    kernel: str = ""          # the op whose specialised kernel this one runs (see _share_kernels)


def _shape(t: Optional[Tensor]) -> str:
    return "x".join(str(d) for d in t.shape) if t is not None else "-"


ELEMENT_CTYPES = {**IO_CTYPES, "bool": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t"}


class _Pointers:
    """C expressions for where each tensor lives: the arena, or the state area."""

    def __init__(self, compiled: Compiled):
        self.plan, self.state = compiled.plan, compiled.state_offsets
        self.graph = compiled.graph

    def raw(self, t: int) -> str:
        if t in self.state:
            return f"(state + {self.state[t]})"
        return f"(arena + {self.plan.offsets[t]})"

    def typed(self, t: int) -> str:
        ctype = ELEMENT_CTYPES.get(self.graph.tensor(t).dtype, "int8_t")
        return self.raw(t) if ctype == "int8_t" else f"(({ctype} *)(void *){self.raw(t)})"


def _op_context(env, c: CompiledOp, name: str, ptr: _Pointers, graph: Graph,
                optimize: str, alias: dict) -> _OpContext:
    op = c.op
    sym = f"{name}_op{op.index}"
    acts_in = [t for t in op.inputs if t >= 0 and not graph.tensor(t).is_const]
    names = {a.suffix: f"{sym}_{a.suffix}" for a in c.lowered.consts}
    return _OpContext(
        op=op, template=c.lowered.template,
        tpl=env.get_template(f"ops/{c.lowered.template}.c.j2").module,
        sym=sym, p=c.lowered.params, c={k: alias.get(v, v) for k, v in names.items()},
        consts=tuple(a for a in c.lowered.consts if names[a.suffix] not in alias), inp=[ptr.raw(t) for t in acts_in], out=[ptr.raw(t) for t in op.outputs],
        tinp=[ptr.typed(t) for t in acts_in], tout=[ptr.typed(t) for t in op.outputs],
        scratch=ptr.raw(c.scratch) if c.scratch is not None else "((int8_t *)0)",
        notes=c.lowered.notes,
        in_shapes=", ".join(_shape(graph.tensor(t)) for t in acts_in),
        out_shapes=", ".join(_shape(graph.tensor(t)) for t in op.outputs),
        tensor_notes=[f"out t{t} @ {ptr.raw(t)}: {graph.tensor(t).name}" for t in op.outputs],
        optimize=optimize)


# Templates whose specialised kernel can take its arrays as an argument, so layers with equal
# parameters (MobileNet's five repeated 6x6x128 depthwise layers) run one copy of it. Measured on
# the Cortex-M7 twin (benchmarks/bench_zoo.py, issue 12): sharing a depthwise kernel costs
# nothing (MobileNet-96: -1,895 instructions, DS-CNN KWS +0.18 %) and saves 584 B per repeat;
# sharing a pointwise (conv1d/conv2d) kernel saved 804 B per repeat but cost 2-4 % of those
# layers' instructions (the array pointers spill in the per-channel loop), so they keep one each.
SHARED_KERNELS = ("depthwise",)


def _share_kernels(contexts: list) -> None:
    """Ops of a SHARED_KERNELS template with equal parameters (everything but the constant
    arrays) run the first one's kernel, which then takes the arrays from the caller's params
    struct: o.kernel names it. An op alone with its parameters keeps its own kernel, every array
    address a constant (o.kernel empty)."""
    groups: dict = {}
    for o in contexts:
        if o.template in SHARED_KERNELS and o.optimize == "speed":
            key = (o.template, repr(sorted(o.p.items())), tuple(sorted(o.c)))
            groups.setdefault(key, []).append(o)
    for ops in groups.values():
        if len(ops) > 1:
            for o in ops:
                o.kernel = ops[0].sym


def _io_values(compiled: Compiled, ptr: _Pointers) -> dict:
    def one(io: IOTensor, k: int, role: str) -> dict:
        return dict(io=io, k=k, shape=list(io.shape), offset=compiled.plan.offsets[io.index],
                    scale_text=repr(io.scale) if io.scale is not None else "",
                    arg=f"{'in' if role == 'input' else 'out'}{k}")
    return dict(inputs=[one(io, k, "input") for k, io in enumerate(compiled.inputs)],
                outputs=[one(io, k, "output") for k, io in enumerate(compiled.outputs)])


def render_sources(compiled: Compiled, name: str, const_table: bool = True) -> dict[str, str]:
    """File name -> text for the model's own files (header and source). compiled.options'
    optimize "speed" gives every conv/depthwise/FC layer a specialised kernel (equal depthwise
    layers one between them: _share_kernels); "size" calls one shared generic kernel per op kind
    (less code, more instructions). `const_table`: the
    (pointer, size) table of every constant array and their digests, for the integrity check."""
    env = environment()
    optimize = compiled.options.optimize
    graph, plan = compiled.graph, compiled.plan
    ptr = _Pointers(compiled)
    _, alias = const_symbols(compiled, name)
    contexts = [_op_context(env, c, name, ptr, graph, optimize, alias) for c in compiled.ops]
    _share_kernels(contexts)
    state = [dict(offset=compiled.state_offsets[t.index], nbytes=t.nbytes,
                  fill=t.zero_point & 0xFF if t.dtype == "int8" and t.quant else 0,
                  note=f"t{t.index} {t.dtype}{list(t.shape)}: {t.name}")
             for t in graph.activations if t.is_variable]
    values = dict(
        version=__version__, sha256=graph.sha256, name=name, NAME=name.upper(),
        description=graph.description, ops=contexts, kernels=compiled.kernels,
        arena_bytes=plan.arena_bytes, arena_alloc=max(align_up(plan.arena_bytes), 4),
        lower_bound=plan.lower_bound, plan_strategy=plan.strategy,
        scratch_bytes=compiled.scratch_bytes,
        state=state, state_bytes=compiled.state_bytes,
        weight_bytes=compiled.weight_bytes, macs=compiled.macs,
        sha256_bytes=list(bytes.fromhex(graph.sha256)),
        **_io_values(compiled, ptr),
        **integrity.template_values(integrity.model_set(compiled, name) if const_table
                                    else integrity.const_set([])),
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


# The harness's src/main.c sits beside <name>.c in a PlatformIO project.
RESERVED_NAMES = ("main",)


def _plain_name(name: str) -> bool:
    return (c_identifier(name) == name and name not in RESERVED_NAMES
            and not name.startswith(("tg_", "_")))


def _suggest_name(name: str) -> str:
    """A name check_name accepts, close to what the user typed (never the refused name)."""
    body = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").removeprefix("tg_").strip("_")
    for candidate in (body, f"model_{body}"):
        if body and _plain_name(candidate):
            return candidate
    return "model"


def check_name(name: str) -> str:
    if not _plain_name(name):
        raise TinygenError(f"--name '{c_comment(name, 40)}' is not a plain C identifier tinygen "
                           f"can use as a prefix (letters, digits and _, not a C keyword, not main, not starting with _ or "
                           f"tg_); try --name {_suggest_name(name)}")
    return name


def generate(model: Union[str, Path, bytes, Compiled], out_dir: Union[str, Path],
             name: str = "model", optimize: str = "speed", const_table: bool = True) -> GenResult:
    """Write `<name>.h`, `<name>.c` and the runtime files the model needs into out_dir.
    `const_table`: False leaves out the constants' table and digests the integrity check walks
    (the field layer's `--integrity off`; a linker that drops unused data drops it anyway)."""
    name = check_name(name)
    check_optimize(optimize)
    compiled = model if isinstance(model, Compiled) else compile_model(model, optimize)
    if compiled.options.optimize != optimize:
        raise TinygenError(f"the model was compiled for --optimize {compiled.options.optimize}, "
                           f"not {optimize}; compile it again with the same option")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, text in render_sources(compiled, name, const_table).items():
        path = out / fname
        path.write_text(text)
        written.append(path)
    for src in runtime_files(compiled):
        dst = out / src.name
        shutil.copyfile(src, dst)
        written.append(dst)
    sources = tuple(sorted(p for p in written if p.suffix == ".c"))
    return GenResult(name=name, out_dir=out, header=out / f"{name}.h", sources=sources,
                     files=tuple(sorted(written)), compiled=compiled, const_table=const_table)
