"""Golden files: the generated C for the two anchor models, byte for byte.

Only what tinygen generates is stored (model.c, model.h) plus the list of files it emits (the
kernels themselves are copied verbatim from firmware/). A change to templates or lowering shows
up here as a readable diff; when it is intended, refresh explicitly:
    TINYGEN_UPDATE_GOLDEN=1 python3 -m pytest tests/test_golden.py
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinygen.codegen import generate

GOLDEN = Path(__file__).resolve().parent / "golden"
ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
UPDATE = os.environ.get("TINYGEN_UPDATE_GOLDEN") == "1"
GENERATED = ("model.c", "model.h")


@pytest.mark.parametrize("anchor", ["cnn_fft_flatten", "cnn_raw_stride"])
def test_generated_sources_match_golden(anchor, tmp_path):
    model = ANCHORS / f"{anchor}.tflite"
    if not model.is_file():
        pytest.skip("shared/anchors not present")
    generate(model, tmp_path)
    files = "\n".join(sorted(p.name for p in tmp_path.iterdir())) + "\n"
    want_dir = GOLDEN / anchor
    if UPDATE:
        want_dir.mkdir(parents=True, exist_ok=True)
        (want_dir / "FILES").write_text(files)
        for name in GENERATED:
            (want_dir / name).write_bytes((tmp_path / name).read_bytes())
    assert want_dir.is_dir(), "no golden files; create them with TINYGEN_UPDATE_GOLDEN=1"
    assert files == (want_dir / "FILES").read_text(), "the set of emitted files changed"
    for name in GENERATED:
        assert (tmp_path / name).read_text() == (want_dir / name).read_text(), \
            f"{anchor}/{name} differs from the golden file; if intended: TINYGEN_UPDATE_GOLDEN=1"
