"""What the firmware must reproduce: TFLite-Micro for the network, tinygen.features for the front end.

TFLite-Micro's Python interpreter runs the same reference integer kernels as the C library the
firmware is checked against (FACTS.md: TFLite's default XNNPACK interpreter is not bit-exact).
Every input is set and every output read by index, in model order, in its own dtype.
"""
from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import DataError, ModelError, ToolchainMissing
from ..wire import DTYPES, TensorInfo


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


def _tensor(details: dict, what: str, name: str) -> tuple[TensorInfo, tuple[int, ...]]:
    dtype = np.dtype(details["dtype"]).name
    if dtype not in DTYPES:
        raise ModelError(f"{name}: {what} is {dtype}; the serial protocol carries "
                         f"{', '.join(DTYPES)}")
    q = details.get("quantization_parameters") or {}
    scales, zps = q.get("scales"), q.get("zero_points")
    scale = float(scales[0]) if scales is not None and len(scales) else 0.0
    zp = int(zps[0]) if zps is not None and len(zps) else 0
    shape = tuple(int(s) for s in details["shape"])
    return TensorInfo(dtype, int(np.prod(shape, dtype=np.int64)), scale, zp), shape


class Reference:
    """invoke(inputs) -> outputs with TFLite-Micro; front_end(int16 samples) -> int8 features."""

    def __init__(self, model_path: os.PathLike | str, front_end=None, arena_size: int = 1 << 22):
        from ..importers.tflite import load_model

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelError(f"model {model_path} not found")
        buf = self.model_path.read_bytes()
        self.model_sha256 = hashlib.sha256(buf).hexdigest()
        graph = load_model(buf)
        try:
            from tflite_micro import runtime
        except ImportError:
            raise ToolchainMissing("the TFLite-Micro reference is not installed: "
                                   "pip install tflite-micro") from None
        try:
            self._interp = _quiet_fd2(lambda: runtime.Interpreter.from_bytes(buf, arena_size=arena_size))
        except (RuntimeError, ValueError, TypeError, struct.error) as exc:  # its flatbuffer walk
            raise ModelError(f"TFLite-Micro cannot load {self.model_path.name}: {exc}") from None
        name = self.model_path.name
        ins = [_tensor(self._interp.get_input_details(i), f"input {i}", name)
               for i in range(len(graph.inputs))]
        outs = [_tensor(self._interp.get_output_details(i), f"output {i}", name)
                for i in range(len(graph.outputs))]
        self.inputs = tuple(t for t, _ in ins)
        self.outputs = tuple(t for t, _ in outs)
        self.input_shapes = tuple(s for _, s in ins)
        self.fe = front_end
        self.has_front_end = front_end is not None
        self.raw_samples = int(front_end.raw_samples) if front_end is not None else 0

    @property
    def input_bytes(self) -> int:
        return sum(t.nbytes for t in self.inputs)

    @property
    def output_bytes(self) -> int:
        return sum(t.nbytes for t in self.outputs)

    def invoke(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One inference: one array per input (its dtype), one flat array per output."""
        if len(inputs) != len(self.inputs):
            raise DataError(f"{self.model_path.name} takes {len(self.inputs)} inputs, "
                            f"{len(inputs)} given")
        for i, (x, t, shape) in enumerate(zip(inputs, self.inputs, self.input_shapes)):
            self._interp.set_input(np.asarray(x, dtype=t.numpy).reshape(shape), i)
        self._interp.invoke()
        out = [np.asarray(self._interp.get_output(i), dtype=t.numpy).reshape(-1).copy()
               for i, t in enumerate(self.outputs)]
        self._interp.reset()
        return out

    def network(self, features) -> np.ndarray:
        """Single-input, single-output models: int8 features -> the output."""
        return self.invoke([features])[0]

    def front_end(self, samples) -> np.ndarray:
        if self.fe is None:
            raise DataError("no front end parameters (features.json) for this model; pass --features")
        return np.asarray(self.fe.compute(np.asarray(samples, dtype=np.int16)), dtype=np.int8).reshape(-1)


def random_inputs(tensors: Sequence[TensorInfo], rng: np.random.Generator) -> list[np.ndarray]:
    """One random array per tensor: integers over their whole range (int32 and int64 over
    +-2^15), floats around the values a quantized input maps to."""
    out = []
    for t in tensors:
        if t.dtype == "float32":
            span = 128 * t.scale if t.scale else 1.0
            out.append(rng.uniform(-span, span, t.count).astype(np.float32))
            continue
        info = np.iinfo(t.numpy)
        lo, hi = (max(info.min, -1 << 15), min(info.max, 1 << 15)) \
            if t.dtype in ("int32", "int64") else (info.min, info.max)
        out.append(rng.integers(lo, hi, t.count, endpoint=True).astype(t.numpy))
    return out


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
