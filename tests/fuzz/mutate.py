"""A fixed-seed mutator of .tflite files: mutant k of campaign seed S is always the same bytes.

Seeds are real models (the anchors and TFLite-Micro's corpus). A mutant is one of:
- a targeted field edit through the object API (model_edit.py): a tensor's shape, type code,
  buffer, scales, zero points, quantized axis or quantization as a whole; an op's input/output
  indices, opcode index or option fields; an operator code; the graph's inputs/outputs; a
  buffer's length or one of its values (weights, bias, axes, paddings); the number of subgraphs;
- a raw edit of the file's bytes: bit flips, bytes or aligned int32 words set to edge values,
  truncation, a splice from another seed (overwritten or inserted);
- a targeted edit followed by a raw one.
Values are drawn from edge cases (0, -1, NaN, inf, 1e-45, 2^31 - 1, zero points up to +-2^62,
the issue's reproducers) mixed with plausible neighbours of the original value.
"""
from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import model_edit as me

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """../shared beside the checkout (CI), or the machine's /work/shared."""
    for cand in (REPO.parent / "shared", Path("/work/shared")):
        if (cand / "anchors").is_dir():
            return cand
    return REPO.parent / "shared"


@dataclass(frozen=True)
class Seed:
    name: str          # path relative to shared/
    data: bytes
    weight: float      # how often the mutator picks it


def load_seeds(root: Optional[Path] = None) -> list[Seed]:
    """The anchors (weight 4), TFLite-Micro's example models (2; the 3.8 MB MobileNet 0.5) and
    its one-op SEANet integration models (0.1 each: 127 files, about a third of all picks)."""
    root = root or shared_dir()
    seeds = []
    files = sorted(root.glob("anchors/*.tflite")) + sorted(root.glob("corpus/tflm/**/*.tflite"))
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel.startswith("anchors/"):
            weight = 4.0
        elif "/seanet/" in rel:
            weight = 0.1
        else:
            weight = 0.5 if path.stat().st_size > (1 << 20) else 2.0
        seeds.append(Seed(rel, path.read_bytes(), weight))
    return seeds


SCALES = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-45, 1e-38, 1e-30, 4.66e-10, 1e-10, 1e10,
          1e30, 3.4e38, 1.0, 1.0 / 256, 1.0 / 128, -1.0, 0.5]
ZERO_POINTS = [-(1 << 62), 1 << 62, 1 << 40, -(1 << 40), 300, -129, 128, 255, 256, -32768, 32767,
               -32769, 1 << 31, -(1 << 31) - 1, 0, 127, -128, -1, 1]
INTS = [0, -1, -2, 1, 2, 3, 4, 7, 8, 16, 127, 128, 255, 256, 1000, 65535, (1 << 31) - 1,
        -(1 << 31), 1 << 20]
DIMS = [0, 1, 2, 3, 4, 7, 8, 9, 16, 31, 32, 33, 255, 256, 4096, 65535, (1 << 31) - 1, -1, -2]
BYTES = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]


class Mutator:
    def __init__(self, seeds: list[Seed], campaign_seed: int):
        self.seeds = seeds
        self.campaign_seed = campaign_seed
        self._models: dict[str, object] = {}
        self._weights = [s.weight for s in seeds]

    def model(self, seed: Seed):
        if seed.name not in self._models:
            self._models[seed.name] = me.unpack(seed.data)
        return self._models[seed.name]

    def mutant(self, k: int) -> tuple[bytes, str, str]:
        """(bytes, seed name, description) of mutant k."""
        rng = random.Random(f"tinygen-fuzz:{self.campaign_seed}:{k}")
        seed = rng.choices(self.seeds, weights=self._weights)[0]
        roll = rng.random()
        if roll < 0.55:
            data, what = self._structured(rng, seed)
        elif roll < 0.9:
            data, what = self._raw(rng, seed, seed.data)
        else:
            data, what = self._structured(rng, seed)
            data, more = self._raw(rng, seed, data)
            what = f"{what}; then {more}"
        return data, seed.name, what

    # ---- targeted edits (object API) -------------------------------------------------------

    def _structured(self, rng: random.Random, seed: Seed) -> tuple[bytes, str]:
        base = self.model(seed)
        for _ in range(8):   # an edit may not fit its field's width when packed: draw another
            m = me.clone(base)
            edit = rng.choice(EDITS)
            what = edit(rng, m)
            if what is None:
                continue
            try:
                return me.pack(m), what
            except (struct.error, OverflowError, ValueError, TypeError, AttributeError):
                continue
        return seed.data, "no edit"


    # ---- raw edits ---------------------------------------------------------------------------

    def _raw(self, rng: random.Random, seed: Seed, data: bytes) -> tuple[bytes, str]:
        buf = bytearray(data)
        kind = rng.choice(["flip", "flip", "bytes", "word", "truncate", "splice", "insert"])
        if kind == "flip":
            n = rng.choice([1, 1, 2, 4, 8, 16])
            for _ in range(n):
                pos = rng.randrange(len(buf))
                buf[pos] ^= 1 << rng.randrange(8)
            return bytes(buf), f"{n} bit flip(s)"
        if kind == "bytes":
            n = rng.choice([1, 2, 4, 8])
            for _ in range(n):
                buf[rng.randrange(len(buf))] = rng.choice(BYTES + [rng.randrange(256)])
            return bytes(buf), f"{n} byte(s) set"
        if kind == "word":
            pos = rng.randrange(0, max(len(buf) - 4, 1)) & ~3
            value = rng.choice(INTS + [rng.randrange(-(1 << 31), 1 << 31)])
            buf[pos:pos + 4] = struct.pack("<i", value)
            return bytes(buf), f"int32 at {pos} := {value}"
        if kind == "truncate":
            cut = rng.randrange(len(buf))
            return bytes(buf[:cut]), f"truncated to {cut} bytes"
        other = rng.choice(self.seeds).data
        n = rng.choice([4, 16, 64, 256, 1024])
        src = rng.randrange(max(len(other) - n, 1))
        chunk = other[src:src + n]
        pos = rng.randrange(len(buf))
        if kind == "splice":
            buf[pos:pos + len(chunk)] = chunk
            return bytes(buf[:len(data)]), f"{len(chunk)} bytes spliced at {pos}"
        return bytes(buf[:pos]) + chunk + bytes(buf[pos:]), f"{len(chunk)} bytes inserted at {pos}"


# ---- the targeted edits: each changes one thing in model m and says what ----------------------

def _sg(m):
    return m.subgraphs[0]


def _used_tensors(m) -> list[int]:
    sg = _sg(m)
    used = set(int(i) for i in (sg.inputs if sg.inputs is not None else []))
    used |= set(int(i) for i in (sg.outputs if sg.outputs is not None else []))
    for op in sg.operators or []:
        for arr in (op.inputs, op.outputs):
            if arr is not None:
                used |= {int(i) for i in arr if i >= 0}
    n = len(sg.tensors or [])
    return sorted(i for i in used if i < n) or list(range(n))


def _pick_tensor(rng, m):
    ids = _used_tensors(m)
    if not ids:
        return None, None
    i = rng.choice(ids)
    return i, _sg(m).tensors[i]


def _near(rng, value: int) -> int:
    return value + rng.choice([-2, -1, 1, 2]) if rng.random() < 0.5 else value * rng.choice([2, 3])


def edit_shape(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None:
        return None
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    r = rng.random()
    if shape and r < 0.7:
        d = rng.randrange(len(shape))
        shape[d] = rng.choice(DIMS + [_near(rng, shape[d])])
    elif shape and r < 0.85:
        shape.pop(rng.randrange(len(shape)))
    else:
        shape.insert(rng.randrange(len(shape) + 1), rng.choice([1, 1, 2, 7]))
    if rng.random() < 0.2:
        shape = shape * rng.choice([2, 3])   # rank above what kernels take
    t.shape = me.indices(shape)
    return f"tensor {i} shape := {shape}"


def edit_signature(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None:
        return None
    shape = [int(d) for d in (t.shape if t.shape is not None else [1])] or [1]
    shape[0] = rng.choice([-1, -1, 1, 2, 0])
    t.shapeSignature = me.indices(shape)
    return f"tensor {i} shape_signature := {shape}"


def edit_type(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None:
        return None
    t.type = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 15, 16, 17, 100])
    return f"tensor {i} type := {t.type}"


def edit_buffer(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None:
        return None
    n = len(m.buffers or [])
    t.buffer = rng.choice([0, 1, n - 1, n, n + 5, rng.randrange(max(n, 1)), (1 << 32) - 1])
    return f"tensor {i} buffer := {t.buffer}"


def edit_scale(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None or t.quantization is None or t.quantization.scale is None:
        return None
    scales = [float(s) for s in t.quantization.scale]
    if not scales:
        return None
    c = rng.randrange(len(scales))
    old = scales[c]
    if rng.random() < 0.6:
        scales[c] = rng.choice(SCALES)
    else:
        scales[c] = old * rng.choice([-1.0, 2.0, 0.5, 1e6, 1e-6, 1.0000001])
    if rng.random() < 0.3:
        scales = [scales[c]] * len(scales)
    me.set_quant(m, i, scale=scales)
    return f"tensor {i} scale[{c}] := {scales[c]!r}"


def edit_zero_point(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None or t.quantization is None or t.quantization.zeroPoint is None:
        return None
    zps = [int(z) for z in t.quantization.zeroPoint]
    if not zps:
        return None
    c = rng.randrange(len(zps))
    zps[c] = rng.choice(ZERO_POINTS + [_near(rng, zps[c])])
    me.set_quant(m, i, zero_point=zps)
    return f"tensor {i} zero_point[{c}] := {zps[c]}"


def edit_quant_shape(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None:
        return None
    q = t.quantization
    kind = rng.choice(["none", "two scales", "drop zp", "extra zp", "axis", "drop scales",
                       "one scale"])
    if kind == "none":
        t.quantization = None
    elif q is None or q.scale is None or q.zeroPoint is None or not len(q.scale):
        me.set_quant(m, i, scale=[rng.choice([0.05, 1.0, math.nan])], zero_point=[0])
        kind = "added"
    elif kind == "two scales":
        me.set_quant(m, i, scale=list(q.scale) + [float(q.scale[0]) * 2],
                     zero_point=list(q.zeroPoint) + [int(q.zeroPoint[0])])
    elif kind == "drop zp":
        q.zeroPoint = np.array([], dtype=np.int64)
    elif kind == "extra zp":
        q.zeroPoint = np.array(list(q.zeroPoint) * 2 + [0], dtype=np.int64)
    elif kind == "axis":
        q.quantizedDimension = rng.choice([-1, 0, 1, 2, 3, 4, 7, 100])
        kind = f"axis {q.quantizedDimension}"
    elif kind == "drop scales":
        q.scale = np.array([], dtype=np.float32)
    else:
        me.set_quant(m, i, scale=list(q.scale)[:1], zero_point=list(q.zeroPoint)[:1])
    return f"tensor {i} quantization: {kind}"


def _pick_op(rng, m):
    ops = _sg(m).operators or []
    if not ops:
        return None, None
    j = rng.randrange(len(ops))
    return j, ops[j]


def edit_op_tensors(rng, m):
    j, op = _pick_op(rng, m)
    if op is None:
        return None
    which = rng.choice(["inputs", "inputs", "outputs"])
    arr = [int(x) for x in (getattr(op, which) if getattr(op, which) is not None else [])]
    n = len(_sg(m).tensors or [])
    kind = rng.choice(["set", "set", "drop", "append", "empty", "swap"])
    if kind == "set" and arr:
        arr[rng.randrange(len(arr))] = rng.choice([-1, -2, n, n + 100, rng.randrange(max(n, 1)),
                                                   (1 << 31) - 1])
    elif kind == "drop" and arr:
        arr.pop(rng.randrange(len(arr)))
    elif kind == "append":
        arr.append(rng.choice([-1, rng.randrange(max(n, 1)), n]))
    elif kind == "swap" and len(arr) > 1:
        a, b = rng.sample(range(len(arr)), 2)
        arr[a], arr[b] = arr[b], arr[a]
    else:
        arr = []
    setattr(op, which, me.indices(arr))
    return f"op {j} {which} := {arr}"


def edit_opcode(rng, m):
    j, op = _pick_op(rng, m)
    if op is None:
        return None
    n = len(m.operatorCodes or [])
    op.opcodeIndex = rng.choice([0, n - 1, n, n + 3, rng.randrange(max(n, 1))])
    return f"op {j} opcode_index := {op.opcodeIndex}"


def edit_builtin_code(rng, m):
    codes = m.operatorCodes or []
    if not codes:
        return None
    c = rng.randrange(len(codes))
    value = rng.choice([0, 1, 3, 4, 9, 14, 17, 22, 25, 28, 32, 34, 40, 83, 114, 126, 127, 150, 200])
    codes[c].builtinCode = value
    codes[c].deprecatedBuiltinCode = min(value, 127)
    return f"operator code {c} := builtin {value}"


def edit_options(rng, m):
    j, op = _pick_op(rng, m)
    if op is None:
        return None
    opts = op.builtinOptions
    if opts is None or rng.random() < 0.15:
        op.builtinOptionsType = rng.randrange(0, 128)
        op.builtinOptions = None
        return f"op {j} options removed (type {op.builtinOptionsType})"
    fields = sorted(vars(opts))
    if not fields:
        return None
    name = rng.choice(fields)
    old = getattr(opts, name)
    if isinstance(old, bool):
        value = not old
    elif isinstance(old, float):
        value = rng.choice([0.0, -1.0, math.nan, math.inf, 1e-10, 1e10, 2.0])
    elif isinstance(old, int):
        value = rng.choice(INTS + [_near(rng, old)])
    else:
        return None
    setattr(opts, name, value)
    return f"op {j} option {name} := {value!r}"


def edit_graph_io(rng, m):
    sg = _sg(m)
    which = rng.choice(["inputs", "outputs"])
    arr = [int(x) for x in (getattr(sg, which) if getattr(sg, which) is not None else [])]
    n = len(sg.tensors or [])
    kind = rng.choice(["set", "duplicate", "empty", "append"])
    if kind == "set" and arr:
        arr[rng.randrange(len(arr))] = rng.choice([-1, n, rng.randrange(max(n, 1))])
    elif kind == "duplicate" and arr:
        arr.append(arr[0])
    elif kind == "append":
        arr.append(rng.randrange(max(n, 1)))
    else:
        arr = []
    setattr(sg, which, me.indices(arr))
    return f"graph {which} := {arr}"


def edit_buffer_data(rng, m):
    bufs = m.buffers or []
    with_data = [b for b, buf in enumerate(bufs) if buf is not None and buf.data is not None
                 and len(buf.data)]
    if not with_data:
        return None
    b = rng.choice(with_data)
    new = me.schema().BufferT()
    data = np.asarray(bufs[b].data, dtype=np.uint8)
    kind = rng.choice(["shorter", "longer", "empty"])
    if kind == "shorter":
        new.data = data[: rng.randrange(len(data))]
    elif kind == "longer":
        new.data = np.concatenate([data, np.zeros(rng.choice([1, 4, 64]), dtype=np.uint8)])
    else:
        new.data = None
    bufs[b] = new
    return f"buffer {b} {kind}"


def edit_buffer_values(rng, m):
    """One element of a constant (weights, bias, axes, paddings, shape) set to an edge value."""
    sg = _sg(m)
    dtypes = {9: np.int8, 2: np.int32, 4: np.int64, 7: np.int16, 3: np.uint8}
    consts = [t for t in sg.tensors or [] if t.type in dtypes and t.buffer < len(m.buffers or [])
              and m.buffers[t.buffer] is not None and m.buffers[t.buffer].data is not None
              and len(m.buffers[t.buffer].data)]
    if not consts:
        return None
    t = rng.choice(consts)
    dtype = np.dtype(dtypes[t.type])
    values = np.frombuffer(np.asarray(m.buffers[t.buffer].data, np.uint8).tobytes(), dtype).copy()
    if not values.size:
        return None
    i = rng.randrange(values.size)
    info = np.iinfo(dtype)
    v = rng.choice([info.min, info.max, 0, -1, 1, int(values[i]) * 2, int(values[i]) + 1])
    values[i] = min(max(v, info.min), info.max)
    new = me.schema().BufferT()
    new.data = np.frombuffer(values.tobytes(), np.uint8).copy()
    m.buffers[t.buffer] = new
    return f"buffer {t.buffer} ({dtype.name}) [{i}] := {values[i]}"


def edit_subgraphs(rng, m):
    if rng.random() < 0.5:
        m.subgraphs = m.subgraphs + m.subgraphs[:1]
        return "subgraph duplicated"
    m.subgraphs = []
    return "no subgraphs"


def edit_variable(rng, m):
    i, t = _pick_tensor(rng, m)
    if t is None:
        return None
    t.isVariable = not t.isVariable
    return f"tensor {i} is_variable := {t.isVariable}"


EDITS: list[Callable] = (
    [edit_scale] * 4 + [edit_zero_point] * 3 + [edit_quant_shape] * 3 + [edit_shape] * 3
    + [edit_op_tensors] * 3 + [edit_options] * 3 + [edit_type] * 2 + [edit_buffer] * 2
    + [edit_buffer_values] * 2
    + [edit_signature, edit_opcode, edit_builtin_code, edit_graph_io, edit_buffer_data,
       edit_subgraphs, edit_variable])
