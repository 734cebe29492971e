"""Errors a user can act on. The CLI prints these as one line; anything else is a bug (traceback)."""


class TinygenError(Exception):
    """Base class: `str(err)` is the whole message, phrased as 'what is wrong; what to do'."""

    exit_code = 2
    report = None   # the partial validation report, when the error interrupted a validation


class ModelError(TinygenError):
    """The model file is missing, truncated, corrupt or not a TFLite flatbuffer."""


class UnsupportedModel(ModelError):
    """A well-formed model that tinygen cannot compile (float, several subgraphs, dynamic shapes)."""


class UnsupportedOp(UnsupportedModel):
    """An op (or an op's option) with no int8 kernel here; the message names the op and its index."""


class ModelTooLarge(TinygenError):
    """The model's weights or arena exceed the board's flash or RAM."""


class BoardError(TinygenError):
    """Unknown board, or a board file that fails validation."""


class ToolchainMissing(TinygenError):
    """A compiler, emulator or PlatformIO is not installed."""


class RegistryUnreachable(TinygenError):
    """PlatformIO's registry cannot be reached for an official environment."""


class BuildError(TinygenError):
    """A compile or `pio run` failed; the message carries the compiler's first error."""


class DataError(TinygenError):
    """Training data is missing, malformed or unusable."""


class DeviceError(TinygenError):
    """A serial device misbehaved (timeout, garbage, reset, wrong firmware)."""


class DeviceTimeout(DeviceError):
    """The device did not answer within the timeout."""


class ProtocolError(DeviceError):
    """A frame was malformed (bad CRC, truncated, unknown command)."""


class FirmwareMismatch(DeviceError):
    """The device runs firmware built from another model."""


class EmulatorError(TinygenError):
    """QEMU (or another emulator) failed to start or exited unexpectedly."""
