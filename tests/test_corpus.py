"""Models nobody on this team made: TensorFlow Lite Micro's own example models (../shared/corpus).

Each model either compiles and matches TFLite-Micro byte for byte on random inputs of its own
input types (both kernel paths, ASan+UBSan), or is refused in one line that says why. CORPUS is the
one statement of which is which; the README's corpus table is checked against it, so the docs
cannot promise more than the tests show. Recurrent and int16 models have their own tests
(tests/test_corpus_recurrent.py, tests/test_corpus_seanet.py) once their kernels exist.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "corpus" / "tflm" / "examples"
README = ROOT / "README.md"

# file -> ("exact", records to run) or ("refused", regex the one-line error must match, why)
CORPUS = {
    "hello_world_int8.tflite": ("exact", 64),
    "simple_add_model.tflite": ("exact", 8),
    "micro_speech_quantized.tflite": ("exact", 16),
    "person_detect.tflite": ("exact", 4),
    "hello_world_float.tflite": ("refused", r"computes in floating point", "a float model"),
    "audio_preprocessor_int8.tflite": ("refused", r"CUSTOM 'SignalWindow'.*CUSTOM 'SignalRfft'",
                                       "TFLite-Micro signal-library custom ops"),
    "mobilenet_v2_quantized_1x3x224x224.tflite": ("refused", r"TRANSPOSE", "TRANSPOSE not yet"),
    "trained_lstm_int8.tflite": ("refused", r"UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM not yet"),
    "micro_speech_lstm.tflite": ("refused", r"UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM not yet"),
    "dtln_noise_suppression.tflite": ("refused", r"UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM not yet"),
    "keyword_scrambled.tflite": ("refused", r"SVDF", "SVDF not yet"),
    "keyword_scrambled_8bit.tflite": ("refused", r"SVDF", "SVDF not yet"),
}

needs_corpus = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/corpus not present")


@needs_corpus
def test_corpus_list_is_complete():
    assert sorted(p.name for p in EXAMPLES.glob("*.tflite")) == sorted(CORPUS)


@needs_corpus
@pytest.mark.parametrize("name", sorted(n for n, e in CORPUS.items() if e[0] == "refused"))
def test_refused_in_one_line(name):
    from tinygen.codegen import compile_model
    from tinygen.errors import TinygenError

    with pytest.raises(TinygenError) as err:
        compile_model(EXAMPLES / name)
    msg = str(err.value)
    assert "\n" not in msg and re.search(CORPUS[name][1], msg), msg


@needs_corpus
@pytest.mark.tf
@pytest.mark.host
@pytest.mark.parametrize("name", sorted(n for n, e in CORPUS.items() if e[0] == "exact"))
def test_bit_exact_with_tflite_micro(name, tmp_path):
    pytest.importorskip("tflite_micro")
    from harness import check_bit_exact, random_inputs, tflm_arena
    from tinygen.codegen import compile_model

    model = (EXAMPLES / name).read_bytes()
    compiled = compile_model(model)
    inputs = random_inputs(compiled, CORPUS[name][1], np.random.default_rng(7))
    ours, theirs, gen = check_bit_exact(model, inputs, tmp_path)
    assert int(np.count_nonzero(ours != theirs)) == 0
    assert gen.arena_bytes <= tflm_arena(model)["head"]


@needs_corpus
def test_readme_corpus_table_matches():
    text = README.read_text()
    m = re.search(r"<!-- corpus-table:begin -->\n(.*?)\n<!-- corpus-table:end -->", text, re.S)
    assert m, "README lacks the corpus table markers"
    rows = {}
    for line in m.group(1).splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1]
    assert set(rows) == set(CORPUS)
    for name, exp in CORPUS.items():
        want = "bit-exact" if exp[0] == "exact" else "refused"
        assert rows[name].startswith(want), f"README says {rows[name]!r} for {name}, tests show {want}"
