"""The one entry point: `tinygen <command> ...`.

Each command lives in tinygen/commands/<name>.py and exposes `register(subparsers)`, which adds
its parser and sets `func=run`. Command modules import heavy libraries (TensorFlow, PlatformIO)
inside `run`, never at module level, so `tinygen analyze` starts in well under a second.

Known errors (TinygenError) print as one line `tinygen: error: ...` and exit 2; anything else is a
bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import TinygenError

# Order is the order shown in `tinygen --help`: the pipeline's order.
COMMANDS = ("train", "quantize", "generate", "analyze", "ops", "boards", "build", "validate", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygen",
        description="Turn a small int8 neural network into microcontroller firmware and prove it "
        "bit-exact on the device.",
    )
    parser.add_argument("--version", action="version", version=f"tinygen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tinygen.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tinygen.commands.{name}":
                continue  # command not present in this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except TinygenError as err:
        print(f"tinygen: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("tinygen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
