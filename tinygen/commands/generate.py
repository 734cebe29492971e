"""`tinygen generate model.tflite --out gen/ [--name model]`"""
from __future__ import annotations

import argparse
from pathlib import Path

from .args import add_force


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="compile an int8 .tflite model into dependency-free C",
                       description="Write <name>.h, <name>.c and the runtime kernels the model "
                       "uses into --out. All *.c there compile with -I <out> and nothing else.")
    p.add_argument("model", type=Path, help="int8 .tflite file")
    p.add_argument("--out", type=Path, default=Path("gen"), help="output folder (default: gen/)")
    p.add_argument("--name", default="model", help="C prefix: <name>_invoke, <NAME>_ARENA_BYTES")
    p.add_argument("--optimize", choices=("speed", "size"), default="speed",
                   help="speed (default): a specialised kernel per conv/depthwise/FC layer; "
                   "size: one shared kernel per op kind (less code, more instructions)")
    p.add_argument("--integrity", choices=("crc32", "sha256", "off"), default="crc32",
                   help="crc32/sha256 (default crc32): emit the table of every constant array and "
                   "their digests that the field layer's integrity check walks; off: leave it out "
                   "(the watchdog and drift statistics are the project's: tinygen build "
                   "--no-watchdog / --no-stats)")
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..codegen import check_name, compile_model, generate
    from ..outdir import claim

    check_name(args.name)
    with claim(args.out, "generate", force=args.force) as out:
        compiled = compile_model(args.model, args.optimize)   # refused models change nothing
        out.keep(args.model)
        out.begin()
        gen = generate(compiled, args.out, name=args.name, optimize=args.optimize,
                       const_table=args.integrity != "off")
        out.commit()
    print(f"wrote {len(gen.files)} files to {gen.out_dir}/: "
          f"{', '.join(p.name for p in gen.files)}")
    print(f"arena {gen.arena_bytes:,} B, weights {gen.weight_bytes:,} B, {gen.macs:,} MACs; "
          f"call {gen.name}_invoke(input, output)")
    if gen.const_table:
        print(f"integrity table: {gen.name}_const_data / {gen.name}_const_bytes, "
              f"{gen.name.upper()}_CONST_CRC32 and {gen.name}_const_sha256 over "
              f"{gen.weight_bytes:,} B of constants")
    else:
        print("integrity table: none (--integrity off)")
    return 0
