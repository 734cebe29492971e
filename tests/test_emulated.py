"""Hardware-in-the-loop on the QEMU twins over socket://: 0 differing bytes against the reference.

Fixture firmware (hand-written model) on every twin; generated models (tinygen.codegen) with and
without the FFT front end on the Cortex-M7 and Cortex-M4 twins; faults on a twin; instruction
counts. QEMU is started and stopped by tinygen (tinygen.emulate)."""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import validate_fixture as vf  # noqa: E402

from tinygen.emulate import TWINS, QemuTwin, twin_for_board  # noqa: E402
from tinygen.errors import EmulatorError, FirmwareMismatch  # noqa: E402
from tinygen.validate import run_emulated, validate_transport  # noqa: E402
from tinygen.validate.protocol import DeviceReset  # noqa: E402

FIX = Path(__file__).resolve().parent / "fixtures"
ANCHORS = Path("/work/shared/anchors")

pytestmark = [pytest.mark.emulated, pytest.mark.cross]


def _have(*tools):
    return all(shutil.which(t) for t in tools)


def _skip_unless(twin):
    if not _have(twin.qemu, twin.cc):
        pytest.skip(f"{twin.qemu} or {twin.cc} not installed")


@pytest.fixture(scope="module")
def fixture_elves(tmp_path_factory):
    d = tmp_path_factory.mktemp("twins")
    out = {}
    for name, twin in TWINS.items():
        if _have(twin.qemu, twin.cc):
            out[name] = vf.build_twin_fixture(twin, d / name)
    return out


@pytest.mark.parametrize("name", sorted(TWINS))
def test_fixture_firmware_on_every_twin(fixture_elves, name):
    twin = TWINS[name]
    _skip_unless(twin)
    with QemuTwin(twin, fixture_elves[name]) as q:
        for mode in ("raw", "features"):
            rep = validate_transport(q.transport, name, vf.FixtureReference(), samples=10,
                                     expect_boot=(mode == "raw"), mode=mode, timeout=5,
                                     emulated=True)
            assert rep.ok and rep.differing_bytes == 0, rep.table()
        proc = q.proc
    assert proc.poll() is not None, "QEMU left running"


def test_reset_mid_run_on_twin_keeps_partial_results(tmp_path):
    twin = TWINS["mps2-an500"]
    _skip_unless(twin)
    elf = vf.build_twin_fixture(twin, tmp_path, reset_after=4)
    with QemuTwin(twin, elf) as q:
        with pytest.raises(DeviceReset) as exc:
            validate_transport(q.transport, "stm32h7", vf.FixtureReference(), samples=10,
                               expect_boot=True, mode="features", timeout=5)
    assert len(exc.value.report.samples) == 3 and exc.value.report.bit_exact == 3


def test_emulator_failure_is_one_line_and_bounded(tmp_path):
    twin = TWINS["mps2-an500"]
    _skip_unless(twin)
    bogus = tmp_path / "bogus.elf"
    bogus.write_bytes(b"not an elf")
    start = time.monotonic()
    with pytest.raises(EmulatorError) as exc:
        with QemuTwin(twin, bogus, startup_timeout=5):
            pass
    assert time.monotonic() - start < 6 and "\n" not in str(exc.value)


# ---- generated models ----------------------------------------------------------------------
MODELS = [
    ("validate_fc_a.tflite", None),                                  # int8 features -> network
    ("validate_fc_b.tflite", None),
    ("validate_cnn_fe.tflite", "validate_cnn_fe.features.json"),     # raw -> FFT -> network
]


def _model_path(name):
    return FIX / name


@pytest.mark.parametrize("board", ["stm32h7", "stm32f4"])       # Cortex-M7 and Cortex-M4 twins
@pytest.mark.parametrize("model,features", MODELS)
def test_generated_model_bit_exact(board, model, features, tmp_path, monkeypatch):
    pytest.importorskip("tflite_micro")
    twin = twin_for_board(board)
    _skip_unless(twin)
    monkeypatch.setenv("TINYGEN_DIRECT_BUILD", "1")   # the PlatformIO path is tested once below
    feats = FIX / features if features else None
    rep = run_emulated(board, None, FIX / model, feats, samples=12, work_dir=tmp_path)
    assert rep.ok, rep.table()
    assert rep.differing_bytes == 0 and rep.bit_exact == 12
    if features:
        assert rep.samples[0].mode == "raw" and rep.samples[0].got_features is not None


@pytest.mark.parametrize("anchor", ["cnn_fft_flatten.tflite", "cnn_raw_stride.tflite"])
def test_anchor_models_bit_exact_on_m7(anchor, tmp_path, monkeypatch):
    pytest.importorskip("tflite_micro")
    path = ANCHORS / anchor
    if not path.is_file():
        pytest.skip("anchor models not present")
    _skip_unless(TWINS["mps2-an500"])
    monkeypatch.setenv("TINYGEN_DIRECT_BUILD", "1")
    rep = run_emulated("stm32h7", None, path, samples=6, work_dir=tmp_path)
    assert rep.ok and rep.differing_bytes == 0, rep.table()


def test_platformio_twin_project(tmp_path, monkeypatch):
    """The product path: tinygen.project + tinygen.builder build the twin env, then validate."""
    pytest.importorskip("tflite_micro")
    if shutil.which("pio") is None and shutil.which("platformio") is None:
        pytest.skip("PlatformIO not installed")
    monkeypatch.delenv("TINYGEN_DIRECT_BUILD", raising=False)
    rep = run_emulated("stm32h7", None, FIX / "validate_cnn_fe.tflite",
                       FIX / "validate_cnn_fe.features.json", samples=8, work_dir=tmp_path)
    assert rep.ok and rep.differing_bytes == 0, rep.table()


def test_firmware_from_another_model_on_twin(tmp_path, monkeypatch):
    pytest.importorskip("tflite_micro")
    _skip_unless(TWINS["mps2-an386"])
    monkeypatch.setenv("TINYGEN_DIRECT_BUILD", "1")
    from tinygen.validate import build_twin_firmware

    elf = build_twin_firmware("stm32f4", FIX / "validate_fc_a.tflite", tmp_path)
    with pytest.raises(FirmwareMismatch, match="not validate_fc_b.tflite") as exc:
        run_emulated("stm32f4", elf, FIX / "validate_fc_b.tflite", samples=3)
    assert "\n" not in str(exc.value)


def test_instruction_counts_are_deterministic(tmp_path, monkeypatch):
    pytest.importorskip("unicorn")
    _skip_unless(TWINS["mps2-an500"])
    monkeypatch.setenv("TINYGEN_DIRECT_BUILD", "1")
    from tinygen.commands.bench import measure

    a = measure("stm32h7", FIX / "validate_cnn_fe.tflite", FIX / "validate_cnn_fe.features.json",
                out=tmp_path)
    b = measure("stm32h7", FIX / "validate_cnn_fe.tflite", FIX / "validate_cnn_fe.features.json",
                elf=Path(a["elf"]))
    assert a["front_end_instructions"] == b["front_end_instructions"] > 1000
    assert a["network_instructions"] == b["network_instructions"] > 0
    assert "not cycles" in a["unit"]
    # unicorn and QEMU's own single-step trace count the same instructions
    c = measure("stm32h7", FIX / "validate_cnn_fe.tflite", FIX / "validate_cnn_fe.features.json",
                elf=Path(a["elf"]), counter="qemu")
    assert (c["front_end_instructions"], c["network_instructions"]) == \
        (a["front_end_instructions"], a["network_instructions"])


# ---- the default model: trained pipeline, raw windows -> FFT front end -> network ------------
@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """A trained default run (student_int8.tflite + features.json + test_windows.npz).
    TINYGEN_DEFAULT_RUN=<dir> reuses one; otherwise train with few epochs (same architecture,
    same front end: what matters for bit-exactness)."""
    given = os.environ.get("TINYGEN_DEFAULT_RUN")
    if given:
        return Path(given)
    pytest.importorskip("tensorflow")
    from tinygen.train.pipeline import TrainOptions, train

    out = tmp_path_factory.mktemp("default_run")
    train(out, seed=0, options=TrainOptions(teacher_epochs=1, student_epochs=2, seeds=1,
                                            size_table=False, machines=3))
    return out


@pytest.mark.slow
@pytest.mark.tf
@pytest.mark.parametrize("board", ["stm32h7", "stm32f4"])
def test_default_model_full_path_bit_exact(default_run, board, tmp_path, monkeypatch):
    pytest.importorskip("tflite_micro")
    _skip_unless(twin_for_board(board))
    monkeypatch.setenv("TINYGEN_DIRECT_BUILD", "1")
    rep = run_emulated(board, None, default_run / "student_int8.tflite",
                       default_run / "features.json", samples=16, work_dir=tmp_path)
    assert rep.ok and rep.differing_bytes == 0, rep.table()
    assert rep.samples[0].mode == "raw" and rep.accuracy() is not None
    assert rep.confusion() is not None


def test_generated_model_on_the_esp32c3_riscv_twin(tmp_path, monkeypatch):
    pytest.importorskip("tflite_micro")
    _skip_unless(twin_for_board("esp32c3"))
    monkeypatch.setenv("TINYGEN_DIRECT_BUILD", "1")
    rep = run_emulated("esp32c3", None, FIX / "validate_cnn_fe.tflite",
                       FIX / "validate_cnn_fe.features.json", samples=8, work_dir=tmp_path)
    assert rep.ok and rep.differing_bytes == 0, rep.table()
