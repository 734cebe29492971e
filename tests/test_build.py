"""`pio run` offline on generated projects; sizes equal the toolchain's `size`; a project copied
elsewhere builds without tinygen; refusals before anything long."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinygen import builder
from tinygen.boards import get_board
from tinygen.cli import main as cli_main
from tinygen.errors import BuildError, RegistryUnreachable, ToolchainMissing
from tinygen.project import write_project

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "boards_tiny_model"))
from fixture import fixture_gen  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

needs_pio = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or
    __import__("importlib").util.find_spec("platformio") is None or
    __import__("importlib").util.find_spec("SCons") is None,
    reason="needs arm-none-eabi-gcc, platformio and scons")


def berkeley(tool: str, elf: Path) -> tuple[int, int, int]:
    out = subprocess.run([tool, "-B", "-d", str(elf)], capture_output=True, text=True,
                         timeout=30, check=True).stdout.splitlines()[1].split()
    return int(out[0]), int(out[1]), int(out[2])


@pytest.mark.cross
@needs_pio
@pytest.mark.parametrize("board_id", ["stm32h7", "stm32f4", "nrf52840"])
def test_offline_build_sizes_match_size_tool(tmp_path, board_id):
    board = get_board(board_id)
    p = write_project(board, tmp_path / board_id, fixture_gen())
    res = builder.build(p, p.envs["offline"], timeout=180)
    assert res.elf.is_file() and res.elf == p.elf(p.envs["offline"])
    text, data, bss = berkeley("arm-none-eabi-size", res.elf)
    assert (res.text, res.data, res.bss) == (text, data, bss)
    # pio run's own "Flash: ... used N bytes" / "RAM: ..." lines agree (checked in build())
    assert "Flash:" in res.log.read_text() and "RAM:" in res.log.read_text()
    assert res.flash_limit == board.flash_bytes and res.ram_limit == board.ram_bytes
    assert res.bss >= board.stack_bytes          # the reserved stack is counted in RAM
    assert res.bin.stat().st_size == text + data
    head = subprocess.run(["arm-none-eabi-readelf", "-h", str(res.elf)], capture_output=True,
                          text=True, timeout=30).stdout
    assert "ARM" in head


@pytest.mark.cross
@needs_pio
@pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None, reason="no RISC-V gcc")
def test_esp32c3_twin_builds_for_rv32imc(tmp_path):
    p = write_project(get_board("esp32c3"), tmp_path / "c3", fixture_gen())
    assert p.envs["offline"] is None and p.envs["twin"] == "esp32c3_twin"
    res = builder.build(p, "esp32c3_twin", timeout=180)
    assert berkeley("riscv64-unknown-elf-size", res.elf) == (res.text, res.data, res.bss)
    head = subprocess.run(["riscv64-unknown-elf-readelf", "-h", str(res.elf)],
                          capture_output=True, text=True, timeout=30).stdout
    assert "RISC-V" in head and "ELF32" in head


@pytest.mark.cross
@needs_pio
def test_copied_project_builds_offline_without_tinygen(tmp_path, monkeypatch):
    """Copy a generated (and built) project to a new folder, remove the original and tinygen's
    cache, hide tinygen from Python, and build both offline environments with plain `pio`."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TINYGEN_CACHE", str(cache))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORMIO_")}
    p = write_project(get_board("stm32l4"), tmp_path / "l4", fixture_gen())
    builder.build(p, "stm32l4_offline", timeout=180)       # leaves .pio/ and pio-core state
    assert not cache.exists()                              # tinygen keeps nothing outside it
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(p.dir, moved, symlinks=True)
    shutil.rmtree(p.dir)
    stub = tmp_path / "no-tinygen" / "tinygen"                # `pip uninstall tinygen`
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('tinygen is not installed')\n")
    env["PYTHONPATH"] = str(stub.parent)
    env.update(PLATFORMIO_SETTING_ENABLE_TELEMETRY="No")
    for target in ("stm32l4_offline", "stm32l4_twin"):
        r = subprocess.run([sys.executable, "-m", "platformio", "run", "-e", target], cwd=moved,
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert (moved / ".pio" / "build" / target / "firmware.elf").is_file()
    r = subprocess.run([sys.executable, "-c", "import tinygen"], cwd=moved, env=env,
                       capture_output=True)
    assert r.returncode != 0                                   # the stub really hides tinygen


def test_oversized_model_is_refused_before_building(tmp_path, monkeypatch, capsys):
    """A model too big for the board is refused before anything is written: no `model/gen`,
    no project, not even the --out folder (issue 16)."""
    pytest.importorskip("tflite_micro")
    import dataclasses

    import tinygen.codegen as codegen

    real = codegen.compile_model

    def inflated(model):      # the real model, with an arena of 200,000 B
        c = real(model)
        return dataclasses.replace(c, plan=dataclasses.replace(c.plan, arena_bytes=200_000))

    monkeypatch.setattr(codegen, "compile_model", inflated)
    called = []

    def fake_build(project, *a, **k):    # what was written when the build step began
        called.append(sorted(p.relative_to(project.dir).as_posix()
                             for p in project.dir.rglob("*") if p.is_file()))
        raise BuildError("reached the build step")

    monkeypatch.setattr(builder, "build", fake_build)
    model = FIXTURES / "validate_fc_a.tflite"
    out = tmp_path / "out"
    rc = cli_main(["build", "--board", "stm32f4", "--model", str(model), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and not called
    assert "does not fit stm32f4 RAM" in err and "arena 200,000 B" in err and "131,072" in err
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))
    # the same model fits the H7 (512 KB of RAM)
    rc = cli_main(["build", "--board", "stm32h7", "--model", str(model), "--out", str(out),
                   "--env", "offline"])
    assert rc == 2 and called and "reached the build step" in capsys.readouterr().err
    assert {"model/gen/model.c", "platformio.ini"} <= set(called[0])
    assert not out.exists()            # a failed build leaves nothing behind either


def test_emulate_needs_the_twin_build(tmp_path, capsys):
    rc = cli_main(["build", "--board", "stm32h7", "--model", str(FIXTURES / "validate_fc_a.tflite"),
                   "--env", "official", "--emulate", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "--emulate validates the twin build" in err and err.count("\n") == 1


@needs_pio
def test_official_env_fails_fast_without_registry(tmp_path, monkeypatch):
    p = write_project(get_board("stm32h7"), tmp_path / "h7", fixture_gen())
    with pytest.raises(RegistryUnreachable, match="offline"):
        builder.build(p, "nucleo_h743zi")       # never implicitly
    monkeypatch.setattr(builder, "REGISTRY_HOST", "registry.invalid")
    t0 = time.monotonic()
    with pytest.raises(RegistryUnreachable) as exc:
        builder.build(p, "nucleo_h743zi", allow_registry=True)
    assert time.monotonic() - t0 < 10 and "\n" not in str(exc.value)


def test_missing_toolchain_is_one_line(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which",
                        lambda name, *a, **k: None if name.startswith("arm-none-eabi-")
                        else real(name, *a, **k))
    with pytest.raises(ToolchainMissing) as exc:
        builder.check_offline(["arm"])
    assert "apt-get install" in str(exc.value) and "\n" not in str(exc.value)


def test_missing_platformio_is_one_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "platformio" else real(name, *a))
    with pytest.raises(ToolchainMissing, match="pip install"):
        builder.check_offline(["arm"])


@pytest.mark.cross
@needs_pio
def test_cli_build_real_model_json(tmp_path, capsys):
    pytest.importorskip("tflite_micro")
    model = FIXTURES / "validate_cnn_fe.tflite"
    feats = FIXTURES / "validate_cnn_fe.features.json"
    out = tmp_path / "build"
    rc = cli_main(["build", "--board", "stm32h7", "--model", str(model), "--features", str(feats),
                   "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = json.loads(captured.out)
    assert captured.err == ""                       # --json is quiet
    envs = {b["env"]: b for b in doc["builds"]}
    assert set(envs) == {"stm32h7_offline", "stm32h7_twin"}
    off = envs["stm32h7_offline"]
    assert Path(off["elf"]).is_file()
    assert berkeley("arm-none-eabi-size", Path(off["elf"])) == (off["text"], off["data"], off["bss"])
    assert off["flash"] > doc["weight_bytes"] > 0 and doc["macs"] > 0
    # front end included in the library; golden vectors (4 inputs + 4 raw windows) for pio test
    assert (out / "lib" / "tinygen_model" / "src" / "tg_features_config.h").is_file()
    assert doc["golden_vectors"] == 8 and (out / "test" / "test_golden" / "golden.json").is_file()
    assert doc["latency"]["network_instructions"] > 0


def test_cli_esp32_says_not_built_here(tmp_path, capsys):
    pytest.importorskip("tflite_micro")
    rc = cli_main(["build", "--board", "esp32s3", "--model", str(FIXTURES / "validate_fc_a.tflite"),
                   "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert rc == 0
    # the core's code is compiled for real (clang-22, Xtensa); only the ESP-IDF image is not
    assert "NOT BUILT HERE" in out and "ESP-IDF" in out and "clang-22" in out
    lib = tmp_path / "o" / ".pio" / "build" / "esp32s3_offline" / "libfirmware.a"
    assert lib.is_file() and "xtensa-sim twin" in out
