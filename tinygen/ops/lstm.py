"""UNIDIRECTIONAL_SEQUENCE_LSTM, integer: int8 input and hidden state, int8 weights, int32 gate
biases, int16 cell state (the TFLite full-integer LSTM), as TFLite-Micro evaluates it.

TFLite-Micro's kernel (2023 rewrite: lstm_eval.h, lstm_eval_common.cc) runs the standard LSTM
only: no CIFG, peepholes, projection or layer norm (its ValidateTensorStatus refuses them), so
neither does tinygen. Per gate it computes two int8 -> int16 fully connected layers to a fixed
2^-12 scale (input with the gate bias, hidden state without), adds them saturating, and applies
the int16 LUT sigmoid (the cell gate: the op's activation, tanh or sigmoid). The inter-gate
products are int16 multiplies requantised from 2^-15 x 2^-15 (or x cell scale) to the cell scale
(int16) or the hidden state's scale and zero point (int8). Every multiplier here follows
PrepareGateParametersInteger / CreateInterGateMulParams / CreateLstmCellStateInfo, in double.
Both time_major layouts; the states are variable tensors (the state area), reset to the hidden
zero point and 0 as TFLite-Micro's ResetVariableTensors does.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import Activation, Graph, LstmAttrs, Op, OpType
from .base import (ConstArray, Lowered, LowerOptions, OpSupport, Port, act, param, state,
                   unsupported, weights)
from .common import folded_bias, multiplier, need_const, need_int8_activation



def _ports() -> tuple[Port, ...]:
    """TFLite's 24 LSTM inputs. What tinygen refuses (CIFG, peepholes, projection, layer norm)
    passes here as optional so that lower() names it."""
    def refused(role: str) -> Port:
        return Port(role, None, const=None, optional=True, quantized=False)
    w = lambda role, optional=False: weights(role, optional=optional, per_channel=False)  # noqa
    return ((act(),)
            + (w("input-to-input weights", True), w("input-to-forget weights"),
               w("input-to-cell weights"), w("input-to-output weights"))
            + (w("recurrent-to-input weights", True), w("recurrent-to-forget weights"),
               w("recurrent-to-cell weights"), w("recurrent-to-output weights"))
            + tuple(refused(f"peephole {g} weights") for g in ("input", "forget", "output"))
            + (param("input gate bias", optional=True), param("forget gate bias"),
               param("cell gate bias"), param("output gate bias"))
            + (refused("projection weights"), refused("projection bias"))
            + (state("output state", "int8"), state("cell state", "int16"))
            + tuple(refused(f"{g} layer norm") for g in ("input", "forget", "cell", "output")))


SUPPORT = {
    OpType.UNIDIRECTIONAL_SEQUENCE_LSTM: OpSupport(
        ("int8",), "int8 input/hidden, int16 cell state, tanh cell gate, cell clip, "
        "time_major either way; no CIFG/peephole/projection/layer norm (nor has TFLite-Micro)",
        inputs=_ports()),
}

GATES = ("forget", "input", "cell", "output")        # kernel order (tg_lstm.h)
IN_W = {"input": 1, "forget": 2, "cell": 3, "output": 4}   # TFLite input indices
REC_W = {g: i + 4 for g, i in IN_W.items()}
BIAS = {"input": 12, "forget": 13, "cell": 14, "output": 15}
HIDDEN, CELL = 18, 19
UNSUPPORTED = {9: "peephole (cell_to_input) weights", 10: "peephole (cell_to_forget) weights",
               11: "peephole (cell_to_output) weights", 16: "projection weights",
               17: "projection bias", 20: "input layer norm", 21: "forget layer norm",
               22: "cell layer norm", 23: "output layer norm"}
GATE_SCALE = 2.0 ** -12      # Q3.12 gate pre-activations
ACT_SCALE = 2.0 ** -15       # Q0.15 gate outputs


def _f32(v: float) -> float:
    return float(np.float32(v))


def _fc(op: Op, name: str, x, w, b, n_cell: int, n: int) -> tuple[dict, tuple[ConstArray, ...]]:
    """One int8 -> int16 FC: weights, bias with -zero_point * row sums folded in, multiplier."""
    w = need_const(op, w, f"{name} weights", "int8")
    if tuple(w.shape) != (n_cell, n):
        raise unsupported(op, f"{name} weights have shape {w.shape}, expected {(n_cell, n)}")
    if w.quant is None or w.quant.per_channel or w.zero_point != 0:
        raise unsupported(op, f"{name} weights must be per-tensor symmetric int8")
    bias = np.zeros(n_cell, dtype=np.int64)
    if b is not None:
        b = need_const(op, b, f"{name} bias", "int32")
        if b.size != n_cell:
            raise unsupported(op, f"{name} bias has {b.size} values for {n_cell} cells")
        bias = b.data.astype(np.int64).ravel()
    folded = folded_bias(op, bias, w.data, x.zero_point)   # refuses an int32 accumulator overflow
    mult, shift = multiplier(op, _f32(x.scale) * _f32(w.scale) / GATE_SCALE, f"{name} multiplier")
    sym = name.replace(" ", "_")
    consts = (ConstArray(f"{sym}_w", "int8_t", w.data.ravel()),
              ConstArray(f"{sym}_b", "int32_t", folded))
    return dict(w=f"{sym}_w", b=f"{sym}_b", mult=mult, shift=shift), consts


def _mul(op: Op, s1: float, s2: float, out: float) -> tuple[int, int]:
    return multiplier(op, _f32(s1) * _f32(s2) / _f32(out), "inter-gate multiplier")


def _tanh_scaling(cell_scale: float) -> tuple[int, int]:
    """Tanh(cell_state_scale_power, ...) of lstm_eval.cc, power-of-two case resolved."""
    power = round(math.log2(_f32(cell_scale)))
    if abs(math.log2(_f32(cell_scale)) - power) >= 1e-3:
        raise ValueError("cell scale is not a power of two")
    left = 15 + power - 3
    return (3 << left, 0) if left >= 0 else (3, -left)


def lower(op: Op, graph: Graph, opts: LowerOptions) -> Lowered:
    ins = graph.op_inputs(op) + [None] * 24
    a: LstmAttrs = op.attrs
    for i, what in UNSUPPORTED.items():
        if ins[i] is not None:
            raise unsupported(op, f"{what}: TFLite-Micro's LSTM kernel runs the standard LSTM only")
    if ins[1] is None or ins[5] is None:
        raise unsupported(op, "CIFG (no input gate) LSTM: TFLite-Micro does not run it")
    x = need_int8_activation(op, ins[0], "input")
    y = need_int8_activation(op, graph.op_outputs(op)[0], "output")
    h, c = ins[HIDDEN], ins[CELL]
    if h is None or c is None or not (h.is_variable and c.is_variable):
        raise unsupported(op, "hidden and cell states must be variable tensors")
    if h.dtype != "int8" or c.dtype != "int16" or c.quant is None or h.quant is None:
        raise unsupported(op, f"states are {h.dtype}/{c.dtype}; tinygen runs int8 hidden and "
                          "int16 cell state (the TFLite full-integer LSTM)")
    if len(x.shape) != 3:
        raise unsupported(op, f"input must be 3-D, has shape {x.shape}")
    steps, batches = (x.shape[0], x.shape[1]) if a.time_major else (x.shape[1], x.shape[0])
    n_in = x.shape[2]
    n_cell = ins[IN_W["forget"]].shape[0] if ins[IN_W["forget"]] is not None else 0
    if h.size != batches * n_cell or c.size != batches * n_cell or y.size != steps * batches * n_cell:
        raise unsupported(op, f"state {h.shape}/{c.shape} or output {y.shape} do not match "
                          f"{batches} batches x {n_cell} cells")
    if a.activation != Activation.TANH:
        raise unsupported(op, f"cell activation {a.activation.value}; tinygen runs tanh (every "
                          "Keras LSTM)")
    if a.cell_clip < 0:
        raise unsupported(op, "negative cell clip")
    params = dict(steps=steps, batches=batches, n_in=n_in, n_cell=n_cell,
                  time_major=int(a.time_major), cell_gate_sigmoid=0, gates=[])
    consts: tuple[ConstArray, ...] = ()
    for g in GATES:
        fin, c1 = _fc(op, f"{g} input", x, ins[IN_W[g]], ins[BIAS[g]], n_cell, n_in)
        frec, c2 = _fc(op, f"{g} recurrent", h, ins[REC_W[g]], None, n_cell, n_cell)
        params["gates"].append(dict(name=g, inp=fin, rec=frec))
        consts += c1 + c2
    cs = c.scale
    params.update(zip(("fc_mult", "fc_shift"), _mul(op, ACT_SCALE, cs, cs)))
    params.update(zip(("ig_mult", "ig_shift"), _mul(op, ACT_SCALE, ACT_SCALE, cs)))
    params.update(zip(("oh_mult", "oh_shift"), _mul(op, ACT_SCALE, ACT_SCALE, h.scale)))
    params["hidden_zp"] = h.zero_point
    try:
        params["tanh_mult"], params["tanh_shift"] = _tanh_scaling(cs)
    except ValueError:
        raise unsupported(op, f"cell state scale {cs} is not a power of two (TFLite-Micro "
                          "requires it)") from None
    clip = float(a.cell_clip) / _f32(cs) if a.cell_clip > 0 else 0.0
    params["cell_clip"] = int(min(max(clip, -32768.0), 32767.0))
    if y.zero_point != h.zero_point or _f32(y.scale) != _f32(h.scale):
        raise unsupported(op, "output and hidden state must share quantization (TFLite copies "
                          "the hidden state's bytes to the output)")
    nb = batches if a.time_major else 1
    macs = steps * batches * 4 * n_cell * (n_in + n_cell)
    return Lowered("lstm", ("tg_lstm",), params, consts, macs,
                   scratch_bytes=4 * nb * n_cell * 2,
                   notes=(f"{steps} steps x {batches} batches, {n_cell} cells",))
