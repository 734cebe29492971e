"""`tinygen analyze model.tflite [--board B] [--json] [--plot PNG]`"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .args import add_force, board_id


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="per-op MACs, weights and arena plan of a model",
                       description="Print per op: shapes, MACs, weight bytes and where its "
                       "output sits in the arena; then totals and, with --board, the fit.")
    p.add_argument("model", type=Path, help="int8 .tflite file")
    p.add_argument("--board", type=board_id,
                   help="check the fit against this board's RAM and flash")
    p.add_argument("--features", type=Path, help="front end (features.json) the firmware will "
                   "carry; default: features.json beside the model, as tinygen build does")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="also draw the arena plan (buffers over ops) to this PNG file")
    add_force(p, "--plot's file")
    p.set_defaults(func=run)


def board_fit(board_id: str, compiled, front_end=None) -> dict:
    """The board's fit: the estimate `tinygen build` refuses oversized models with
    (project.model_fit), so both print one RAM figure."""
    from ..boards import get_board
    from ..project import model_fit

    board = get_board(board_id)
    est = model_fit(board, compiled, front_end, check=False)
    rows = [
        dict(what="flash: weights", used=est.weights, limit=est.flash_limit),
        dict(what="flash: + code (est.)", used=est.flash, limit=est.flash_limit),
        dict(what="RAM: arena + state", used=est.arena + est.state, limit=est.ram_limit),
        dict(what=f"RAM: + stack {est.stack:,} B, buffers {est.static_ram:,} B", used=est.ram,
             limit=est.ram_limit),
    ]
    for r in rows:
        r["fits"] = r["used"] <= r["limit"]
    return dict(board=board_id, rows=rows, fits=all(r["fits"] for r in rows),
                flash_bytes=est.flash, ram_bytes=est.ram)


def check_plot(path: Path, force: bool) -> Path:
    from ..outdir import OutputError, check_file, is_png

    if path.is_dir():
        raise OutputError(f"--plot {path} is a folder; give the picture's file path, e.g. "
                          f"{path / 'plan.png'}")
    return check_file(path, "--plot", ours=is_png, force=force, what="PNG picture")


def run(args: argparse.Namespace) -> int:
    from ..analyze import analysis, format_table
    from ..codegen import compile_model
    from ..validate.reference import find_front_end, load_front_end

    if args.plot:
        check_plot(args.plot, args.force)
    compiled = compile_model(args.model)
    a = analysis(compiled)
    if args.plot:
        from ..plot import plot_plan

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_plan(compiled, args.plot, title=f"{args.model.name}: arena plan "
                  f"({compiled.plan.strategy}), {compiled.plan.arena_bytes:,} B")
    fit = None
    if args.board:
        fit = board_fit(args.board, compiled,
                        load_front_end(args.features or find_front_end(args.model)))
    if args.json:
        if fit:
            a["board"] = fit
        print(json.dumps(a, indent=2))
    else:
        print(format_table(a, fit))
    return 0 if fit is None or fit["fits"] else 1
