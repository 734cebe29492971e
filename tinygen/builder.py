"""Run PlatformIO on a generated project: `pio run` (sizes from the ELF), `-t upload`, `pio test`.

A generated project carries what its offline environments need (tinygen.project): the
dev-platform, board manifests, and a stand-in for the registry's tool-scons in its own core
folder. Here we only check the system tools (PlatformIO, SCons, Debian's cross compilers) and run
`python -m platformio` in the project, telemetry off, with none of the caller's PLATFORMIO_*
folder overrides (the project's own must apply). Every run has a timeout and runs in its own
process group (tinygen.procs).

The official environments need PlatformIO's registry: never used implicitly; when asked for, its
reachability is checked with a short timeout first (`RegistryUnreachable`), not after pio's own
~60 s network timeout.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import procs
from .errors import BuildError, RegistryUnreachable, ToolchainMissing
from .project import Project

REGISTRY_HOST = "api.registry.platformio.org"
PREFIX = {"arm": "arm-none-eabi-", "riscv": "riscv64-unknown-elf-", "xtensa": "xtensa-lx106-elf-"}
DEBIAN_PACKAGE = {"arm": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
                  "riscv": "gcc-riscv64-unknown-elf",
                  "xtensa": "clang-22 llvm-22 binutils-xtensa-lx106"}
# Xtensa: Debian's LLVM 22 compiles (its Xtensa backend has the ESP32 options), the binutils of
# the lx106 toolchain link and measure (GNU ld; ld.lld cannot link Xtensa). LLVM 22 comes from
# Debian 12's security suite (scripts/setup.sh adds it to apt's sources when missing).
XTENSA_TOOLS = ("clang-22", "llvm-mc-22")
# Folder overrides that would take a project away from its own pio-core (tool-scons stand-in).
_FOLDER_VARS = ("PLATFORMIO_CORE_DIR", "PLATFORMIO_PACKAGES_DIR", "PLATFORMIO_PLATFORMS_DIR",
                "PLATFORMIO_BUILD_DIR", "PLATFORMIO_BOARDS_DIR", "PLATFORMIO_HOME_DIR")

Progress = Optional[Callable[[str], None]]


# ---- what must be installed ----------------------------------------------------------------------

def pio_command() -> list[str]:
    """`python -m platformio` in this interpreter (so SCons is importable by tool-scons)."""
    if importlib.util.find_spec("platformio") is None:
        raise ToolchainMissing("PlatformIO is not installed; run: pip install 'platformio>=6.1' scons")
    if importlib.util.find_spec("SCons") is None:
        raise ToolchainMissing("SCons is not installed in this Python; run: pip install scons")
    return [sys.executable, "-m", "platformio"]


def cross_tool(arch: str, tool: str) -> str:
    exe = shutil.which(PREFIX[arch] + tool)
    if not exe:
        raise ToolchainMissing(f"{PREFIX[arch]}{tool} not found; install it: apt-get install "
                               f"--no-install-recommends {DEBIAN_PACKAGE[arch]}")
    return exe


def check_toolchain(arch: str) -> None:
    """The cross compiler (and newlib on Arm) for `arch`, or a one-line ToolchainMissing."""
    if arch == "xtensa":
        for tool in XTENSA_TOOLS:
            if not shutil.which(tool):
                raise ToolchainMissing(f"{tool} not found; install it: apt-get install "
                                       f"--no-install-recommends {DEBIAN_PACKAGE[arch]} (clang-22 "
                                       f"is in Debian 12's bookworm-security suite)")
        cross_tool(arch, "ld")
        cross_tool(arch, "size")
        return
    gcc = cross_tool(arch, "gcc")
    cross_tool(arch, "size")
    if arch == "arm":
        done = procs.run([gcc, "-print-file-name=libc_nano.a"], timeout=30)
        if done.timed_out:
            raise ToolchainMissing(f"{gcc} does not answer (timeout)")
        if not os.path.isabs(done.output.strip()):
            raise ToolchainMissing("newlib for arm-none-eabi is missing; install it: apt-get "
                                   "install --no-install-recommends libnewlib-arm-none-eabi")


def check_offline(arches) -> None:
    """Everything an offline build for these architectures needs, checked before a long step."""
    pio_command()
    for arch in sorted(set(arches)):
        check_toolchain(arch)


def registry_reachable(timeout: float = 3.0) -> bool:
    """True if PlatformIO's registry answers a TCP connect within `timeout` (DNS included)."""
    def probe() -> bool:
        with socket.create_connection((REGISTRY_HOST, 443), timeout=timeout):
            return True

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return bool(pool.submit(probe).result(timeout=timeout + 0.5))
    except (OSError, FutureTimeout):
        return False
    finally:
        pool.shutdown(wait=False)


def pio_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FOLDER_VARS}
    env.update(PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
               PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
               PLATFORMIO_NO_ANSI="true", PLATFORMIO_DISABLE_PROGRESSBAR="true")
    return env


def first_error(output: str) -> str:
    for line in output.splitlines():
        if re.search(r"(error:|Error:|\*\*\* \[|undefined reference|UnknownPackageError|"
                     r"PlatformioException|Error\b)", line):
            return line.strip()[:300]
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def run_pio(project: Project, args: list[str], timeout: float, log_name: str) -> procs.Completed:
    """`pio <args>` in the project; the output is kept in .pio/<log_name>.log."""
    done = procs.run(pio_command() + args, timeout, cwd=project.dir, env=pio_env())
    log = project.dir / ".pio" / f"{log_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(done.output)
    if done.timed_out:
        raise BuildError(f"pio {' '.join(args)} did not finish within {timeout:.0f} s (log: {log})")
    return done


# ---- pio run ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildResult:
    env: str
    elf: Path                     # the firmware ELF, or a library's archive (linked = False)
    text: int                     # from <prefix>size -B: code + read-only data (+ weights)
    data: int                     # initialised RAM (also stored in flash)
    bss: int                      # zeroed RAM, including the reserved stack
    flash_limit: int
    ram_limit: int
    arch: str
    seconds: float
    log: Path
    linked: bool = True           # False: compiled and archived, not linked (offline_output)

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss

    @property
    def bin(self) -> Path:
        return self.elf.with_suffix(".bin")


def elf_sizes(elf: Path, arch: str, timeout: float = 30) -> tuple[int, int, int]:
    """(text, data, bss) from `<prefix>size -B -d` (of an archive: the sum of its members,
    `-t`'s total line)."""
    size = cross_tool(arch, "size")
    archive = Path(elf).suffix == ".a"
    done = procs.run([size, "-B", "-d", *(["-t"] if archive else []), str(elf)], timeout)
    if done.returncode != 0:
        raise BuildError(f"{Path(size).name} failed on {elf}: {done.output.strip()[:200]}")
    rows = [line.split() for line in done.output.splitlines()]
    rows = [r for r in rows if len(r) >= 3 and all(p.isdigit() for p in r[:3])]
    if archive:
        rows = [r for r in rows if r[-1] == "(TOTALS)"]
    if rows:
        return int(rows[0][0]), int(rows[0][1]), int(rows[0][2])
    raise BuildError(f"cannot read sizes of {elf} from {Path(size).name}")


_PIO_SIZE_RE = re.compile(r"^(RAM|Flash):.*\(used (\d+) bytes from (\d+) bytes\)")


def parse_pio_sizes(output: str) -> dict[str, tuple[int, int]]:
    out = {}
    for line in output.splitlines():
        m = _PIO_SIZE_RE.match(line.strip())
        if m:
            out[m.group(1).lower()] = (int(m.group(2)), int(m.group(3)))
    return out


def _env_arch(project: Project, env: str) -> str:
    if env not in {e for e in project.envs.values() if e}:
        raise BuildError(f"environment '{env}' is not in {project.ini}; known: "
                         f"{', '.join(e for e in project.envs.values() if e)}")
    if env in (project.envs["twin"], project.envs.get("twin_portable")):
        return project.board.twin.arch
    return project.board.arch


def _check_registry(project: Project, env: str, allow_registry: bool) -> None:
    if env != project.envs["official"]:
        return
    b = project.board
    if not allow_registry:
        raise RegistryUnreachable(
            f"environment '{env}' uses PlatformIO's registry (platform = {b.pio_platform}); "
            f"tinygen builds only the offline environments unless asked for the official one")
    if not registry_reachable():
        raise RegistryUnreachable(
            f"PlatformIO's registry ({REGISTRY_HOST}) is unreachable, so environment '{env}' "
            f"(platform = {b.pio_platform}) cannot be built here; use the offline environment")


def build(project: Project, env: str, timeout: float = 300, *, progress: Progress = None,
          allow_registry: bool = False) -> BuildResult:
    """`pio run -e env`; the ELF and its sizes (pio's own figures must agree with `size`)."""
    arch = _env_arch(project, env)
    _check_registry(project, env, allow_registry)
    if env != project.envs["official"]:
        check_offline([arch])
    if progress:
        progress(f"pio run -e {env} ...")
    t0 = time.monotonic()
    done = run_pio(project, ["run", "-e", env], timeout, f"build-{env}")
    log = project.dir / ".pio" / f"build-{env}.log"
    if done.returncode != 0:
        raise BuildError(f"pio run -e {env} failed: {first_error(done.output)} (log: {log})")
    elf = project.output(env)
    if not elf.is_file():
        raise BuildError(f"pio run -e {env} succeeded but {elf} is missing (log: {log})")
    text, data, bss = elf_sizes(elf, arch)
    pio = parse_pio_sizes(done.output)
    res = BuildResult(env, elf, text, data, bss, pio.get("flash", (0, 0))[1],
                      pio.get("ram", (0, 0))[1], arch, time.monotonic() - t0, log,
                      linked=elf.suffix == ".elf")
    if "flash" in pio and (pio["flash"][0], pio["ram"][0]) != (res.flash, res.ram):
        raise BuildError(f"size mismatch for {env}: pio says flash {pio['flash'][0]} / RAM "
                         f"{pio['ram'][0]}, {PREFIX[arch]}size says {res.flash} / {res.ram}")
    if res.flash_limit and res.flash > res.flash_limit:
        raise BuildError(f"{env}: firmware needs {res.flash:,} B of flash, the board has "
                         f"{res.flash_limit:,} B")
    return res


def upload(project: Project, env: str, timeout: float = 300) -> procs.Completed:
    """`pio run -e env -t upload` (builds first); the completed run, failed or not."""
    _env_arch(project, env)
    return run_pio(project, ["run", "-v", "-e", env, "-t", "upload"], timeout, f"upload-{env}")


@dataclass(frozen=True)
class TestRun:
    passed: bool
    output: str
    log: Path


def test(project: Project, env: str, timeout: float = 600) -> TestRun:
    """`pio test -e env`: the golden vectors of test/ over serial (the twin runs in QEMU)."""
    arch = _env_arch(project, env)
    if not project.golden:
        raise BuildError(f"{project.dir} has no test/ folder; generate it with tinygen build")
    if env != project.envs["official"]:
        check_offline([arch])
    done = run_pio(project, ["test", "-e", env], timeout, f"test-{env}")
    return TestRun(done.returncode == 0, done.output, project.dir / ".pio" / f"test-{env}.log")


# ---- portability check for boards that cannot be built here -----------------------------------

def host_compile_check(project_dir, timeout: float = 120, cc: Optional[str] = None) -> list[Path]:
    """Compile the project's portable C (model library, harness, protocol) with the host
    compiler under -std=c99 -Wall -Wextra -Werror -pedantic; the BSP is left out (it needs the
    vendor SDK). Returns the compiled files; raises BuildError with the first error."""
    project_dir = Path(project_dir)
    cc = cc or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise ToolchainMissing("no host C compiler (gcc) found; apt-get install gcc")
    lib_src = project_dir / "lib" / "tinygen_model" / "src"
    files = sorted(lib_src.glob("*.c")) + sorted((project_dir / "src").glob("*.c"))
    out_dir = project_dir / ".pio" / "host-check"
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Os", "-c",
               "-I", str(lib_src), "-I", str(project_dir / "include"), str(f),
               "-o", str(out_dir / (f.stem + ".o"))]
        done = procs.run(cmd, timeout)
        if done.timed_out:
            raise BuildError(f"host compile of {f.name} timed out")
        if done.returncode != 0:
            raise BuildError(f"host compile of {f.name} failed: {first_error(done.output)}")
    return files


# ---- model -> twin firmware --------------------------------------------------------------------

def build_twin_firmware(board, model, out_dir, features=None, timeout: float = 300,
                        optimize: str = "speed", portable: bool = False, field=None) -> Path:
    """The board's twin ELF for a model, through the one build path (generate -> project -> pio
    run -e <id>_twin). `board`: a Board or its id; `features`: a features.json or None;
    `optimize`: "speed" or "size" (codegen.generate); `portable`: the portable kernels only
    (<id>_twin_portable; the DSP route where the twin has none is the same build); `field`: a
    tinygen.field.FieldOptions (default: every field feature on)."""
    from .boards import board_twin, get_board
    from .codegen import generate
    from .features import FrontEnd
    from .project import write_project

    board = get_board(board) if isinstance(board, str) else board
    board_twin(board)
    out = Path(out_dir)
    const_table = field is None or field.integrity != "off"
    gen = generate(model, out / "gen", name="model", optimize=optimize, const_table=const_table)
    fe = FrontEnd.from_json(features) if features is not None else None
    project = write_project(board, out / "project", gen, front_end=fe, field=field)
    env = project.envs["twin_portable"] if portable and project.envs["twin_portable"] else \
        project.envs["twin"]
    return build(project, env, timeout).elf
