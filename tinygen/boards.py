"""Boards and their emulated twins: the one registry of deployment facts.

`boards/<id>.toml` says everything about a board: the chip (core, clock, usable flash and RAM, FPU,
DSP, compiler flags), its board-support folders (`firmware/bsp/<dir>`), the serial line to the host
(UART, baud, the USB VID:PID of the probe's serial bridge), how to flash it (OpenOCD, pyOCD or
esptool), the IDs a PlatformIO user with the registry would pick, and its emulated twin.
`boards/twins/<id>.toml` says what a twin is: a QEMU machine with the same CPU core, its arguments,
memories, BSP folders and instruction counter. Several boards may share one twin.

Everything else asks this module; nothing else holds a table of board or twin facts. Every error
is one line naming the file and the field (`BoardError`). `check_fit` refuses a model that cannot
fit before anything is built (`ModelTooLarge`, with the numbers).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import BoardError, ModelTooLarge
from .resources import boards_dir, firmware_dir

ARCHES = ("arm", "riscv", "xtensa")
# What a board's offline environment makes: a linked firmware for the real board, or (where the
# real image needs a vendor SDK, ESP-IDF) every portable source compiled for the chip, archived.
OFFLINE_OUTPUTS = ("firmware", "library")
UPLOAD_TOOLS = ("openocd", "pyocd", "esptool")
COUNTERS = ("unicorn", "qemu")
LINES = ("serial", "stdio")        # a twin's serial line: QEMU's -serial device, or its stdio
# UART register models the unicorn counter emulates (a twin's `uart`): the Arm CMSDK APB UART of
# the mps2 images, the STM32 USART (SR/DR) and the Arm PL011.
UART_MODELS = ("cmsdk", "stm32", "pl011")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TWIN_ID_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")
_PIO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_FLAG_RE = re.compile(r"^-m[a-z0-9\-]+(=[A-Za-z0-9_.+\-]+)?$")
_ARG_RE = re.compile(r"^[A-Za-z0-9_.,=+\-]{1,64}$")
_PIN_RE = re.compile(r"^[A-Za-z0-9_.]{1,16}$")
_USB_RE = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{4}$")
_CFG_RE = re.compile(r"^[a-z0-9_\-]+/[A-Za-z0-9_.\-]+\.cfg$")
# LLVM's Xtensa target features (`llc -march=xtensa -mattr=help`): clang has no -mcpu for the
# ESP32 cores, so an Xtensa board or twin lists its core's options and the build passes each as
# `-Xclang -target-feature -Xclang +F`.
_FEATURE_RE = re.compile(r"^[a-z][a-z0-9\-]{0,31}$")

# Flash a firmware needs beyond the model's weights (runtime kernels, FFT, protocol, startup, libc
# helpers). Measured: the fixture firmware is ~3-6 KB; real models with every kernel stay well
# under this. Used only by the pre-build fit check; the size table shows measured figures.
CODE_ESTIMATE_BYTES = 32 * 1024
# Static RAM beside arena and stack: the protocol's two frame buffers (2 x 4 KB by default) and
# a little .data/.bss; tinygen.project.static_ram_bytes gives the figure for a given model.
STATIC_RAM_ESTIMATE_BYTES = 9 * 1024


@dataclass(frozen=True)
class Twin:
    """A QEMU machine with the same CPU core as a board (boards/twins/<id>.toml)."""

    id: str
    machine: str                   # qemu -M value
    qemu: str                      # emulator binary
    args: tuple[str, ...]          # extra QEMU arguments (semihosting, -bios none)
    arch: str
    core: str
    cflags: tuple[str, ...]
    clock_hz: int                  # what the twin's BSP reports (QEMU does not model time)
    flash_bytes: int
    ram_bytes: int
    bsp: tuple[str, ...]           # firmware/bsp/<dir>, in build order
    counter: str                   # instruction counter for `tinygen bench`: unicorn or qemu
    dsp: bool = False              # the core has the kernels' DSP route (SMLAD, or MAC16 on Xtensa)
    # How often an inference is sent again after a line error (a bad CRC, a frame cut short) before
    # validation stops: a twin whose serial path loses bytes under load needs more.
    line_resends: int = 3
    # Where the guest's serial line is: "serial", QEMU's `-serial` character device (a UART
    # model, on one end of a socket pair tinygen holds); or "stdio", QEMU's own stdin/stdout,
    # which the guest reads and writes by semihosting calls on its fds 0 and 1 (tinygen.twin
    # has why the Xtensa twin does).
    line: str = "serial"
    features: tuple[str, ...] = () # Xtensa: LLVM target features of the emulated core
    # Other cores with the same instruction set it may stand in for (a Cortex-M0 machine for a
    # Cortex-M0+ board); such a board's twin build uses the twin's flags.
    stands_in_for: tuple[str, ...] = ()
    # The unicorn counter's memory map: where code is linked (also aliased at 0x0 where it is not
    # there, as the core fetches its vectors there), where RAM starts, and the UART's model and
    # base address. Unset (0 / "") on twins counted by QEMU itself.
    flash_base: int = 0
    ram_base: int = 0
    uart: str = ""
    uart_base: int = 0
    path: Optional[Path] = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.id

    @property
    def pio_board(self) -> str:
        """Board id of its manifest in a generated project (boards/<pio_board>.json)."""
        return "tinygen_twin_" + self.id.replace("-", "_")

    @property
    def ldscript_dir(self) -> str:
        return _ldscript_dir(self.bsp)


@dataclass(frozen=True)
class Serial:
    baud: int
    peripheral: str
    tx: str
    rx: str
    bridge: str                    # what the host sees: "ST-LINK/V2-1 virtual COM port", ...
    usb: tuple[tuple[int, int], ...]   # (VID, PID) of the bridge


@dataclass(frozen=True)
class Esptool:
    chip: str
    baud: int
    bootloader: int                # flash offsets of the ESP-IDF images
    partitions: int
    app: int


@dataclass(frozen=True)
class Upload:
    tool: str                      # the default tool
    openocd: tuple[str, ...] = ()  # OpenOCD config scripts (-f), from its scripts folder
    pyocd: str = ""                # pyOCD target name (built into pyOCD)
    esptool: Optional[Esptool] = None
    openocd_khz: int = 0           # `adapter speed` where the OpenOCD scripts set none (0: theirs)

    @property
    def tools(self) -> tuple[str, ...]:
        """Tools this board can be flashed with, the default first."""
        have = {"openocd": bool(self.openocd), "pyocd": bool(self.pyocd),
                "esptool": self.esptool is not None}
        return (self.tool,) + tuple(t for t in UPLOAD_TOOLS if have[t] and t != self.tool)


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    mcu: str
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
    bsp: tuple[str, ...]
    buildable: bool
    serial: Serial
    upload: Upload
    pio_platform: str
    pio_board: str
    pio_framework: str
    twin: Optional[Twin]
    build_note: str = ""
    features: tuple[str, ...] = ()   # Xtensa: LLVM target features of the chip's core
    offline_output: str = "firmware" # what the offline environment makes (OFFLINE_OUTPUTS)
    path: Optional[Path] = field(default=None, compare=False)

    @property
    def baud(self) -> int:
        return self.serial.baud

    @property
    def offline_pio_board(self) -> str:
        """Board id of the real board's manifest in a generated project."""
        return f"tinygen_{self.id}"

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
    def env_twin_portable(self) -> Optional[str]:
        """The twin built with the portable kernels only (TG_NO_DSP), where the twin's core has a
        DSP route: `tinygen bench` counts both."""
        return f"{self.id}_twin_portable" if self.twin and self.twin.dsp else None

    @property
    def ldscript_dir(self) -> Optional[str]:
        return _ldscript_dir(self.bsp)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "mcu": self.mcu, "arch": self.arch, "core": self.core,
            "clock_hz": self.clock_hz, "max_clock_hz": self.max_clock_hz,
            "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
            "stack_bytes": self.stack_bytes, "fpu": self.fpu, "dsp": self.dsp,
            "cflags": list(self.cflags), "features": list(self.features), "bsp": list(self.bsp),
            "buildable": self.buildable, "offline_output": self.offline_output,
            "build_note": self.build_note,
            "serial": {"baud": self.serial.baud, "peripheral": self.serial.peripheral,
                       "tx": self.serial.tx, "rx": self.serial.rx, "bridge": self.serial.bridge,
                       "usb": [f"{v:04x}:{p:04x}" for v, p in self.serial.usb]},
            "upload": {"tools": list(self.upload.tools)},
            "platformio": {"platform": self.pio_platform, "board": self.pio_board,
                           "framework": self.pio_framework},
            "twin": None if self.twin is None else {"id": self.twin.id,
                                                    "machine": self.twin.machine,
                                                    "qemu": self.twin.qemu},
        }


def _ldscript_dir(bsp: tuple[str, ...]) -> Optional[str]:
    """The BSP folder holding link.ld (validated on load: at most one does)."""
    found = [d for d in bsp if (firmware_dir() / "bsp" / d / "link.ld").is_file()]
    return found[0] if found else None


# ---- reading fields --------------------------------------------------------------------------

class _Fields:
    """Typed reads from one TOML table; `done()` refuses fields nobody read (typos)."""

    def __init__(self, data: dict, path: Path, where: str = "", label: str = "board file"):
        self.data, self.path, self.where, self.label = data, path, where, label
        self.seen: set[str] = set()

    def fail(self, msg: str) -> BoardError:
        return BoardError(f"{self.label} {self.path.name}: {msg}")

    def get(self, key: str, typ: type, default: Any = ...) -> Any:
        self.seen.add(key)
        name = self.where + key
        if key not in self.data:
            if default is ...:
                raise self.fail(f"missing field '{name}'")
            return default
        value = self.data[key]
        if typ is int and isinstance(value, bool):
            raise self.fail(f"field '{name}' must be an integer, got {value!r}")
        if not isinstance(value, typ):
            raise self.fail(f"field '{name}' must be {typ.__name__}, got {type(value).__name__}")
        return value

    def int(self, key: str, lo: int, hi: int, default: Any = ...) -> int:
        v = self.get(key, int, default)
        if not lo <= v <= hi:
            raise self.fail(f"field '{self.where}{key}' = {v} is outside {lo}..{hi}")
        return v

    def text(self, key: str, pattern: Optional[re.Pattern] = None, default: Any = ...,
             what: str = "") -> str:
        v = self.get(key, str, default)
        if pattern is not None and v and not pattern.match(v):
            raise self.fail(f"{self.where}{key} {v!r} is not {what or 'valid'}")
        return v

    def strings(self, key: str, pattern: re.Pattern, what: str, default: Any = ...) -> tuple:
        v = self.get(key, list, default)
        if not all(isinstance(s, str) and pattern.match(s) for s in v):
            raise self.fail(f"{self.where}{key} must be a list of {what}")
        return tuple(v)

    def table(self, key: str, optional: bool = False) -> Optional["_Fields"]:
        t = self.get(key, dict, None if optional else ...)
        return None if t is None else _Fields(t, self.path, f"{self.where}{key}.", self.label)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.fail(f"unknown field '{self.where}{unknown[0]}'")


def _load_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BoardError(f"board file {path} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BoardError(f"board file {Path(path).name}: not valid TOML ({exc})") from None


def _check_cflags(f: _Fields, arch: str, core: str, fpu: Optional[str]) -> tuple[str, ...]:
    cflags = f.strings("cflags", _FLAG_RE, "-m... machine flags")
    if not cflags and arch != "xtensa":          # Xtensa cores are described by `features`
        raise f.fail("cflags must not be empty")
    if arch == "arm":
        if f"-mcpu={core}" not in cflags or "-mthumb" not in cflags:
            raise f.fail(f"cflags for an Arm core must contain -mcpu={core} and -mthumb")
        if fpu is not None:
            hard = "-mfloat-abi=hard" in cflags
            if hard != (fpu != "none"):
                raise f.fail("an FPU needs -mfloat-abi=hard (and none without one)")
            if hard and f"-mfpu={fpu}" not in cflags:
                raise f.fail(f"cflags must contain -mfpu={fpu}")
    elif arch == "riscv":
        if not any(c.startswith("-march=rv32") for c in cflags) or \
                not any(c.startswith("-mabi=") for c in cflags):
            raise f.fail("cflags for a RISC-V core must contain -march=rv32... and -mabi=...")
    return cflags


def _choice(f: _Fields, key: str, choices: tuple[str, ...], default: str) -> str:
    v = f.text(key, default=default)
    if v not in choices:
        raise f.fail(f"{key} {v!r} must be one of {', '.join(choices)}")
    return v


def _check_features(f: _Fields, arch: str) -> tuple[str, ...]:
    """Xtensa: the core's LLVM target features (windowed ABI required); others: none."""
    features = f.strings("features", _FEATURE_RE, "LLVM Xtensa feature names", default=[])
    if arch == "xtensa" and "windowed" not in features:
        raise f.fail("features of an Xtensa core must include windowed (the ESP32 ABI)")
    if arch != "xtensa" and features:
        raise f.fail("features are for Xtensa cores; Arm and RISC-V cores use cflags")
    return features


def _check_bsp(f: _Fields, need_ldscript: bool) -> tuple[str, ...]:
    bsp = f.strings("bsp", _ID_RE, "firmware/bsp folder names")
    root = firmware_dir() / "bsp"
    for d in bsp:
        if not (root / d).is_dir():
            raise f.fail(f"bsp folder {d!r} does not exist in firmware/bsp")
    scripts = [d for d in bsp if (root / d / "link.ld").is_file()]
    if len(scripts) > 1 or (need_ldscript and not scripts):
        raise f.fail(f"exactly one bsp folder must hold link.ld (found {len(scripts)})")
    return bsp


# ---- twins -----------------------------------------------------------------------------------

def twins_dir(directory: Optional[Path] = None) -> Path:
    return (directory or boards_dir()) / "twins"


def parse_twin(data: dict, path: Path) -> Twin:
    f = _Fields(data, path, label="twin file")
    tid = path.stem
    if not _TWIN_ID_RE.match(tid):
        raise f.fail(f"twin id {tid!r} must match [a-z][a-z0-9_-]*")
    arch = f.text("arch")
    if arch not in ARCHES:
        raise f.fail(f"arch {arch!r} must be one of {', '.join(ARCHES)}")
    core = f.text("core")
    counter = f.text("counter")
    if counter not in COUNTERS:
        raise f.fail(f"counter {counter!r} must be one of {', '.join(COUNTERS)}")
    if counter == "unicorn" and arch != "arm":
        raise f.fail("the unicorn counter supports the Cortex-M twins only")
    memory = _memory_map(f, counter)
    twin = Twin(id=tid, machine=f.text("machine", _TWIN_ID_RE, what="a QEMU machine name"),
                qemu=f.text("qemu", re.compile(r"^qemu-system-[a-z0-9_]+$"), what="a QEMU binary"),
                args=f.strings("args", _ARG_RE, "plain QEMU arguments", default=[]),
                arch=arch, core=core, cflags=_check_cflags(f, arch, core, None),
                clock_hz=f.int("clock_hz", 1_000_000, 2_000_000_000),
                flash_bytes=f.int("flash_bytes", 16 << 10, 64 << 20),
                ram_bytes=f.int("ram_bytes", 8 << 10, 64 << 20),
                bsp=_check_bsp(f, need_ldscript=True), counter=counter,
                dsp=f.get("dsp", bool, False), features=_check_features(f, arch),
                line_resends=f.int("line_resends", 0, 50, default=3),
                line=_choice(f, "line", LINES, "serial"),
                stands_in_for=f.strings("stands_in_for", _ARG_RE, "core names", default=[]),
                **memory, path=path)
    f.done()
    return twin


def _memory_map(f: _Fields, counter: str) -> dict:
    """flash_base, ram_base, uart, uart_base: required where unicorn counts (it models the
    machine), refused elsewhere (QEMU counts on its own machine)."""
    keys = ("flash_base", "ram_base", "uart", "uart_base")
    if counter != "unicorn":
        if any(k in f.data for k in keys):
            raise f.fail(f"{', '.join(keys)} describe the unicorn counter's machine; this twin "
                         f"is counted by {counter}")
        return {}
    uart = f.text("uart")
    if uart not in UART_MODELS:
        raise f.fail(f"uart {uart!r} must be one of {', '.join(UART_MODELS)}")
    return {"flash_base": f.int("flash_base", 0, 0xFFFF_F000),
            "ram_base": f.int("ram_base", 0, 0xFFFF_F000), "uart": uart,
            "uart_base": f.int("uart_base", 0, 0xFFFF_F000)}


def twin_ids(directory: Optional[Path] = None) -> list[str]:
    return sorted(p.stem for p in twins_dir(directory).glob("*.toml"))


def get_twin(twin_id: str, directory: Optional[Path] = None) -> Twin:
    d = twins_dir(directory)
    if not _TWIN_ID_RE.match(twin_id or "") or not (d / f"{twin_id}.toml").is_file():
        raise BoardError(f"unknown emulated twin {twin_id!r}; known twins: "
                         f"{', '.join(twin_ids(directory))}")
    return parse_twin(_load_toml(d / f"{twin_id}.toml"), d / f"{twin_id}.toml")


def list_twins(directory: Optional[Path] = None) -> list[Twin]:
    return [get_twin(t, directory) for t in twin_ids(directory)]


# ---- boards ----------------------------------------------------------------------------------

def _parse_serial(f: _Fields) -> Serial:
    s = f.table("serial")
    usb = []
    for text in s.strings("usb", _USB_RE, "USB ids written vvvv:pppp (lower-case hex)"):
        vid, pid = text.split(":")
        usb.append((int(vid, 16), int(pid, 16)))
    serial = Serial(baud=s.int("baud", 1200, 12_000_000),
                    peripheral=s.text("peripheral", _PIN_RE, what="a peripheral name"),
                    tx=s.text("tx", _PIN_RE, what="a pin name"),
                    rx=s.text("rx", _PIN_RE, what="a pin name"),
                    bridge=s.text("bridge"), usb=tuple(usb))
    s.done()
    return serial


def _parse_upload(f: _Fields, arch: str) -> Upload:
    u = f.table("upload")
    tool = u.text("tool")
    if tool not in UPLOAD_TOOLS:
        raise u.fail(f"upload.tool {tool!r} must be one of {', '.join(UPLOAD_TOOLS)}")
    o, p, e = u.table("openocd", True), u.table("pyocd", True), u.table("esptool", True)
    openocd = o.strings("config", _CFG_RE, "OpenOCD scripts like board/x.cfg") if o else ()
    khz = o.int("speed_khz", 0, 100_000, default=0) if o else 0
    pyocd = p.text("target", _ID_RE, what="a pyOCD target name") if p else ""
    esptool = None
    if e is not None:
        esptool = Esptool(chip=e.text("chip", _ID_RE, what="an esptool chip name"),
                          baud=e.int("baud", 9600, 5_000_000),
                          bootloader=e.int("bootloader", 0, 1 << 24),
                          partitions=e.int("partitions", 0, 1 << 24),
                          app=e.int("app", 0, 1 << 24))
    for t in (o, p, e, u):
        if t is not None:
            t.done()
    configured = {"openocd": bool(openocd), "pyocd": bool(pyocd), "esptool": esptool is not None}
    if not configured[tool]:
        raise u.fail(f"upload.tool is {tool} but there is no [upload.{tool}] table")
    if (arch == "arm" and esptool is not None) or (arch != "arm" and (openocd or pyocd)):
        raise u.fail(f"the upload tools given do not flash {arch} chips")
    return Upload(tool=tool, openocd=openocd, pyocd=pyocd, esptool=esptool, openocd_khz=khz)


def _parse_twin_ref(f: _Fields, arch: str, core: str, cflags: tuple) -> Optional[Twin]:
    tid = f.get("twin", str, None)
    if tid is None:
        return None
    if not _TWIN_ID_RE.match(tid) or not (twins_dir(f.path.parent) / f"{tid}.toml").is_file():
        raise f.fail(f"twin {tid!r} is not one of {', '.join(twin_ids(f.path.parent))}")
    twin = get_twin(tid, f.path.parent)
    if twin.arch != arch:
        raise f.fail(f"twin {tid} is {twin.arch}, the board is {arch}")
    same = twin.core == core and twin.cflags == cflags
    if arch in ("arm", "xtensa") and not same and core not in twin.stands_in_for:
        raise f.fail(f"twin {tid} has a {twin.core} ({' '.join(twin.cflags)}), the board a "
                     f"{core} ({' '.join(cflags)}): a twin needs the same core and flags (or "
                     f"the board's core in its stands_in_for)")
    return twin


def parse_board(data: dict, path: Path) -> Board:
    """Validate one board file's parsed TOML; raise BoardError (one line) on the first problem."""
    f = _Fields(data, path)
    bid = f.text("id")
    if not _ID_RE.match(bid):
        raise f.fail(f"id {bid!r} must match [a-z][a-z0-9_]*")
    if bid != path.stem:
        raise f.fail(f"id {bid!r} differs from the file name")
    arch = f.text("arch")
    if arch not in ARCHES:
        raise f.fail(f"arch {arch!r} must be one of {', '.join(ARCHES)}")
    core, fpu = f.text("core"), f.text("fpu")
    clock, max_clock = f.int("clock_hz", 1_000_000, 2_000_000_000), \
        f.int("max_clock_hz", 1_000_000, 2_000_000_000)
    flash, ram = f.int("flash_bytes", 16 << 10, 64 << 20), f.int("ram_bytes", 8 << 10, 64 << 20)
    stack = f.int("stack_bytes", 1 << 10, 1 << 20)
    if clock > max_clock:
        raise f.fail("clock_hz exceeds max_clock_hz")
    if stack >= ram:
        raise f.fail("stack_bytes must be smaller than ram_bytes")
    cflags = _check_cflags(f, arch, core, fpu if arch == "arm" else None)
    buildable = f.get("buildable", bool)
    if buildable and arch == "riscv":
        raise f.fail("RISC-V boards are built as their twin only (no vendor SDK offline)")
    output = f.text("offline_output", default="firmware")
    if output not in OFFLINE_OUTPUTS:
        raise f.fail(f"offline_output {output!r} must be one of {', '.join(OFFLINE_OUTPUTS)}")
    note = f.text("build_note", default="")
    if (not buildable or output != "firmware") and not note:
        raise f.fail("a board whose firmware is not built here needs a build_note saying why")
    pio = f.table("platformio")
    board = Board(
        id=bid, name=f.text("name"), mcu=f.text("mcu"), arch=arch, core=core, clock_hz=clock,
        max_clock_hz=max_clock, flash_bytes=flash, ram_bytes=ram, stack_bytes=stack, fpu=fpu,
        dsp=f.get("dsp", bool), cflags=cflags,
        bsp=_check_bsp(f, need_ldscript=buildable and output == "firmware"),
        buildable=buildable, serial=_parse_serial(f), upload=_parse_upload(f, arch),
        pio_platform=pio.text("platform", _PIO_ID_RE, what="a PlatformIO id"),
        pio_board=pio.text("board", _PIO_ID_RE, what="a PlatformIO id"),
        pio_framework=pio.text("framework", _PIO_ID_RE, what="a PlatformIO id"),
        twin=_parse_twin_ref(f, arch, core, cflags), build_note=note,
        features=_check_features(f, arch), offline_output=output, path=path)
    pio.done()
    f.done()
    return board


def load_board_file(path: Path) -> Board:
    return parse_board(_load_toml(Path(path)), Path(path))


def board_ids(directory: Optional[Path] = None) -> list[str]:
    d = directory or boards_dir()
    return sorted(p.stem for p in d.glob("*.toml"))


def list_boards(directory: Optional[Path] = None) -> list[Board]:
    d = directory or boards_dir()
    return [load_board_file(d / f"{bid}.toml") for bid in board_ids(d)]


def get_board(board_id: str, directory: Optional[Path] = None) -> Board:
    d = directory or boards_dir()
    if not _ID_RE.match(board_id or "") or not (d / f"{board_id}.toml").is_file():
        known = ", ".join(board_ids(d))
        raise BoardError(f"unknown board {board_id!r}; known boards: {known}")
    return load_board_file(d / f"{board_id}.toml")


def board_twin(board: Board) -> Twin:
    """The board's twin, or a one-line error naming the boards that have one."""
    if board.twin is None:
        have = ", ".join(b.id for b in list_boards() if b.twin)
        raise BoardError(f"{board.id} has no emulated twin (QEMU has no {board.core} machine "
                         f"here); boards with one: {have}")
    return board.twin


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
    state: int = 0              # recurrent state: beside the arena, alive between calls

    @property
    def flash(self) -> int:
        return self.weights + self.code

    @property
    def ram(self) -> int:
        return self.arena + self.state + self.stack + self.static_ram


def check_fit(board: Board, weight_bytes: int, arena_bytes: int, *, code_bytes: int = 0,
              static_bytes: int = 0, state_bytes: int = 0, twin: bool = False,
              check: bool = True) -> FitEstimate:
    """Refuse a model that cannot fit the board (or its twin), before anything is built
    (`check=False`: only the estimate, which `tinygen analyze` prints).

    Flash: weights + code (estimated: CODE_ESTIMATE_BYTES unless the caller knows better).
    RAM: arena + state + stack + static buffers (static_bytes, else STATIC_RAM_ESTIMATE_BYTES).
    """
    t = board.twin if twin else None
    flash_limit = t.flash_bytes if t else board.flash_bytes
    ram_limit = t.ram_bytes if t else board.ram_bytes
    est = FitEstimate(weights=int(weight_bytes), code=int(code_bytes or CODE_ESTIMATE_BYTES),
                      arena=int(arena_bytes), stack=board.stack_bytes,
                      static_ram=int(static_bytes or STATIC_RAM_ESTIMATE_BYTES),
                      flash_limit=flash_limit, ram_limit=ram_limit, state=int(state_bytes))
    what = f"{board.id} twin ({t.machine})" if t else board.id
    # A twin smaller than its board (the Pico's 64 KB Cortex-M0 machine) refuses models the board
    # runs: say that the board's own build is still open.
    fix = "use a smaller model or a larger board"
    if t and est.flash <= board.flash_bytes and est.ram <= board.ram_bytes:
        fix = (f"the {board.id} itself has room: build it alone with --env offline (its twin "
               f"runs smaller models)")
    if check and est.flash > flash_limit:
        raise ModelTooLarge(
            f"model does not fit {what} flash: weights {est.weights:,} B + code ~{est.code:,} B "
            f"= {est.flash:,} B > {flash_limit:,} B; {fix}")
    if check and est.ram > ram_limit:
        state = f" + state {est.state:,} B" if est.state else ""
        raise ModelTooLarge(
            f"model does not fit {what} RAM: arena {est.arena:,} B{state} + stack "
            f"{est.stack:,} B + buffers ~{est.static_ram:,} B = {est.ram:,} B > {ram_limit:,} B; "
            f"{fix}")
    return est
