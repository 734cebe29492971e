"""The teacher as a full-integer int8 model: what it would cost on the device.

TensorFlow's converter (2.21 here) cannot calibrate a fused Keras LSTM: its calibrator crashes the
process (SIGSEGV in `_feed_tensors`, measured on the teacher, on a bare LSTM and a Bidirectional
one, through from_keras_model and through frozen concrete functions; FACTS.md saw the same). An
LSTM built with `unroll=True` and a fixed batch of 1 converts: the teacher becomes CONV_2D /
MAX_POOL_2D stems, then per step and direction FULLY_CONNECTED, SPLIT, LOGISTIC, TANH, MUL, ADD,
with UNPACK / REVERSE_V2 / PACK / CONCATENATION around the two directions. So the teacher is
rebuilt unrolled (same weights, same float function), converted and run through TFLite-Micro in a
child process: should either crash, training goes on and the metrics say why there is no int8
teacher.

The teacher's input is its float views (teacher.py), quantized with the model's input scale and
zero point; the views themselves (spectra at 256 bins, an envelope spectrum through a Hilbert
transform) have no integer C twin, so on-device figures are for the network alone.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import DataError

CONVERT_TIMEOUT_S = 900
ARENA = 4 << 20          # TFLite-Micro's arena for the teacher (it uses ~0.3 MB on this host)


def deployable(keras, teacher):
    """The teacher with a fixed batch of 1 and its LSTMs unrolled, weights copied: the graph the
    converter can quantize. Dropout is inactive at inference, so the float function is the same."""
    inp = keras.Input(teacher.input_shape[1:], batch_size=1, name="spectra")
    y = inp
    for layer in teacher.layers[1:]:
        cfg = layer.get_config()
        if isinstance(layer, keras.layers.Bidirectional):
            for key in ("layer", "backward_layer"):
                if key in cfg:
                    cfg[key]["config"]["unroll"] = True
        elif isinstance(layer, keras.layers.LSTM):
            cfg["unroll"] = True
        clone = layer.__class__.from_config(cfg)
        y = clone(y)
        clone.set_weights(layer.get_weights())
    return keras.Model(inp, y, name="teacher_int8")


def convert_and_score(keras_model, representative: np.ndarray, views: dict[str, np.ndarray],
                      seed: int = 0, timeout: float = CONVERT_TIMEOUT_S) -> tuple[bytes, dict, int]:
    """(int8 .tflite bytes of `keras_model` (from deployable()), {set: TFLite-Micro's int8 outputs
    for its float views}, TFLite-Micro's arena allocation total for it, or None). Converter and TFLite-Micro both run in a
    child process: both have crashed the process on LSTM models here (the calibrator always on
    the fused LSTM; TFLite-Micro in Interpreter.from_bytes while the smallest arena for a trained
    unrolled teacher was searched), so
    a crash or a hang becomes a DataError with the child's last words."""
    with tempfile.TemporaryDirectory(prefix="tinygen-teacher-") as tmp:
        tmp = Path(tmp)
        keras_model.save(tmp / "teacher.keras")
        np.save(tmp / "representative.npy", representative.astype(np.float32))
        np.savez(tmp / "views.npz", **{k: v.astype(np.float32) for k, v in views.items()})
        cmd = [sys.executable, "-X", "faulthandler", "-m", "tinygen.train.teacher_int8", str(tmp),
               str(seed)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise DataError(f"the int8 teacher's conversion and evaluation took over "
                            f"{timeout:g} s") from None
        out = tmp / "teacher_int8.tflite"
        if proc.returncode != 0 or not (tmp / "outputs.npz").is_file():
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()] or ["(no output)"]
            fault = next((ln for ln in lines if "Fatal Python error" in ln), None)
            where = next((ln.strip() for ln in lines if ln.strip().startswith("File ")), "")
            last = f"{fault} {where}" if fault else lines[-1]
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            stage = "TFLite-Micro" if out.is_file() else "TensorFlow's converter"
            raise DataError(f"{stage} failed on the int8 teacher ({how}): {last[:300]}")
        with np.load(tmp / "outputs.npz") as z:
            outputs = {k: z[k] for k in views}
            arena = int(z["_arena"]) if int(z["_arena"]) >= 0 else None
        return out.read_bytes(), outputs, arena


def quantize_input(views: np.ndarray, quant: dict) -> np.ndarray:
    """Float teacher views -> the int8 model input, as TFLite's QUANTIZE rounds them."""
    q = np.round(views / quant["input_scale"]) + quant["input_zero_point"]
    return np.clip(q, -128, 127).astype(np.int8).reshape(len(views), -1)


def _child(tmp: str, seed: str) -> int:
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    from .convert import io_quantization, tflm_arena_used, tflm_predict, to_int8_tflite
    tmp = Path(tmp)
    model = keras.models.load_model(tmp / "teacher.keras", compile=False)
    buf = to_int8_tflite(tf, model, np.load(tmp / "representative.npy"), seed=int(seed))
    (tmp / "teacher_int8.tflite").write_bytes(buf)
    quant = io_quantization(buf)
    # one generous arena, no search: probing smaller arenas crashed TFLite-Micro (SIGSEGV in
    # Interpreter.from_bytes) on a trained teacher; the figure is TFLite-Micro's own total
    arena = tflm_arena_used(buf, ARENA)
    with np.load(tmp / "views.npz") as z:
        outs = {k: tflm_predict(buf, quantize_input(z[k], quant), ARENA) for k in z.files}
    np.savez(tmp / "outputs.npz", _arena=np.array(-1 if arena is None else arena), **outs)
    return 0


if __name__ == "__main__":
    sys.exit(_child(*sys.argv[1:3]))
