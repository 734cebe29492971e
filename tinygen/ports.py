"""Serial ports found, not guessed: a board's USB serial bridge picked by its VID:PID.

Each board file lists the USB ids of its bridge (ST-LINK VCP, J-Link OB, CP210x, CH340,
Espressif USB-Serial/JTAG). `--port auto` takes the one connected port that matches; several
matches are listed, none is one line naming what was looked for and what is connected.
`tinygen devices` prints `connected()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .boards import Board, list_boards
from .errors import DeviceError


@dataclass(frozen=True)
class PortInfo:
    device: str                     # /dev/ttyACM0, COM3
    vid: Optional[int]              # None: not a USB device
    pid: Optional[int]
    serial_number: str = ""
    description: str = ""

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}" if self.vid is not None else "-"

    def label(self) -> str:
        extra = f", serial {self.serial_number}" if self.serial_number else ""
        return f"{self.device} ({self.usb_id} {self.description}{extra})".replace(" )", ")")


def connected() -> list[PortInfo]:
    """The serial ports pyserial sees on this machine, sorted by device name."""
    from serial.tools import list_ports

    return sorted((PortInfo(p.device, p.vid, p.pid, p.serial_number or "",
                            p.description if p.description not in (None, "n/a") else "")
                   for p in list_ports.comports()), key=lambda p: p.device)


def matches(board: Board, ports: Sequence[PortInfo]) -> list[PortInfo]:
    ids = set(board.serial.usb)
    return [p for p in ports if p.vid is not None and (p.vid, p.pid) in ids]


def boards_for(port: PortInfo, boards: Optional[Sequence[Board]] = None) -> list[str]:
    """Ids of the boards whose serial bridge has this port's USB id."""
    return [b.id for b in (boards or list_boards()) if matches(b, [port])]


def resolve_port(board: Board, port: str, ports: Optional[Sequence[PortInfo]] = None) -> str:
    """`port` itself, or for "auto" the one connected port with the board's USB id."""
    if port != "auto":
        return port
    ports = connected() if ports is None else list(ports)
    found = matches(board, ports)
    if len(found) == 1:
        return found[0].device
    wanted = ", ".join(f"{v:04x}:{p:04x}" for v, p in board.serial.usb)
    if not found:
        seen = "; ".join(p.label() for p in ports) or "no serial ports at all"
        raise DeviceError(f"no {board.name} found: no serial port has the USB id of its "
                          f"{board.serial.bridge} ({wanted}); connected: {seen}; plug it in or "
                          f"pass --port")
    raise DeviceError(f"{len(found)} ports could be the {board.name}: "
                      f"{'; '.join(p.label() for p in found)}; pick one with --port")
