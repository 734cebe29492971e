"""Board and twin files: every one validates, the IDs are real, bad files fail with one line, fit
check, and nothing else in the package holds board or twin facts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinygen.boards import (board_ids, check_fit, get_board, get_twin, list_boards, list_twins,
                            load_board_file, twin_ids)
from tinygen.errors import BoardError, ModelTooLarge
from tinygen.resources import boards_dir, firmware_dir

EXPECTED = {"stm32h7", "stm32f4", "stm32l4", "stm32u5", "nrf52840", "pico", "esp32", "esp32s3",
            "esp32c3"}

# Official PlatformIO IDs, checked against the platforms' own board manifests
# (platformio/platform-ststm32, platform-nordicnrf52, platform-espressif32: boards/<id>.json),
# with their upload.maximum_size / maximum_ram_size. Our usable figures may be smaller (we leave
# RAM banks or flash partitions aside), never larger.
OFFICIAL = {
    ("ststm32", "nucleo_h743zi"): (2097152, 524288, "cortex-m7"),
    ("ststm32", "nucleo_f446re"): (524288, 131072, "cortex-m4"),
    ("ststm32", "nucleo_l4r5zi"): (2097152, 655360, "cortex-m4"),
    ("ststm32", "nucleo_u575zi_q"): (2097152, 262144, "cortex-m33"),
    ("raspberrypi", "pico"): (2097152, 270336, "cortex-m0plus"),
    ("nordicnrf52", "nrf52840_dk"): (1048576, 262144, "cortex-m4"),
    ("espressif32", "esp32dev"): (4194304, 327680, None),
    ("espressif32", "esp32-s3-devkitc-1"): (8388608, 524288, None),
    ("espressif32", "esp32-c3-devkitm-1"): (4194304, 327680, None),
}
FRAMEWORKS = {"ststm32": {"", "stm32cube", "cmsis", "arduino", "mbed", "zephyr", "libopencm3"},
              "nordicnrf52": {"", "arduino", "mbed", "zephyr"},
              "raspberrypi": {"", "arduino"},
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
    twins = {b.id: b.twin.id if b.twin else None for b in list_boards()}
    assert twins == {"stm32h7": "mps2-an500", "stm32f4": "mps2-an386", "stm32l4": "mps2-an386",
                     "stm32u5": "mps2-an505", "nrf52840": "mps2-an386", "pico": "lm3s6965evb-m0",
                     "esp32": "xtensa-sim", "esp32s3": "xtensa-sim", "esp32c3": "riscv32-virt"}
    assert get_board("esp32c3").twin.machine == "virt"        # the QEMU -M value
    built = {b.id for b in list_boards() if b.buildable}
    # ESP32 / ESP32-S3: compiled offline with clang (Xtensa), the image itself needs ESP-IDF
    assert built == {"stm32h7", "stm32f4", "stm32l4", "stm32u5", "nrf52840", "pico", "esp32",
                     "esp32s3"}
    # the Pico's Cortex-M0+ runs on QEMU's Cortex-M0 (same ARMv6-M), started with that CPU
    pico = get_board("pico")
    assert pico.twin.machine == "lm3s6965evb" and pico.twin.args[:2] == ("-cpu", "cortex-m0")
    assert pico.core in pico.twin.stands_in_for and not pico.dsp and not pico.twin.dsp
    assert get_board("stm32u5").twin.dsp and get_board("stm32u5").twin.core == "cortex-m33"
    assert get_board("esp32").twin.machine == "sim" and get_board("esp32").twin.arch == "xtensa"
    c3 = get_board("esp32c3")
    assert "-march=rv32imc" in c3.cflags and "-mabi=ilp32" in c3.cflags


def test_twin_files_validate_and_match_their_boards():
    assert set(twin_ids()) == {"mps2-an500", "mps2-an386", "mps2-an505", "lm3s6965evb-m0",
                              "netduinoplus2", "riscv32-virt", "xtensa-sim"}
    for t in list_twins():
        assert (firmware_dir() / "bsp" / t.ldscript_dir / "link.ld").is_file(), t.id
        assert t.counter == ("unicorn" if t.arch == "arm" else "qemu")
    for b in list_boards():
        if b.buildable and b.offline_output == "firmware":
            assert (firmware_dir() / "bsp" / b.ldscript_dir / "link.ld").is_file(), b.id
        elif b.buildable:                  # a static library: the vendor SDK links the image
            assert b.offline_output == "library" and b.ldscript_dir is None, b.id
        if b.twin and b.arch == "arm":      # same core, same flags: the twin runs the same code
            same = b.twin.cflags == b.cflags and b.twin.core == b.core
            assert same or b.core in b.twin.stands_in_for, b.id
    # the unicorn counter's machine comes from the twin file (memory map, UART model)
    an505 = get_twin("mps2-an505")
    assert (an505.flash_base, an505.ram_base, an505.uart, an505.uart_base) == \
        (0x10000000, 0x38000000, "cmsdk", 0x50200000)
    assert get_twin("lm3s6965evb-m0").uart == "pl011" and get_twin("riscv32-virt").uart == ""


def test_serial_bridges_and_upload_tools():
    h7 = get_board("stm32h7")
    assert (0x0483, 0x374B) in h7.serial.usb and (0x0483, 0x374E) in h7.serial.usb
    assert h7.upload.tools == ("openocd", "pyocd") and h7.upload.pyocd == "stm32h743xx"
    assert get_board("nrf52840").upload.openocd == ("board/nordic_nrf52_dk.cfg",)
    for b in list_boards():
        assert b.serial.usb, b.id
        assert (b.upload.esptool is not None) == (b.pio_platform == "espressif32"), b.id
    esp = get_board("esp32").upload.esptool
    assert (esp.chip, esp.bootloader, esp.partitions, esp.app) == ("esp32", 0x1000, 0x8000, 0x10000)
    assert get_board("esp32s3").upload.esptool.bootloader == 0x0
    # the Pico through a CMSIS-DAP probe (Debug Probe / picoprobe): rp2040.cfg sets no speed
    from tinygen.flash import command
    assert command(get_board("pico"), "f.elf") == [
        "openocd", "-f", "interface/cmsis-dap.cfg", "-f", "target/rp2040.cfg",
        "-c", "adapter speed 5000", "-c", "program {f.elf} verify reset exit"]
    assert get_board("stm32u5").upload.openocd == ("interface/stlink.cfg", "target/stm32u5x.cfg")


def test_no_other_board_or_twin_table_in_the_package():
    """One home for these facts: no module names a QEMU machine or a board's chip."""
    package = Path(__file__).resolve().parent.parent / "tinygen"
    facts = {t.machine for t in list_twins()} | {t.id for t in list_twins()}
    facts |= {b.pio_board for b in list_boards()} | {b.mcu for b in list_boards()}
    facts.discard("virt")               # also ordinary words
    facts.discard("sim")
    allowed: set = set()
    for path in package.rglob("*.py"):
        text = path.read_text()
        rel = str(path.relative_to(package))
        for fact in facts:
            assert fact not in text or (rel, fact) in allowed, f"{rel} names {fact}"
        assert "#include" not in text and "int main(" not in text, f"C in {rel}"


def _write(tmp_path: Path, text: str, name: str = "myboard") -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    if not (tmp_path / "twins").exists():          # the board's twin lives beside it
        (tmp_path / "twins").symlink_to(boards_dir() / "twins")
    return p


def _base() -> str:
    return (boards_dir() / "stm32f4.toml").read_text().replace('id = "stm32f4"', 'id = "myboard"')


@pytest.mark.parametrize("old,new,needle", [
    ('arch = "arm"', 'arch = "mips"', "arch"),
    ('clock_hz = 180000000', 'clock_hz = "fast"', "clock_hz"),
    ('ram_bytes = 131072', '', "missing field 'ram_bytes'"),
    ('"-mfloat-abi=hard"]', '"-mfloat-abi=hard", "; rm -rf /"]', "cflags"),
    ('"-mfpu=fpv4-sp-d16", ', '', "-mfpu"),
    ('twin = "mps2-an386"', 'twin = "mps2-an500"', "cortex-m7"),
    ('twin = "mps2-an386"', 'twin = "pdp11"', "twin 'pdp11'"),
    ('usb = ["0483:374b"]', 'usb = ["0483-374b"]', "serial.usb"),
    ('tool = "openocd"', 'tool = "pyocd"', "no [upload.pyocd] table"),
    ('config = ["board/st_nucleo_f4.cfg"]', 'config = ["-c shutdown"]', "upload.openocd.config"),
    ('bsp = ["cortex_m", "stm32f4"]', 'bsp = ["cortex_m", "../etc"]', "bsp"),
    ('bsp = ["cortex_m", "stm32f4"]', 'bsp = ["cortex_m", "stm32f4", "stm32h7"]', "link.ld"),
    ('board = "nucleo_f446re"', 'board = "nucleo f446re; x"', "platformio.board"),
    ('baud = 115200', 'baud = 115200\ncolour = "red"', "unknown field 'serial.colour'"),
    ('tx = "PA2"', 'tx = "*/ x(); /*"', "serial.tx"),
    ('[upload.openocd]', '[upload.openocd]\nspeed = 4000', "unknown field 'upload.openocd.speed'"),
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
    assert "mps2-an500" in out and "xtensa-sim" in out and "openocd, pyocd" in out
    assert main(["boards", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {d["id"] for d in doc} == EXPECTED
    h7 = next(d for d in doc if d["id"] == "stm32h7")
    assert h7["platformio"] == {"platform": "ststm32", "board": "nucleo_h743zi", "framework": ""}
    assert h7["serial"]["peripheral"] == "USART3" and h7["twin"]["machine"] == "mps2-an500"
    assert h7["serial"]["usb"][0] == "0483:374b" and h7["upload"]["tools"] == ["openocd", "pyocd"]


@pytest.mark.parametrize("old,new,needle", [
    ('counter = "unicorn"', 'counter = "stopwatch"', "counter"),
    ('qemu = "qemu-system-arm"', 'qemu = "qemu-system-arm; rm -rf /"', "qemu"),
    ('args = ["-semihosting-config", "enable=on,target=native"]', 'args = ["-s -S"]', "args"),
    ('bsp = ["qemu_arm", "qemu_mps2"]', 'bsp = ["qemu_arm"]', "link.ld"),
    ('clock_hz = 25000000', '', "missing field 'clock_hz'"),
    ('uart = "cmsdk"', 'uart = "16550"', "uart '16550'"),
    ('uart_base = 0x40004000', '', "missing field 'uart_base'"),
    ('counter = "unicorn"', 'counter = "unicorn"\nline = "usb"', "line 'usb'"),
])
def test_bad_twin_files_fail_with_one_line(tmp_path, old, new, needle):
    text = (boards_dir() / "twins" / "mps2-an500.toml").read_text()
    assert old in text
    (tmp_path / "twins").mkdir()
    (tmp_path / "twins" / "mps2-an500.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(BoardError) as exc:
        get_twin("mps2-an500", tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and needle in msg and "mps2-an500.toml" in msg


def test_a_twin_may_stand_in_for_a_core_with_the_same_instruction_set(tmp_path):
    """Issue 14's RP2040 (Cortex-M0+) on QEMU's microbit (Cortex-M0): data only."""
    twins = tmp_path / "twins"
    twins.mkdir()
    m0 = (boards_dir() / "twins" / "mps2-an386.toml").read_text()
    m0 = m0.replace("cortex-m4", "cortex-m0").replace('"-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"',
                                                      '"-mfloat-abi=soft"')
    (twins / "m0twin.toml").write_text(m0)
    board = _base().replace("cortex-m4", "cortex-m0plus").replace(
        '"-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"', '"-mfloat-abi=soft"').replace(
        'fpu = "fpv4-sp-d16"', 'fpu = "none"').replace('twin = "mps2-an386"', 'twin = "m0twin"')
    p = tmp_path / "myboard.toml"
    p.write_text(board)
    with pytest.raises(BoardError, match="stands_in_for"):
        load_board_file(p)
    (twins / "m0twin.toml").write_text(m0 + 'stands_in_for = ["cortex-m0plus"]\n')
    b = load_board_file(p)
    assert b.core == "cortex-m0plus" and b.twin.core == "cortex-m0"
