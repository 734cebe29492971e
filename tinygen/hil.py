"""Hardware-in-the-loop from the user's own CI: golden vectors that travel with a project.

`tinygen build` computes a few inputs and TFLite-Micro's outputs for them (`make_golden`) and the
project keeps them in test/test_golden/golden.json. `pio test -e <id>_twin` (QEMU, offline) or
`pio test -e <board env>` (a flashed board) runs test/test_custom_runner.py, which calls
`run_golden`: every vector goes over serial and any differing output byte fails its case. No
TensorFlow is needed at test time, only tinygen's serial client.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .boards import Board, get_board
from .errors import DataError
from .validate import tone_windows
from .validate.device import Device, open_device
from .validate.reference import random_inputs
from .wire import TensorInfo

FORMAT = 1


@dataclass(frozen=True)
class Vector:
    """Inputs (one array per model input) or a raw window, and the expected outputs."""

    inputs: Optional[list[np.ndarray]]
    samples: Optional[np.ndarray]             # int16 window through the front end
    features: Optional[np.ndarray]            # what the front end must compute from it
    outputs: list[np.ndarray]


@dataclass(frozen=True)
class Golden:
    board: str
    model_sha256: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    vectors: tuple[Vector, ...]

    def save(self, path: Path) -> None:
        hexes = (lambda arrays: [a.tobytes().hex() for a in arrays])
        doc = {"format": FORMAT, "board": self.board, "model_sha256": self.model_sha256,
               "inputs": [t.__dict__ for t in self.inputs],
               "outputs": [t.__dict__ for t in self.outputs],
               "vectors": [{"inputs": hexes(v.inputs) if v.inputs is not None else None,
                            "samples": v.samples.astype("<i2").tobytes().hex()
                            if v.samples is not None else None,
                            "features": v.features.tobytes().hex()
                            if v.features is not None else None,
                            "outputs": hexes(v.outputs)} for v in self.vectors]}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Golden":
        try:
            doc = json.loads(Path(path).read_text())
            ins = tuple(TensorInfo(**t) for t in doc["inputs"])
            outs = tuple(TensorInfo(**t) for t in doc["outputs"])
            vectors = tuple(_vector(v, ins, outs) for v in doc["vectors"])
            if doc["format"] != FORMAT:
                raise ValueError(f"format {doc['format']}")
            return cls(doc["board"], doc["model_sha256"], ins, outs, vectors)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a tinygen golden-vector file ({exc}); regenerate the "
                            "project with tinygen build") from None


def _arrays(hexes: list[str], tensors) -> list[np.ndarray]:
    return [np.frombuffer(bytes.fromhex(h), dtype=t.numpy).copy() for h, t in zip(hexes, tensors)]


def _vector(v: dict, ins, outs) -> Vector:
    raw = v["samples"] is not None
    return Vector(inputs=None if raw else _arrays(v["inputs"], ins),
                  samples=np.frombuffer(bytes.fromhex(v["samples"]), "<i2").copy() if raw else None,
                  features=np.frombuffer(bytes.fromhex(v["features"]), np.int8).copy()
                  if raw else None,
                  outputs=_arrays(v["outputs"], outs))


def make_golden(board: Board, reference, count: int = 4, seed: int = 0) -> Golden:
    """`count` random inputs through TFLite-Micro (and as many raw windows through the front end
    when the model has one)."""
    rng = np.random.default_rng(seed)
    vectors = []
    for _ in range(count):
        x = random_inputs(reference.inputs, rng)
        vectors.append(Vector(x, None, None, reference.invoke(x)))
    if reference.has_front_end:
        for w in tone_windows(reference.raw_samples, count, rng):
            f = reference.front_end(w)
            vectors.append(Vector(None, w, f, reference.invoke([f])))
    return Golden(board.id, reference.model_sha256, reference.inputs, reference.outputs,
                  tuple(vectors))


@dataclass(frozen=True)
class Case:
    name: str
    ok: bool
    message: str


def compare_outputs(expected: list[np.ndarray], got: list[np.ndarray], what: str) -> str:
    """'' when every byte matches, else where the first difference is."""
    for k, (e, g) in enumerate(zip(expected, got)):
        diff = np.flatnonzero(np.ascontiguousarray(e).view(np.uint8) !=
                              np.ascontiguousarray(g).view(np.uint8))
        if diff.size:
            i = int(diff[0]) // e.itemsize
            return (f"{diff.size} of {e.nbytes} bytes of {what} {k} differ; first at element {i}: "
                    f"expected {e[i]}, got {g[i]}")
    return ""


def check_golden(device: Device, golden: Golden) -> list[Case]:
    """Send every vector; one case per vector (and one for the firmware's identity)."""
    device.check_board()
    if device.info.model_sha256 != golden.model_sha256:
        return [Case("identity", False, f"the firmware was built from model sha256 "
                     f"{device.info.model_sha256[:12]}..., the golden vectors from "
                     f"{golden.model_sha256[:12]}...")]
    cases = []
    for i, v in enumerate(golden.vectors):
        if v.samples is not None:
            r = device.infer_raw(v.samples)
            why = compare_outputs([v.features], [r.features], "the front end's features") or \
                compare_outputs(v.outputs, r.outputs, "output")
            name = f"golden_raw_{i}"
        else:
            why = compare_outputs(v.outputs, device.infer(v.inputs).outputs, "output")
            name = f"golden_{i}"
        cases.append(Case(name, not why, why or "bit-exact"))
    return cases


def run_golden(golden_path, elf=None, twin: bool = False, port: Optional[str] = None,
               timeout: float = 10.0) -> list[Case]:
    """`pio test`'s runner: the golden vectors on the twin (running `elf`) or on `port`."""
    golden = Golden.load(Path(golden_path))
    board = get_board(golden.board)
    with open_device(board, port=port, emulate=twin, elf=Path(elf) if elf else None,
                     timeout=timeout) as dev:
        return check_golden(dev, golden)
