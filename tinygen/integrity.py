"""The digests of the constants a firmware keeps in flash, computed from the model file (and the
front end's parameters), printed beside the arrays, and recomputed on the device.

    model set      every `static const` array model.c holds (weights laid out as the kernels read
                   them, biases, multipliers, lookup tables), in the order model.c declares them
    front-end set  the tables of tg_features_config.h (window, digit-reversal order, twiddles, bands, log)

Each set's digest runs over its arrays' bytes as the target stores them (little-endian, the C
element size) as if they were one buffer: CRC-32 is zlib's crc32, SHA-256 is hashlib's. The device
(firmware/harness/tg_integrity.c) walks the same arrays through a table of (pointer, size) that the
templates emit; the per-layer parameter structs are not covered (at -O2 their fields are folded
into the code as immediates).
"""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ALGORITHMS = ("crc32", "sha256", "off")
ALGORITHM_CODES = {"off": 0, "crc32": 1, "sha256": 2}      # enum tg_integrity_algo
SET_MODEL, SET_FRONT_END = 0, 1                            # enum tg_const_set_id
SET_NAMES = {SET_MODEL: "model", SET_FRONT_END: "front end"}

# C element type -> little-endian numpy dtype (the bytes the target stores).
_DTYPES = {"int8_t": "<i1", "uint8_t": "<u1", "int16_t": "<i2", "uint16_t": "<u2",
           "int32_t": "<i4", "uint32_t": "<u4", "int64_t": "<i8", "uint64_t": "<u8"}


def array_bytes(ctype: str, values) -> bytes:
    """The bytes of a `const <ctype> x[] = {values}` array in a little-endian target's flash."""
    arr = np.asarray(values).ravel()
    info = np.iinfo(np.dtype(_DTYPES[ctype]))
    if arr.size and (int(arr.min()) < info.min or int(arr.max()) > info.max):
        raise ValueError(f"a {ctype} array holds values outside its range")
    return arr.astype(_DTYPES[ctype]).tobytes()


@dataclass(frozen=True)
class ConstSet:
    """Arrays (C symbols and sizes) and the bytes they hold, in order."""

    symbols: tuple[str, ...]
    sizes: tuple[int, ...]
    data: bytes

    @property
    def total(self) -> int:
        return len(self.data)

    @property
    def crc32(self) -> int:
        return zlib.crc32(self.data) & 0xFFFFFFFF

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()

    def digest(self, algorithm: str) -> bytes:
        """As the device reports it: CRC-32 little-endian, or the SHA-256 bytes."""
        if algorithm == "crc32":
            return self.crc32.to_bytes(4, "little")
        if algorithm == "sha256":
            return self.sha256
        raise ValueError(f"no digest for integrity '{algorithm}'")


def const_set(arrays: Sequence[tuple[str, str, object]]) -> ConstSet:
    """[(symbol, ctype, values)] -> ConstSet."""
    blobs = [array_bytes(ctype, values) for _, ctype, values in arrays]
    return ConstSet(tuple(s for s, _, _ in arrays), tuple(len(b) for b in blobs), b"".join(blobs))


def model_set(compiled, name: str) -> ConstSet:
    """The const arrays model.c emits for a compiled model (codegen: `<name>_op<i>_<suffix>`)."""
    from .codegen import const_symbols
    return const_set([(sym, a.ctype, a.values) for sym, a in const_symbols(compiled, name)[0]])


def front_end_set(tables: Sequence[dict]) -> ConstSet:
    """The front end's tables as tinygen.features.emit lays them out ({name, ctype, data})."""
    return const_set([(t["name"], t["ctype"], t["data"]) for t in tables])


def template_values(cset: ConstSet) -> dict:
    """What model.c.j2 / tg_features_config.h.j2 print: the (pointer, size) table and digests."""
    return {"const_arrays": [{"sym": s, "nbytes": n} for s, n in zip(cset.symbols, cset.sizes)],
            "const_bytes": cset.total, "const_crc32": f"0x{cset.crc32:08X}",
            "const_sha256_bytes": list(cset.sha256)}


def expected_sets(model_path, features_path: Optional[Path] = None,
                  optimize: str = "speed") -> dict[int, ConstSet]:
    """What the firmware built from this model (and front end) with `--optimize optimize` must
    hold: set id -> ConstSet. The two modes lay the weights out differently (speed stores FC rows
    widened to int16), so each mode has its own model set."""
    from .codegen import compile_model
    from .features import FrontEnd
    from .features.emit import tables

    out = {SET_MODEL: model_set(compile_model(Path(model_path), optimize), "model")}
    if features_path is not None:
        out[SET_FRONT_END] = front_end_set(tables(FrontEnd.from_json(features_path)))
    return out
