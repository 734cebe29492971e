"""Data-movement ops (tinygen/ops/movement.py and its plugins), without TensorFlow: every plan,
run by the same numpy executor that folds constants, equals numpy's own indexing; loops merge into
runs; contiguous slices become views; bad attributes are refused in one line.

The C kernel runs the same plans in tests/test_ops_table.py (against TFLite-Micro) and the
corpus tests; here the Python half is checked on many random shapes cheaply.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from tinygen.errors import TinygenError, UnsupportedOp
from tinygen.ir import (BlockAttrs, GatherAttrs, Graph, MirrorPadAttrs, NoAttrs, Op, OpType,
                        PackAttrs, Quant, ResizeAttrs, SplitAttrs, StridedSliceAttrs, Tensor)
from tinygen.ops import lower, support_table
from tinygen.ops.movement import Fill, Move, execute, finish

Q = Quant((0.05,), (3,))
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), max_examples=80)


def act(index: int, shape, dtype: str = "int8") -> Tensor:
    return Tensor(index, f"t{index}", tuple(shape), dtype, Q if dtype in ("int8", "int16") else None)


def const(index: int, values, dtype: str = "int32") -> Tensor:
    data = np.asarray(values, dtype=dtype)
    data.setflags(write=False)
    return Tensor(index, f"c{index}", data.shape, dtype, None, data)


def one_op(op_type, inputs: list[Tensor], outputs: list[Tensor], attrs=NoAttrs()):
    """A graph of one op (tensor numbers not used by it are filled with unused tensors)."""
    given = {t.index: t for t in inputs + outputs}
    tensors = [given.get(i, act(i, (1,))) for i in range(max(given) + 1)]
    op = Op(index=0, type=op_type, inputs=tuple(t.index for t in inputs),
            outputs=tuple(t.index for t in outputs), attrs=attrs)
    graph_in = tuple(t.index for t in inputs if not t.is_const)
    return Graph(tuple(tensors), (op,), graph_in, tuple(t.index for t in outputs), "0" * 64), op


def run_fold(op_type, inputs, outputs, attrs):
    """The op's fold (its plan run in numpy) on constant inputs."""
    op = Op(0, op_type, tuple(t.index for t in inputs), tuple(t.index for t in outputs), attrs)
    return support_table()[op_type].fold(op, inputs, outputs)


def data(shape, dtype="int8", seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-100, 100, size=shape).astype(dtype)


# ---- STRIDED_SLICE: TensorFlow's indexing is numpy's basic indexing --------------------------------

@st.composite
def slice_specs(draw):
    rank = draw(st.integers(1, 5))
    shape = tuple(draw(st.integers(1, 6)) for _ in range(rank))
    n = draw(st.integers(1, rank + 1))
    ellipsis_at = draw(st.sampled_from([None] + list(range(n))))
    entries = []
    for i in range(n):
        if i == ellipsis_at:
            entries.append(("...",))
            continue
        kind = draw(st.sampled_from(["slice", "slice", "index", "new"]))
        b, e = draw(st.integers(-8, 8)), draw(st.integers(-8, 8))
        s = draw(st.sampled_from([1, 1, 2, 3, -1, -2]))
        entries.append((kind, b, e, s, draw(st.booleans()), draw(st.booleans())))
    return shape, entries, draw(st.booleans())


def numpy_index(shape, entries, offset):
    """The numpy index of a sparse slice spec, and the TFLite op's begin/end/strides/masks."""
    idx, begin, end, strides = [], [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    # which input axis each sparse entry lands on (for the numpy index of a shrink)
    n_new = sum(1 for en in entries if en[0] == "new")
    n_real = sum(1 for en in entries if en[0] in ("slice", "index"))
    at, axis = {}, 0
    for i, en in enumerate(entries):
        if en[0] == "...":
            axis += len(shape) - n_real
        elif en[0] in ("slice", "index"):
            at[i] = axis
            axis += 1
    if axis > len(shape) or n_new + len(shape) > 5 + n_new:
        return None
    for i, en in enumerate(entries):
        bit = 1 << i
        if en[0] == "...":
            idx.append(Ellipsis)
            masks["ellipsis_mask"] |= bit
            begin.append(0); end.append(0); strides.append(1)
        elif en[0] == "new":
            idx.append(None)
            masks["new_axis_mask"] |= bit
            begin.append(0); end.append(0); strides.append(1)
        elif en[0] == "index":
            size = shape[at[i]]
            b = en[1] % (2 * size) - size          # in [-size, size)
            idx.append(b)
            masks["shrink_axis_mask"] |= bit
            begin.append(b); end.append(b + 1); strides.append(1)
        else:
            _, b, e, s, bm, em = en
            if offset:
                bm = em = False
                b = min(max(b, 0), shape[at[i]])   # offset: end counts from begin (b >= 0 here)
                e = abs(e)
            masks["begin_mask"] |= bit if bm else 0
            masks["end_mask"] |= bit if em else 0
            stop = b + e if offset else e
            idx.append(slice(None if bm else b, None if em else stop, s))
            begin.append(b); end.append(e); strides.append(s)
    return tuple(idx), begin, end, strides, masks


@settings(**SETTINGS)
@given(slice_specs())
def test_strided_slice_is_numpy_indexing(spec):
    shape, entries, offset = spec
    made = numpy_index(shape, entries, offset)
    assume(made is not None)
    idx, begin, end, strides, masks = made
    x = data(shape)
    want = x[idx]
    assume(want.size > 0 and want.ndim <= 6)
    attrs = StridedSliceAttrs(offset=offset, **masks)
    ins = [const(0, x, "int8"), const(1, begin), const(2, end), const(3, strides)]
    got = run_fold(OpType.STRIDED_SLICE, ins, [act(4, want.shape)], attrs)
    assert got is not None and np.array_equal(got[0], want), (idx, got)


def test_strided_slice_refusals_are_one_line():
    x = act(0, (1, 4, 6))
    y = act(4, (1, 4, 3))
    for begin, end, strides, why in (([0, 0, 0], [1, 4, 6], [1, 1, 0], "stride of 0"),
                                     ([0, 0, 0], [1, 4, 6], [1, 2, 1], "has shape")):
        graph, op = one_op(OpType.STRIDED_SLICE, [x, const(1, begin), const(2, end), const(3, strides)],
                           [y], StridedSliceAttrs(0, 0, 0, 0, 0, False))
        with pytest.raises(TinygenError) as err:
            lower(op, graph)
        assert why in str(err.value) and "\n" not in str(err.value)
    runtime_begin = act(1, (3,), "int32")
    graph, op = one_op(OpType.STRIDED_SLICE, [x, runtime_begin, const(2, [1, 4, 6]), const(3, [1, 1, 2])],
                       [y], StridedSliceAttrs(0, 0, 0, 0, 0, False))
    with pytest.raises(UnsupportedOp, match=r"^op 0 \(STRIDED_SLICE\): begin must be a constant"):
        lower(op, graph)


# ---- views and merged loops --------------------------------------------------------------------------

def test_slice_of_the_outer_axis_is_a_view():
    """seanet's strided slices: the last rows of axis 1 of a batch-1 tensor are a view."""
    x, y = act(0, (1, 4, 162, 8), "int16"), act(4, (1, 2, 162, 8), "int16")
    graph, op = one_op(OpType.STRIDED_SLICE, [x, const(1, [0, -2, 0, 0]), const(2, [0, 0, 0, 8]),
                                              const(3, [1, 1, 1, 1])], [y],
                       StridedSliceAttrs(13, 15, 0, 0, 0, False))
    low = lower(op, graph)
    assert low.views == ((4, 2 * 162 * 8 * 2),) and low.kernels == ()


def test_unaligned_or_inner_slice_is_copied():
    x = act(0, (1, 5, 3))
    y = act(4, (1, 4, 3))        # starts 3 bytes in: not word aligned
    graph, op = one_op(OpType.STRIDED_SLICE, [x, const(1, [0, 1, 0]), const(2, [1, 5, 3]),
                                              const(3, [1, 1, 1])], [y],
                       StridedSliceAttrs(0, 0, 0, 0, 0, False))
    low = lower(op, graph)
    assert low.views == () and low.kernels == ("tg_move",)
    assert low.params["moves"][0]["run"] == 12 and low.params["moves"][0]["count"] == [1] * 6


def test_nchw_to_nhwc_copies_channel_planes():
    x, y = act(0, (1, 3, 224, 224)), act(4, (1, 224, 224, 3))
    graph, op = one_op(OpType.TRANSPOSE, [x, const(1, [0, 2, 3, 1])], [y])
    m = lower(op, graph).params["moves"][0]
    assert m["count"][-2:] == [224 * 224, 3] and m["src_step"][-2:] == [1, 224 * 224]
    assert m["count"][:4] == [1, 1, 1, 1] and m["run"] == 1


def test_split_of_the_first_axis_is_all_views_and_unpack_too():
    x = act(1, (6, 4, 4))
    outs = [act(2 + k, (2, 4, 4)) for k in range(3)]
    graph, op = one_op(OpType.SPLIT, [const(0, [0]), x], outs, SplitAttrs(3))
    low = lower(op, graph)
    assert low.views == ((2, 0), (3, 32), (4, 64)) and low.kernels == ()
    outs = [act(2 + k, (4, 4)) for k in range(6)]
    graph, op = one_op(OpType.UNPACK, [act(0, (6, 4, 4))], outs, PackAttrs(0, 6))
    assert [off for _, off in lower(op, graph).views] == [0, 16, 32, 48, 64, 80]


def test_a_view_that_would_raise_the_arena_is_a_copy():
    """A 4 KB input sliced to 64 B that is read long after: keeping the input alive for a view
    would hold 4 KB where a copy holds 64 B, so it is copied."""
    from tinygen.ir import Graph as G

    x, s, a, b, c = act(0, (64, 64)), act(4, (1, 64)), act(5, (64, 64)), act(6, (64, 64)), act(7, (1, 64))
    sl = Op(0, OpType.STRIDED_SLICE, (0, 1, 2, 3), (4,), StridedSliceAttrs(0, 0, 0, 0, 0, False))
    r1 = Op(1, OpType.RELU, (0,), (5,))
    r2 = Op(2, OpType.RELU, (5,), (6,))
    add = Op(3, OpType.ADD, (6, 4), (7,))
    tensors = (x, const(1, [0, 0]), const(2, [1, 64]), const(3, [1, 1]), s, a, b, c)
    graph = G(tensors, (sl, r1, r2, add), (0,), (7,), "0" * 64)
    assert lower(sl, graph).views == ()
    graph = G(tensors, (sl, add.__class__(1, OpType.ADD, (0, 4), (7,))), (0,), (7,), "0" * 64)
    assert lower(sl, graph).views == ((4, 0),)


# ---- the other plans against numpy ---------------------------------------------------------------

@settings(**SETTINGS)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=5), st.data())
def test_transpose_and_tile_are_numpy(shape, d):
    x = data(shape)
    perm = d.draw(st.permutations(range(len(shape))))
    got = run_fold(OpType.TRANSPOSE, [const(0, x, "int8"), const(1, perm)],
                   [act(2, np.transpose(x, perm).shape)], NoAttrs())
    assert np.array_equal(got[0], np.transpose(x, perm))
    mult = [d.draw(st.integers(1, 3)) for _ in shape]
    want = np.tile(x, mult)
    got = run_fold(OpType.TILE, [const(0, x, "int8"), const(1, mult)], [act(2, want.shape)], NoAttrs())
    assert np.array_equal(got[0], want)


@settings(**SETTINGS)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_split_unpack_pack_gather_are_numpy(shape, d):
    x = data(shape)
    axis = d.draw(st.integers(0, len(shape) - 1))
    cuts = sorted(d.draw(st.lists(st.integers(0, shape[axis]), max_size=3)))
    parts = np.split(x, cuts, axis=axis)
    outs = [act(3 + k, p.shape) for k, p in enumerate(parts)]
    got = run_fold(OpType.SPLIT_V, [const(0, x, "int8"), const(1, [p.shape[axis] for p in parts]),
                                    const(2, [axis])], outs, SplitAttrs(len(parts)))
    assert all(np.array_equal(g, p) for g, p in zip(got, parts))
    pieces = [np.take(x, k, axis=axis) for k in range(shape[axis])]
    got = run_fold(OpType.UNPACK, [const(0, x, "int8")], [act(1 + k, p.shape) for k, p in enumerate(pieces)],
                   PackAttrs(axis, len(pieces)))
    assert all(np.array_equal(g, p) for g, p in zip(got, pieces))
    paxis = d.draw(st.integers(0, len(shape)))
    want = np.stack([x, x + 1, x - 1], axis=paxis)
    got = run_fold(OpType.PACK, [const(0, x, "int8"), const(1, x + 1, "int8"), const(2, x - 1, "int8")],
                   [act(3, want.shape)], PackAttrs(paxis, 3))
    assert np.array_equal(got[0], want)
    pos = np.array(d.draw(st.lists(st.integers(0, shape[axis] - 1), min_size=1, max_size=4)))
    want = np.take(x, pos, axis=axis)
    got = run_fold(OpType.GATHER, [const(0, x, "int8"), const(1, pos)], [act(2, want.shape)],
                   GatherAttrs(axis, 0))
    assert np.array_equal(got[0], want)


def test_gather_with_batch_dims_is_tf_gather():
    x = data((2, 3, 5, 2))
    pos = np.array([[4, 0, 1], [2, 2, 3]])
    want = np.stack([np.take(x[b], pos[b], axis=1) for b in range(2)])   # tf.gather(batch_dims=1, axis=2)
    got = run_fold(OpType.GATHER, [const(0, x, "int8"), const(1, pos)], [act(2, want.shape)],
                   GatherAttrs(2, 1))
    assert np.array_equal(got[0], want)


@settings(**SETTINGS)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_mirror_pad_is_numpy(shape, d):
    mode = d.draw(st.sampled_from(["REFLECT", "SYMMETRIC"]))
    limit = (lambda n: n - 1) if mode == "REFLECT" else (lambda n: n)
    pads = [(d.draw(st.integers(0, limit(n))), d.draw(st.integers(0, limit(n)))) for n in shape]
    x = data(shape)
    want = np.pad(x, pads, mode=mode.lower())
    got = run_fold(OpType.MIRROR_PAD, [const(0, x, "int8"), const(1, pads)], [act(2, want.shape)],
                   MirrorPadAttrs(mode))
    assert np.array_equal(got[0], want)


def test_space_depth_and_batch_are_tf():
    x = data((2, 4, 6, 3))
    # space_to_depth: [b, h/2, w/2, 2*2*c] with depth order (bh, bw, c)
    s2d = x.reshape(2, 2, 2, 3, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(2, 2, 3, 12)
    got = run_fold(OpType.SPACE_TO_DEPTH, [const(0, x, "int8")], [act(1, s2d.shape)], BlockAttrs(2))
    assert np.array_equal(got[0], s2d)
    got = run_fold(OpType.DEPTH_TO_SPACE, [const(0, s2d, "int8")], [act(1, x.shape)], BlockAttrs(2))
    assert np.array_equal(got[0], x)
    # space_to_batch then batch_to_space with the same padding as crops is the identity
    pads = [[1, 3], [2, 0]]
    padded = np.pad(x, [(0, 0), (1, 3), (2, 0), (0, 0)])
    s2b = padded.reshape(2, 4, 2, 4, 2, 3).transpose(2, 4, 0, 1, 3, 5).reshape(8, 4, 4, 3)
    got = run_fold(OpType.SPACE_TO_BATCH_ND, [const(0, x, "int8"), const(1, [2, 2]), const(2, pads)],
                   [act(3, s2b.shape)], NoAttrs())
    assert np.array_equal(got[0], s2b)
    got = run_fold(OpType.BATCH_TO_SPACE_ND, [const(0, s2b, "int8"), const(1, [2, 2]), const(2, pads)],
                   [act(3, x.shape)], NoAttrs())
    assert np.array_equal(got[0], x)


def test_resize_nearest_matches_tflite_micro_float32_rule():
    from tinygen.ops.resize import nearest

    # half_pixel_centers 5 -> 11: floor((j + 0.5) * 5/11) in float32
    assert [nearest(j, 5, 11, False, True) for j in range(11)] == [0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4]
    assert [nearest(j, 6, 4, True, False) for j in range(4)] == [0, 2, 3, 5]
    assert [nearest(j, 4, 8, False, False) for j in range(8)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_bilinear_tables_match_tflite_micro_integer_rule():
    from tinygen.ops.resize import bilinear_axis

    # upscaling 5 -> 9 with half-pixel centres: scale_10 = (5120 + 4) // 9 = 569
    rows = bilinear_axis(5, 9, False, True)
    assert rows[0] == (0, 0, 569 // 2 - 512)          # a negative weight, as TFLite-Micro has it
    assert rows[4] == (2, 2, 4 * 569 + 284 - 512 - 2048)
    assert all(0 <= lo <= hi <= 4 for lo, hi, _ in rows)


# ---- fold and plan bookkeeping -----------------------------------------------------------------------

def test_fill_then_moves_and_finish_drop_empty_moves():
    out = [np.zeros(6, np.int8)]
    plan = finish([Fill(0, 7), Move((), run=0), Move((), run=2, src=1, dst=3)])
    assert len(plan) == 2
    execute(plan, [np.arange(10, dtype=np.int8)], out)
    assert out[0].tolist() == [7, 7, 7, 1, 2, 7]


def test_every_data_movement_op_folds():
    want = {OpType.STRIDED_SLICE, OpType.SLICE, OpType.SPLIT, OpType.SPLIT_V, OpType.PACK,
            OpType.UNPACK, OpType.GATHER, OpType.TRANSPOSE, OpType.TILE, OpType.MIRROR_PAD,
            OpType.SPACE_TO_DEPTH, OpType.DEPTH_TO_SPACE, OpType.SPACE_TO_BATCH_ND,
            OpType.BATCH_TO_SPACE_ND, OpType.RESIZE_NEAREST_NEIGHBOR, OpType.CONCATENATION,
            OpType.RESHAPE, OpType.SQUEEZE, OpType.EXPAND_DIMS}
    table = support_table()
    assert all(table[t].fold is not None for t in want)
