"""Data movement as data: every op that only moves elements is lowered to a few `Move`s.

A Move copies `run` contiguous elements at each point of up to six nested loops. Each loop has a
count, a destination step, and a source step -- or, where the source index is not linear in the
loop index (mirror padding, nearest-neighbour resizing, gathering by constant positions, batch to
space), a table of source offsets, one per iteration. With a source step of 0 a loop repeats
(TILE); with a negative one it walks backwards (STRIDED_SLICE with a negative stride).

An op plugin computes its moves once, in element units, from the op's shapes and constant
inputs. The same moves are
  - run by tg_move() in C (firmware/kernels/tg_move.c) after conversion to bytes,
  - run by `execute` in numpy when every input is a constant (the op's compile-time fold),
  - inspected to find outputs that are a contiguous, word-aligned part of the input (views: no
    code and no memory; the planner keeps the input alive until the last view is read),
so the C, the fold and the views cannot disagree. Loops that are contiguous in both source and
destination are merged first (`simplify`), so kernels copy runs, not elements.

Not a plugin: shared by the data-movement plugins (listed in ops/__init__.HELPERS).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence, Union

import numpy as np

from ..errors import ModelError, TinygenError
from ..ir import Graph, Op, Tensor
from .base import ConstArray, Lowered, Port, unsupported

MAX_LOOPS = 6          # TG_MOVE_LOOPS in tg_move.h
MAX_MOVES = 256        # more would only come from a pathological model; refused, not compiled
Step = Union[int, tuple[int, ...]]   # a linear step, or one source offset per iteration


@dataclass(frozen=True)
class Loop:
    count: int
    src: Step          # elements between iterations in the source, or per-iteration offsets
    dst: int           # elements between iterations in the destination

    @property
    def mapped(self) -> bool:
        return isinstance(self.src, tuple)

    def src_offsets(self) -> np.ndarray:
        if self.mapped:
            return np.asarray(self.src, dtype=np.int64)
        return np.arange(self.count, dtype=np.int64) * int(self.src)


@dataclass(frozen=True)
class Move:
    """Copy `run` elements at every point of `loops` from source `src_arg` to output `dst_arg`."""
    loops: tuple[Loop, ...]
    run: int
    src: int = 0                       # element offset of the first point in the source
    dst: int = 0                       # ... and in the destination
    src_arg: int = 0                   # the op input it reads (position in op.inputs)
    dst_arg: int = 0                   # the op output it writes (position in op.outputs)

    @property
    def elements(self) -> int:
        n = self.run
        for lp in self.loops:
            n *= lp.count
        return n


@dataclass(frozen=True)
class Fill:
    """Set every element of output `dst_arg` to `value` (padding; moves then overwrite the rest)."""
    dst_arg: int
    value: int


Plan = list[Union[Fill, Move]]


def simplify(m: Move) -> Move:
    """Drop loops of one iteration, fold a contiguous innermost loop into the run, and merge
    neighbouring loops that are contiguous in both source and destination."""
    if m.run == 0 or any(lp.count == 0 for lp in m.loops):
        return replace(m, loops=(), run=0)
    loops, src = [], m.src
    for lp in m.loops:
        if lp.mapped:   # tables start at 0 (the first entry moves into src); a table that
            first = lp.src[0]  # is an arithmetic progression becomes a step
            src += first
            diffs = {b - a for a, b in zip(lp.src, lp.src[1:])}
            if len(diffs) <= 1:
                lp = Loop(lp.count, diffs.pop() if diffs else 0, lp.dst)
            else:
                lp = Loop(lp.count, tuple(v - first for v in lp.src), lp.dst)
        if lp.count != 1:
            loops.append(lp)
    m = replace(m, src=src)
    run = m.run
    merged: list[Loop] = []
    for lp in loops:
        merged.append(lp)
        while len(merged) >= 2:
            outer, inner = merged[-2], merged[-1]
            if outer.mapped or inner.mapped or outer.src != inner.count * inner.src \
                    or outer.dst != inner.count * inner.dst:
                break
            merged[-2:] = [Loop(outer.count * inner.count, inner.src, inner.dst)]
    while merged and not merged[-1].mapped and merged[-1].src == run and merged[-1].dst == run:
        run *= merged.pop().count
    return replace(m, loops=tuple(merged), run=run)


def fit(m: Move) -> list[Move]:
    """Moves with at most MAX_LOOPS loops: outer loops beyond that become separate moves."""
    if len(m.loops) <= MAX_LOOPS:
        return [m]
    outer, rest = m.loops[0], m.loops[1:]
    offsets = outer.src_offsets()
    moves = []
    for i in range(outer.count):
        moves += fit(replace(m, loops=rest, src=m.src + int(offsets[i]), dst=m.dst + i * outer.dst))
    return moves


def _indices(m: Move) -> tuple[np.ndarray, np.ndarray]:
    """Flat source and destination element indices of every element m copies, in copy order."""
    src = np.array([m.src], dtype=np.int64)
    dst = np.array([m.dst], dtype=np.int64)
    for lp in m.loops:
        src = (src[:, None] + lp.src_offsets()[None, :]).ravel()
        dst = (dst[:, None] + np.arange(lp.count, dtype=np.int64)[None, :] * lp.dst).ravel()
    step = np.arange(m.run, dtype=np.int64)
    return (src[:, None] + step).ravel(), (dst[:, None] + step).ravel()


def execute(plan: Plan, sources: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> None:
    """Run a plan in numpy on flat arrays (element units): the fold, and the tests' model of C."""
    for s in plan:
        if isinstance(s, Fill):
            outputs[s.dst_arg][...] = s.value
        else:
            src_idx, dst_idx = _indices(s)
            outputs[s.dst_arg][dst_idx] = sources[s.src_arg][src_idx]


def extent(m: Move) -> tuple[int, int, int, int]:
    """(lowest, highest) source and destination element index m touches, without enumerating."""
    s_lo = s_hi = m.src
    d_lo = d_hi = m.dst
    for lp in m.loops:
        offs = lp.src_offsets()
        s_lo, s_hi = s_lo + int(offs.min()), s_hi + int(offs.max())
        span = (lp.count - 1) * lp.dst
        d_lo, d_hi = d_lo + min(0, span), d_hi + max(0, span)
    return s_lo, s_hi + m.run - 1, d_lo, d_hi + m.run - 1


def check_bounds(op: Op, plan: Plan, src_sizes: Sequence[int], dst_sizes: Sequence[int]) -> None:
    """Every move stays inside its tensors: a failure is a tinygen bug, never a silent overrun."""
    for s in plan:
        if isinstance(s, Fill) or s.run == 0:
            continue
        s_lo, s_hi, d_lo, d_hi = extent(s)
        src_size = src_sizes[s.src_arg]
        if s_lo < 0 or d_lo < 0 or s_hi >= src_size or d_hi >= dst_sizes[s.dst_arg]:
            raise ModelError(f"op {op.index} ({op.name}): the copy would leave its tensors "
                             f"(source {s_lo}..{s_hi} of {src_size}, destination {d_lo}..{d_hi}); "
                             "the file is inconsistent")


def finish(plan: Plan) -> Plan:
    """Simplified, rank-limited moves; moves that copy nothing dropped."""
    out: Plan = []
    for s in plan:
        if isinstance(s, Fill):
            out.append(s)
            continue
        m = simplify(s)
        if m.run:
            out += fit(m)
    return out


# ---- checks shared by the data-movement plugins --------------------------------------------------

def index(role: str) -> Port:
    """The port of an index input (begin, perm, axis, block shape, paddings): present, not state;
    const_ints() in lower() says what else it must be (a constant of the type TFLite-Micro
    reads), with the fix that fits (static shapes), which a port's message would not."""
    return Port(role, None, const=None, quantized=False)


def need_data(op: Op, t: Optional[Tensor], role: str, dtypes: Sequence[str]) -> Tensor:
    """An activation tensor of one of `dtypes` (the types TFLite-Micro's kernel takes)."""
    if t is None:
        raise unsupported(op, f"missing {role} tensor")
    if t.dtype not in dtypes:
        raise unsupported(op, f"{role} tensor {t.index} is {t.dtype}; TFLite-Micro's kernel "
                          f"takes {', '.join(dtypes)}")
    if t.is_const:
        raise unsupported(op, f"{role} tensor {t.index} is a constant",
                          "let the converter fold constant subgraphs")
    return t


def same_type(op: Op, x: Tensor, y: Tensor, role: str = "output") -> None:
    if y.dtype != x.dtype:
        raise unsupported(op, f"{role} tensor {y.index} is {y.dtype} but the input is {x.dtype}; "
                          "a data-movement op does not convert types")


def const_ints(op: Op, t: Optional[Tensor], role: str, dtypes=("int32",)) -> list[int]:
    """The values of a constant index tensor (begin, perm, axis, ...)."""
    if t is None or not t.is_const:
        raise unsupported(op, f"{role} must be a constant tensor",
                          "TFLite-Micro needs it constant too; give the model static shapes")
    if t.dtype not in dtypes:
        raise unsupported(op, f"{role} tensor {t.index} is {t.dtype}; TFLite-Micro reads "
                          f"{' or '.join(dtypes)}")
    return [int(v) for v in np.asarray(t.data).ravel()]


def check_shape(op: Op, y: Tensor, want: Sequence[int], role: str = "output") -> None:
    if tuple(y.shape) != tuple(want):
        raise ModelError(f"op {op.index} ({op.name}): {role} tensor {y.index} has shape "
                         f"{list(y.shape)} but the op gives {list(want)}; the file is inconsistent")


def strides_of(shape: Sequence[int]) -> list[int]:
    """Row-major element strides."""
    out, acc = [], 1
    for d in reversed(list(shape)):
        out.append(acc)
        acc *= d
    return out[::-1]


# ---- from moves to a Lowered -------------------------------------------------------------------

def lower_single(op: Op, graph: Graph, dtypes: Sequence[str], plan_fn: PlanFn) -> Lowered:
    """The lowering of a one-activation move (TILE, TRANSPOSE, MIRROR_PAD): the input's type
    checked, the output's the same, then the plan."""
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    x = need_data(op, ins[0], "input", dtypes)
    same_type(op, x, outs[0])
    return lowered(op, graph, plan_fn(op, ins, outs))


def lowered(op: Op, graph: Graph, plan: Plan, allow_views: bool = True,
            notes: tuple = ()) -> Lowered:
    """The Lowered of a data-movement plan: tg_move_t parameters (bytes) for the template, the
    constant inputs a move reads and the offset tables as const arrays, and the views."""
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    itemsize = np.dtype(outs[0].dtype).itemsize
    plan = finish(plan)
    if len(plan) > MAX_MOVES:
        raise unsupported(op, f"needs {len(plan)} separate copies (more than {MAX_MOVES})")
    check_bounds(op, plan, [t.size if t is not None else 0 for t in ins], [t.size for t in outs])
    acts = [pos for pos, t in enumerate(ins) if t is not None and not t.is_const]
    views = _views(op, graph, plan, acts, itemsize) if allow_views else {}
    arrays: list[ConstArray] = []
    moves, steps = [], []
    for s in plan:
        if s.dst_arg in views:
            continue
        if isinstance(s, Fill):
            steps.append(dict(kind="fill", dst=s.dst_arg, count=outs[s.dst_arg].size,
                              value=s.value, elem=itemsize))
            continue
        params, maps = _move_params(s, itemsize, f"m{len(moves)}")
        arrays += maps
        if s.src_arg in acts:
            src = ("in", acts.index(s.src_arg))
        else:
            src = ("const", f"in{s.src_arg}")
            if all(a.suffix != src[1] for a in arrays):
                arrays.append(_const_array(src[1], ins[s.src_arg]))
        steps.append(dict(kind="move", move=len(moves), src=src, dst=s.dst_arg))
        moves.append(params)
    view_list = tuple((op.outputs[j], off) for j, off in sorted(views.items()))
    if views and not steps:
        notes = notes + ("no code, no copy: a view of its input",)
    kernels = ("tg_move",) if steps else ()
    return Lowered("move", kernels, dict(moves=moves, steps=steps), tuple(arrays),
                   views=view_list, notes=notes)


_CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
           "bool": "uint8_t"}


def _const_array(suffix: str, t: Tensor) -> ConstArray:
    if t.dtype not in _CTYPES:
        raise ModelError(f"constant tensor {t.index} is {t.dtype}; it cannot be copied")
    return ConstArray(suffix, _CTYPES[t.dtype], np.asarray(t.data).reshape(-1).astype(np.int64))


def _move_params(m: Move, itemsize: int, name: str) -> tuple[dict, list[ConstArray]]:
    """Byte offsets and steps for tg_move_t; tables become int32 const arrays."""
    pad = MAX_LOOPS - len(m.loops)
    loops = [Loop(1, 0, 0)] * pad + list(m.loops)
    maps, map_names = [], []
    for k, lp in enumerate(loops):
        if lp.mapped:
            suffix = f"{name}_map{k}"
            maps.append(ConstArray(suffix, "int32_t", np.asarray(lp.src, dtype=np.int64) * itemsize))
            map_names.append(suffix)
        else:
            map_names.append("")
    return dict(src=m.src * itemsize, dst=m.dst * itemsize, run=m.run * itemsize,
                count=[lp.count for lp in loops],
                src_step=[0 if lp.mapped else int(lp.src) * itemsize for lp in loops],
                dst_step=[lp.dst * itemsize for lp in loops], maps=map_names), maps


# ---- views -------------------------------------------------------------------------------------

def _views(op: Op, graph: Graph, plan: Plan, acts: Sequence[int], itemsize: int) -> dict[int, int]:
    """Outputs that are one contiguous, word-aligned run of the op's first activation input
    (the planner's input 0): output position -> byte offset. Declared only when it cannot raise
    the arena (see view_pays)."""
    if not acts or any(isinstance(s, Fill) for s in plan):
        return {}
    writers: dict[int, list[Move]] = {}
    for s in plan:
        writers.setdefault(s.dst_arg, []).append(s)
    size = {j: graph.tensor(t).size for j, t in enumerate(op.outputs)}
    found = {}
    for j, ms in writers.items():
        m = ms[0]
        if len(ms) == 1 and m.src_arg == acts[0] and not m.loops and m.dst == 0 \
                and m.run == size[j] and (m.src * itemsize) % 4 == 0:
            found[j] = m.src * itemsize
    source = op.inputs[acts[0]]
    if found and not view_pays(graph, op, source, [op.outputs[j] for j in found]):
        return {}
    return found


def view_pays(graph: Graph, op: Op, source: int, views: Sequence[int]) -> bool:
    """True when keeping `source` alive for its views never holds more bytes, at any op, than
    copying them would: the views' liveness peak is at most the copies' peak (FACTS.md's
    liveness bound, model order), so a view never raises the arena above TFLite-Micro's."""
    n = len(graph.ops)
    pos = {o.index: i for i, o in enumerate(graph.ops)}
    here = pos[op.index]
    born: dict[int, int] = {t: 0 for t in graph.inputs}
    last: dict[int, int] = {}
    for i, o in enumerate(graph.ops):
        for t in o.outputs:
            born.setdefault(t, i)
        for t in o.inputs:
            if t >= 0:
                last[t] = i
    for t in graph.outputs:
        last[t] = n - 1
    # tensors only ops without a plugin touch are unchecked (checks._used) and may carry a type
    # numpy does not know; lowering refuses those ops, so their bytes never matter here
    sizes = {t.index: t.nbytes for t in graph.activations
             if not t.is_variable and _known_dtype(t.dtype)}

    def peak(merged: bool) -> int:
        live = np.zeros(n, dtype=np.int64)
        for t, size in sizes.items():
            if merged and t in views:
                continue
            end = last.get(t, born.get(t, 0))
            if merged and t == source:
                end = max([end] + [last.get(v, here) for v in views])
            live[born.get(t, 0):end + 1] += size
        return int(live.max()) if n else 0

    return peak(True) <= peak(False)


def _known_dtype(dtype: str) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


# ---- folding -------------------------------------------------------------------------------------

PlanFn = Callable[[Op, Sequence[Optional[Tensor]], Sequence[Tensor]], Plan]


def folder(plan_fn: PlanFn):
    """An OpSupport.fold that runs the op's own plan in numpy when every input is a constant."""
    def fold(op: Op, ins: Sequence[Optional[Tensor]], outs: Sequence[Tensor]):
        if not outs or any(t is not None and not t.is_const for t in ins):
            return None
        try:
            plan = finish(plan_fn(op, ins, outs))
            check_bounds(op, plan, [t.size if t is not None else 0 for t in ins],
                         [t.size for t in outs])
        except TinygenError:   # what the plan refuses is reported when the op is lowered
            return None
        results = [np.zeros(t.size, dtype=np.dtype(t.dtype)) for t in outs]
        flat = [np.asarray(t.data).reshape(-1) if t is not None else None for t in ins]
        for s in plan:
            if isinstance(s, Move) and flat[s.src_arg].dtype != results[s.dst_arg].dtype:
                return None
        execute(plan, flat, results)
        return [r.reshape(t.shape) for r, t in zip(results, outs)]
    return fold
