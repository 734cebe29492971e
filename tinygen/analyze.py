"""What a model costs: per-op shapes, MACs, weights and arena placement, and totals.

Shared by `tinygen analyze` (table or JSON) and the build summary."""
from __future__ import annotations

from typing import Any, Optional

from .codegen import Compiled


def analysis(compiled: Compiled) -> dict[str, Any]:
    g, plan = compiled.graph, compiled.plan
    x, y = compiled.inputs[0], compiled.outputs[0]
    rows = []
    for c in compiled.ops:
        op, low = c.op, c.lowered
        acts_in = [t for t in op.inputs if t >= 0 and not g.tensor(t).is_const]
        out = op.outputs[0]
        placement = _placement(compiled, out, low)
        rows.append(dict(
            index=op.index, op=op.name, kernel=low.template,
            inputs=[list(g.tensor(t).shape) for t in acts_in],
            outputs=[list(g.tensor(t).shape) for t in op.outputs],
            macs=low.macs, weight_bytes=low.weight_bytes,
            arena_offset=plan.offsets.get(out), output_bytes=g.tensor(out).nbytes,
            placement=placement, scratch_bytes=low.scratch_bytes, notes=list(low.notes)))
    return dict(
        sha256=g.sha256,
        ops=rows,
        sharing=[dict(tensor=s.tensor, shares_with=s.shares_with, reason=s.reason)
                 for s in plan.sharing],
        totals=dict(
            ops=len(rows), macs=compiled.macs, weight_bytes=compiled.weight_bytes,
            arena_bytes=plan.arena_bytes, plan_lower_bound=plan.lower_bound,
            liveness_lower_bound=compiled.facts_lower_bound, plan_strategy=plan.strategy,
            scratch_bytes=compiled.scratch_bytes, state_bytes=compiled.state_bytes,
            input_bytes=x.nbytes, output_bytes=y.nbytes,
            input_shape=list(x.shape), output_shape=list(y.shape),
            input_scale=x.scale, input_zero_point=x.zero_point,
            output_scale=y.scale, output_zero_point=y.zero_point,
            kernels=compiled.kernels),
        inputs=[_io(io) for io in compiled.inputs],
        outputs=[_io(io) for io in compiled.outputs])


def _io(io) -> dict[str, Any]:
    return dict(tensor=io.index, dtype=io.dtype, shape=list(io.shape), bytes=io.nbytes,
                scale=io.scale, zero_point=io.zero_point)


def _placement(compiled: Compiled, t: int, low) -> str:
    if low.alias:
        return "alias of input"
    if t in compiled.state_offsets:
        return f"state {compiled.state_offsets[t]}"
    off = compiled.plan.offsets[t]
    where = "view of input " if any(v == t for v, _ in low.views) else ""
    return f"{where}{off}..{off + compiled.graph.tensor(t).nbytes}"


def _shape(shapes: list[list[int]]) -> str:
    return ", ".join("x".join(map(str, s)) for s in shapes) or "-"


def format_table(a: dict[str, Any], fit: Optional[dict[str, Any]] = None) -> str:
    head = f"{'#':>3}  {'op':<18} {'input':<18} {'output':<14} {'MACs':>10} {'weights':>9}  arena (output)"
    lines = [head, "-" * len(head)]
    for r in a["ops"]:
        lines.append(f"{r['index']:>3}  {r['op']:<18} {_shape(r['inputs']):<18} "
                     f"{_shape(r['outputs']):<14} {r['macs']:>10,} {r['weight_bytes']:>9,}  "
                     f"{r['placement']}")
    t = a["totals"]
    lines += [
        "",
        f"weights (flash)          {t['weight_bytes']:>10,} B",
        f"arena (RAM)              {t['arena_bytes']:>10,} B   ({t['plan_strategy']} plan; "
        f"input, output and {t['scratch_bytes']:,} B of kernel scratch live in it)",
        f"liveness lower bound     {t['liveness_lower_bound']:>10,} B   (tensors in model order, none in place; "
        f"the plan's own bound with {4}-byte alignment and aliasing: {t['plan_lower_bound']:,} B)",
        f"MACs per inference       {t['macs']:>10,}",
    ]
    if t["state_bytes"]:
        lines.insert(-1, f"recurrent state (RAM)    {t['state_bytes']:>10,} B   (kept across calls)")
    if a["sharing"]:
        shared = ", ".join(f"t{s['tensor']}={s['reason']} of t{s['shares_with']}" for s in a["sharing"])
        lines.append(f"shared memory            {shared}")
    if fit:
        lines += ["", f"board {fit['board']}:"]
        for row in fit["rows"]:
            mark = "ok" if row["fits"] else "DOES NOT FIT"
            lines.append(f"  {row['what']:<22} {row['used']:>10,} B of {row['limit']:>10,} B "
                         f"({100.0 * row['used'] / max(row['limit'], 1):5.1f} %)  {mark}")
    return "\n".join(lines)
