"""Flashing offline: the exact OpenOCD / pyOCD / esptool command for every real board, each tool
accepting its configuration, one-line errors without a probe, and the generated project's
`pio run -t upload` running the same command.

No hardware is attached here (nor in CI): every real run ends at "no probe". Runs that could
reach a real probe name a probe serial number that does not exist, so an attached board is never
flashed with test firmware."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen import flash
from tinygen.boards import get_board, list_boards
from tinygen.cli import main as cli_main
from tinygen.errors import BoardError, DeviceError

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "boards_tiny_model"))
from fixture import fixture_gen  # noqa: E402

NO_PROBE = "TINYGEN-NO-SUCH-PROBE"
ELF = "/tmp/tinygen flash test/firmware.elf"        # a space: quoting must hold
IMAGES = flash.EspImages("b.bin", "p.bin", "f.bin")

EXPECTED = {
    ("stm32h7", "openocd"): ["openocd", "-f", "board/st_nucleo_h743zi.cfg",
                             "-c", "program {%s} verify reset exit" % ELF],
    ("stm32h7", "pyocd"): ["pyocd", "load", "--no-wait", "-t", "stm32h743xx", ELF],
    ("stm32f4", "openocd"): ["openocd", "-f", "board/st_nucleo_f4.cfg",
                             "-c", "program {%s} verify reset exit" % ELF],
    ("stm32l4", "openocd"): ["openocd", "-f", "board/st_nucleo_l4.cfg",
                             "-c", "program {%s} verify reset exit" % ELF],
    ("nrf52840", "openocd"): ["openocd", "-f", "board/nordic_nrf52_dk.cfg",
                              "-c", "program {%s} verify reset exit" % ELF],
    ("nrf52840", "pyocd"): ["pyocd", "load", "--no-wait", "-t", "nrf52840", ELF],
    ("stm32u5", "openocd"): ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32u5x.cfg",
                             "-c", "program {%s} verify reset exit" % ELF],
    # CMSIS-DAP (Debug Probe / picoprobe); target/rp2040.cfg sets no adapter speed
    ("pico", "openocd"): ["openocd", "-f", "interface/cmsis-dap.cfg", "-f", "target/rp2040.cfg",
                          "-c", "adapter speed 5000", "-c", "program {%s} verify reset exit" % ELF],
    ("esp32", "esptool"): ["esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud",
                           "460800", "write-flash", "0x1000", "b.bin", "0x8000", "p.bin",
                           "0x10000", "f.bin"],
    ("esp32s3", "esptool"): ["esptool", "--chip", "esp32s3", "--port", "/dev/ttyUSB0", "--baud",
                             "460800", "write-flash", "0x0", "b.bin", "0x8000", "p.bin",
                             "0x10000", "f.bin"],
    ("esp32c3", "esptool"): ["esptool", "--chip", "esp32c3", "--port", "/dev/ttyUSB0", "--baud",
                             "460800", "write-flash", "0x0", "b.bin", "0x8000", "p.bin",
                             "0x10000", "f.bin"],
}


def _cmd(board_id: str, tool: str, probe=None, port="/dev/ttyUSB0"):
    image = IMAGES if tool == "esptool" else ELF
    return flash.command(get_board(board_id), image, tool=tool, port=port, probe=probe)


def test_every_real_board_has_its_exact_commands():
    configured = {(b.id, t) for b in list_boards() for t in b.upload.tools}
    assert configured == set(EXPECTED)
    for (board_id, tool), want in EXPECTED.items():
        assert _cmd(board_id, tool) == want, (board_id, tool)
    assert _cmd("stm32h7", "openocd", probe="066DFF") == [
        "openocd", "-f", "board/st_nucleo_h743zi.cfg", "-c", "adapter serial 066DFF",
        "-c", "program {%s} verify reset exit" % ELF]
    assert _cmd("stm32h7", "pyocd", probe="066DFF")[4:7] == ["stm32h743xx", "-u", "066DFF"]
    with pytest.raises(BoardError, match="flashed with openocd, not esptool"):
        _cmd("stm32f4", "esptool")


def test_platformio_upload_command_is_the_default_tools(tmp_path):
    from tinygen.project import write_project

    p = write_project(get_board("stm32h7"), tmp_path / "h7", fixture_gen())
    ini = p.ini.read_text()
    assert ("upload_command = openocd -f board/st_nucleo_h743zi.cfg -c 'program {$SOURCE} verify "
            "reset exit'") in ini


needs_openocd = pytest.mark.skipif(shutil.which("openocd") is None, reason="openocd not installed")


@needs_openocd
@pytest.mark.parametrize("board_id", sorted(b.id for b in list_boards() if b.upload.openocd))
def test_openocd_accepts_each_boards_configuration(board_id):
    """Debian's openocd parses the board's scripts (and our adapter/program syntax) and stops."""
    cmd = _cmd(board_id, "openocd", probe=NO_PROBE)
    parse_only = cmd[:-2] + ["-c", "shutdown"]
    r = subprocess.run(parse_only, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "shutdown command invoked" in r.stdout + r.stderr, r.stderr


@needs_openocd
def test_openocd_without_a_probe_is_one_line(tmp_path):
    board = get_board("stm32h7")
    with pytest.raises(DeviceError) as exc:
        flash.run(_cmd("stm32h7", "openocd", probe=NO_PROBE), board, timeout=60)
    msg = str(exc.value)
    assert "\n" not in msg and "no debug probe found for NUCLEO-H743ZI" in msg
    assert "openocd" in msg and "--probe" in msg


@pytest.mark.skipif(shutil.which("pyocd") is None, reason="pyocd not installed")
def test_pyocd_knows_the_targets_and_says_no_probe():
    targets = subprocess.run(["pyocd", "list", "--targets"], capture_output=True, text=True,
                             timeout=120).stdout.split()
    for b in list_boards():
        if b.upload.pyocd:
            assert b.upload.pyocd in targets, b.id
    with pytest.raises(DeviceError, match="no debug probe found for nRF52840-DK .pyocd"):
        flash.run(_cmd("nrf52840", "pyocd", probe=NO_PROBE), get_board("nrf52840"), timeout=120)


@pytest.mark.skipif(shutil.which("esptool") is None, reason="esptool not installed")
@pytest.mark.parametrize("board_id", ["esp32", "esp32s3", "esp32c3"])
def test_esptool_accepts_the_command_and_says_no_board(board_id, tmp_path):
    images = flash.EspImages.in_dir(tmp_path)
    for f in (images.bootloader, images.partitions, images.app):
        Path(f).write_bytes(bytes(4096))
    board = get_board(board_id)
    cmd = flash.command(board, images, port=str(tmp_path / "ttyNONE"))
    with pytest.raises(DeviceError) as exc:
        flash.run(cmd, board, timeout=120)
    msg = str(exc.value)
    assert "\n" not in msg and f"no {board.name} answers on the serial port" in msg
    # a wrong chip name would be a usage error instead: esptool checks what it is given
    bad = subprocess.run([*cmd[:2], "esp99", *cmd[3:]], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "esp99" in bad.stdout + bad.stderr


def test_missing_tool_is_one_line(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda n, *a, **k: None if n == "openocd" else real(n))
    with pytest.raises(Exception) as exc:
        flash.run(_cmd("stm32f4", "openocd"), get_board("stm32f4"))
    assert "openocd not found; install it: apt-get install" in str(exc.value)


# ---- the CLI and the project's upload target -------------------------------------------------------
@pytest.fixture(scope="module")
def built_h7(tmp_path_factory):
    """A generated, built stm32h7 project (offline environment)."""
    from tinygen import builder
    from tinygen.project import write_project

    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    p = write_project(get_board("stm32h7"), tmp_path_factory.mktemp("h7") / "build", fixture_gen())
    builder.build(p, p.envs["offline"], timeout=300)
    return p


@pytest.mark.cross
def test_cli_flash_dry_run_and_no_probe(built_h7, capsys):
    elf = built_h7.elf("stm32h7_offline")
    rc = cli_main(["flash", "--board", "stm32h7", "--project", str(built_h7.dir), "--dry-run"])
    assert rc == 0
    assert capsys.readouterr().out.strip() == \
        f"openocd -f board/st_nucleo_h743zi.cfg -c 'program {{{elf}}} verify reset exit'"
    rc = cli_main(["flash", "--board", "stm32h7", "--project", str(built_h7.dir), "--probe",
                   "pyocd", "--dry-run"])
    assert rc == 0 and capsys.readouterr().out.strip() == \
        f"pyocd load --no-wait -t stm32h743xx {elf}"
    if shutil.which("openocd"):
        rc = cli_main(["flash", "--board", "stm32h7", "--project", str(built_h7.dir),
                       "--probe-serial", NO_PROBE])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and "no debug probe found" in err
    rc = cli_main(["flash", "--board", "stm32f4", "--project", str(built_h7.dir), "--dry-run"])
    assert rc == 2 and "generated for stm32h7, not stm32f4" in capsys.readouterr().err


@pytest.mark.cross
@needs_openocd
def test_pio_upload_target_runs_the_same_command(built_h7):
    """`pio run -e stm32h7_offline -t upload` runs Debian's openocd with tinygen's command."""
    from tinygen import builder
    from tinygen.ports import connected, matches

    board = get_board("stm32h7")
    if matches(board, connected()):
        pytest.skip("an ST-LINK is attached: not flashing it with test firmware")
    done = builder.upload(built_h7, "stm32h7_offline", timeout=300)
    elf = built_h7.elf("stm32h7_offline").relative_to(built_h7.dir)   # SCons names it so
    assert shlex.join(flash.command(board, str(elf))) in done.output.splitlines()
    assert done.returncode != 0 and "Error: open failed" in done.output   # no probe here
