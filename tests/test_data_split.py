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
    a = synthetic_dataset(seed=5, machines=1, seconds=0.5)
    b = synthetic_dataset(seed=5, machines=1, seconds=0.5)
    c = synthetic_dataset(seed=6, machines=1, seconds=0.5)
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
    ds = synthetic_dataset(seed=0, machines=1, seconds=1.0)
    for _, x in ds.recordings:
        assert x.dtype == np.int16 and 100 < np.abs(x.astype(int)).max() < 32767


# ---- held-out recordings ------------------------------------------------------------------------

def named_ramp_dataset(conditions_per_class: int, classes: int, n: int, channels: int = 1) -> Dataset:
    """Class-per-folder layout, one recording per operating condition ("c0/load2.csv"); every
    sample (every axis) holds a distinct value, so shared samples are shared windows."""
    recs, names, pos = [], [], -32768
    for label in range(classes):
        for cond in range(conditions_per_class):
            x = np.arange(pos, pos + n * channels).astype(np.int16).reshape(n, channels)
            recs.append((label, x[:, 0] if channels == 1 else x))
            names.append(f"c{label}/load{cond}.csv")
            pos += n * channels
    assert pos <= 32767
    return Dataset([f"c{i}" for i in range(classes)], recs, 1000.0, names=names)


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 5), st.integers(2, 3), st.sampled_from([1, 3]), st.integers(0, 1000),
       st.data())
def test_no_held_out_window_reaches_training(conditions, classes, channels, seed, data):
    """Whole held-out recordings: none of their samples is in train, val or test, every one of
    their windows is in the holdout split, and only theirs are."""
    ds = named_ramp_dataset(conditions, classes, 1400 // channels, channels)
    held = data.draw(st.integers(0, conditions - 2))
    splits = split_windows(ds, 64, seed, holdout=[f"*load{held}*"])
    held_values = set()
    for (label, x), name in zip(ds.recordings, ds.names):
        if name.endswith(f"load{held}.csv"):
            held_values |= set(x.ravel().tolist())
    seen = sample_sets({k: v for k, v in splits.items() if k != "holdout"})
    assert not held_values & (seen["train"] | seen["val"] | seen["test"])
    w, y, _ = splits["holdout"]
    assert set(np.unique(w).tolist()) <= held_values and len(w) == classes * ((1400 // channels) // 64)
    assert set(y.tolist()) == set(range(classes))
    assert all(len(splits[k][0]) > 0 for k in ("train", "val", "test"))
    assert w.shape[1] == 64 * channels


def test_holdout_globs_match_name_or_file_name():
    ds = named_ramp_dataset(4, 2, 600)
    assert split_windows(ds, 64, 0, holdout=["c1/load3.csv"])["holdout"][1].tolist() == [1] * 9
    both = split_windows(ds, 64, 0, holdout=["load0*", "load1*"])["holdout"][1]
    assert len(both) == 2 * 2 * 9


@pytest.mark.parametrize("glob,what", [("*load9*", "matches no recording"),
                                       ("c0/*", "every recording of class 'c0'")])
def test_bad_holdout_is_one_clear_line(glob, what):
    from tinygen.errors import DataError
    with pytest.raises(DataError, match=what):
        split_windows(named_ramp_dataset(4, 2, 600), 64, 0, holdout=[glob])


def test_synthetic_machines_conditions_and_default_holdout():
    ds = synthetic_dataset(seed=2, machines=5, seconds=0.25)
    assert len(ds.recordings) == 6 * 5 * len(synthetic.SPEEDS_HZ)
    assert ds.names[0].startswith("healthy/m0_15hz_load")
    globs = synthetic.default_holdout(5)
    assert globs == ("m4_*", "*_25hz_*")
    splits = split_windows(ds, 256, 0, holdout=globs)
    held = [n for n in ds.names if "/m4_" in n or "_25hz_" in n]
    assert len(splits["holdout"][1]) == len(held) * (2000 // 256)
    # machines differ in their bearings, so in their defect frequencies
    rates = {synthetic.machine(2, m).rates["bpfo"] for m in range(3)}
    assert len(rates) == 3


def test_synthetic_three_axes_follow_the_physics():
    """Imbalance is a rotating force (x and y alike, little axially); misalignment is axial."""
    fs, n = 8000.0, 16000
    mach = synthetic.machine(0, 0)

    def line_amp(x, hz):
        spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(n)))
        f = np.fft.rfftfreq(n, 1 / fs)
        return spec[(f > hz * 0.95) & (f < hz * 1.05)].max()

    imb = synthetic.recording("imbalance", np.random.default_rng(1), fs, n, mach, 25.0, 1, axes=3)
    mis = synthetic.recording("misalignment", np.random.default_rng(1), fs, n, mach, 25.0, 1, axes=3)
    assert imb.shape == (n, 3) and imb.dtype == np.int16
    x, y, z = (line_amp(imb[:, a].astype(float), 25.0) for a in range(3))
    assert 0.6 < x / y < 1.6 and z < 0.3 * x
    assert line_amp(mis[:, 2].astype(float), 50.0) > 1.5 * line_amp(mis[:, 0].astype(float), 50.0)
    one = synthetic.recording("imbalance", np.random.default_rng(1), fs, n, mach, 25.0, 1, axes=1)
    assert one.shape == (n,)
