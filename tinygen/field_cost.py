"""What each field feature costs (issue 17): flash, RAM, and the instructions it adds to every
inference and to the boot, measured by building the twin firmware with the feature on and off.

    costs = measure(board, model, features, out_dir, options)    # tinygen.field.FieldOptions
    print(table(costs))

Why builds rather than symbol sizes: the compiler inlines the field layer's hooks into the
protocol, the statistics widen the frame buffer, the integrity table lives in model.c; only the
difference between two linked images counts all of it. Each variant is the twin's image (the
board's real core on QEMU), built through the one build path (builder.build_twin_firmware), sized
with <prefix>size, and run on unicorn with three INFER_RAW (or INFER) frames: the instructions of
the second and third whole requests (they are equal: the count is exact) and of the boot (reset
to the first poll of the line, the integrity check included).

A feature's row is (everything requested) - (everything requested but that feature); "field
layer" is (everything requested) - (no field layer at all), so it also holds the shared code
(tg_field.c's hooks and the INFO block) the single-feature rows do not see.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

from .field import OFF, FieldOptions

# feature -> what turning it off means
FEATURES = {
    "integrity": lambda o: replace(o, integrity="off"),
    "watchdog": lambda o: replace(o, watchdog=False),
    "stats": lambda o: replace(o, stats=False),
}


@dataclass(frozen=True)
class Variant:
    """One build's figures."""

    flash: int          # text + data
    ram: int            # data + bss (the reserved stack included, the same in every variant)
    per_inference: int  # instructions of one whole request (INFER_RAW, or INFER without a front end)
    boot: int           # instructions from reset to the first reply's request, minus that request


@dataclass(frozen=True)
class Cost:
    feature: str        # "integrity (crc32)", "watchdog", "stats", "field layer"
    flash: int
    ram: int
    per_inference: int
    boot: int


def enabled(options: FieldOptions, front_end) -> list[str]:
    """The features this build has (statistics need a front end)."""
    on = []
    if options.integrity != "off":
        on.append("integrity")
    if options.watchdog:
        on.append("watchdog")
    if options.stats and front_end is not None:
        on.append("stats")
    return on


def _frame(model: Path, features: Optional[Path]) -> bytes:
    import numpy as np

    from .codegen import compile_model
    from .commands.bench import bench_frame
    from .validate.reference import load_front_end

    return bench_frame(compile_model(model), load_front_end(features), np.random.default_rng(0))


def measure_variant(board, model: Path, features: Optional[Path], out: Path,
                    options: FieldOptions, frame: bytes) -> Variant:
    from .builder import build_twin_firmware

    return figures(board, build_twin_firmware(board, model, out, features, field=options), frame)


def figures(board, elf: Path, frame: bytes) -> Variant:
    """Sizes and instruction counts of one twin image."""
    from .boards import board_twin
    from .builder import elf_sizes
    from .validate.instructions import count_instructions

    twin = board_twin(board)
    text, data, bss = elf_sizes(elf, twin.arch)
    counts = count_instructions(elf, twin, frame, then=[frame, frame])
    per, again = counts.requests
    if per != again:        # the count is exact; two equal requests must agree
        raise RuntimeError(f"two equal requests counted {per:,} and {again:,} instructions")
    return Variant(text + data, data + bss, per, counts.first_reply - per)


def measure(board, model: Path, features: Optional[Path], out_dir: Path,
            options: FieldOptions = FieldOptions(), progress=None,
            built: Optional[Path] = None) -> list[Cost]:
    """Costs of every enabled feature of `options`, and of the whole field layer. `built`: the
    twin image already built with `options` (saves a build). Variants that are the same build
    (a feature off that leaves no field layer) are built once."""
    from .boards import get_board
    from .validate.reference import load_front_end

    board = get_board(board) if isinstance(board, str) else board
    options = options.check()
    frame = _frame(model, features)
    on = enabled(options, load_front_end(features))
    say = progress or (lambda m: None)
    out = Path(out_dir)
    if built is not None:
        full = figures(board, Path(built), frame)
    else:
        say("field costs: building the twin firmware with every requested field feature ...")
        full = measure_variant(board, model, features, out / "all", options, frame)
    if not on:
        return []
    say("field costs: building it without the field layer ...")
    none = measure_variant(board, model, features, out / "none", OFF, frame)
    costs = []
    for name in on:
        without = FEATURES[name](options)
        if enabled(without, load_front_end(features)):
            say(f"field costs: ... and without {name} ...")
            v = measure_variant(board, model, features, out / f"no-{name}", without, frame)
        else:
            v = none            # the only feature: off is no field layer at all
        label = f"integrity ({options.integrity})" if name == "integrity" else name
        costs.append(_diff(label, full, v))
    costs.append(_diff("field layer", full, none))
    return costs


def _diff(label: str, a: Variant, b: Variant) -> Cost:
    return Cost(label, a.flash - b.flash, a.ram - b.ram, a.per_inference - b.per_inference,
                a.boot - b.boot)


def table(costs: list[Cost], twin_id: str = "") -> str:
    """The build summary's and bench's table."""
    if not costs:
        return "field layer: off (no integrity, watchdog or statistics): nothing to measure"
    where = f" on the {twin_id} twin" if twin_id else ""
    lines = [f"field-ready features (built on and off; instructions counted with unicorn{where}):",
             f"  {'feature':<18} {'flash':>8} {'RAM':>8} {'per inference':>14} {'at boot':>10}"]
    for c in costs:
        lines.append(f"  {c.feature:<18} {c.flash:>6,} B {c.ram:>6,} B {c.per_inference:>14,} "
                     f"{c.boot:>10,}")
    lines.append("  (instructions on an emulator, not cycles; 'field layer' = all of it, its shared "
                 "hooks included)")
    return "\n".join(lines)


def as_json(costs: list[Cost]) -> list[dict]:
    return [asdict(c) for c in costs]
