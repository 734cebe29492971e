#!/usr/bin/env python3
"""Memory and generation time over the zoo: tinygen's arena against TFLite-Micro's.

    python benchmarks/bench_generate.py [--models a,b,...] [--json]

Prints per model: tinygen arena, liveness lower bound, TFLite-Micro activations ("head") and whole
arena (head + interpreter tail, 64-bit host), weights in flash, MACs, and generation wall time
(import + lower + plan + render + write; median of 3). Figures are measured, never asserted.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import zoo  # noqa: E402


def measure(name: str) -> dict:
    from harness import tflm_arena

    from tinygen.codegen import generate

    model = zoo.zoo_model(name)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            t0 = time.perf_counter()
            gen = generate(model, Path(tmp) / "gen")
            times.append(time.perf_counter() - t0)
    tflm = tflm_arena(model)
    return dict(model=name, arena=gen.arena_bytes, bound=gen.compiled.facts_lower_bound,
                tflm_head=tflm.get("head"), tflm_whole=tflm.get("head", 0) + tflm.get("tail", 0),
                weights=gen.weight_bytes, macs=gen.macs, ops=len(gen.compiled.ops),
                gen_ms=1000 * statistics.median(times))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(zoo.names()))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [measure(n) for n in args.models.split(",") if n]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    head = (f"{'model':<18} {'ops':>4} {'MACs':>11} {'weights B':>10} {'arena B':>9} "
            f"{'bound B':>9} {'TFLM head':>10} {'TFLM whole':>11} {'arena/head':>10} {'gen ms':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:<18} {r['ops']:>4} {r['macs']:>11,} {r['weights']:>10,} "
              f"{r['arena']:>9,} {r['bound']:>9,} {r['tflm_head']:>10,} {r['tflm_whole']:>11,} "
              f"{r['arena'] / r['tflm_head']:>10.2f} {r['gen_ms']:>8.1f}")
    print("\narena = tinygen's whole RAM for activations (input and output included); TFLM whole = "
          "head + interpreter tail on this 64-bit host (FACTS.md gives 32-bit figures).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
