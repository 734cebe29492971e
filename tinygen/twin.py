"""A running emulated twin: QEMU on a firmware ELF, its UART on one end of a socket pair that
tinygen holds (the other end is QEMU's: a socket chardev given as an open fd, or, for a twin whose
line is "stdio", QEMU's own stdin/stdout: `_spawn_on_stdio`).

    with QemuTwin(get_board("stm32h7").twin, elf) as q:
        q.transport.write(...)            # tinygen.transport.Transport over the socket pair

The line exists before the guest runs, so its first bytes are never lost, and it is nobody's but
ours: there is no TCP port to pick, so twins started side by side (parallel tests, a benchmark
beside them) cannot connect to each other's QEMU, which a free-port probe followed by QEMU's bind
allowed. The twin is ready when the guest has spoken (tinygen firmware sends a BOOT frame at
reset); those bytes are handed back to the transport, so the protocol above still sees them.
Start-up waits on that readiness, never on a fixed sleep, and its bound is counted in QEMU's own
CPU time (a guest boots in well under a second of it): a machine loaded by other work gives QEMU
fewer seconds per second, which makes start-up slower, never a failure. A wall-clock bound stays
for a QEMU that idles (a guest stuck waiting), and one retry.

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
from .errors import EmulatorError, ToolchainMissing
from .transport import SocketLine, Transport

READY_CPU = 20.0         # per attempt: seconds of QEMU's CPU time until the guest's first byte
READY_TIMEOUT = 180.0    # per attempt, wall clock: only a QEMU that sits idle gets this far
ATTEMPTS = 2             # one retry, on a fresh QEMU and line
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
        self.returncode: Optional[int] = None
        self._log = None

    def command(self, fd: int) -> list[str]:
        """QEMU's command line, its line on the inherited socket `fd`."""
        t = self.twin
        line = (["-serial", "none"] if t.line == "stdio"
                else ["-chardev", f"socket,id=tgline,fd={fd}", "-serial", "chardev:tgline"])
        return [t.qemu, "-M", t.machine, "-nographic", "-monitor", "none", "-kernel",
                str(self.elf), *t.args, *self.extra_args, *line]

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
        self._spawn()
        deadline = time.monotonic() + self.ready_timeout
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

    def _spawn(self) -> None:
        """QEMU with one end of a socket pair as its line, the transport on the other.

        Most twins get their end as a socket chardev on an inherited fd (QEMU takes an fd as an
        already connected client). The Xtensa `sim` machine gets it as its stdin and stdout
        (`line = "stdio"`): given `-serial`, its simcall console reads through a 16-byte buffer
        that QEMU's main loop fills and the vCPU thread empties, with no lock between them
        (target/xtensa/xtensa-semi.c: `input.offset` is read, changed and written by both; TCG
        runs guest code without the global lock, single-threaded TCG too), so under load an
        update is lost and so are bytes (7-13 resends per 10 inferences at load 3). With
        `-serial none` the same calls are the host's read(2) and write(2) on QEMU's fds 0 and 1,
        in the vCPU thread alone: nothing is shared, nothing is lost. That guest waits for input
        in a select with a timeout (firmware/bsp/qemu_xtensa_sim), so its vCPU never blocks long."""
        ours, theirs = socket.socketpair()
        fd = theirs.fileno()
        stdio = self.twin.line == "stdio"
        try:
            self.proc = procs.spawn(
                self.command(fd), pass_fds=() if stdio else (fd,),
                stdin=theirs if stdio else subprocess.DEVNULL,
                stdout=theirs if stdio else self._log, stderr=self._log)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.transport = Transport(SocketLine(ours), f"the {self.twin.id} twin's line")

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
