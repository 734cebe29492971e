"""TFLite-Micro's SEANet integration tests (../shared/corpus/tflm/seanet/<op>/): real 16x8 models
(int16 activations, int8 weights), one op each, with TFLite-Micro's golden output for a given
input. Each model must reproduce its golden CSV and match TFLite-Micro byte for byte on random
inputs. Blocks below belong to the engineers of each op family.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEANET = ROOT.parent / "shared" / "corpus" / "tflm" / "seanet"
needs_seanet = pytest.mark.skipif(not SEANET.is_dir(), reason="../shared/corpus not present")


def seanet_models(op: str) -> list[str]:
    return sorted(p.stem for p in (SEANET / op).glob("*.tflite")) if SEANET.is_dir() else []


def read_csv(path: Path, dtype=np.int16) -> np.ndarray:
    return np.array([int(v) for v in path.read_text().replace("\n", ",").split(",") if v.strip()],
                    dtype=dtype)


def golden_pair(op: str, name: str):
    """(input, golden output) of a model, as flat int16 arrays, or None when it has none."""
    inp, gold = SEANET / op / f"{name}_input0_int16.csv", SEANET / op / f"{name}_golden_int16.csv"
    return (read_csv(inp), read_csv(gold)) if inp.is_file() and gold.is_file() else None


# ---- data movement (opsb): PAD and STRIDED_SLICE ---------------------------------------------------
# Models of one configuration (the same paddings or slice) differ only in their shapes: the first
# of each runs the full check (ASan+UBSan, both kernel paths); the others one plain build each.

MOVEMENT = [("pad", n) for n in seanet_models("pad")] + \
           [("strided_slice", n) for n in seanet_models("strided_slice")]


def _first_of_configuration(op: str, name: str) -> bool:
    from tinygen.importers.tflite import load_model

    def key(n):
        g = load_model(SEANET / op / f"{n}.tflite")
        o = g.ops[0]
        return str(o.attrs), [g.tensor(i).data.tolist() for i in o.inputs if g.tensor(i).is_const]
    mine = key(name)
    return next(n for n in seanet_models(op) if key(n) == mine) == name


@needs_seanet
def test_movement_models_are_all_there():
    assert len(MOVEMENT) == 19 + 34
    assert all(golden_pair(op, n) is not None for op, n in MOVEMENT)


@needs_seanet
def test_seanet_slices_of_the_outer_axis_are_views():
    """32 of the 34 slices cut the outermost axis that is not 1: no code, and the arena is the
    input alone. The other two cut axis 2 of a [1, 2, W, C] tensor: two runs copied."""
    from tinygen.codegen import compile_model

    copied = set()
    for name in seanet_models("strided_slice"):
        c = compile_model(SEANET / "strided_slice" / f"{name}.tflite")
        if c.kernels:
            copied.add(name)
            assert [m["count"][-1] for m in c.ops[0].lowered.params["moves"]] == [2]
        else:
            assert c.plan.arena_bytes == c.inputs[0].nbytes and c.ops[0].lowered.views
    assert copied == {"strided_slice27", "strided_slice31"}


@needs_seanet
@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("op,name", MOVEMENT)
def test_movement_seanet(op, name, tmp_path):
    pytest.importorskip("tflite_micro")
    from harness import (as_bytes, build_host, check_bit_exact, random_inputs, run_host, tflm_arena,
                         tflm_run)
    from tinygen.codegen import generate

    model = (SEANET / op / f"{name}.tflite").read_bytes()
    gen = generate(model, tmp_path)
    x, gold = golden_pair(op, name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    inputs = [np.concatenate([x[None], random_inputs(gen, 6, rng)[0]])]
    spec = [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
    if _first_of_configuration(op, name):
        ours, theirs, gen = check_bit_exact(model, inputs, tmp_path)
        first = ours[0].view(np.int16)
    else:
        ours = as_bytes(run_host(build_host(tmp_path, sanitize=False, gen=gen), inputs, spec))
        theirs = as_bytes(tflm_run(model, inputs))
        first = ours[0].view(np.int16)
    assert np.array_equal(first, gold), "differs from TFLite-Micro's golden output"
    assert int(np.count_nonzero(ours != theirs)) == 0
    assert gen.arena_bytes <= tflm_arena(model)["head"]
