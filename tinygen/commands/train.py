"""`tinygen train [--data DIR] [--sample-rate HZ] [--channel KEY] [--window N] --out DIR`"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, help="folder with one sub-folder of recordings per class "
                   "(.npz, .csv, .mat, .wav); default: built-in synthetic vibration data")
    p.add_argument("--sample-rate", type=float, help="sample rate in Hz, if the files do not say")
    p.add_argument("--channel", help="array (.npz/.mat), column (.csv) or channel index (.wav)")
    p.add_argument("--window", type=int, help="samples per window, a power of two (default 1024)")
    p.add_argument("--seed", type=int, default=0, help="seed for data, split and weights (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder")


def register(sub: argparse._SubParsersAction) -> None:
    from ..train.pipeline import TrainOptions   # light: numpy only, no TensorFlow
    p = sub.add_parser("train", help="train teacher + int8 student and its FFT front end",
                       description="Generate or load vibration data, calibrate the integer FFT "
                       "front end, train an LSTM teacher and a 1D-CNN student (alone and "
                       "distilled), quantize the student to int8 and evaluate it with TFLite-Micro.")
    add_data_arguments(p)
    d = TrainOptions()
    p.add_argument("--temperature", type=float, default=d.temperature,
                   help=f"distillation temperature ({d.temperature:g})")
    p.add_argument("--alpha", type=float, default=d.alpha,
                   help=f"weight of the hard labels in distillation, 0..1 ({d.alpha:g})")
    p.add_argument("--teacher-epochs", type=int, default=d.teacher_epochs)
    p.add_argument("--student-epochs", type=int, default=d.student_epochs)
    p.set_defaults(func=run)


def progress(msg: str) -> None:
    print(f"tinygen: {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..errors import DataError
    from ..train.pipeline import TrainOptions, train  # TensorFlow loads inside train()
    from ..train.report import format_table

    if not 0.0 <= args.alpha <= 1.0:
        raise DataError(f"--alpha {args.alpha} is outside 0..1")
    if args.temperature <= 0:
        raise DataError(f"--temperature {args.temperature} must be positive")
    options = TrainOptions(teacher_epochs=args.teacher_epochs, student_epochs=args.student_epochs,
                           temperature=args.temperature, alpha=args.alpha)
    result = train(args.out, args.data, args.sample_rate, args.channel, args.window, args.seed,
                   progress, options)
    print(format_table(result.metrics))
    print(f"wrote {result.tflite_path}, {result.features_path}, {result.metrics_path}")
    return 0
