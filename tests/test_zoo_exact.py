"""Real model shapes (keyword spotting, ResNet-8, MobileNet-style, FC autoencoder, streaming
1D DS-CNN, the two anchors): generated C == TFLite-Micro, and arena at the liveness bound."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import zoo  # noqa: E402
from harness import check_bit_exact, tflm_arena  # noqa: E402

from tinygen.importers.tflite import load_model  # noqa: E402

MODELS = [n for n in zoo.names() if n in zoo.KERAS_ZOO or (zoo.ANCHORS / f"{n}.tflite").is_file()]


@pytest.mark.tf
@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_bit_exact(name, tmp_path):
    model = zoo.zoo_model(name)
    graph = load_model(model)
    size = graph.tensor(graph.inputs[0]).size
    rng = np.random.default_rng(7)
    inputs = np.concatenate([rng.integers(-128, 128, size=(6, size)),
                             np.full((1, size), -128), np.full((1, size), 127)]).astype(np.int8)
    ours, theirs, gen = check_bit_exact(model, inputs, tmp_path)
    assert int(np.count_nonzero(ours != theirs)) == 0
    # Both bounds count activations only; the arena also holds the kernels' scratch.
    scratch = gen.compiled.scratch_bytes
    assert gen.arena_bytes <= gen.compiled.facts_lower_bound + scratch
    assert gen.arena_bytes <= tflm_arena(model)["head"] + scratch


# Arenas (kernel scratch included) with depthwise and pointwise layers run in place (issue 12):
# below TFLite-Micro's head (16,000 B and 55,296 B), which was the floor without in place.
INPLACE_ARENA = {"ds_cnn_kws": 8_812, "person_detect": 46_176}


@pytest.mark.tf
@pytest.mark.parametrize("name", sorted(INPLACE_ARENA))
def test_inplace_arena_below_the_liveness_bound(name):
    from tinygen.codegen import compile_model
    if name in zoo.CORPUS_ROWS and not (zoo.CORPUS / f"{name}.tflite").is_file():
        pytest.skip(f"{name}.tflite is not in ../shared/corpus")
    compiled = compile_model(zoo.zoo_model(name))
    assert compiled.plan.arena_bytes == INPLACE_ARENA[name]
    assert compiled.plan.arena_bytes < compiled.facts_lower_bound
    merged = {s.tensor for s in compiled.plan.sharing if s.reason == "in-place"}
    kinds = {c.lowered.template for c in compiled.ops if c.op.outputs[0] in merged}
    assert {"depthwise", "conv1d"} <= kinds
