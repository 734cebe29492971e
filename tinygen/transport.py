"""Byte transport over pyserial's `serial_for_url`: /dev/tty*, COM3, socket://host:port, loop://.

Every read takes a deadline (time.monotonic()); nothing here can block past it. It knows bytes,
not frames: the twin (tinygen.twin) and the protocol (tinygen.validate.protocol) both sit on it.
"""
from __future__ import annotations

import queue
import select
import socket
import time
from typing import Optional

from .errors import DeviceError, DeviceTimeout


class SocketLine:
    """The few calls of a pyserial port that Transport makes, over a connected socket: an
    emulator's stdin/stdout given one end of a socket pair (tinygen.twin). `timeout` bounds each
    read as pyserial's does; a write that the other side does not take within `write_timeout`
    raises pyserial's timeout."""

    def __init__(self, sock: socket.socket, write_timeout: float = 10.0):
        self.sock = sock
        self.timeout: Optional[float] = 0.05
        self.write_timeout = write_timeout

    def read(self, size: int) -> bytes:
        import serial

        ready, _, _ = select.select([self.sock], [], [], self.timeout)
        if not ready:
            return b""
        data = self.sock.recv(size)
        if not data:
            raise serial.SerialException("the other end closed the line")
        return data

    def write(self, data: bytes) -> int:
        import serial

        self.sock.settimeout(self.write_timeout)
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise serial.SerialTimeoutException("write timeout") from None
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.sock.close()


class Transport:
    def __init__(self, ser, name: str):
        self.ser = ser
        self.name = name
        self._pending = bytearray()   # bytes read ahead and given back (`unread`)

    def unread(self, data: bytes) -> None:
        """Give bytes back: the next read returns them first (a twin's first bytes prove the
        guest runs; the protocol still needs them)."""
        self._pending[:0] = data

    @classmethod
    def open(cls, url: str, baud: int = 115200, connect_timeout: float = 5.0) -> "Transport":
        """Open `url`; socket:// is retried until `connect_timeout` (QEMU may still be starting)."""
        import serial

        deadline = time.monotonic() + connect_timeout
        last: Optional[Exception] = None
        while True:
            try:
                ser = serial.serial_for_url(url, baudrate=baud, timeout=0.05, write_timeout=10.0)
                return cls(ser, url)
            except (serial.SerialException, OSError, ValueError) as exc:
                last = exc
                if not url.startswith("socket://") or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
        if url.startswith("socket://"):
            raise DeviceTimeout(f"cannot connect to {url} within {connect_timeout:g} s: {last}")
        raise DeviceError(f"cannot open serial port {url}: {last}; check the port name "
                          "(tinygen validate --port) and that no other program holds it")

    def write(self, data: bytes) -> None:
        import serial

        try:
            self.ser.write(data)
            self.ser.flush()
        except (serial.SerialTimeoutException, queue.Full) as exc:   # loop:// fills a queue
            raise DeviceTimeout(f"writing to {self.name} timed out ({type(exc).__name__}: "
                                f"{exc}); no device is reading the port") from None
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"writing to {self.name} failed: {exc}; was the device unplugged?") from None

    def read(self, deadline: float) -> bytes:
        """Whatever arrives before `deadline` (at least one byte if any came); b"" on timeout."""
        import serial

        if self._pending:
            data, self._pending = bytes(self._pending), bytearray()
            return data
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            remaining = 0.0
        try:
            self.ser.timeout = remaining
            data = self.ser.read(1)
            if data:
                # then whatever else is already there, without waiting (in_waiting is not a
                # byte count on every URL handler, so ask for a chunk with a zero timeout)
                self.ser.timeout = 0
                data += self.ser.read(65536)
            return bytes(data)
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"reading from {self.name} failed: {exc}; "
                              "did the device or emulator go away?") from None

    def drain(self, quiet: float, limit: float = 2.0) -> bytes:
        """Read and return what is already on the line, until it has been silent `quiet` s."""
        out = bytearray()
        end = time.monotonic() + limit
        while time.monotonic() < end:
            data = self.read(min(end, time.monotonic() + quiet))
            if not data:
                break
            out += data
        return bytes(out)

    def close(self) -> None:
        import serial

        try:
            self.ser.close()
        except (serial.SerialException, OSError):  # a dead port must not hide what killed it
            pass

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
