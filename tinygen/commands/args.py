"""Argument types shared by the commands: bad values are refused while parsing, in one line.

argparse calls these on the text the user typed; an ArgumentTypeError becomes
`tinygen: error: argument --timeout: ...` (cli.Parser.error), before any work starts.
"""
from __future__ import annotations

import argparse
import math


def _number(text: str, kind, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be positive (1 or more)")
    return value


def natural_int(text: str) -> int:
    """0, 1, 2, ... (seeds)."""
    value = _number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive (more than 0)")
    return value


def fraction(text: str) -> float:
    value = _number(text, float, "a number")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1")
    return value


def power_of_two(text: str) -> int:
    """Samples per window: the FFT front end takes a power of two (its own check says which)."""
    from ..errors import DataError
    from ..features.frontend import check_window

    value = _number(text, int, "a whole number")
    try:
        check_window(value)
    except DataError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def board_id(text: str) -> str:
    """A board in boards/ (`tinygen boards`)."""
    from ..boards import board_ids

    known = board_ids()
    if text not in known:
        raise argparse.ArgumentTypeError(f"unknown board {text!r}; known boards: "
                                         f"{', '.join(known)} (tinygen boards)")
    return text


def add_force(p: argparse.ArgumentParser, what: str = "the output folder") -> None:
    p.add_argument("--force", action="store_true",
                   help=f"write into {what} even if it holds files tinygen did not write "
                   "(they are left in place; colliding ones are replaced)")
