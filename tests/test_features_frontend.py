"""The numpy integer front end: close to a float FFT, batch-consistent, persistent, well emitted."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tinygen import __version__
from tinygen.errors import DataError
from tinygen.features import FrontEnd, FrontEndConfig, default_front_end, emit_c


def float_band_energy(fe: FrontEnd, x: np.ndarray) -> np.ndarray:
    y = (x - np.floor(x.mean(axis=1, keepdims=True))) * fe.hann / 32768.0
    power = 256 * np.abs(np.fft.rfft(y, axis=1)[:, : fe.half]) ** 2   # the front end computes 16 X
    cum = np.concatenate([np.zeros((len(x), 1)), np.cumsum(power, axis=1)], axis=1)
    return cum[:, fe.edges[1:]] - cum[:, fe.edges[:-1]]


def test_integer_fft_matches_float_fft():
    fe = default_front_end()
    rng = np.random.default_rng(1)
    x = np.clip(rng.normal(size=(50, 1024)) * 4000, -32768, 32767).astype(np.int16)
    exact = float_band_energy(fe, x.astype(np.float64))
    ours = fe._band_energy(x.astype(np.int64)).astype(np.float64)
    assert np.max(np.abs(ours - exact) / exact) < 1e-3
    log_err = np.abs(fe.band_log2(x) / 64.0 - np.log2(exact))
    assert log_err.max() < 0.05       # the 64-entry log table is good to ~1/64 octave


@pytest.mark.parametrize("n", [16, 32, 64, 128, 256, 512, 1024, 2048, 4096])
def test_every_stage_plan_is_a_dft(n):
    """Each window size has its own stage plan (first radix 2 or 4, 0-5 radix-4 stages, the
    fused last stage): the integer spectrum |16 X[k]| is the float one's within 24 units
    (measured at most 19.9, at 4096) out of up to ~10^8."""
    fe = FrontEnd(FrontEndConfig(window=n, sample_rate=8000.0, n_bands=min(64, n // 8),
                                 f_min=8000.0 / n, f_max=4000.0))
    rng = np.random.default_rng(n)
    x = np.clip(rng.normal(size=(50, n)) * 10 ** rng.uniform(0, 4.5, (50, 1)), -32768, 32767).astype(np.int64)
    y = ((x - (x.sum(1, keepdims=True) >> (n.bit_length() - 1))) * fe.hann) >> fe.prescale
    xr, xi = fe._split(*fe._fft(y[:, 0::2], y[:, 1::2]))
    ref = np.fft.rfft(y)[:, 1:fe.half] * fe.first / fe.half      # the window divided by r
    assert np.abs(np.abs(xr + 1j * xi)[:, 1:] - np.abs(ref)).max() < 24


def test_tone_lands_in_its_band():
    fe = default_front_end()
    t = np.arange(1024)
    for hz in (100.0, 1000.0, 3000.0):
        x = np.round(8000 * np.sin(2 * np.pi * hz * t / 8000.0)).astype(np.int16)
        centre = int(np.argmax(fe.band_log2(x)))
        lo, hi = fe.edges[centre], fe.edges[centre + 1]
        assert lo - 1 <= hz / (8000.0 / 1024) <= hi + 1


def test_batch_equals_single_and_int8_range():
    fe = default_front_end()
    rng = np.random.default_rng(2)
    x = rng.integers(-20000, 20000, size=(8, 1024)).astype(np.int16)
    fe.calibrate(x)
    batch = fe.compute(x)
    assert batch.dtype == np.int8 and batch.shape == (8, 64)
    assert all(np.array_equal(batch[i], fe.compute(x[i])) for i in range(8))


def test_calibration_spans_int8():
    fe = default_front_end()
    rng = np.random.default_rng(3)
    x = np.clip(rng.normal(size=(200, 1024)) * rng.uniform(10, 8000, (200, 1)), -32768, 32767).astype(np.int16)
    fe.calibrate(x)
    f = fe.compute(x)
    assert f.min() == -128 and f.max() == 127


def test_json_round_trip(tmp_path):
    fe = default_front_end(512, 16000.0)
    fe.config.log_lo, fe.config.log_mult = 1234, 5678
    path = tmp_path / "features.json"
    path.write_text(json.dumps(fe.to_dict()))
    back = FrontEnd.from_json(path)
    assert back.window == 512 and back.n_features == fe.n_features
    assert back.params_hash() == fe.params_hash()
    x = np.random.default_rng(4).integers(-3000, 3000, size=(3, 512)).astype(np.int16)
    assert np.array_equal(back.compute(x), fe.compute(x))


@pytest.mark.parametrize("window", [1000, 8, 8192])
def test_bad_window_is_a_data_error(window):
    with pytest.raises(DataError, match="power of two"):
        FrontEnd(FrontEndConfig(window=window))


def test_wrong_input_is_a_data_error():
    fe = default_front_end()
    with pytest.raises(DataError):
        fe.compute(np.zeros(1024, dtype=np.float32))
    with pytest.raises(DataError):
        fe.compute(np.zeros(512, dtype=np.int16))


def test_emitted_files_open_with_version_hash_and_do_not_edit(tmp_path):
    fe = default_front_end()
    paths = emit_c(fe, tmp_path)
    assert sorted(p.name for p in paths) == ["tg_features.c", "tg_features.h", "tg_features_config.h"]
    first = (tmp_path / "tg_features_config.h").read_text().splitlines()[0]
    assert __version__ in first and fe.params_hash() in first and "do not edit" in first
    text = (tmp_path / "tg_features_config.h").read_text()
    assert "TG_FEATURES_WINDOW 1024u" in text and "TG_FEATURES_OUT 64u" in text
    # Same parameters, same bytes.
    again = tmp_path / "again"
    emit_c(default_front_end(), again)
    assert (again / "tg_features_config.h").read_text() == text


def test_single_channel_hash_unchanged_by_the_channels_field():
    """features.json written before `channels` existed loads with channels = 1 and the same
    parameters hash (firmware built from it still matches)."""
    fe = default_front_end()
    doc = fe.to_dict()
    legacy = dict(doc["front_end"])
    del legacy["channels"]
    old = FrontEnd.from_dict({"front_end": legacy})
    assert old.channels == 1 and old.params_hash() == fe.params_hash()
    assert default_front_end(channels=3).params_hash() != fe.params_hash()


@pytest.mark.parametrize("channels", [0, 9, 1.5])
def test_bad_channel_count_is_a_data_error(channels):
    with pytest.raises(DataError, match="channels"):
        FrontEnd(FrontEndConfig(channels=channels))


def test_multichannel_sizes_and_emitted_macros(tmp_path):
    fe = default_front_end(512, 4000.0, channels=3)
    assert (fe.n_bands, fe.channels, fe.n_features, fe.raw_samples) == (64, 3, 192, 1536)
    assert fe.input_shape == [1, 64, 3]
    with pytest.raises(DataError, match="512 samples x 3 channels"):
        fe.compute(np.zeros(512, dtype=np.int16))
    emit_c(fe, tmp_path)
    text = (tmp_path / "tg_features_config.h").read_text()
    for macro in ("TG_FEATURES_WINDOW 512u", "TG_FEATURES_CHANNELS 3u", "TG_FEATURES_SAMPLES 1536u",
                  "TG_FEATURES_BANDS 64u", "TG_FEATURES_OUT 192u"):
        assert macro in text
