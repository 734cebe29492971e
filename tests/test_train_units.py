"""Pruning, BN folding, the budget search, the teacher's views and the report, without training."""
from __future__ import annotations

import numpy as np
import pytest

from tinygen.errors import DataError
from tinygen.train import evaluate, prune


@pytest.fixture(scope="module")
def keras():
    pytest.importorskip("tensorflow")
    from tinygen.train.pipeline import _import_tf
    return _import_tf(0)[1]


def student(keras, widths=(8, 16), in_channels=1):
    from tinygen.train.models import build_student
    model = build_student(keras, 64, 6, widths, (5, 3), batch_size=None, in_channels=in_channels)
    rng = np.random.default_rng(1)
    for layer in model.layers:                  # BN statistics as training would leave them
        if layer.name.startswith("bn"):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n), rng.normal(0, 1, n),
                               rng.uniform(0.5, 3, n)])
    return model


def logits(model, x):
    return np.asarray(model(x, training=False))


def x_of(n=32, channels=1):
    return np.random.default_rng(2).integers(-128, 128, size=(n, 64, channels)).astype(np.float32)


@pytest.mark.tf
@pytest.mark.parametrize("in_channels", [1, 3])
def test_pruning_dead_channels_changes_nothing(keras, in_channels):
    """Channels whose BN output is always 0 (gamma = beta = 0) carry nothing: pruning exactly
    those leaves every logit as it was, so the weight slices were copied to the right places."""
    from tinygen.train.models import build_student
    model = student(keras, in_channels=in_channels)
    dead = {0: [1, 4, 6], 1: [0, 3, 5, 9, 10, 15]}
    for i, chans in dead.items():
        g, b, mean, var = model.get_layer(f"bn{i}").get_weights()
        g[chans], b[chans] = 0, 0
        model.get_layer(f"bn{i}").set_weights([g, b, mean, var])
    small = prune.prune(keras, model, (5, 10), lambda w: build_student(
        keras, 64, 6, w, (5, 3), batch_size=None, in_channels=in_channels))
    assert prune.conv_widths(small) == (5, 10)
    x = x_of(channels=in_channels)
    np.testing.assert_allclose(logits(small, x), logits(model, x), rtol=1e-4, atol=1e-4)


@pytest.mark.tf
def test_pruning_keeps_the_strongest_channels(keras):
    model = student(keras)
    scores = prune.channel_scores(model, 1)
    from tinygen.train.models import build_student
    small = prune.prune(keras, model, (8, 4), lambda w: build_student(keras, 64, 6, w, (5, 3), batch_size=None))
    kept = small.get_layer("bn1").get_weights()[0]
    strongest = np.sort(np.argsort(-scores)[:4])
    assert np.array_equal(kept, model.get_layer("bn1").get_weights()[0][strongest])


@pytest.mark.tf
def test_bn_folding_is_exact(keras):
    from tinygen.train import qat
    model = student(keras, in_channels=3)
    folded = qat.build_folded(keras, 64, 3, 6, (8, 16), (5, 3))
    qat.fold_into(model, folded)
    x = x_of(channels=3)
    np.testing.assert_allclose(logits(folded, x), logits(model, x), rtol=1e-4, atol=1e-3)
    trainee = qat.build_folded(keras, 64, 3, 6, (8, 16), (5, 3), fake_quant=True)
    qat.fold_into(model, trainee)
    trainee(x, training=True)                   # ranges seen once
    fq = logits(trainee, x)
    assert np.abs(fq - logits(model, x)).max() < 0.2 * np.abs(logits(model, x)).max()
    plain = qat.build_folded(keras, 64, 3, 6, (8, 16), (5, 3))
    qat.copy_weights(trainee, plain)
    np.testing.assert_allclose(logits(plain, x), logits(folded, x), rtol=1e-4, atol=1e-3)


def test_budget_search_finds_the_widest_fit():
    flash = {}

    def size_of(widths):
        flash[widths] = 100 * sum(widths)
        return {"flash_bytes": 100 * sum(widths), "macs": 10 * widths[0] * widths[1]}

    assert prune.widths_for_budget((8, 16), size_of, 1500, None) == (5, 10)
    assert len(flash) <= 5                       # a binary search, not a sweep
    assert prune.widths_for_budget((8, 16), size_of, None, 10 * 8 * 16) == (8, 16)
    assert prune.widths_for_budget((8, 16), size_of, None, 200) == (3, 6)
    with pytest.raises(DataError, match="smallest student .* raise the budget"):
        prune.widths_for_budget((8, 16), size_of, 150, None)


def test_teacher_view_shapes_and_envelope_line():
    """The envelope spectrum of a resonance struck at 100 Hz has its line at 100 Hz."""
    from tinygen.train.teacher import teacher_view
    fs, n = 8000.0, 1024
    t = np.arange(n) / fs
    ring = np.exp(-400 * (t % 0.01)) * np.sin(2 * np.pi * 2000 * t)
    x = np.round(8000 * ring).astype(np.int16)
    v = teacher_view(np.stack([x, x]), n, 1, fs)
    assert v.shape == (2, 256, 2) and v.dtype == np.float32
    env = v[0, :, 1]
    assert abs((np.argmax(env[5:60]) + 5 + 1) * fs / n - 100) < fs / n
    three = teacher_view(np.repeat(x, 3)[None].reshape(1, -1), n, 3, fs)
    assert three.shape == (1, 256, 6) and np.allclose(three[0, :, 0], three[0, :, 2])


def test_per_class_and_spread():
    cm = [[5, 1], [0, 4]]
    rows = evaluate.per_class(cm, ["a", "b"])
    assert rows[0] == {"class": "a", "windows": 6, "precision": 1.0, "recall": round(5 / 6, 4)}
    assert rows[1]["precision"] == round(4 / 5, 4)
    assert evaluate.per_class([[0, 0], [0, 3]], ["a", "b"])[0]["precision"] is None
    s = evaluate.spread([1.0, 3.0])
    assert s == {"mean": 2.0, "std": round(np.std([1.0, 3.0], ddof=1), 4), "n": 2}


def test_progress_bars_on_stderr_and_silent_when_off(capsys):
    from tinygen.train.progress import bar
    with bar(True, 3, "demo") as b:
        for _ in range(3):
            b.update(1)
    assert "tinygen: demo" in capsys.readouterr().err
    with bar(False, 3, "demo") as b:
        b.update(1)
    assert capsys.readouterr().err == ""
