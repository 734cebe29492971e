"""Field-ready firmware (issue 17): integrity of the constants in flash, the watchdog and safe
mode, drift statistics and `tinygen monitor`.

Pure Python: digests, the watchdog bound, the wire format, the statistics' numpy twin, drift
scores. Host: the generated project's own harness built with host gcc, over a pty: the device's
CRC-32 and SHA-256 equal zlib's and hashlib's over the model file's constants (a corpus model
too), its statistics equal the numpy twin bit for bit. Emulated (the Cortex-M7 twin, one
firmware build): a flipped weight byte in the image is refused; a hang trips the CMSDK watchdog,
three in a row start safe mode; recordings from a shifted operating condition raise the drift
flag in `tinygen monitor`, recordings from the training conditions do not."""
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
from tinygen.field import (MIN_MS, TWIN_MIN_MS, FieldOptions, bound_ms,  # noqa: E402
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

def _host_firmware(tmp_path, model, features=None, field=None):
    from tinygen.boards import get_board
    from tinygen.codegen import generate
    from tinygen.project import write_project
    from tinygen.validate.reference import load_front_end

    gen = generate(model, tmp_path / "gen", name="model")
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
