"""QEMU twins: start one on an ELF with its UART on a local TCP socket, and always stop it.

    with QemuTwin(twin_for_board("stm32h7"), elf) as q:
        transport = q.transport          # tinygen.validate.transport.Transport, socket://
        ...

QEMU listens with `server=on,wait=on`: the guest does not run until we connect, so its first
bytes are never lost. A twin is stopped on every path: the context manager, a finaliser, and an
atexit hook for anything still alive when Python exits. Every wait has a timeout.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import BoardError, EmulatorError, TinygenError, ToolchainMissing


@dataclass(frozen=True)
class Twin:
    """An emulated machine with the same CPU core as a board, and how to build for it."""

    name: str                       # machine id used across tinygen, e.g. "mps2-an500"
    qemu: str                       # emulator binary
    machine: str                    # -M value
    bsp: str                        # folder under firmware/bsp/
    arch: str                       # "arm" or "riscv"
    cc: str                         # cross compiler
    cflags: tuple[str, ...]         # CPU / ABI flags
    cpu_hz: int                     # what the BSP reports (the board being twinned may differ)
    extra_args: tuple[str, ...] = field(default=())


_ARM = "arm-none-eabi-gcc"
TWINS: dict[str, Twin] = {
    "mps2-an500": Twin("mps2-an500", "qemu-system-arm", "mps2-an500", "qemu_mps2", "arm", _ARM,
                       ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"),
                       25_000_000, ("-semihosting-config", "enable=on,target=native")),
    "mps2-an386": Twin("mps2-an386", "qemu-system-arm", "mps2-an386", "qemu_mps2", "arm", _ARM,
                       ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
                       25_000_000, ("-semihosting-config", "enable=on,target=native")),
    "netduinoplus2": Twin("netduinoplus2", "qemu-system-arm", "netduinoplus2", "qemu_netduinoplus2",
                          "arm", _ARM,
                          ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
                          168_000_000, ("-semihosting-config", "enable=on,target=native")),
    "riscv32-virt": Twin("riscv32-virt", "qemu-system-riscv32", "virt", "qemu_riscv_virt", "riscv",
                         "riscv64-unknown-elf-gcc", ("-march=rv32imc", "-mabi=ilp32"),
                         160_000_000, ("-bios", "none")),
}
TWIN_ALIASES = {"virt": "riscv32-virt", "riscv-virt": "riscv32-virt", "qemu_riscv_virt": "riscv32-virt",
                "qemu_mps2": "mps2-an500", "qemu_netduinoplus2": "netduinoplus2"}

# Used when tinygen.boards is absent or a board file names no twin: same core, same FPU.
DEFAULT_BOARD_TWINS = {
    "stm32h7": "mps2-an500",
    "stm32f4": "mps2-an386",
    "stm32l4": "mps2-an386",
    "nrf52840": "mps2-an386",
    "esp32c3": "riscv32-virt",
}


def get_twin(name: str) -> Twin:
    key = TWIN_ALIASES.get(name, name)
    if key not in TWINS:
        raise BoardError(f"unknown emulated twin '{name}'; known: {', '.join(sorted(TWINS))}")
    return TWINS[key]


def twin_for_board(board: str) -> Twin:
    """The QEMU twin of a board: from its board file if tinygen.boards knows it, else built in."""
    if board in TWINS or board in TWIN_ALIASES:
        return get_twin(board)
    name = None
    try:
        from . import boards as _boards  # the boards work; optional here
        loader = getattr(_boards, "get_board", None) or getattr(_boards, "load_board", None)
        if loader is not None:
            b = loader(board)
            name = getattr(b, "twin", None) or (b.get("twin") if isinstance(b, dict) else None)
            if isinstance(name, dict):
                name = name.get("machine") or name.get("name")
            if name is not None and not isinstance(name, str):
                name = getattr(name, "machine", None) or getattr(name, "name", None)
    except BoardError:
        if board not in DEFAULT_BOARD_TWINS:
            raise
    except Exception:  # a half-finished boards module must not block validation
        name = None
    if name:
        try:
            return get_twin(name)
        except BoardError:
            pass
    if board in DEFAULT_BOARD_TWINS:
        return TWINS[DEFAULT_BOARD_TWINS[board]]
    raise BoardError(f"board '{board}' has no emulated twin; boards with one: "
                     f"{', '.join(sorted(DEFAULT_BOARD_TWINS))}")


_ELF_MACHINES = {"arm": 40, "riscv": 243}


def check_elf(path: Path, twin: Twin) -> None:
    """Refuse a file that is not a 32-bit ELF for the twin's architecture, before QEMU starts."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError as exc:
        raise EmulatorError(f"cannot read firmware {path}: {exc.strerror}") from None
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[4] != 1:
        raise EmulatorError(f"{path} is not a 32-bit ELF firmware file")
    machine = int.from_bytes(head[18:20], "little")
    if machine != _ELF_MACHINES[twin.arch]:
        raise EmulatorError(f"{path.name} is not built for {twin.arch} (ELF machine {machine}); "
                            f"the {twin.machine} twin needs a {twin.arch} build")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LIVE: "weakref.WeakSet[QemuTwin]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for q in list(_LIVE):
        q.stop()


class QemuTwin:
    """One running QEMU. Use as a context manager; `stop()` is idempotent and safe anywhere."""

    def __init__(self, twin: Twin, elf: os.PathLike | str, startup_timeout: float = 10.0,
                 extra_args: tuple[str, ...] = ()):
        self.twin = twin
        self.elf = Path(elf)
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self.proc: Optional[subprocess.Popen] = None
        self.transport = None
        self.port: Optional[int] = None
        self._log = None
        self.returncode: Optional[int] = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def command(self, port: int) -> list[str]:
        t = self.twin
        return [t.qemu, "-M", t.machine, "-nographic", "-monitor", "none", "-kernel", str(self.elf),
                *t.extra_args, *self.extra_args,
                "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"]

    def start(self) -> "QemuTwin":
        from .validate.transport import Transport

        exe = shutil.which(self.twin.qemu)
        if exe is None:
            raise ToolchainMissing(f"{self.twin.qemu} not found; install it: "
                                   "apt-get install --no-install-recommends qemu-system-arm qemu-system-misc")
        if not self.elf.is_file():
            raise EmulatorError(f"firmware {self.elf} not found; build it first")
        check_elf(self.elf, self.twin)
        deadline = time.monotonic() + self.startup_timeout
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            self._log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(self.command(self.port), stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            _LIVE.add(self)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    # The first client is the one QEMU waits for (wait=on): no byte is lost.
                    self.transport = Transport.open(self.url, connect_timeout=0)
                    break
                except TinygenError:
                    time.sleep(0.05)
            if self.transport is not None:
                return self
            if self.proc.poll() is not None:
                log = self.log_tail()
                self._reap()
                if "Address already in use" in log or "Failed to bind" in log:
                    continue
                raise EmulatorError(f"{self.twin.qemu} -M {self.twin.machine} exited at start: {log}")
            self.stop()
            raise EmulatorError(f"{self.twin.qemu} -M {self.twin.machine} did not open its serial "
                                f"socket within {self.startup_timeout:g} s")
        raise EmulatorError("could not find a free local TCP port for the emulator's serial line")

    def log_tail(self, limit: int = 300) -> str:
        if self._log is None:
            return ""
        try:
            self._log.seek(0)
            text = self._log.read().decode("utf-8", "replace").strip().replace("\n", " | ")
        except (OSError, ValueError):
            return ""
        return text[-limit:] if text else "(no output)"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for the guest to exit by itself (semihosting / test device); returns its status."""
        if self.proc is None:
            raise EmulatorError("emulator not started")
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise EmulatorError(f"{self.twin.machine} guest did not exit within {timeout:g} s") from None
        return self.returncode

    def _reap(self) -> None:
        if self.proc is not None:
            try:
                self.returncode = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        _LIVE.discard(self)

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                p.terminate()
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    p.kill()
                p.wait(timeout=5)
        if p is not None:
            self.returncode = p.returncode
        _LIVE.discard(self)

    def __enter__(self) -> "QemuTwin":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:
            pass
