"""Generated PlatformIO projects: layout, environments, relative paths only, board manifests made
from the board files, escaping, portability of their C."""
from __future__ import annotations

import configparser
import json
import shutil
import sys
from pathlib import Path

import pytest

from tinygen.boards import get_board, list_boards
from tinygen.builder import host_compile_check
from tinygen.errors import TinygenError
from tinygen.flash import upload_command_line
from tinygen.project import write_project

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "boards_tiny_model"))
from fixture import fixture_gen  # noqa: E402


def _ini(project) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(project.ini)
    return cp


@pytest.mark.parametrize("board_id", sorted(b.id for b in list_boards()))
def test_project_layout_and_envs(tmp_path, board_id):
    board = get_board(board_id)
    p = write_project(board, tmp_path / board_id, fixture_gen())
    ini = _ini(p)
    official = ini[f"env:{p.envs['official']}"]
    assert official["platform"] == board.pio_platform
    assert official["board"] == board.pio_board
    if board.pio_framework:
        assert official["framework"] == board.pio_framework
    assert ini["platformio"]["core_dir"] == "pio-core"
    assert ini["env"]["custom_tinygen_board"] == board.id and ini["env"]["test_framework"] == "custom"
    default = ini["platformio"]["default_envs"]
    if p.envs["offline"] or p.envs["twin"]:
        assert default != p.envs["official"], "the registry env must not be the default"
    if board.buildable:
        off = ini[f"env:{board.id}_offline"]
        assert off["platform"] == "symlink://${PROJECT_DIR}/platforms/tinygen"
        assert off["board"] == f"tinygen_{board.id}"
        assert "platform_packages" not in off          # Debian's compilers, from PATH
        if board.offline_output == "firmware":
            assert f"+<bsp/{board.ldscript_dir}/>" in off["build_src_filter"]
            assert off["upload_command"] == upload_command_line(board)
        else:                   # a static library for the vendor SDK: nothing to link or upload
            assert off["build_src_filter"] == "+<*> -<bsp/>" and "upload_command" not in off
        assert default == f"{board.id}_offline"
        manifest = json.loads((p.dir / "boards" / f"tinygen_{board.id}.json").read_text())
        assert manifest["build"]["tinygen_cflags"] == list(board.cflags)
        assert manifest["build"]["f_cpu"] == f"{board.clock_hz}L"
        assert manifest["upload"] == {"maximum_size": board.flash_bytes,
                                      "maximum_ram_size": board.ram_bytes}
    else:
        assert p.envs["offline"] is None
    if board.twin:
        tw = ini[f"env:{board.id}_twin"]
        assert tw["board"] == board.twin.pio_board and tw["custom_tinygen_twin"] == board.twin.id
        assert "TG_TWIN" in tw["build_flags"]
        assert f"TG_BSP_CPU_HZ={board.twin.clock_hz}u" in tw["build_flags"]
        ld = tw["board_build.ldscript"].replace("$PROJECT_DIR", str(p.dir))
        assert Path(ld).is_file()
        manifest = json.loads((p.dir / "boards" / f"{board.twin.pio_board}.json").read_text())
        assert manifest["build"]["arch"] == board.twin.arch
        assert manifest["upload"]["maximum_size"] == board.twin.flash_bytes
    else:
        assert p.envs["twin"] is None
    lib = json.loads((p.dir / "lib" / "tinygen_model" / "library.json").read_text())
    assert lib["name"] == "tinygen_model"
    assert (p.dir / "lib" / "tinygen_model" / "src" / "model.c").is_file()
    main = (p.dir / "src" / "main.c").read_text()
    assert "tg_protocol_run(&tg_app)" in main and "do not edit" in main
    assert f'.board = "{board.id}"' in main
    assert (p.dir / "include" / "tg_bsp.h").is_file()
    assert (p.dir / "platforms" / "tinygen" / "builder" / "main.py").is_file()
    assert (p.dir / "pio-core" / "packages" / "tool-scons" / "scons.py").is_file()
    if board.pio_framework == "espidf":
        assert (p.dir / "CMakeLists.txt").is_file() and (p.dir / "src" / "CMakeLists.txt").is_file()


def test_nothing_points_outside_the_project(tmp_path):
    """Every path a project names is relative to it: no tinygen install, cache or home."""
    p = write_project(get_board("stm32h7"), tmp_path / "h7", fixture_gen())
    outside = [str(Path(__file__).resolve().parent.parent), str(Path.home()), str(tmp_path)]
    for f in p.dir.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            for path in outside:
                assert path not in text, f"{f.relative_to(p.dir)} names {path}"
    assert not any(f.is_symlink() for f in p.dir.rglob("*"))


def test_rewrite_is_stable_and_idempotent(tmp_path):
    b = get_board("stm32h7")
    p1 = write_project(b, tmp_path / "a", fixture_gen())
    text1 = (p1.dir / "src" / "main.c").read_text()
    p2 = write_project(b, tmp_path / "a", fixture_gen())
    assert (p2.dir / "src" / "main.c").read_text() == text1


def test_untrusted_hash_never_reaches_c(tmp_path):
    with pytest.raises(TinygenError):
        write_project(get_board("stm32f4"), tmp_path / "x",
                      fixture_gen(sha256='*/ system("x"); /*'))


@pytest.mark.host
@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")
@pytest.mark.parametrize("board_id", ["esp32", "esp32s3", "esp32c3"])
def test_esp_projects_compile_on_host(tmp_path, board_id):
    p = write_project(get_board(board_id), tmp_path / board_id, fixture_gen())
    files = host_compile_check(p.dir)
    assert {f.name for f in files} >= {"model.c", "main.c", "tg_protocol.c"}


def test_front_end_goes_into_the_library_and_stale_files_go(tmp_path):
    from tinygen.features import FrontEnd

    fe = FrontEnd.from_json(Path(__file__).parent / "fixtures" / "validate_cnn_fe.features.json")
    b = get_board("stm32f4")
    p = write_project(b, tmp_path / "p", fixture_gen(input_bytes=fe.n_features), front_end=fe)
    lib = p.dir / "lib" / "tinygen_model" / "src"
    assert (lib / "tg_features_config.h").is_file() and p.front_end
    main = (p.dir / "src" / "main.c").read_text()
    assert ".features = tg_features_run" in main and "TG_FEATURES_SAMPLES" in main
    p = write_project(b, tmp_path / "p", fixture_gen())
    assert not (lib / "tg_features_config.h").exists() and not (lib / "tg_features.c").exists()
    assert ".features = 0" in (p.dir / "src" / "main.c").read_text()
