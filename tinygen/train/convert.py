"""INT8 full-integer post-training quantization and evaluation through TFLite-Micro.

The converter sees the deployable student (fixed batch 1, softmax output) and a representative
set of training-window features. Input and output are int8; the input must come out with scale 1
and zero point 0, so the front end's int8 values are the tensor as is (checked, not assumed).
"""
from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from ..errors import DataError


@contextlib.contextmanager
def quiet_fds():
    """Silence C-level stdout/stderr (the converter and TFLM print from C++)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                yield
        finally:
            sys.stdout.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def convert_int8(tf, converter, representative: np.ndarray, max_samples: int = 300,
                 seed: int = 0, input_type: str = "int8", output_type: str = "int8",
                 int16_activations: bool = False) -> bytes:
    """Full-integer conversion of a prepared TFLiteConverter, with at most `max_samples`
    representative rows, converter chatter silenced. The one recipe used by training, the tests
    and the benchmarks. Default: int8 activations, int8 input and output. `input_type` /
    `output_type` ("int8", "uint8", "int16", "float32") set the model's I/O the way users'
    models come (a QUANTIZE first, a DEQUANTIZE last); `int16_activations` is TFLite's 16x8 mode
    (int16 activations, int8 weights)."""
    rng = np.random.default_rng(seed)
    pick = representative[rng.permutation(len(representative))[:max_samples]]

    def gen():
        for row in pick:
            yield [row[None].astype(np.float32)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        if int16_activations else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = getattr(tf, input_type)
    converter.inference_output_type = getattr(tf, output_type)
    with quiet_fds():
        return converter.convert()


def to_int8_tflite(tf, model, representative: np.ndarray, max_samples: int = 300, seed: int = 0) -> bytes:
    """A Keras model with a fixed batch of 1 to int8 .tflite bytes."""
    if model.input_shape[0] != 1:
        raise DataError("the student must have a fixed batch of 1 (keras.Input(shape, batch_size=1))")
    return convert_int8(tf, tf.lite.TFLiteConverter.from_keras_model(model), representative,
                        max_samples, seed)


def io_quantization(buf: bytes) -> dict:
    """Input/output scale and zero point, read with the `tflite` flatbuffer parser."""
    import tflite
    m = tflite.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)

    def q(t):
        qp = g.Tensors(t).Quantization()
        return float(qp.ScaleAsNumpy()[0]), int(qp.ZeroPointAsNumpy()[0])

    (si, zi), (so, zo) = q(g.Inputs(0)), q(g.Outputs(0))
    return {"input_scale": si, "input_zero_point": zi, "output_scale": so, "output_zero_point": zo}


def weight_bytes(buf: bytes) -> int:
    """Bytes of constant data (weights, biases) in the flatbuffer."""
    import tflite
    m = tflite.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)
    used = {g.Tensors(i).Buffer() for i in range(g.TensorsLength())}
    return int(sum(m.Buffers(b).DataLength() for b in used if b < m.BuffersLength()))


def op_names(buf: bytes) -> list[str]:
    import tflite
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    m = tflite.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)
    out = []
    for i in range(g.OperatorsLength()):
        code = m.OperatorCodes(g.Operators(i).OpcodeIndex())
        out.append(names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?"))
    return out


def tflm_interpreter(buf: bytes, arena_size: int):
    from tflite_micro import runtime
    with quiet_fds():
        return runtime.Interpreter.from_bytes(buf, arena_size=arena_size)


def tflm_min_arena(buf: bytes, hi: int = 1 << 20, step: int = 16) -> int:
    """Smallest arena (bytes, this 64-bit host, to `step` bytes) TFLM accepts for this model.
    Each probe builds an interpreter: ~2 s for the unrolled teacher's ~1,000 ops, hence a
    coarser step there."""
    lo = 0
    while hi - lo > step:
        mid = (lo + hi) // 2
        try:
            tflm_interpreter(buf, mid)
            hi = mid
        except (RuntimeError, ValueError):
            lo = mid
    return hi


def tflm_arena_used(buf: bytes, arena_size: int) -> int | None:
    """TFLite-Micro's own "Arena allocation total" (head + tail, this 64-bit host) for the model
    in an arena of `arena_size`, read from print_allocations() on C-level stderr; None if it
    says nothing. One interpreter, no probing (some too-small arenas crash TFLite-Micro on the
    unrolled teacher instead of failing: a SIGSEGV, measured)."""
    import re
    import tempfile
    interp = tflm_interpreter(buf, arena_size)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        try:
            os.dup2(log.fileno(), 2)
            interp.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode(errors="replace")
    m = re.search(r"allocation total (\d+) bytes", text)
    return int(m.group(1)) if m else None


def tflm_predict(buf: bytes, features: np.ndarray, arena_size: int) -> np.ndarray:
    """int8 features [N, n_features] -> int8 outputs [N, classes], one Invoke each, TFLM."""
    interp = tflm_interpreter(buf, arena_size)
    shape = interp.get_input_details(0)["shape"]
    outs = []
    for row in features:
        interp.set_input(row.astype(np.int8).reshape(shape), 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1))
    return np.stack(outs)


def check_input_is_identity(q: dict) -> None:
    if abs(q["input_scale"] - 1.0) > 1e-6 or q["input_zero_point"] != 0:
        raise DataError(f"int8 input came out with scale {q['input_scale']:g}, zero point "
                        f"{q['input_zero_point']} instead of 1 and 0: the representative features "
                        "do not span -128..127; train with more data")


