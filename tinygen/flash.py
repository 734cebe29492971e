"""Flashing a real board offline: the OpenOCD, pyOCD or esptool command for a board, and running it.

One function, `command()`, turns a board's [upload] table into the exact invocation. The generated
project's `pio run -e <id>_offline -t upload` runs the same command (its `upload_command`, with
PlatformIO's $SOURCE for the image), and `tinygen flash` runs it directly. The tools come from
Debian (`openocd`, with its board/*.cfg scripts) or PyPI (`pyocd`, `esptool`).

Without a probe attached the tool fails; `run()` says so in one line.
"""
from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import procs
from .boards import Board
from .errors import BoardError, DeviceError, ToolchainMissing

INSTALL = {"openocd": "apt-get install --no-install-recommends openocd",
           "pyocd": "pip install pyocd", "esptool": "pip install esptool"}
FLASH_TIMEOUT = 180.0
# What each tool prints when no probe or board answers (checked on this machine, no hardware).
_NO_PROBE = {
    "openocd": re.compile(r"open failed|No J-Link device found|unable to find .*device|"
                          r"no device found|Error: libusb_open", re.I),
    "pyocd": re.compile(r"No connected debug probes|No matching debug probe|No target device", re.I),
    "esptool": re.compile(r"could not open|Failed to connect|No serial data received", re.I),
}


@dataclass(frozen=True)
class EspImages:
    """An ESP-IDF build's three flash images (the official environment's .pio/build/<env>/)."""

    bootloader: str
    partitions: str
    app: str

    @classmethod
    def in_dir(cls, build_dir: Path | str) -> "EspImages":
        d = Path(build_dir)
        return cls(str(d / "bootloader.bin"), str(d / "partitions.bin"), str(d / "firmware.bin"))


def tool_for(board: Board, tool: Optional[str]) -> str:
    tool = tool or board.upload.tool
    if tool not in board.upload.tools:
        raise BoardError(f"{board.id} is flashed with {' or '.join(board.upload.tools)}, not "
                         f"{tool}; see [upload] in its board file")
    return tool


def command(board: Board, image, *, tool: Optional[str] = None, port: Optional[str] = None,
            probe: Optional[str] = None) -> list[str]:
    """The flash command. `image`: the ELF (OpenOCD, pyOCD) or EspImages (esptool); `port`: the
    serial port (esptool); `probe`: a probe's serial number when several are attached."""
    tool = tool_for(board, tool)
    up = board.upload
    if tool == "openocd":
        cmd = ["openocd"]
        for cfg in up.openocd:
            cmd += ["-f", cfg]
        if up.openocd_khz:
            cmd += ["-c", f"adapter speed {up.openocd_khz}"]
        if probe:
            cmd += ["-c", f"adapter serial {probe}"]
        return cmd + ["-c", f"program {{{image}}} verify reset exit"]
    if tool == "pyocd":
        return ["pyocd", "load", "--no-wait", "-t", up.pyocd, *(["-u", probe] if probe else []),
                str(image)]
    esp = up.esptool
    return ["esptool", "--chip", esp.chip, "--port", port or "$UPLOAD_PORT", "--baud",
            str(esp.baud), "write-flash", hex(esp.bootloader), image.bootloader,
            hex(esp.partitions), image.partitions, hex(esp.app), image.app]


def upload_command_line(board: Board) -> str:
    """The default tool's command for platformio.ini (`upload_command`, image = $SOURCE)."""
    return shlex.join(command(board, "$SOURCE"))


def run(cmd: list[str], board: Board, timeout: float = FLASH_TIMEOUT) -> str:
    """Run a flash command; one-line errors for a missing tool, no probe, or a failure."""
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise ToolchainMissing(f"{tool} not found; install it: {INSTALL[tool]}")
    done = procs.run(cmd, timeout)
    if done.timed_out:
        raise DeviceError(f"{tool} did not finish within {timeout:g} s; is the board attached?")
    if done.returncode != 0:
        raise DeviceError(_failure(tool, board, done.output))
    return done.output


def _failure(tool: str, board: Board, output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    said = next((ln for ln in lines if _NO_PROBE[tool].search(ln)), None)
    if said is not None:
        if tool == "esptool":
            return (f"no {board.name} answers on the serial port ({tool}: {said[:120]}); connect "
                    f"its USB port ({board.serial.bridge}) or pass --port")
        return (f"no debug probe found for {board.name} ({tool}: {said[:120]}); connect the "
                f"board's debug USB port, or try --probe {' / '.join(board.upload.tools)}")
    errors = [ln for ln in lines if re.search(r"error", ln, re.I)]
    last = (errors or lines or ["no output"])[-1]
    return f"{tool} failed flashing {board.name}: {last[:200]}"
