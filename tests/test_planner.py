"""Planner: hand-computed cases and properties (no overlap of live buffers, bound met on chains)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from tinygen.planner import (ALIGN, Buffer, PlanError, TensorUse, check, lower_bound, make_buffers,
                             plan_memory)


def chain(sizes: list[int]):
    uses = [TensorUse((i,), (i + 1,)) for i in range(len(sizes) - 1)]
    return plan_memory(len(uses), uses, dict(enumerate(sizes)), [0], [len(sizes) - 1])


def test_anchor_chain_meets_bound():
    # shared/anchors/cnn_fft_flatten.tflite without its reshapes: 128 -> 1024 -> 256 -> 256 -> 128 -> 4 -> 4
    plan = chain([128, 1024, 256, 256, 128, 4, 4])
    assert plan.lower_bound == 1024 + 256          # the max-pool reads 1024 and writes 256
    assert plan.arena_bytes == 1280


def test_alternating_ends_on_a_chain():
    plan = chain([100, 200, 300])                  # sizes round up to 4: 100, 200, 300
    assert plan.arena_bytes == plan.lower_bound == 500
    assert plan.offsets[0] == 0 and plan.offsets[1] == 300 and plan.offsets[2] == 0


def test_unaligned_sizes_round_up():
    plan = chain([5, 3, 7])
    assert plan.arena_bytes == 8 + 4 and all(o % ALIGN == 0 for o in plan.offsets.values())


def test_alias_costs_nothing():
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2,), alias=True), TensorUse((2,), (3,))]
    plan = plan_memory(3, uses, {0: 64, 1: 128, 2: 128, 3: 16}, [0], [3])
    assert plan.offsets[1] == plan.offsets[2]
    assert plan.arena_bytes == plan.lower_bound == 64 + 128
    assert [s.reason for s in plan.sharing] == ["alias"]


def test_inplace_shares_when_input_dies():
    # op1 may run in place and its input (t1) is read by nobody later
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2,), inplace=True), TensorUse((2,), (3,))]
    plan = plan_memory(3, uses, {0: 32, 1: 256, 2: 256, 3: 8}, [0], [3])
    assert plan.offsets[1] == plan.offsets[2]
    assert plan.arena_bytes == 32 + 256            # below the no-in-place bound of 512


def test_inplace_refused_when_input_read_later():
    # residual: t1 is read by op1 (in-place candidate) and again by op2
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2,), inplace=True), TensorUse((1, 2), (3,))]
    plan = plan_memory(3, uses, {0: 16, 1: 64, 2: 64, 3: 64}, [0], [3])
    assert plan.offsets[1] != plan.offsets[2]
    assert not plan.sharing


def test_inplace_never_overwrites_graph_input():
    uses = [TensorUse((0,), (1,), inplace=True)]
    plan = plan_memory(1, uses, {0: 16, 1: 16}, [0], [1])
    assert plan.offsets[0] != plan.offsets[1]


def test_branch_keeps_skip_tensor_alive():
    # t1 feeds op1 and op2 (skip connection): it must survive op1
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2,)), TensorUse((1, 2), (3,))]
    plan = plan_memory(3, uses, {0: 40, 1: 40, 2: 40, 3: 40}, [0], [3])
    assert plan.lower_bound == 120 and plan.arena_bytes == 120


def test_check_catches_overlap():
    a = Buffer(0, 16, 0, 2, (0,))
    b = Buffer(1, 16, 1, 3, (1,))
    with pytest.raises(PlanError):
        check([a, b], [0, 8], 32)
    with pytest.raises(PlanError):
        check([a, b], [0, 2], 32)                  # misaligned
    check([a, b], [0, 16], 32)


@st.composite
def random_graphs(draw):
    """Random DAGs in execution order: each op reads 1-2 earlier tensors and writes one."""
    n_ops = draw(st.integers(1, 14))
    sizes = {0: draw(st.integers(1, 600))}
    uses = []
    for i in range(n_ops):
        k = draw(st.integers(1, min(2, i + 1)))
        reads = tuple(sorted(set(draw(st.lists(st.integers(0, i), min_size=k, max_size=k)))))
        sizes[i + 1] = draw(st.integers(1, 600))
        uses.append(TensorUse(reads, (i + 1,), inplace=draw(st.booleans())))
    return n_ops, uses, sizes


@settings(max_examples=300, deadline=None)
@given(random_graphs())
def test_random_plans_are_valid(g):
    n_ops, uses, sizes = g
    plan = plan_memory(n_ops, uses, sizes, [0], [n_ops])
    check(plan.buffers, plan.buffer_offsets, plan.arena_bytes)   # no overlap, aligned, in bounds
    assert plan.arena_bytes >= plan.lower_bound
    # every tensor's bytes lie inside the arena at an aligned offset
    for t, off in plan.offsets.items():
        assert off % ALIGN == 0 and off + sizes[t] <= plan.arena_bytes


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=2, max_size=20))
def test_chains_meet_the_bound(sizes):
    plan = chain(sizes)
    assert plan.arena_bytes == plan.lower_bound


def test_lower_bound_matches_definition():
    buffers, _, _ = make_buffers(2, [TensorUse((0,), (1,)), TensorUse((1,), (2,))],
                                 {0: 8, 1: 12, 2: 4}, [0], [2])
    assert lower_bound(buffers) == 20


def test_shrinking_inplace_is_not_forced_when_it_costs():
    # found by the 250-model property run: an in-place max-pool (40 B -> 16 B) would keep 40 B
    # alive next to a 168 B conv output; without it the chain fits in 16 + 168 B.
    sizes = {0: 40, 1: 40, 2: 16, 3: 168, 4: 16}
    uses = [TensorUse((0,), (1,), inplace=True), TensorUse((1,), (2,), inplace=True),
            TensorUse((2,), (3,)), TensorUse((3,), (4,))]
    plan = plan_memory(4, uses, sizes, [0], [4])
    assert plan.arena_bytes == 184


def test_views_live_inside_their_input():
    # SPLIT of t1 (96 B) into t2 (32 B at 0) and t3 (64 B at 32): no memory of their own,
    # and the buffer lives until the last view is read.
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2, 3), views=((2, 0), (3, 32))),
            TensorUse((2,), (4,)), TensorUse((3, 4), (5,))]
    plan = plan_memory(4, uses, {0: 16, 1: 96, 2: 32, 3: 64, 4: 8, 5: 8}, [0], [5])
    assert plan.offsets[2] == plan.offsets[1] and plan.offsets[3] == plan.offsets[1] + 32
    assert sorted(s.reason for s in plan.sharing) == ["view", "view"]
    assert plan.arena_bytes == plan.lower_bound == 96 + 8 + 8   # op 3 reads the view and t4


def test_unaligned_view_is_a_bug():
    uses = [TensorUse((0,), (1, 2), views=((1, 0), (2, 6)))]
    with pytest.raises(PlanError, match="not 4-byte aligned"):
        plan_memory(1, uses, {0: 12, 1: 6, 2: 6}, [0], [1, 2])


def test_scratch_lives_during_its_op_only():
    # op 1 has 400 B of scratch (planner id 9): it overlaps nothing live at op 1 and reuses
    # memory dead before and after.
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2, 9)), TensorUse((2,), (3,))]
    plan = plan_memory(3, uses, {0: 256, 1: 100, 2: 100, 3: 256, 9: 400}, [0], [3])
    assert plan.lower_bound == 100 + 100 + 400
    assert plan.arena_bytes == plan.lower_bound
    live = [(plan.offsets[t], plan.offsets[t] + n) for t, n in ((1, 100), (2, 100), (9, 400))]
    assert all(a[1] <= b[0] or b[1] <= a[0] for i, a in enumerate(live) for b in live[i + 1:])


# ---- in place past the liveness bound (issue 12) --------------------------------------------

def test_growing_inplace_merges_into_the_outputs_size():
    # MobileNet's expanding pointwise in miniature: t1 (32 B) -> t2 (64 B) written from the end
    # back (grows): one 64 B buffer, input at its start; the peak at op 1 falls from 96 to 64 + 8.
    sizes = {0: 8, 1: 32, 2: 64, 3: 8}
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2,), inplace=True, grows=True),
            TensorUse((2,), (3,))]
    plan = plan_memory(3, uses, sizes, [0], [3])
    assert plan.offsets[1] == plan.offsets[2]
    assert plan.arena_bytes == 8 + 64
    assert [s.reason for s in plan.sharing] == ["in-place"]


def test_growing_inplace_refused_without_grows():
    # the same op without the reverse order: an output larger than its input may not merge
    sizes = {0: 8, 1: 32, 2: 64, 3: 8}
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2,), inplace=True), TensorUse((2,), (3,))]
    plan = plan_memory(3, uses, sizes, [0], [3])
    assert plan.offsets[1] != plan.offsets[2] and not plan.sharing
    assert plan.arena_bytes == 32 + 64


def test_growing_inplace_refused_when_input_read_later():
    # a residual reads t1 after the expanding op: in place would destroy it
    sizes = {0: 8, 1: 32, 2: 64, 3: 8}
    uses = [TensorUse((0,), (1,)), TensorUse((1,), (2,), inplace=True, grows=True),
            TensorUse((1, 2), (3,))]
    plan = plan_memory(3, uses, sizes, [0], [3])
    assert not plan.sharing and plan.arena_bytes == 32 + 64 + 8


def test_check_inplace_catches_a_forged_merge():
    from tinygen.planner import Sharing, check_inplace
    uses = [TensorUse((1,), (2,), inplace=True)]
    with pytest.raises(PlanError, match="not 0"):
        check_inplace(uses, [Sharing(2, 1, "in-place")], {1: 0, 2: 8}, {1: 16, 2: 16})
    with pytest.raises(PlanError, match="overruns"):
        check_inplace(uses, [Sharing(2, 1, "in-place")], {1: 0, 2: 0}, {1: 16, 2: 32})
    check_inplace([TensorUse((1,), (2,), inplace=True, grows=True)], [Sharing(2, 1, "in-place")],
                  {1: 0, 2: 0}, {1: 16, 2: 32})


def _dw_geo(h=25, w=5, c=64, k=3, stride=1, mult=1, dil_w=1):
    out_h, out_w = -(-h // stride), -(-w // stride)
    return dict(in_h=h, in_w=w, in_c=c, out_h=out_h, out_w=out_w, out_c=c * mult, k_h=k, k_w=k,
                stride_h=stride, stride_w=stride, dil_h=1, dil_w=dil_w, pad_top=k // 2,
                pad_left=k // 2, depth_mult=mult)


def test_depthwise_inplace_only_on_one_band_of_the_plane_route():
    from tinygen.ops.conv import dw_inplace_safe, dw_planes
    g = _dw_geo()                                   # DS-CNN KWS: 25x5x64, 3x3
    assert dw_planes(g) == (8, 25, 2 * 8 * 27) and dw_inplace_safe(g, dw_planes(g))
    assert dw_inplace_safe(_dw_geo(stride=2), dw_planes(_dw_geo(stride=2)))
    big = _dw_geo(h=48, w=48, c=8)                  # MobileNet-96's first depthwise: 5,200 B plane
    assert dw_planes(big)[1] < 48 and not dw_inplace_safe(big, dw_planes(big))    # bands: refused
    assert dw_planes(big, whole=True) == (52, 48, 5200) and dw_inplace_safe(big, (52, 48, 5200))
    assert not dw_inplace_safe(big, dw_planes(big, max_band=1))
    assert not dw_inplace_safe(_dw_geo(mult=2), dw_planes(_dw_geo(mult=2)))     # channels move
    dil = _dw_geo(dil_w=2)                          # the per-position route: refused
    assert dw_planes(dil) == (0, 0, 0) and not dw_inplace_safe(dil, dw_planes(dil))


def test_pointwise_groups():
    from tinygen.ops.conv import pw_group
    assert pw_group(125, 64) == 4 and pw_group(2304, 8) == 32 and pw_group(9, 1000) == 4
    assert pw_group(3, 8) == 3
