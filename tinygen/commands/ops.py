"""`tinygen ops [--markdown]`: the supported-op table, generated from the op registry.

The README's op table is this command's --markdown output (tests/test_ops_registry.py keeps the
two equal), so what the docs promise is what the plugins declare."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ops", help="list the ops tinygen compiles, their types and limits",
                       description="Print every TFLite op tinygen compiles, the activation types "
                       "its kernels take, and notes on attributes and limits.")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (the README's)")
    p.set_defaults(func=run)


def rows() -> list[tuple[str, str, str]]:
    from ..ops import support_table

    return [(t.value, ", ".join(s.dtypes) if s.dtypes else "compile time", s.notes)
            for t, s in support_table().items()]


def markdown() -> str:
    lines = ["| op | types | notes |", "|---|---|---|"]
    lines += [f"| {op} | {types} | {notes} |" for op, types, notes in rows()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown())
        return 0
    table = rows()
    w_op = max(len(r[0]) for r in table)
    w_ty = max(len(r[1]) for r in table)
    print(f"{'op':<{w_op}}  {'types':<{w_ty}}  notes")
    for op, types, notes in table:
        print(f"{op:<{w_op}}  {types:<{w_ty}}  {notes}")
    print(f"\n{len(table)} ops. Anything else is refused with one line naming each op, its index "
          "and its layer.")
    return 0
