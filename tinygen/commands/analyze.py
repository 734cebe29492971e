"""`tinygen analyze model.tflite [--board B] [--json]`"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="per-op MACs, weights and arena plan of a model",
                       description="Print per op: shapes, MACs, weight bytes and where its "
                       "output sits in the arena; then totals and, with --board, the fit.")
    p.add_argument("model", type=Path, help="int8 .tflite file")
    p.add_argument("--board", help="check the fit against this board's RAM and flash")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def board_fit(board_name: str, totals: dict) -> dict:
    """Weights + runtime code against flash, arena against RAM (boards.py owns the limits)."""
    from ..boards import load_board

    board = load_board(board_name)
    ram, flash = int(board.ram_bytes), int(board.flash_bytes)
    rows = [dict(what="flash: weights", used=totals["weight_bytes"], limit=flash),
            dict(what="RAM: arena", used=totals["arena_bytes"], limit=ram)]
    for r in rows:
        r["fits"] = r["used"] <= r["limit"]
    return dict(board=board_name, rows=rows, fits=all(r["fits"] for r in rows))


def run(args: argparse.Namespace) -> int:
    from ..analyze import analysis, format_table
    from ..codegen import compile_model

    a = analysis(compile_model(args.model))
    fit = board_fit(args.board, a["totals"]) if args.board else None
    if args.json:
        if fit:
            a["board"] = fit
        print(json.dumps(a, indent=2))
    else:
        print(format_table(a, fit))
    return 0 if fit is None or fit["fits"] else 1
