"""The validation protocol: framing and CRC in Python, and the C side compiled for the host and
driven through a real pty (pyserial on /dev/pts/N) or a TCP socket (socket://)."""
from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import validate_fixture as vf  # noqa: E402

from tinygen.errors import DeviceTimeout, FirmwareMismatch, ProtocolError  # noqa: E402
from tinygen.validate import protocol as P  # noqa: E402
from tinygen.validate import validate_transport  # noqa: E402
from tinygen.validate.protocol import Client, DeviceReset, FrameDecoder  # noqa: E402
from tinygen.validate.transport import Transport  # noqa: E402

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"


# ---- pure Python ---------------------------------------------------------------------------
def test_crc16_ccitt_false_check_value():
    assert P.crc16(b"123456789") == 0x29B1
    assert P.crc16(b"") == 0xFFFF


def test_frame_round_trip():
    for payload in (b"", b"\xa5", bytes(range(256)) * 3):
        dec = FrameDecoder()
        dec.feed(P.encode_frame(0x82, payload))
        assert list(dec.frames()) == [P.Frame(0x82, payload)]
        assert dec.pending == 0


def test_decoder_finds_frames_behind_garbage_and_byte_by_byte():
    rng = np.random.default_rng(1)
    payloads = [rng.bytes(n) for n in (0, 5, 40)]
    frames = [P.encode_frame(0x84, p) for p in payloads]
    stream = b""
    for f in frames:
        noise = bytearray(rng.bytes(30))
        noise[3] = P.START  # start bytes in the noise must not derail the decoder
        noise[10:14] = bytes([P.START, 0x84, 5, 0])  # even a plausible header
        stream += bytes(noise) + f
    dec = FrameDecoder(lambda c, n: c == 0x84 and n in (0, 5, 40))
    got = []
    for b in stream:
        dec.feed(bytes([b]))
        got += list(dec.frames())
    # the fake header claims 5 bytes; its CRC fails and the decoder rescans after it
    assert [g.payload for g in got] == payloads
    assert dec.noise_bytes >= 90


def test_bad_crc_is_rejected():
    f = bytearray(P.encode_frame(0x82, b"abcd"))
    f[5] ^= 1
    dec = FrameDecoder()
    dec.feed(bytes(f))
    assert list(dec.frames()) == []
    assert dec.bad_crc == 1


def test_info_parse_round_trip():
    body = struct.pack(P.INFO_FORMAT, 1, 1, bytes(range(32)), 16, 4, 64, 64, 4096, 25_000_000,
                       0.5, -3, 0.25, 1) + b"\x07stm32h7" + b"\x03-O2"
    info = P.parse_info(body)
    assert info.board == "stm32h7" and info.build_flags == "-O2"
    assert info.model_sha256 == bytes(range(32)).hex() and info.has_front_end
    with pytest.raises(ProtocolError):
        P.parse_info(body[:20])


def test_silent_line_times_out_within_bound():
    t = Transport.open("loop://")   # echoes our own frames: never a reply
    c = Client(t, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no reply to INFO"):
        c.get_info()
    assert time.monotonic() - start < 3.5
    t.close()


# ---- the C side ----------------------------------------------------------------------------
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")


@pytest.fixture(scope="module")
def host_fw(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    d = tmp_path_factory.mktemp("fw")
    return {
        "ok": vf.build_host_fixture(d / "ok"),
        "reset": vf.build_host_fixture(d / "reset", reset_after=3),
        "mute": vf.build_host_fixture(d / "mute", mute=True),
        "other": vf.build_host_fixture(d / "other", sha=bytes(32)),
    }


@pytest.mark.host
@pytest.mark.parametrize("cross", [
    ("gcc", ()),
    ("arm-none-eabi-gcc", ("-mcpu=cortex-m7", "-mthumb")),
    ("riscv64-unknown-elf-gcc", ("-march=rv32imc", "-mabi=ilp32", "-ffreestanding")),
])
def test_protocol_c_builds_strict(cross, tmp_path):
    cc, flags = cross
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    res = subprocess.run([cc, *flags, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2",
                          f"-I{FIRMWARE / 'bsp'}", f"-I{FIRMWARE / 'harness'}", "-c",
                          str(FIRMWARE / "harness" / "tg_protocol.c"), "-o", str(tmp_path / "p.o")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.host
@pytest.mark.parametrize("kind", ["pty", "socket"])
def test_host_firmware_bit_exact(host_fw, kind):
    with vf.HostDevice(host_fw["ok"], kind) as dev:
        rep = validate_transport(dev.transport, "host", vf.FixtureReference(), samples=8,
                                 expect_boot=True, timeout=2)
        assert rep.ok and rep.bit_exact == 8 and rep.differing_bytes == 0
        c = Client(dev.transport, timeout=2)
        x = np.arange(-8, 8, dtype=np.int8)
        assert c.infer_features(x.tobytes()).output == vf.network(x).tobytes()
        assert c.echo(b"\xa5\x00\xa5") == b"\xa5\x00\xa5"


@pytest.mark.host
def test_device_error_replies(host_fw):
    with vf.HostDevice(host_fw["ok"], "pty") as dev:
        c = Client(dev.transport, timeout=2)
        c.connect(expect_boot=True)
        with pytest.raises(ProtocolError, match="expected a payload of 16 bytes"):
            c.request(P.CMD_INFER_FEATURES, bytes(3))
        with pytest.raises(ProtocolError, match="does not know this command"):
            c.request(0x33, b"")
        with pytest.raises(ProtocolError, match="exceeds the device's 4096-byte buffer"):
            dev.transport.write(bytes([P.START, 0x02, 0xFF, 0xFF]))
            c.request(P.CMD_ECHO, b"x", timeout=1)
        c.sync()  # the echo of "x" is still on the line: clear it
        # a frame with a bad CRC: the device says so
        bad = bytearray(P.encode_frame(P.CMD_ECHO, b"hello"))
        bad[-1] ^= 0xFF
        dev.transport.write(bytes(bad))
        with pytest.raises(ProtocolError, match="bad CRC"):
            c.request(P.CMD_ECHO, b"again!", timeout=1)
        c.sync()
        assert c.echo(b"alive") == b"alive"


@pytest.mark.host
def test_truncated_frame_then_recovery(host_fw):
    with vf.HostDevice(host_fw["ok"], "pty") as dev:
        c = Client(dev.transport, timeout=1)
        c.connect(expect_boot=True)
        # half a frame: the device waits for the rest; our next request completes it (badly)
        dev.transport.write(P.encode_frame(P.CMD_INFER_FEATURES, bytes(16))[:9])
        start = time.monotonic()
        with pytest.raises((ProtocolError, DeviceTimeout)):
            c.infer_features(bytes(16))
        assert time.monotonic() - start < 3.5
        c.sync()
        assert c.infer_features(bytes(16)).output == vf.network(np.zeros(16)).tobytes()


@pytest.mark.host
def test_garbage_on_the_line_is_skipped(host_fw):
    rng = np.random.default_rng(7)
    with vf.HostDevice(host_fw["ok"], "socket") as dev:
        c = Client(dev.transport, timeout=2)
        c.connect(expect_boot=True)
        for i in range(5):
            noise = bytes(b for b in rng.bytes(200) if b != P.START)  # no start byte: pure noise
            dev.transport.write(noise)
            x = rng.integers(-128, 128, 16).astype(np.int8)
            assert c.infer_features(x.tobytes()).output == vf.network(x).tobytes()


@pytest.mark.host
def test_device_that_never_answers(host_fw):
    with vf.HostDevice(host_fw["mute"], "pty") as dev:
        start = time.monotonic()
        with pytest.raises(DeviceTimeout) as exc:
            validate_transport(dev.transport, "host", vf.FixtureReference(), samples=3, timeout=0.5)
        assert time.monotonic() - start < 6
        assert "\n" not in str(exc.value)
        assert exc.value.report.samples == []


@pytest.mark.host
def test_device_reset_mid_run_keeps_partial_results(host_fw, tmp_path):
    with vf.HostDevice(host_fw["reset"], "socket") as dev:
        with pytest.raises(DeviceReset, match="reset while answering") as exc:
            validate_transport(dev.transport, "host", vf.FixtureReference(), samples=6,
                               expect_boot=True, timeout=2, mode="features",
                               report_path=tmp_path / "r.json")
    rep = exc.value.report
    assert len(rep.samples) == 2 and rep.bit_exact == 2 and not rep.complete
    assert "stopped after 2 of 6 samples" in str(exc.value)
    saved = (tmp_path / "r.json").read_text()
    assert '"status": "incomplete"' in saved and '"samples": 2' in saved


@pytest.mark.host
def test_firmware_from_another_model(host_fw):
    with vf.HostDevice(host_fw["other"], "pty") as dev:
        with pytest.raises(FirmwareMismatch, match="built from model sha256 000000000000"):
            validate_transport(dev.transport, "host", vf.FixtureReference(), samples=2, timeout=2,
                               expect_boot=True)
