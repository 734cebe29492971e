"""Write a normal PlatformIO project for a board: the model as a library, the harness, the BSPs.

Layout (a user can open it in their IDE, or drop lib/tinygen_model into another project):

    platformio.ini            [env:<official>] (registry), [env:<board>_offline], [env:<board>_twin]
    lib/tinygen_model/        library.json + src/: generated model C, runtime, kernels, front end
    include/                  tg_app.h, tg_bsp.h, tg_protocol.h
    src/main.c                the harness (templates/project/main.c.j2) -> tg_protocol_run(&app)
    src/tg_protocol.c         the serial protocol (firmware/harness/)
    src/bsp/<dir>/            board support; each environment compiles only its own directories
                              (build_src_filter) and links with its own link.ld

Nothing model-derived reaches C unescaped: the hash is checked hex and printed as bytes, names are
board ids validated on load, free text goes through render.c_string / c_comment.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from . import __version__
from .boards import Board
from .errors import BuildError, TinygenError
from .resources import firmware_dir, twin_bsp_dirs

LIB_NAME = "tinygen_model"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Project:
    dir: Path
    board: Board
    envs: dict[str, Optional[str]]          # "official", "offline", "twin" -> env name or None
    lib_dir: Path
    sources: list[Path] = field(default_factory=list)
    front_end: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ini(self) -> Path:
        return self.dir / "platformio.ini"

    def elf(self, env: str) -> Path:
        return self.dir / ".pio" / "build" / env / "firmware.elf"


DEFAULT_PROTO_PAYLOAD = 4096   # TG_PROTO_MAX_PAYLOAD's default in firmware/harness/tg_protocol.h


def protocol_payload_bytes(gen: Any, raw_samples: int = 0) -> int:
    """Largest frame payload the firmware must accept or send for this model (and front end)."""
    inp, outp = int(gen.input_bytes), int(gen.output_bytes)
    # requests: infer-raw int16[raw], infer-features int8[inp]; replies: raw -> 8 + inp + outp,
    # features -> 4 + outp; info < 256 bytes.
    need = max(2 * int(raw_samples), inp, 8 + inp + outp, 256)
    return max(DEFAULT_PROTO_PAYLOAD, (need + 15) // 16 * 16)


def static_ram_bytes(gen: Any, raw_samples: int = 0) -> int:
    """RAM beside arena and stack: the protocol's frame buffers (rx + tx) and sample buffer."""
    return 2 * protocol_payload_bytes(gen, raw_samples) + 1024


def _bsp_dir_for_twin(board: Board) -> Optional[str]:
    """First existing firmware/bsp/<dir> for the board's twin (owned by the validation work)."""
    if board.twin is None:
        return None
    root = firmware_dir() / "bsp"
    for d in board.twin.bsp_dirs:
        if (root / d / "link.ld").is_file():
            return d
    return None


def _real_bsp_dirs(board: Board) -> list[str]:
    if board.arch == "arm":
        return ["cortex_m", board.family]
    return [board.family]


def _copy_tree_files(src: Path, dst: Path, patterns=("*.c", "*.h", "*.S", "*.ld")) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for pat in patterns:
        for f in sorted(src.glob(pat)):
            shutil.copyfile(f, dst / f.name)
            out.append(dst / f.name)
    return out


def _gen_files(gen: Any) -> list[Path]:
    files = list(getattr(gen, "files", ()) or ())
    if not files:
        files = list(gen.sources) + [Path(gen.header)]
        hdr_dir = Path(gen.header).parent
        files += [p for p in sorted(hdr_dir.glob("*.h")) if p not in files]
    return [Path(f) for f in files]


def _sha_bytes(sha: str) -> list[int]:
    sha = str(sha).lower()
    if not _HEX64.match(sha):
        raise TinygenError("model hash is not a SHA-256 hex digest; regenerate the model sources")
    return list(bytes.fromhex(sha))


def _toolchain_for(arch: str) -> str:
    return "toolchain-riscv" if arch == "riscv" else "toolchain-gccarmnoneeabi"


def write_project(board: Board, out_dir: Union[str, Path], gen: Any, front_end: Any = None,
                  *, cache: Any = None) -> Project:
    """Write (or refresh) the PlatformIO project for `board` in out_dir.

    gen: what tinygen.codegen.generate returns (sources, header, sizes, quantization, sha256);
    its files are copied into lib/tinygen_model/src. If gen's files already live there, they are
    used in place. front_end: a tinygen.features.FrontEnd, a path to its JSON, or None.
    cache: a tinygen.builder.OfflineSetup (paths of the local dev-platform, toolchains, core dir);
    by default it is looked up (not created) in the tinygen cache.
    """
    from .builder import offline_setup_paths
    from .render import environment

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    setup = cache or offline_setup_paths()

    # -- lib/tinygen_model --------------------------------------------------------------------
    lib = out / "lib" / LIB_NAME
    lib_src = lib / "src"
    lib_src.mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    for f in _gen_files(gen):
        dst = lib_src / f.name
        if f.resolve() != dst.resolve():
            if not f.is_file():
                raise BuildError(f"generated source {f} is missing; run tinygen generate again")
            shutil.copyfile(f, dst)
        copied.append(dst)
    has_fe = front_end is not None
    raw_samples = 0
    if has_fe:
        from .features import FrontEnd, emit_c

        fe = front_end if not isinstance(front_end, (str, Path)) else FrontEnd.from_json(front_end)
        copied += [Path(p) for p in emit_c(fe, lib_src)]
        raw_samples = int(getattr(fe, "window", 0) or 0)

    keep = {c.resolve() for c in copied}
    for stale in list(lib_src.glob("*.c")) + list(lib_src.glob("*.h")):
        if stale.resolve() not in keep:
            stale.unlink()      # left by an earlier model (other kernels, a front end)

    # -- harness and BSPs ---------------------------------------------------------------------
    fw = firmware_dir()
    inc = out / "include"
    inc.mkdir(exist_ok=True)
    for h in ("harness/tg_app.h", "harness/tg_protocol.h", "bsp/tg_bsp.h"):
        if (fw / h).is_file():
            shutil.copyfile(fw / h, inc / Path(h).name)
    src = out / "src"
    src.mkdir(exist_ok=True)
    notes: list[str] = []
    proto = fw / "harness" / "tg_protocol.c"
    if not proto.is_file():
        raise BuildError("firmware/harness/tg_protocol.c is missing from this tinygen install")
    shutil.copyfile(proto, src / "tg_protocol.c")
    bsp_root = src / "bsp"
    if bsp_root.exists():
        shutil.rmtree(bsp_root)
    real_dirs = _real_bsp_dirs(board)
    for d in real_dirs:
        if (fw / "bsp" / d).is_dir():
            _copy_tree_files(fw / "bsp" / d, bsp_root / d)
    twin_dir = _bsp_dir_for_twin(board)
    twin_dirs = twin_bsp_dirs(twin_dir, board.twin.arch) if twin_dir else []
    for d in twin_dirs:
        _copy_tree_files(fw / "bsp" / d, bsp_root / d)
    if not twin_dir and board.twin is not None:
        notes.append(f"no board support for the {board.twin.machine} twin in firmware/bsp; "
                     f"the twin environment is left out")

    # -- rendered files -----------------------------------------------------------------------
    env = environment()
    sha = str(gen.sha256).lower()
    flags = " ".join(board.cflags) + " -O2"
    ctx = dict(
        version=__version__, sha256=sha if _HEX64.match(sha) else "?",
        sha256_bytes=_sha_bytes(sha),
        board_id=board.id, board_name=board.name,
        twin_board=f"{board.id}-twin-{board.twin.machine}" if board.twin else board.id,
        build_flags=flags,
        input_bytes=int(gen.input_bytes), output_bytes=int(gen.output_bytes),
        arena_bytes=int(gen.arena_bytes),
        input_scale=float(gen.input_scale), input_zero_point=int(gen.input_zero_point),
        output_scale=float(gen.output_scale), output_zero_point=int(gen.output_zero_point),
        front_end=has_fe,
    )
    (src / "main.c").write_text(env.get_template("project/main.c.j2").render(**ctx))
    (lib / "library.json").write_text(env.get_template("project/library.json.j2").render(**ctx))

    proto = protocol_payload_bytes(gen, raw_samples)
    official_env = board.env_official
    offline_env = board.env_offline if board.buildable else None
    twin_env = board.env_twin if twin_dir else None
    is_esp = board.family == "esp_idf"
    official_bsp = real_dirs
    ld = lambda d: f"$PROJECT_DIR/src/bsp/{d}/link.ld"  # noqa: E731
    ini_ctx = dict(
        version=__version__, sha256=ctx["sha256"], board_id=board.id, board_name=board.name,
        description=(f"{board.mcu}, {board.core}, {board.clock_hz // 1_000_000} MHz, "
                     f"{board.flash_bytes // 1024} KB flash, {board.ram_bytes // 1024} KB RAM"),
        note="" if board.buildable else board.build_note,
        default_env=offline_env or twin_env or official_env,
        core_dir=str(setup.core_dir) if setup and (offline_env or twin_env) else "",
        baud=board.baud,
        proto_max_payload=proto if proto > DEFAULT_PROTO_PAYLOAD else 0,
        official_env=official_env, official_platform=board.pio_platform,
        official_board=board.pio_board, official_framework=board.pio_framework,
        official_bsp=official_bsp, official_strict=not is_esp,
        official_ldscript=None if is_esp else ld(board.family),
        offline_env=offline_env, offline_board=board.offline_pio_board,
        offline_bsp=real_dirs, offline_ldscript=ld(board.family),
        platform_uri=f"symlink://{setup.platform_dir}" if setup else "",
        toolchain_package=_toolchain_for(board.arch),
        toolchain_uri=(f"symlink://{setup.toolchain_dir(board.arch)}"
                       if setup and offline_env else ""),
        twin_env=twin_env,
        twin_machine=board.twin.machine if board.twin else "",
        twin_board_id=board.twin.pio_board if board.twin else "",
        twin_bsp=twin_dirs,
        twin_ldscript=ld(twin_dir) if twin_dir else "",
        twin_toolchain_package=_toolchain_for(board.twin.arch) if board.twin else "",
        twin_toolchain_uri=(f"symlink://{setup.toolchain_dir(board.twin.arch)}"
                            if setup and board.twin else ""),
    )
    (out / "platformio.ini").write_text(env.get_template("project/platformio.ini.j2").render(**ini_ctx))
    if is_esp:
        (out / "CMakeLists.txt").write_text(env.get_template("project/CMakeLists.txt.j2").render(**ctx))
        (src / "CMakeLists.txt").write_text(
            env.get_template("project/src_CMakeLists.txt.j2").render(**ctx))
    if not board.buildable:
        notes.append(f"{board.id}: {board.build_note}")

    return Project(dir=out, board=board,
                   envs={"official": official_env, "offline": offline_env, "twin": twin_env},
                   lib_dir=lib, sources=sorted(set(copied)), front_end=has_fe, notes=notes)
