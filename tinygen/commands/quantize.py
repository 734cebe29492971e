"""`tinygen quantize model.keras [--data DIR] --out DIR`: int8 PTQ of your own Keras student."""
from __future__ import annotations

import argparse
from pathlib import Path

from .train import add_data_arguments, progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quantize", help="int8-quantize your own Keras student on tinygen features",
                       description="Compute the FFT front end's features for the data, quantize the "
                       "Keras model to full-integer int8 with a representative set of training "
                       "windows, and evaluate it with TFLite-Micro.")
    p.add_argument("model", type=Path, help="Keras model (.keras) taking the front end's features, "
                   "shape (n_bands, channels), e.g. (64, 1)")
    p.add_argument("--features", type=Path,
                   help="front end parameters (features.json) to reuse; default: calibrate anew")
    add_data_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.quantize import quantize
    from ..train.report import format_table

    from ..outdir import claim

    with claim(args.out, "quantize", force=args.force) as out:   # checked before any work
        out.keep(args.model, args.features, args.data)
        out.begin()
        result = quantize(args.model, out.root, args.data, args.sample_rate, args.channel,
                          args.window, args.seed, args.features, progress)
        out.commit()
    print(format_table(result.metrics))
    print(f"wrote {result.tflite_path}, {result.features_path}, {result.metrics_path}")
    return 0
