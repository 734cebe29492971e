"""`tinygen build --board X [--model M.tflite | --data DIR] [--out build/] [--emulate] [--json]`

A short sequence of named phases, each a function with typed inputs and outputs:

    check -> train (if no model) -> generate -> project -> build -> latency -> watchdog bound
    (rebuild if it changed) -> field costs (--field-costs) -> validate (--emulate) -> report

The project in --out is an ordinary PlatformIO project that builds from any folder it is copied
to: `cd build/ && pio run -e <board>_offline` rebuilds it without tinygen, `pio test -e
<board>_twin` runs its golden vectors on the QEMU twin.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..boards import Board
from .. import field as field_layer
from ..builder import PREFIX
from .args import add_force, board_id, positive_float, positive_int

Say = Callable[[str], None]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build", help="train (if needed), generate, and build firmware for a board, offline",
        description="Build firmware for a board: trains the default model when no --model is "
        "given, generates its C, refuses a model that does not fit, writes a PlatformIO project "
        "to --out and builds its offline environments (and the emulated twin) with `pio run`.")
    p.add_argument("--board", required=True, type=board_id,
                   help="board id (see `tinygen boards`)")
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
                   help="after building, validate the twin build on the board's QEMU twin")
    p.add_argument("--samples", type=positive_int, default=20,
                   help="inputs to validate with --emulate")
    p.add_argument("--timeout", type=positive_float, default=300.0,
                   help="seconds allowed per `pio run`")
    p.add_argument("--json", action="store_true", help="quiet; print one JSON object at the end")
    field_layer.add_arguments(p)
    p.add_argument("--field-costs", action="store_true",
                   help="also build the twin firmware with each field feature off and report what "
                   "each costs: flash, RAM, instructions per inference and at boot (Cortex-M "
                   "twins; a few extra builds)")
    add_force(p)
    p.set_defaults(func=run)


# ---- the phases' results ------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSource:
    model: Path
    features: Optional[Path]
    metrics: Optional[dict]         # metrics.json of a training run, if any


@dataclass(frozen=True)
class Generated:
    gen: object                     # tinygen.codegen.GenResult
    front_end: object               # tinygen.features.FrontEnd or None
    golden: object                  # tinygen.hil.Golden


@dataclass(frozen=True)
class Plan:
    """What to build, decided before any long step."""

    board: Board
    envs: tuple[str, ...]           # "offline", "twin", "official", in build order
    validate: bool
    field: field_layer.FieldOptions = field_layer.FieldOptions()   # the field layer's switches
    field_costs: bool = False       # build with each field feature off too, and compare


# ---- phases ----------------------------------------------------------------------------------------

def phase_check(args: argparse.Namespace, board: Board) -> Plan:
    """Refuse what cannot work (no twin, no compiler, no registry) before anything long."""
    from .. import builder
    from ..boards import board_twin
    from ..errors import DataError, RegistryUnreachable

    options = field_layer.options_from(args)          # bad switches are refused before anything long
    if args.field_costs:
        twin = board_twin(board)
        if twin.counter != "unicorn" or args.env not in ("all", "twin"):
            raise DataError(f"--field-costs measures the field features on a Cortex-M twin's build: "
                            f"{board.id}'s twin ({twin.id}) is not one" if twin.counter != "unicorn"
                            else f"--field-costs measures on the twin's build: use --env all or "
                            f"--env twin, not --env {args.env}")
    if args.emulate:
        board_twin(board)
        if args.env not in ("all", "twin"):
            raise DataError(f"--emulate validates the twin build; use --env all or --env twin, "
                            f"not --env {args.env}")
    if args.env == "official":
        builder.pio_command()
        if not builder.registry_reachable():
            raise RegistryUnreachable(
                f"PlatformIO's registry is unreachable, so the official environment "
                f"[env:{board.env_official}] ({board.pio_platform}/{board.pio_board}) cannot be "
                f"built here; build the offline environment instead (--env offline)")
        return Plan(board, ("official",), False, options, False)
    envs = tuple(e for e, ok in (("offline", board.buildable and args.env in ("all", "offline")),
                                 ("twin", board.twin is not None and args.env in ("all", "twin")))
                 if ok)
    arches = [board.arch if e == "offline" else board.twin.arch for e in envs]
    if arches:
        builder.check_offline(arches)
    return Plan(board, envs, args.emulate, options, args.field_costs)


def phase_train(args: argparse.Namespace, out: Path, say: Say) -> ModelSource:
    """The given model (and the front end beside it), or the default model trained now."""
    from ..errors import DataError

    if args.model is not None:
        if not args.model.is_file():
            raise DataError(f"model file {args.model} not found")
        features = args.features or _front_end_beside(args.model, say)
        if features is not None and not Path(features).is_file():
            raise DataError(f"front-end file {features} not found")
        return ModelSource(args.model, features, _metrics_beside(args.model))
    from ..train.pipeline import train

    say(f"training the default model{' on ' + str(args.data) if args.data else ''} ...")
    with _stdout_to_stderr():
        result = train(out / "model", data_dir=args.data, progress=say)
    say(f"trained: {result.tflite_path}")
    return ModelSource(Path(result.tflite_path), Path(result.features_path), result.metrics)


def phase_generate(plan: Plan, source: ModelSource, out, say: Say) -> Generated:
    """A fit check against the board (and twin) before anything is written, then C for the
    network into the claimed folder (out: outdir.Output), and the golden vectors."""
    from .. import codegen
    from ..hil import make_golden
    from ..project import model_fit
    from ..validate import reference_for

    say(f"generating C for {source.model.name} ...")
    with _stdout_to_stderr():
        compiled = codegen.compile_model(source.model)
    reference, _ = reference_for(source.model, source.features)
    model_fit(plan.board, compiled, reference.fe)
    if "twin" in plan.envs:
        model_fit(plan.board, compiled, reference.fe, twin=True)
    out.begin()           # the last build's files go only now: a refused model changes nothing
    gen = codegen.generate(compiled, out.root / "model" / "gen", name="model",
                           const_table=plan.field.integrity != "off")
    return Generated(gen, reference.fe, make_golden(plan.board, reference))


def phase_project(plan: Plan, generated: Generated, out: Path, say: Say):
    from ..project import write_project

    project = write_project(plan.board, out, generated.gen, generated.front_end, generated.golden,
                            field=plan.field)
    say(f"PlatformIO project written to {project.dir}")
    return project


def phase_build(plan: Plan, project, timeout: float, say: Say) -> list:
    """`pio run` for each planned environment; host-compile the C of boards not built here."""
    from .. import builder

    results = [builder.build(project, project.envs[e], timeout, progress=say,
                             allow_registry=(e == "official")) for e in plan.envs]
    if not plan.board.buildable:
        say(f"{plan.board.id}: {plan.board.build_note}")
        say("compiling the model, front end and harness C with host gcc (portability check) ...")
        builder.host_compile_check(project.dir)
    return results


def phase_field_costs(plan: Plan, source: ModelSource, project, results: list, out: Path,
                      latency: Optional[dict], say: Say) -> Optional[list]:
    """--field-costs: the twin firmware built with each field feature on and off (field_cost);
    the twin build just made is the 'all on' one, the others get its watchdog bound."""
    from ..field_cost import measure

    if not plan.field_costs:
        return None
    twin = next(r.elf for r in results if r.env == project.envs["twin"])
    options = field_layer.with_measurement(plan.field,
                                           latency and latency["inference_instructions"])
    with _stdout_to_stderr():
        return measure(plan.board, source.model, source.features, out / "field-costs", options,
                       say, built=twin)


def phase_validate(plan: Plan, project, source: ModelSource, samples: int, say: Say):
    from ..validate import run_emulated

    say(f"validating on the {plan.board.twin.id} twin ...")
    return run_emulated(plan.board, project.elf(project.envs["twin"]), source.model,
                        source.features, samples=samples)


def phase_latency(plan: Plan, project, source: ModelSource, results: list,
                  say: Say) -> Optional[dict]:
    """Instructions of one inference, counted on the twin build (Cortex-M twins)."""
    twin_build = next((r for r in results if r.env == project.envs["twin"]), None)
    if twin_build is None:
        return None
    say("counting the instructions of one inference on the twin ...")
    return latency_estimate(plan.board, source, twin_build.elf, say)


def phase_watchdog(plan: Plan, project, generated: Generated, results: list,
                   latency: Optional[dict], timeout: float, say: Say):
    """The watchdog bound from the instructions just counted rather than the estimate from the
    MACs the project was written with; the environments are built again when it changes (a
    big model's estimate is several times its count). Returns (project, results)."""
    from dataclasses import replace

    from .. import __version__

    if not latency or not plan.field.watchdog or plan.field.watchdog_ms is not None:
        return project, results
    options = field_layer.with_measurement(plan.field, latency["inference_instructions"])
    values = field_layer.config_values(options, generated.gen, plan.board, generated.front_end)
    if not field_layer.write_config(project.dir, values, __version__, generated.gen.sha256):
        return replace(project, field=values), results
    say(f"watchdog bound from the counted instructions: {values['watchdog_board_ms']} ms on the "
        f"board, {values['watchdog_twin_ms']} ms on the twin; building again ...")
    project = replace(project, field=values)
    return project, phase_build(plan, project, timeout, say)


def phase_report(args, plan: Plan, project, source: ModelSource, generated: Generated,
                 results: list, report, say: Say, costs: Optional[list] = None,
                 latency: Optional[dict] = None) -> int:
    if args.json:
        print(json.dumps(json_summary(plan, project, source, generated, results, report, latency,
                                      costs), indent=2))
    else:
        print(text_summary(plan, project, source, generated, results, report, latency, costs))
    return 1 if report is not None and not report.ok else 0


def run(args: argparse.Namespace) -> int:
    from ..boards import get_board

    say = (lambda m: None) if args.json else \
        (lambda m: print(f"[tinygen] {m}", file=sys.stderr, flush=True))
    from ..outdir import claim

    plan = phase_check(args, get_board(args.board))
    with claim(args.out, "build", force=args.force) as out:
        if args.model is None:
            out.begin()                         # the model is trained into the folder
        source = phase_train(args, out.root, say)
        out.keep(source.model, source.features)     # a model an earlier build trained in --out
        generated = phase_generate(plan, source, out, say)
        project = phase_project(plan, generated, out.root, say)
        results = phase_build(plan, project, args.timeout, say)
        latency = phase_latency(plan, project, source, results, say)
        project, results = phase_watchdog(plan, project, generated, results, latency,
                                          args.timeout, say)
        costs = phase_field_costs(plan, source, project, results, out.root, latency, say)
        out.commit()
    report = phase_validate(plan, project, source, args.samples, say) if plan.validate else None
    return phase_report(args, plan, project, source, generated, results, report, say, costs,
                        latency)


# ---- helpers -----------------------------------------------------------------------------------

def _front_end_beside(model: Path, say: Say) -> Optional[Path]:
    for guess in (model.with_name(model.stem + ".features.json"), model.with_name("features.json")):
        if guess.is_file():
            say(f"front end: {guess}")
            return guess
    return None


def _metrics_beside(model: Path) -> Optional[dict]:
    """metrics.json written by `tinygen train` beside the model, if any."""
    path = Path(model).with_name("metrics.json")
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _stdout_to_stderr():
    """Keep stdout for the result (the table or --json): libraries that print while training
    (Keras' "Saved artifact" block, TensorFlow's C++ logging) go to stderr instead."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def latency_estimate(board: Board, source: ModelSource, twin_elf: Path, say: Say) -> Optional[dict]:
    """Instructions of one inference on the twin, and what that means at the board's clock if
    the core retired one instruction per cycle. An estimate, labelled as such."""
    from ..errors import ToolchainMissing
    from .bench import measure

    if board.twin.counter != "unicorn":
        return None          # QEMU's trace takes minutes on big models: `tinygen bench` does it
    try:
        m = measure(board.id, source.model, source.features, elf=twin_elf)
    except ToolchainMissing as exc:     # an optional figure: say why it is missing
        say(f"no latency estimate: {exc}")
        return None
    m["ms_at_clock"] = 1000.0 * m["inference_instructions"] / board.clock_hz
    return m


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:5.1f}%" if b else "   - "


def size_rows(gen, board: Board, res) -> list[tuple[str, str, str, str]]:
    """(what, bytes, of limit, note) rows for the flash/RAM table."""
    weights, arena = int(gen.weight_bytes), int(gen.arena_bytes)
    flash_limit = res.flash_limit or board.flash_bytes
    ram_limit = res.ram_limit or board.ram_bytes
    rows = [("flash", f"{res.flash:,}", f"{flash_limit:,}", _pct(res.flash, flash_limit)),
            ("  weights", f"{weights:,}", "", ""),
            ("  code + constants", f"{max(res.flash - weights, 0):,}", "", ""),
            ("RAM", f"{res.ram:,}", f"{ram_limit:,}", _pct(res.ram, ram_limit)),
            ("  arena", f"{arena:,}", "", "")]
    if not res.linked:            # an archive: static data only, no stack, no SDK code
        rows.append(("  buffers, .data", f"{max(res.ram - arena, 0):,}", "", ""))
    elif res.env == board.env_offline:
        rows += [("  stack (reserved)", f"{board.stack_bytes:,}", "", ""),
                 ("  other (buffers, .data)", f"{max(res.ram - arena - board.stack_bytes, 0):,}",
                  "", "")]
    else:
        rows.append(("  stack + other", f"{max(res.ram - arena, 0):,}", "", ""))
    return rows


def format_table(gen, board: Board, results: list) -> str:
    lines = []
    for res in results:
        lines.append(f"{res.env}: {res.elf}")
        rows = [("", "bytes", "limit", "used")] + size_rows(gen, board, res)
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append(f"  {r[0].ljust(w[0])}  {r[1].rjust(w[1])}  {r[2].rjust(w[2])}  "
                         f"{r[3].rjust(w[3])}".rstrip())
        tool = PREFIX[res.arch] + "size"
        how = "pio run agrees" if res.linked else \
            "-t: the archive's objects summed; compiled, not linked"
        lines.append(f"  text {res.text:,} / data {res.data:,} / bss {res.bss:,} (= {tool}; "
                     f"{how}), built in {res.seconds:.1f} s")
    return "\n".join(lines)


def accuracy_line(metrics: Optional[dict]) -> Optional[str]:
    acc = (metrics or {}).get("accuracy_test") or {}
    if "student_int8_tflm" not in acc:
        return None
    parts = [f"{k.replace('_', ' ')} {100 * v:.1f} %" for k, v in acc.items()
             if k != "student_int8_tflm" and isinstance(v, (int, float))]
    return (f"accuracy (held-out test split): int8 student {100 * acc['student_int8_tflm']:.1f} % "
            f"through TFLite-Micro ({', '.join(parts)})")


def teacher_lines(metrics: Optional[dict], board: Optional[Board] = None) -> list[str]:
    """The training run's teacher-vs-student table on the device (measured once, at training,
    on the stm32h7 twin), and whether the teacher would fit this build's board: said plainly,
    never a build failure."""
    from ..train.report import device_lines
    lines = device_lines(metrics or {})
    t = ((metrics or {}).get("on_device") or {}).get("teacher") or {}
    if board is not None and "weight_bytes" in t:
        flash, ram = t["firmware_flash_bytes"], t["ram_bytes"]
        fits = flash <= board.flash_bytes and ram <= board.ram_bytes
        lines.append(f"  the teacher {'would fit' if fits else 'DOES NOT FIT'} the {board.id} "
                     f"({flash:,} of {board.flash_bytes:,} B flash, {ram:,} of "
                     f"{board.ram_bytes:,} B RAM); the student ships")
    return lines


def latency_line(board: Board, m: Optional[dict]) -> Optional[str]:
    if not m:
        return None
    fe = m.get("front_end_instructions") or 0
    return (f"latency (estimate): {m['inference_instructions']:,} instructions per inference on "
            f"the {m['twin']} twin (front end {fe:,}, network {m['network_instructions']:,}) "
            f"= {m['ms_at_clock']:.3f} ms at {board.clock_hz / 1e6:g} MHz if one instruction took "
            f"one cycle; instructions on an emulator, not measured cycles")


def field_line(plan: Plan, project) -> str:
    """What the field layer was built with (tinygen.field.config_values)."""
    f = project.field or {}
    if not f.get("enabled"):
        return "field layer: off"
    dog = (f"watchdog {f['watchdog_board_ms']} ms on the board ({f['watchdog_twin_ms']} ms on the "
           f"twin), safe mode after {f['safe_mode_resets']} resets" if f["watchdog_board_ms"]
           else "no watchdog")
    return (f"field layer: integrity {f['integrity_name']}; {dog}; "
            f"{'drift statistics' if f['stats'] else 'no drift statistics'}")


def text_summary(plan: Plan, project, source: ModelSource, generated: Generated, results: list,
                 report, latency: Optional[dict], costs: Optional[list] = None) -> str:
    gen, board = generated.gen, plan.board
    lines = [format_table(gen, board, results)] if results else []
    lines.append(f"model: {gen.weight_bytes:,} B weights, {gen.arena_bytes:,} B arena, "
                 f"{gen.macs:,} MACs, sha256 {gen.sha256[:16]}...")
    if not board.buildable:
        lines += [f"NOT BUILT HERE: {board.id} ({board.name}): {board.build_note}.",
                  f"  project for [env:{project.envs['official']}] written to {project.dir}; its "
                  f"C compiles cleanly with host gcc -std=c99 -Wall -Wextra -Werror -pedantic."]
    elif board.offline_output == "library":
        lines += built_here_lines(board, project, results)
    lines += [ln for ln in (accuracy_line(source.metrics), latency_line(board, latency)) if ln]
    lines.append(field_line(plan, project))
    if costs is not None:
        from ..field_cost import table

        lines.append(table(costs, board.twin.id))
    lines += teacher_lines(source.metrics, board)
    firmware = [r for r in results if r.linked]
    if firmware:
        lines.append(f"firmware: {firmware[0].elf}")
    if results:
        lines.append(f"rebuild: cd {project.dir} && pio run -e {results[0].env}")
    if project.envs["twin"]:
        lines.append(f"test: cd {project.dir} && pio test -e {project.envs['twin']}   "
                     f"({len(generated.golden.vectors)} golden vectors on the QEMU twin)")
    if report is not None:
        lines.append(report.table())
    return "\n".join(lines)


def built_here_lines(board: Board, project, results: list) -> list[str]:
    """What an offline environment that compiles without linking did and did not make."""
    lib = next((r for r in results if not r.linked), None)
    twin = next((r for r in results if r.linked), None)
    lines = []
    if lib is not None:
        parts = "model, front end," if project.front_end else "model,"
        lines.append(f"BUILT HERE: the {parts} harness and protocol compiled with clang-22 for the "
                     f"{board.name}'s {board.core} ({len(board.features)} core options, "
                     f"{'MAC16 on' if 'mac16' in board.features else 'no MAC16'}), archived, not "
                     f"linked: {lib.elf}")
    if twin is not None:
        lines.append(f"BUILT HERE: the {board.twin.id} twin's image (QEMU {board.twin.machine}) "
                     f"-> {twin.elf}")
    lines.append(f"NOT BUILT HERE: {board.build_note.split(';')[0]}: on a machine that reaches "
                 f"it, cd {project.dir} && pio run -e {project.envs['official']}")
    return lines


def json_summary(plan: Plan, project, source: ModelSource, generated: Generated, results: list,
                 report, latency: Optional[dict], costs: Optional[list] = None) -> dict:
    from ..field_cost import as_json

    gen, board = generated.gen, plan.board
    return {
        "board": board.id, "project": str(project.dir), "model": str(source.model),
        "features": str(source.features) if source.features else None,
        "sha256": gen.sha256, "macs": gen.macs, "weight_bytes": gen.weight_bytes,
        "arena_bytes": gen.arena_bytes, "stack_bytes": board.stack_bytes,
        "envs": project.envs, "built_here": board.buildable, "note": board.build_note or None,
        "offline_output": board.offline_output if board.buildable else None,
        "golden_vectors": len(generated.golden.vectors),
        "builds": [{"env": r.env, "elf": str(r.elf), "linked": r.linked, "text": r.text,
                    "data": r.data,
                    "bss": r.bss, "flash": r.flash, "ram": r.ram, "flash_limit": r.flash_limit,
                    "ram_limit": r.ram_limit, "seconds": round(r.seconds, 2)} for r in results],
        "validation": report.summary() if report is not None else None,
        "accuracy_test": (source.metrics or {}).get("accuracy_test"),
        "teacher_on_device": teacher_json(source.metrics),
        "latency": latency,
        "field": project.field,
        "field_costs": as_json(costs) if costs is not None else None,
    }


def teacher_json(metrics: Optional[dict]) -> Optional[dict]:
    """Teacher and student rows (accuracy, flash, RAM, instructions) of the training run, or
    why the teacher was not measured; None for a model that no training run describes."""
    from ..train.report import device_rows
    if not metrics or ("on_device" not in metrics and "teacher_int8" not in metrics):
        return None
    rows = device_rows(metrics)
    if rows:
        return {"board": metrics["on_device"]["board"], "unit": metrics["on_device"]["unit"],
                "rows": rows}
    return {"error": (metrics.get("teacher_int8") or {}).get("error", "not measured")}
