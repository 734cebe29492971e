"""Arena planner: one static buffer, an offset for every activation tensor.

Algorithm
---------
1. Buffers. Every activation tensor gets a buffer, except those that need no memory of their own:
   outputs of reshape-family ops alias their input (same bytes, new shape), views (a contiguous
   slice or split of their input) live inside their input's buffer at a byte offset, and outputs
   of ops that can run in place (`Lowered.inplace`) share their input's buffer when that input is
   read by nobody afterwards and is not the caller's graph input. A buffer lives from the op that
   writes it (op 0 for the graph input) to the last op that reads it (the last op for the graph
   output); sizes are rounded up to ALIGN bytes. An op's scratch is a buffer of its own that
   lives during that op only (the caller passes it as one more written "tensor").
   In place is not free when the output is smaller (a pool): the merged buffer keeps the input's
   size for the output's whole life and can raise the bound. So buffers are formed under three
   policies — every legal in-place merge, same-size merges only (never worse), none — and the
   policy whose best plan is smallest wins. An op that writes its output from the end back
   (`TensorUse.grows`: an expanding pointwise convolution in reverse order) may also merge into
   an input smaller than its output: the buffer then takes the output's size, input at its start.
   Whether a kernel may run in place is the op plugin's proof (tinygen/ops/), not the planner's;
   the planner only guarantees that nothing else is live in the merged bytes.
2. Lower bound. At op i, every buffer whose lifetime contains i must be resident at once, so no
   plan can be smaller than max_i sum(size of buffers live at i) — the liveness lower bound.
3. Placement. Several cheap strategies each produce a complete plan; the smallest wins:
   - "greedy-by-size": TFLite-Micro's GreedyMemoryPlanner rule — largest buffer first, each at
     the lowest offset that does not collide with an already placed, time-overlapping buffer.
     Including it means the arena is never larger than TFLite-Micro's for the same lifetimes.
   - "two-ended": buffers in order of birth, placed alternately from the bottom and from the top
     of an arena exactly the size of the lower bound (first fit from that end). On a chain of
     ops each op's input and output sit at opposite ends, so the bound is met exactly.
   - "greedy-by-birth" / "greedy-by-lifetime": first fit in other orders; they win on some
     branched graphs.
   The run time is O(B^2 log B) per strategy for B buffers: milliseconds for real models.
4. Check. Every plan is verified before use, in every build (not only in tests): each offset is
   aligned, lies inside the arena, and no two buffers that are live at the same op overlap.
   Every in-place pair starts at the same byte, and the output overruns its input's bytes only
   where the op said it grows. A failure is a bug in tinygen and raises PlanError.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

ALIGN = 4  # word alignment: legal 32-bit loads on every Cortex-M and RISC-V core


class PlanError(AssertionError):
    """The planner produced an invalid plan: a tinygen bug, never a user error."""


def align_up(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Buffer:
    id: int
    size: int                 # aligned bytes
    start: int                # first op at which it is live
    end: int                  # last op at which it is live
    tensors: tuple[int, ...]  # tensor indices stored here (root first, then aliases / in-place)
    views: tuple[int, ...] = ()  # byte offset of each of `tensors` inside the buffer

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True)
class Sharing:
    tensor: int
    shares_with: int
    reason: str               # "alias" (reshape family), "view" (slice of it) or "in-place"


@dataclass(frozen=True)
class Plan:
    arena_bytes: int
    offsets: dict[int, int]           # tensor index -> byte offset in the arena
    buffers: tuple[Buffer, ...]
    buffer_offsets: tuple[int, ...]   # offset of buffers[i]
    lower_bound: int                  # liveness lower bound of these buffers
    strategy: str
    sharing: tuple[Sharing, ...] = field(default=())


@dataclass(frozen=True)
class TensorUse:
    """What the planner needs to know about one op: which tensors it reads and writes."""
    reads: tuple[int, ...]
    writes: tuple[int, ...]
    alias: bool = False       # output 0 is input 0 reinterpreted
    inplace: bool = False     # output 0 may overwrite input 0
    grows: bool = False       # ... even when it is larger: the op writes from the end back, so
                              # the merged buffer takes the output's size, input at its start
    views: tuple[tuple[int, int], ...] = ()  # (output tensor, byte offset): lies inside input 0


INPLACE_POLICIES = ("all", "same-size", "none")


def make_buffers(n_ops: int, uses: Sequence[TensorUse], sizes: dict[int, int],
                 graph_inputs: Iterable[int], graph_outputs: Iterable[int], align: int = ALIGN,
                 inplace_policy: str = "all"
                 ) -> tuple[list[Buffer], dict[int, int], list[Sharing]]:
    """Group tensors into buffers with lifetimes. Returns (buffers, tensor->buffer id, sharing)."""
    graph_inputs, graph_outputs = set(graph_inputs), set(graph_outputs)
    root: dict[int, int] = {}            # tensor -> root tensor of its buffer
    view: dict[int, int] = {}            # tensor -> byte offset inside its root's buffer
    sharing: list[Sharing] = []

    def find(t: int) -> int:
        while root.get(t, t) != t:
            t = root[t]
        return t

    last_read: dict[int, int] = {}
    for i, use in enumerate(uses):
        for t in use.reads:
            last_read[t] = i

    for i, use in enumerate(uses):
        if not use.writes or not use.reads:
            continue
        out, inp = use.writes[0], use.reads[0]
        if use.alias:
            root[out], view[out] = find(inp), view.get(inp, 0)
            sharing.append(Sharing(out, inp, "alias"))
        elif use.views:
            for t, offset in use.views:
                if offset % align:
                    raise PlanError(f"view of tensor {inp} at byte {offset} is not "
                                    f"{align}-byte aligned")
                root[t], view[t] = find(inp), view.get(inp, 0) + offset
                sharing.append(Sharing(t, inp, "view"))
        elif use.inplace and inplace_policy != "none":
            r = find(inp)
            members = [t for t in list(root) + [r] if find(t) == r]
            reads_later = any(last_read.get(t, -1) > i for t in members)
            widest = max(view.get(t, 0) + sizes[t] for t in members)
            extent = view.get(inp, 0) + sizes[out]
            # an output larger than its input overruns it (bytes the kernel never proved safe)
            # unless the op writes from the end back (grows)
            fits = (sizes[out] <= sizes[inp] or use.grows) and (
                extent == widest if inplace_policy == "same-size" else extent <= widest or use.grows)
            if not reads_later and r not in graph_inputs and not (set(members) & graph_outputs) and fits:
                root[out], view[out] = r, view.get(inp, 0)
                sharing.append(Sharing(out, inp, "in-place"))

    tensors = set(sizes)
    start: dict[int, int] = {}
    end: dict[int, int] = {}
    for t in tensors:
        r = find(t)
        start.setdefault(r, n_ops)
        end.setdefault(r, -1)
    for i, use in enumerate(uses):
        for t in use.writes:
            r = find(t)
            start[r] = min(start[r], i)
            end[r] = max(end[r], i)
        for t in use.reads:
            r = find(t)
            end[r] = max(end[r], i)
    for t in graph_inputs:
        start[find(t)] = 0
    for t in graph_outputs:
        end[find(t)] = max(n_ops - 1, 0)

    members: dict[int, list[int]] = {}
    for t in sorted(tensors):
        members.setdefault(find(t), []).append(t)
    buffers, owner = [], {}
    for bid, (r, ts) in enumerate(sorted(members.items())):
        ts = [r] + [t for t in ts if t != r]
        s = start[r] if start[r] <= end[r] else end[r]
        extent = max(view.get(t, 0) + sizes[t] for t in ts)
        buffers.append(Buffer(bid, align_up(extent, align), min(s, end[r]), end[r], tuple(ts),
                              tuple(view.get(t, 0) for t in ts)))
        for t in ts:
            owner[t] = bid
    return buffers, owner, sharing


def lower_bound(buffers: Sequence[Buffer]) -> int:
    if not buffers:
        return 0
    horizon = max(b.end for b in buffers) + 1
    return max(sum(b.size for b in buffers if b.start <= i <= b.end) for i in range(horizon))


# ---- placement strategies ----------------------------------------------------------------------

def _first_fit(order: Sequence[Buffer]) -> list[int]:
    """Place buffers in `order`, each at the lowest offset free of time-overlapping placed ones."""
    placed: list[tuple[int, Buffer]] = []
    offsets = {}
    for b in order:
        busy = sorted((o, p.size) for o, p in placed if p.overlaps_in_time(b))
        offset = 0
        for o, size in busy:
            if offset + b.size <= o:
                break
            offset = max(offset, o + size)
        offsets[b.id] = offset
        placed.append((offset, b))
    return [offsets[b.id] for b in sorted(order, key=lambda b: b.id)]


def _two_ended(buffers: Sequence[Buffer], capacity: int) -> Optional[list[int]]:
    """Alternate bottom-up / top-down first fit inside `capacity`; None if something does not fit."""
    placed: list[tuple[int, Buffer]] = []
    offsets = {}
    for k, b in enumerate(sorted(buffers, key=lambda b: (b.start, b.id))):
        busy = sorted((o, p.size) for o, p in placed if p.overlaps_in_time(b))
        if k % 2 == 0:
            offset = 0
            for o, size in busy:
                if offset + b.size <= o:
                    break
                offset = max(offset, o + size)
        else:
            offset = capacity - b.size
            for o, size in sorted(busy, key=lambda x: -(x[0] + x[1])):
                if o + size <= offset:
                    break
                offset = min(offset, align_down(o - b.size))
        if offset < 0 or offset + b.size > capacity:
            return None
        offsets[b.id] = offset
        placed.append((offset, b))
    return [offsets[b.id] for b in sorted(buffers, key=lambda b: b.id)]


def align_down(n: int, a: int = ALIGN) -> int:
    return n // a * a


STRATEGIES: dict[str, Callable[[Sequence[Buffer]], list[Buffer]]] = {
    "greedy-by-size": lambda bs: sorted(bs, key=lambda b: (-b.size, b.start, b.id)),
    "greedy-by-birth": lambda bs: sorted(bs, key=lambda b: (b.start, -b.size, b.id)),
    "greedy-by-lifetime": lambda bs: sorted(bs, key=lambda b: (-(b.end - b.start), -b.size, b.id)),
    "greedy-by-area": lambda bs: sorted(bs, key=lambda b: (-(b.end - b.start + 1) * b.size, b.id)),
}


def arena_size(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    return max((o + b.size for b, o in zip(buffers, offsets)), default=0)


def check(buffers: Sequence[Buffer], offsets: Sequence[int], arena_bytes: int) -> None:
    """Raise PlanError unless the placement is aligned, in bounds and collision free."""
    for b, o in zip(buffers, offsets):
        if o % ALIGN or o < 0 or o + b.size > arena_bytes:
            raise PlanError(f"buffer {b.id} at {o}+{b.size} breaks alignment or the arena "
                            f"({arena_bytes} B)")
    for i, (a, oa) in enumerate(zip(buffers, offsets)):
        for b, ob in zip(buffers[i + 1:], offsets[i + 1:]):
            if a.overlaps_in_time(b) and oa < ob + b.size and ob < oa + a.size:
                raise PlanError(f"buffers {a.id} (tensors {a.tensors}) and {b.id} (tensors "
                                f"{b.tensors}) are live together but overlap in memory")


def check_inplace(uses: Sequence[TensorUse], sharing: Sequence[Sharing], offsets: dict[int, int],
                  sizes: dict[int, int]) -> None:
    """Raise PlanError unless every in-place output starts at its input's first byte and is no
    larger than it, except for ops that declared they grow."""
    grows = {u.writes[0] for u in uses if u.writes and u.grows}
    for s in sharing:
        if s.reason != "in-place":
            continue
        if offsets[s.tensor] != offsets[s.shares_with]:
            raise PlanError(f"tensor {s.tensor} runs in place over tensor {s.shares_with} but "
                            f"starts at byte {offsets[s.tensor]}, not {offsets[s.shares_with]}")
        if sizes[s.tensor] > sizes[s.shares_with] and s.tensor not in grows:
            raise PlanError(f"tensor {s.tensor} ({sizes[s.tensor]} B) overruns tensor "
                            f"{s.shares_with} ({sizes[s.shares_with]} B) it runs in place over")


def place(buffers: Sequence[Buffer]) -> tuple[list[int], str]:
    """Best placement over all strategies (ties go to the earlier strategy, deterministically)."""
    candidates: list[tuple[int, int, str, list[int]]] = []
    bound = lower_bound(buffers)
    two = _two_ended(buffers, bound)
    if two is not None:
        candidates.append((arena_size(buffers, two), 0, "two-ended", two))
    for rank, (name, order) in enumerate(STRATEGIES.items(), start=1):
        offs = _first_fit(order(buffers))
        candidates.append((arena_size(buffers, offs), rank, name, offs))
    size, _, name, offs = min(candidates, key=lambda c: (c[0], c[1]))
    return offs, name


def plan_memory(n_ops: int, uses: Sequence[TensorUse], sizes: dict[int, int],
                graph_inputs: Iterable[int], graph_outputs: Iterable[int]) -> Plan:
    """Plan the arena for activation tensors `sizes` (tensor index -> bytes) used by `uses`."""
    graph_inputs, graph_outputs = list(graph_inputs), list(graph_outputs)
    best = None
    for rank, policy in enumerate(INPLACE_POLICIES):
        buffers, owner, sharing = make_buffers(n_ops, uses, sizes, graph_inputs, graph_outputs,
                                               inplace_policy=policy)
        offsets, strategy = place(buffers)
        key = (arena_size(buffers, offsets), rank)
        if best is None or key < best[0]:
            best = (key, buffers, owner, sharing, offsets, strategy)
    _, buffers, owner, sharing, offsets, strategy = best
    arena = arena_size(buffers, offsets)
    check(buffers, offsets, arena)
    inside = {t: off for b in buffers for t, off in zip(b.tensors, b.views)}
    tensor_offsets = {t: offsets[owner[t]] + inside[t] for t in sizes}
    check_inplace(uses, sharing, tensor_offsets, sizes)
    return Plan(arena_bytes=arena, offsets=tensor_offsets, buffers=tuple(buffers),
                buffer_offsets=tuple(offsets), lower_bound=lower_bound(buffers), strategy=strategy,
                sharing=tuple(sharing))
