"""Field-ready firmware (issue 17): integrity of the constants in flash, the watchdog and safe
mode, drift statistics and `tinygen monitor`.

Pure Python: digests, the watchdog bound, the wire format, the statistics' numpy twin, drift
scores. Host: the generated project's own harness built with host gcc, over a pty: the device's
CRC-32 and SHA-256 equal zlib's and hashlib's over the model file's constants (a corpus model
too), its statistics equal the numpy twin bit for bit. Emulated (the Cortex-M7 twin, one
firmware build shared by the module): a flipped weight byte in the image is refused with an
ERROR frame (INTEGRITY_FAILED) and INTEGRITY names the set; a hang trips the CMSDK watchdog,
three in a row start safe mode (INFO says so, inference is refused with SAFE_MODE, CLEAR ends
it); windows from a shifted condition (the sensor's gain, another machine of the fleet) raise the
drift flag in `tinygen monitor --emulate`, windows from the training conditions do not.
(tests/test_hil.py covers the other side of a corrupted weight: `pio test`'s golden vectors on a
rebuilt project.) Switches and costs: `generate --integrity off` leaves the constants' table out;
`build --no-watchdog --field-costs` reaches the firmware and prices the integrity check and the
statistics by building without them; `build` arms the watchdog at the bound the counted
instructions give."""
from __future__ import annotations

import json
import shutil
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import validate_fixture as vf  # noqa: E402

from tinygen import wire  # noqa: E402
from tinygen.errors import DataError, FirmwareMismatch, ProtocolError  # noqa: E402
from tinygen.features.stats import StatsTwin, div_round  # noqa: E402
from tinygen.field import (MIN_MS, STATS_WINDOW, TWIN_MIN_MS, FieldOptions, bound_ms,  # noqa: E402
                           watchdog_bound)
from tinygen.integrity import array_bytes, expected_sets, model_set  # noqa: E402
from tinygen.monitor import MIN_WINDOWS, Training, compare  # noqa: E402

FIX = Path(__file__).resolve().parent / "fixtures"
MODEL = FIX / "validate_cnn_fe.tflite"
FEATURES = FIX / "validate_cnn_fe.features.json"
ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
CORPUS = ANCHORS.parent / "corpus" / "tflm" / "examples"


# ---- pure Python ---------------------------------------------------------------------------------

def test_model_digests_cover_every_const_array_in_order():
    from tinygen.codegen import compile_model

    from tinygen.codegen import const_symbols

    compiled = compile_model(MODEL)
    cset = model_set(compiled, "model")
    emitted, alias = const_symbols(compiled, "model")
    arrays = [a for _, a in emitted]
    # every op's array is emitted once, or shares an earlier equal one (an unrolled LSTM's steps)
    every = {f"model_op{c.op.index}_{a.suffix}": a for c in compiled.ops for a in c.lowered.consts}
    assert len(every) == len(emitted) + len(alias)
    for sym, same in alias.items():
        assert np.array_equal(every[sym].values, every[same].values) and same not in alias
    assert len(cset.symbols) == len(arrays) and cset.total == compiled.weight_bytes
    blob = b"".join(array_bytes(a.ctype, a.values) for a in arrays)
    assert cset.data == blob and cset.crc32 == zlib.crc32(blob)
    assert cset.digest("crc32") == struct.pack("<I", zlib.crc32(blob))
    with pytest.raises(ValueError, match="outside its range"):
        array_bytes("int8_t", [0, 200])


def test_watchdog_bound_from_instructions():
    from tinygen.boards import get_board

    h7 = get_board("stm32h7")
    # 4 x 2 cycles x 10 M instructions at 400 MHz = 200 ms; a small model sits on the floor
    assert bound_ms(10_000_000, 400_000_000) == 200
    assert bound_ms(140_000, 400_000_000) == MIN_MS
    dog = watchdog_bound(FieldOptions(instructions=10_000_000), None, h7)
    assert (dog.board_ms, dog.twin_ms) == (200, max(TWIN_MIN_MS, 3200)) and "measured" in dog.why
    assert watchdog_bound(FieldOptions(watchdog=False), None, h7) is None
    assert watchdog_bound(FieldOptions(watchdog_ms=750), None, h7).board_ms == 750
    with pytest.raises(DataError, match="--watchdog-ms 40000"):
        FieldOptions(watchdog_ms=40000).check()
    with pytest.raises(DataError, match="--integrity md5"):
        FieldOptions(integrity="md5").check()


def _info_payload(field: bytes = b"") -> bytes:
    head = struct.pack(wire.INFO_HEAD, wire.PROTOCOL_VERSION, 0, bytes(32), 64, 0, 4096,
                       25_000_000, 1, 1, 0)
    tensors = wire.TensorInfo("int8", 4, 0.5, 0).pack() * 2
    return head + tensors + b"\x07stm32h7\x00\x03-O2" + field


def test_info_field_block_is_optional():
    assert wire.parse_info(_info_payload()).field == wire.NO_FIELD
    block = struct.pack(wire.FIELD_INFO, 2, 1, 1 | 2, 3, 5000, 7)
    f = wire.parse_info(_info_payload(block)).field
    assert (f.health, f.integrity, f.watchdog_ms, f.resets_in_row, f.boots, f.stats,
            f.test_hooks) == ("safe mode", "crc32", 5000, 3, 7, True, False)
    assert wire.info_bytes(2) == wire.INFO_HEAD_BYTES + 2 * 16 + 3 * 65 + wire.FIELD_INFO_BYTES


def test_stats_twin_rounding_and_running_average():
    assert list(div_round([3, -3, 1, -1, 5, -5], 2)) == [2, -2, 1, -1, 3, -3]
    tw = StatsTwin(n_features=2, raw_samples=4, classes=3, window_cap=4)
    for k in range(40):          # past the cap the average runs: it converges, never freezes
        tw.window(np.array([32767, 0, -32768, 5], np.int16), np.array([10, -128], np.int8))
        tw.predicted(k % 4)      # class 3 is beyond the histogram: not counted
    s = tw.as_device()
    assert s.windows == 40 and list(s.mean_q16) == [10 * 65536, -128 * 65536]
    assert list(s.var_q12) == [0, 0] and s.sat_raw_q16 == 32768 and s.sat_features_q16 == 32768
    assert list(s.classes) == [10, 10, 10]
    tw.window(np.zeros(4, np.int16), np.array([14, -128], np.int8))   # n = 4: a quarter of the way
    assert tw.mean[0] == 11 * 65536 and tw.var[0] == (4 * 65536 * 3 * 65536 >> 20) // 4


def _training(n=4, lo=-10.0, hi=10.0, spread=2.0) -> Training:
    return Training(np.zeros(n), np.full(n, 5.0), np.full(n, lo), np.full(n, hi),
                    np.full(n, spread), 0.0, 0.0, np.array([0.5, 0.5]), 100)


def _device(means, windows=50, sat_raw=0.0) -> wire.DeviceStats:
    m = np.asarray(means, np.float64)
    return wire.DeviceStats(1024, windows, 256, int(sat_raw * 65536), 0,
                            np.round(m * 65536).astype(np.int64),
                            np.full(len(m), 4 * 4096, np.int64), np.array([3, 1]))


def test_drift_score_is_distance_outside_the_training_envelope():
    d = compare(_device([0.0, 9.0, 13.0, -20.0]), _training())
    assert list(np.round(d.scores, 3)) == [0.0, 0.0, 1.5, 5.0]
    assert d.flagged == [3] and d.drifted and d.labels[3] == "band 3"
    assert not compare(_device([0, 0, 0, -20.0], windows=MIN_WINDOWS - 1), _training()).drifted
    clip = compare(_device([0, 0, 0, 0], sat_raw=0.05), _training())
    assert clip.saturation_flag and clip.drifted and not clip.flagged
    with pytest.raises(DataError, match="statistics of 3 features"):
        compare(_device([0, 0, 0]), _training())


def test_training_stats_envelope_of_segment_means():
    from tinygen.features import FrontEnd
    from tinygen.features.training_stats import training_stats

    fe = FrontEnd.from_json(FEATURES)
    rng = np.random.default_rng(0)
    loud = rng.normal(0, 8000, (6, fe.window)).astype(np.int16)
    quiet = rng.normal(0, 100, (6, fe.window)).astype(np.int16)
    ts = training_stats(fe, np.concatenate([loud, quiet]), np.repeat([0, 1], 6),
                        np.repeat([0, 1], 6), ["a", "b"])
    f = fe.compute(np.concatenate([loud, quiet])).astype(np.float64)
    loud_mean, quiet_mean = f[:6].mean(0), f[6:].mean(0)
    assert ts["windows"] == 12 and ts["segments"] == 2 and ts["class_prior"] == [0.5, 0.5]
    assert np.allclose(ts["condition_lo"], np.minimum(loud_mean, quiet_mean) +
                       0.01 * np.abs(loud_mean - quiet_mean), atol=1e-3)
    assert np.allclose(ts["mean"], f.mean(0), atol=1e-3)


# ---- the generated harness on the host -----------------------------------------------------------

def _host_firmware(tmp_path, model, features=None, field=None, optimize="speed"):
    from tinygen.boards import get_board
    from tinygen.codegen import generate
    from tinygen.project import write_project
    from tinygen.validate.reference import load_front_end

    gen = generate(model, tmp_path / "gen", name="model", optimize=optimize)
    project = write_project(get_board("stm32h7"), tmp_path / "project", gen,
                            front_end=load_front_end(features), field=field)
    return vf.build_host_project(project.dir, tmp_path / "fw")


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")


@pytest.fixture(scope="module")
def host_fw(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    d = tmp_path_factory.mktemp("field")
    return {"crc32": _host_firmware(d / "crc", MODEL, FEATURES, FieldOptions(stats_window=8)),
            "sha256": _host_firmware(d / "sha", MODEL, FEATURES, FieldOptions(integrity="sha256")),
            "off": _host_firmware(d / "off", MODEL, FEATURES,
                                  FieldOptions(integrity="off", watchdog=False, stats=False))}


@pytest.mark.host
@pytest.mark.parametrize("algorithm", ["crc32", "sha256"])
def test_host_integrity_equals_the_model_file(host_fw, algorithm):
    want = expected_sets(MODEL, FEATURES)
    with vf.HostDevice(host_fw[algorithm]) as h:
        dev = h.device()
        assert (dev.info.field.health, dev.info.field.integrity) == ("ready", algorithm)
        reply = dev.client.integrity()
    assert reply.ok and reply.algorithm == algorithm and [s.id for s in reply.sets] == [0, 1]
    for s in reply.sets:
        assert s.computed == s.expected == want[s.id].digest(algorithm)
        assert (s.bytes, s.arrays) == (want[s.id].total, len(want[s.id].sizes))


@pytest.mark.host
def test_host_statistics_bit_exact_with_the_numpy_twin(host_fw):
    from tinygen.features import FrontEnd

    fe = FrontEnd.from_json(FEATURES)
    rng = np.random.default_rng(3)
    windows = [np.zeros(fe.window, np.int16),                                   # features at -128
               np.where(np.arange(fe.window) % 8 < 4, 32767, -32768).astype(np.int16)]  # rails
    windows += [rng.normal(0, rng.uniform(10, 12000), fe.window).clip(-32768, 32767)
                .astype(np.int16) for _ in range(28)]
    twin = StatsTwin(fe.n_features, fe.raw_samples, 4, window_cap=8)
    with vf.HostDevice(host_fw["crc32"]) as h:
        dev = h.device()
        for w in windows:
            r = dev.infer_raw(w)
            twin.window(w, r.features)
            twin.predicted(int(np.argmax(r.outputs[0])))
        got = dev.client.stats(reset=True)
        after = dev.client.stats()
    want = twin.as_device()
    assert got.windows == 30 and got.window_cap == 8 and got.raw_samples == fe.raw_samples
    assert (got.sat_raw_q16, got.sat_features_q16) == (want.sat_raw_q16, want.sat_features_q16)
    assert want.sat_raw_q16 > 0 and want.sat_features_q16 > 0
    assert np.array_equal(got.mean_q16, want.mean_q16) and np.array_equal(got.var_q12, want.var_q12)
    assert np.array_equal(got.classes, want.classes) and got.classes.sum() == 30
    assert after.windows == 0 and not after.mean_q16.any() and not after.classes.any()


@pytest.mark.host
def test_host_firmware_without_the_field_layer(host_fw):
    with vf.HostDevice(host_fw["off"]) as h:
        dev = h.device()
        assert dev.info.field == wire.NO_FIELD
        with pytest.raises(ProtocolError, match="does not know this command"):
            dev.client.integrity()
        assert dev.infer_raw(np.zeros(256, np.int16)).outputs[0].size == 4


@pytest.mark.host
def test_host_corpus_model_integrity_and_validate(tmp_path):
    """A model nobody here made: micro_speech's constants, checked by the device and by validate."""
    pytest.importorskip("tflite_micro")
    model = CORPUS / "micro_speech_quantized.tflite"
    if not model.is_file():
        pytest.skip("shared/corpus not present")
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    from tinygen.validate import validate
    from tinygen.validate.reference import Reference

    exe = _host_firmware(tmp_path, model)
    with vf.HostDevice(exe) as h:
        dev = h.device()
        reply = dev.client.integrity()
        rep = validate(dev, Reference(model), samples=3)
    want = expected_sets(model)[0]
    assert [s.id for s in reply.sets] == [0] and reply.sets[0].computed == want.digest("crc32")
    assert rep.ok and rep.integrity["sets"][0]["bytes"] == want.total > 10_000


@pytest.mark.host
def test_host_validate_accepts_firmware_built_for_size(tmp_path):
    """--optimize size stores FC weights as int8, speed widened: validate takes the mode whose
    digest the device computed, so a size build validates (it was refused as another model's)."""
    pytest.importorskip("tflite_micro")
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    from tinygen.validate import validate
    from tinygen.validate.reference import Reference

    speed, size = (expected_sets(MODEL, optimize=o)[0] for o in ("speed", "size"))
    assert size.total < speed.total      # the two layouts differ: the test can tell them apart
    exe = _host_firmware(tmp_path, MODEL, optimize="size")
    with vf.HostDevice(exe) as h:
        rep = validate(h.device(), Reference(MODEL), samples=3)
    assert rep.ok and rep.integrity["sets"][0]["bytes"] == size.total


# ---- the Cortex-M7 twin (mps2-an500): one firmware build for the module -------------------------

BOARD = "stm32h7"
needs_twin = pytest.mark.skipif(not vf.have("qemu-system-arm", "arm-none-eabi-gcc"),
                                reason="qemu-system-arm or arm-none-eabi-gcc not installed")
REPLY_TIMEOUT = 30.0        # generous: the machine is shared; nothing here measures time
BOOT_TIMEOUT = 120.0        # a 5 s twin watchdog, on a host that may be very busy


@pytest.fixture(scope="module")
def twin_elf(tmp_path_factory):
    """The fixture model with its FFT front end, every field feature on (the defaults)."""
    if not vf.have("qemu-system-arm", "arm-none-eabi-gcc"):
        pytest.skip("qemu-system-arm or arm-none-eabi-gcc not installed")
    from tinygen.builder import build_twin_firmware

    return build_twin_firmware(BOARD, MODEL, tmp_path_factory.mktemp("field_twin"), FEATURES)


def _twin(elf):
    from tinygen.boards import get_board
    from tinygen.validate.device import open_device

    return open_device(get_board(BOARD), emulate=True, elf=elf, timeout=REPLY_TIMEOUT)


def _flip_byte(elf: Path, out: Path, symbol: str) -> int:
    """A copy of `elf` with the first byte of `symbol`'s contents flipped (as a decayed flash
    cell would); returns the byte's address."""
    from tinygen.validate.instructions import read_elf

    data = bytearray(elf.read_bytes())
    addr = read_elf(elf).symbols[symbol]
    phoff, phentsize, phnum = (struct.unpack_from("<I", data, 28)[0],
                               *struct.unpack_from("<HH", data, 42))
    for i in range(phnum):
        p_type, off, vaddr, _, filesz, _, _, _ = struct.unpack_from("<8I", data, phoff + i * phentsize)
        if p_type == 1 and vaddr <= addr < vaddr + filesz:
            data[off + addr - vaddr] ^= 0x01
            out.write_bytes(bytes(data))
            return addr
    raise AssertionError(f"{symbol} is in no loaded segment")


@pytest.mark.emulated
@pytest.mark.cross
@needs_twin
def test_twin_refuses_a_flipped_weight_byte(twin_elf, tmp_path):
    from tinygen.codegen import compile_model
    from tinygen.validate.protocol import DeviceRefused

    first = model_set(compile_model(MODEL), "model").symbols[0]
    bad = tmp_path / "flipped.elf"
    _flip_byte(twin_elf, bad, first)
    want = expected_sets(MODEL, FEATURES)
    with _twin(bad) as dev:
        assert (dev.info.field.health, dev.info.field.integrity) == ("integrity", "crc32")
        with pytest.raises(DeviceRefused, match="failed their integrity check") as refused:
            dev.client.infer_raw(np.zeros(256, np.int16))
        reply = dev.client.integrity()
        with pytest.raises(FirmwareMismatch, match="failed their crc32 check at boot"):
            dev.check_health()
    assert refused.value.code == wire.ERR_INTEGRITY
    model_reply, fe_reply = reply.sets
    # The detail word is the first word of the digest the device computed over the damaged set.
    assert refused.value.detail == struct.unpack("<I", model_reply.computed[:4])[0]
    assert not reply.ok and not model_reply.ok and model_reply.expected == want[0].digest("crc32")
    assert model_reply.computed != model_reply.expected and fe_reply.ok


@pytest.mark.emulated
@pytest.mark.cross
@needs_twin
def test_twin_hang_watchdog_resets_then_safe_mode(twin_elf):
    from tinygen.validate.protocol import DeviceRefused

    window = np.zeros(256, np.int16)
    with _twin(twin_elf) as dev:
        f = dev.info.field
        assert (f.health, f.watchdog_ms, f.resets_in_row, f.boots, f.test_hooks) == \
            ("ready", TWIN_MIN_MS, 0, 1, True)
        answer = dev.infer_raw(window).outputs[0]
        for k in (1, 2, 3):         # HANG spins without feeding: only the watchdog ends it
            dev.client.hang()
            assert dev.client.wait_boot(BOOT_TIMEOUT), f"no BOOT frame after hang {k}"
            f = dev.client.connect().field
            assert (f.resets_in_row, f.boots) == (k, k + 1)
            assert f.health == ("safe mode" if k == 3 else "ready")
        with pytest.raises(DeviceRefused, match="safe mode after 3 watchdog resets") as refused:
            dev.client.infer_raw(window)
        assert (refused.value.code, refused.value.detail) == (wire.ERR_SAFE_MODE, 3)
        assert dev.client.clear() == 0                       # CLEAR: ready again, counter gone
        f = dev.client.get_info().field
        assert (f.health, f.resets_in_row, f.boots) == ("ready", 0, 4)
        assert np.array_equal(dev.infer_raw(window).outputs[0], answer)


def _synthetic_windows(fe, machine: int, speeds, seed: int, seconds: float = 1.0):
    """Raw windows of the built-in data generator's machine at `speeds` (loads 0-1, healthy and
    outer race), with each window's recording as its segment."""
    from tinygen.data import synthetic as syn

    mach = syn.machine(0, machine)
    windows, labels, segments = [], [], []
    recordings = 0
    for ci, label in enumerate(("healthy", "outer_race")):
        for speed in speeds:
            for load in (0, 1):
                recordings += 1
                rng = np.random.default_rng([seed, ci, int(speed), load])
                x = syn.recording(label, rng, fe.config.sample_rate,
                                  int(seconds * fe.config.sample_rate), mach, speed, load)
                for j in range(len(x) // fe.window):
                    windows.append(x[j * fe.window:(j + 1) * fe.window])
                    labels.append(ci)
                    segments.append(recordings)
    return np.array(windows), np.array(labels), np.array(segments)


@pytest.fixture(scope="module")
def drift_case(tmp_path_factory):
    """features.json with training statistics of machine 0 at 15 and 20 Hz, and windows: unseen
    recordings of those conditions, the same with the sensor's gain x4, and machine 8."""
    from tinygen.features import FrontEnd
    from tinygen.features.training_stats import training_stats

    fe = FrontEnd.from_json(FEATURES)
    w, labels, segments = _synthetic_windows(fe, 0, (15.0, 20.0), seed=1, seconds=2.0)
    doc = json.loads(FEATURES.read_text())
    doc["training_stats"] = training_stats(fe, w, labels, segments, ["healthy", "outer_race"])
    doc["class_names"] = ["healthy", "outer_race", "c2", "c3"]
    path = tmp_path_factory.mktemp("drift") / "features.json"
    path.write_text(json.dumps(doc))
    pick = np.random.default_rng(0).permutation      # 32 windows, the conditions mixed
    same = _synthetic_windows(fe, 0, (15.0, 20.0), seed=7)[0]
    same = same[pick(len(same))[:32]]
    gain = np.clip(same.astype(np.int32) * 4, -32768, 32767).astype(np.int16)
    other = _synthetic_windows(fe, 8, (15.0, 20.0), seed=7)[0]
    return {"features": path, "fe": fe, "same": same, "gain x4": gain,
            "machine 8": other[pick(len(other))[:32]]}


@pytest.mark.emulated
@pytest.mark.cross
@needs_twin
def test_twin_drift_flagged_for_a_shifted_condition_only(twin_elf, drift_case):
    from tinygen.monitor import load_training

    training, _ = load_training(drift_case["features"])
    fe = drift_case["fe"]
    seen = {}
    with _twin(twin_elf) as dev:
        for case in ("same", "gain x4"):
            twin = StatsTwin(fe.n_features, fe.raw_samples, 4, window_cap=STATS_WINDOW)
            for w in drift_case[case]:
                r = dev.infer_raw(w)
                twin.window(w, r.features)
                twin.predicted(int(np.argmax(r.outputs[0])))
            got = dev.client.stats(reset=True)
            want = twin.as_device()         # the Cortex-M7's statistics, bit for bit
            assert np.array_equal(got.mean_q16, want.mean_q16)
            assert np.array_equal(got.var_q12, want.var_q12) and got.windows == 32
            seen[case] = compare(got, training)
    assert not seen["same"].drifted and seen["same"].scores.max() < 1.0
    shifted = seen["gain x4"]
    assert shifted.drifted and len(shifted.flagged) >= 8
    # A gain change lifts the log bands by the same step: the flags are where the training
    # envelope is tightest (the highest bands, above the machine's resonances).
    assert max(shifted.flagged) == fe.n_features - 1


@pytest.mark.emulated
@pytest.mark.cross
@needs_twin
def test_monitor_command_flags_another_machine(twin_elf, drift_case, tmp_path):
    import subprocess

    for name in ("same", "machine 8"):
        np.savez(tmp_path / f"{name.replace(' ', '_')}.npz",
                 x=drift_case[name].reshape(-1), fs=np.array(8000.0))
    runs = {}
    for name in ("same", "machine_8"):
        cmd = [sys.executable, "-m", "tinygen", "monitor", "--board", BOARD, "--emulate",
               "--elf", str(twin_elf), "--features", str(drift_case["features"]),
               "--feed", str(tmp_path / f"{name}.npz"), "--timeout", str(REPLY_TIMEOUT)]
        runs[name] = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    same, other = runs["same"], runs["machine_8"]
    assert same.returncode == 0, same.stdout + same.stderr
    assert "verdict: no drift" in same.stdout and "DRIFT" not in same.stdout
    assert other.returncode == 1, other.stdout + other.stderr
    assert "verdict: DRIFT" in other.stdout and "  DRIFT" in other.stdout
    assert "ready; integrity crc32; watchdog 5000 ms" in other.stdout


# ---- switches and costs: generate, build --field-costs ------------------------------------------

def test_generate_integrity_off_leaves_out_the_constants_table(tmp_path, capsys):
    from tinygen.boards import get_board
    from tinygen.cli import main as cli_main
    from tinygen.codegen import compile_model, generate
    from tinygen.project import write_project

    for flag, out in (("crc32", tmp_path / "on"), ("off", tmp_path / "off")):
        assert cli_main(["generate", str(MODEL), "--out", str(out), "--integrity", flag]) == 0
    said = capsys.readouterr().out
    assert "integrity table: model_const_data" in said and "integrity table: none" in said
    arrays = len(model_set(compile_model(MODEL), "model").symbols)
    on, off = (tmp_path / "on" / "model.c").read_text(), (tmp_path / "off" / "model.c").read_text()
    assert f"const void *const model_const_data[{arrays}]" in on and "model_const_data" not in off
    assert "#define MODEL_CONST_ARRAYS 0" in (tmp_path / "off" / "model.h").read_text()
    # A project that would check constants the C has no table for is refused in one line.
    gen = generate(MODEL, tmp_path / "gen", const_table=False)
    with pytest.raises(DataError, match="generate --integrity off.*build with --integrity off"):
        write_project(get_board(BOARD), tmp_path / "project", gen)
    write_project(get_board(BOARD), tmp_path / "project", gen, field=FieldOptions(integrity="off"))


@pytest.mark.emulated
@pytest.mark.cross
@needs_twin
def test_build_switches_and_field_costs(tmp_path, capsys):
    """`tinygen build --no-watchdog --field-costs`: the switch reaches the firmware, and the
    integrity check and statistics are priced by building without each (and without both)."""
    from tinygen.cli import main as cli_main
    from tinygen.features import FrontEnd

    out = tmp_path / "build"
    rc = cli_main(["build", "--board", BOARD, "--model", str(MODEL), "--features", str(FEATURES),
                   "--out", str(out), "--env", "twin", "--no-watchdog", "--field-costs", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = json.loads(captured.out)
    assert "#define TG_FIELD_WATCHDOG_MS 0u" in (out / "src" / "tg_field_config.h").read_text()
    f = doc["field"]
    assert (f["integrity_name"], f["watchdog_board_ms"], f["stats"]) == ("crc32", 0, True)
    costs = {c["feature"]: c for c in doc["field_costs"]}
    assert set(costs) == {"integrity (crc32)", "stats", "field layer"}
    integ, stats, layer = costs["integrity (crc32)"], costs["stats"], costs["field layer"]
    # CRC-32 walks every constant byte at boot (table-driven: a handful of instructions a byte)
    # and nothing per inference; its table is 8 B an array plus the code.
    checked = expected_sets(MODEL, FEATURES)
    n_bytes = sum(s.total for s in checked.values())
    n_arrays = sum(len(s.sizes) for s in checked.values())
    assert integ["per_inference"] == 0 and 4 * n_bytes <= integ["boot"] <= 16 * n_bytes
    assert 8 * n_arrays < integ["flash"] < 8 * n_arrays + 1024 and integ["ram"] == 0
    # The statistics: per inference, a Welford update per band and a pass over the raw window.
    fe = FrontEnd.from_json(FEATURES)
    assert 4 * fe.raw_samples < stats["per_inference"] < 20 * (fe.raw_samples + fe.n_features)
    # Its state (tg_stats.c): 3 words, a mean and a variance word per band, a word per class.
    state = 4 * (3 + 2 * fe.n_features + 4)
    assert state <= stats["ram"] <= state + 8 and stats["flash"] > 0
    # The whole layer holds both and the shared hooks.
    for k in ("flash", "per_inference", "boot"):
        assert layer[k] >= integ[k] + stats[k]


@pytest.mark.emulated
@pytest.mark.cross
@needs_twin
def test_build_derives_the_watchdog_bound_from_counted_instructions(tmp_path, capsys):
    """micro_speech on the nRF52840 (64 MHz): the estimate from the MACs would arm the watchdog
    at several hundred ms; `tinygen build` counts the inference on the twin and rebuilds with
    the bound those instructions give."""
    from tinygen.boards import get_board
    from tinygen.cli import main as cli_main
    from tinygen.codegen import compile_model
    from tinygen.field import estimate_instructions

    model = CORPUS / "micro_speech_quantized.tflite"
    if not model.is_file():
        pytest.skip("shared/corpus not present")
    board = get_board("nrf52840")
    out = tmp_path / "build"
    rc = cli_main(["build", "--board", board.id, "--model", str(model), "--out", str(out),
                   "--env", "twin", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = json.loads(captured.out)
    counted = doc["latency"]["inference_instructions"]
    estimated = estimate_instructions(compile_model(model))
    want = bound_ms(counted, board.clock_hz)
    assert bound_ms(estimated, board.clock_hz) > want      # the estimate's bound was looser
    assert doc["field"]["watchdog_board_ms"] == want
    assert "measured on the twin" in doc["field"]["watchdog_why"]
    config = (out / "src" / "tg_field_config.h").read_text()
    assert f"#define TG_FIELD_WATCHDOG_MS {want}u" in config and "measured on the twin" in config
