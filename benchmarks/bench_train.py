"""Training figures for the README. A benchmark prints; it never asserts timings.

1. The default `tinygen train`, timed end to end in a fresh process, as a user runs it.
2. The seed study: the same data and split (data seed 0, held-out machines and speed), trained
   from N weight initialisations (teacher and both students each time), so every figure is a
   mean ± std over N seeds: teacher vs student alone, the distillation gain, int8.

    python benchmarks/bench_train.py [--study N] [--skip-default] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = (("teacher_float", "teacher (float)"), ("student_alone_float", "student alone (float)"),
        ("student_distilled_float", "student distilled (float)"),
        ("student_int8_tflm", "deployed student, int8 (TFLM)"))


def default_run(out: Path) -> dict:
    cmd = [sys.executable, "-m", "tinygen", "train", "--out", str(out)]
    print(f"$ {' '.join(cmd)}   ({os.cpu_count()} CPUs)", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(proc.returncode)
    print(proc.stdout)
    m = json.loads((out / "metrics.json").read_text())
    print(f"wall time, whole command: {wall:.1f} s (inside train(): {m['wall_time_s']['total_s']:.1f} s)")
    return {"wall_s": round(wall, 1), "metrics": m}


def study(n: int, out: Path) -> dict:
    from tinygen.train.pipeline import TrainOptions, train
    runs = []
    for k in range(n):
        t0 = time.perf_counter()
        r = train(out / f"init{k}", seed=0, options=TrainOptions(init_seed=k, seeds=1, size_table=False))
        runs.append(r.metrics)
        acc = r.metrics["accuracy_test"]
        print(f"init seed {k}: " + ", ".join(f"{key} {100 * acc[key]:.2f} %" for key, _ in ROWS)
              + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return summarise(runs)


def _ms(values) -> dict:
    v = 100 * np.asarray(values, dtype=float)
    return {"mean": round(float(v.mean()), 2), "std": round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 2)}


def summarise(runs: list[dict]) -> dict:
    out = {"seeds": len(runs), "windows": runs[0]["windows"], "holdout": runs[0]["holdout"]}
    for split in ("accuracy_test", "accuracy_in_distribution", "validation_accuracy"):
        if split not in runs[0]:
            continue
        keys = runs[0][split].keys()
        out[split] = {k: _ms([r[split][k] for r in runs]) for k in keys}
    for split in ("accuracy_test", "accuracy_in_distribution"):
        if split in runs[0]:
            d = [r[split]["student_distilled_float"] - r[split]["student_alone_float"] for r in runs]
            t = [r[split]["teacher_float"] - r[split]["student_alone_float"] for r in runs]
            out[f"distillation_gain_{split}"] = _ms(d)
            out[f"teacher_minus_alone_{split}"] = _ms(t)
            out[f"teacher_beats_alone_{split}"] = sum(x > 0 for x in t)
    out["deployed"] = [r["deployed_student"] for r in runs]
    return out


def print_study(s: dict) -> None:
    print(f"\nseed study: {s['seeds']} weight seeds, one data split; test = held-out recordings "
          f"({' '.join(s['holdout'])}), {s['windows']['test']} windows")
    print(f"{'':34} {'test (held out)':>18} {'in-distribution':>18}")
    for key, title in ROWS:
        cells = [f"{s[sp][key]['mean']:.2f} ± {s[sp][key]['std']:.2f} %" if sp in s else "-"
                 for sp in ("accuracy_test", "accuracy_in_distribution")]
        print(f"{title:34} {cells[0]:>18} {cells[1]:>18}")
    for name, key in (("distillation gain (distilled - alone)", "distillation_gain"),
                      ("teacher - student alone", "teacher_minus_alone")):
        cells = [f"{s[f'{key}_{sp}']['mean']:+.2f} ± {s[f'{key}_{sp}']['std']:.2f} pp"
                 if f"{key}_{sp}" in s else "-" for sp in ("accuracy_test", "accuracy_in_distribution")]
        print(f"{name:34} {cells[0]:>18} {cells[1]:>18}")
    print(f"teacher beats the student alone on the test set in "
          f"{s['teacher_beats_alone_accuracy_test']}/{s['seeds']} seeds; deployed: {s['deployed']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="folder for the runs (default: a temporary folder)")
    ap.add_argument("--study", type=int, default=5, help="weight seeds in the study (5; 0 skips it)")
    ap.add_argument("--skip-default", action="store_true", help="skip the timed default run")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="tinygen-bench-train-"))
    result = {}
    if not args.skip_default:
        result["default"] = default_run(out / "default")
    if args.study:
        result["study"] = study(args.study, out)
        print_study(result["study"])
    dst = Path(__file__).parent / "results" / "train.json"
    dst.write_text(json.dumps({k: (v if k != "default" else {"wall_s": v["wall_s"],
                                                              "accuracy_test": v["metrics"]["accuracy_test"]})
                               for k, v in result.items()}, indent=2) + "\n")
    print(f"results: {dst}; runs: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
