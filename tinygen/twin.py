"""A running emulated twin: QEMU on a firmware ELF, its UART on a local TCP socket (or, for a
twin whose line is "stdio", QEMU's own stdin/stdout on a socket pair: `_spawn_on_stdio`).

    with QemuTwin(get_board("stm32h7").twin, elf) as q:
        q.transport.write(...)            # tinygen.transport.Transport over socket://

QEMU listens with `server=on,wait=on`: the guest does not run until we connect, so its first
bytes are never lost. The twin is ready when the guest has spoken (tinygen firmware sends a BOOT
frame at reset); those bytes are handed back to the transport, so the protocol above still sees
them. Start-up waits on that readiness, never on a fixed sleep, and its bound is counted in QEMU's own
CPU time (a guest boots in well under a second of it): a machine loaded by other work gives QEMU
fewer seconds per second, which makes start-up slower, never a failure. A wall-clock bound stays
for a QEMU that idles (a guest stuck waiting), and one retry on a fresh port.

QEMU runs in its own process group (tinygen.procs) and is stopped on every path: the context
manager, the signal handlers, and an atexit hook. This module knows bytes and processes, not the
protocol: validation uses a twin's transport; the twin never imports validation.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from . import procs
from .boards import Twin
from .errors import EmulatorError, TinygenError, ToolchainMissing
from .transport import SocketLine, Transport

READY_CPU = 20.0         # per attempt: seconds of QEMU's CPU time until the guest's first byte
READY_TIMEOUT = 180.0    # per attempt, wall clock: only a QEMU that sits idle gets this far
ATTEMPTS = 2             # one retry, on a fresh port
# Seconds per byte through the emulated UART, for reply deadlines: the mps2 UART takes one byte
# per round of QEMU's main loop; measured 0.4 ms a byte host -> guest (a 32 KB INFER frame in
# 13.5 s) with the 2-core machine at load 11. Twice that, for margin.
BYTE_TIME = 1e-3
_ELF_MACHINES = {"arm": 40, "riscv": 243, "xtensa": 94}
_DEBIAN_QEMU = {"qemu-system-arm": "qemu-system-arm", "qemu-system-riscv32": "qemu-system-misc",
                "qemu-system-xtensa": "qemu-system-misc"}


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
                            f"the {twin.id} twin needs a {twin.arch} build")


def qemu_cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU seconds of a running process, from /proc; None where that is not readable
    (not Linux, or the process is gone): the wall-clock bound then stands alone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuTwin:
    """One running QEMU. Use as a context manager; `stop()` is idempotent and safe anywhere."""

    def __init__(self, twin: Twin, elf, *, ready_timeout: float = READY_TIMEOUT,
                 extra_args: tuple[str, ...] = ()):
        self.twin = twin
        self.elf = Path(elf)
        self.ready_timeout = ready_timeout
        self.extra_args = tuple(extra_args)
        self.proc = None
        self.transport: Optional[Transport] = None
        self.port: Optional[int] = None
        self.returncode: Optional[int] = None
        self._log = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def command(self, port: Optional[int]) -> list[str]:
        t = self.twin
        serial = ("none" if t.line == "stdio"
                  else f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on")
        return [t.qemu, "-M", t.machine, "-nographic", "-monitor", "none", "-kernel",
                str(self.elf), *t.args, *self.extra_args, "-serial", serial]

    def start(self) -> "QemuTwin":
        if shutil.which(self.twin.qemu) is None:
            raise ToolchainMissing(f"{self.twin.qemu} not found; install it: apt-get install "
                                   f"--no-install-recommends {_DEBIAN_QEMU[self.twin.qemu]}")
        if not self.elf.is_file():
            raise EmulatorError(f"firmware {self.elf} not found; build it first")
        check_elf(self.elf, self.twin)
        why = ""
        for _attempt in range(ATTEMPTS):
            try:
                why = self._attempt()
            except BaseException:
                self.stop()
                raise
            if not why:
                return self
            self.stop()
        raise EmulatorError(f"the {self.twin.id} twin did not start ({ATTEMPTS} attempts): {why}")

    def _attempt(self) -> str:
        """Start QEMU once and wait until the guest speaks; '' when ready, else why not."""
        self._log = tempfile.TemporaryFile()
        if self.twin.line == "stdio":
            self._spawn_on_stdio()
        else:
            self.port = _free_port()
            self.proc = procs.spawn(self.command(self.port), stdin=subprocess.DEVNULL,
                                    stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while self.transport is None:
            if self.proc.poll() is not None:
                return self._exit_reason()
            spent = self._spent(deadline)
            if spent:
                return f"QEMU did not open its serial socket ({spent})"
            try:   # the first client is the one QEMU waits for (wait=on): no byte is lost
                self.transport = Transport.open(self.url, connect_timeout=0)
            except TinygenError:
                time.sleep(0.05)
        while True:
            first = self.transport.read(min(deadline, time.monotonic() + 0.2))
            if first:
                self.transport.unread(first)
                return ""
            if self.proc.poll() is not None:
                return self._exit_reason()
            spent = self._spent(deadline)
            if spent:
                return (f"the guest sent nothing ({spent}; is {self.elf.name} "
                        f"built for {self.twin.machine}?)")

    def _spawn_on_stdio(self) -> None:
        """QEMU with one end of a socket pair as its stdin and stdout, the transport on the other.

        The Xtensa `sim` machine's line. Given `-serial`, its simcall console reads through a
        16-byte buffer that QEMU's main loop fills and the vCPU thread empties, with no lock
        between them (target/xtensa/xtensa-semi.c: `input.offset` is read, changed and written
        by both; TCG runs guest code without the global lock, single-threaded TCG too, so
        `-accel tcg,thread=single` only moved the timing): under load an update is lost and so
        are bytes (7-13 resends per 10 inferences at load 3). A frame that lost bytes leaves the
        guest waiting for the rest, so the host meets its whole reply deadline before it resends:
        the 60 s timeouts seen before, whichever clock counted them.
        With `-serial none` the same calls are the host's read(2) and write(2) on QEMU's fds 0
        and 1, in the vCPU thread alone: nothing is shared, nothing is lost. The guest waits for
        input in a select with a timeout (firmware/bsp/qemu_xtensa_sim), so its vCPU never blocks
        for long. Like `wait=on`, the socket exists before the guest runs: no byte is lost."""
        ours, theirs = socket.socketpair()
        try:
            self.proc = procs.spawn(self.command(None), stdin=theirs, stdout=theirs,
                                    stderr=self._log)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.transport = Transport(SocketLine(ours), f"stdio of {self.twin.qemu}")

    def _spent(self, deadline: float) -> str:
        """'' while the start-up may go on, else which bound ran out."""
        cpu = qemu_cpu_seconds(self.proc.pid)
        if cpu is not None and cpu >= READY_CPU:
            return f"QEMU ran {cpu:.0f} s of CPU time"
        if time.monotonic() >= deadline:
            return f"{self.ready_timeout:g} s passed"
        return ""

    def _exit_reason(self) -> str:
        code = self.proc.wait(timeout=5)
        log = self.log_tail()
        if "Address already in use" in log or "Failed to bind" in log:
            return f"the local port was taken ({log})"
        raise EmulatorError(f"{self.twin.qemu} -M {self.twin.machine} exited with status {code} "
                            f"at start: {log}")

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
            raise EmulatorError(f"{self.twin.machine} guest did not exit within {timeout:g} s") \
                from None
        procs.stop(self.proc)
        return self.returncode

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.proc is not None:
            self.returncode = procs.stop(self.proc)

    def __enter__(self) -> "QemuTwin":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
