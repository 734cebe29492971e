"""The validation protocol, host side: a client that sends frames and waits for their replies.

The wire format (framing, CRC, commands, the INFO block, tensor packing) is tinygen.wire; the
firmware side is firmware/harness/tg_protocol.[ch]. Every call has a deadline; a device that
answers with garbage, a bad CRC, a truncated frame, nothing, or a reset ends in one clear line.
"""
from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..errors import DeviceError, DeviceTimeout, ProtocolError
from ..wire import (CMD_BOOT, CMD_CLEAR, CMD_ECHO, CMD_ERROR, CMD_HANG, CMD_INFER,
                    CMD_INFER_RAW, CMD_INFO, CMD_INTEGRITY, CMD_STATS, ERR_BAD_CRC, ERROR_TEXT,
                    OVERHEAD,
                    DeviceInfo, DeviceStats, Frame, FrameDecoder, IntegrityReply, command_name,
                    encode_frame, parse_info, parse_integrity, parse_stats, reply_cmd, split)


@dataclass(frozen=True)
class InferReply:
    outputs: list[np.ndarray]      # one array per model output, in its wire dtype
    net_cycles: int


@dataclass(frozen=True)
class RawReply:
    features: np.ndarray           # int8: what the front end computed (the network's input)
    outputs: list[np.ndarray]
    fe_cycles: int
    net_cycles: int


class DeviceReset(DeviceError):
    """The device sent a BOOT frame while a reply was awaited (it reset or crashed)."""


class DeviceRefused(ProtocolError):
    """The device answered with an ERROR frame: `code` (tinygen.wire.ERR_*) and its detail word
    say why (safe mode, constants that failed their check, an unknown command, ...)."""

    def __init__(self, message: str, code: int, detail: int):
        super().__init__(message)
        self.code = code
        self.detail = detail


class LineError(ProtocolError):
    """A frame failed its CRC on the way to the device (the device says so) or back: the line
    lost or changed bytes. The request itself may be sent again."""


class Client:
    """Request/reply over a tinygen.transport.Transport. Every call has a deadline."""

    def __init__(self, transport, timeout: float = 5.0, quiet: float = 0.5,
                 byte_time: float = 0.0):
        self.t = transport
        self.timeout = timeout
        self.byte_time = byte_time      # seconds per byte on the line: big frames take longer
        self.quiet = quiet              # a partial candidate that stays incomplete this long is dropped
        self.info: Optional[DeviceInfo] = None
        self.boots_seen = 0

    # -- plumbing ---------------------------------------------------------------------------
    @staticmethod
    def _plausible_for(cmd: int, sizes: Optional[set[int]]) -> Callable[[int, int], bool]:
        want = reply_cmd(cmd)

        def plausible(c: int, n: int) -> bool:
            if c == CMD_ERROR:
                return n == 8
            if c == CMD_BOOT:
                return n == 2
            return c == want and (sizes is None or n in sizes)
        return plausible

    def request(self, cmd: int, payload: bytes = b"", sizes: Optional[set[int]] = None,
                timeout: Optional[float] = None) -> Frame:
        """Send one frame and wait for its reply; raises DeviceTimeout, ProtocolError, DeviceReset."""
        timeout = self.timeout if timeout is None else timeout
        timeout += (len(payload) + max(sizes or {0})) * self.byte_time
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
                    code, detail = _error_code(frame.payload)
                    message = _error_message(frame.payload, name, self.t.name)
                    if code == ERR_BAD_CRC:
                        raise LineError(message)
                    raise DeviceRefused(message, code, detail)
                return frame
            if dec.bad_crc and crc_deadline is None:
                crc_deadline = time.monotonic() + min(self.quiet, timeout)
            now = time.monotonic()
            if crc_deadline is not None and now >= crc_deadline:
                raise LineError(f"the reply to {name} from {self.t.name} failed its CRC check "
                                    f"({dec.bad_crc} bad frame(s)); check the baud rate and cable")
            if now >= deadline:
                raise _silence(dec, name, self.t.name, timeout)
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
        self.info = parse_info(self.request(CMD_INFO, b"", None, timeout).payload)
        return self.info

    def _need_info(self) -> DeviceInfo:
        return self.info if self.info is not None else self.get_info()

    @staticmethod
    def _fits(info: DeviceInfo, n: int, what: str) -> None:
        if n > info.max_payload:
            raise ProtocolError(f"a {what} of {n} bytes exceeds the firmware's {info.max_payload}-"
                                f"byte frame buffer; regenerate its project with this tinygen")

    def infer(self, inputs: bytes, timeout: Optional[float] = None) -> InferReply:
        """Packed input bytes (tinygen.wire.pack) -> the outputs and the network's cycles."""
        info = self._need_info()
        size = 4 + info.output_bytes
        self._fits(info, max(len(inputs), size), "request or reply")
        frame = self.request(CMD_INFER, bytes(inputs), {size}, timeout)
        (cycles,) = struct.unpack_from("<I", frame.payload)
        return InferReply(split(frame.payload[4:], info.outputs), cycles)

    def infer_raw(self, samples, timeout: Optional[float] = None) -> RawReply:
        info = self._need_info()
        data = np.asarray(samples, dtype="<i2").tobytes()
        feats = info.inputs[0].nbytes
        size = 8 + feats + info.output_bytes
        self._fits(info, max(len(data), size), "raw window or reply")
        frame = self.request(CMD_INFER_RAW, data, {size}, timeout)
        fe, net = struct.unpack_from("<II", frame.payload)
        features = np.frombuffer(frame.payload[8:8 + feats], dtype=np.int8).copy()
        return RawReply(features, split(frame.payload[8 + feats:], info.outputs), fe, net)

    def echo(self, payload: bytes, timeout: Optional[float] = None) -> bytes:
        return self.request(CMD_ECHO, payload, {len(payload)}, timeout).payload

    # -- field-ready commands (tinygen.wire) ----------------------------------------------
    def integrity(self, timeout: Optional[float] = None) -> IntegrityReply:
        """The constants' digests, recomputed by the device now (a big model takes a while)."""
        return parse_integrity(self.request(CMD_INTEGRITY, b"", None, timeout).payload)

    def stats(self, reset: bool = False, timeout: Optional[float] = None) -> DeviceStats:
        """The drift statistics; with `reset`, the device starts them afresh after this read."""
        return parse_stats(self.request(CMD_STATS, bytes([1 if reset else 0]), None,
                                        timeout).payload)

    def clear(self, timeout: Optional[float] = None) -> int:
        """Forget the watchdog resets and leave safe mode; the device's health afterwards."""
        return self.request(CMD_CLEAR, b"", {1}, timeout).payload[0]

    def hang(self) -> None:
        """Twin builds only: the device spins without feeding its watchdog (no reply comes)."""
        self.t.write(encode_frame(CMD_HANG))

    def connect(self, timeout: Optional[float] = None) -> DeviceInfo:
        """Start a session: drop whatever the device said so far (a BOOT frame from a device that
        just started), sync the link, read INFO."""
        self.t.drain(0.2)
        self.sync(timeout)
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


def _silence(dec: FrameDecoder, name: str, port: str, timeout: float) -> DeviceTimeout:
    partial = max(dec.pending, dec.abandoned)
    if partial:
        return DeviceTimeout(f"truncated reply to {name} from {port}: {partial} bytes of a "
                             f"frame, then silence (timeout {timeout:g} s)")
    extra = f"; {dec.noise_bytes} bytes of noise seen" if dec.noise_bytes else ""
    return DeviceTimeout(f"no reply to {name} from {port} within {timeout:g} s{extra}; is the "
                         "firmware flashed and the port right?")


def _error_code(payload: bytes) -> tuple[int, int]:
    """(code, detail) of an ERROR frame's payload; (0, 0) when it is malformed."""
    if len(payload) != 8:
        return 0, 0
    code, _cmd, _, detail = struct.unpack("<BBHI", payload)
    return code, detail


def _error_message(payload: bytes, name: str, port: str) -> str:
    if len(payload) != 8:
        return f"malformed error reply to {name} from {port}"
    code, _cmd, _, detail = struct.unpack("<BBHI", payload)
    text = ERROR_TEXT.get(code, f"unknown error code {code}").format(detail=detail)
    return f"{port} rejected {name}: {text}"

