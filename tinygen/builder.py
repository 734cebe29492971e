"""Run `pio run` offline, parse the sizes, cross-check them with the toolchain's `size`.

Offline PlatformIO (FACTS.md, measured): a local dev-platform (firmware/platformio, referenced as
`platform = symlink://...`), toolchain packages that are folders of links to Debian's
`arm-none-eabi-*` / `riscv64-unknown-elf-*` (`platform_packages = ... @ symlink://...`), and a
local stand-in for `platformio/tool-scons` in PLATFORMIO_CORE_DIR that runs the pip-installed
SCons. All of it lives in tinygen's cache ($TINYGEN_CACHE, else ~/.cache/tinygen), telemetry off.

The official environments need PlatformIO's registry: never used implicitly; when asked for, its
reachability is checked with a short timeout first (`RegistryUnreachable`), not after pio's own
~60 s network timeout. Every subprocess has a timeout.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .errors import BuildError, RegistryUnreachable, ToolchainMissing
from .resources import firmware_dir

TOOL_SCONS_VERSION = "4.41101.0"   # what PlatformIO 6.x asks for: platformio/tool-scons ~4.41101.0
REGISTRY_HOST = "api.registry.platformio.org"
PREFIX = {"arm": "arm-none-eabi-", "riscv": "riscv64-unknown-elf-"}
PACKAGE = {"arm": "toolchain-gccarmnoneeabi", "riscv": "toolchain-riscv"}
DEBIAN_PACKAGE = {"arm": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
                  "riscv": "gcc-riscv64-unknown-elf"}
_TOOLS = ("gcc", "g++", "cpp", "as", "ld", "ar", "gcc-ar", "gcc-nm", "gcc-ranlib", "nm", "objcopy",
          "objdump", "ranlib", "readelf", "size", "strip", "addr2line")

Progress = Optional[Callable[[str], None]]


def cache_dir() -> Path:
    env = os.environ.get("TINYGEN_CACHE")
    return Path(env).expanduser().resolve() if env else Path.home() / ".cache" / "tinygen"


@dataclass(frozen=True)
class OfflineSetup:
    root: Path

    @property
    def core_dir(self) -> Path:
        return self.root / "platformio-core"

    @property
    def platform_dir(self) -> Path:
        return firmware_dir() / "platformio"

    def toolchain_dir(self, arch: str) -> Path:
        return self.root / "toolchains" / PACKAGE[arch]


def offline_setup_paths() -> OfflineSetup:
    """Where the offline set-up lives (nothing is created)."""
    return OfflineSetup(cache_dir())


# ---- detection -------------------------------------------------------------------------------

def pio_command() -> list[str]:
    """`python -m platformio` in this interpreter (so SCons is importable by tool-scons)."""
    if importlib.util.find_spec("platformio") is None:
        raise ToolchainMissing("PlatformIO is not installed; run: pip install 'platformio>=6.1' scons")
    return [sys.executable, "-m", "platformio"]


def check_scons() -> None:
    if importlib.util.find_spec("SCons") is None:
        raise ToolchainMissing("SCons is not installed in this Python; run: pip install scons")


def cross_tool(arch: str, tool: str) -> str:
    exe = shutil.which(PREFIX[arch] + tool)
    if not exe:
        raise ToolchainMissing(f"{PREFIX[arch]}{tool} not found; install it: apt-get install "
                               f"--no-install-recommends {DEBIAN_PACKAGE[arch]}")
    return exe


def check_toolchain(arch: str) -> None:
    cross_tool(arch, "gcc")
    cross_tool(arch, "size")
    if arch == "arm":
        gcc = cross_tool(arch, "gcc")
        try:
            out = subprocess.run([gcc, "-print-file-name=libc_nano.a"], capture_output=True,
                                 text=True, timeout=20).stdout.strip()
        except subprocess.TimeoutExpired:
            raise ToolchainMissing(f"{gcc} does not answer (timeout)") from None
        if not os.path.isabs(out):
            raise ToolchainMissing("newlib for arm-none-eabi is missing; install it: apt-get "
                                   "install --no-install-recommends libnewlib-arm-none-eabi")


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


# ---- offline set-up in the cache ---------------------------------------------------------------

_SCONS_PY = '''"""tinygen stand-in for platformio/tool-scons: runs the SCons installed by pip."""
import sys

import SCons.Script

if __name__ == "__main__":
    sys.exit(SCons.Script.main())
'''


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def ensure_offline_setup(arches: tuple[str, ...] = ("arm",)) -> OfflineSetup:
    """Create (idempotently) the tool-scons stand-in and the toolchain packages for `arches`.

    Raises ToolchainMissing (one line) if PlatformIO, SCons or a cross compiler is missing.
    """
    pio_command()
    check_scons()
    for arch in arches:
        check_toolchain(arch)
    setup = offline_setup_paths()
    core = setup.core_dir
    scons = core / "packages" / "tool-scons"
    _write_if_changed(scons / "scons.py", _SCONS_PY)
    _write_if_changed(scons / "package.json", json.dumps(
        {"name": "tool-scons", "version": TOOL_SCONS_VERSION,
         "description": "tinygen stand-in: runs the pip-installed SCons"}, indent=2) + "\n")
    _write_if_changed(scons / ".piopm", json.dumps(
        {"type": "tool", "name": "tool-scons", "version": TOOL_SCONS_VERSION,
         "spec": {"owner": "platformio", "id": 0, "name": "tool-scons", "requirements": None,
                  "uri": None}}) + "\n")
    # Telemetry off and no update checks for anyone using this core dir (also `pio` run by hand).
    state = core / "appstate.json"
    try:
        data = json.loads(state.read_text()) if state.is_file() else {}
    except ValueError:
        data = {}
    settings = data.setdefault("settings", {})
    if settings.get("enable_telemetry") is not False or settings.get("check_platformio_interval") != 3650:
        settings["enable_telemetry"] = False
        settings["check_platformio_interval"] = 3650
        _write_if_changed(state, json.dumps(data, indent=2) + "\n")
    for arch in arches:
        d = setup.toolchain_dir(arch)
        _write_if_changed(d / "package.json", json.dumps(
            {"name": PACKAGE[arch], "version": "12.2.0",
             "description": f"links to Debian's {PREFIX[arch]}* (tinygen offline toolchain)"},
            indent=2) + "\n")
        bindir = d / "bin"
        bindir.mkdir(parents=True, exist_ok=True)
        for tool in _TOOLS:
            exe = shutil.which(PREFIX[arch] + tool)
            link = bindir / (PREFIX[arch] + tool)
            if exe and (not link.is_symlink() or os.readlink(link) != exe):
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to(exe)
    return setup


def pio_env(setup: OfflineSetup) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PLATFORMIO_CORE_DIR=str(setup.core_dir),
               PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
               PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
               PLATFORMIO_NO_ANSI="true", PLATFORMIO_DISABLE_PROGRESSBAR="true")
    return env


# ---- building ------------------------------------------------------------------------------------

@dataclass
class BuildResult:
    env: str
    elf: Path
    text: int                     # from <prefix>size -B: code + read-only data (+ weights)
    data: int                     # initialised RAM (also stored in flash)
    bss: int                      # zeroed RAM, including the reserved stack
    flash_limit: int = 0
    ram_limit: int = 0
    pio_flash: Optional[int] = None   # as printed by `pio run` ("Flash: ... used N bytes")
    pio_ram: Optional[int] = None
    arch: str = "arm"
    seconds: float = 0.0
    log: Optional[Path] = None
    bin: Optional[Path] = None
    hex: Optional[Path] = None
    extra: dict = field(default_factory=dict)

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss

    @property
    def sizes_agree(self) -> bool:
        return (self.pio_flash is None or self.pio_flash == self.flash) and \
            (self.pio_ram is None or self.pio_ram == self.ram)


_SECTION_RE = re.compile(r"^\[env:([^\]]+)\]\s*$")


def read_ini_envs(project_dir: Path) -> dict[str, dict[str, str]]:
    """Minimal platformio.ini reader: {env: {key: value}} (enough to know what an env needs)."""
    envs: dict[str, dict[str, str]] = {}
    current: Optional[dict[str, str]] = None
    for line in (Path(project_dir) / "platformio.ini").read_text().splitlines():
        m = _SECTION_RE.match(line.strip())
        if m:
            current = envs.setdefault(m.group(1), {})
            continue
        if line.strip().startswith("["):
            current = None
            continue
        if current is not None and "=" in line and not line.lstrip().startswith((";", "#")):
            k, v = line.split("=", 1)
            current[k.strip()] = v.strip()
    return envs


def _board_arch(board_id: str) -> Optional[str]:
    f = firmware_dir() / "platformio" / "boards" / f"{board_id}.json"
    if not f.is_file():
        return None
    return json.loads(f.read_text()).get("build", {}).get("arch", "arm")


def elf_sizes(elf: Path, arch: str = "arm", timeout: float = 30) -> tuple[int, int, int]:
    """(text, data, bss) from `<prefix>size -B -d`."""
    size = cross_tool(arch, "size")
    try:
        r = subprocess.run([size, "-B", "-d", str(elf)], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{size} timed out on {elf}") from None
    if r.returncode != 0:
        raise BuildError(f"{Path(size).name} failed on {elf}: {r.stderr.strip()[:200]}")
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and all(p.isdigit() for p in parts[:3]):
            return int(parts[0]), int(parts[1]), int(parts[2])
    raise BuildError(f"cannot read sizes of {elf} from {Path(size).name}")


_PIO_SIZE_RE = re.compile(r"^(RAM|Flash):.*\(used (\d+) bytes from (\d+) bytes\)")


def parse_pio_sizes(output: str) -> dict[str, tuple[int, int]]:
    out = {}
    for line in output.splitlines():
        m = _PIO_SIZE_RE.match(line.strip())
        if m:
            out[m.group(1).lower()] = (int(m.group(2)), int(m.group(3)))
    return out


def first_error(output: str) -> str:
    for line in output.splitlines():
        if re.search(r"(error:|Error:|\*\*\* \[|undefined reference|UnknownPackageError|"
                     r"PlatformioException|Error\b)", line):
            return line.strip()[:300]
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def build_project(project_dir, env: str, timeout: float = 300, *, progress: Progress = None,
                  allow_registry: bool = False) -> BuildResult:
    """`pio run -e env` in project_dir; returns the ELF and its sizes (checked against size).

    Offline environments (platform = symlink://...) build with the local set-up. An official
    environment needs PlatformIO's registry: allowed only with allow_registry=True, and then only
    after a quick reachability check (RegistryUnreachable otherwise).
    """
    project_dir = Path(project_dir).resolve()
    envs = read_ini_envs(project_dir)
    if env not in envs:
        raise BuildError(f"environment '{env}' is not in {project_dir / 'platformio.ini'}; "
                         f"known: {', '.join(envs) or 'none'}")
    conf = envs[env]
    offline = conf.get("platform", "").startswith(("symlink://", "file://"))
    arch = _board_arch(conf.get("board", "")) if offline else None
    if not offline:
        if not allow_registry:
            raise RegistryUnreachable(
                f"environment '{env}' uses PlatformIO's registry (platform = "
                f"{conf.get('platform', '?')}); tinygen builds only the offline environments "
                f"unless asked for the official one")
        pio_command()
        if not registry_reachable():
            raise RegistryUnreachable(
                f"PlatformIO's registry ({REGISTRY_HOST}) is unreachable, so environment "
                f"'{env}' (platform = {conf.get('platform', '?')}) cannot be built here; "
                f"use the offline environment instead")
    setup = ensure_offline_setup((arch,) if arch else ("arm",))
    cmd = pio_command() + ["run", "-d", str(project_dir), "-e", env]
    log = project_dir / ".pio" / f"build-{env}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        progress(f"pio run -e {env} ...")
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=project_dir, env=pio_env(setup), capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        log.write_text(out if isinstance(out, str) else out.decode(errors="replace"))
        raise BuildError(f"pio run -e {env} did not finish within {timeout:.0f} s (log: {log})") \
            from None
    seconds = time.monotonic() - t0
    output = r.stdout + ("\n" + r.stderr if r.stderr else "")
    log.write_text(output)
    if r.returncode != 0:
        raise BuildError(f"pio run -e {env} failed: {first_error(output)} (log: {log})")
    build = project_dir / ".pio" / "build" / env
    elf = build / "firmware.elf"
    if not elf.is_file():
        raise BuildError(f"pio run -e {env} succeeded but {elf} is missing (log: {log})")
    text, data, bss = elf_sizes(elf, arch or "arm")
    pio = parse_pio_sizes(output)
    res = BuildResult(env=env, elf=elf, text=text, data=data, bss=bss,
                      flash_limit=pio.get("flash", (0, 0))[1], ram_limit=pio.get("ram", (0, 0))[1],
                      pio_flash=pio["flash"][0] if "flash" in pio else None,
                      pio_ram=pio["ram"][0] if "ram" in pio else None,
                      arch=arch or "arm", seconds=seconds, log=log,
                      bin=build / "firmware.bin" if (build / "firmware.bin").is_file() else None,
                      hex=build / "firmware.hex" if (build / "firmware.hex").is_file() else None)
    if not res.sizes_agree:
        raise BuildError(f"size mismatch for {env}: pio says flash {res.pio_flash} / RAM "
                         f"{res.pio_ram}, {PREFIX[res.arch]}size says {res.flash} / {res.ram}")
    if res.flash_limit and res.flash > res.flash_limit:
        raise BuildError(f"{env}: firmware needs {res.flash:,} B of flash, the board has "
                         f"{res.flash_limit:,} B")
    return res


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
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BuildError(f"host compile of {f.name} timed out") from None
        if r.returncode != 0:
            raise BuildError(f"host compile of {f.name} failed: {first_error(r.stderr)}")
    return files
