"""What the firmware must reproduce: TFLite-Micro for the network, tinygen.features for the front end.

TFLite-Micro's Python interpreter runs the same reference integer kernels as the C library the
firmware is checked against (FACTS.md: TFLite's default XNNPACK interpreter is not bit-exact).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import DataError, ModelError, ToolchainMissing


def model_sha256(path: os.PathLike | str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from None


def _quiet_fd2(fn):
    """Run fn with C-level stderr silenced (TFLM prints arena details there)."""
    try:
        saved = os.dup(2)
    except OSError:
        return fn()
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            return fn()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Reference:
    """network(int8 features) -> int8 output; front_end(int16 samples) -> int8 features."""

    def __init__(self, model_path: os.PathLike | str, front_end=None, arena_size: int = 1 << 20):
        self.model_path = Path(model_path)
        buf = self.model_path.read_bytes() if self.model_path.is_file() else None
        if buf is None:
            raise ModelError(f"model {model_path} not found")
        self.model_sha256 = hashlib.sha256(buf).hexdigest()
        try:
            from tflite_micro import runtime
        except ImportError:
            raise ToolchainMissing("the TFLite-Micro reference is not installed: pip install tflite-micro") from None
        try:
            self._interp = _quiet_fd2(lambda: runtime.Interpreter.from_bytes(buf, arena_size=arena_size))
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"TFLite-Micro cannot load {self.model_path.name}: {exc}") from None
        d_in = self._interp.get_input_details(0)
        d_out = self._interp.get_output_details(0)
        self.input_shape = tuple(int(s) for s in d_in["shape"])
        self.output_shape = tuple(int(s) for s in d_out["shape"])
        self.input_dtype = np.dtype(d_in["dtype"])
        self.output_dtype = np.dtype(d_out["dtype"])
        if self.input_dtype != np.int8 or self.output_dtype != np.int8:
            raise ModelError(f"{self.model_path.name} is not a full-integer int8 model "
                             f"(input {self.input_dtype}, output {self.output_dtype})")
        self.input_bytes = int(np.prod(self.input_shape))
        self.output_bytes = int(np.prod(self.output_shape))
        q_out = d_out.get("quantization_parameters") or {}
        zps = q_out.get("zero_points")
        self.output_zero_point = int(zps[0]) if zps is not None and len(zps) else 0
        q_in = d_in.get("quantization_parameters") or {}
        zpi = q_in.get("zero_points")
        self.input_zero_point = int(zpi[0]) if zpi is not None and len(zpi) else 0
        self.fe = front_end
        self.has_front_end = front_end is not None
        self.raw_samples = int(front_end.window) if front_end is not None else 0

    def network(self, features) -> np.ndarray:
        x = np.asarray(features, dtype=np.int8).reshape(self.input_shape)
        self._interp.set_input(x, 0)
        self._interp.invoke()
        out = np.asarray(self._interp.get_output(0), dtype=np.int8).reshape(-1).copy()
        self._interp.reset()
        return out

    def front_end(self, samples) -> np.ndarray:
        if self.fe is None:
            raise DataError("no front end parameters (features.json) for this model; pass --features")
        return np.asarray(self.fe.compute(np.asarray(samples, dtype=np.int16)), dtype=np.int8).reshape(-1)


def load_front_end(path: Optional[os.PathLike | str]):
    """tinygen.features.FrontEnd from a features.json, or None."""
    if path is None:
        return None
    from ..features import FrontEnd

    return FrontEnd.from_json(path)


def find_front_end(model_path: os.PathLike | str) -> Optional[Path]:
    """features.json beside the model (what `tinygen train` writes), if any."""
    p = Path(model_path).with_name("features.json")
    return p if p.is_file() else None
