"""`tinygen build --board X [--model M.tflite | --data DIR] [--out build/] [--emulate] [--json]`

train (if no model) -> generate -> fit check -> PlatformIO project -> `pio run` (offline
environments) -> size table. The project in --out is a normal PlatformIO project:
`cd build/ && pio run -e <board>_offline` rebuilds it without tinygen.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build", help="train (if needed), generate, and build firmware for a board, offline",
        description="Build firmware for a board: trains the default model when no --model is "
        "given, generates its C, refuses a model that does not fit, writes a PlatformIO project "
        "to --out and builds its offline environments (and the emulated twin) with `pio run`.")
    p.add_argument("--board", required=True, help="board id (see `tinygen boards`)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", type=Path, help="int8 .tflite model (default: train one)")
    src.add_argument("--data", type=Path, help="training data folder (train on it first)")
    p.add_argument("--features", type=Path,
                   help="front-end JSON for --model (default: <model>.features.json or "
                   "features.json beside the model, if present)")
    p.add_argument("--out", type=Path, default=Path("build"),
                   help="project folder (default: build/)")
    p.add_argument("--env", choices=("all", "offline", "twin", "official"), default="all",
                   help="which environments to build: offline + twin (all, default), one of "
                   "them, or the official one (needs PlatformIO's registry)")
    p.add_argument("--emulate", action="store_true",
                   help="after building, validate the firmware on the board's QEMU twin")
    p.add_argument("--samples", type=int, default=20, help="windows to validate with --emulate")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per `pio run`")
    p.add_argument("--json", action="store_true", help="quiet; print one JSON object at the end")
    p.set_defaults(func=run)


def _say(args, msg: str) -> None:
    if not args.json:
        print(f"[tinygen] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stdout_to_stderr():
    """Keep stdout for the result (the table or --json): libraries that print while training
    (Keras' "Saved artifact" block, TensorFlow's C++ logging) go to stderr instead."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:5.1f}%" if b else "   - "


def size_rows(gen, board, res) -> list[tuple[str, str, str, str]]:
    """(what, bytes, of limit, note) rows for the flash/RAM table."""
    weights = int(gen.weight_bytes)
    code = max(res.flash - weights, 0)
    arena = int(gen.arena_bytes)
    stack = board.stack_bytes if res.env == board.env_offline else None
    rows = [
        ("flash", f"{res.flash:,}", f"{res.flash_limit or board.flash_bytes:,}",
         _pct(res.flash, res.flash_limit or board.flash_bytes)),
        ("  weights", f"{weights:,}", "", ""),
        ("  code + constants", f"{code:,}", "", ""),
        ("RAM", f"{res.ram:,}", f"{res.ram_limit or board.ram_bytes:,}",
         _pct(res.ram, res.ram_limit or board.ram_bytes)),
        ("  arena", f"{arena:,}", "", ""),
    ]
    if stack is not None:
        rows.append(("  stack (reserved)", f"{stack:,}", "", ""))
        rows.append(("  other (buffers, .data)", f"{max(res.ram - arena - stack, 0):,}", "", ""))
    else:
        rows.append(("  stack + other", f"{max(res.ram - arena, 0):,}", "", ""))
    return rows


def format_table(gen, board, results, macs: int) -> str:
    lines = []
    for res in results:
        title = f"{res.env}: {res.elf}"
        lines.append(title)
        rows = [("", "bytes", "limit", "used")] + size_rows(gen, board, res)
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append(f"  {r[0].ljust(w[0])}  {r[1].rjust(w[1])}  {r[2].rjust(w[2])}  "
                         f"{r[3].rjust(w[3])}".rstrip())
        lines.append(f"  text {res.text:,} / data {res.data:,} / bss {res.bss:,} "
                     f"(= {'riscv64-unknown-elf' if res.arch == 'riscv' else 'arm-none-eabi'}"
                     f"-size; pio run agrees), built in {res.seconds:.1f} s")
    lines.append(f"model: {int(gen.weight_bytes):,} B weights, {int(gen.arena_bytes):,} B arena, "
                 f"{macs:,} MACs, sha256 {str(gen.sha256)[:16]}...")
    return "\n".join(lines)


def model_metrics(model_path: Path) -> dict | None:
    """metrics.json written by `tinygen train` beside the model, if any."""
    import json

    path = Path(model_path).with_name("metrics.json")
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def accuracy_line(metrics: dict | None) -> str | None:
    acc = (metrics or {}).get("accuracy_test") or {}
    if "student_int8_tflm" not in acc:
        return None
    parts = [f"{k.replace('_', ' ')} {100 * v:.1f} %" for k, v in acc.items()
             if k != "student_int8_tflm" and isinstance(v, (int, float))]
    return (f"accuracy (held-out test split): int8 student {100 * acc['student_int8_tflm']:.1f} % "
            f"through TFLite-Micro ({', '.join(parts)})")


def latency_estimate(board, model_path: Path, features_path, twin_elf: Path) -> dict | None:
    """Instructions of one inference on the twin (unicorn), and what that means at the board's
    clock if the core retired one instruction per cycle. An estimate, labelled as such."""
    from ..errors import TinygenError
    from .bench import measure

    try:
        m = measure(board.id, model_path, features_path, elf=twin_elf)
    except (TinygenError, ImportError):
        return None
    m["ms_at_clock"] = 1000.0 * m["inference_instructions"] / board.clock_hz
    return m


def latency_line(board, m: dict | None) -> str | None:
    if not m:
        return None
    fe = m.get("front_end_instructions") or 0
    return (f"latency (estimate): {m['inference_instructions']:,} instructions per inference on "
            f"the {m['twin']} twin (front end {fe:,}, network {m['network_instructions']:,}) "
            f"= {m['ms_at_clock']:.3f} ms at {board.clock_hz / 1e6:g} MHz if one instruction took "
            f"one cycle; instructions on an emulator, not measured cycles")


def run(args: argparse.Namespace) -> int:
    import json

    from .. import builder
    from ..boards import check_fit, get_board
    from ..errors import DataError
    from ..project import static_ram_bytes, write_project

    board = get_board(args.board)
    out = args.out.resolve()
    say = (lambda m: _say(args, m))

    # 1. Up-front checks, before any long step.
    want_offline = args.env in ("all", "offline") and board.buildable
    want_twin = args.env in ("all", "twin") and board.twin is not None
    if args.emulate and board.twin is None:
        raise DataError(f"{board.id} has no emulated twin (QEMU has no {board.core}); "
                        f"drop --emulate")
    if args.emulate:
        want_twin = True
    arches = set()
    if want_offline:
        arches.add(board.arch)
    if want_twin:
        arches.add(board.twin.arch)
    if arches:
        builder.ensure_offline_setup(tuple(sorted(arches)))
    if args.env == "official":
        builder.pio_command()
        if not builder.registry_reachable():
            from ..errors import RegistryUnreachable
            raise RegistryUnreachable(
                f"PlatformIO's registry is unreachable, so the official environment "
                f"[env:{board.env_official}] ({board.pio_platform}/{board.pio_board}) cannot be "
                f"built here; build the offline environment instead (--env offline)")

    # 2. Model: given, or trained now.
    features_path = args.features
    if args.model is not None:
        model_path = args.model
        if not model_path.is_file():
            raise DataError(f"model file {model_path} not found")
        if features_path is None:
            guesses = [model_path.with_name(model_path.stem + ".features.json"),
                       model_path.with_name("features.json")]
            features_path = next((g for g in guesses if g.is_file()), None)
            if features_path is not None:
                say(f"front end: {features_path}")
    else:
        from ..train.pipeline import train

        say(f"training the default model{' on ' + str(args.data) if args.data else ''} ...")
        with _stdout_to_stderr():
            result = train(out / "model", data_dir=args.data, progress=say)
        model_path, features_path = Path(result.tflite_path), Path(result.features_path)
        say(f"trained: {model_path}")
    if features_path is not None and not Path(features_path).is_file():
        raise DataError(f"front-end file {features_path} not found")

    # 3. Generate the network C, refuse what cannot fit, write the project.
    from ..codegen import generate

    say(f"generating C for {model_path.name} ...")
    with _stdout_to_stderr():
        gen = generate(model_path, out / "model" / "gen", name="model")
    raw = 0
    front_end = None
    if features_path is not None:
        from ..features import FrontEnd

        front_end = FrontEnd.from_json(features_path)
        raw = int(getattr(front_end, "window", 0) or 0)
    static = static_ram_bytes(gen, raw)
    check_fit(board, int(gen.weight_bytes), int(gen.arena_bytes), static_bytes=static)
    if want_twin:
        check_fit(board, int(gen.weight_bytes), int(gen.arena_bytes), static_bytes=static,
                  twin=True)
    project = write_project(board, out, gen, front_end)
    say(f"PlatformIO project written to {project.dir}")

    # 4. Build.
    results = []
    envs = []
    if args.env == "official":
        envs = [project.envs["official"]]
    else:
        if want_offline and project.envs["offline"]:
            envs.append(project.envs["offline"])
        if want_twin and project.envs["twin"]:
            envs.append(project.envs["twin"])
    for env in envs:
        res = builder.build_project(project.dir, env, timeout=args.timeout, progress=say,
                                    allow_registry=(args.env == "official"))
        results.append(res)
    host_checked = []
    if not board.buildable:
        say(f"{board.id}: {board.build_note}")
        say("compiling the model, front end and harness C with host gcc (portability check) ...")
        host_checked = builder.host_compile_check(project.dir)

    # 5. Optional validation on the twin.
    report = None
    if args.emulate:
        from ..validate import run_emulated

        twin_res = next(r for r in results if r.env == project.envs["twin"])
        say(f"validating on the {board.twin.machine} twin ...")
        report = run_emulated(board.id, twin_res.elf, model_path=model_path,
                              features_path=features_path, samples=args.samples)

    # 6. Report: sizes against the board, accuracy, latency.
    metrics = result.metrics if args.model is None else model_metrics(model_path)
    twin_build = next((r for r in results if r.env == project.envs["twin"]), None)
    latency = None
    if twin_build is not None and board.twin is not None:
        say("counting the instructions of one inference on the twin ...")
        latency = latency_estimate(board, model_path, features_path, twin_build.elf)
    macs = int(gen.macs)
    if args.json:
        doc = {
            "board": board.id, "project": str(project.dir), "model": str(model_path),
            "features": str(features_path) if features_path else None,
            "sha256": str(gen.sha256), "macs": macs, "weight_bytes": int(gen.weight_bytes),
            "arena_bytes": int(gen.arena_bytes), "stack_bytes": board.stack_bytes,
            "envs": project.envs, "built_here": board.buildable,
            "note": board.build_note or None,
            "host_checked": [str(p) for p in host_checked],
            "builds": [{"env": r.env, "elf": str(r.elf), "text": r.text, "data": r.data,
                        "bss": r.bss, "flash": r.flash, "ram": r.ram,
                        "flash_limit": r.flash_limit, "ram_limit": r.ram_limit,
                        "seconds": round(r.seconds, 2)} for r in results],
            "validation": report.summary() if report is not None else None,
            "accuracy_test": (metrics or {}).get("accuracy_test"),
            "latency": latency,
        }
        print(json.dumps(doc, indent=2))
    else:
        if results:
            print(format_table(gen, board, results, macs))
        else:
            print(f"model: {int(gen.weight_bytes):,} B weights, {int(gen.arena_bytes):,} B arena, "
                  f"{macs:,} MACs")
        if not board.buildable:
            print(f"NOT BUILT HERE: {board.id} ({board.name}): {board.build_note}.")
            print(f"  project for [env:{project.envs['official']}] written to {project.dir}; "
                  f"its C ({len(host_checked)} files) compiles cleanly with host gcc "
                  f"-std=c99 -Wall -Wextra -Werror -pedantic.")
        for line in (accuracy_line(metrics), latency_line(board, latency)):
            if line:
                print(line)
        if results:
            print(f"firmware: {results[0].elf}")
            print(f"rebuild: cd {project.dir} && pio run -e {results[0].env}")
        if report is not None:
            print(report.table())
    if report is not None and not report.ok:
        return 1
    return 0
