"""The teacher as a full-integer int8 model: what it would cost on the device.

TensorFlow's converter (2.21 here) cannot calibrate a fused Keras LSTM: its calibrator crashes the
process (SIGSEGV in `_feed_tensors`, measured on the teacher, on a bare LSTM and a Bidirectional
one, through from_keras_model and through frozen concrete functions; FACTS.md saw the same). An
LSTM built with `unroll=True` and a fixed batch of 1 converts: the teacher becomes CONV_2D /
MAX_POOL_2D stems, then per step and direction FULLY_CONNECTED, SPLIT, LOGISTIC, TANH, MUL, ADD,
with UNPACK / REVERSE_V2 / PACK / CONCATENATION around the two directions. So the teacher is
rebuilt unrolled (same weights, same float function), and converted in a child process: should the
converter crash anyway, training goes on and the metrics say why there is no int8 teacher.

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


def convert(keras_model, representative: np.ndarray, seed: int = 0,
            timeout: float = CONVERT_TIMEOUT_S) -> bytes:
    """int8 .tflite bytes of `keras_model` (from deployable()), converted in a child process.
    Raises DataError with the child's last words if the converter crashes or hangs."""
    with tempfile.TemporaryDirectory(prefix="tinygen-teacher-") as tmp:
        tmp = Path(tmp)
        keras_model.save(tmp / "teacher.keras")
        np.save(tmp / "representative.npy", representative.astype(np.float32))
        cmd = [sys.executable, "-m", "tinygen.train.teacher_int8", str(tmp / "teacher.keras"),
               str(tmp / "representative.npy"), str(tmp / "teacher_int8.tflite"), str(seed)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise DataError(f"the int8 teacher conversion took over {timeout:g} s") from None
        out = tmp / "teacher_int8.tflite"
        if proc.returncode != 0 or not out.is_file():
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:300]
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            raise DataError(f"TensorFlow's converter failed on the teacher ({how}): {last}")
        return out.read_bytes()


def quantize_input(views: np.ndarray, quant: dict) -> np.ndarray:
    """Float teacher views -> the int8 model input, as TFLite's QUANTIZE rounds them."""
    q = np.round(views / quant["input_scale"]) + quant["input_zero_point"]
    return np.clip(q, -128, 127).astype(np.int8).reshape(len(views), -1)


def _child(model_path: str, rep_path: str, out_path: str, seed: str) -> int:
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    from .convert import to_int8_tflite
    model = keras.models.load_model(model_path, compile=False)
    buf = to_int8_tflite(tf, model, np.load(rep_path), seed=int(seed))
    Path(out_path).write_bytes(buf)
    return 0


if __name__ == "__main__":
    sys.exit(_child(*sys.argv[1:5]))
