"""ESP32's MAC16 route on the Xtensa twin (QEMU sim, de233_fpu): the image really runs MULA.AA,
the anchors, a zoo model and the default model's FFT front end are bit-exact against TFLite-Micro
over the serial protocol, and `tinygen bench --routes` counts both kernel routes.

The twin's line is QEMU's stdin/stdout (tinygen/twin.py has why not its simcall console, which
lost bytes under load): no inference may need a resend. Four records per model keep each run to
seconds."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.boards import get_twin
from tinygen.builder import build_twin_firmware
from tinygen.validate import run_emulated

FIX = Path(__file__).resolve().parent / "fixtures"
ANCHORS = Path(__file__).resolve().parents[1].parent / "shared" / "anchors"
BOARD = "esp32"

pytestmark = [pytest.mark.emulated, pytest.mark.cross]


def _need_twin() -> None:
    pytest.importorskip("tflite_micro")
    twin = get_twin("xtensa-sim")
    for tool in (twin.qemu, "clang-22", "llvm-mc-22", "llvm-objdump-22", "xtensa-lx106-elf-ld"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")


def mula_count(elf: Path) -> int:
    """MULA.AA instructions in an image (llvm-objdump decodes MAC16 only when told the core has it)."""
    out = subprocess.run(["llvm-objdump-22", "-d", "--mattr=+mac16,+windowed,+density", str(elf)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return sum(1 for line in out.splitlines() if "mula.aa." in line)


def _exact(model: Path, out: Path, features: Path | None = None, samples: int = 4) -> Path:
    """The MAC16 twin image of a model, checked to use MAC16, then 0 differing bytes."""
    elf = build_twin_firmware(BOARD, model, out, features)
    assert mula_count(elf) > 0, "the esp32 twin image has no MULA.AA: the MAC16 route is off"
    rep = run_emulated(BOARD, elf, model, features, samples=samples, timeout=60)
    assert rep.ok and rep.differing_bytes == 0, rep.table()
    assert rep.bit_exact == samples and rep.resends == 0, rep.table()
    return elf


@pytest.mark.parametrize("name", ["cnn_fft_flatten", "cnn_raw_stride"])
def test_anchor_bit_exact_on_mac16(name, tmp_path):
    _need_twin()
    model = ANCHORS / f"{name}.tflite"
    if not model.is_file():
        pytest.skip(f"{model} not present")
    _exact(model, tmp_path)


@pytest.mark.tf
def test_zoo_model_bit_exact_on_mac16(tmp_path):
    """fc_autoencoder (264,192 MACs): the FC rows' MAC16 route, 640-byte rows."""
    _need_twin()
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import zoo

    model = tmp_path / "fc_autoencoder.tflite"
    model.write_bytes(zoo.zoo_model("fc_autoencoder"))
    _exact(model, tmp_path / "b")


def test_default_model_with_front_end_on_mac16(tmp_path):
    """The default vibration model's shape with its FFT front end (fixture): raw windows in, the
    front end and the network on the Xtensa core, every output byte equal to the reference's."""
    _need_twin()
    _exact(FIX / "validate_cnn_fe.tflite", tmp_path, FIX / "validate_cnn_fe.features.json")


# Network instructions of one inference on the twin at most (QEMU's single-step trace, clang-22
# 22.1.8, bench's seeded input): measured MAC16 140,129, portable 146,077 (only its second conv,
# 6,144 of 9,728 MACs, takes the batch route; the rest is portable on both).
ROUTE_BOUNDS = {"cnn_fft_flatten": (141_000, 147_000)}


def test_bench_counts_both_routes(tmp_path):
    _need_twin()
    model = ANCHORS / "cnn_fft_flatten.tflite"
    if not model.is_file():
        pytest.skip(f"{model} not present")
    r = subprocess.run([sys.executable, "-m", "tinygen", "bench", "--board", BOARD, "--emulate",
                        "--routes", "--model", str(model), "--out", str(tmp_path / "b"), "--json"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    assert doc["route"] == "MAC16" and doc["portable"]["route"] == "portable"
    mac16, portable = doc["network_instructions"], doc["portable"]["network_instructions"]
    assert mula_count(Path(doc["elf"])) > 0 and mula_count(Path(doc["portable"]["elf"])) == 0
    most_mac16, most_portable = ROUTE_BOUNDS["cnn_fft_flatten"]
    assert 0 < mac16 <= most_mac16 and mac16 < portable <= most_portable, (mac16, portable)


def test_routes_with_elf_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tinygen", "bench", "--board", BOARD, "--emulate",
                        "--routes", "--model", str(FIX / "validate_fc_a.tflite"),
                        "--elf", str(FIX / "validate_fc_a.tflite")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "--routes builds both twin images itself" in r.stderr
