"""Instructions of one inference on the emulated Cortex-M7 (and M4) twin, next to each model's MACs.

    python benchmarks/bench_instructions.py [--model student_int8.tflite [--features features.json]]
                                            [--board stm32h7] [--save benchmarks/results/instructions.json]

Counts come from `tinygen bench` (unicorn runs the twin's ELF, counting every executed instruction
between the protocol's markers): front end and network separately. They are instructions on an
emulator, not cycles. The TFLite-Micro anchors (FACTS.md, same core, same compiler, counted with a
QEMU TCG plugin) are printed beside them. Measured figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANCHORS = Path(os.environ.get("TINYGEN_ANCHORS", Path(__file__).resolve().parents[2] / "shared" / "anchors"))
# FACTS.md / issue 6: TFLite-Micro (2026-08) on the emulated Cortex-M7, one Invoke.
TFLM = {
    "cnn_fft_flatten.tflite": {"cmsis_nn": 141_669, "ref": 374_497},
    "cnn_raw_stride.tflite": {"cmsis_nn": 727_225, "ref": 2_061_964},
}


def zoo(args) -> list[tuple[str, Path, Path | None]]:
    models = []
    if args.model:
        models.append(("default model", args.model, args.features or _beside(args.model)))
    for name in TFLM:
        if (ANCHORS / name).is_file():
            models.append((name, ANCHORS / name, None))
    fx = ROOT / "tests" / "fixtures"
    models.append(("validate_cnn_fe (test fixture)", fx / "validate_cnn_fe.tflite",
                   fx / "validate_cnn_fe.features.json"))
    return models


def _beside(model: Path) -> Path | None:
    p = model.with_name("features.json")
    return p if p.is_file() else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="the default (trained) model; features.json beside it is used")
    ap.add_argument("--features", type=Path)
    ap.add_argument("--board", action="append", help="boards (default: stm32h7 and stm32f4)")
    ap.add_argument("--save", type=Path, default=ROOT / "benchmarks" / "results" / "instructions.json")
    args = ap.parse_args()
    boards = args.board or ["stm32h7", "stm32f4"]

    from tinygen.commands.bench import measure
    from tinygen.errors import TinygenError

    rows = []
    work = Path(tempfile.mkdtemp(prefix="tinygen-bench-"))
    print("INSTRUCTIONS EXECUTED ON AN EMULATOR (unicorn, the twin's ELF), NOT CYCLES")
    head = f"{'model':32} {'board':8} {'MACs':>9} {'front end':>10} {'network':>10} {'instr/MAC':>9} {'TFLM+CMSIS-NN':>13} {'ratio':>6}"
    print(head)
    print("-" * len(head))
    for label, model, feats in zoo(args):
        for board in boards:
            try:
                r = measure(board, model, feats, out=work / f"{model.stem}-{board}")
            except TinygenError as exc:
                print(f"{label:32} {board:8} skipped: {exc}")
                continue
            anchor = TFLM.get(model.name, {}).get("cmsis_nn") if board == "stm32h7" else None
            ratio = f"{r['network_instructions'] / anchor:.2f}x" if anchor else "-"
            fe = f"{r['front_end_instructions']:,}" if r["front_end_instructions"] is not None else "-"
            ipm = f"{r['instructions_per_mac']:.2f}" if r["instructions_per_mac"] else "-"
            print(f"{label:32} {board:8} {r['macs']:>9,} {fe:>10} {r['network_instructions']:>10,} "
                  f"{ipm:>9} {(f'{anchor:,}' if anchor else '-'):>13} {ratio:>6}")
            r.pop("elf", None)
            r["model"] = Path(r["model"]).name
            r.update({"label": label, "tflm_cmsis_nn": anchor,
                      "tflm_ref": TFLM.get(model.name, {}).get("ref") if board == "stm32h7" else None})
            rows.append(r)
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"saved {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
