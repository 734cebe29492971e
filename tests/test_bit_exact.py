"""Property test: random int8 models -> generated C on the host == TFLite-Micro, byte for byte.
Models take and give int8, uint8 or float32 (a QUANTIZE first, a DEQUANTIZE last), as users'
models come; float outputs must be bit-identical too.

CI runs TINYGEN_MODELS models (default 30); the full run is
    TINYGEN_MODELS=250 python -m pytest tests/test_bit_exact.py -q
Every model is also checked for memory: arena <= TFLite-Micro's activation arena ("head"), and
equal to the plan's liveness lower bound when the model is a chain.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, reject, settings

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")

from harness import check_bit_exact, tflm_arena, to_int8_tflite  # noqa: E402
from model_zoo import build_keras, model_specs, representative  # noqa: E402
from tinygen.errors import UnsupportedOp  # noqa: E402

N_MODELS = int(os.environ.get("TINYGEN_MODELS", "30"))


def edge_inputs(size: int, rng: np.random.Generator, n_random: int = 12,
                dtype: str = "int8", scale: float = 1.0) -> np.ndarray:
    """The type's extremes and random records; float32 inputs get values half a quantum from a
    rounding step, either side of it, and far out of range (QUANTIZE clamps them)."""
    if dtype == "float32":
        k = rng.integers(-140, 140, size=(n_random, size)) + 0.5
        half = (k * np.float32(scale)).astype(np.float32)
        fixed = [np.full((1, size), 1e30), np.full((1, size), -1e30), np.zeros((1, size))]
        return np.concatenate([*fixed, half, np.nextafter(half, np.float32(np.inf)),
                               rng.normal(0.0, 2.0, size=(n_random, size))]).astype(np.float32)
    info = np.iinfo(dtype)
    fixed = np.array([np.full(size, info.min), np.full(size, info.max), np.zeros(size),
                      np.tile([info.min, info.max], size)[:size]])
    rand = rng.integers(info.min, int(info.max) + 1, size=(n_random, size))
    return np.concatenate([fixed, rand]).astype(dtype)


def is_chain(graph) -> bool:
    readers: dict[int, int] = {}
    for op in graph.ops:
        for t in op.inputs:
            if t >= 0 and not graph.tensor(t).is_const:
                readers[t] = readers.get(t, 0) + 1
    return all(n == 1 for n in readers.values())


@pytest.mark.tf
@settings(max_examples=N_MODELS, deadline=None, derandomize=os.environ.get("CI") == "true",
          suppress_health_check=list(HealthCheck), print_blob=True)
@given(spec=model_specs())
# Found by the 250-model run: an in-place max-pool that shrinks its tensor must not be forced
# when it raises the arena above TFLite-Micro's (planner in-place policies).
@example(spec={"two_d": False, "shape": (40, 1), "seed": 0, "pre": "relu", "head": "flatten",
               "units": 1, "final": "softmax",
               "layers": [{"kind": "maxpool", "pool": 2, "stride": 3, "padding": "same"},
                          {"kind": "conv", "kernel": 1, "dilation": 1, "stride": 1,
                           "padding": "same", "filters": 12, "multiplier": 1,
                           "activation": "linear", "batchnorm": False},
                          {"kind": "conv", "kernel": 1, "dilation": 1, "stride": 1,
                           "padding": "same", "filters": 1, "multiplier": 1,
                           "activation": "linear", "batchnorm": False}]})
def test_random_models_bit_exact(spec, tmp_path_factory):
    try:
        model = to_int8_tflite(build_keras(spec), representative(spec), spec.get("io", "int8"))
    except Exception as exc:  # TensorFlow's converter cannot convert a few shapes: not ours to test
        if "tinygen" in type(exc).__module__:
            raise
        reject()
    rng = np.random.default_rng(spec["seed"])
    from tinygen.importers.tflite import load_model

    graph = load_model(model)
    x = graph.tensor(graph.inputs[0])
    scale = x.scale if x.quant is not None else \
        graph.tensor(graph.ops[0].outputs[0]).scale      # a float input: its QUANTIZE's scale
    inputs = edge_inputs(x.size, rng, dtype=x.dtype, scale=scale)
    # typed form (a list of batches): ours and theirs are raw output bytes, float ones included
    try:
        ours, theirs, gen = check_bit_exact(model, [inputs], tmp_path_factory.mktemp("m"))
    except UnsupportedOp as exc:
        # A calibration that left a degenerate scale (a Dense(1) before a softmax that saw one
        # value): TFLite-Micro aborts on such a model, tinygen refuses it in one line. Nothing to
        # compare; any other refusal is a failure.
        if "aborts on it" in str(exc):
            reject()
        raise
    differing = int(np.count_nonzero(ours != theirs))
    assert differing == 0, f"{differing} differing bytes of {ours.size}; spec={spec}"

    # TFLM's head holds activations only (its reference kernels need no scratch); our arena also
    # holds the DSP kernels' scratch, so the bound is the head plus the largest scratch.
    head = tflm_arena(model)["head"]
    scratch = gen.compiled.scratch_bytes
    assert gen.arena_bytes <= head + scratch, \
        f"arena {gen.arena_bytes} > TFLM head {head} + scratch {scratch}; spec={spec}"
    if is_chain(graph):
        bound = gen.compiled.plan.lower_bound
        assert gen.arena_bytes == bound, f"chain arena {gen.arena_bytes} != bound {bound}"
