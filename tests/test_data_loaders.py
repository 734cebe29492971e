"""Loaders for the four formats, and one clear DataError for every bad input."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from scipy.io import wavfile

from tinygen.data import folder_dataset, split_windows
from tinygen.errors import DataError

RATE = 4000


def signal(seed: int, n: int = 6000) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=n) * 0.5


def write(path, fmt: str, x: np.ndarray, key: str = "acc", rate: float | None = RATE):
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npz":
        extra = {"fs": np.array(rate)} if rate is not None else {}
        np.savez(path.with_suffix(".npz"), **{key: x}, **extra)
    elif fmt == "csv":
        path.with_suffix(".csv").write_text(key + "\n" + "\n".join(f"{v:.6f}" for v in x) + "\n")
    elif fmt == "mat":
        extra = {"fs": float(rate)} if rate is not None else {}
        scipy.io.savemat(path.with_suffix(".mat"), {key: x[:, None], **extra})
    elif fmt == "wav":
        wavfile.write(path.with_suffix(".wav"), int(rate), np.round(x * 8000).astype(np.int16))


def make_folder(root, fmt, classes=("a", "b"), per_class=2, **kw):
    for ci, c in enumerate(classes):
        for r in range(per_class):
            write(root / c / f"rec{r}", fmt, signal(10 * ci + r), **kw)
    return root


@pytest.mark.parametrize("fmt", ["npz", "csv", "mat", "wav"])
def test_each_format_loads(tmp_path, fmt):
    kw = {"channel": "acc"} if fmt in ("csv",) else {}
    rate = RATE if fmt == "csv" else None      # csv has no rate of its own
    ds = folder_dataset(make_folder(tmp_path, fmt), sample_rate=rate, **kw)
    assert ds.class_names == ["a", "b"] and ds.sample_rate == RATE
    assert len(ds.recordings) == 4
    assert all(s.dtype == np.int16 and len(s) == 6000 for _, s in ds.recordings)
    if fmt == "wav":
        assert ds.input_gain == 1.0              # int16 files stay as they are
    else:
        peak = max(np.abs(s).max() for _, s in ds.recordings)
        assert peak == 16384                      # floats: the peak maps to half scale
    splits = split_windows(ds, 256, seed=0)
    assert all(len(splits[k][1]) > 0 for k in ("train", "val", "test"))


def test_values_survive_loading(tmp_path):
    x = signal(0)
    write(tmp_path / "a" / "r", "npz", x)
    write(tmp_path / "b" / "r", "npz", signal(1))
    ds = folder_dataset(tmp_path)
    expected = np.clip(np.round(x * ds.input_gain), -32768, 32767)
    assert np.array_equal(ds.recordings[0][1], expected)


def test_channel_picks_array(tmp_path):
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        np.savez(tmp_path / c / "r.npz", x=signal(1), y=signal(2), fs=np.array(RATE))
    ds = folder_dataset(tmp_path, channel="y")
    assert len(ds.recordings) == 2


def one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and len(msg) < 300
    return msg


def test_missing_folder(tmp_path):
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path / "nope")
    assert "does not exist" in one_line(e)


def test_empty_folder(tmp_path):
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "no class sub-folders" in one_line(e)


def test_empty_class_folder(tmp_path):
    make_folder(tmp_path, "npz")
    (tmp_path / "c").mkdir()
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "empty" in one_line(e)


def test_single_class(tmp_path):
    make_folder(tmp_path, "npz", classes=("only",))
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "single class" in one_line(e)


def test_unequal_sample_rates(tmp_path):
    write(tmp_path / "a" / "r", "wav", signal(0), rate=4000)
    write(tmp_path / "b" / "r", "wav", signal(1), rate=8000)
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "unequal sample rates" in one_line(e)


def test_sample_rate_flag_disagrees_with_file(tmp_path):
    make_folder(tmp_path, "wav")
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path, sample_rate=1000)
    assert "disagrees" in one_line(e)


def test_no_sample_rate(tmp_path):
    make_folder(tmp_path, "npz", rate=None)
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "--sample-rate" in one_line(e)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf(tmp_path, bad):
    make_folder(tmp_path, "npz")
    x = signal(5)
    x[100] = bad
    write(tmp_path / "b" / "bad", "npz", x)
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "NaN or Inf" in one_line(e) and "bad.npz" in str(e.value)


def test_nan_in_csv(tmp_path):
    make_folder(tmp_path, "csv")
    (tmp_path / "a" / "rec0.csv").write_text("acc\n1.0\nnan\n2.0\n")
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path, sample_rate=RATE, channel="acc")
    assert "NaN or Inf" in one_line(e)


def test_recording_shorter_than_window(tmp_path):
    make_folder(tmp_path, "npz")
    np.savez(tmp_path / "a" / "short.npz", acc=signal(9, 100), fs=np.array(RATE))
    ds = folder_dataset(tmp_path)
    with pytest.raises(DataError) as e:
        split_windows(ds, 256)
    assert "shorter than one window" in one_line(e)


def test_too_little_data_for_three_splits(tmp_path):
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        np.savez(tmp_path / c / "r.npz", acc=signal(1, 300), fs=np.array(RATE))
    with pytest.raises(DataError) as e:
        split_windows(folder_dataset(tmp_path), 256)
    assert "at least 3 windows" in one_line(e)


def test_unknown_file_type(tmp_path):
    make_folder(tmp_path, "npz")
    (tmp_path / "a" / "notes.txt").write_text("hello")
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "unknown file type '.txt'" in one_line(e)


@pytest.mark.parametrize("fmt", ["npz", "csv", "mat", "wav"])
def test_missing_channel_key(tmp_path, fmt):
    make_folder(tmp_path, fmt)
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path, sample_rate=RATE if fmt == "csv" else None, channel="gyro")
    assert "gyro" in one_line(e)


def test_several_arrays_need_channel(tmp_path):
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        np.savez(tmp_path / c / "r.npz", x=signal(1), y=signal(2), fs=np.array(RATE))
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "--channel" in one_line(e)


def test_corrupt_file(tmp_path):
    make_folder(tmp_path, "npz")
    (tmp_path / "a" / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError) as e:
        folder_dataset(tmp_path)
    assert "broken.npz" in one_line(e)


# ---- several axes ------------------------------------------------------------------------------

def xyz(seed: int, n: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * np.array([0.5, 0.2, 0.05])


def test_csv_columns_as_axes(tmp_path):
    for ci, c in enumerate(("a", "b")):
        (tmp_path / c).mkdir()
        x = xyz(ci)
        (tmp_path / c / "r.csv").write_text("t,x,y,z\n" + "\n".join(
            f"{i},{a:.6f},{b:.6f},{d:.6f}" for i, (a, b, d) in enumerate(x)) + "\n")
    ds = folder_dataset(tmp_path, sample_rate=RATE, channel="x,y,z")
    assert ds.channels == 3 and ds.recordings[0][1].shape == (3000, 3)
    r = ds.recordings[0][1].astype(float)
    assert r[:, 0].std() > 2 * r[:, 1].std() > 4 * r[:, 2].std()     # order kept
    w = split_windows(ds, 256, 0)["train"][0]
    assert w.shape[1] == 768 and np.array_equal(w[0].reshape(256, 3)[:, 1], w[0][1::3])
    with pytest.raises(DataError, match="no column named 'w'"):
        folder_dataset(tmp_path, sample_rate=RATE, channel="x,w")


def test_npz_2d_array_and_wav_all_channels(tmp_path):
    for ci, c in enumerate(("a", "b")):
        (tmp_path / "npz" / c).mkdir(parents=True)
        np.savez(tmp_path / "npz" / c / "r.npz", acc=xyz(ci).T, fs=np.array(RATE))  # axes x samples
        (tmp_path / "wav" / c).mkdir(parents=True)
        wavfile.write(tmp_path / "wav" / c / "r.wav", RATE, np.round(xyz(ci) * 8000).astype(np.int16))
    ds = folder_dataset(tmp_path / "npz")
    assert ds.channels == 3 and ds.recordings[0][1].shape == (3000, 3)
    ds = folder_dataset(tmp_path / "wav", channel="all")
    assert ds.channels == 3 and ds.input_gain == 1.0
    assert folder_dataset(tmp_path / "wav", channel="2,0").channels == 2
    with pytest.raises(DataError, match="--channel all"):
        folder_dataset(tmp_path / "wav")


def test_unequal_channel_counts(tmp_path):
    write(tmp_path / "a" / "r", "npz", signal(0))
    (tmp_path / "b").mkdir()
    np.savez(tmp_path / "b" / "r.npz", acc=xyz(1), fs=np.array(RATE))
    with pytest.raises(DataError) as err:
        folder_dataset(tmp_path)
    assert "different channel counts" in one_line(err)


@pytest.mark.parametrize("fmt", ["csv", "wav", "npz", "mat"])
def test_holdout_on_a_class_per_folder_layout(tmp_path, fmt):
    """One recording per operating condition (class/load<k>.<fmt>), as users keep them; every
    sample is distinct, so a held-out window in training would share values with it."""
    pos = -30000
    for c in ("healthy", "faulty"):
        for load in range(4):
            x = np.arange(pos, pos + 3000)
            pos += 3000
            path = tmp_path / c / f"load{load}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "csv":
                path.with_suffix(".csv").write_text("acc\n" + "\n".join(map(str, x)) + "\n")
            elif fmt == "wav":
                wavfile.write(path.with_suffix(".wav"), RATE, x.astype(np.int16))
            elif fmt == "npz":
                np.savez(path.with_suffix(".npz"), acc=x.astype(np.int16), fs=np.array(RATE))
            else:
                scipy.io.savemat(path.with_suffix(".mat"), {"acc": x.astype(np.int16)[:, None],
                                                            "fs": float(RATE)})
    ds = folder_dataset(tmp_path, sample_rate=RATE if fmt == "csv" else None)
    assert ds.input_gain == 1.0 and ds.names[3] == f"faulty/load3.{fmt}"
    splits = split_windows(ds, 256, seed=4, holdout=["*load3*"])
    held = {v for (_, s), n in zip(ds.recordings, ds.names) if "load3" in n for v in s.tolist()}
    for name in ("train", "val", "test"):
        assert not held & set(np.unique(splits[name][0]).tolist()), name
    w, y, _ = splits["holdout"]
    assert set(np.unique(w).tolist()) <= held and sorted(set(y.tolist())) == [0, 1]
    assert len(w) == 2 * (3000 // 256)
