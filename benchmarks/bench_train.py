"""Time the default `tinygen train` end to end (a fresh process, as a user runs it) and print the
figures from its metrics.json. A benchmark prints; it never asserts timings.

    python benchmarks/bench_train.py [--out DIR] [--seed N]
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

TARGET_S = 120.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="run folder (default: a temporary folder)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="tinygen-bench-train-"))
    cmd = [sys.executable, "-m", "tinygen", "train", "--out", str(out), "--seed", str(args.seed)]
    print(f"$ {' '.join(cmd)}   ({os.cpu_count()} CPUs)", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode
    print(proc.stdout)
    m = json.loads((out / "metrics.json").read_text())
    acc, s = m["accuracy_test"], m["sizes"]
    unseen = (m.get("accuracy_unseen_machines") or {}).get("student_int8_tflm")
    rows = [
        ("wall time, whole command (s)", f"{wall:.1f}  (target < {TARGET_S:.0f}: "
                                         f"{'met' if wall < TARGET_S else 'MISSED'})"),
        ("  of which inside train() (s)", f"{m['wall_time_s']['total_s']:.1f}"),
        ("teacher float test acc", f"{100 * acc['teacher_float']:.2f} %"),
        ("student alone float test acc", f"{100 * acc['student_alone_float']:.2f} %"),
        ("student distilled float test acc", f"{100 * acc['student_distilled_float']:.2f} %"),
        ("student int8 (TFLM) test acc", f"{100 * acc['student_int8_tflm']:.2f} %"),
        ("int8 minus teacher", f"{m['int8_minus_teacher_pp']:+.2f} pp"),
        ("int8 on unseen machines", f"{100 * unseen:.2f} %" if unseen is not None else "n/a"),
        ("targets met", ", ".join(f"{k}={v}" for k, v in m["targets"].items())),
        ("student int8 weight bytes", str(s["student_int8_weight_bytes"])),
        ("student .tflite bytes", str(s["student_int8_tflite_bytes"])),
        ("TFLM arena (64-bit host)", f"{s['tflm_arena_bytes_host64']} B"),
        ("student MACs", str(m["macs"]["student"])),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"run folder: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
