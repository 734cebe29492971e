"""Fuzz `tinygen generate` / `tinygen analyze` with mutated real models (tests/fuzz/).

By default a fixed-seed campaign of 300 mutants runs here (about two minutes on 2 cores), and 3 of
the accepted ones are compiled with ASan + UBSan, run, and compared with TFLite-Micro. The long run:

    TINYGEN_FUZZ=10000 python3 -m pytest tests/test_fuzz.py -q -s

(TINYGEN_FUZZ_SEED picks another campaign, TINYGEN_FUZZ_SANITIZE how many accepted mutants
stage 2 compiles: 3, or 40 from 1,000 mutants on; TINYGEN_FUZZ_REPORT=file.json keeps the
whole report.) `python3 tests/fuzz/campaign.py --mutants N --save DIR` runs the same outside
pytest and keeps the failing mutants.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fuzz.campaign import FAILURES, format_report, run_campaign
from fuzz.mutate import load_seeds

MUTANTS = int(os.environ.get("TINYGEN_FUZZ", "300"))
SEED = int(os.environ.get("TINYGEN_FUZZ_SEED", "1"))
SANITIZE = int(os.environ.get("TINYGEN_FUZZ_SANITIZE", "3" if MUTANTS < 1000 else "40"))
REPORT = os.environ.get("TINYGEN_FUZZ_REPORT")   # also write the full report (JSON) here


@pytest.mark.host
@pytest.mark.tf
def test_mutated_models_never_crash_hang_or_miscompile():
    seeds = load_seeds()
    if not any(s.name.startswith("anchors/") for s in seeds):
        pytest.skip("shared/anchors not present")
    rep = run_campaign(MUTANTS, campaign_seed=SEED, workers=2, sanitize=SANITIZE)
    print("\n" + format_report(rep))
    if REPORT:
        Path(REPORT).write_text(json.dumps(rep, indent=1))
    counts = rep["counts"]
    assert sum(counts.values()) == MUTANTS
    assert {k: counts.get(k, 0) for k in FAILURES} == {k: 0 for k in FAILURES}, rep["failures"]
    # The campaign must reach the compiler, not only the parser: both outcomes occur.
    assert counts.get("accepted", 0) >= MUTANTS // 50 and counts.get("refused", 0) >= MUTANTS // 2
    rows = rep["stage2"]["rows"]
    assert len(rows) == SANITIZE
    bad = [r for r in rows if r["result"] in ("finding", "differs", "timeout")]
    assert not bad, bad
    assert any(r["result"] == "bit-exact" for r in rows)
