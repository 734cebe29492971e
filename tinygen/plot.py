"""Pictures where they say more than a table: the arena plan over time.

matplotlib is optional (the `plot` extra); it is imported only when a plot is asked for."""
from __future__ import annotations

from pathlib import Path

from .codegen import Compiled
from .errors import ToolchainMissing


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ToolchainMissing("plotting needs matplotlib: pip install 'tinygen[plot]'") from None
    return plt


def plot_plan(compiled: Compiled, path: Path, title: str = "") -> Path:
    """Each buffer as a box: x = the ops during which it is live, y = its bytes in the arena."""
    plt = _pyplot()
    plan, graph = compiled.plan, compiled.graph
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(graph.ops) + 3), 4.5), dpi=120)
    cmap = plt.get_cmap("tab20")
    for i, (b, off) in enumerate(zip(plan.buffers, plan.buffer_offsets)):
        ax.add_patch(plt.Rectangle((b.start - 0.45, off), b.end - b.start + 0.9, b.size,
                                   facecolor=cmap(i % 20), edgecolor="black", linewidth=0.6))
        label = "t" + "/".join(str(t) for t in b.tensors[:3])
        ax.text(b.start - 0.4, off + b.size / 2, f"{label} {b.size} B", fontsize=7,
                va="center", clip_on=True)
    ax.axhline(plan.arena_bytes, color="black", linewidth=1.2)
    ax.text(len(graph.ops) - 0.5, plan.arena_bytes, f" arena {plan.arena_bytes:,} B",
            va="bottom", ha="right", fontsize=8)
    ax.axhline(compiled.facts_lower_bound, color="red", linestyle="--", linewidth=1)
    ax.text(-0.5, compiled.facts_lower_bound, f"liveness bound {compiled.facts_lower_bound:,} B",
            va="top", fontsize=8, color="red")
    ax.set_xlim(-0.6, len(graph.ops) - 0.4)
    ax.set_ylim(0, max(plan.arena_bytes, compiled.facts_lower_bound) * 1.12 + 1)
    ax.set_xticks(range(len(graph.ops)))
    ax.set_xticklabels([f"{op.index}\n{op.type.value[:10]}" for op in graph.ops], fontsize=6)
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(title or f"arena plan ({plan.strategy}): {plan.arena_bytes:,} B")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")     # the path given, never path + ".png"
    plt.close(fig)
    return path
