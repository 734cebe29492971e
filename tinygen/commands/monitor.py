"""`tinygen monitor --board B (--port P | --emulate) [--features F] [--feed DIR] [--reset]`

Reads a field device's health and drift statistics and compares the statistics with the training
distribution in features.json: a drift score per band, bands beyond the threshold flagged
(tinygen.monitor). `--feed` first sends recordings through the device's front end (the twin has
seen nothing yet); `--clear` forgets the watchdog resets and leaves safe mode.
Exit status: 0 no drift, 1 drift flagged, 2 an error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .args import board_id, positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="read a device's health and drift statistics and compare "
                       "them with the training distribution",
                       description="Connect to the firmware (a board's serial port or its QEMU "
                       "twin), print its health (integrity, watchdog, safe mode) and its drift "
                       "statistics against features.json's training statistics: a drift score "
                       "per band, flagged beyond --threshold. Exit 1 when drift is flagged.")
    p.add_argument("--board", required=True, type=board_id, help="board id (tinygen boards)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port: auto, /dev/ttyACM0, COM3, socket://host:port")
    where.add_argument("--emulate", action="store_true", help="run the board's QEMU twin")
    p.add_argument("--model", type=Path, help="the .tflite the firmware was built from (to build "
                   "the twin firmware, and to find features.json beside it)")
    p.add_argument("--features", type=Path, help="features.json with the training statistics "
                   "(default: beside the model)")
    fw = p.add_mutually_exclusive_group()
    fw.add_argument("--elf", type=Path, help="with --emulate: the twin firmware")
    fw.add_argument("--project", type=Path, help="with --emulate: a generated project")
    p.add_argument("--feed", type=Path, help="recordings (a file or a folder, searched "
                   "recursively) to send through the device's front end first")
    p.add_argument("--windows", type=positive_int, default=200, help="at most this many windows from "
                   "--feed (default 200)")
    p.add_argument("--threshold", type=positive_float, default=None,
                   help="flag a band whose drift score exceeds this (default 2.0)")
    p.add_argument("--reset", action="store_true", help="start the statistics afresh after reading")
    p.add_argument("--clear", action="store_true", help="forget the watchdog resets and leave "
                   "safe mode first")
    p.add_argument("--timeout", type=positive_float, default=5.0, help="seconds to wait for each reply")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _features_path(args):
    from ..errors import DataError
    from ..validate.reference import find_front_end
    from .validate import DEFAULT_MODELS

    if args.features is not None:
        if not args.features.is_file():
            raise DataError(f"features file {args.features} not found")
        return args.features
    model = args.model or next((Path(c) for c in DEFAULT_MODELS if Path(c).is_file()), None)
    found = find_front_end(model) if model is not None and model.is_file() else None
    if found is None:
        raise DataError("no features.json: pass --features (the one `tinygen train` wrote)")
    return Path(found)


def _twin_elf(args, board, features):
    from .validate import default_model, twin_elf

    if args.elf is None and args.project is None:
        args.model = default_model(args.model)
    return twin_elf(args, board, args.model, features)


def _open(args, board, features):
    from ..validate.device import open_device

    if args.emulate:
        return open_device(board, emulate=True, elf=_twin_elf(args, board, features),
                           timeout=args.timeout)
    return open_device(board, port=args.port, timeout=args.timeout)


def health_line(info) -> str:
    f = info.field
    dog = f"watchdog {f.watchdog_ms} ms" if f.watchdog_ms else "no watchdog"
    why = {"integrity": "REFUSING: the constants in flash failed their check",
           "safe mode": f"SAFE MODE after {f.resets_in_row} watchdog resets in a row"}.get(f.health, f.health)
    return (f"{info.board}{' (' + info.twin + ' twin)' if info.twin else ''}: {why}; integrity "
            f"{f.integrity}; {dog}; {f.resets_in_row} watchdog reset(s) in a row, {f.boots} boot(s)")


def run(args: argparse.Namespace) -> int:
    from ..boards import board_twin, get_board
    from ..errors import DataError, FirmwareMismatch
    from ..features import FrontEnd
    from ..features.frontend import estimate_hz_per_feature
    from ..monitor import THRESHOLD, compare, load_training, report_text
    from .. import feed as feeding

    board = get_board(args.board)
    if not args.emulate and (args.elf or args.project):
        raise DataError("--elf and --project choose twin firmware: add --emulate")
    if args.emulate:
        board_twin(board)
    if args.windows < 1:
        raise DataError("--windows must be at least 1")
    features = _features_path(args)
    training, doc = load_training(features)
    fe = FrontEnd.from_dict(doc)
    windows = feeding.windows_from(args.feed, fe, doc, args.windows) if args.feed else None
    with _open(args, board, features) as dev:
        dev.check_board()
        info = dev.info
        if args.clear:
            dev.client.clear()
            info = dev.client.get_info()
        if not args.json:
            print(health_line(info))
        if not info.field.stats:
            raise FirmwareMismatch(f"the firmware on {dev.name} keeps no drift statistics (built "
                                   "without a front end, or with --no-stats)")
        if info.raw_samples != fe.raw_samples:
            raise FirmwareMismatch(f"the firmware's front end takes {info.raw_samples}-sample "
                                   f"windows, {features} says {fe.raw_samples}")
        if windows is not None:
            feeding.send(dev, windows, None if args.json else "feeding")
        stats = dev.client.stats(reset=args.reset)
    drift = compare(stats, training, THRESHOLD if args.threshold is None else args.threshold,
                    fe.channels)
    if args.json:
        print(json.dumps({"health": info.field.__dict__, "drift": drift.to_dict()}, indent=2))
    else:
        hz = [h for h in estimate_hz_per_feature(fe) for _ in range(fe.channels)]
        print(report_text(drift, doc.get("class_names") or (), hz))
        if args.reset:
            print("statistics reset on the device", file=sys.stderr)
    return 1 if drift.drifted else 0
