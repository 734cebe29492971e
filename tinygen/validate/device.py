"""A connected tinygen firmware: a real board on a serial port, or its twin in QEMU.

    with open_device(board, port="auto") as dev:          # or emulate=True, elf=...
        dev.check(reference)                               # same model, board, tensors
        reply = dev.infer([x])                             # typed inputs -> typed outputs

The first use reads INFO; `check` refuses firmware built from another model, for another board, or as
the other kind of build (twin vs hardware), each in one line.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from ..boards import Board, board_twin
from ..errors import DeviceError, DeviceTimeout, EmulatorError, FirmwareMismatch
from ..transport import Transport
from ..wire import DeviceInfo, pack
from .protocol import Client, InferReply, LineError, RawReply


class Device:
    def __init__(self, transport: Transport, board: Board, emulated: bool, timeout: float = 5.0):
        from ..twin import BYTE_TIME

        self.transport = transport
        self.board = board
        self.emulated = emulated
        # A reply's deadline grows with the bytes on the line: a UART's 10 bits a byte (twice
        # over), or the twin's emulated UART, which moves a byte per round of QEMU's main loop.
        byte_time = BYTE_TIME if emulated else 20.0 / board.baud
        self.client = Client(transport, timeout=timeout, byte_time=byte_time)
        self._info: Optional[DeviceInfo] = None
        # A twin resends an inference after a line error, as often as its twin file says (a
        # line that loses bytes under load, as the Xtensa twin's simcall console did: the frame
        # CRC catches it). An inference
        # is stateless (the firmware resets the model's state first), so sending it again is
        # exact. A real board gets no resends: a bad line is reported, not hidden.
        self.resend_limit = board_twin(board).line_resends if emulated else 0
        self.resends = 0                    # inferences sent again after a line error

    @property
    def info(self) -> DeviceInfo:
        """The firmware's INFO block, read on first use (after syncing the line)."""
        if self._info is None:
            self._info = self.client.connect()
        return self._info

    @property
    def name(self) -> str:
        return self.transport.name

    def check_board(self) -> None:
        info, board = self.info, self.board
        if info.board != board.id:
            raise FirmwareMismatch(
                f"the firmware on {self.name} was built for {info.board or '(no board)'}, not "
                f"{board.id}; pass --board {info.board} or build and flash it for {board.id}")
        want = board.twin.id if self.emulated and board.twin else ""
        if info.twin != want:
            kind = f"the {info.twin} twin" if info.twin else "the real board"
            raise FirmwareMismatch(
                f"the firmware on {self.name} is {board.id}'s build for {kind}; "
                + (f"use its {board.env_twin} build with --emulate" if self.emulated
                   else f"flash its {board.env_offline} build"))

    def check_health(self) -> None:
        """Refuse a device that refuses to infer (safe mode, constants that failed their check):
        one line saying why and what to do."""
        f = self.info.field
        if f.health == "safe mode":
            raise DeviceError(f"the device on {self.name} is in safe mode after {f.resets_in_row} "
                              "watchdog resets in a row and will not infer; find the hang, then "
                              f"clear it: tinygen monitor --board {self.board.id} --clear ...")
        if f.health == "integrity":
            raise FirmwareMismatch(f"the constants in flash on {self.name} failed their "
                                   f"{f.integrity} check at boot: the firmware is damaged; "
                                   "reflash it")

    def check(self, reference, model_name: str = "the model") -> None:
        """Refuse firmware built from another model or for another board, or one that will not
        infer (one line)."""
        self.check_board()
        info = self.info
        if info.model_sha256 != reference.model_sha256:
            raise FirmwareMismatch(
                f"the firmware on {self.name} was built from model sha256 {info.model_sha256[:12]}"
                f"..., not {model_name} ({reference.model_sha256[:12]}...); rebuild and flash it "
                f"for this model")
        for what, got, want in (("input", info.inputs, reference.inputs),
                                ("output", info.outputs, reference.outputs)):
            shape = (lambda ts: ", ".join(f"{t.count} {t.dtype}" for t in ts) or "none")
            if [(t.dtype, t.count) for t in got] != [(t.dtype, t.count) for t in want]:
                raise FirmwareMismatch(f"the firmware on {self.name} has {what}s [{shape(got)}], "
                                       f"{model_name} has [{shape(want)}]; rebuild the firmware")
        if reference.has_front_end and info.has_front_end and \
                info.raw_samples != reference.raw_samples:
            raise FirmwareMismatch(f"the firmware's front end takes {info.raw_samples}-sample "
                                   f"windows, features.json says {reference.raw_samples}; "
                                   f"rebuild the firmware")
        self.check_health()

    def infer(self, inputs: Sequence[np.ndarray], timeout: Optional[float] = None) -> InferReply:
        data = pack(inputs, self.info.inputs)
        return self._resending(lambda: self.client.infer(data, timeout))

    def infer_raw(self, samples, timeout: Optional[float] = None) -> RawReply:
        _ = self.info        # a first call connects (drops the BOOT frame, syncs) like infer's
        return self._resending(lambda: self.client.infer_raw(samples, timeout))

    def _resending(self, call):
        """`call()`, sent again after a line error (a bad CRC, or a frame that never completed)
        up to resend_limit times, the line re-synchronised first; the count is reported."""
        for attempt in range(self.resend_limit + 1):
            try:
                return call()
            except (LineError, DeviceTimeout) as exc:
                if attempt == self.resend_limit:
                    raise
                self.resends += 1
                try:
                    self.client.sync()
                except DeviceError:
                    raise exc from None     # the line is gone, not noisy: the first error says why


@contextlib.contextmanager
def open_device(board: Board, *, port: Optional[str] = None, emulate: bool = False,
                elf: Optional[Path] = None, timeout: float = 5.0) -> Iterator[Device]:
    """A Device on the board's serial port (`port`: a path, a URL, or "auto": found by USB id)
    or, with `emulate`, on the board's twin running `elf`. Everything is closed on exit."""
    if emulate:
        from ..twin import QemuTwin

        with QemuTwin(board_twin(board), elf) as q:
            try:
                yield Device(q.transport, board, emulated=True, timeout=timeout)
            except DeviceError as err:
                if q.alive():
                    raise
                raise _emulator_died(q, err) from None
        return
    from ..ports import resolve_port

    url = resolve_port(board, port or "auto")
    with Transport.open(url, baud=board.baud, connect_timeout=timeout) as t:
        yield Device(t, board, emulated=False, timeout=timeout)


def _emulator_died(q, err: DeviceError) -> EmulatorError:
    """QEMU itself went away (a guest fault exits with status 3): say that, keep the report."""
    q.stop()
    new = EmulatorError(f"the {q.twin.id} emulator exited with status {q.returncode} during "
                        f"validation ({err}); QEMU said: {q.log_tail(200)}")
    new.report = err.report
    return new
