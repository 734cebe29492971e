"""TFLite-Micro's SEANet integration-test models (../shared/corpus/tflm/seanet/, 16x8: int16
activations, int8 weights), one op each: our output equals TFLite-Micro's golden CSV for its input
CSV, and TFLite-Micro itself on random inputs of the model's own types, byte for byte (portable
and DSP kernel paths, ASan+UBSan). Rows: add, sub, leaky_relu, quantize (issue 10, arithmetic
half); the issue-11 engineer adds conv and transpose_conv.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from harness import check_bit_exact, random_inputs

SEANET = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "tflm" / "seanet"
OPS = ("add", "sub", "leaky_relu", "quantize")
# Every model of an op in the full run (TINYGEN_SEANET_ALL=1); by default the first 3 of each.
ALL = os.environ.get("TINYGEN_SEANET_ALL") == "1"


def _models(op: str) -> list[Path]:
    found = sorted((SEANET / op).glob("*.tflite"), key=lambda p: (len(p.stem), p.stem))
    return found if ALL else found[:3]


def _csv(path: Path, dtype) -> np.ndarray:
    return np.array([int(v) for v in path.read_text().replace("\n", ",").split(",") if v.strip()],
                    dtype=dtype)


CASES = [(op, p) for op in OPS for p in (_models(op) if SEANET.is_dir() else [])]


def test_corpus_is_present():
    assert SEANET.is_dir(), f"{SEANET} is missing (CI lays shared/ beside the checkout)"
    for op in OPS:
        assert _models(op), f"no {op} models in {SEANET / op}"


@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("op,model", CASES, ids=[p.stem for _, p in CASES])
def test_seanet_model(op, model, tmp_path):
    from tinygen.codegen import generate

    buf = model.read_bytes()
    gen = generate(buf, tmp_path / "probe")
    golden_inputs = [_csv(p, np.dtype(io.dtype)) for io, p in
                     zip(gen.inputs, sorted(model.parent.glob(f"{model.stem}_input*_*.csv")))]
    rng = np.random.default_rng(len(model.stem))
    batches = random_inputs(gen, 6, rng)
    if len(golden_inputs) == len(gen.inputs):
        batches = [np.concatenate([g.reshape(1, -1), b]) for g, b in zip(golden_inputs, batches)]
    ours, theirs, _ = check_bit_exact(buf, batches, tmp_path / "gen")
    differing = int(np.count_nonzero(ours != theirs))
    assert differing == 0, f"{model.name}: {differing} differing bytes of {ours.size}"
    goldens = sorted(model.parent.glob(f"{model.stem}_golden_*.csv"))
    if len(golden_inputs) == len(gen.inputs) and goldens:
        want = _csv(goldens[0], np.dtype(gen.outputs[0].dtype)).view(np.uint8)
        assert np.array_equal(ours[0][:want.size], want), f"{model.name}: differs from the golden CSV"
