"""HIL in the user's own CI, both ways, on the Cortex-M7 twin (offline):

- the PlatformIO way: the generated project's `pio test -e stm32h7_twin` sends its golden vectors
  (TFLite-Micro's outputs, computed at generation) over serial and passes; with one weight byte
  of the generated model corrupted it fails, naming the differing bytes;
- the pytest way: `pytest -p tinygen.pytest_plugin --tinygen-board stm32h7 --tinygen-emulate`
  gives a user's test file a `tinygen_device` fixture; it passes on the good firmware and fails
  on the corrupted one."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen import builder
from tinygen.boards import get_board

pytestmark = [pytest.mark.emulated, pytest.mark.cross]
FIX = Path(__file__).resolve().parent / "fixtures"
MODEL, FEATURES = FIX / "validate_cnn_fe.tflite", FIX / "validate_cnn_fe.features.json"


def corrupt_first_weight(model_c: Path) -> tuple[int, int]:
    """Flip the sign bit of the first int8 weight in a generated model.c; (old, new)."""
    text = model_c.read_text()
    m = re.search(r"static const int8_t \w+_weights\[\d+\] = \{\s*(-?\d+)", text)
    old = int(m.group(1))
    new = old - 128 if old >= 0 else old + 128
    model_c.write_text(text[:m.start(1)] + str(new) + text[m.end(1):])
    return old, new


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """A generated stm32h7 project with golden vectors, and a copy with one weight corrupted."""
    pytest.importorskip("tflite_micro")
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("qemu-system-arm or arm-none-eabi-gcc not installed")
    from tinygen.codegen import generate
    from tinygen.hil import make_golden
    from tinygen.project import open_project, write_project
    from tinygen.validate import reference_for

    d = tmp_path_factory.mktemp("hil")
    board = get_board("stm32h7")
    reference, _ = reference_for(MODEL, FEATURES)
    gen = generate(MODEL, d / "gen")
    good = write_project(board, d / "good", gen, reference.fe, make_golden(board, reference))
    shutil.copytree(good.dir, d / "bad")
    old, new = corrupt_first_weight(d / "bad" / "lib" / "tinygen_model" / "src" / "model.c")
    assert old != new
    return good, open_project(d / "bad", board)


def test_pio_test_on_the_twin_passes(projects):
    good, _ = projects
    run = builder.test(good, "stm32h7_twin")
    assert run.passed, run.output[-3000:]
    assert len(re.findall(r"^golden_\w+: ok: bit-exact$", run.output, re.M)) == 8
    assert "8 test cases: 8 succeeded" in run.output


def test_pio_test_fails_on_a_corrupted_weight_byte(projects):
    _, bad = projects
    run = builder.test(bad, "stm32h7_twin")
    assert not run.passed
    # The field layer's boot check sees the changed constant before any golden vector runs (the
    # digest table was generated from the original weights); without it, the vectors differ.
    refused = "failed their integrity check" in run.output and "[ERRORED]" in run.output
    failed = re.findall(r"^(golden_\w+): FAILED: (\d+) of (\d+) bytes of (.*) differ", run.output,
                        re.M)
    assert refused or (failed and "[FAILED]" in run.output), run.output[-3000:]


def _user_suite(tmp_path: Path) -> Path:
    suite = tmp_path / "user_tests"
    suite.mkdir()
    (suite / "test_on_device.py").write_text(
        "def test_bit_exact(tinygen_device):\n"
        "    for seed in range(6):\n"
        "        tinygen_device.assert_bit_exact(*tinygen_device.random_inputs(seed))\n"
        "\n"
        "def test_identity(tinygen_device):\n"
        "    assert tinygen_device.info.board == 'stm32h7'\n"
        "    assert tinygen_device.info.twin == 'mps2-an500'\n"
        "    assert tinygen_device.validate(samples=4).differing_bytes == 0\n")
    return suite


def _pytest(suite: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:tinygen", "-p",
                           "tinygen.pytest_plugin", "-p", "no:cacheprovider",
                           "--tinygen-board", "stm32h7", "--tinygen-emulate",
                           "--tinygen-model", str(MODEL), "--tinygen-features", str(FEATURES),
                           *args, str(suite)], cwd=suite, env=env, capture_output=True,
                          text=True, timeout=900)


def test_pytest_plugin_on_the_twin(tmp_path):
    """The plugin builds the twin firmware for the model itself, then the user's tests run."""
    pytest.importorskip("tflite_micro")
    r = _pytest(_user_suite(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "2 passed" in r.stdout


def test_pytest_plugin_catches_corrupted_firmware(projects, tmp_path):
    _, bad = projects
    elf = builder.build(bad, "stm32h7_twin").elf
    r = _pytest(_user_suite(tmp_path), "--tinygen-elf", str(elf))
    assert r.returncode == 1, r.stdout[-3000:]
    caught = re.search(r"bytes of output 0 differ|failed their (integrity|crc32) check", r.stdout)
    assert ("failed" in r.stdout or "error" in r.stdout) and caught, r.stdout[-3000:]
