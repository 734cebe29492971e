"""clang-22 for the Xtensa cores (ESP32, ESP32-S3 and their QEMU twin) as one compiler command.

    python3 xtensa_cc.py --xtensa-features=windowed,mac16,... [clang options] -c SRC -o OBJ

The dev-platform's SCons builder uses this as CC and AS for Xtensa boards. Debian's LLVM 22 has
the Xtensa backend, but no ESP32 -mcpu and no Xtensa assembler driver that always works, so:
  - the core's options come as LLVM target features (the board or twin file's `features`);
  - C is compiled to assembly by clang, then assembled by llvm-mc (a direct `clang -c` sometimes
    fails with "fixup value must be 4-byte aligned"); no debug info (-g emits .cfi directives
    llvm-mc rejects); no jump tables (after one, LLVM 22 emits the next function's literal pool
    while still in .rodata, and GNU ld then finds L32R constants placed after their use). The
    .s stays beside the object, to read the code the core runs;
  - .S files are preprocessed by clang (-E), then assembled by llvm-mc.
GNU ld from binutils-xtensa-lx106 links (ld.lld cannot link Xtensa objects).
`-v` / `--version` answer with clang's, so PlatformIO can tell what compiler this is.
"""
import subprocess
import sys

CLANG = "clang-22"
MC = "llvm-mc-22"
FEATURES_FLAG = "--xtensa-features="


def split_args(argv):
    """(features, source, output, other options) from a gcc-style command line."""
    features, src, out, rest = [], None, None, []
    args = iter(argv)
    for a in args:
        if a.startswith(FEATURES_FLAG):
            features += [f for f in a[len(FEATURES_FLAG):].split(",") if f]
        elif a == "-o":
            out = next(args, None)
        elif a == "-c":
            continue
        elif not a.startswith("-") and a.endswith((".c", ".S", ".s")):
            src = a
        else:
            rest.append(a)
    return features, src, out, rest


def run(cmd):
    done = subprocess.run(cmd)
    if done.returncode != 0:
        sys.exit(done.returncode)


def main(argv):
    if argv in (["-v"], ["--version"]):
        return subprocess.call([CLANG, *argv])
    features, src, out, rest = split_args(argv)
    if src is None or out is None:
        sys.stderr.write("xtensa_cc.py: error: expected -c SOURCE -o OBJECT\n")
        return 2
    target = ["--target=xtensa"]
    for f in features:
        target += ["-Xclang", "-target-feature", "-Xclang", "+" + f]
    asm = out + ".s"
    if src.endswith(".c"):
        run([CLANG, *target, *rest, "-ffreestanding", "-g0", "-fno-jump-tables", "-S", src, "-o", asm])
    else:
        run([CLANG, *target, *[a for a in rest if a.startswith(("-D", "-I", "-U"))],
             "-E", "-P", "-x", "assembler-with-cpp", src, "-o", asm])
    mattr = ["-mattr=" + ",".join("+" + f for f in features)] if features else []
    run([MC, "-triple=xtensa", *mattr, "-filetype=obj", asm, "-o", out])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
