"""`tinygen boards [--json]`: the boards tinygen knows, what builds here, twins, flashing, ports."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("boards", help="list the supported boards and their emulated twins",
                       description="List the boards in boards/ (each validated on load): core, "
                       "clock, flash, RAM, whether tinygen builds it here, its QEMU twin, how it "
                       "is flashed, and the official PlatformIO IDs.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json

    from ..boards import list_boards

    boards = list_boards()
    if args.json:
        print(json.dumps([b.summary() for b in boards], indent=2))
        return 0
    rows = [("board", "name", "core", "clock", "flash", "RAM", "built here", "twin", "flash with",
             "PlatformIO (official)")]
    for b in boards:
        built = "yes" if b.buildable else ("twin only" if b.twin else "C check only")
        pio = f"{b.pio_platform} / {b.pio_board}" + (f" / {b.pio_framework}"
                                                      if b.pio_framework else "")
        rows.append((b.id, b.name, b.core, f"{b.clock_hz // 1_000_000} MHz",
                     f"{b.flash_bytes // 1024} KB", f"{b.ram_bytes // 1024} KB", built,
                     f"{b.twin.id}" if b.twin else "-", ", ".join(b.upload.tools), pio))
    print(table(rows))
    notes = [b for b in boards if not b.buildable]
    if notes:
        print()
        for b in notes:
            print(f"{b.id}: {b.build_note}")
    return 0
