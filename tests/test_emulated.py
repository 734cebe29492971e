"""Hardware-in-the-loop on the QEMU twins over socket://: 0 differing bytes against the reference.

Fixture firmware (hand-written models, one with three typed inputs and outputs) on every twin;
generated models, built through the generated PlatformIO project, with and without the FFT front
end, on the Cortex-M7, Cortex-M4 and RISC-V twins; refusals (another model, another board);
faults; `pio test` with the project's golden vectors; instruction counts; start-up under load.
QEMU is started and always stopped by tinygen (tinygen.twin, tinygen.procs)."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import validate_fixture as vf  # noqa: E402

from tinygen.boards import get_board, get_twin, list_twins  # noqa: E402
from tinygen.builder import build_twin_firmware  # noqa: E402
from tinygen.errors import EmulatorError, FirmwareMismatch  # noqa: E402
from tinygen.twin import QemuTwin, qemu_cpu_seconds  # noqa: E402
from tinygen.validate import run_emulated, validate  # noqa: E402
from tinygen.validate.device import Device  # noqa: E402
from tinygen.validate.protocol import DeviceReset  # noqa: E402

FIX = Path(__file__).resolve().parent / "fixtures"
ANCHORS = Path(__file__).resolve().parents[1].parent / "shared" / "anchors"   # CI: shared/ beside the checkout
CORPUS = ANCHORS.parent / "corpus" / "tflm" / "examples"
TWINS = {t.id: t for t in list_twins()}

pytestmark = [pytest.mark.emulated, pytest.mark.cross]


def _cc(twin) -> str:
    return {"arm": "arm-none-eabi-gcc", "riscv": "riscv64-unknown-elf-gcc",
            "xtensa": "clang-22"}[twin.arch]


# The hand-built fixture compiles with GCC; the Xtensa twin needs clang's two-step build, which
# only the project's build path has (test_xtensa_twin_validates_a_model below).
GCC_TWINS = sorted(t for t, twin in TWINS.items() if twin.arch != "xtensa")


def _skip_unless(twin):
    if not vf.have(twin.qemu, _cc(twin)):
        pytest.skip(f"{twin.qemu} or {_cc(twin)} not installed")


def _device(q: QemuTwin, board_id: str = vf.BOARD) -> Device:
    return Device(q.transport, get_board(board_id), emulated=True, timeout=5)


@pytest.fixture(scope="module")
def fixture_elves(tmp_path_factory):
    d = tmp_path_factory.mktemp("twins")
    return {name: vf.build_twin_fixture(TWINS[name], d / name)
            for name in GCC_TWINS if vf.have(TWINS[name].qemu, _cc(TWINS[name]))}


@pytest.mark.parametrize("name", GCC_TWINS)
def test_fixture_firmware_on_every_twin(fixture_elves, name):
    twin = TWINS[name]
    _skip_unless(twin)
    with QemuTwin(twin, fixture_elves[name]) as q:
        dev = Device(q.transport, _board_with_twin(twin), emulated=True, timeout=5)
        assert dev.info.twin == twin.id and dev.info.cpu_hz == twin.clock_hz
        for mode in ("raw", "features"):
            rep = validate(dev, vf.FixtureReference(), samples=10, mode=mode)
            assert rep.ok and rep.differing_bytes == 0, rep.table()
        proc = q.proc
    assert proc.poll() is not None, "QEMU left running"


def _board_with_twin(twin):
    """stm32h7's board facts with this twin (the fixture says it was built for stm32h7)."""
    from dataclasses import replace

    return replace(get_board(vf.BOARD), twin=twin)


@pytest.mark.parametrize("name", ["mps2-an500", "riscv32-virt"])
def test_typed_multi_io_fixture_on_twin(tmp_path, name):
    """int8[5] + float32[3] + int16[4] in, int32 + uint8 + float32 out: tensors spread to aligned
    places on the device (a misaligned float load would fault the Cortex-M7's VLDR)."""
    twin = TWINS[name]
    _skip_unless(twin)
    elf = vf.build_twin_fixture(twin, tmp_path, multi_io=True)
    with QemuTwin(twin, elf) as q:
        dev = Device(q.transport, _board_with_twin(twin), emulated=True, timeout=5)
        rep = validate(dev, vf.MultiReference(), samples=10)
        assert rep.ok and rep.differing_bytes == 0, rep.table()
        assert [o.dtype for o in rep.samples[0].got] == [np.int32, np.uint8, np.float32]


def test_reset_mid_run_on_twin_keeps_partial_results(tmp_path):
    twin = TWINS["mps2-an500"]
    _skip_unless(twin)
    elf = vf.build_twin_fixture(twin, tmp_path, reset_after=4)
    with QemuTwin(twin, elf) as q:
        with pytest.raises(DeviceReset) as exc:
            validate(_device(q), vf.FixtureReference(), samples=10, mode="features")
    assert len(exc.value.report.samples) == 3 and exc.value.report.bit_exact == 3


def test_emulator_failure_is_one_line_and_bounded(tmp_path):
    twin = TWINS["mps2-an500"]
    _skip_unless(twin)
    bogus = tmp_path / "bogus.elf"
    bogus.write_bytes(b"not an elf")
    start = time.monotonic()
    with pytest.raises(EmulatorError) as exc:
        with QemuTwin(twin, bogus):
            pass
    assert time.monotonic() - start < 6 and "\n" not in str(exc.value)
    # an ELF for another architecture is refused before QEMU starts
    with pytest.raises(EmulatorError, match="not built for riscv"):
        QemuTwin(TWINS["riscv32-virt"], _fixture_for(tmp_path, "mps2-an500")).start()


def _fixture_for(tmp_path, name):
    return vf.build_twin_fixture(TWINS[name], tmp_path / name)


def test_start_up_bound_is_cpu_time():
    """The start-up bound counts the emulator's CPU seconds, which load does not inflate: a
    process's count grows with the work it does, and a process that is gone has none."""
    before = qemu_cpu_seconds(os.getpid())
    if before is None:
        pytest.skip("no /proc here: the wall-clock bound stands alone")
    after = before
    for _ in range(200_000):          # ~1 ms of work each: the count must grow well before the end
        sum(range(100_000))
        after = qemu_cpu_seconds(os.getpid())
        if after > before:
            break
    # (it may already have grown between the two reads: a busy machine decides, not this test)
    assert after > before
    assert qemu_cpu_seconds(2 ** 22 + 12345) is None


def test_twin_starts_under_load(tmp_path):
    """Two CPU hogs beside QEMU: start-up waits on the guest's first bytes, not a fixed sleep,
    and its bound is QEMU's CPU time, which the hogs do not use up."""
    twin = TWINS["mps2-an500"]
    _skip_unless(twin)
    elf = _fixture_for(tmp_path, "mps2-an500")
    hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(2)]
    try:
        for _ in range(3):
            with QemuTwin(twin, elf) as q:
                rep = validate(_device(q), vf.FixtureReference(), samples=4, mode="features")
                assert rep.ok
    finally:
        for h in hogs:
            h.kill()
            h.wait(timeout=10)



def _listening_inet_sockets(pid: int) -> set[str]:
    """Inodes of the TCP/TCP6 sockets in LISTEN that process `pid` holds open."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            held.add(link[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A":                      # TCP_LISTEN
                listening.add(cols[9])
    return held & listening


def test_twins_side_by_side_have_lines_of_their_own(tmp_path):
    """Twins started at once (parallel tests, a benchmark beside them) each talk to their own
    guest: the line is a socket pair tinygen holds, no TCP port that another QEMU could take
    between a free-port probe and its bind (issue 16: "the guest sent nothing" under xdist)."""
    twin = TWINS["mps2-an500"]
    _skip_unless(twin)
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net here")
    elf = _fixture_for(tmp_path, "mps2-an500")
    with contextlib.ExitStack() as stack:
        qs = [stack.enter_context(QemuTwin(twin, elf)) for _ in range(4)]
        for q in qs:
            assert _listening_inet_sockets(q.proc.pid) == set()
        for q in qs:
            assert validate(_device(q), vf.FixtureReference(), samples=3, mode="features").ok

# ---- generated models, through the generated PlatformIO project ----------------------------------
MODELS = [
    ("validate_fc_a.tflite", None),                                  # int8 features -> network
    ("validate_fc_b.tflite", None),
    ("validate_cnn_fe.tflite", "validate_cnn_fe.features.json"),     # raw -> FFT -> network
]


@pytest.fixture(scope="module")
def twin_builds(tmp_path_factory):
    """Twin ELFs built once per (board, model) through tinygen.project + tinygen.builder."""
    d = tmp_path_factory.mktemp("builds")
    cache: dict = {}

    def get(board, model, features=None):
        key = (board, model)
        if key not in cache:
            feats = FIX / features if features else None
            cache[key] = build_twin_firmware(board, FIX / model, d / f"{board}-{model}", feats)
        return cache[key]
    return get


@pytest.mark.parametrize("board,model,features", [
    ("stm32h7", *MODELS[0]), ("stm32h7", *MODELS[1]), ("stm32h7", *MODELS[2]),
    ("stm32f4", *MODELS[2]),                                          # Cortex-M7 and Cortex-M4
])
def test_generated_model_bit_exact(twin_builds, board, model, features):
    pytest.importorskip("tflite_micro")
    _skip_unless(get_board(board).twin)
    feats = FIX / features if features else None
    rep = run_emulated(board, twin_builds(board, model, features), FIX / model, feats, samples=12)
    assert rep.ok, rep.table()
    assert rep.differing_bytes == 0 and rep.bit_exact == 12
    if features:
        assert rep.samples[0].mode == "raw" and rep.samples[0].got_features is not None


@pytest.mark.parametrize("anchor", ["cnn_fft_flatten.tflite", "cnn_raw_stride.tflite"])
def test_anchor_models_bit_exact_on_m7(anchor, tmp_path):
    pytest.importorskip("tflite_micro")
    path = ANCHORS / anchor
    if not path.is_file():
        pytest.skip("anchor models not present")
    _skip_unless(TWINS["mps2-an500"])
    elf = build_twin_firmware("stm32h7", path, tmp_path)
    rep = run_emulated("stm32h7", elf, path, samples=6)
    assert rep.ok and rep.differing_bytes == 0, rep.table()


# TFLite-Micro's own example models (../shared/corpus): what users bring. hello_world has a -1
# batch; simple_add_model two 16 KB inputs (two tensors in one INFER frame); person_detect (300 KB
# of weights, 9 KB input frames) joins with TINYGEN_CORPUS_FULL=1.
CORPUS_MODELS = [("micro_speech_quantized.tflite", 4), ("hello_world_int8.tflite", 4),
                 ("simple_add_model.tflite", 2)] + \
    ([("person_detect.tflite", 2)] if os.environ.get("TINYGEN_CORPUS_FULL") == "1" else [])


@pytest.mark.parametrize("name,samples", CORPUS_MODELS)
def test_corpus_models_bit_exact_on_m7(name, samples, tmp_path):
    pytest.importorskip("tflite_micro")
    path = CORPUS / name
    if not path.is_file():
        pytest.skip("shared/corpus not present")
    _skip_unless(TWINS["mps2-an500"])
    elf = build_twin_firmware("stm32h7", path, tmp_path)
    rep = run_emulated("stm32h7", elf, path, samples=samples)
    assert rep.ok and rep.differing_bytes == 0 and rep.bit_exact == samples, rep.table()


def test_firmware_from_another_model_on_twin(twin_builds):
    pytest.importorskip("tflite_micro")
    _skip_unless(TWINS["mps2-an500"])
    elf = twin_builds("stm32h7", "validate_fc_a.tflite")
    with pytest.raises(FirmwareMismatch, match="not validate_fc_b.tflite") as exc:
        run_emulated("stm32h7", elf, FIX / "validate_fc_b.tflite", samples=3)
    assert "\n" not in str(exc.value)


def test_firmware_for_another_board_on_twin(twin_builds):
    """A stm32h7 twin ELF is not stm32f4 firmware, though QEMU runs it."""
    pytest.importorskip("tflite_micro")
    _skip_unless(TWINS["mps2-an386"])
    elf = twin_builds("stm32h7", "validate_fc_a.tflite")
    with pytest.raises(FirmwareMismatch, match="built for stm32h7, not stm32f4") as exc:
        run_emulated("stm32f4", elf, FIX / "validate_fc_a.tflite", samples=3)
    assert exc.value.report.samples == []


def test_cli_refuses_twin_firmware_of_another_board(twin_builds, tmp_path):
    pytest.importorskip("tflite_micro")
    _skip_unless(TWINS["mps2-an386"])
    elf = twin_builds("stm32h7", "validate_fc_a.tflite")
    r = subprocess.run([sys.executable, "-m", "tinygen", "validate", "--board", "stm32f4",
                        "--emulate", "--elf", str(elf), "--model", str(FIX / "validate_fc_a.tflite"),
                        "--report", str(tmp_path / "r.json")], capture_output=True, text=True,
                       timeout=120)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("tinygen: error:")]
    assert r.returncode == 2 and len(errors) == 1 and "built for stm32h7" in errors[0]


def test_cli_validate_emulate_from_a_project(twin_builds, tmp_path):
    """`tinygen validate --emulate --project DIR`: the project's twin build, (re)built by pio."""
    pytest.importorskip("tflite_micro")
    _skip_unless(TWINS["mps2-an500"])
    import json

    project = twin_builds("stm32h7", "validate_fc_b.tflite").parents[3]
    r = subprocess.run([sys.executable, "-m", "tinygen", "validate", "--board", "stm32h7",
                        "--emulate", "--project", str(project), "--model",
                        str(FIX / "validate_fc_b.tflite"), "--samples", "5", "--json",
                        "--report", str(tmp_path / "r.json")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok" and doc["bit_exact"] == 5 and doc["device"]["twin"] == "mps2-an500"


def test_instruction_counts_are_deterministic(twin_builds):
    pytest.importorskip("unicorn")
    _skip_unless(TWINS["mps2-an500"])
    from tinygen.commands.bench import measure

    model, feats = FIX / "validate_cnn_fe.tflite", FIX / "validate_cnn_fe.features.json"
    elf = twin_builds("stm32h7", "validate_cnn_fe.tflite", "validate_cnn_fe.features.json")
    a = measure("stm32h7", model, feats, elf=elf)
    b = measure("stm32h7", model, feats, elf=elf)
    assert a["front_end_instructions"] == b["front_end_instructions"] > 1000
    assert a["network_instructions"] == b["network_instructions"] > 0
    assert "not cycles" in a["unit"] and a["counter"] == "unicorn"
    # unicorn and QEMU's own single-step trace count the same instructions
    c = measure("stm32h7", model, feats, elf=elf, counter="qemu")
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
# pico: the FFT front end and the network on an ARMv6-M core (soft float, libgcc division)
@pytest.mark.parametrize("board", ["stm32h7", "stm32f4", "pico"])
def test_default_model_full_path_bit_exact(default_run, board, tmp_path):
    pytest.importorskip("tflite_micro")
    _skip_unless(get_board(board).twin)
    model, feats = default_run / "student_int8.tflite", default_run / "features.json"
    elf = build_twin_firmware(board, model, tmp_path, feats)
    rep = run_emulated(board, elf, model, feats, samples=16)
    assert rep.ok and rep.differing_bytes == 0, rep.table()
    assert rep.samples[0].mode == "raw" and rep.accuracy() is not None
    assert rep.confusion() is not None


def test_generated_model_on_the_esp32c3_riscv_twin(tmp_path):
    pytest.importorskip("tflite_micro")
    _skip_unless(TWINS["riscv32-virt"])
    model, feats = FIX / "validate_cnn_fe.tflite", FIX / "validate_cnn_fe.features.json"
    elf = build_twin_firmware("esp32c3", model, tmp_path, feats)
    rep = run_emulated("esp32c3", elf, model, feats, samples=8)
    assert rep.ok and rep.differing_bytes == 0, rep.table()
    assert get_twin("riscv32-virt").machine == "virt"


def test_xtensa_twin_validates_a_model(tmp_path):
    """ESP32-S3 end to end offline: clang-22 compiles for the Xtensa core, QEMU's sim machine runs
    the twin image over the serial socket, and every output byte equals TFLite-Micro's."""
    pytest.importorskip("tflite_micro")
    _skip_unless(TWINS["xtensa-sim"])
    import json

    r = subprocess.run([sys.executable, "-m", "tinygen", "build", "--board", "esp32s3", "--model",
                        str(FIX / "validate_fc_a.tflite"), "--out", str(tmp_path / "o"),
                        "--emulate", "--json"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "o" / ".pio" / "build" / "esp32s3_offline" / "libfirmware.a").is_file()
    doc = json.loads(r.stdout)
    report = doc["validation"]
    assert report["status"] == "ok" and report["differing_bytes"] == 0
    assert report["bit_exact"] == report["samples"] > 0
    assert report["resends"] == 0     # the twin's line is QEMU's stdio: nothing lost, even loaded
