"""tinygen/checks.py on small hand-built graphs, and the plugin contract it relies on."""
from __future__ import annotations

import numpy as np
import pytest

from tinygen.checks import check_graph, check_ops, check_tensor
from tinygen.errors import ModelError, UnsupportedModel, UnsupportedOp
from tinygen.ir import (Activation, ActivationAttrs, Graph, NoAttrs, Op, OpType, Quant,
                        SoftmaxAttrs, Tensor)
from tinygen.ops import support_table


def act(index, shape=(1, 4), scale=0.05, zp=0, dtype="int8", name=""):
    return Tensor(index, name or f"t{index}", shape, dtype, Quant((scale,), (zp,)))


def const(index, values, dtype="int8", scales=(0.01,), zps=(0,), axis=0):
    data = np.asarray(values, dtype=dtype)
    quant = Quant(tuple(scales), tuple(zps), axis) if scales else None
    return Tensor(index, f"c{index}", data.shape, dtype, quant, data)


def add_graph(*tensors, ops=None, inputs=(0,), outputs=(2,)):
    """t0 + t1 -> t2 unless told otherwise."""
    ops = ops or (Op(0, OpType.ADD, (0, 1), (2,), ActivationAttrs(Activation.NONE)),)
    tensors = tensors or (act(0), act(1), act(2))
    return Graph(tensors=tuple(tensors), ops=tuple(ops), inputs=inputs, outputs=outputs, sha256="0")


def test_a_sound_graph_passes():
    g = add_graph(act(0), const(1, [[1, 2, 3, 4]]), act(2))
    assert check_graph(g) is g


@pytest.mark.parametrize("scale", [0.0, -0.5, float("nan"), float("inf"), -float("inf")])
def test_scales_must_be_finite_and_positive(scale):
    with pytest.raises(ModelError, match=r"tensor 2 't2' has scale .*finite and positive"):
        check_graph(add_graph(act(0), act(1), act(2, scale=scale)))


@pytest.mark.parametrize("dtype,zp,ok", [("int8", -128, True), ("int8", 127, True),
                                         ("int8", 128, False), ("int8", -129, False),
                                         ("int16", -32768, True), ("int16", 40000, False),
                                         ("uint8", 255, True), ("uint8", -1, False)])
def test_zero_points_fit_their_type(dtype, zp, ok):
    g = add_graph(act(0), act(1), act(2, zp=zp, dtype=dtype))
    if ok:
        check_tensor(g, g.tensors[2])
    else:
        with pytest.raises(ModelError, match=rf"zero point {zp}, outside {dtype}'s range"):
            check_tensor(g, g.tensors[2])


def test_per_channel_counts_and_axis():
    w = const(1, np.ones((3, 4)), scales=(0.1, 0.2, 0.3), zps=(0,), axis=0)
    fc = Op(0, OpType.FULLY_CONNECTED, (0, 1, -1), (2,), NoAttrs())
    check_graph(add_graph(act(0), w, act(2, shape=(1, 3)), ops=[fc]))
    bad = const(1, np.ones((3, 4)), scales=(0.1, 0.2, 0.3), zps=(0,), axis=1)
    with pytest.raises(ModelError, match=r"3 scales along dimension 1, which has 4 entries"):
        check_graph(add_graph(act(0), bad, act(2, shape=(1, 3)), ops=[fc]))
    # the converter gives a depthwise bias (rank 1) its filter's axis 3: accepted
    bias = const(1, np.ones(3), dtype="int32", scales=(0.1, 0.2, 0.3), zps=(0, 0, 0), axis=3)
    check_tensor(add_graph(), bias)


def test_activations_have_one_scale():
    two = Tensor(2, "t2", (1, 4), "int8", Quant((0.1, 0.2), (0, 0), 1))
    with pytest.raises(ModelError, match="activation with 2 scales"):
        check_graph(add_graph(act(0), act(1), two))


def test_shapes():
    with pytest.raises(UnsupportedModel, match="no elements"):
        check_graph(add_graph(act(0), act(1), act(2, shape=(1, 0))))
    with pytest.raises(UnsupportedModel, match="7 dimensions"):
        check_graph(add_graph(act(0), act(1), act(2, shape=(1,) * 7)))
    with pytest.raises(UnsupportedModel, match="far beyond any microcontroller"):
        check_graph(add_graph(act(0), act(1), act(2, shape=(1, 1 << 14, 1 << 13))))
    with pytest.raises(UnsupportedModel, match="type type17"):
        check_graph(add_graph(act(0), act(1), act(2, dtype="type17")))


def test_structure():
    t = (act(0), act(1), act(2))
    add = lambda ins, outs: Op(0, OpType.ADD, ins, outs, ActivationAttrs(Activation.NONE))
    with pytest.raises(ModelError, match=r"output 0 is absent \(-1\)"):
        check_graph(add_graph(*t, ops=[add((0, 1), (-1,))]))
    with pytest.raises(ModelError, match="has no outputs"):
        check_graph(add_graph(*t, ops=[add((0, 1), ())]))
    with pytest.raises(ModelError, match="writes the model input"):
        check_graph(add_graph(*t, ops=[add((0, 1), (0,))]))
    with pytest.raises(ModelError, match="which op 0 already writes"):
        check_graph(add_graph(*t, ops=[add((0, 1), (2,)), Op(1, OpType.ADD, (0, 1), (2,),
                                                             ActivationAttrs(Activation.NONE))]))
    with pytest.raises(ModelError, match="written by no op"):
        check_graph(add_graph(act(0), act(1), act(2), act(3), outputs=(3,)))
    with pytest.raises(ModelError, match="same tensor twice among its outputs"):
        check_graph(add_graph(*t, outputs=(2, 2)))
    with pytest.raises(ModelError, match="is a constant"):
        check_graph(add_graph(act(0), act(1), const(2, [[1, 2, 3, 4]]), outputs=(2,)))


def ports(g: Graph) -> None:
    """What ops.lower does first for each op: its tensors against its plugin's ports."""
    for op in g.ops:
        check_ops(g, op, support_table()[op.type])


def test_ports():
    softmax = lambda ins: Op(0, OpType.SOFTMAX, ins, (2,), SoftmaxAttrs(1.0))
    with pytest.raises(ModelError, match=r"input 0 \(input\) is missing \(0 inputs\)"):
        ports(add_graph(ops=[softmax(())]))
    with pytest.raises(UnsupportedOp, match="has 2 inputs; tinygen's kernel takes at most 1"):
        ports(add_graph(ops=[softmax((0, 1))]))
    with pytest.raises(UnsupportedOp, match="input tensor 0 is int32; this kernel takes int8 or int16"):
        ports(add_graph(act(0, dtype="int32"), act(1), act(2), ops=[softmax((0,))]))
    fc = Op(0, OpType.FULLY_CONNECTED, (0, 1), (2,), NoAttrs())
    with pytest.raises(UnsupportedOp, match="weights tensor 1 must be a constant"):
        ports(add_graph(act(0), act(1), act(2), ops=[fc]))
    with pytest.raises(UnsupportedOp, match="weights tensor 1 has no quantization parameters"):
        ports(add_graph(act(0), const(1, np.ones((4, 4)), scales=()), act(2), ops=[fc]))
    with pytest.raises(ModelError, match=r"input 1 \(weights\) is absent \(-1\)"):
        ports(add_graph(ops=[Op(0, OpType.FULLY_CONNECTED, (0, -1), (2,), NoAttrs())]))
    concat = Op(0, OpType.CONCATENATION, (0, 1, 0), (2,), NoAttrs())
    assert support_table()[OpType.CONCATENATION].repeat_inputs
    ports(add_graph(act(0), act(1), act(2, shape=(1, 12)), ops=[concat]))


def test_int32_tensors_carry_no_quantization():
    """Data movement takes int32 too (shape vectors): no scale needed there; where a kernel reads
    the scale (ADD), an int8 tensor needs one."""
    plain = lambda i, dtype: Tensor(i, f"t{i}", (1, 4), dtype, None)  # noqa: E731
    concat = Op(0, OpType.CONCATENATION, (0, 1), (2,), NoAttrs())
    ports(add_graph(plain(0, "int32"), plain(1, "int32"), Tensor(2, "t2", (1, 8), "int32", None),
                    ops=[concat]))
    with pytest.raises(UnsupportedOp, match="input 1 tensor 0 has no quantization parameters"):
        ports(add_graph(plain(0, "int8"), act(1), act(2)))


def test_variable_tensors():
    var = Tensor(1, "state", (1, 4), "int8", Quant((0.05,), (0,)), is_variable=True)
    with pytest.raises(UnsupportedOp, match="input 2 tensor 1 is a variable .state. tensor; this op keeps no state"):
        ports(add_graph(act(0), var, act(2)))
    with pytest.raises(ModelError, match="writes the variable .state. tensor 1 'state' as an output"):
        check_graph(add_graph(act(0), var, act(2), act(3), outputs=(3,),
                              ops=[Op(0, OpType.ADD, (0, 0), (1,), ActivationAttrs(Activation.NONE)),
                                   Op(1, OpType.ADD, (0, 2), (3,), ActivationAttrs(Activation.NONE))]))
    with pytest.raises(ModelError, match="model output tensor 1 'state' is a variable"):
        check_graph(add_graph(act(0), var, act(2), outputs=(1,)))


def test_every_plugin_declares_its_inputs():
    """The contract of ops/base.py: a new plugin cannot forget to say what its op reads."""
    for op_type, support in support_table().items():
        assert support.inputs, f"the plugin of {op_type.value} declares no OpSupport.inputs"
        assert support.outputs
