"""The split never leaks: no test (or validation) window shares a sample with a training window.
And the synthetic data is deterministic, physically sensible and not trivially separable."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygen.data import Dataset, split_windows, synthetic_dataset
from tinygen.data import synthetic


def ramp_dataset(lengths_per_class) -> Dataset:
    """Every sample in the whole data set holds a distinct value: its global position."""
    recs, pos = [], -32768
    for label, lengths in enumerate(lengths_per_class):
        for n in lengths:
            recs.append((label, np.arange(pos, pos + n).astype(np.int16)))
            pos += n
    assert pos <= 32767
    return Dataset([f"c{i}" for i in range(len(lengths_per_class))], recs, 1000.0)


def sample_sets(splits):
    return {k: set(np.unique(v[0])) for k, v in splits.items()}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(300, 4000), min_size=1, max_size=3), min_size=2, max_size=4),
       st.sampled_from([64, 128, 256]), st.integers(0, 1000), st.integers(1, 8))
def test_no_window_crosses_splits(lengths, window, seed, segment_windows):
    total = sum(sum(c) for c in lengths)
    if total > 65000 or any(sum(c) < 3 * window for c in lengths):
        return
    splits = split_windows(ramp_dataset(lengths), window, seed, segment_windows)
    sets = sample_sets(splits)
    assert not sets["train"] & sets["test"]
    assert not sets["train"] & sets["val"]
    assert not sets["val"] & sets["test"]
    for name, (w, y, _) in splits.items():
        assert len(w) > 0, name
        # each window is contiguous, from one recording
        assert np.all(np.diff(w.astype(np.int64), axis=1) == 1)
        # val/test windows never overlap each other
        if name != "train":
            assert len(set(w[:, 0])) == len(w) and len(np.unique(w)) == w.size


def test_every_class_in_every_split():
    splits = split_windows(ramp_dataset([[5000, 5000], [6000], [4000, 3000]]), 256, seed=1)
    for name, (_, y, _) in splits.items():
        assert set(y) == {0, 1, 2}, name


def test_synthetic_is_deterministic_and_seeded():
    a = synthetic_dataset(seed=5, recordings_per_class=1, seconds=0.5)
    b = synthetic_dataset(seed=5, recordings_per_class=1, seconds=0.5)
    c = synthetic_dataset(seed=6, recordings_per_class=1, seconds=0.5)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a.recordings, b.recordings))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a.recordings, c.recordings))
    assert len(a.class_names) >= 4 and a.class_names[0] == "healthy"


def test_bearing_defect_frequencies():
    # 6205-like geometry: the textbook multiples of shaft speed.
    assert synthetic.BPFO == pytest.approx(3.585, abs=0.01)
    assert synthetic.BPFI == pytest.approx(5.415, abs=0.01)
    assert synthetic.BSF == pytest.approx(2.357, abs=0.01)
    assert synthetic.FTF == pytest.approx(0.398, abs=0.01)


def test_faults_show_where_physics_says():
    fs, n = 8000.0, 32000
    rng = lambda: np.random.default_rng(11)  # noqa: E731 -- same conditions for each class

    def band_power(x, lo, hi):
        spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(n))) ** 2
        f = np.fft.rfftfreq(n, 1 / fs)
        return spec[(f >= lo) & (f < hi)].sum()

    healthy = synthetic.recording("healthy", rng(), fs, n).astype(float)
    outer = synthetic.recording("outer_race", rng(), fs, n).astype(float)
    # bearing strikes ring the 1.8-3.4 kHz structural resonance
    assert band_power(outer, 1800, 3400) > 5 * band_power(healthy, 1800, 3400)


def test_synthetic_windows_are_int16_in_range():
    ds = synthetic_dataset(seed=0, recordings_per_class=1, seconds=1.0)
    for _, x in ds.recordings:
        assert x.dtype == np.int16 and 100 < np.abs(x.astype(int)).max() < 32767
