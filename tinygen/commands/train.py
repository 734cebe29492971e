"""`tinygen train [--data DIR] [--sample-rate HZ] [--channel KEY] [--window N] --out DIR`"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import (add_force, fraction, natural_int, positive_float, positive_int,
                   power_of_two)


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, help="folder with one sub-folder of recordings per class "
                   "(.npz, .csv, .mat, .wav); default: built-in synthetic vibration data")
    p.add_argument("--sample-rate", type=positive_float, help="sample rate in Hz, if the files do not say")
    p.add_argument("--channel", help="array (.npz/.mat), column (.csv) or channel index (.wav); "
                   "several sensor axes as a list, e.g. x,y,z or 0,1,2, or 'all'")
    p.add_argument("--window", type=power_of_two, help="samples per window, a power of two (default 1024)")
    p.add_argument("--seed", type=natural_int, default=0, help="seed for data, split and weights (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    add_force(p)


def register(sub: argparse._SubParsersAction) -> None:
    from ..train.pipeline import TrainOptions   # light: numpy only, no TensorFlow
    p = sub.add_parser("train", help="train teacher + int8 student and its FFT front end",
                       description="Generate or load vibration data, calibrate the integer FFT "
                       "front end, train a teacher (spectrum + envelope spectrum, conv + BiLSTM) "
                       "and a 1D-CNN student (alone and distilled, over several seeds), quantize "
                       "the student (and the teacher) to int8, evaluate them with TFLite-Micro on "
                       "held-out recordings, set them side by side on the Cortex-M7 twin, and "
                       "write run/report.html.")
    add_data_arguments(p)
    d = TrainOptions()
    p.add_argument("--holdout", action="append", metavar="GLOB",
                   help="hold out whole recordings whose name (class/file) or file name matches, "
                   "as the test set; repeat for several (default for the built-in data: "
                   "the last fifth of the machines and the middle speed)")
    p.add_argument("--no-holdout", action="store_true",
                   help="hold nothing out: test on unseen segments of the training recordings")
    p.add_argument("--seeds", type=positive_int, default=d.seeds,
                   help=f"student initialisations, alone and distilled, on the same split ({d.seeds})")
    p.add_argument("--qat", action="store_true", help="quantization-aware fine-tuning (automatic "
                   "when int8 post-training quantization loses > 0.5 points on validation)")
    p.add_argument("--max-flash", type=positive_int, metavar="BYTES",
                   help="prune the student's channels until its weights + tables fit")
    p.add_argument("--max-macs", type=positive_int, metavar="N", help="prune until its MACs fit")
    p.add_argument("--no-size-table", action="store_true",
                   help="skip the accuracy-vs-size table (saves a few fine-tunings)")
    p.add_argument("--no-teacher-int8", action="store_true",
                   help="skip the teacher's int8 conversion and the teacher-vs-student figures on "
                   "the Cortex-M7 twin (saves about a minute)")
    p.add_argument("--axes", type=int, default=d.axes, choices=(1, 2, 3),
                   help="built-in data only: sensor axes x, y, z (default 1)")
    p.add_argument("--machines", type=positive_int, default=d.machines,
                   help=f"built-in data only: machines in the fleet ({d.machines})")
    p.add_argument("--seconds", type=positive_float, default=d.seconds,
                   help=f"built-in data only: seconds per recording ({d.seconds:g})")
    p.add_argument("--temperature", type=positive_float, default=d.temperature,
                   help=f"distillation temperature ({d.temperature:g})")
    p.add_argument("--alpha", type=fraction, default=d.alpha,
                   help=f"weight of the hard labels in distillation, 0..1 ({d.alpha:g})")
    p.add_argument("--teacher-epochs", type=positive_int, default=d.teacher_epochs)
    p.add_argument("--student-epochs", type=positive_int, default=d.student_epochs)
    p.add_argument("--finetune-epochs", type=positive_int, default=d.finetune_epochs,
                   help=f"after pruning, and for QAT ({d.finetune_epochs})")
    p.add_argument("--json", action="store_true",
                   help="print metrics.json to stdout; no progress bars or messages")
    p.set_defaults(func=run)


def progress(msg: str) -> None:
    print(f"tinygen: {msg}", file=sys.stderr, flush=True)


def options_from(args: argparse.Namespace):
    from ..errors import DataError
    from ..train.pipeline import TrainOptions
    from ..train.progress import default_enabled

    # signs, ranges and finiteness are checked while parsing (commands/args.py)
    if args.machines < 2:
        raise DataError(f"--machines {args.machines}: the built-in data needs at least 2")
    if args.seconds > 600:
        raise DataError(f"--seconds {args.seconds:g}: give 0 < seconds <= 600")
    if args.holdout and args.no_holdout:
        raise DataError("--holdout and --no-holdout contradict each other; pick one")
    holdout = () if args.no_holdout else (tuple(args.holdout) if args.holdout else None)
    return TrainOptions(teacher_epochs=args.teacher_epochs, student_epochs=args.student_epochs,
                        temperature=args.temperature, alpha=args.alpha, seeds=args.seeds,
                        holdout=holdout, qat=args.qat, max_flash=args.max_flash,
                        max_macs=args.max_macs, size_table=not args.no_size_table,
                        axes=args.axes, machines=args.machines, seconds=args.seconds,
                        finetune_epochs=args.finetune_epochs,
                        teacher_int8=not args.no_teacher_int8,
                        bars=default_enabled() and not args.json)


def run(args: argparse.Namespace) -> int:
    import json

    from ..train.pipeline import train  # TensorFlow loads inside train()
    from ..train.report import format_table

    from ..outdir import claim

    options = options_from(args)
    with claim(args.out, "train", force=args.force) as out:   # checked before any training
        out.keep(args.data)
        out.begin()
        result = train(out.root, args.data, args.sample_rate, args.channel, args.window,
                       args.seed, None if args.json else progress, options)
        out.commit()
    if args.json:
        print(json.dumps(result.metrics, indent=2))
        return 0
    print(format_table(result.metrics))
    print(f"wrote {result.tflite_path}, {result.features_path}, {result.metrics_path}, "
          f"{result.report_path}")
    return 0
