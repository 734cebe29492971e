"""Ports found, not guessed: `--port auto` by the USB VID:PID of a board's serial bridge, and
`tinygen devices`. No board is attached here, so the matching is checked on port lists as
pyserial reports them (ListPortInfo), and the real list of this machine is read too."""
from __future__ import annotations

import json

import pytest
from serial.tools.list_ports_common import ListPortInfo

from tinygen import ports
from tinygen.boards import get_board
from tinygen.cli import main as cli_main
from tinygen.errors import DeviceError


def _usb(device: str, vid: int, pid: int, serial: str = "", description: str = "") -> ports.PortInfo:
    """A port as pyserial describes a USB serial bridge, turned into ours like connected() does."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number, info.description = vid, pid, serial, description
    return ports.PortInfo(info.device, info.vid, info.pid, info.serial_number, info.description)


STLINK_V21 = _usb("/dev/ttyACM0", 0x0483, 0x374B, "066DFF", "STM32 STLink")
STLINK_V3 = _usb("/dev/ttyACM1", 0x0483, 0x374E, "0038003A", "STLINK-V3")
JLINK = _usb("/dev/ttyACM2", 0x1366, 0x1015, "000683", "J-Link")
CP210X = _usb("/dev/ttyUSB0", 0x10C4, 0xEA60, "0001", "CP2102 USB to UART Bridge Controller")
ESP_JTAG = _usb("/dev/ttyACM3", 0x303A, 0x1001, "F4:12", "USB JTAG/serial debug unit")
UART = ports.PortInfo("/dev/ttyS0", None, None)


def test_auto_picks_the_boards_bridge():
    h7 = get_board("stm32h7")
    assert ports.resolve_port(h7, "auto", [UART, JLINK, STLINK_V3, CP210X]) == "/dev/ttyACM1"
    assert ports.resolve_port(get_board("nrf52840"), "auto", [UART, JLINK, STLINK_V21]) == \
        "/dev/ttyACM2"
    assert ports.resolve_port(get_board("esp32s3"), "auto", [UART, ESP_JTAG]) == "/dev/ttyACM3"
    assert ports.resolve_port(get_board("esp32"), "auto", [CP210X, STLINK_V21]) == "/dev/ttyUSB0"
    # a given port is used as given
    assert ports.resolve_port(h7, "socket://127.0.0.1:4444", []) == "socket://127.0.0.1:4444"


def test_several_candidates_are_listed():
    with pytest.raises(DeviceError) as exc:
        ports.resolve_port(get_board("stm32h7"), "auto", [STLINK_V21, STLINK_V3])
    msg = str(exc.value)
    assert "2 ports could be the NUCLEO-H743ZI" in msg and "\n" not in msg
    assert "/dev/ttyACM0 (0483:374b STM32 STLink, serial 066DFF)" in msg
    assert "/dev/ttyACM1" in msg and "--port" in msg


def test_no_candidate_is_one_line():
    with pytest.raises(DeviceError) as exc:
        ports.resolve_port(get_board("stm32f4"), "auto", [UART, JLINK])
    msg = str(exc.value)
    assert "\n" not in msg and "no NUCLEO-F446RE found" in msg and "0483:374b" in msg
    assert "connected: /dev/ttyS0 (-); /dev/ttyACM2 (1366:1015 J-Link, serial 000683)" in msg


def test_this_machines_ports_are_read():
    found = ports.connected()           # pyserial's list_ports on this machine
    assert all(p.device.startswith("/dev/") for p in found)
    assert [p.device for p in found] == sorted(p.device for p in found)
    if not ports.matches(get_board("stm32h7"), found):
        with pytest.raises(DeviceError, match="no NUCLEO-H743ZI found"):
            ports.resolve_port(get_board("stm32h7"), "auto")


def test_devices_command(monkeypatch, capsys):
    assert cli_main(["devices"]) == 0
    assert capsys.readouterr().out.strip()
    monkeypatch.setattr(ports, "connected", lambda: [UART, STLINK_V21, CP210X])
    assert cli_main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "/dev/ttyACM0  0483:374b" in out and "stm32f4, stm32h7, stm32l4" in out
    assert "esp32, esp32c3, esp32s3" in out
    assert cli_main(["devices", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc[0] == {"device": "/dev/ttyS0", "usb": None, "serial_number": "",
                      "description": "", "boards": []}
    assert doc[1]["boards"] == ["stm32f4", "stm32h7", "stm32l4"]


def test_validate_port_auto_without_a_board_is_one_line(capsys, tmp_path, monkeypatch):
    pytest.importorskip("tflite_micro")
    from pathlib import Path

    monkeypatch.setattr(ports, "connected", lambda: [UART])
    model = Path(__file__).parent / "fixtures" / "validate_fc_a.tflite"
    rc = cli_main(["validate", "--board", "stm32h7", "--port", "auto", "--model", str(model),
                   "--report", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "no NUCLEO-H743ZI found" in err
