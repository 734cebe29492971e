"""GenResult + Board -> an ordinary PlatformIO project on disk, that builds wherever it is copied.

    platformio.ini            [env:<official>] (registry), [env:<id>_offline], [env:<id>_twin],
                              [env:<id>_twin_portable] (the twin without its DSP route)
    lib/tinygen_model/        library.json + src/: generated model C, runtime, kernels, front end
    include/                  tg_app.h, tg_bsp.h, tg_protocol.h
    src/main.c                the harness (templates/project/main.c.j2) -> tg_protocol_run(&app)
    src/tg_protocol.c         the serial protocol (firmware/harness/)
    src/tg_field*.c, ...      the field-ready layer: integrity, watchdog, safe mode (tinygen.field)
    src/bsp/<dir>/            board support; each environment compiles only its own folders
    boards/*.json             PlatformIO board manifests for the offline and twin environments
    platforms/tinygen/        the offline dev-platform (SCons builder over Debian's cross GCCs)
    pio-core/packages/        a stand-in for the registry's tool-scons (runs the pip SCons)
    test/                     `pio test`: golden vectors sent over serial (custom test runner)

Everything the offline environments need is inside the folder or on the system (Debian's
compilers, QEMU, PlatformIO and SCons from PyPI); every path in platformio.ini is relative to the
project. Generated text comes from templates/project; nothing model-derived reaches C unescaped.
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import __version__
from .boards import Board, Twin
from .errors import BuildError, TinygenError
from .field import (FieldOptions, config_values, render_config, render_stats_config,
                    stats_classes)
from .flash import upload_command_line
from .render import environment
from .resources import firmware_dir, templates_dir
from .wire import DTYPES, frame_buffer_bytes, stats_reply_bytes, wire_type

LIB_NAME = "tinygen_model"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Project:
    dir: Path
    board: Board
    envs: dict[str, Optional[str]]  # "official", "offline", "twin", "twin_portable" -> env or None
    front_end: bool = False
    golden: bool = False
    field: Optional[dict] = None            # tinygen.field.config_values (None: unknown)

    @property
    def ini(self) -> Path:
        return self.dir / "platformio.ini"

    def elf(self, env: str) -> Path:
        return self.dir / ".pio" / "build" / env / "firmware.elf"

    def output(self, env: str) -> Path:
        """What `pio run -e env` makes: the firmware ELF, or the static library of an offline
        environment whose real image needs a vendor SDK (Board.offline_output)."""
        if env == self.envs["offline"] and self.board.offline_output == "library":
            return self.dir / ".pio" / "build" / env / "libfirmware.a"
        return self.elf(env)


@dataclass(frozen=True)
class HarnessTensor:
    """One model input or output as the harness declares it to the protocol."""

    code: int                   # wire dtype code (TFLite TensorType)
    size: int                   # bytes per element
    count: int
    scale: float
    zero_point: int

    @property
    def nbytes(self) -> int:
        return self.count * self.size


def model_io(gen) -> tuple[tuple[HarnessTensor, ...], tuple[HarnessTensor, ...]]:
    """The model's inputs and outputs (codegen.IOTensor), as the protocol carries them."""
    def one(io) -> HarnessTensor:
        t = wire_type(io.dtype)
        return HarnessTensor(t.code, t.size, io.count,
                             0.0 if io.scale is None else float(io.scale), io.zero_point)
    return tuple(map(one, gen.inputs)), tuple(map(one, gen.outputs))


def raw_window(front_end) -> int:
    """int16 values in one raw window: every channel's window, interleaved."""
    return int(front_end.raw_samples) if front_end is not None else 0


def stats_bytes(gen, front_end=None, field: Optional[FieldOptions] = None) -> int:
    """The drift statistics' state, which is also the STATS reply (tg_stats.h): 0 without them."""
    field = field or FieldOptions()
    if front_end is None or not field.stats:
        return 0
    return stats_reply_bytes(front_end.n_features, stats_classes(gen))


def frame_buffer(gen, front_end=None, field: Optional[FieldOptions] = None) -> int:
    """TG_PROTO_MAX_PAYLOAD for this model (and front end, and statistics)."""
    ins, outs = model_io(gen)
    return frame_buffer_bytes([t.nbytes for t in ins], [t.nbytes for t in outs],
                              raw_window(front_end), stats_bytes(gen, front_end, field))


def static_ram_bytes(gen, front_end=None, field: Optional[FieldOptions] = None) -> int:
    """RAM beside arena and stack: the protocol's two frame buffers, the drift statistics, and
    a little more."""
    return 2 * frame_buffer(gen, front_end, field) + stats_bytes(gen, front_end, field) + 1024


def model_fit(board: Board, compiled, front_end=None, *, twin: bool = False,
              check: bool = True):
    """The one flash/RAM estimate of a compiled model (codegen.Compiled) on a board: what
    `tinygen analyze` prints and what `tinygen build` refuses an oversized model with."""
    from .boards import check_fit

    return check_fit(board, compiled.weight_bytes, compiled.plan.arena_bytes,
                     state_bytes=compiled.state_bytes,
                     static_bytes=static_ram_bytes(compiled, front_end), twin=twin, check=check)


def _sha_bytes(sha: str) -> list[int]:
    if not _HEX64.match(str(sha)):
        raise TinygenError("model hash is not a SHA-256 hex digest; regenerate the model sources")
    return list(bytes.fromhex(sha))


def _copy_files(src: Path, dst: Path, patterns=("*.c", "*.h", "*.S", "*.ld")) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for pat in patterns:
        for f in sorted(src.glob(pat)):
            shutil.copyfile(f, dst / f.name)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ---- the parts of a project ---------------------------------------------------------------------

def write_library(out: Path, gen, front_end=None, field: Optional[dict] = None) -> None:
    """lib/tinygen_model: the generated C (and front end, and its drift statistics), nothing
    left from an earlier model."""
    lib_src = out / "lib" / LIB_NAME / "src"
    if lib_src.exists():
        shutil.rmtree(lib_src)
    lib_src.mkdir(parents=True)
    for f in map(Path, gen.files):
        if not f.is_file():
            raise BuildError(f"generated source {f} is missing; run tinygen generate again")
        shutil.copyfile(f, lib_src / f.name)
    if front_end is not None:
        from .features import emit_c

        emit_c(front_end, lib_src)
    if field and field["stats"]:
        _copy_files(firmware_dir() / "features", lib_src, ("tg_stats.c", "tg_stats.h"))
        _write(lib_src / "tg_stats_config.h", render_stats_config(field, __version__, gen.sha256))
    text = environment().get_template("project/library.json.j2").render(
        version=__version__, sha256=gen.sha256)
    _write(out / "lib" / LIB_NAME / "library.json", text)


HARNESS_HEADERS = ("harness/tg_app.h", "harness/tg_protocol.h", "harness/tg_field.h",
                   "harness/tg_integrity.h", "harness/tg_sha256.h", "bsp/tg_bsp.h")
HARNESS_SOURCES = ("tg_protocol.c", "tg_field.c", "tg_integrity.c", "tg_sha256.c")


def write_harness(out: Path, board: Board, gen, front_end=None,
                  field: Optional[dict] = None) -> None:
    """include/, src/main.c, src/tg_protocol.c, the field-ready layer (src/tg_field*.c and its
    generated tg_field_config.h) and src/bsp/<dir> for the board and its twin."""
    fw = firmware_dir()
    for h in HARNESS_HEADERS:
        _write(out / "include" / Path(h).name, (fw / h).read_text())
    for c in HARNESS_SOURCES:
        _write(out / "src" / c, (fw / "harness" / c).read_text())
    field = field or config_values(FieldOptions(integrity="off", watchdog=False, stats=False),
                                   gen, board, front_end)
    _write(out / "src" / "tg_field_config.h", render_config(field, __version__, gen.sha256))
    bsp_root = out / "src" / "bsp"
    if bsp_root.exists():
        shutil.rmtree(bsp_root)
    for d in board.bsp + (board.twin.bsp if board.twin else ()):
        _copy_files(fw / "bsp" / d, bsp_root / d)
    ins, outs = model_io(gen)
    if front_end is not None and (len(ins) != 1 or ins[0].code != DTYPES["int8"].code
                                  or ins[0].count != front_end.n_features):
        raise TinygenError(f"the front end makes {front_end.n_features} int8 features; the model "
                           f"takes {', '.join(str(t.count) for t in ins)} values; pass the "
                           "features.json this model was trained with")
    text = environment().get_template("project/main.c.j2").render(
        version=__version__, sha256=gen.sha256, sha256_bytes=_sha_bytes(gen.sha256),
        board_id=board.id, board_name=board.name,
        twin_id=board.twin.id if board.twin else "", build_flags=" ".join(board.cflags) + " -O2",
        arena_bytes=int(gen.arena_bytes), inputs=ins, outputs=outs,
        front_end=front_end is not None, field=field)
    _write(out / "src" / "main.c", text)


def write_platform(out: Path) -> None:
    """platforms/tinygen (the offline dev-platform) and the tool-scons stand-in in pio-core."""
    src = firmware_dir() / "platformio"
    dst = out / "platforms" / "tinygen"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    scons = out / "pio-core" / "packages" / "tool-scons"
    shutil.copytree(templates_dir() / "project" / "tool-scons", scons, dirs_exist_ok=True)


def _manifest(name: str, arch: str, core: str, mcu: str, cflags, clock_hz: int,
              flash: int, ram: int, features=(), output: str = "firmware") -> str:
    build = {"arch": arch, "cpu": core, "mcu": mcu, "f_cpu": f"{clock_hz}L",
             "tinygen_cflags": list(cflags), "tinygen_output": output}
    if features:
        build["tinygen_features"] = list(features)
    doc = {"name": name, "vendor": "tinygen", "url": "https://platformio.org", "frameworks": [],
           "build": build, "upload": {"maximum_size": flash, "maximum_ram_size": ram}}
    return json.dumps(doc, indent=2) + "\n"


def write_boards(out: Path, board: Board) -> None:
    """boards/*.json: PlatformIO manifests made from the board (and twin) file."""
    if board.buildable:
        what = "bare metal" if board.offline_output == "firmware" else "compiled, not linked"
        _write(out / "boards" / f"{board.offline_pio_board}.json", _manifest(
            f"{board.name} (tinygen offline, {what})", board.arch, board.core, board.mcu,
            board.cflags, board.clock_hz, board.flash_bytes, board.ram_bytes, board.features,
            board.offline_output))
    t = board.twin
    if t is not None:
        _write(out / "boards" / f"{t.pio_board}.json", _manifest(
            f"QEMU {t.machine} (tinygen emulated twin)", t.arch, t.core, t.machine, t.cflags,
            t.clock_hz, t.flash_bytes, t.ram_bytes, t.features))


def twin_command(twin: Twin, image: str = "$SOURCE") -> str:
    """`pio run -e <id>_twin -t upload`: run the twin in QEMU, its UART on this terminal (a
    stdio line: QEMU's own stdin/stdout are the terminal, no serial device in between)."""
    serial = ["-serial", "none"] if twin.line == "stdio" else []
    return shlex.join([twin.qemu, "-M", twin.machine, "-nographic", "-monitor", "none",
                       *twin.args, *serial, "-kernel", image])


def project_envs(board: Board) -> dict[str, Optional[str]]:
    return {"official": board.env_official,
            "offline": board.env_offline if board.buildable else None,
            "twin": board.env_twin, "twin_portable": board.env_twin_portable}


def write_ini(out: Path, board: Board, gen, front_end=None,
              field: Optional[FieldOptions] = None) -> dict[str, Optional[str]]:
    envs = project_envs(board)
    t = board.twin
    ld = "$PROJECT_DIR/src/bsp/{}/link.ld".format
    links = board.buildable and board.offline_output == "firmware"
    text = environment().get_template("project/platformio.ini.j2").render(
        version=__version__, sha256=gen.sha256, board_id=board.id, board_name=board.name,
        description=(f"{board.mcu}, {board.core}, {board.clock_hz // 1_000_000} MHz, "
                     f"{board.flash_bytes // 1024} KB flash, {board.ram_bytes // 1024} KB RAM"),
        note="" if links else board.build_note, offline_library=not links,
        default_env=envs["offline"] or envs["twin"] or envs["official"],
        baud=board.baud, frame_buffer=frame_buffer(gen, front_end, field),
        official_env=envs["official"], official_platform=board.pio_platform,
        official_board=board.pio_board, official_framework=board.pio_framework,
        official_ldscript=ld(board.ldscript_dir) if board.ldscript_dir else None,
        board_bsp=board.bsp, offline_env=envs["offline"], offline_board=board.offline_pio_board,
        upload_tool=board.upload.tool,
        upload_command=upload_command_line(board) if links else "",
        twin_env=envs["twin"], twin_id=t.id if t else "", twin_machine=t.machine if t else "",
        twin_board=t.pio_board if t else "", twin_bsp=t.bsp if t else (),
        twin_clock_hz=t.clock_hz if t else 0, twin_ldscript=ld(t.ldscript_dir) if t else "",
        twin_command=twin_command(t) if t else "", twin_portable_env=envs["twin_portable"],
        dsp_name=kernel_route(t) if t else "")
    _write(out / "platformio.ini", text)
    return envs


def kernel_route(twin: Twin) -> str:
    """What the kernels' DSP route uses on this twin's core (for comments and `tinygen bench`)."""
    if not twin.dsp:
        return ""
    return "MAC16" if twin.arch == "xtensa" else "SMLAD"


def write_tests(out: Path, golden) -> None:
    """test/: the custom runner and the golden vectors `pio test` sends over serial."""
    test = out / "test"
    if test.exists():
        shutil.rmtree(test)
    shutil.copytree(templates_dir() / "project" / "test", test)
    golden.save(test / "test_golden" / "golden.json")


def write_extras(out: Path, board: Board, gen) -> None:
    env = environment()
    ctx = dict(version=__version__, sha256=gen.sha256, board_id=board.id)
    _write(out / ".gitignore", env.get_template("project/gitignore.j2").render(**ctx))
    if board.pio_framework == "espidf":
        _write(out / "CMakeLists.txt", env.get_template("project/CMakeLists.txt.j2").render(**ctx))
        _write(out / "src" / "CMakeLists.txt",
               env.get_template("project/src_CMakeLists.txt.j2").render(**ctx))


def write_project(board: Board, out_dir, gen, front_end=None, golden=None,
                  field: Optional[FieldOptions] = None) -> Project:
    """Write (or refresh) the PlatformIO project for `board` in out_dir.

    gen: what tinygen.codegen.generate returns; front_end: a tinygen.features.FrontEnd or None;
    golden: tinygen.hil.Golden (the vectors `pio test` checks), or None for no test/ folder;
    field: tinygen.field.FieldOptions (default: integrity, watchdog and statistics on)."""
    _sha_bytes(gen.sha256)     # untrusted until checked: it reaches C, JSON and comments
    field = field or FieldOptions()
    values = config_values(field, gen, board, front_end)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    write_library(out, gen, front_end, values)
    write_harness(out, board, gen, front_end, values)
    write_platform(out)
    write_boards(out, board)
    envs = write_ini(out, board, gen, front_end, field)
    if golden is not None:
        write_tests(out, golden)
    write_extras(out, board, gen)
    return Project(dir=out, board=board, envs=envs, front_end=front_end is not None,
                   golden=golden is not None, field=values)


def open_project(path, board: Board) -> Project:
    """A project tinygen generated earlier for `board` (one-line errors otherwise)."""
    import configparser

    d = Path(path).resolve()
    ini = d / "platformio.ini"
    if not ini.is_file():
        raise BuildError(f"{d} is not a PlatformIO project (no platformio.ini); generate one with "
                         f"tinygen build --board {board.id} --out {path}")
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read_string(ini.read_text())
        made_for = cp.get("env", "custom_tinygen_board")
    except (configparser.Error, UnicodeDecodeError):
        raise BuildError(f"{ini} was not generated by tinygen (no custom_tinygen_board); "
                         f"regenerate it with tinygen build") from None
    if made_for != board.id:
        raise BuildError(f"the project in {d} was generated for {made_for}, not {board.id}; "
                         f"pass --board {made_for}")
    return Project(d, board, project_envs(board),
                   front_end=(d / "lib" / LIB_NAME / "src" / "tg_features.h").is_file(),
                   golden=(d / "test" / "test_golden" / "golden.json").is_file())
