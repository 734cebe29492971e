"""Field-ready firmware (issue 17): the options a project is generated with, and the watchdog
bound derived from the inference time.

    integrity   crc32 (default) | sha256 | off: the constants in flash checked at boot and on
                request (tinygen.integrity; firmware/harness/tg_integrity.c)
    watchdog    the board's independent watchdog, armed with a bound derived from the inference
                time, fed between inferences and while the harness waits for the host; after
                `safe_mode_resets` watchdog resets in a row the firmware starts in safe mode
    stats       drift statistics of the front end's output and the predicted classes
                (firmware/features/tg_stats.c), read with STATS; only with a front end

Why CRC-32 by default, on every core: what an unattended sensor meets is accidental corruption
(a flash cell that decays, an update cut short, a bad copy), and CRC-32 catches every burst of up
to 32 bits and all but 1 in 2^32 of other errors, at about ten instructions a byte from a 64-byte
table. SHA-256 costs about six times the instructions (measured on the Cortex-M7 twin: 60 a byte
against CRC-32's 10) and 0.85 KB more code, and adds nothing
against a deliberate change: its expected value sits in the same writable flash, unsigned, so
whoever can rewrite the weights can rewrite it too. `--integrity sha256` is there for users whose
process asks for a cryptographic digest; the figures are in the README (`tinygen bench
--field-costs`, tinygen.field_cost).

The watchdog bound: MARGIN x CYCLES_PER_INSTRUCTION x (instructions of one inference) at the
board's clock, at least MIN_MS. The instructions are the ones counted on the twin when tinygen
measured them (FieldOptions.instructions, with_measurement: `tinygen build` counts them after
building and builds again when the bound changes), otherwise an upper estimate from the model's
MACs and the front end's window. On an emulated twin, time is the
host's: a loaded machine slows QEMU by an unknown factor, so the twin's bound is at least
TWIN_MIN_MS.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from .errors import DataError
from .integrity import ALGORITHM_CODES, ALGORITHMS

MARGIN = 4                      # the bound is 4x the inference's worst-case time
CYCLES_PER_INSTRUCTION = 2      # worst case on these cores (flash wait states, cache misses)
MIN_MS = 100                    # never tighter: serial bursts and the boot check fit easily
TWIN_MIN_MS = 5000              # QEMU runs on the host's clock, and the host may be busy
MAX_MS = 30000                  # the longest every supported watchdog reaches (STM32 IWDG: 32 s)
SAFE_MODE_RESETS = 3
STATS_WINDOW = 1024             # windows before the statistics become a running average
# Upper estimates when nothing was measured (measured: 1.1-3.7 instructions a MAC on the
# Cortex-M7, 97 a sample per channel for the FFT front end; README, FACTS.md).
EST_PER_MAC = 8
EST_PER_SAMPLE = 200
EST_OVERHEAD = 20000


@dataclass(frozen=True)
class FieldOptions:
    integrity: str = "crc32"
    watchdog: bool = True
    watchdog_ms: Optional[int] = None           # None: derived from the inference time
    safe_mode_resets: int = SAFE_MODE_RESETS
    stats: bool = True
    stats_window: int = STATS_WINDOW
    instructions: Optional[int] = None          # of one inference, measured on the twin

    def check(self) -> "FieldOptions":
        if self.integrity not in ALGORITHMS:
            raise DataError(f"--integrity {self.integrity}: choose one of {', '.join(ALGORITHMS)}")
        if self.watchdog_ms is not None and not MIN_MS // 10 <= self.watchdog_ms <= MAX_MS:
            raise DataError(f"--watchdog-ms {self.watchdog_ms}: choose {MIN_MS // 10} to {MAX_MS} "
                            "ms (the longest every supported watchdog reaches)")
        if not 0 <= self.safe_mode_resets <= 255:
            raise DataError("--safe-mode-resets takes 0 (never) to 255")
        if not 1 <= self.stats_window <= 1 << 20:
            raise DataError("--stats-window takes 1 to 1,048,576 windows")
        return self


OFF = FieldOptions(integrity="off", watchdog=False, stats=False)


def estimate_instructions(gen, front_end=None) -> int:
    """An upper estimate of one inference's instructions (front end included)."""
    samples = int(front_end.raw_samples) if front_end is not None else 0
    return EST_PER_MAC * int(gen.macs) + EST_PER_SAMPLE * samples + EST_OVERHEAD


def bound_ms(instructions: int, clock_hz: int, floor_ms: int = MIN_MS) -> int:
    """MARGIN x CYCLES_PER_INSTRUCTION x instructions at clock_hz, in ms, within [floor, MAX_MS]."""
    ms = math.ceil(1000 * MARGIN * CYCLES_PER_INSTRUCTION * instructions / clock_hz)
    return min(MAX_MS, max(floor_ms, ms))


@dataclass(frozen=True)
class Watchdog:
    board_ms: int
    twin_ms: int
    why: str                    # one line for the generated header and the build output


def watchdog_bound(options: FieldOptions, gen, board, front_end=None) -> Optional[Watchdog]:
    """The bounds for the board and its twin, or None when the watchdog is off."""
    if not options.watchdog:
        return None
    if options.watchdog_ms is not None:
        return Watchdog(options.watchdog_ms, options.watchdog_ms, "given with --watchdog-ms")
    measured = options.instructions is not None
    n = options.instructions if measured else estimate_instructions(gen, front_end)
    twin_hz = board.twin.clock_hz if board.twin else board.clock_hz
    why = (f"{MARGIN} x {CYCLES_PER_INSTRUCTION} cycles an instruction x {n:,} instructions "
           f"({'measured on the twin' if measured else 'estimated from the MACs'}) at the core "
           f"clock, at least {MIN_MS} ms ({TWIN_MIN_MS} ms on the twin)")
    return Watchdog(bound_ms(n, board.clock_hz), bound_ms(n, twin_hz, TWIN_MIN_MS), why)


def with_measurement(options: FieldOptions, instructions: Optional[int]) -> FieldOptions:
    return replace(options, instructions=instructions) if instructions else options


# ---- the generated files ---------------------------------------------------------------------

def config_values(options: FieldOptions, gen, board, front_end=None) -> dict:
    """What templates/project/tg_field_config.h.j2 and main.c.j2 print."""
    options.check()
    dog = watchdog_bound(options, gen, board, front_end)
    model_arrays = sum(len(c.lowered.consts) for c in gen.compiled.ops)
    integrity = options.integrity != "off"
    if integrity and model_arrays and not getattr(gen, "const_table", True):
        raise DataError(f"the model's C was generated without its constants' table (generate "
                        f"--integrity off), so --integrity {options.integrity} cannot check it: "
                        "generate it again without --integrity off, or build with --integrity off")
    stats = options.stats and front_end is not None
    return {
        "enabled": integrity or dog is not None or stats,
        "integrity": ALGORITHM_CODES[options.integrity], "integrity_name": options.integrity,
        "model_set": integrity and model_arrays > 0,
        "front_end_set": integrity and front_end is not None,
        "watchdog_board_ms": dog.board_ms if dog else 0,
        "watchdog_twin_ms": dog.twin_ms if dog else 0,
        "watchdog_why": dog.why if dog else "no watchdog (--no-watchdog)",
        "safe_mode_resets": options.safe_mode_resets if dog else 0,
        "stats": stats, "stats_window": options.stats_window,
        "stats_classes": stats_classes(gen) if stats else 0,
    }


def stats_classes(gen) -> int:
    """The histogram's length: output 0's elements when it looks like class scores."""
    out = gen.outputs[0]
    return out.count if 1 < out.count <= 256 else 0


def render_config(values: dict, version: str, sha256: str) -> str:
    from .render import environment

    return environment().get_template("project/tg_field_config.h.j2").render(
        version=version, sha256=sha256, **values)


def render_stats_config(values: dict, version: str, sha256: str) -> str:
    from .render import environment

    return environment().get_template("features/tg_stats_config.h.j2").render(
        version=version, sha256=sha256, **values)


# ---- the command line ------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("field-ready firmware (integrity, watchdog, drift statistics)")
    g.add_argument("--integrity", choices=ALGORITHMS, default="crc32",
                   help="check the constants in flash at boot and on request: crc32 (default), "
                   "sha256, or off")
    g.add_argument("--no-watchdog", action="store_true",
                   help="do not arm the watchdog (and so no safe mode)")
    g.add_argument("--watchdog-ms", type=int, default=None,
                   help="watchdog bound in ms (default: derived from the inference time)")
    g.add_argument("--safe-mode-resets", type=int, default=SAFE_MODE_RESETS,
                   help=f"watchdog resets in a row that start safe mode (default {SAFE_MODE_RESETS}; "
                   "0: never)")
    g.add_argument("--no-stats", action="store_true", help="no drift statistics")
    g.add_argument("--stats-window", type=int, default=STATS_WINDOW,
                   help=f"windows the running statistics average over (default {STATS_WINDOW})")


def options_from(args: argparse.Namespace) -> FieldOptions:
    return FieldOptions(integrity=args.integrity, watchdog=not args.no_watchdog,
                        watchdog_ms=args.watchdog_ms, safe_mode_resets=args.safe_mode_resets,
                        stats=not args.no_stats, stats_window=args.stats_window).check()


def write_config(project_dir: Path, values: dict, version: str, sha256: str) -> bool:
    """(Re)write src/tg_field_config.h; True when its text changed (a rebuild is due)."""
    path = Path(project_dir) / "src" / "tg_field_config.h"
    text = render_config(values, version, sha256)
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
