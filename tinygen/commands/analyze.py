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
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="also draw the arena plan (buffers over ops) to this PNG")
    p.set_defaults(func=run)


def board_fit(board_id: str, totals: dict) -> dict:
    """The board's fit, by the same estimate `tinygen build` refuses oversized models with."""
    from ..boards import CODE_ESTIMATE_BYTES, STATIC_RAM_ESTIMATE_BYTES, get_board

    board = get_board(board_id)
    rows = [
        dict(what="flash: weights", used=totals["weight_bytes"], limit=board.flash_bytes),
        dict(what="flash: + code (est.)", used=totals["weight_bytes"] + CODE_ESTIMATE_BYTES,
             limit=board.flash_bytes),
        dict(what="RAM: arena + state", used=totals["arena_bytes"] + totals["state_bytes"],
             limit=board.ram_bytes),
        dict(what="RAM: + stack, buffers", used=totals["arena_bytes"] + totals["state_bytes"]
             + board.stack_bytes + STATIC_RAM_ESTIMATE_BYTES, limit=board.ram_bytes),
    ]
    for r in rows:
        r["fits"] = r["used"] <= r["limit"]
    return dict(board=board_id, rows=rows, fits=all(r["fits"] for r in rows))


def run(args: argparse.Namespace) -> int:
    from ..analyze import analysis, format_table
    from ..codegen import compile_model

    compiled = compile_model(args.model)
    a = analysis(compiled)
    if args.plot:
        from ..plot import plot_plan

        plot_plan(compiled, args.plot, title=f"{args.model.name}: arena plan "
                  f"({compiled.plan.strategy}), {compiled.plan.arena_bytes:,} B")
    fit = board_fit(args.board, a["totals"]) if args.board else None
    if args.json:
        if fit:
            a["board"] = fit
        print(json.dumps(a, indent=2))
    else:
        print(format_table(a, fit))
    return 0 if fit is None or fit["fits"] else 1
