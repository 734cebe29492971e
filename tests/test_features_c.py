"""The C front end (firmware/features) against the numpy integer reference: zero differences."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygen.features import FrontEnd, FrontEndConfig, emit_c

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
DRIVER = r"""
#include <stdio.h>
#include "tg_features.h"
int main(void)
{
    int16_t s[TG_FEATURES_SAMPLES];
    int8_t f[TG_FEATURES_OUT];
    while (fread(s, sizeof s, 1, stdin) == 1) {
        if (tg_features_run(s, f) != 0) {
            return 1;
        }
        fwrite(f, sizeof f, 1, stdout);
    }
    return 0;
}
"""


def make_front_end(window=1024, rate=8000.0, bands=64, channels=1) -> FrontEnd:
    """A front end calibrated on signals from silence to full scale, so tests exercise the
    whole int8 range rather than its clamped ends."""
    fe = FrontEnd(FrontEndConfig(window=window, sample_rate=rate, n_bands=bands,
                                 f_min=rate / window, f_max=rate / 2, channels=channels))
    rng = np.random.default_rng(window)
    scale = 10 ** rng.uniform(0, 4, size=(200, 1))
    fe.calibrate(np.clip(rng.normal(size=(200, window * channels)) * scale, -32768, 32767).astype(np.int16),
                 low_pct=1.0, high_pct=99.0)
    return fe


class CFrontEnd:
    """Compiles the emitted C with a stdin->stdout driver, once per configuration."""

    def __init__(self, fe: FrontEnd, folder: Path):
        self.fe = fe
        emit_c(fe, folder)
        (folder / "main.c").write_text(DRIVER)
        self.exe = folder / "features"
        subprocess.run(["gcc", *STRICT, "-O2", "-I", str(folder), str(folder / "main.c"),
                        str(folder / "tg_features.c"), "-o", str(self.exe)], check=True)

    def run(self, windows: np.ndarray) -> np.ndarray:
        out = subprocess.run([str(self.exe)], input=windows.astype(np.int16).tobytes(),
                             capture_output=True, check=True).stdout
        return np.frombuffer(out, np.int8).reshape(len(windows), self.fe.n_features)


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")


@pytest.fixture(scope="module")
def c1024(tmp_path_factory):
    return CFrontEnd(make_front_end(), tmp_path_factory.mktemp("fe1024"))


def edge_signals(n: int) -> np.ndarray:
    t = np.arange(n)
    rows = [np.zeros(n), np.full(n, 32767), np.full(n, -32768),
            np.where(t % 2, 32767, -32768), np.where(t < n // 2, 32767, -32768),
            32767 * np.sin(2 * np.pi * 0.25 * t), 32767 * np.cos(2 * np.pi * 0.5 * t)]
    impulse = np.zeros(n)
    impulse[n // 3] = 32767
    rows.append(impulse)
    return np.clip(np.round(rows), -32768, 32767).astype(np.int16)


@needs_gcc
@pytest.mark.host
def test_c_equals_python_on_edge_and_random_signals(c1024):
    rng = np.random.default_rng(0)
    scale = 10 ** rng.uniform(0, 4.5, size=(400, 1))
    noise = np.clip(rng.normal(size=(400, 1024)) * scale, -32768, 32767).astype(np.int16)
    full = rng.integers(-32768, 32768, size=(100, 1024)).astype(np.int16)
    windows = np.concatenate([edge_signals(1024), noise, full])
    expected = c1024.fe.compute(windows)
    assert len(np.unique(expected)) > 200          # the comparison covers most int8 codes
    assert (c1024.run(windows) != expected).sum() == 0


@needs_gcc
@pytest.mark.host
def test_c_equals_python_on_synthetic_vibration(c1024):
    from tinygen.data import split_windows, synthetic_dataset
    ds = synthetic_dataset(seed=3, machines=1, seconds=1.0)
    windows = split_windows(ds, 1024, seed=3)["train"][0]
    assert (c1024.run(windows) != c1024.fe.compute(windows)).sum() == 0


@needs_gcc
@pytest.mark.host
@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int16, 1024, elements=st.integers(-32768, 32767)))
def test_c_equals_python_property(c1024, window):
    assert np.array_equal(c1024.run(window[None]), c1024.fe.compute(window[None]))


@needs_gcc
@pytest.mark.host
@pytest.mark.parametrize("window,bands", [(256, 24), (512, 40), (4096, 64)])
def test_other_window_sizes(tmp_path, window, bands):
    c = CFrontEnd(make_front_end(window, 16000.0, bands), tmp_path)
    rng = np.random.default_rng(window)
    windows = np.concatenate([edge_signals(window),
                              np.clip(rng.normal(size=(60, window)) * 3000, -32768, 32767).astype(np.int16)])
    assert (c.run(windows) != c.fe.compute(windows)).sum() == 0


@pytest.fixture(scope="module")
def c3axes(tmp_path_factory):
    return CFrontEnd(make_front_end(512, 4000.0, 32, channels=3), tmp_path_factory.mktemp("fe3"))


def three_axis_windows(window: int, count: int, seed: int) -> np.ndarray:
    """Interleaved x/y/z windows whose axes differ in level and content (so a swapped or
    misplaced channel would show), plus full-scale and silent axes."""
    rng = np.random.default_rng(seed)
    t = np.arange(window)[:, None]
    level = 10 ** rng.uniform(0, 4.3, size=(count, 1, 3))
    tone = np.sin(2 * np.pi * rng.uniform(0.01, 0.45, size=(count, 1, 3)) * t)
    x = level * (tone + 0.3 * rng.normal(size=(count, window, 3)))
    x[0, :, 1] = 0
    x[1, :, 2] = 32767
    x[2] = rng.integers(-32768, 32768, size=(window, 3))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16).reshape(count, window * 3)


@needs_gcc
@pytest.mark.host
def test_three_channels_c_equals_python(c3axes):
    """TG_FEATURES_SAMPLES interleaved int16 in, band-major features out: 0 differing bytes."""
    windows = three_axis_windows(512, 150, 5)
    expected = c3axes.fe.compute(windows)
    assert expected.shape == (150, 96) and len(np.unique(expected)) > 150
    assert (c3axes.run(windows) != expected).sum() == 0


def test_three_channels_are_three_single_channel_front_ends(c3axes):
    """Channel c of the interleaved window gives features [b * 3 + c]: the one-channel front end
    on that axis alone (same tables, same map)."""
    fe3 = c3axes.fe
    cfg = dict(vars(fe3.config))
    cfg["channels"] = 1
    fe1 = FrontEnd(FrontEndConfig(**cfg))
    windows = three_axis_windows(512, 20, 6)
    got = fe3.compute(windows).reshape(20, 32, 3)
    for c in range(3):
        axis = np.ascontiguousarray(windows.reshape(20, 512, 3)[:, :, c])
        assert np.array_equal(got[:, :, c], fe1.compute(axis))
    assert np.array_equal(fe3.compute(windows.reshape(20, 512, 3)), fe3.compute(windows).reshape(20, 96))


CROSS = {
    "arm-none-eabi-gcc": ["-mcpu=cortex-m7", "-mthumb", "-O2"],
    "riscv64-unknown-elf-gcc": ["-march=rv32imc", "-mabi=ilp32", "-O2", "-ffreestanding"],
}


@pytest.mark.cross
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("compiler", sorted(CROSS))
def test_cross_compiles_clean(tmp_path, compiler, channels):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    emit_c(make_front_end(channels=channels), tmp_path)
    # Another translation unit including the header must not see (or duplicate) the tables.
    (tmp_path / "user.c").write_text('#include "tg_features.h"\n'
                                     "int user(const int16_t *s, int8_t *f) { return tg_features_run(s, f); }\n")
    for src in ("tg_features.c", "user.c"):
        subprocess.run([compiler, *STRICT, *CROSS[compiler], "-I", str(tmp_path), "-c",
                        str(tmp_path / src), "-o", str(tmp_path / (src + ".o"))], check=True)
