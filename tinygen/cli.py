"""The one entry point: `tinygen <command> ...`.

Each command lives in tinygen/commands/<name>.py and exposes `register(subparsers)`, which adds
its parser and sets `func=run`. Command modules import heavy libraries (TensorFlow, PlatformIO)
inside `run`, never at module level, so `tinygen analyze` starts in well under a second.

Known errors (TinygenError) print as one line `tinygen: error: ...` and exit 2, and so do bad
arguments (Parser.error: argparse's usage block would bury the line; `--help` shows it); anything
else is a bug and keeps its traceback. SIGINT, SIGTERM and SIGHUP stop every child process group (QEMU, pio,
compilers: tinygen.procs) and exit with 128 + the signal number.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__, procs
from .errors import TinygenError

# Order is the order shown in `tinygen --help`: the pipeline's order.
COMMANDS = ("train", "quantize", "generate", "analyze", "ops", "boards", "build", "flash",
            "devices", "validate", "monitor", "bench")


class Parser(argparse.ArgumentParser):
    """argparse, with a refused argument said in one line like every other error."""

    def error(self, message: str):
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        where, see = (f"{command}: ", f"tinygen {command} --help") if command else \
            ("", "tinygen --help")
        self.exit(2, f"tinygen: error: {where}{message}; see {see}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="tinygen",
        description="Turn a small int8 neural network into microcontroller firmware and prove it "
        "bit-exact on the device.",
    )
    parser.add_argument("--version", action="version", version=f"tinygen {__version__}")
    parser.set_defaults(func=None)
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
    if args.func is None:
        parser.print_help()
        return 1
    previous = procs.install_signal_handlers()
    try:
        return int(args.func(args) or 0)
    except TinygenError as err:
        print(f"tinygen: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("tinygen: interrupted", file=sys.stderr)
        return 130
    except procs.Terminated as sig:
        print(f"tinygen: {sig}", file=sys.stderr)
        return 128 + sig.signum
    finally:
        procs.stop_all()
        procs.restore_signal_handlers(previous)


if __name__ == "__main__":
    sys.exit(main())
