"""Board files: every one validates, the IDs are real, bad files fail with one line, fit check."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinygen.boards import (TWIN_MACHINES, board_ids, check_fit, get_board, list_boards,
                            load_board_file)
from tinygen.errors import BoardError, ModelTooLarge
from tinygen.resources import boards_dir, firmware_dir

EXPECTED = {"stm32h7", "stm32f4", "stm32l4", "nrf52840", "esp32", "esp32s3", "esp32c3"}

# Official PlatformIO IDs, checked against the platforms' own board manifests
# (platformio/platform-ststm32, platform-nordicnrf52, platform-espressif32: boards/<id>.json),
# with their upload.maximum_size / maximum_ram_size. Our usable figures may be smaller (we leave
# RAM banks or flash partitions aside), never larger.
OFFICIAL = {
    ("ststm32", "nucleo_h743zi"): (2097152, 524288, "cortex-m7"),
    ("ststm32", "nucleo_f446re"): (524288, 131072, "cortex-m4"),
    ("ststm32", "nucleo_l4r5zi"): (2097152, 655360, "cortex-m4"),
    ("nordicnrf52", "nrf52840_dk"): (1048576, 262144, "cortex-m4"),
    ("espressif32", "esp32dev"): (4194304, 327680, None),
    ("espressif32", "esp32-s3-devkitc-1"): (8388608, 524288, None),
    ("espressif32", "esp32-c3-devkitm-1"): (4194304, 327680, None),
}
FRAMEWORKS = {"ststm32": {"", "stm32cube", "cmsis", "arduino", "mbed", "zephyr", "libopencm3"},
              "nordicnrf52": {"", "arduino", "mbed", "zephyr"},
              "espressif32": {"espidf", "arduino"}}


def test_every_board_file_validates():
    boards = list_boards()
    assert {b.id for b in boards} == EXPECTED
    for b in boards:
        assert b.clock_hz <= b.max_clock_hz
        assert b.stack_bytes < b.ram_bytes
        assert b.baud == 115200


def test_official_ids_are_real():
    for b in list_boards():
        key = (b.pio_platform, b.pio_board)
        assert key in OFFICIAL, f"{b.id}: {key} is not a known official PlatformIO board"
        flash, ram, cpu = OFFICIAL[key]
        assert b.flash_bytes <= flash and b.ram_bytes <= ram, b.id
        if cpu:
            assert b.core == cpu
        assert b.pio_framework in FRAMEWORKS[b.pio_platform], b.id


def test_twins_and_buildability():
    twins = {b.id: b.twin.machine if b.twin else None for b in list_boards()}
    assert twins == {"stm32h7": "mps2-an500", "stm32f4": "mps2-an386", "stm32l4": "mps2-an386",
                     "nrf52840": "mps2-an386", "esp32": None, "esp32s3": None,
                     "esp32c3": "virt"}
    built = {b.id for b in list_boards() if b.buildable}
    assert built == {"stm32h7", "stm32f4", "stm32l4", "nrf52840"}
    c3 = get_board("esp32c3")
    assert "-march=rv32imc" in c3.cflags and "-mabi=ilp32" in c3.cflags


def test_dev_platform_board_manifests_match_board_files():
    pio_boards = firmware_dir() / "platformio" / "boards"
    for b in list_boards():
        if b.buildable:
            m = json.loads((pio_boards / f"{b.offline_pio_board}.json").read_text())
            assert m["build"]["tinygen_cflags"] == list(b.cflags), b.id
            assert m["build"]["cpu"] == b.core
            assert m["build"]["f_cpu"] == f"{b.clock_hz}L"
            assert m["upload"]["maximum_size"] == b.flash_bytes
            assert m["upload"]["maximum_ram_size"] == b.ram_bytes
            bsp = firmware_dir() / "bsp" / b.family
            assert (bsp / "link.ld").is_file() and list(bsp.glob("*.c")), b.id
    for t in TWIN_MACHINES.values():
        m = json.loads((pio_boards / f"{t.pio_board}.json").read_text())
        assert m["build"]["arch"] == t.arch and m["build"]["cpu"] == t.core
        assert m["upload"]["maximum_size"] == t.flash_bytes
    # every twin used by a board has the same flags as the board (same core)
    for b in list_boards():
        if b.twin and b.arch == "arm":
            m = json.loads((pio_boards / f"{b.twin.pio_board}.json").read_text())
            assert m["build"]["tinygen_cflags"] == list(b.cflags), b.id


def _write(tmp_path: Path, text: str, name: str = "myboard") -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


def _base() -> str:
    return (boards_dir() / "stm32f4.toml").read_text().replace('id = "stm32f4"', 'id = "myboard"')


@pytest.mark.parametrize("old,new,needle", [
    ('arch = "arm"', 'arch = "mips"', "arch"),
    ('clock_hz = 180000000', 'clock_hz = "fast"', "clock_hz"),
    ('ram_bytes = 131072', '', "missing field 'ram_bytes'"),
    ('"-mfloat-abi=hard"]', '"-mfloat-abi=hard", "; rm -rf /"]', "cflags"),
    ('"-mfpu=fpv4-sp-d16", ', '', "-mfpu"),
    ('machine = "mps2-an386"', 'machine = "mps2-an500"', "cortex-m7"),
    ('machine = "mps2-an386"', 'machine = "pdp11"', "twin.machine"),
    ('board = "nucleo_f446re"', 'board = "nucleo f446re; x"', "platformio.board"),
    ('baud = 115200', 'baud = 115200\ncolour = "red"', "unknown field 'colour'"),
    ('tx = "PA2"', 'tx = "*/ x(); /*"', "uart.tx"),
])
def test_bad_board_files_fail_with_one_line(tmp_path, old, new, needle):
    text = _base()
    assert old in text
    p = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(BoardError) as exc:
        load_board_file(p)
    msg = str(exc.value)
    assert "\n" not in msg and needle in msg and "myboard.toml" in msg


def test_board_file_name_must_match_id_and_be_toml(tmp_path):
    p = _write(tmp_path, _base(), name="other")
    with pytest.raises(BoardError, match="differs from the file name"):
        load_board_file(p)
    p = _write(tmp_path, "id = [", name="broken")
    with pytest.raises(BoardError, match="not valid TOML"):
        load_board_file(p)


def test_unknown_board_lists_known_ones():
    with pytest.raises(BoardError) as exc:
        get_board("stm32h9")
    assert "stm32h7" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(BoardError):
        get_board("../etc/passwd")
    assert set(board_ids()) == EXPECTED


def test_fit_check_refuses_with_numbers():
    f4 = get_board("stm32f4")
    est = check_fit(f4, 100_000, 20_000)
    assert est.flash <= f4.flash_bytes and est.ram <= f4.ram_bytes
    with pytest.raises(ModelTooLarge) as exc:
        check_fit(f4, 600_000, 1_000)
    msg = str(exc.value)
    assert "flash" in msg and "600,000" in msg and "524,288" in msg and "\n" not in msg
    with pytest.raises(ModelTooLarge, match=r"RAM: arena 200,000 B .* > 131,072 B"):
        check_fit(f4, 1_000, 200_000)
    # the same model fits the big H7
    check_fit(get_board("stm32h7"), 600_000, 200_000)


def test_boards_command(capsys):
    from tinygen.cli import main

    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for bid in EXPECTED:
        assert bid in out
    assert "mps2-an500" in out and "Xtensa" in out
    assert main(["boards", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {d["id"] for d in doc} == EXPECTED
    h7 = next(d for d in doc if d["id"] == "stm32h7")
    assert h7["platformio"] == {"platform": "ststm32", "board": "nucleo_h743zi", "framework": ""}
    assert h7["uart"]["peripheral"] == "USART3" and h7["twin"]["machine"] == "mps2-an500"
