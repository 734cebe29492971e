"""Build a twin ELF straight with the cross compiler (no PlatformIO): the BSP of the twin, the
protocol, and the caller's sources (a harness main, the model, a front end).

The generated PlatformIO projects (tinygen.project / tinygen.builder) are the product path; this
is the small, dependency-free path the validation tests and `bench` fall back on.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Sequence

from ..emulate import Twin
from ..errors import BuildError, ToolchainMissing
from ..resources import firmware_dir, twin_bsp_dirs

STRICT = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic")


def bsp_sources(twin: Twin) -> list[Path]:
    out: list[Path] = []
    for name in twin_bsp_dirs(twin.bsp, twin.arch):
        d = firmware_dir() / "bsp" / name
        out += sorted(list(d.glob("*.c")) + list(d.glob("*.S")))
    return out


def linker_script(twin: Twin) -> Path:
    return firmware_dir() / "bsp" / twin.bsp / "link.ld"


def build_twin_elf(twin: Twin, sources: Iterable[Path | str], out: Path | str,
                   include_dirs: Sequence[Path | str] = (), defines: Sequence[str] = (),
                   opt: str = "-O2", timeout: float = 120.0) -> Path:
    """Compile and link `sources` + protocol + BSP for `twin` into `out` (an .elf path)."""
    cc = shutil.which(twin.cc)
    if cc is None:
        pkg = "gcc-arm-none-eabi libnewlib-arm-none-eabi" if twin.arch == "arm" else "gcc-riscv64-unknown-elf"
        raise ToolchainMissing(f"{twin.cc} not found; install it: apt-get install --no-install-recommends {pkg}")
    fw = firmware_dir()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    srcs = [Path(s) for s in sources] + [fw / "harness" / "tg_protocol.c"] + bsp_sources(twin)
    incs = [fw / "bsp", fw / "harness", *[Path(i) for i in include_dirs]]
    # Debian's RISC-V toolchain has no libc: freestanding headers; the BSP defines mem*().
    free = ("-ffreestanding",) if twin.arch == "riscv" else ()
    cmd = [cc, *twin.cflags, *free, *STRICT, opt, "-g", "-ffunction-sections", "-fdata-sections",
           *[f"-D{d}" for d in defines], *[f"-I{i}" for i in incs], *[str(s) for s in srcs],
           "-T", str(linker_script(twin)), "-nostartfiles", "-Wl,--gc-sections",
           "-Wl,-Map," + str(out.with_suffix(".map")), "-o", str(out)]
    if twin.arch == "arm":
        cmd += ["--specs=nano.specs", "-lc", "-lgcc"]
    else:
        cmd += ["-nostdlib", "-lgcc"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{twin.cc} did not finish within {timeout:g} s") from None
    if res.returncode != 0:
        first = next((ln for ln in res.stderr.splitlines() if "error" in ln), res.stderr.strip()[:300])
        raise BuildError(f"building {out.name} for {twin.name} failed: {first}")
    return out


def build_host(sources: Iterable[Path | str], out: Path | str, include_dirs: Sequence[Path | str] = (),
               defines: Sequence[str] = (), timeout: float = 60.0) -> Path:
    """The protocol and `sources` as a host program (tests: tg_bsp.h on stdin/stdout)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise ToolchainMissing("no host C compiler (gcc) found")
    fw = firmware_dir()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [cc, *STRICT, "-O1", "-g", *[f"-D{d}" for d in defines],
           f"-I{fw / 'bsp'}", f"-I{fw / 'harness'}", *[f"-I{i}" for i in include_dirs],
           *[str(s) for s in sources], str(fw / "harness" / "tg_protocol.c"), "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise BuildError(f"host build of {out.name} failed: {res.stderr.strip()[:400]}")
    return out
