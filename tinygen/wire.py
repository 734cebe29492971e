"""The serial protocol's wire format: what the firmware (firmware/harness/tg_protocol.[ch]) and the
host (tinygen.validate.protocol) exchange, and the sizes the project generator gives the firmware.

Frame (both directions, little-endian):

    0xA5 | cmd u8 | len u16 | payload[len] | crc16 u16

crc16 is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over cmd, len and payload. A reply's cmd
is the request's | 0x80; errors come back as ERROR; at reset the device sends one BOOT frame.

Commands (protocol version 2: typed, multi-tensor I/O; every inference starts from the model's
initial state, as TFLite-Micro does after reset()):

    INFO       ()                        -> info block (below)
    INFER      inputs, packed            -> u32 net_cycles, outputs, packed
    INFER_RAW  int16[raw_samples]        -> u32 fe_cycles, u32 net_cycles, int8 features, outputs
    ECHO       any                       -> the same bytes
    BOOT       (device -> host at reset) u16 protocol version
    ERROR      u8 code, u8 cmd, u16 0, u32 detail

Field-ready commands (firmware/harness/tg_field.c; a firmware built without a part answers
ERROR NOT_BUILT, one without the field layer ERROR UNKNOWN_CMD):

    INTEGRITY  ()                        -> the constants' digests, recomputed now (INTEGRITY_HEAD)
    STATS      u8 flags (bit0: reset)    -> drift statistics (STATS_HEAD, tg_stats.h)
    CLEAR      ()                        -> u8 health: watchdog resets forgotten, safe mode left
    HANG       ()                        -> never answers, never feeds the watchdog (twin builds)

"Packed" is every tensor's raw little-endian bytes, concatenated in model order with no padding.
The firmware moves them to TENSOR_ALIGN-aligned places in its frame buffer before it runs the
model (and packs the outputs back), so the buffer needs that slack: `frame_buffer_bytes`.

INFO block: u16 version, u16 flags (bit0 front end, bit1 built for an emulated twin), u8[32] model
SHA-256, u32 arena bytes, u32 raw samples per window (0: no front end), u32 frame buffer bytes,
u32 cpu Hz, u8 inputs, u8 outputs, u16 0; then per input, then per output, 16 bytes: u8 dtype
(TFLite's TensorType code), u8 0, u16 0, u32 element count, f32 scale, i32 zero point; then three
u8-length-prefixed strings: the board id, the twin's id ("" on hardware), the build flags; then
the field block (FIELD_INFO, all zeros without a field layer): u8 health (0 ready, 1 constants
failed their check, 2 safe mode), u8 integrity algorithm (0 off, 1 CRC-32, 2 SHA-256), u8 flags
(bit0 watchdog armed, bit1 drift statistics, bit2 test hooks), u8 watchdog resets in a row, u32
watchdog bound in ms, u32 boots since the reset record was made. Firmware older than the field
block ends after the strings.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from .errors import ProtocolError

PROTOCOL_VERSION = 2
START = 0xA5
HEADER = 4          # start, cmd, len u16
OVERHEAD = HEADER + 2
MAX_LEN = 0xFFFF

CMD_INFO = 0x01
CMD_INFER = 0x02
CMD_INFER_RAW = 0x03
CMD_ECHO = 0x04
CMD_INTEGRITY = 0x10
CMD_STATS = 0x11
CMD_CLEAR = 0x12
CMD_HANG = 0x1F
CMD_BOOT = 0x70
CMD_ERROR = 0x7F

COMMAND_NAMES = {CMD_INFO: "INFO", CMD_INFER: "INFER", CMD_INFER_RAW: "INFER_RAW",
                 CMD_ECHO: "ECHO", CMD_BOOT: "BOOT", CMD_ERROR: "ERROR",
                 CMD_INTEGRITY: "INTEGRITY", CMD_STATS: "STATS", CMD_CLEAR: "CLEAR",
                 CMD_HANG: "HANG"}

ERR_BAD_CRC = 1
ERR_BAD_LENGTH = 2
ERR_UNKNOWN_CMD = 3
ERR_TOO_LONG = 4
ERR_INVOKE = 5
ERR_NO_FRONT_END = 6
ERR_INTEGRITY = 16
ERR_SAFE_MODE = 17
ERR_NOT_BUILT = 18

ERROR_TEXT = {
    ERR_BAD_CRC: "the device received a frame with a bad CRC",
    ERR_BAD_LENGTH: "the device expected a payload of {detail} bytes",
    ERR_UNKNOWN_CMD: "the device does not know this command",
    ERR_TOO_LONG: "the frame exceeds the device's {detail}-byte buffer",
    ERR_INVOKE: "the model or front end returned status {detail} on the device",
    ERR_NO_FRONT_END: "the firmware has no FFT front end (build it with one to send raw samples)",
    ERR_INTEGRITY: "the constants in the device's flash failed their integrity check (digest "
                   "{detail:08x}...); the device refuses to infer: reflash the firmware",
    ERR_SAFE_MODE: "the device is in safe mode after {detail} watchdog resets in a row and refuses "
                   "to infer; find the hang, then clear it (tinygen monitor --clear) or power-cycle it",
    ERR_NOT_BUILT: "the firmware was built without this feature",
}

FLAG_FRONT_END = 1
FLAG_TWIN = 2
TENSOR_ALIGN = 8            # TG_TENSOR_ALIGN in tg_protocol.h
MAX_TENSORS = 16            # TG_MAX_TENSORS
MAX_STRING = 64             # TG_INFO_MAX_STRING
DEFAULT_FRAME_BUFFER = 4096  # TG_PROTO_MAX_PAYLOAD's default

INFO_HEAD = "<HH32sIIIIBBH"
INFO_TENSOR = "<BBHIfi"
INFO_HEAD_BYTES = struct.calcsize(INFO_HEAD)
INFO_TENSOR_BYTES = struct.calcsize(INFO_TENSOR)
FIELD_INFO = "<BBBBII"                  # TG_FIELD_INFO_BYTES in tg_field.h
FIELD_INFO_BYTES = struct.calcsize(FIELD_INFO)
HEALTH = {0: "ready", 1: "integrity", 2: "safe mode"}
INTEGRITY_NAMES = {0: "off", 1: "crc32", 2: "sha256"}
INTEGRITY_HEAD = "<BBBB"                # algorithm, all sets agree, sets, digest bytes L
INTEGRITY_SET = "<BBHII"                # id, agrees, 0, arrays, bytes; then L expected, L computed
STATS_HEAD = "<HHIIIii"                 # TG_STATS_HEAD_BYTES in tg_stats.h
STATS_HEAD_BYTES = struct.calcsize(STATS_HEAD)


@dataclass(frozen=True)
class WireType:
    code: int                    # TFLite's TensorType enum value
    numpy: str                   # little-endian numpy dtype
    ctype: str

    @property
    def size(self) -> int:
        return np.dtype(self.numpy).itemsize


# The element types the protocol carries, by numpy dtype name (tinygen.ir.Tensor.dtype).
DTYPES: dict[str, WireType] = {
    "int8": WireType(9, "i1", "int8_t"),
    "uint8": WireType(3, "u1", "uint8_t"),
    "int16": WireType(7, "<i2", "int16_t"),
    "int32": WireType(2, "<i4", "int32_t"),
    "int64": WireType(4, "<i8", "int64_t"),
    "float32": WireType(0, "<f4", "float"),
}
_BY_CODE = {t.code: name for name, t in DTYPES.items()}


def wire_type(dtype: str) -> WireType:
    if dtype not in DTYPES:
        raise ProtocolError(f"tensors of type {dtype} cannot cross the serial protocol; it "
                            f"carries {', '.join(DTYPES)}")
    return DTYPES[dtype]


def align(n: int) -> int:
    return -(-n // TENSOR_ALIGN) * TENSOR_ALIGN


def info_bytes(n_tensors: int) -> int:
    return INFO_HEAD_BYTES + n_tensors * INFO_TENSOR_BYTES + 3 * (1 + MAX_STRING) + FIELD_INFO_BYTES


def stats_reply_bytes(features: int, classes: int) -> int:
    """TG_STATS_BYTES: the STATS reply (and the statistics' RAM) for this many features and
    classes."""
    return STATS_HEAD_BYTES + 8 * features + 4 * classes


def frame_buffer_bytes(inputs: Sequence[int], outputs: Sequence[int], raw_samples: int = 0,
                       replies: int = 0) -> int:
    """The firmware's frame buffer (TG_PROTO_MAX_PAYLOAD) for tensors of these byte sizes: room
    for every request and reply, with the inputs and outputs spread to aligned places; `replies`:
    the largest other reply (STATS)."""
    out = sum(align(n) for n in outputs)
    # INFER: inputs spread in the receive buffer; outputs placed from offset 8 of the send buffer.
    # INFER_RAW: int16 samples; features at 8 of the send buffer, then the outputs.
    need = [sum(align(n) for n in inputs), 8 + out, info_bytes(len(inputs) + len(outputs)), replies]
    if raw_samples:
        need += [2 * raw_samples, 8 + align(inputs[0]) + out]
    size = max(DEFAULT_FRAME_BUFFER, -(-max(need) // 16) * 16)
    if size > MAX_LEN:
        raise ProtocolError(f"the model's tensors need {size:,}-byte frames; the serial protocol "
                            f"carries at most {MAX_LEN:,} bytes a frame")
    return size


# ---- frames ------------------------------------------------------------------------------------

def reply_cmd(cmd: int) -> int:
    return cmd | 0x80


def command_name(cmd: int) -> str:
    base = cmd & 0x7F
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
    """Feed bytes, take frames. `plausible(cmd, length)` filters candidates before the CRC.

    The line is never trusted: a start byte inside noise opens a *candidate* frame that must
    have a plausible (cmd, len) for what the client waits for and a good CRC; otherwise the
    decoder drops that start byte and rescans, so a real frame hidden behind garbage is found."""

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


# ---- INFO --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorInfo:
    dtype: str                   # numpy dtype name
    count: int                   # elements
    scale: float
    zero_point: int

    @property
    def nbytes(self) -> int:
        return self.count * DTYPES[self.dtype].size

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(DTYPES[self.dtype].numpy)

    def pack(self) -> bytes:
        return struct.pack(INFO_TENSOR, DTYPES[self.dtype].code, 0, 0, self.count, self.scale,
                           self.zero_point)


@dataclass(frozen=True)
class FieldInfo:
    """INFO's field block: the device's health and what its field-ready layer was built with."""

    health: str                  # "ready", "integrity", "safe mode"
    integrity: str               # "off", "crc32", "sha256"
    watchdog_ms: int             # 0: no watchdog armed
    resets_in_row: int           # watchdog resets since the last completed inference
    boots: int                   # resets since the reset record was made (power-on)
    stats: bool
    test_hooks: bool

    @property
    def ready(self) -> bool:
        return self.health == "ready"


NO_FIELD = FieldInfo("ready", "off", 0, 0, 0, False, False)


def parse_field_info(block: bytes) -> FieldInfo:
    health, algo, flags, resets, ms, boots = struct.unpack(FIELD_INFO, block)
    return FieldInfo(HEALTH.get(health, f"unknown ({health})"),
                     INTEGRITY_NAMES.get(algo, f"unknown ({algo})"), ms, resets, boots,
                     bool(flags & 2), bool(flags & 4))


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    has_front_end: bool
    twin_build: bool
    model_sha256: str
    arena_bytes: int
    raw_samples: int
    max_payload: int
    cpu_hz: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    board: str
    twin: str
    build_flags: str
    field: FieldInfo = NO_FIELD

    @property
    def input_bytes(self) -> int:
        return sum(t.nbytes for t in self.inputs)

    @property
    def output_bytes(self) -> int:
        return sum(t.nbytes for t in self.outputs)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["inputs"] = [t.__dict__ for t in self.inputs]
        d["outputs"] = [t.__dict__ for t in self.outputs]
        d["field"] = dict(self.field.__dict__)
        return d


def _parse_tensor(payload: bytes, pos: int) -> TensorInfo:
    code, _, _, count, scale, zp = struct.unpack_from(INFO_TENSOR, payload, pos)
    if code not in _BY_CODE:
        raise ProtocolError(f"INFO names an unknown tensor type code {code}; is this tinygen "
                            "firmware?")
    return TensorInfo(_BY_CODE[code], count, scale, zp)


def parse_info(payload: bytes) -> DeviceInfo:
    """The INFO block; ProtocolError (one line) when it is not one."""
    if len(payload) < 2:
        raise ProtocolError("INFO reply too short; is this tinygen firmware?")
    (version,) = struct.unpack_from("<H", payload)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"the device speaks protocol version {version}, this tinygen speaks "
                            f"{PROTOCOL_VERSION}; rebuild the firmware with this tinygen")
    if len(payload) < INFO_HEAD_BYTES:
        raise ProtocolError(f"INFO reply too short ({len(payload)} bytes); is this tinygen firmware?")
    (_, flags, sha, arena, raw, max_payload, hz, n_in, n_out, _) = \
        struct.unpack_from(INFO_HEAD, payload)
    pos = INFO_HEAD_BYTES
    if n_in + n_out > 2 * MAX_TENSORS or pos + (n_in + n_out) * INFO_TENSOR_BYTES > len(payload):
        raise ProtocolError("INFO reply has a truncated tensor table; is this tinygen firmware?")
    tensors = [_parse_tensor(payload, pos + i * INFO_TENSOR_BYTES) for i in range(n_in + n_out)]
    pos += (n_in + n_out) * INFO_TENSOR_BYTES
    strings = []
    for _ in range(3):
        if pos >= len(payload) or pos + 1 + payload[pos] > len(payload):
            raise ProtocolError("INFO reply has truncated strings; is this tinygen firmware?")
        strings.append(payload[pos + 1:pos + 1 + payload[pos]].decode("utf-8", "replace"))
        pos += 1 + payload[pos]
    field = NO_FIELD
    if len(payload) >= pos + FIELD_INFO_BYTES:
        field = parse_field_info(payload[pos:pos + FIELD_INFO_BYTES])
    return DeviceInfo(version, bool(flags & FLAG_FRONT_END), bool(flags & FLAG_TWIN), sha.hex(),
                      arena, raw, max_payload, hz, tuple(tensors[:n_in]), tuple(tensors[n_in:]),
                      *strings, field=field)


def split(data: bytes, tensors: Sequence[TensorInfo]) -> list[np.ndarray]:
    """Packed tensor bytes -> one array per tensor (its wire dtype)."""
    out, pos = [], 0
    for t in tensors:
        out.append(np.frombuffer(data[pos:pos + t.nbytes], dtype=t.numpy).copy())
        pos += t.nbytes
    if pos != len(data):
        raise ProtocolError(f"{len(data)} bytes do not match the tensors' {pos}")
    return out


def pack(arrays: Sequence[np.ndarray], tensors: Sequence[TensorInfo]) -> bytes:
    """One array per tensor -> packed little-endian bytes (checked against the tensor table)."""
    if len(arrays) != len(tensors):
        raise ProtocolError(f"{len(arrays)} arrays given for {len(tensors)} tensors")
    parts = []
    for i, (a, t) in enumerate(zip(arrays, tensors)):
        a = np.asarray(a)
        if a.size != t.count or a.dtype.kind != t.numpy.kind or a.dtype.itemsize != t.numpy.itemsize:
            raise ProtocolError(f"input {i} takes {t.count} {t.dtype} values, got {a.size} "
                                f"{a.dtype}")
        parts.append(a.astype(t.numpy, copy=False).tobytes())
    return b"".join(parts)


# ---- field-ready replies -----------------------------------------------------------------------

@dataclass(frozen=True)
class SetDigest:
    id: int                      # tinygen.integrity.SET_MODEL / SET_FRONT_END
    ok: bool                     # the device found what was generated beside the arrays
    arrays: int
    bytes: int
    expected: bytes              # generated beside the arrays (the device's copy)
    computed: bytes              # recomputed by the device now


@dataclass(frozen=True)
class IntegrityReply:
    algorithm: str               # "crc32" or "sha256"
    ok: bool
    sets: tuple[SetDigest, ...]


def parse_integrity(payload: bytes) -> IntegrityReply:
    if len(payload) < 4:
        raise ProtocolError("INTEGRITY reply too short")
    algo, ok, n, size = struct.unpack_from(INTEGRITY_HEAD, payload)
    pos, sets = 4, []
    step = struct.calcsize(INTEGRITY_SET)
    for _ in range(n):
        if pos + step + 2 * size > len(payload):
            raise ProtocolError("INTEGRITY reply truncated")
        sid, same, _, arrays, nbytes = struct.unpack_from(INTEGRITY_SET, payload, pos)
        pos += step
        sets.append(SetDigest(sid, bool(same), arrays, nbytes, payload[pos:pos + size],
                              payload[pos + size:pos + 2 * size]))
        pos += 2 * size
    return IntegrityReply(INTEGRITY_NAMES.get(algo, f"unknown ({algo})"), bool(ok), tuple(sets))


@dataclass(frozen=True)
class DeviceStats:
    """The STATS reply, raw integers as the device keeps them (tg_stats.h)."""

    window_cap: int              # windows the running averages span
    windows: int                 # windows seen since the reset (saturating)
    raw_samples: int             # int16 samples in one raw window
    sat_raw_q16: int             # running fraction of raw samples at the int16 rails, Q16
    sat_features_q16: int        # running fraction of features at the int8 rails, Q16
    mean_q16: np.ndarray         # int64 [features]
    var_q12: np.ndarray          # int64 [features]
    classes: np.ndarray          # int64 [classes]: predictions per class

    @property
    def mean(self) -> np.ndarray:
        return self.mean_q16 / 65536.0

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var_q12 / 4096.0)

    @property
    def saturated_raw(self) -> float:
        return self.sat_raw_q16 / 65536.0

    @property
    def saturated_features(self) -> float:
        return self.sat_features_q16 / 65536.0


def parse_stats(payload: bytes) -> DeviceStats:
    if len(payload) < STATS_HEAD_BYTES:
        raise ProtocolError("STATS reply too short")
    nf, nc, cap, windows, raw, sat_raw, sat_f = struct.unpack_from(STATS_HEAD, payload)
    if len(payload) != stats_reply_bytes(nf, nc):
        raise ProtocolError(f"STATS reply of {len(payload)} bytes does not hold {nf} features "
                            f"and {nc} classes")
    body = np.frombuffer(payload, dtype="<i4", offset=STATS_HEAD_BYTES).astype(np.int64)
    counts = np.frombuffer(payload, dtype="<u4", offset=STATS_HEAD_BYTES + 8 * nf)
    return DeviceStats(cap, windows, raw, sat_raw, sat_f, body[:nf], body[nf:2 * nf],
                       counts.astype(np.int64))
