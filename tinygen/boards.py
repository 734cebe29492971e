"""Boards: one TOML data file per board in boards/, validated on load.

A board file says what the chip is (core, clock, usable flash and RAM, FPU/DSP, compiler flags), how
the firmware talks to the host (UART on the debug probe's virtual COM port, baud), which PlatformIO
IDs a user with PlatformIO's registry would use (the "official" environment), whether tinygen can
build it here, and its emulated twin (a QEMU machine with the same CPU core), if one exists.

Every error is one line naming the file and the field (`BoardError`). `check_fit` refuses a model
that cannot fit before anything is built (`ModelTooLarge`, with the numbers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import BoardError, ModelTooLarge
from .resources import boards_dir

ARCHES = ("arm", "riscv", "xtensa")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_PIO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_FLAG_RE = re.compile(r"^-m[a-z0-9\-]+(=[A-Za-z0-9_.+\-]+)?$")
_PIN_RE = re.compile(r"^[A-Za-z0-9_.]{1,16}$")

# Flash a firmware needs beyond the model's weights (runtime kernels, FFT, protocol, startup, libc
# helpers). Measured: the fixture firmware is ~3-6 KB; real models with every kernel stay well
# under this. Used only by the pre-build fit check; the size table shows measured figures.
CODE_ESTIMATE_BYTES = 32 * 1024
# Static RAM beside arena and stack: the protocol's two frame buffers (2 x 4 KB by default) and
# a little .data/.bss; tinygen.project.static_ram_bytes gives the figure for a given model.
STATIC_RAM_ESTIMATE_BYTES = 9 * 1024


@dataclass(frozen=True)
class TwinMachine:
    """A QEMU machine usable as an emulated twin; its properties come from QEMU, not the board."""

    machine: str
    qemu: str
    arch: str
    core: str
    flash_bytes: int
    ram_bytes: int
    pio_board: str          # board id in tinygen's local dev-platform (firmware/platformio/boards)
    bsp_dirs: tuple[str, ...]  # firmware/bsp/<dir> candidates, first existing wins

    @property
    def slug(self) -> str:
        return self.machine.replace("-", "_")


TWIN_MACHINES: dict[str, TwinMachine] = {
    "mps2-an500": TwinMachine("mps2-an500", "qemu-system-arm", "arm", "cortex-m7",
                              4 << 20, 4 << 20, "tinygen_mps2_an500",
                              ("qemu_mps2_an500", "qemu_mps2-an500", "qemu_mps2")),
    "mps2-an386": TwinMachine("mps2-an386", "qemu-system-arm", "arm", "cortex-m4",
                              4 << 20, 4 << 20, "tinygen_mps2_an386",
                              ("qemu_mps2_an386", "qemu_mps2-an386", "qemu_mps2")),
    "netduinoplus2": TwinMachine("netduinoplus2", "qemu-system-arm", "arm", "cortex-m4",
                                 1 << 20, 128 << 10, "tinygen_netduinoplus2",
                                 ("qemu_netduinoplus2",)),
    "virt": TwinMachine("virt", "qemu-system-riscv32", "riscv", "rv32imc",
                        4 << 20, 4 << 20, "tinygen_riscv_virt",
                        ("qemu_riscv_virt", "qemu_virt", "qemu_riscv")),
}


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    mcu: str
    family: str
    arch: str
    core: str
    clock_hz: int
    max_clock_hz: int
    flash_bytes: int
    ram_bytes: int
    stack_bytes: int
    fpu: str
    dsp: bool
    cflags: tuple[str, ...]
    baud: int
    buildable: bool
    uart: dict[str, str]
    pio_platform: str
    pio_board: str
    pio_framework: str
    twin: Optional[TwinMachine]
    build_note: str = ""
    path: Optional[Path] = field(default=None, compare=False)

    @property
    def offline_pio_board(self) -> Optional[str]:
        """Board id in tinygen's local dev-platform for the real board (None if not buildable)."""
        return f"tinygen_{self.id}" if self.buildable else None

    @property
    def env_official(self) -> str:
        return self.pio_board.replace("-", "_")

    @property
    def env_offline(self) -> str:
        return f"{self.id}_offline"

    @property
    def env_twin(self) -> Optional[str]:
        return f"{self.id}_twin" if self.twin else None

    @property
    def float_abi(self) -> str:
        for f in self.cflags:
            if f.startswith("-mfloat-abi="):
                return f.split("=", 1)[1]
        return "soft"

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "mcu": self.mcu, "arch": self.arch, "core": self.core,
            "clock_hz": self.clock_hz, "max_clock_hz": self.max_clock_hz,
            "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
            "stack_bytes": self.stack_bytes, "fpu": self.fpu, "dsp": self.dsp,
            "cflags": list(self.cflags), "baud": self.baud, "buildable": self.buildable,
            "build_note": self.build_note, "uart": dict(self.uart),
            "platformio": {"platform": self.pio_platform, "board": self.pio_board,
                           "framework": self.pio_framework},
            "twin": None if self.twin is None else {"machine": self.twin.machine,
                                                    "qemu": self.twin.qemu},
        }


# ---- loading and validation ------------------------------------------------------------------

def _fail(path: Path, msg: str) -> BoardError:
    return BoardError(f"board file {path.name}: {msg}")


def _get(data: dict, key: str, typ, path: Path, *, default=..., where: str = ""):
    name = f"{where}{key}"
    if key not in data:
        if default is ...:
            return _raise(_fail(path, f"missing field '{name}'"))
        return default
    value = data[key]
    if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _fail(path, f"field '{name}' must be an integer, got {value!r}")
    if typ is not int and not isinstance(value, typ):
        raise _fail(path, f"field '{name}' must be {typ.__name__}, got {type(value).__name__}")
    return value


def _raise(err: Exception):
    raise err


_TOP_KEYS = {"id", "name", "mcu", "family", "arch", "core", "clock_hz", "max_clock_hz",
             "flash_bytes", "ram_bytes", "stack_bytes", "fpu", "dsp", "cflags", "baud",
             "buildable", "build_note", "uart", "platformio", "twin"}


def parse_board(data: dict, path: Path) -> Board:
    """Validate one board file's parsed TOML; raise BoardError (one line) on the first problem."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise _fail(path, f"unknown field '{unknown[0]}'")
    bid = _get(data, "id", str, path)
    if not _ID_RE.match(bid):
        raise _fail(path, f"id {bid!r} must match [a-z][a-z0-9_]*")
    if bid != path.stem:
        raise _fail(path, f"id {bid!r} differs from the file name")
    name = _get(data, "name", str, path)
    mcu = _get(data, "mcu", str, path)
    family = _get(data, "family", str, path)
    if not _ID_RE.match(family):
        raise _fail(path, f"family {family!r} must match [a-z][a-z0-9_]*")
    arch = _get(data, "arch", str, path)
    if arch not in ARCHES:
        raise _fail(path, f"arch {arch!r} must be one of {', '.join(ARCHES)}")
    core = _get(data, "core", str, path)
    ints = {}
    for key, lo, hi in (("clock_hz", 1_000_000, 2_000_000_000),
                        ("max_clock_hz", 1_000_000, 2_000_000_000),
                        ("flash_bytes", 16 << 10, 64 << 20), ("ram_bytes", 8 << 10, 64 << 20),
                        ("stack_bytes", 1 << 10, 1 << 20), ("baud", 1200, 12_000_000)):
        v = _get(data, key, int, path)
        if not lo <= v <= hi:
            raise _fail(path, f"field '{key}' = {v} is outside {lo}..{hi}")
        ints[key] = v
    if ints["clock_hz"] > ints["max_clock_hz"]:
        raise _fail(path, "clock_hz exceeds max_clock_hz")
    if ints["stack_bytes"] >= ints["ram_bytes"]:
        raise _fail(path, "stack_bytes must be smaller than ram_bytes")
    fpu = _get(data, "fpu", str, path)
    dsp = _get(data, "dsp", bool, path)
    cflags = _get(data, "cflags", list, path)
    if not cflags or not all(isinstance(f, str) and _FLAG_RE.match(f) for f in cflags):
        raise _fail(path, "cflags must be a non-empty list of -m... machine flags")
    if arch == "arm":
        if f"-mcpu={core}" not in cflags or "-mthumb" not in cflags:
            raise _fail(path, f"cflags for an Arm board must contain -mcpu={core} and -mthumb")
        hard = "-mfloat-abi=hard" in cflags
        if hard != (fpu != "none"):
            raise _fail(path, "an FPU needs -mfloat-abi=hard (and none without one)")
        if hard and f"-mfpu={fpu}" not in cflags:
            raise _fail(path, f"cflags must contain -mfpu={fpu}")
    elif arch == "riscv":
        if not any(f.startswith("-march=rv32") for f in cflags) or \
                not any(f.startswith("-mabi=") for f in cflags):
            raise _fail(path, "cflags for a RISC-V board must contain -march=rv32... and -mabi=...")
    buildable = _get(data, "buildable", bool, path)
    if buildable and arch != "arm":
        raise _fail(path, "only Arm boards can be built here (Debian arm-none-eabi-gcc)")
    build_note = _get(data, "build_note", str, path, default="")
    if not buildable and not build_note:
        raise _fail(path, "a board that cannot be built here needs a build_note saying why")

    uart = _get(data, "uart", dict, path)
    for key in ("peripheral", "tx", "rx", "probe"):
        v = _get(uart, key, str, path, where="uart.")
        if key != "probe" and not _PIN_RE.match(v):
            raise _fail(path, f"uart.{key} {v!r} is not a pin or peripheral name")
    pio = _get(data, "platformio", dict, path)
    pio_platform = _get(pio, "platform", str, path, where="platformio.")
    pio_board = _get(pio, "board", str, path, where="platformio.")
    pio_framework = _get(pio, "framework", str, path, where="platformio.")
    for key, v in (("platform", pio_platform), ("board", pio_board)):
        if not _PIO_ID_RE.match(v):
            raise _fail(path, f"platformio.{key} {v!r} is not a PlatformIO id")
    if pio_framework and not _PIO_ID_RE.match(pio_framework):
        raise _fail(path, f"platformio.framework {pio_framework!r} is not a PlatformIO id")

    twin = None
    if "twin" in data:
        t = _get(data, "twin", dict, path)
        machine = _get(t, "machine", str, path, where="twin.")
        if machine not in TWIN_MACHINES:
            raise _fail(path, f"twin.machine {machine!r} is not one of "
                              f"{', '.join(sorted(TWIN_MACHINES))}")
        twin = TWIN_MACHINES[machine]
        qemu = _get(t, "qemu", str, path, where="twin.")
        if qemu != twin.qemu:
            raise _fail(path, f"twin.qemu must be {twin.qemu} for machine {machine}")
        if twin.arch != arch:
            raise _fail(path, f"twin machine {machine} is {twin.arch}, the board is {arch}")
        if arch == "arm" and twin.core != core:
            raise _fail(path, f"twin machine {machine} has a {twin.core}, the board a {core}")
    if arch == "xtensa" and twin is not None:
        raise _fail(path, "no QEMU twin exists for Xtensa here")

    return Board(id=bid, name=name, mcu=mcu, family=family, arch=arch, core=core,
                 clock_hz=ints["clock_hz"], max_clock_hz=ints["max_clock_hz"],
                 flash_bytes=ints["flash_bytes"], ram_bytes=ints["ram_bytes"],
                 stack_bytes=ints["stack_bytes"], fpu=fpu, dsp=dsp, cflags=tuple(cflags),
                 baud=ints["baud"], buildable=buildable, uart=dict(uart),
                 pio_platform=pio_platform, pio_board=pio_board, pio_framework=pio_framework,
                 twin=twin, build_note=build_note, path=path)


def load_board_file(path: Path) -> Board:
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BoardError(f"board file {path} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BoardError(f"board file {Path(path).name}: not valid TOML ({exc})") from None
    return parse_board(data, Path(path))


def board_ids(directory: Optional[Path] = None) -> list[str]:
    d = directory or boards_dir()
    return sorted(p.stem for p in d.glob("*.toml") if not p.name.startswith("_"))


def list_boards(directory: Optional[Path] = None) -> list[Board]:
    d = directory or boards_dir()
    return [load_board_file(d / f"{bid}.toml") for bid in board_ids(d)]


def get_board(board_id: str, directory: Optional[Path] = None) -> Board:
    d = directory or boards_dir()
    if not _ID_RE.match(board_id or "") or not (d / f"{board_id}.toml").is_file():
        known = ", ".join(board_ids(d))
        raise BoardError(f"unknown board {board_id!r}; known boards: {known}")
    return load_board_file(d / f"{board_id}.toml")


# ---- fit check -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FitEstimate:
    weights: int
    code: int
    arena: int
    stack: int
    static_ram: int
    flash_limit: int
    ram_limit: int

    @property
    def flash(self) -> int:
        return self.weights + self.code

    @property
    def ram(self) -> int:
        return self.arena + self.stack + self.static_ram


def check_fit(board: Board, weight_bytes: int, arena_bytes: int, *, code_bytes: int = 0,
              static_bytes: int = 0, twin: bool = False) -> FitEstimate:
    """Refuse a model that cannot fit the board (or its twin), before anything is built.

    Flash: weights + code (estimated: CODE_ESTIMATE_BYTES unless the caller knows better).
    RAM: arena + stack + static buffers (static_bytes, else STATIC_RAM_ESTIMATE_BYTES).
    """
    flash_limit = board.twin.flash_bytes if twin and board.twin else board.flash_bytes
    ram_limit = board.twin.ram_bytes if twin and board.twin else board.ram_bytes
    est = FitEstimate(weights=int(weight_bytes), code=int(code_bytes or CODE_ESTIMATE_BYTES),
                      arena=int(arena_bytes), stack=board.stack_bytes,
                      static_ram=int(static_bytes or STATIC_RAM_ESTIMATE_BYTES),
                      flash_limit=flash_limit, ram_limit=ram_limit)
    what = f"{board.id} twin ({board.twin.machine})" if twin and board.twin else board.id
    if est.flash > flash_limit:
        raise ModelTooLarge(
            f"model does not fit {what} flash: weights {est.weights:,} B + code ~{est.code:,} B "
            f"= {est.flash:,} B > {flash_limit:,} B; use a smaller model or a larger board")
    if est.ram > ram_limit:
        raise ModelTooLarge(
            f"model does not fit {what} RAM: arena {est.arena:,} B + stack {est.stack:,} B + "
            f"buffers ~{est.static_ram:,} B = {est.ram:,} B > {ram_limit:,} B; use a smaller "
            f"model or a larger board")
    return est
