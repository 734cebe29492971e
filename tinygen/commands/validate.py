"""`tinygen validate --board B (--port P | --emulate) [--model M] [--data DIR | --samples N]`"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_MODELS = ("build/student_int8.tflite", "student_int8.tflite", "build/model/student_int8.tflite")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="run the firmware over serial and compare it bit for bit "
                       "with the Python reference",
                       description="Connect to the firmware (a board's serial port or its QEMU "
                       "twin), check it was built from --model, send windows and compare every "
                       "output with TFLite-Micro and the integer front end.")
    p.add_argument("--board", required=True, help="board id (tinygen boards)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port: /dev/ttyACM0, COM3, socket://host:port, loop://")
    where.add_argument("--emulate", action="store_true", help="run the board's QEMU twin")
    p.add_argument("--model", type=Path, help="the int8 .tflite the firmware was built from "
                   f"(default: the first of {', '.join(DEFAULT_MODELS)})")
    p.add_argument("--features", type=Path, help="front end parameters (default: features.json "
                   "beside the model)")
    p.add_argument("--elf", type=Path, help="with --emulate: the twin firmware (or a PlatformIO "
                   "project folder); default: build one from --model")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", type=Path, help="recordings folder; its test windows are sent raw")
    src.add_argument("--samples", type=int, default=20, help="number of windows (default 20)")
    p.add_argument("--mode", choices=("auto", "raw", "features"), default="auto",
                   help="raw: int16 windows through the on-device front end; features: int8 "
                   "vectors straight to the network (default: raw when the firmware has a front end)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each reply")
    p.add_argument("--baud", type=int, default=None, help="serial baud (default: the board's)")
    p.add_argument("--report", type=Path, default=None,
                   help="where to save the JSON report (default: validate-<board>.json)")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    p.set_defaults(func=run)


def _default_model() -> Path | None:
    for c in DEFAULT_MODELS:
        if Path(c).is_file():
            return Path(c)
    return None


def _baud(board: str, given: int | None) -> int:
    if given:
        return given
    try:
        from ..boards import get_board
        return int(getattr(get_board(board), "baud", 115200) or 115200)
    except Exception:
        return 115200


def run(args: argparse.Namespace) -> int:
    import sys

    from ..errors import DataError, TinygenError
    from ..validate import run_emulated, run_port
    from ..validate.report import Progress

    model = args.model or _default_model()
    if model is None:
        raise DataError("no model: pass --model student_int8.tflite (or run tinygen train / build first)")
    if not model.is_file():
        raise DataError(f"model {model} not found")
    samples = args.samples if args.data is None else 10**9
    if samples <= 0:
        raise DataError("--samples must be at least 1")
    report_path = args.report or Path(f"validate-{args.board}.json")
    progress = None if args.json else Progress("validating")
    try:
        if args.emulate:
            rep = run_emulated(args.board, args.elf, model, args.features, samples, args.data,
                               timeout=args.timeout, mode=args.mode, report_path=report_path,
                               progress=progress,
                               work_dir=Path("build") / f"validate-twin-{args.board}")
        else:
            rep = run_port(args.board, args.port, model, args.features, samples, args.data,
                           baud=_baud(args.board, args.baud), timeout=args.timeout, mode=args.mode,
                           report_path=report_path, progress=progress)
    except TinygenError as err:
        partial = getattr(err, "report", None)
        if partial is not None:
            if progress:
                progress.done()
            print(partial.to_json() if args.json else partial.table())
            print(f"report saved to {report_path}", file=sys.stderr)
        raise
    if progress:
        progress.done()
    print(rep.to_json() if args.json else rep.table())
    if not args.json:
        print(f"report saved to {report_path}")
    return 0 if rep.ok else 1
