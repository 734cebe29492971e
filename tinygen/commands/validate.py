"""`tinygen validate --board B (--port P|auto | --emulate) [--model M] [--data DIR | --samples N]`

Talks to running firmware: a flashed board on its serial port (found by USB id with `--port
auto`), or the board's QEMU twin running a twin build (`--elf`, the twin ELF of `--project`, or
one built now from `--model` through the generated PlatformIO project).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import add_force, board_id, positive_float, positive_int

DEFAULT_MODELS = ("build/model/student_int8.tflite", "build/student_int8.tflite",
                  "student_int8.tflite")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="run the firmware over serial and compare it bit for bit "
                       "with the Python reference",
                       description="Connect to the firmware (a board's serial port or its QEMU "
                       "twin), check it was built from --model for --board, send inputs and "
                       "compare every output byte with TFLite-Micro and the integer front end.")
    p.add_argument("--board", required=True, type=board_id, help="board id (tinygen boards)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port: auto (the board's USB serial bridge), "
                       "/dev/ttyACM0, COM3, socket://host:port")
    where.add_argument("--emulate", action="store_true", help="run the board's QEMU twin")
    p.add_argument("--model", type=Path, help="the .tflite the firmware was built from "
                   f"(default: the first of {', '.join(DEFAULT_MODELS)})")
    p.add_argument("--features", type=Path, help="front end parameters (default: features.json "
                   "beside the model)")
    fw = p.add_mutually_exclusive_group()
    fw.add_argument("--elf", type=Path, help="with --emulate: the twin firmware")
    fw.add_argument("--project", type=Path, help="with --emulate: a generated project; its twin "
                    "environment is built if needed")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", type=Path, help="recordings folder; its test windows are sent raw")
    src.add_argument("--samples", type=positive_int, default=20, help="number of inputs (default 20)")
    p.add_argument("--mode", choices=("auto", "raw", "features"), default="auto",
                   help="raw: int16 windows through the on-device front end; features: the "
                   "model's inputs straight to the network (default: raw when the firmware has "
                   "a front end)")
    p.add_argument("--timeout", type=positive_float, default=5.0, help="seconds to wait for each reply")
    p.add_argument("--report", type=Path, default=None,
                   help="where to save the JSON report (default: validate-<board>.json)")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    add_force(p, "--report's file (and the twin build folder)")
    p.set_defaults(func=run)


def default_model(given: Path | None) -> Path:
    from ..errors import DataError

    model = given or next((Path(c) for c in DEFAULT_MODELS if Path(c).is_file()), None)
    if model is None:
        raise DataError("no model: pass --model student_int8.tflite (or run tinygen build first)")
    if not model.is_file():
        raise DataError(f"model {model} not found")
    return model


def twin_elf(args: argparse.Namespace, board, model: Path, features) -> Path:
    """The twin firmware to run: given, from a project, or built now from the model."""
    from .. import builder
    from ..errors import DataError
    from ..project import open_project

    if args.elf is not None:
        if not args.elf.is_file():
            raise DataError(f"firmware {args.elf} not found")
        return args.elf
    if args.project is not None:
        project = open_project(args.project, board)
        return builder.build(project, project.envs["twin"]).elf
    from ..outdir import claim

    print(f"[tinygen] building the {board.id} twin firmware for {model.name} ...", file=sys.stderr)
    with claim(Path("build") / f"validate-twin-{board.id}", "twin", force=args.force,
               flag="the twin build folder") as out:
        out.keep(model, features)
        out.begin()
        elf = builder.build_twin_firmware(board, model, out.root, features)
        out.commit()
    return elf


def run(args: argparse.Namespace) -> int:
    from ..boards import board_twin, get_board
    from ..errors import DataError, ModelError, TinygenError
    from ..validate import reference_for, run_emulated, run_port
    from ..validate.report import Progress

    from ..outdir import check_file, is_validation_report
    from ..importers.tflite import load_model
    from ..validate.probe import check_loads

    board = get_board(args.board)
    report_path = check_file(args.report or Path(f"validate-{board.id}.json"), "--report",
                             ours=is_validation_report, force=args.force,
                             what="validation report")
    model = default_model(args.model)
    samples = args.samples if args.data is None else 10**9
    if not args.emulate and (args.elf or args.project):
        raise DataError("--elf and --project choose twin firmware: add --emulate, or flash the "
                        "board (tinygen flash) and pass --port")
    try:                        # tinygen's own reading first: its errors name what is wrong
        load_model(model)
    except ModelError as exc:
        raise ModelError(f"{Path(model).name}: {exc}") from None
    check_loads(model)          # TFLite-Micro may crash on a corrupt file: try it in a child
    reference, features = reference_for(model, args.features)
    progress = None if args.json else Progress("validating")
    try:
        if args.emulate:
            board_twin(board)
            elf = twin_elf(args, board, model, features)
            rep = run_emulated(board, elf, model, features, samples, args.data,
                               timeout=args.timeout, mode=args.mode, report_path=report_path,
                               reference=reference, progress=progress)
        else:
            rep = run_port(board, args.port, model, features, samples, args.data,
                           timeout=args.timeout, mode=args.mode, report_path=report_path,
                           reference=reference, progress=progress)
    except TinygenError as err:
        if err.report is not None:
            if progress:
                progress.done()
            print(err.report.to_json() if args.json else err.report.table())
            print(f"report saved to {report_path}", file=sys.stderr)
        raise
    if progress:
        progress.done()
    print(rep.to_json() if args.json else rep.table())
    if not args.json:
        print(f"report saved to {report_path}")
    return 0 if rep.ok else 1
