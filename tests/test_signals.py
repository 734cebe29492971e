"""Nothing left running: QEMU, pio and the compilers run in their own process group (session) and
tinygen stops them on SIGINT, SIGTERM and SIGHUP. A signal is sent to `tinygen validate
--emulate` mid-run and to `tinygen build` while `pio run` compiles; afterwards no process of those
sessions exists."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.emulated, pytest.mark.cross]
FIX = Path(__file__).resolve().parent / "fixtures"
MODEL = FIX / "validate_fc_a.tflite"


def _processes() -> list[tuple[int, int, str, str]]:
    """(pid, session id, cmdline, cwd) of every process we can see."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            sid = int(stat[stat.rindex(")") + 2:].split()[3])
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(d / "cwd")
        except (OSError, ValueError):
            continue
        out.append((int(d.name), sid, cmd, cwd))
    return out


def _wait_for(match, timeout: float = 300) -> tuple[int, int, str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in _processes():
            if match(p):
                return p
        time.sleep(0.1)
    raise AssertionError("the child process never appeared")


def _session_alive(sid: int) -> list[str]:
    return [cmd for pid, s, cmd, _ in _processes() if s == sid]


def _tinygen(*args: str, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "tinygen", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def twin_elf(tmp_path_factory):
    pytest.importorskip("tflite_micro")
    from tinygen.builder import build_twin_firmware

    return build_twin_firmware("stm32h7", MODEL, tmp_path_factory.mktemp("sig"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_to_validate_emulate_leaves_no_qemu(twin_elf, tmp_path, sig):
    proc = _tinygen("validate", "--board", "stm32h7", "--emulate", "--elf", str(twin_elf),
                    "--model", str(MODEL), "--samples", "100000", "--report",
                    str(tmp_path / "r.json"), cwd=tmp_path)
    try:
        qemu = _wait_for(lambda p: "qemu-system-arm" in p[2] and str(twin_elf) in p[2]
                         and p[0] != proc.pid)
        assert qemu[1] == qemu[0], "QEMU must lead its own session"
        time.sleep(1.0)                       # mid-run: inferences are flowing
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert _session_alive(qemu[1]) == [], "QEMU left running"
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("tinygen: ")


def test_sigterm_to_build_leaves_no_pio_or_compiler(tmp_path):
    pytest.importorskip("tflite_micro")
    out = tmp_path / "build"
    proc = _tinygen("build", "--board", "stm32h7", "--model", str(MODEL), "--out", str(out),
                    cwd=tmp_path)
    try:
        pio = _wait_for(lambda p: "platformio" in p[2] and " run " in p[2] + " "
                        and p[3] == str(out))
        assert pio[1] == pio[0], "pio must lead its own session"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert _session_alive(pio[1]) == [], "pio (or scons, gcc) left running"
    assert "tinygen: terminated by SIGTERM" in err
    assert not out.exists(), "an interrupted build leaves its new folder behind"
