"""Recurrent models nobody on this team made: TFLite-Micro's LSTM and SVDF examples
(../shared/corpus/tflm/examples/). Over 20 invocations with the state carried, our generated C
(portable and DSP kernel paths, ASan + UBSan) equals TFLite-Micro byte for byte; records 10..19
repeat records 0..9 after a reset, so model_reset() must restore the start exactly.
The final outputs of these models can hide the state (a 28-step LSTM washes it out, the keyword
model's softmax saturates on random input: measured equal with and without a reset), so each
model's first recurrent op also runs alone (the model cut to that op): there TFLite-Micro run
without the reset must differ, i.e. the state is visible and the test can fail.

The LSTM ops also run with their int8 weights re-drawn at random (TINYGEN_LSTM_REDRAWS, default
1 per model; the graph, shapes and quantization stay TFLite's own).
keyword_scrambled*: whole models (int16 input QUANTIZE, SVDFs, int8 -> int16 SOFTMAX, int32
output QUANTIZE).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "corpus" / "tflm" / "examples"
REDRAWS = int(os.environ.get("TINYGEN_LSTM_REDRAWS", "1"))
LSTM = ["trained_lstm_int8", "micro_speech_lstm", "dtln_noise_suppression"]
SVDF = ["keyword_scrambled", "keyword_scrambled_8bit"]
HALF = 10          # 2 x HALF = 20 invocations per sequence
FIRST_RECURRENT = {"trained_lstm_int8": 0, "micro_speech_lstm": 0, "dtln_noise_suppression": 0,
                   "keyword_scrambled": 1, "keyword_scrambled_8bit": 1}

needs_corpus = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/corpus not present")


def _model(name: str) -> bytes:
    return (EXAMPLES / f"{name}.tflite").read_bytes()


def check_sequence(model: bytes, tmp_path: Path, seed: int, state_visible: bool):
    from harness import as_bytes, check_bit_exact, random_inputs, tflm_run
    from tinygen.codegen import compile_model

    half = random_inputs(compile_model(model), HALF, np.random.default_rng(seed))
    inputs = [np.concatenate([b, b]) for b in half]
    ours, theirs, gen = check_bit_exact(model, inputs, tmp_path, resets={HALF})
    assert ours.shape[0] == 4 * HALF
    assert int(np.count_nonzero(ours != theirs)) == 0
    for path in (ours[:2 * HALF], ours[2 * HALF:]):           # portable, DSP
        assert np.array_equal(path[HALF:], path[:HALF]), "model_reset() did not restore the start"
    if state_visible:
        carried = as_bytes(tflm_run(model, inputs))
        assert not np.array_equal(carried[HALF:], carried[:HALF]), "state unseen: test is blind"
    return gen


@needs_corpus
@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("name", LSTM + SVDF)
def test_recurrent_model_sequence(name, tmp_path):
    pytest.importorskip("tflite_micro")
    gen = check_sequence(_model(name), tmp_path, seed=len(name), state_visible=False)
    assert gen.state_bytes > 0


def _first_op(name: str) -> bytes:
    from tflite_edit import slice_ops

    i = FIRST_RECURRENT[name]
    return slice_ops((EXAMPLES / f"{name}.tflite").read_bytes(), i, i)


@needs_corpus
@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("name", LSTM + SVDF)
def test_recurrent_op_state_is_carried(name, tmp_path):
    pytest.importorskip("tflite_micro")
    # keyword_scrambled_8bit's first SVDF gives the same bytes with and without a reset on random
    # input (measured: its outputs sit at -1/0); its int16-state twin shows the state
    check_sequence(_first_op(name), tmp_path, seed=7, state_visible=name != "keyword_scrambled_8bit")


@needs_corpus
@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("name", LSTM)
@pytest.mark.parametrize("draw", range(REDRAWS))
def test_lstm_with_redrawn_weights(name, draw, tmp_path):
    pytest.importorskip("tflite_micro")
    from tflite_edit import redraw_weights

    model = redraw_weights(_first_op(name), np.random.default_rng(100 + draw))
    # uniformly random weights can saturate every gate (a constant output): exactness and the
    # reset are checked, state visibility only on TFLite's own weights (above)
    check_sequence(model, tmp_path, seed=draw, state_visible=False)


@needs_corpus
def test_lstm_state_layout():
    """Hidden (int8) and cell (int16) state per LSTM, each word aligned, in the state area;
    the gate buffers are arena scratch (four int16 vectors), not stack."""
    from tinygen.codegen import compile_model

    c = compile_model(EXAMPLES / "dtln_noise_suppression.tflite")
    assert c.state_bytes == 2 * (128 + 2 * 128)
    lstm = [o for o in c.ops if o.op.type.value == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert [o.lowered.scratch_bytes for o in lstm] == [4 * 128 * 2] * 2
