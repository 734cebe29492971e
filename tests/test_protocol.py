"""The validation protocol: framing, CRC and the INFO block in Python, and the C side compiled for
the host and driven through a real pty (pyserial on /dev/pts/N) or a TCP socket (socket://):
single int8 I/O with a front end, and three typed inputs/outputs of odd sizes (spread and
gathered around alignment)."""
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

from tinygen import wire as P  # noqa: E402
from tinygen.errors import DeviceTimeout, FirmwareMismatch, ProtocolError  # noqa: E402
from tinygen.transport import Transport  # noqa: E402
from tinygen.validate import validate  # noqa: E402
from tinygen.validate.protocol import Client, DeviceReset  # noqa: E402
from tinygen.wire import FrameDecoder, TensorInfo  # noqa: E402

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


def _info(version=P.PROTOCOL_VERSION, tensors=(TensorInfo("int8", 16, 0.5, -3),
                                                TensorInfo("float32", 3, 0.0, 0))) -> bytes:
    head = struct.pack(P.INFO_HEAD, version, P.FLAG_FRONT_END | P.FLAG_TWIN, bytes(range(32)),
                       64, 64, 4096, 25_000_000, 1, len(tensors) - 1, 0)
    return head + b"".join(t.pack() for t in tensors) + b"\x07stm32h7\x0amps2-an500\x03-O2"


def test_info_parse_round_trip():
    info = P.parse_info(_info())
    assert (info.board, info.twin, info.build_flags) == ("stm32h7", "mps2-an500", "-O2")
    assert info.model_sha256 == bytes(range(32)).hex() and info.has_front_end and info.twin_build
    assert info.inputs == (TensorInfo("int8", 16, 0.5, -3),)
    assert info.outputs == (TensorInfo("float32", 3, 0.0, 0),)
    assert (info.input_bytes, info.output_bytes) == (16, 12)
    with pytest.raises(ProtocolError, match="truncated"):
        P.parse_info(_info()[:60])
    with pytest.raises(ProtocolError, match="protocol version 1, this tinygen speaks 2"):
        P.parse_info(_info(version=1))
    bad = bytearray(_info())
    bad[P.INFO_HEAD_BYTES] = 42                     # no such TFLite type code
    with pytest.raises(ProtocolError, match="unknown tensor type code 42"):
        P.parse_info(bytes(bad))


def test_tensors_pack_and_split_in_model_order():
    tensors = MultiRef.inputs
    arrays = [np.arange(-2, 3, dtype=np.int8), np.array([0.5, -1.25, 3e9], np.float32),
              np.array([-32768, -1, 0, 32767], np.int16)]
    data = P.pack(arrays, tensors)
    assert len(data) == 5 + 12 + 8 and data[5:9] == np.float32(0.5).tobytes()
    assert all((a == b).all() for a, b in zip(P.split(data, tensors), arrays))
    with pytest.raises(ProtocolError, match="input 1 takes 3 float32 values, got 3 float64"):
        P.pack([arrays[0], arrays[1].astype(np.float64), arrays[2]], tensors)
    # the firmware's frame buffer holds the tensors spread to 8-byte boundaries
    assert P.frame_buffer_bytes([5, 12, 8], [8, 3, 8]) == 4096
    assert P.frame_buffer_bytes([5001, 3], [9]) == 5024     # 5008 + 8 spread, in 16-byte steps
    with pytest.raises(ProtocolError, match="65,535 bytes a frame"):
        P.frame_buffer_bytes([70_000], [4])


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
        "multi": vf.build_host_fixture(d / "multi", multi_io=True),
    }


MultiRef = vf.MultiReference


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
    with vf.HostDevice(host_fw["ok"], kind) as line:
        dev = line.device()
        rep = validate(dev, vf.FixtureReference(), samples=8)
        assert rep.ok and rep.bit_exact == 8 and rep.differing_bytes == 0
        assert rep.samples[0].mode == "raw"
        x = np.arange(-8, 8, dtype=np.int8)
        assert dev.infer([x]).outputs[0].tobytes() == vf.network(x).tobytes()
        assert dev.client.echo(b"\xa5\x00\xa5") == b"\xa5\x00\xa5"


@pytest.mark.host
@pytest.mark.parametrize("kind", ["pty", "socket"])
def test_typed_multi_io_bit_exact(host_fw, kind):
    """Three inputs (int8[5], float32[3], int16[4]) and outputs (int32, uint8, float32): packed
    on the wire, spread to aligned places on the device, packed back."""
    with vf.HostDevice(host_fw["multi"], kind) as line:
        dev = line.device()
        assert [t.dtype for t in dev.info.inputs] == ["int8", "float32", "int16"]
        assert [t.dtype for t in dev.info.outputs] == ["int32", "uint8", "float32"]
        assert not dev.info.has_front_end and dev.info.outputs[1].zero_point == 128
        rep = validate(dev, MultiRef(), samples=12)
        assert rep.ok and rep.bit_exact == 12 and rep.differing_bytes == 0, rep.table()
        x = [np.array([127, -128, 1, 2, 3], np.int8), np.array([1.5, -2.25, 7.0], np.float32),
             np.array([-32768, 32767, 10, -10], np.int16)]
        got = dev.infer(x).outputs
        assert [g.tobytes() for g in got] == [e.tobytes() for e in vf.multi(*x)]
        assert got[0].dtype == np.int32 and got[2].dtype == np.float32


@pytest.mark.host
def test_device_error_replies(host_fw):
    with vf.HostDevice(host_fw["ok"], "pty") as line:
        c = line.device().client
        with pytest.raises(ProtocolError, match="expected a payload of 16 bytes"):
            c.request(P.CMD_INFER, bytes(3))
        with pytest.raises(ProtocolError, match="does not know this command"):
            c.request(0x33, b"")
        with pytest.raises(ProtocolError, match="exceeds the device's 4096-byte buffer"):
            line.transport.write(bytes([P.START, 0x02, 0xFF, 0xFF]))
            c.request(P.CMD_ECHO, b"x", timeout=1)
        c.sync()  # the echo of "x" is still on the line: clear it
        # a frame with a bad CRC: the device says so
        bad = bytearray(P.encode_frame(P.CMD_ECHO, b"hello"))
        bad[-1] ^= 0xFF
        line.transport.write(bytes(bad))
        with pytest.raises(ProtocolError, match="bad CRC"):
            c.request(P.CMD_ECHO, b"again!", timeout=1)
        c.sync()
        assert c.echo(b"alive") == b"alive"


@pytest.mark.host
def test_raw_request_to_firmware_without_front_end(host_fw):
    with vf.HostDevice(host_fw["multi"], "pty") as line:
        c = line.device().client
        with pytest.raises(ProtocolError, match="has no FFT front end"):
            c.request(P.CMD_INFER_RAW, bytes(128))


@pytest.mark.host
def test_truncated_frame_then_recovery(host_fw):
    with vf.HostDevice(host_fw["ok"], "pty") as line:
        dev = line.device(timeout=1)
        # half a frame: the device waits for the rest; our next request completes it (badly)
        line.transport.write(P.encode_frame(P.CMD_INFER, bytes(16))[:9])
        start = time.monotonic()
        with pytest.raises((ProtocolError, DeviceTimeout)):
            dev.infer([np.zeros(16, np.int8)])
        assert time.monotonic() - start < 3.5
        dev.client.sync()
        assert dev.infer([np.zeros(16, np.int8)]).outputs[0].tobytes() == \
            vf.network(np.zeros(16)).tobytes()


@pytest.mark.host
def test_garbage_on_the_line_is_skipped(host_fw):
    rng = np.random.default_rng(7)
    with vf.HostDevice(host_fw["ok"], "socket") as line:
        dev = line.device()
        for i in range(5):
            noise = bytes(b for b in rng.bytes(200) if b != P.START)  # no start byte: pure noise
            line.transport.write(noise)
            x = rng.integers(-128, 128, 16).astype(np.int8)
            assert dev.infer([x]).outputs[0].tobytes() == vf.network(x).tobytes()


@pytest.mark.host
def test_device_that_never_answers(host_fw):
    with vf.HostDevice(host_fw["mute"], "pty") as line:
        start = time.monotonic()
        with pytest.raises(DeviceTimeout) as exc:
            line.device(timeout=0.5)
        assert time.monotonic() - start < 6
        assert "\n" not in str(exc.value)


@pytest.mark.host
def test_device_reset_mid_run_keeps_partial_results(host_fw, tmp_path):
    with vf.HostDevice(host_fw["reset"], "socket") as line:
        with pytest.raises(DeviceReset, match="reset while answering") as exc:
            validate(line.device(), vf.FixtureReference(), samples=6, mode="features",
                     report_path=tmp_path / "r.json")
    rep = exc.value.report
    assert len(rep.samples) == 2 and rep.bit_exact == 2 and not rep.complete
    assert "stopped after 2 of 6 samples" in str(exc.value)
    saved = (tmp_path / "r.json").read_text()
    assert '"status": "incomplete"' in saved and '"samples": 2' in saved


@pytest.mark.host
def test_firmware_from_another_model(host_fw):
    with vf.HostDevice(host_fw["other"], "pty") as line:
        with pytest.raises(FirmwareMismatch, match="built from model sha256 000000000000"):
            validate(line.device(), vf.FixtureReference(), samples=2)


@pytest.mark.host
def test_firmware_for_another_board_or_kind(host_fw):
    """INFO names the board (and twin) the firmware was built for; validate refuses others."""
    from tinygen.boards import get_board

    with vf.HostDevice(host_fw["ok"], "pty") as line:
        with pytest.raises(FirmwareMismatch, match="built for stm32h7, not stm32f4; pass "
                           "--board stm32h7") as exc:
            validate(line.device(get_board("stm32f4")), vf.FixtureReference(), samples=2)
        assert exc.value.report.samples == [] and "\n" not in str(exc.value)
        dev = line.device()
        dev.emulated = True                          # the twin expects a twin build
        with pytest.raises(FirmwareMismatch, match="build for the real board"):
            dev.check(vf.FixtureReference())
