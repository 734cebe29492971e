"""`tinygen devices [--json]`: the serial ports connected, and which boards' bridges they are."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list connected serial ports and the boards they match",
                       description="List the serial ports pyserial sees, with their USB VID:PID, "
                       "and the boards whose serial bridge has that id (what --port auto picks).")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..boards import list_boards
    from ..ports import boards_for, connected
    from .boards import table

    boards = list_boards()
    ports = [(p, boards_for(p, boards)) for p in connected()]
    if args.json:
        print(json.dumps([{"device": p.device, "usb": p.usb_id if p.vid is not None else None,
                           "serial_number": p.serial_number, "description": p.description,
                           "boards": ids} for p, ids in ports], indent=2))
        return 0
    if not ports:
        print("no serial ports found; plug a board in (its debug probe's USB port)")
        return 0
    rows = [("port", "USB id", "description", "serial", "boards")]
    rows += [(p.device, p.usb_id, p.description, p.serial_number, ", ".join(ids) or "-")
             for p, ids in ports]
    print(table(rows))
    return 0
