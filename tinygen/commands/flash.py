"""`tinygen flash --board X [--probe openocd|pyocd|esptool] [--project build/ | --elf F]`

Flashes a real board offline with the tool its board file names: the exact command `pio run -e
<id>_offline -t upload` runs in the generated project (tinygen.flash).
"""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from .args import board_id, positive_float


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flash", help="flash a board with OpenOCD, pyOCD or esptool (offline)",
                       description="Flash the firmware tinygen built for a real board: OpenOCD or "
                       "pyOCD through the debug probe (Cortex-M), esptool over the serial port "
                       "(ESP32 family). The same command as `pio run -t upload` in the project.")
    p.add_argument("--board", required=True, type=board_id, help="board id (tinygen boards)")
    p.add_argument("--probe", choices=("openocd", "pyocd", "esptool"), default=None,
                   help="flash tool (default: the board's, see `tinygen boards`)")
    fw = p.add_mutually_exclusive_group()
    fw.add_argument("--project", type=Path, default=Path("build"),
                    help="the generated project (default: build/)")
    fw.add_argument("--elf", type=Path, help="a firmware ELF (OpenOCD, pyOCD)")
    p.add_argument("--port", default="auto", help="serial port for esptool (default: auto, the "
                   "board's USB bridge)")
    p.add_argument("--probe-serial", default=None,
                   help="serial number of the probe to use when several are attached")
    p.add_argument("--dry-run", action="store_true", help="print the command, do not run it")
    p.add_argument("--timeout", type=positive_float, default=180.0, help="seconds allowed")
    p.set_defaults(func=run)


def image_for(args: argparse.Namespace, board, tool: str):
    """The ELF (OpenOCD, pyOCD) or the three ESP-IDF images (esptool) to flash."""
    from ..errors import DataError
    from ..flash import EspImages
    from ..project import open_project

    if args.elf is not None:
        if tool == "esptool":
            raise DataError("esptool flashes an ESP-IDF build's three images; pass --project")
        if not args.elf.is_file():
            raise DataError(f"firmware {args.elf} not found")
        return args.elf
    project = open_project(args.project, board)
    if tool == "esptool":
        images = EspImages.in_dir(project.dir / ".pio" / "build" / project.envs["official"])
        missing = [f for f in (images.bootloader, images.partitions, images.app)
                   if not Path(f).is_file()]
        if missing:
            raise DataError(f"{missing[0]} not found; build the official environment first: "
                            f"cd {project.dir} && pio run -e {project.envs['official']}")
        return images
    if project.envs["offline"] is None:
        raise DataError(f"{board.id} is not built here ({board.build_note}); flash it from its "
                        f"official environment with PlatformIO")
    elf = project.elf(project.envs["offline"])
    if not elf.is_file():
        raise DataError(f"{elf} not found; build it first: tinygen build --board {board.id} "
                        f"--out {args.project}")
    return elf


def run(args: argparse.Namespace) -> int:
    from ..boards import get_board
    from ..flash import command, tool_for
    from ..flash import run as run_flash
    from ..ports import resolve_port

    board = get_board(args.board)
    tool = tool_for(board, args.probe)
    image = image_for(args, board, tool)
    port = resolve_port(board, args.port) if tool == "esptool" and not args.dry_run else args.port
    cmd = command(board, image, tool=tool, port=port, probe=args.probe_serial)
    print(shlex.join(cmd))
    if args.dry_run:
        return 0
    run_flash(cmd, board, args.timeout)
    print(f"flashed {board.name} with {tool}")
    return 0
