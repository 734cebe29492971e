#!/usr/bin/env python3
"""Instructions per inference and per MAC of the 16x8 and recurrent models on the Cortex-M7 twin,
beside TFLite-Micro's arena.

    python3 benchmarks/bench_seq.py [--models a,b,...] [--json FILE]

Models: TFLite-Micro's own SEANet 16x8 convolutions (../shared/corpus/tflm/seanet/conv), its LSTM
examples (trained_lstm_int8, micro_speech_lstm, dtln_noise_suppression) and the SVDF keyword
model's SVDF/FC/SOFTMAX body (keyword_scrambled ops 1..13: its int16 QUANTIZE ends are issue 10's).
For each: generate C, build the stm32h7 twin firmware (QEMU mps2-an500, Cortex-M7,
arm-none-eabi-gcc, DSP path on), count the instructions of one inference with unicorn
(tinygen.commands.bench.measure; INSTRUCTIONS ON AN EMULATOR, NOT CYCLES), and print MACs,
instructions per MAC, tinygen's arena + state against TFLite-Micro's arena (head = activations and
scratch, tail = persistent interpreter data incl. variable tensors, 64-bit host figures).
Figures are printed, never asserted. A model the twin firmware cannot take yet (the serial
harness of firmware/harness/ is int8-only as of this writing: int16 I/O models) prints why.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus" / "tflm"
BOARD = "stm32h7"
MODELS = {
    "seanet_conv0": lambda: (CORPUS / "seanet/conv/conv0.tflite").read_bytes(),
    "seanet_conv4": lambda: (CORPUS / "seanet/conv/conv4.tflite").read_bytes(),
    "seanet_conv9": lambda: (CORPUS / "seanet/conv/conv9.tflite").read_bytes(),
    "seanet_conv15": lambda: (CORPUS / "seanet/conv/conv15.tflite").read_bytes(),
    "trained_lstm_int8": lambda: (CORPUS / "examples/trained_lstm_int8.tflite").read_bytes(),
    "micro_speech_lstm": lambda: (CORPUS / "examples/micro_speech_lstm.tflite").read_bytes(),
    "dtln_noise_suppression": lambda: (CORPUS / "examples/dtln_noise_suppression.tflite").read_bytes(),
    "keyword_scrambled_body": lambda: _slice("keyword_scrambled"),
    "keyword_scrambled_8bit_body": lambda: _slice("keyword_scrambled_8bit"),
}


def _slice(name: str) -> bytes:
    from tflite_edit import slice_ops

    return slice_ops((CORPUS / f"examples/{name}.tflite").read_bytes(), 1, 13)


def measure(name: str, work: Path) -> dict:
    from harness import tflm_arena

    from tinygen.codegen import compile_model
    from tinygen.commands.bench import measure as count
    from tinygen.validate import build_twin_firmware

    path = work / f"{name}.tflite"
    path.write_bytes(MODELS[name]())
    compiled = compile_model(path)
    elf = build_twin_firmware(BOARD, path, work / name)
    c = count(BOARD, path, None, elf=elf)
    tflm = tflm_arena(path.read_bytes())
    n = c["network_instructions"]
    return dict(model=name, macs=compiled.macs, instructions=n,
                per_mac=n / compiled.macs if compiled.macs else None,
                arena=compiled.plan.arena_bytes, state=compiled.state_bytes,
                weights=compiled.weight_bytes, tflm_head=tflm.get("head"), tflm_tail=tflm.get("tail"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_seq_") as tmp:
        from tinygen.errors import TinygenError

        for name in args.models.split(","):
            try:
                r = measure(name, Path(tmp))
            except TinygenError as err:   # shown, not hidden: e.g. the twin harness's I/O types
                print(f"{name:30s} NOT MEASURED: {str(err)[:300]}", flush=True)
                continue
            rows.append(r)
            print(f"{r['model']:30s} MACs {r['macs']:>10,}  instructions {r['instructions']:>12,}  "
                  f"instr/MAC {r['per_mac'] or 0:6.2f}  arena {r['arena']:>7,} B + state "
                  f"{r['state']:>6,} B  weights {r['weights']:>8,} B  TFLM head {r['tflm_head']:>7,} B"
                  f" tail {r['tflm_tail']:>7,} B", flush=True)
    print("Counts are instructions on the Cortex-M7 twin (unicorn), not cycles.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
