"""`tinygen bench --board stm32h7 --emulate [--model M]`: instructions of one inference."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import field
from .args import add_force, board_id
from .validate import DEFAULT_MODELS, default_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="count the instructions of one inference on the emulated twin",
                       description="Build the board's twin firmware, run one inference in the "
                       "unicorn emulator and count executed instructions: front end and network "
                       "separately, and per MAC. These are instructions on an emulator, not cycles.")
    p.add_argument("--board", required=True, type=board_id, help="board id (tinygen boards)")
    p.add_argument("--emulate", action="store_true", required=True,
                   help="count on the emulated twin (the only mode so far)")
    p.add_argument("--model", type=Path, help="int8 .tflite (default: the first of "
                   f"{', '.join(DEFAULT_MODELS)})")
    p.add_argument("--features", type=Path, help="front end parameters (default: features.json "
                   "beside the model); without one only the network is counted")
    p.add_argument("--elf", type=Path, help="twin firmware to measure (default: build one)")
    p.add_argument("--out", type=Path, default=None, help="build folder (default: build/bench-<board>)")
    p.add_argument("--counter", choices=("unicorn", "qemu"), default=None,
                   help="unicorn (fast; Cortex-M) or QEMU's single-step execution trace (slower; "
                   "any twin, the cross-check). Default: the twin's (boards/twins/*.toml)")
    p.add_argument("--layers", action="store_true",
                   help="also a per-layer profile: instructions and instructions/MAC of each op "
                   "(unicorn only)")
    p.add_argument("--field-costs", action="store_true",
                   help="also build the firmware with each field feature (integrity, watchdog, "
                   "drift statistics) off, and print what each costs in flash, RAM and "
                   "instructions per inference and at boot (unicorn twins)")
    p.add_argument("--routes", action="store_true",
                   help="also count the portable kernels (the twin without its DSP route: SMLAD "
                   "on Cortex-M, MAC16 on Xtensa): both routes side by side")
    p.add_argument("--json", action="store_true", help="print JSON")
    field.add_arguments(p)
    add_force(p, "the build folder")
    p.set_defaults(func=run)


def bench_frame(compiled, front_end, rng) -> bytes:
    """One request for the counter: a raw window through the front end, else random inputs."""
    import numpy as np

    from ..validate.reference import random_inputs
    from ..wire import CMD_INFER, CMD_INFER_RAW, TensorInfo, encode_frame, pack

    if front_end is not None:
        t = np.arange(front_end.raw_samples)     # every channel's window, interleaved
        x = 6000 * np.sin(2 * np.pi * 0.03 * t) + 2000 * np.sin(2 * np.pi * 0.17 * t) + \
            rng.normal(0, 300, front_end.raw_samples)
        return encode_frame(CMD_INFER_RAW,
                            np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes())
    tensors = [TensorInfo(io.dtype, io.count, io.scale or 0.0, io.zero_point)
               for io in compiled.inputs]
    return encode_frame(CMD_INFER, pack(random_inputs(tensors, rng), tensors))


def measure(board: str, model: Path, features: Path | None = None, elf: Path | None = None,
            out: Path | None = None, seed: int = 0, counter: str | None = None,
            layers: bool = False, field_options=None, portable: bool = False) -> dict:
    """Build (unless `elf`) and count; the figures `bench` prints, as a dict. `field_options`:
    the field layer the firmware is built with (tinygen.field.FieldOptions; default all on).
    `portable`: the twin's portable-kernels build (<id>_twin_portable) instead of its DSP route."""
    import numpy as np

    from ..boards import board_twin, get_board
    from ..builder import build_twin_firmware
    from ..codegen import compile_model
    from ..project import kernel_route
    from ..validate.instructions import count_instructions, count_with_qemu
    from ..validate.reference import find_front_end, load_front_end

    twin = board_twin(get_board(board))
    if features is None:
        features = find_front_end(model)
    compiled = compile_model(model)
    if elf is None:
        elf = build_twin_firmware(board, model, out or Path("build") / f"bench-{board}", features,
                                  field=field_options, portable=portable)
    frame = bench_frame(compiled, load_front_end(features), np.random.default_rng(seed))
    counter = counter or twin.counter
    if counter == "unicorn":
        counts = count_instructions(elf, twin, frame, per_function=layers)
    else:
        counts = count_with_qemu(elf, twin, frame)
    macs = compiled.macs
    return {
        "layers": _layer_rows(compiled, counts.functions) if counts.functions else None,
        "unit": f"instructions executed on an emulator ({counter}), not cycles",
        "counter": counter,
        "board": board, "twin": twin.id, "core": twin.core,
        "route": "portable" if portable or not kernel_route(twin) else kernel_route(twin),
        "model": str(model), "macs": macs, "arena_bytes": compiled.plan.arena_bytes,
        "front_end_instructions": counts.front_end,
        "network_instructions": counts.network,
        "inference_instructions": counts.inference,
        "instructions_per_mac": (counts.network / macs) if macs else None,
        "network_stack_bytes": counts.network_stack,
        "front_end_stack_bytes": counts.front_end_stack,
        "elf": str(elf),
    }


def _layer_rows(compiled, functions: dict[str, int]) -> list[dict]:
    """One row per op that has its own `<name>_op<i>_run` function, then the shared kernels and
    the glue (invoke, copies) by function name: where the network's instructions go."""
    import re

    rows, rest = [], dict(functions)
    for c in compiled.ops:
        sym = next((f for f in functions if re.fullmatch(rf"\w+_op{c.op.index}_run(\.\w+)*", f)), None)
        if sym is None:
            continue
        n = rest.pop(sym)
        rows.append(dict(op=c.op.index, type=c.op.type.value, macs=c.lowered.macs, instructions=n,
                         instructions_per_mac=n / c.lowered.macs if c.lowered.macs else None))
    for name, n in sorted(rest.items(), key=lambda kv: -kv[1]):
        rows.append(dict(op=None, type=name, macs=0, instructions=n, instructions_per_mac=None))
    return rows


def _field_costs(args, model: Path, options, out: Path, quiet: bool, built: Path):
    """What each field feature costs, when asked (--field-costs), as JSON rows."""
    import sys

    from ..field_cost import as_json, measure as measure_costs
    from ..validate.reference import find_front_end

    if not args.field_costs:
        return None
    features = args.features if args.features is not None else find_front_end(model)
    say = None if quiet else (lambda m: print(f"[tinygen] {m}", file=sys.stderr, flush=True))
    return as_json(measure_costs(args.board, model, features, out / "field-costs", options, say,
                                 built=built))


def run(args: argparse.Namespace) -> int:
    import json

    from ..boards import board_twin, get_board
    from ..errors import DataError
    from ..outdir import claim

    options = field.options_from(args)
    if args.field_costs and args.elf is not None:
        raise DataError("--field-costs builds the firmware with each field feature on and off: "
                        "leave --elf out")
    if args.field_costs and args.counter == "qemu":
        raise DataError("--field-costs counts with unicorn: leave --counter qemu out")
    if args.field_costs and board_twin(get_board(args.board)).counter != "unicorn":
        raise DataError(f"--field-costs counts with unicorn, which runs the Cortex-M twins; "
                        f"{args.board}'s twin is not one")
    if args.elf is not None and not args.elf.is_file():
        raise DataError(f"firmware {args.elf} not found; pass a twin ELF, or leave --elf out to "
                        f"build one")
    model = default_model(args.model)
    if args.elf is not None and args.routes:
        raise DataError("--routes builds both twin images itself; leave --elf out")
    if args.elf is not None:
        r = measure(args.board, model, args.features, args.elf, counter=args.counter,
                    layers=args.layers)
        r["field_costs"] = None
    else:
        with claim(args.out or Path("build") / f"bench-{args.board}", "twin",
                   force=args.force) as out:
            out.keep(model, args.features)
            out.begin()
            r = measure(args.board, model, args.features, None, out.root, counter=args.counter,
                        layers=args.layers, field_options=options)
            r["field_costs"] = _field_costs(args, model, options, out.root, args.json,
                                            Path(r["elf"]))
            if args.routes:
                r["portable"] = _portable(args, model, out.root, r, options)
            out.commit()
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['unit'].upper()}")
    print(f"board {r['board']}: QEMU twin {r['twin']} ({r['core']}), counted with {r['counter']}")
    print(f"model {Path(r['model']).name}: {r['macs']:,} MACs, arena {r['arena_bytes']:,} B")
    rows = []
    if r["front_end_instructions"] is not None:
        rows.append(("front end", f"{r['front_end_instructions']:,} instructions"))
    per_mac = f"  ({r['instructions_per_mac']:.2f} instructions/MAC)" if r["instructions_per_mac"] else ""
    rows.append(("network", f"{r['network_instructions']:,} instructions{per_mac}"))
    rows.append(("one inference", f"{r['inference_instructions']:,} instructions"))
    if r["network_stack_bytes"] is not None:
        fe = r["front_end_stack_bytes"]
        rows.append(("stack", f"{r['network_stack_bytes']:,} B network" +
                     ("" if fe is None else f", {fe:,} B front end") + " (high-water mark, painted)"))
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k.ljust(w)}  {v}")
    if r.get("field_costs") is not None:
        from ..field_cost import Cost, table

        print(table([Cost(**c) for c in r["field_costs"]], r["twin"]))
    if r.get("portable"):
        pr = r["portable"]
        print(f"  {'route'.ljust(w)}  {r['route']}: {r['network_instructions']:,} network "
              f"instructions; portable kernels: {pr['network_instructions']:,} "
              f"({pr['network_instructions'] / r['network_instructions']:.2f}x)")
    if r["layers"]:
        print(f"\n  {'op':>4} {'kind / function':<28} {'MACs':>11} {'instructions':>13} {'i/MAC':>6} {'share':>6}")
        for row in r["layers"]:
            ipm = row["instructions_per_mac"]
            print(f"  {'' if row['op'] is None else row['op']:>4} {row['type'][:28]:<28} "
                  f"{row['macs']:>11,} {row['instructions']:>13,} "
                  f"{'-' if ipm is None else format(ipm, '.2f'):>6} "
                  f"{100 * row['instructions'] / r['network_instructions']:>5.1f}%")
    return 0


def _portable(args: argparse.Namespace, model: Path, out: Path, r: dict, options) -> dict | None:
    """The same count with the portable kernels, when the twin has a DSP route (the same project
    holds both environments); None where the twin has none (one route only)."""
    if r["route"] == "portable":
        return None
    p = measure(args.board, model, args.features, None, out, counter=args.counter,
                layers=args.layers, field_options=options, portable=True)
    return {k: p[k] for k in ("route", "network_instructions", "front_end_instructions",
                              "inference_instructions", "instructions_per_mac", "elf")}
