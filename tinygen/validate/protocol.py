"""The validation protocol, host side: framing, CRC, a resynchronising decoder and a client.

Frame (both directions, little-endian; the C side is firmware/harness/tg_protocol.[ch]):

    0xA5 | cmd u8 | len u16 | payload[len] | crc16 u16

crc16 is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over cmd, len and payload. A reply's
cmd is the request's | 0x80; errors come back as ERROR; at reset the device sends one BOOT frame.

The decoder never trusts the line: a start byte inside noise opens a *candidate* frame that must
have a plausible (cmd, len) for what the client is waiting for and a good CRC; otherwise the
decoder drops that start byte and rescans, so a real frame hidden behind garbage is still found.
"""
from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from ..errors import DeviceError, DeviceTimeout, ProtocolError

PROTOCOL_VERSION = 1
START = 0xA5
HEADER = 4          # start, cmd, len u16
OVERHEAD = HEADER + 2
MAX_LEN = 0xFFFF

CMD_INFO = 0x01
CMD_INFER_FEATURES = 0x02
CMD_INFER_RAW = 0x03
CMD_ECHO = 0x04
CMD_BOOT = 0x70
CMD_ERROR = 0x7F

COMMAND_NAMES = {
    CMD_INFO: "INFO",
    CMD_INFER_FEATURES: "INFER_FEATURES",
    CMD_INFER_RAW: "INFER_RAW",
    CMD_ECHO: "ECHO",
    CMD_BOOT: "BOOT",
    CMD_ERROR: "ERROR",
}

ERR_BAD_CRC = 1
ERR_BAD_LENGTH = 2
ERR_UNKNOWN_CMD = 3
ERR_TOO_LONG = 4
ERR_INVOKE = 5
ERR_NO_FRONT_END = 6

ERROR_TEXT = {
    ERR_BAD_CRC: "the device received a frame with a bad CRC",
    ERR_BAD_LENGTH: "the device expected a payload of {detail} bytes",
    ERR_UNKNOWN_CMD: "the device does not know this command",
    ERR_TOO_LONG: "the frame exceeds the device's {detail}-byte buffer",
    ERR_INVOKE: "the model or front end returned status {detail} on the device",
    ERR_NO_FRONT_END: "the firmware has no FFT front end (build it with one to send raw samples)",
}

INFO_FORMAT = "<HH32sIIIIIIfifi"   # then u8-length-prefixed board and build-flags strings
INFO_FIXED = struct.calcsize(INFO_FORMAT)


def reply_cmd(cmd: int) -> int:
    return cmd | 0x80


def command_name(cmd: int) -> str:
    base = cmd & 0x7F if cmd & 0x80 else cmd
    name = COMMAND_NAMES.get(base, f"0x{base:02X}")
    return f"{name} reply" if cmd & 0x80 else name


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE; crc16(b"123456789") == 0x29B1."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def encode_frame(cmd: int, payload: bytes = b"") -> bytes:
    if not 0 <= cmd <= 0xFF:
        raise ValueError(f"command {cmd} out of range")
    if len(payload) > MAX_LEN:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    body = struct.pack("<BH", cmd, len(payload)) + bytes(payload)
    return bytes([START]) + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class Frame:
    cmd: int
    payload: bytes


class FrameDecoder:
    """Feed bytes, take frames. `plausible(cmd, length)` filters candidates before the CRC."""

    def __init__(self, plausible: Optional[Callable[[int, int], bool]] = None,
                 max_len: int = MAX_LEN):
        self.buf = bytearray()
        self.plausible = plausible
        self.max_len = max_len
        self.noise_bytes = 0   # bytes discarded while hunting for a frame
        self.bad_crc = 0       # candidates with a plausible header and a wrong CRC
        self.abandoned = 0     # size of the largest partial frame given up on (line went quiet)

    def feed(self, data: bytes) -> None:
        self.buf += data

    @property
    def pending(self) -> int:
        """Bytes held in a partial candidate frame."""
        return len(self.buf)

    def _drop(self, n: int) -> None:
        self.noise_bytes += n
        del self.buf[:n]

    def drop_candidate(self) -> None:
        """Give up on the partial frame at the head (the line went quiet) and rescan after it."""
        if self.buf:
            self.abandoned = max(self.abandoned, len(self.buf))
            self._drop(1)

    def frames(self) -> Iterator[Frame]:
        while True:
            start = self.buf.find(START)
            if start < 0:
                self._drop(len(self.buf))
                return
            if start:
                self._drop(start)
            if len(self.buf) < HEADER:
                return
            cmd = self.buf[1]
            length = self.buf[2] | (self.buf[3] << 8)
            if length > self.max_len or (self.plausible and not self.plausible(cmd, length)):
                self._drop(1)
                continue
            if len(self.buf) < OVERHEAD + length:
                return
            body = bytes(self.buf[1:HEADER + length])
            got = self.buf[HEADER + length] | (self.buf[HEADER + length + 1] << 8)
            if crc16(body) != got:
                self.bad_crc += 1
                self._drop(1)
                continue
            del self.buf[:OVERHEAD + length]
            yield Frame(cmd, body[3:])


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    has_front_end: bool
    model_sha256: str
    input_bytes: int
    output_bytes: int
    arena_bytes: int
    raw_samples: int
    max_payload: int
    cpu_hz: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    board: str
    build_flags: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def parse_info(payload: bytes) -> DeviceInfo:
    if len(payload) < INFO_FIXED + 2:
        raise ProtocolError(f"INFO reply too short ({len(payload)} bytes); is this tinygen firmware?")
    (version, flags, sha, in_b, out_b, arena, raw, max_payload, hz,
     in_scale, in_zp, out_scale, out_zp) = struct.unpack_from(INFO_FORMAT, payload)
    pos = INFO_FIXED
    strings = []
    for _ in range(2):
        if pos >= len(payload) or pos + 1 + payload[pos] > len(payload):
            raise ProtocolError("INFO reply has truncated strings; is this tinygen firmware?")
        n = payload[pos]
        strings.append(payload[pos + 1:pos + 1 + n].decode("utf-8", "replace"))
        pos += 1 + n
    return DeviceInfo(version, bool(flags & 1), sha.hex(), in_b, out_b, arena, raw, max_payload,
                      hz, in_scale, in_zp, out_scale, out_zp, strings[0], strings[1])


@dataclass(frozen=True)
class FeaturesReply:
    output: bytes
    net_cycles: int


@dataclass(frozen=True)
class RawReply:
    features: bytes
    output: bytes
    fe_cycles: int
    net_cycles: int


class DeviceReset(DeviceError):
    """The device sent a BOOT frame while a reply was awaited (it reset or crashed)."""


class Client:
    """Request/reply over a Transport (tinygen.validate.transport). Every call has a deadline."""

    def __init__(self, transport, timeout: float = 5.0, quiet: float = 0.5):
        self.t = transport
        self.timeout = timeout
        self.quiet = quiet              # a partial candidate that stays incomplete this long is dropped
        self.info: Optional[DeviceInfo] = None
        self.boots_seen = 0

    # -- plumbing ---------------------------------------------------------------------------
    def _plausible_for(self, cmd: int, sizes: Optional[set[int]]) -> Callable[[int, int], bool]:
        want = reply_cmd(cmd)

        def plausible(c: int, n: int) -> bool:
            if c == CMD_ERROR:
                return n == 8
            if c == CMD_BOOT:
                return n == 2
            if c == want:
                return sizes is None or n in sizes
            return False
        return plausible

    def request(self, cmd: int, payload: bytes = b"", sizes: Optional[set[int]] = None,
                timeout: Optional[float] = None) -> Frame:
        """Send one frame and wait for its reply; raises DeviceTimeout, ProtocolError, DeviceReset."""
        timeout = self.timeout if timeout is None else timeout
        name = command_name(cmd)
        dec = FrameDecoder(self._plausible_for(cmd, sizes))
        self.t.write(encode_frame(cmd, payload))
        start = time.monotonic()
        deadline = start + timeout
        crc_deadline = None
        last_data = start
        while True:
            for frame in dec.frames():
                if frame.cmd == CMD_BOOT:
                    self.boots_seen += 1
                    raise DeviceReset(f"the device on {self.t.name} reset while answering {name} "
                                      "(it sent a boot frame); check power, stack size and watchdog")
                if frame.cmd == CMD_ERROR:
                    raise ProtocolError(_error_message(frame.payload, name, self.t.name))
                return frame
            if dec.bad_crc and crc_deadline is None:
                crc_deadline = time.monotonic() + min(self.quiet, timeout)
            now = time.monotonic()
            if crc_deadline is not None and now >= crc_deadline:
                raise ProtocolError(f"the reply to {name} from {self.t.name} failed its CRC check "
                                    f"({dec.bad_crc} bad frame(s)); check the baud rate and cable")
            if now >= deadline:
                partial = max(dec.pending, dec.abandoned)
                if partial:
                    raise DeviceTimeout(f"truncated reply to {name} from {self.t.name}: "
                                        f"{partial} bytes of a frame, then silence "
                                        f"(timeout {timeout:g} s)")
                extra = f"; {dec.noise_bytes} bytes of noise seen" if dec.noise_bytes else ""
                raise DeviceTimeout(f"no reply to {name} from {self.t.name} within {timeout:g} s"
                                    f"{extra}; is the firmware flashed and the port right?")
            limit = deadline if crc_deadline is None else min(deadline, crc_deadline)
            data = self.t.read(min(limit, now + 0.05))
            if data:
                last_data = time.monotonic()
                dec.feed(data)
            elif dec.pending and time.monotonic() - last_data > self.quiet:
                # A start byte in noise claimed a longer frame than ever came: rescan after it.
                dec.drop_candidate()

    def sync(self, timeout: Optional[float] = None) -> None:
        """Bring the link to a known state: drain, then ECHO a nonce; if the device is stuck in a
        partial frame, push filler so it completes (and is rejected), then ECHO again. A boot
        frame (a board that resets when its port is opened) is tolerated here."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self.t.drain(0.05)
        last: Optional[Exception] = None
        for attempt in range(3):
            remaining = deadline - time.monotonic()
            if attempt and remaining <= 0:
                break
            if attempt == 1:
                # Up to one maximal frame of filler ends whatever partial frame the device holds.
                max_payload = self.info.max_payload if self.info else 4096
                self.t.write(bytes(max_payload + OVERHEAD))
                self.t.drain(min(0.5, max(0.05, remaining / 4)))
            nonce = os.urandom(8)
            per_try = max(0.2, min(2.0, timeout / 2) if attempt == 0 else deadline - time.monotonic())
            try:
                frame = self.request(CMD_ECHO, nonce, {8}, timeout=per_try)
            except (DeviceTimeout, ProtocolError, DeviceReset) as exc:
                last = exc
                continue
            if frame.payload == nonce:
                return
            last = ProtocolError(f"echo from {self.t.name} came back altered; the line corrupts data")
        if isinstance(last, DeviceTimeout):
            raise DeviceTimeout(f"no answer from {self.t.name} within {timeout:g} s; is the tinygen "
                                "firmware flashed, the port and baud right, the board powered?")
        raise last if last is not None else DeviceTimeout(f"no answer from {self.t.name}")

    # -- commands ---------------------------------------------------------------------------
    def get_info(self, timeout: Optional[float] = None) -> DeviceInfo:
        frame = self.request(CMD_INFO, b"", None, timeout)
        self.info = parse_info(frame.payload)
        if self.info.protocol_version != PROTOCOL_VERSION:
            raise ProtocolError(f"device speaks protocol version {self.info.protocol_version}, "
                                f"this tinygen speaks {PROTOCOL_VERSION}; rebuild the firmware")
        return self.info

    def _need_info(self) -> DeviceInfo:
        return self.info if self.info is not None else self.get_info()

    def _fits(self, info: DeviceInfo, n: int, what: str) -> None:
        if n > info.max_payload:
            raise ProtocolError(f"a {what} of {n} bytes exceeds the firmware's {info.max_payload}-byte "
                                f"frame buffer; rebuild it with -DTG_PROTO_MAX_PAYLOAD={n + 8}")

    def infer_features(self, features: bytes, timeout: Optional[float] = None) -> FeaturesReply:
        info = self._need_info()
        self._fits(info, max(len(features), 4 + info.output_bytes), "feature vector or reply")
        frame = self.request(CMD_INFER_FEATURES, bytes(features), {4 + info.output_bytes}, timeout)
        (cycles,) = struct.unpack_from("<I", frame.payload)
        return FeaturesReply(frame.payload[4:], cycles)

    def infer_raw(self, samples, timeout: Optional[float] = None) -> RawReply:
        import numpy as np

        info = self._need_info()
        data = np.asarray(samples, dtype="<i2").tobytes()
        size = 8 + info.input_bytes + info.output_bytes
        self._fits(info, max(len(data), size), "raw window or reply")
        frame = self.request(CMD_INFER_RAW, data, {size}, timeout)
        fe, net = struct.unpack_from("<II", frame.payload)
        feats = frame.payload[8:8 + info.input_bytes]
        return RawReply(feats, frame.payload[8 + info.input_bytes:], fe, net)

    def echo(self, payload: bytes, timeout: Optional[float] = None) -> bytes:
        return self.request(CMD_ECHO, payload, {len(payload)}, timeout).payload

    def connect(self, expect_boot: bool = False, boot_timeout: float = 5.0) -> DeviceInfo:
        """Start a session: swallow the BOOT frame of a device that just started (an emulator
        always does; a real board may already be running), sync the link, read INFO."""
        if expect_boot:
            if not self.wait_boot(boot_timeout):
                raise DeviceTimeout(f"no boot frame from {self.t.name} within {boot_timeout:g} s; "
                                    "the firmware did not start (wrong ELF for this machine?)")
        else:
            self.t.drain(0.2)
        self.sync()
        return self.get_info()

    def wait_boot(self, timeout: float) -> bool:
        """Wait for the BOOT frame a freshly reset device sends; False if none came in time."""
        dec = FrameDecoder(lambda c, n: c == CMD_BOOT and n == 2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.t.read(min(deadline, time.monotonic() + 0.05))
            if data:
                dec.feed(data)
                for _ in dec.frames():
                    self.boots_seen += 1
                    return True
        return False


def _error_message(payload: bytes, name: str, port: str) -> str:
    if len(payload) != 8:
        return f"malformed error reply to {name} from {port}"
    code, cmd, _, detail = struct.unpack("<BBHI", payload)
    text = ERROR_TEXT.get(code, f"unknown error code {code}").format(detail=detail)
    return f"{port} rejected {name}: {text}"
