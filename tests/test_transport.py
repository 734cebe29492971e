"""Device-side faults seen by the host: a fake device on a TCP socket (socket://) that answers
with a bad CRC, a truncated frame, noise, nothing at all, or a reset. Each must end in one clear
line within its timeout."""
from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import validate_fixture as vf  # noqa: E402

from tinygen.errors import DeviceError, DeviceTimeout, ProtocolError  # noqa: E402
from tinygen import wire as P  # noqa: E402
from tinygen.transport import SocketLine, Transport  # noqa: E402
from tinygen.validate.protocol import Client  # noqa: E402


class FakeDevice:
    """Answers ECHO frames through `behaviour(frame_bytes) -> bytes to send`."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.srv.settimeout(5)
        self.url = f"socket://127.0.0.1:{self.srv.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stop = threading.Event()

    def _serve(self):
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        conn.settimeout(0.1)
        dec = P.FrameDecoder()
        with conn:
            while not self.stop.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                dec.feed(data)
                for f in dec.frames():
                    out = self.behaviour(f)
                    if out:
                        try:
                            conn.sendall(out)
                        except OSError:
                            return

    def __enter__(self):
        self.thread.start()
        self.t = Transport.open(self.url, connect_timeout=5)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.close()
        self.srv.close()
        self.thread.join(timeout=2)


def _echo(f):
    return P.encode_frame(P.reply_cmd(f.cmd), f.payload)


def test_socket_transport_round_trip():
    with FakeDevice(_echo) as d:
        assert Client(d.t, timeout=2).echo(b"\xa5" * 100) == b"\xa5" * 100


def test_socket_pair_line_is_binary_clean_and_bounded():
    """The Xtensa twin's line (QEMU's stdio, one end of a socket pair): every byte value both
    ways, a silent line ends a read at its deadline, a closed one is one clear line."""
    ours, theirs = socket.socketpair()
    t = Transport(SocketLine(ours, write_timeout=1.0), "stdio of qemu")
    every = bytes(range(256)) * 64
    t.write(every)
    got = b""
    while len(got) < len(every):
        got += theirs.recv(65536)
    assert got == every
    theirs.sendall(every)
    got = b""
    while len(got) < len(every):
        got += t.read(time.monotonic() + 5)
    assert got == every and t.read(time.monotonic() + 0.05) == b""
    theirs.close()
    with pytest.raises(DeviceError, match="did the device or emulator go away") as exc:
        t.read(time.monotonic() + 5)
    assert "\n" not in str(exc.value)
    t.close()


def test_reply_with_bad_crc():
    def bad(f):
        out = bytearray(_echo(f))
        out[-2] ^= 0x55
        return bytes(out)
    with FakeDevice(bad) as d:
        start = time.monotonic()
        with pytest.raises(ProtocolError, match="failed its CRC check") as exc:
            Client(d.t, timeout=3).echo(b"abc")
        assert time.monotonic() - start < 3.0 and "\n" not in str(exc.value)


def test_truncated_reply():
    with FakeDevice(lambda f: _echo(f)[:6]) as d:
        start = time.monotonic()
        with pytest.raises(DeviceTimeout, match="truncated reply to ECHO"):
            Client(d.t, timeout=1.0).echo(b"abcdefgh")
        assert time.monotonic() - start < 3.0


def test_noise_around_the_reply():
    rng = np.random.default_rng(3)

    def noisy(f):
        noise = bytearray(rng.bytes(300))
        noise[::37] = bytes([P.START]) * len(noise[::37])
        return bytes(noise) + _echo(f) + rng.bytes(50)
    with FakeDevice(noisy) as d:
        c = Client(d.t, timeout=3)
        for i in range(5):
            assert c.echo(bytes([i]) * 8) == bytes([i]) * 8


def test_noise_with_a_long_fake_header_before_the_reply():
    # a start byte + plausible header claiming a long frame, then the real (short) reply
    fake = bytes([P.START, P.reply_cmd(P.CMD_ECHO), 8, 0])
    with FakeDevice(lambda f: fake + _echo(f)) as d:
        assert Client(d.t, timeout=3, quiet=0.3).echo(b"12345678") == b"12345678"


def test_device_that_never_answers():
    with FakeDevice(lambda f: b"") as d:
        start = time.monotonic()
        with pytest.raises(DeviceTimeout, match="no reply to ECHO .* within 0.7 s"):
            Client(d.t, timeout=0.7).echo(b"x")
        assert time.monotonic() - start < 2.5


def test_device_reset_is_reported():
    with FakeDevice(lambda f: P.encode_frame(P.CMD_BOOT, b"\x01\x00")) as d:
        with pytest.raises(DeviceError, match="reset while answering ECHO"):
            Client(d.t, timeout=2).echo(b"x")


def test_unopenable_port_is_one_line():
    with pytest.raises(DeviceError, match="cannot open serial port /dev/ttyNOPE0"):
        Transport.open("/dev/ttyNOPE0")


def test_socket_nobody_listening_is_bounded():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    start = time.monotonic()
    with pytest.raises(DeviceTimeout, match="cannot connect"):
        Transport.open(f"socket://127.0.0.1:{port}", connect_timeout=0.5)
    assert time.monotonic() - start < 3


# ---- the CLI against a generated model's firmware built for the host ---------------------------
FIX = Path(__file__).resolve().parent / "fixtures"


def _host_model_firmware(tmp_path, model, features=None):
    """The generated project's own harness (src/main.c from templates/project) and model, built
    for the host with a stdin/stdout BSP."""
    from tinygen.boards import get_board
    from tinygen.codegen import generate
    from tinygen.project import write_project
    from tinygen.validate.reference import load_front_end

    gen = generate(model, tmp_path / "gen", name="model")
    project = write_project(get_board("stm32h7"), tmp_path / "project", gen,
                            front_end=load_front_end(features))
    return vf.build_host_project(project.dir, tmp_path / "fw")


@pytest.mark.host
def test_cli_validate_over_socket_json(tmp_path, capsys):
    pytest.importorskip("tflite_micro")
    import json

    from tinygen.cli import main

    model, feats = FIX / "validate_cnn_fe.tflite", FIX / "validate_cnn_fe.features.json"
    exe = _host_model_firmware(tmp_path, model, feats)
    with vf.HostDevice(exe, "socket") as dev:
        # the CLI opens its own connection: hand it a second, forwarded socket
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        stop = threading.Event()

        def pump():
            conn, _ = srv.accept()
            conn.settimeout(0.05)
            with conn:
                while not stop.is_set():
                    try:
                        data = conn.recv(4096)
                        if not data:
                            return
                        dev.transport.write(data)
                    except socket.timeout:
                        pass
                    out = dev.transport.read(time.monotonic() + 0.01)
                    if out:
                        conn.sendall(out)

        th = threading.Thread(target=pump, daemon=True)
        th.start()
        rc = main(["validate", "--board", "stm32h7", "--port", f"socket://127.0.0.1:{port}",
                   "--model", str(model), "--features", str(feats), "--samples", "5", "--json",
                   "--report", str(tmp_path / "rep.json"), "--timeout", "3"])
        stop.set()
        th.join(timeout=2)
        srv.close()
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["status"] == "ok" and doc["bit_exact"] == 5 and doc["differing_bytes"] == 0
    assert doc["cycles"]["front_end"]["mean"] > 0 and (tmp_path / "rep.json").is_file()


@pytest.mark.host
def test_cli_refuses_firmware_from_another_model(tmp_path, capsys):
    pytest.importorskip("tflite_micro")
    from tinygen.cli import main

    exe = _host_model_firmware(tmp_path, FIX / "validate_fc_a.tflite")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        import subprocess
        conn, _ = srv.accept()
        p = subprocess.Popen([str(exe)], stdin=conn.fileno(), stdout=conn.fileno())
        conn.close()
        p.wait(timeout=20)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    rc = main(["validate", "--board", "stm32h7", "--port", f"socket://127.0.0.1:{port}",
               "--model", str(FIX / "validate_fc_b.tflite"), "--report", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    srv.close()
    th.join(timeout=5)
    assert rc == 2
    line = [ln for ln in err.splitlines() if ln.startswith("tinygen: error:")]
    assert len(line) == 1 and "not validate_fc_b.tflite" in line[0]


def test_cli_silent_device_one_line_bounded(tmp_path, capsys):
    pytest.importorskip("tflite_micro")
    from tinygen.cli import main

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)   # accepts (in the kernel) and never says a word
    port = srv.getsockname()[1]
    start = time.monotonic()
    rc = main(["validate", "--board", "stm32h7", "--port", f"socket://127.0.0.1:{port}",
               "--model", str(FIX / "validate_fc_a.tflite"), "--timeout", "0.5",
               "--report", str(tmp_path / "r.json")])
    elapsed = time.monotonic() - start
    srv.close()
    captured = capsys.readouterr()
    errors = [ln for ln in captured.err.splitlines() if ln.startswith("tinygen: error:")]
    assert rc == 2 and len(errors) == 1 and "no answer from socket://" in errors[0]
    assert elapsed < 8   # timeout 0.5 s + interpreter start-up, on a loaded 2-core machine
    assert "status" in captured.out and (tmp_path / "r.json").is_file()   # the (empty) report
