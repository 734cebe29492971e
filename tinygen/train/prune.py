"""Structured channel pruning of the student, to a flash or MAC budget, and the size table.

A student's conv channel c is worth |gamma_c| / sqrt(var_c + eps) * sum|kernel[:, :, c]|: the
L1 norm of its kernel after BatchNorm folds into it (what the int8 CONV_2D will hold). Pruning
keeps the most valuable channels of every conv, in their original order, and copies the
surviving slices of every weight (the next conv's input channels, the Dense rows of the kept
channels at every position); the smaller student is then fine-tuned with the teacher.

Sizes are the compiler's own: the int8 model is compiled by tinygen (codegen.compile_model) and
"flash" is its weights + tables (what `tinygen analyze` prints as weights), MACs its MAC count.
They depend on shapes only, so a candidate is measured before any fine-tuning.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError

# Fractions of the trained student's channels tried for a budget (largest first) and shown in
# the accuracy-vs-size table.
BUDGET_GRID = (1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0)
TABLE_FRACTIONS = (1.0, 0.5, 0.25)


def widths_at(base: tuple, fraction: float) -> tuple:
    return tuple(max(1, int(round(c * fraction))) for c in base)


def conv_widths(model) -> tuple:
    return tuple(int(model.get_layer(f"conv{i}").filters) for i in range(_n_convs(model)))


def _n_convs(model) -> int:
    return sum(1 for layer in model.layers if layer.name.startswith("conv"))


def channel_scores(model, i: int) -> np.ndarray:
    kernel = model.get_layer(f"conv{i}").get_weights()[0]                 # [k, in, out]
    gamma, _, _, var = model.get_layer(f"bn{i}").get_weights()
    eps = model.get_layer(f"bn{i}").epsilon
    return np.abs(gamma) / np.sqrt(var + eps) * np.abs(kernel).sum(axis=(0, 1))


def prune(keras, model, widths: tuple, build):
    """A new logits student with `widths` conv channels, weights copied from `model`.
    `build(widths)` makes the empty smaller student (same kernels, input, classes)."""
    small = build(widths)
    keep_in = np.arange(model.input_shape[-1])
    for i, width in enumerate(widths):
        keep = np.sort(np.argsort(-channel_scores(model, i), kind="stable")[:width])
        kernel = model.get_layer(f"conv{i}").get_weights()[0]
        small.get_layer(f"conv{i}").set_weights([kernel[:, keep_in][:, :, keep]])
        small.get_layer(f"bn{i}").set_weights([w[keep] for w in model.get_layer(f"bn{i}").get_weights()])
        keep_in = keep
    kernel, bias = model.get_layer("logits").get_weights()
    last = model.get_layer(f"conv{len(widths) - 1}").filters
    rows = kernel.reshape(-1, last, kernel.shape[-1])[:, keep_in]          # [positions, kept, classes]
    small.get_layer("logits").set_weights([rows.reshape(-1, kernel.shape[-1]), bias])
    return small


def measure(buf: bytes) -> dict:
    """Flash (weights + tables), MACs and arena of an int8 model, as tinygen compiles it."""
    from ..codegen import compile_model
    compiled = compile_model(buf)
    return {"flash_bytes": int(compiled.weight_bytes), "macs": int(compiled.macs),
            "arena_bytes": int(compiled.plan.arena_bytes)}


def fits(size: dict, max_flash: int | None, max_macs: int | None) -> bool:
    return (max_flash is None or size["flash_bytes"] <= max_flash) and \
           (max_macs is None or size["macs"] <= max_macs)


def widths_for_budget(base: tuple, size_of, max_flash: int | None, max_macs: int | None) -> tuple:
    """The widest student (a fraction of `base` on BUDGET_GRID, down to one channel per conv)
    whose compiled size fits. Size grows with width, so a binary search over the grid;
    `size_of(widths)` measures an untrained candidate (a conversion each)."""
    grid = []
    for fraction in BUDGET_GRID:                 # distinct widths, widest first
        widths = widths_at(base, fraction)
        if widths not in grid:
            grid.append(widths)
    sizes = {}

    def ok(i):
        sizes.setdefault(i, size_of(grid[i]))
        return fits(sizes[i], max_flash, max_macs)

    if not ok(len(grid) - 1):
        smallest = sizes[len(grid) - 1]
        raise DataError(f"the smallest student ({'/'.join(map(str, grid[-1]))} channels) needs "
                        f"{smallest['flash_bytes']} B of flash and {smallest['macs']} MACs, over "
                        f"--max-flash {max_flash} / --max-macs {max_macs}; raise the budget")
    lo, hi = 0, len(grid) - 1                    # grid[hi] fits; find the first that fits
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return grid[lo]
