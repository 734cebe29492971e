"""Child processes that never outlive tinygen: QEMU, `pio` and the compilers it starts.

Each child starts in its own process group (a new session), so a group kill reaches its own
children too (pio -> scons -> gcc) and a terminal's Ctrl-C reaches tinygen alone, which then
stops them. Every live child is in one registry, emptied on every exit path:

- normal return: the caller's `with` block or `run()` itself waits for or stops the child;
- an exception: the same `with` blocks and `finally`s unwind;
- SIGINT, SIGTERM, SIGHUP: `install_signal_handlers()` (the CLI calls it) stops every group at
  once, then raises so the `with` blocks unwind (SIGINT as KeyboardInterrupt);
- interpreter exit: an atexit hook stops whatever is left;
- tinygen killed with SIGKILL: on Linux each child also gets PR_SET_PDEATHSIG (it dies with us).

Every wait here has a timeout.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Optional, Sequence

_LIVE: set[subprocess.Popen] = set()
_PR_SET_PDEATHSIG = 1
# Looked up here, not in the child: between fork and exec the child must not load libraries.
_PRCTL = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def spawn(cmd: Sequence[str], **popen_args) -> subprocess.Popen:
    """Start `cmd` in its own process group and register it; stop it with `stop()`."""
    proc = subprocess.Popen(list(cmd), start_new_session=True, preexec_fn=_die_with_parent,
                            **popen_args)
    _LIVE.add(proc)
    return proc


def stop(proc: subprocess.Popen, grace: float = 2.0) -> Optional[int]:
    """Stop the process group of `proc` (TERM, then KILL after `grace` s); returns its status.

    The group is signalled only while its leader is unreaped: until then no new process can be
    given its number, so the signal cannot reach anyone else's group."""
    if proc.returncode is None:
        _signal_group(proc, signal.SIGTERM)
        _exited(proc, grace)
        _signal_group(proc, signal.SIGKILL)   # what is left of the group, the leader included
        proc.wait(timeout=10)
    _LIVE.discard(proc)
    return proc.returncode


def _exited(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait up to `timeout` s for the leader to exit, without reaping it (WNOWAIT)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:       # already reaped elsewhere
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all() -> None:
    """Stop every registered child: signal all groups first, then wait for each."""
    live = [p for p in _LIVE if p.returncode is None]
    for proc in live:
        _signal_group(proc, signal.SIGTERM)
    for proc in list(_LIVE):
        stop(proc, grace=1.0)


atexit.register(stop_all)


@dataclass(frozen=True)
class Completed:
    args: list[str]
    returncode: Optional[int]      # None: killed at the timeout
    output: str                    # stdout and stderr, interleaved as the child wrote them

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run(cmd: Sequence[str], timeout: float, *, cwd=None, env=None) -> Completed:
    """Run `cmd` to completion (or kill its whole group at `timeout`); capture its output."""
    proc = spawn(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                 stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: Optional[int] = proc.returncode
    except subprocess.TimeoutExpired:
        stop(proc, grace=1.0)
        out, _ = proc.communicate(timeout=10)
        code = None
    finally:
        stop(proc)   # interrupted (a signal, an error): the whole group goes
    return Completed(list(cmd), code, out.decode("utf-8", "replace"))


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM or SIGHUP arrives (like KeyboardInterrupt)."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


def _on_signal(signum, _frame) -> None:
    stop_all()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def install_signal_handlers() -> dict:
    """SIGINT, SIGTERM, SIGHUP: stop every child group, then unwind. Returns the handlers it
    replaced (for `restore_signal_handlers`); does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _on_signal) for sig in _SIGNALS}


def restore_signal_handlers(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
