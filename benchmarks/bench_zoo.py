#!/usr/bin/env python3
"""Speed, memory and code size over the zoo on the Cortex-M7 twin, next to TFLite-Micro + CMSIS-NN.

    python benchmarks/bench_zoo.py [--big] [--models a,b,...] [--samples N] [--json FILE]

For each model (the two 1D anchors of shared/anchors, the Keras zoo of benchmarks/zoo.py and the
default vibration model that `tinygen build` trains), it generates C, builds the twin firmware of
board stm32h7 (QEMU mps2-an500, Cortex-M7, arm-none-eabi-gcc), then
  - counts the instructions of one inference with unicorn (tinygen.validate.instructions): the
    network, and the FFT front end separately for the vibration model. INSTRUCTIONS ON AN
    EMULATOR, NOT CYCLES;
  - runs --samples inputs through the same ELF under QEMU (tinygen validate) and compares every
    output byte with TFLite-Micro (the front end with its integer Python twin);
  - reports MACs, instructions per MAC, the ratio to issue 6's TFLM+CMSIS-NN anchor row, tinygen's
    arena and the liveness lower bound, TFLite-Micro's activation arena ("head"), runtime code
    bytes (ELF text minus the model's constant arrays found in the ELF: kernels, invoke, startup,
    UART protocol and harness) and those constant bytes.
ResNet-8 and the 96x96 MobileNet need --big (tens of millions of emulated instructions).
Measured figures are printed, never asserted; the issue's targets are printed beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import zoo  # noqa: E402

BOARD = "stm32h7"
BIG = ("resnet8", "mobilenet_96")
VIBRATION = "vibration_default"
VIBRATION_BUDGET = 480_000     # issue 6: front end + network per inference


def vibration_model() -> tuple[Path, Path]:
    """The default model `tinygen build` trains (synthetic data, seed 0), trained once and cached."""
    d = zoo.cache_dir() / "vibration_default"
    model, feats = d / "student_int8.tflite", d / "features.json"
    if not (model.is_file() and feats.is_file()):
        from tinygen.train.pipeline import train

        print(f"training the default vibration model into {d} (once)...", file=sys.stderr)
        r = train(d, seed=0)
        model, feats = Path(r.tflite_path), Path(r.features_path)
    return model, feats


def model_file(name: str) -> tuple[Path, Path | None]:
    if name == VIBRATION:
        return vibration_model()
    if name in zoo.ANCHOR_ROWS:
        return zoo.ANCHORS / f"{name}.tflite", None
    data = zoo.zoo_model(name)
    path = zoo.cache_dir() / f"{name}.tflite"
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return path, None


def anchor_row(name: str):
    if name in zoo.ANCHOR_ROWS:
        return zoo.ANCHOR_ROWS[name]
    return (zoo.KERAS_ZOO.get(name) or (None, None))[1]


def text_bytes(elf: Path) -> int:
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return int(out.splitlines()[1].split()[0])


def model_const_bytes(elf: Path, name: str = "model") -> int:
    """Flash bytes of the model's constant arrays that made it into the ELF: `<name>_op<i>_<suffix>`
    objects (weights, biases, requantisation records, parameter structs). The linker drops the
    ones the specialised kernels fold away, so this is less than tinygen's emitted total."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    pat = re.compile(rf"^{re.escape(name)}_op\d+_(?!run)\w+$")
    total = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and pat.match(parts[3]):
            total += int(parts[1], 16)
    return total


def measure(name: str, work: Path, samples: int) -> dict:
    from harness import tflm_arena

    from tinygen.codegen import compile_model
    from tinygen.commands.bench import measure as count
    from tinygen.builder import build_twin_firmware
    from tinygen.validate import run_emulated

    model, feats = model_file(name)
    compiled = compile_model(model)
    elf = build_twin_firmware(BOARD, model, work / name, feats)
    c = count(BOARD, model, feats, elf=elf)
    exact = None
    if samples:
        rep = run_emulated(BOARD, elf, model, feats, samples=samples)
        exact = dict(samples=rep.requested, bit_exact=rep.bit_exact,
                     differing_bytes=rep.differing_bytes)
    row = anchor_row(name)
    text = text_bytes(elf)
    consts = model_const_bytes(elf)
    return dict(
        model=name, macs=compiled.macs, anchor_macs=row[0] if row else None,
        network=c["network_instructions"], front_end=c["front_end_instructions"],
        instr_per_mac=c["network_instructions"] / compiled.macs if compiled.macs else None,
        tflm_cmsis=row[1] if row else None, tflm_ref=row[2] if row else None,
        tflm_arena32=row[3] if row else None,
        ratio=c["network_instructions"] / row[1] if row else None,
        # per MAC against the anchor's per MAC: comparable even where the model sizes differ
        ratio_per_mac=((c["network_instructions"] / compiled.macs) / (row[1] / row[0])
                       if row and compiled.macs else None),
        arena=compiled.plan.arena_bytes, bound=compiled.facts_lower_bound,
        tflm_head=tflm_arena(model.read_bytes()).get("head"),
        text=text, weights=consts, weights_emitted=compiled.weight_bytes, code=text - consts,
        exact=exact, elf=str(elf))


def verdicts(r: dict) -> list[str]:
    out = []
    if r["ratio"] is not None:
        limit = 0.3 if r["model"] in zoo.ANCHOR_ROWS else 0.7
        out.append(f"{'MET' if r['ratio'] <= limit else 'NOT MET'}: {r['ratio']:.3f}x <= {limit}x "
                   f"TFLM+CMSIS-NN ({int(limit * r['tflm_cmsis']):,} instructions)"
                   + ("" if r["anchor_macs"] == r["macs"] else
                      f"; per MAC {r['ratio_per_mac']:.2f}x (model has {r['macs']:,} MACs, the "
                      f"anchor row {r['anchor_macs']:,})"))
    if r["macs"] >= 1_000_000 and r["instr_per_mac"] is not None:
        out.append(f"{'MET' if r['instr_per_mac'] <= 1.5 else 'NOT MET'}: "
                   f"{r['instr_per_mac']:.2f} instr/MAC <= 1.5 (limit 0.5: {r['instr_per_mac'] / 0.5:.1f}x of it)")
    if r["model"] in zoo.ANCHOR_ROWS:
        out.append(f"{'MET' if r['code'] < 10240 else 'NOT MET'}: code {r['code']:,} B < 10,240 B")
    if r["model"] == VIBRATION:
        total = r["network"] + (r["front_end"] or 0)
        out.append(f"{'MET' if total < VIBRATION_BUDGET else 'NOT MET'}: front end + network "
                   f"{total:,} < {VIBRATION_BUDGET:,} instructions")
    out.append(f"{'MET' if r['arena'] <= r['bound'] else 'NOT MET'}: arena {r['arena']:,} B <= "
               f"liveness bound {r['bound']:,} B")
    if r["exact"] is not None:
        e = r["exact"]
        out.append(f"{'MET' if e['differing_bytes'] == 0 else 'NOT MET'}: {e['bit_exact']}/"
                   f"{e['samples']} samples bit-exact vs TFLite-Micro, {e['differing_bytes']} "
                   "differing bytes")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", help="comma-separated (default: anchors, the zoo without the big "
                    f"ones, {VIBRATION})")
    ap.add_argument("--big", action="store_true", help=f"also {', '.join(BIG)}")
    ap.add_argument("--samples", type=int, default=4,
                    help="inputs checked against TFLite-Micro on QEMU per model (0: skip)")
    ap.add_argument("--json", type=Path, help="also save the rows as JSON")
    args = ap.parse_args()
    if args.models:
        names = [n for n in args.models.split(",") if n]
    else:
        names = list(zoo.ANCHOR_ROWS) + [n for n in zoo.KERAS_ZOO if args.big or n not in BIG]
        names.append(VIBRATION)
    work = Path(tempfile.mkdtemp(prefix="tinygen-zoo-"))
    rows = []
    for n in names:
        print(f"... {n}", file=sys.stderr, flush=True)
        rows.append(measure(n, work, args.samples))

    print("INSTRUCTIONS EXECUTED ON AN EMULATOR (unicorn running the Cortex-M7 twin's ELF), NOT "
          "CYCLES; arm-none-eabi-gcc 12.2, board stm32h7 -> QEMU mps2-an500")
    head = (f"{'model':<18} {'MACs':>10} {'front end':>9} {'network':>11} {'i/MAC':>6} "
            f"{'TFLM+CMSIS':>11} {'ratio':>6} {'r/MAC':>6} {'TFLM ref':>11} {'arena':>7} {'bound':>7} "
            f"{'TFLM head':>9} {'TFLM32':>7} {'code B':>7} {'weights B':>9} {'exact':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        def f(v, spec=","):
            return "-" if v is None else format(v, spec)
        ex = "-" if r["exact"] is None else ("yes" if r["exact"]["differing_bytes"] == 0 else "NO")
        print(f"{r['model']:<18} {r['macs']:>10,} {f(r['front_end']):>9} {r['network']:>11,} "
              f"{f(r['instr_per_mac'], '.2f'):>6} {f(r['tflm_cmsis']):>11} "
              f"{('-' if r['ratio'] is None else format(r['ratio'], '.3f') + 'x'):>6} "
              f"{('-' if r['ratio_per_mac'] is None else format(r['ratio_per_mac'], '.2f') + 'x'):>6} "
              f"{f(r['tflm_ref']):>11} {r['arena']:>7,} {r['bound']:>7,} {f(r['tflm_head']):>9} "
              f"{f(r['tflm_arena32']):>7} {r['code']:>7,} {r['weights']:>9,} {ex:>6}")
    print("ratio = network instructions / TFLM+CMSIS-NN instructions of the issue's row; r/MAC = "
          "the same per MAC (instr/MAC over the row's instr/MAC), for rows whose model size differs.")
    print("MACs: conv/depthwise/FC multiply-accumulates as tinygen counts them (the issue's MAC "
          "column where it differs: " + ", ".join(f"{r['model']} {r['anchor_macs']:,}" for r in rows
                                                   if r["anchor_macs"] and r["anchor_macs"] != r["macs"])
          + "); weights = the model's constant arrays in the ELF (weights, biases, requantisation "
          "records; arrays the specialised kernels fold away are dropped by the linker); code = "
          "ELF text - weights (kernels, invoke, startup, UART protocol and harness); TFLM32 = "
          "TFLM arena on the 32-bit target (issue 6).")
    print()
    for r in rows:
        for v in verdicts(r):
            print(f"{r['model']:<18} {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
