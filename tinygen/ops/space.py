"""SPACE_TO_DEPTH, DEPTH_TO_SPACE, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND: block rearrangements of
NHWC tensors, each a few moves (the index arithmetic of TFLite-Micro's reference kernels written
as loops with strides). 3-D (NHC) tensors of the *_ND ops are NH1C, as TFLite-Micro extends them.

SPACE_TO_BATCH_ND pads with 0, not the output zero point: TFLite-Micro memsets its padding with
params.output_offset, which lives in a persistent buffer nobody initialises: 0 in a fresh
interpreter, other bytes after other models ran in the same process (measured in the full test
suite), so TFLite-Micro's padded values are undefined. TensorFlow Lite proper pads with the zero
point; the two agree whenever the zero point is 0. Padded positions are tested against numpy
(tests/test_movement.py), not against TFLite-Micro."""
from __future__ import annotations

from ..ir import BlockAttrs, Graph, Op, OpType
from .base import LowerOptions, OpSupport, act, unsupported
from .movement import Fill, Loop, Move, check_shape, const_ints, folder, index, lowered, need_data, \
    same_type

DTYPES = ("int8",)


def _nhwc(op: Op, t, ranks=(4,)) -> tuple[int, int, int, int]:
    if len(t.shape) not in ranks:
        raise unsupported(op, f"a rank-{len(t.shape)} tensor; TFLite-Micro takes "
                          f"{' or '.join(str(r) for r in ranks)}-D (NHWC) here")
    s = t.shape
    return (s[0], s[1], s[2], s[3]) if len(s) == 4 else (s[0], s[1], 1, s[2])


def plan_depth(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    bs = op.attrs.block_size if isinstance(op.attrs, BlockAttrs) else 0
    if bs < 1:
        raise unsupported(op, f"block size {bs}")
    b, h, w, c = _nhwc(op, x)
    if op.type == OpType.SPACE_TO_DEPTH:
        if h % bs or w % bs:
            raise unsupported(op, f"height {h} and width {w} are not multiples of block {bs}")
        oh, ow = h // bs, w // bs
        check_shape(op, y, (b, oh, ow, c * bs * bs))
        # output [b, oh, ow, bh, bw, c] = input [b, oh*bs + bh, ow*bs + bw, c]
        loops = (Loop(b, h * w * c, oh * ow * bs * bs * c), Loop(oh, bs * w * c, ow * bs * bs * c),
                 Loop(ow, bs * c, bs * bs * c), Loop(bs, w * c, bs * c), Loop(bs, c, c))
        return [Move(loops, run=c)]
    if c % (bs * bs):
        raise unsupported(op, f"depth {c} is not a multiple of block {bs} squared")
    oc = c // (bs * bs)
    check_shape(op, y, (b, h * bs, w * bs, oc))
    # output [b, h, bh, w, bw, oc] = input [b, h, w, (bh*bs + bw)*oc + oc]
    ow = w * bs
    loops = (Loop(b, h * w * c, h * bs * ow * oc), Loop(h, w * c, bs * ow * oc),
             Loop(bs, bs * oc, ow * oc), Loop(w, c, bs * oc), Loop(bs, oc, oc))
    return [Move(loops, run=oc)]


def _block_args(op: Op, ins, rank: int):
    block = const_ints(op, ins[1] if len(ins) > 1 else None, "block_shape")
    table = const_ints(op, ins[2] if len(ins) > 2 else None,
                       "crops" if op.type == OpType.BATCH_TO_SPACE_ND else "paddings")
    spatial = rank - 2
    if len(block) != spatial or len(table) != 2 * spatial:
        raise unsupported(op, f"block_shape {block} and {table} for a rank-{rank} input")
    if any(v < 1 for v in block) or any(v < 0 for v in table):
        raise unsupported(op, f"block_shape {block} and {table} must be positive / non-negative")
    if spatial == 1:
        block, table = block + [1], table + [0, 0]
    return block, table


def plan_batch(op: Op, ins, outs):
    x, y = ins[0], outs[0]
    _nhwc(op, x, (3, 4))
    _nhwc(op, y, (3, 4))
    (bh, bw), (t0, t1, l0, l1) = _block_args(op, ins, len(x.shape))
    b, h, w, c = _nhwc(op, x, (3, 4))
    if op.type == OpType.SPACE_TO_BATCH_ND:
        return _space_to_batch(op, x, y, b, h, w, c, bh, bw, t0, t1, l0, l1)
    if b % (bh * bw):
        raise unsupported(op, f"batch {b} is not a multiple of the block {bh}x{bw}")
    ob, oh, ow = b // (bh * bw), h * bh - t0 - t1, w * bw - l0 - l1
    if oh <= 0 or ow <= 0:
        raise unsupported(op, f"crops {[t0, t1, l0, l1]} leave nothing of {h * bh}x{w * bw}")
    want = (ob, oh, ow, c) if len(y.shape) == 4 else (ob, oh, c)
    check_shape(op, y, want)
    # output row r comes from input row (r + t0) // bh of input batch ((r + t0) % bh * bw + ...)
    hwc = h * w * c
    rows = tuple(((r + t0) % bh) * bw * ob * hwc + ((r + t0) // bh) * w * c for r in range(oh))
    cols = tuple(((q + l0) % bw) * ob * hwc + ((q + l0) // bw) * c for q in range(ow))
    loops = (Loop(ob, hwc, oh * ow * c), Loop(oh, rows, ow * c), Loop(ow, cols, c))
    return [Move(loops, run=c)]


def _space_to_batch(op, x, y, b, h, w, c, bh, bw, t0, t1, l0, l1):
    ph, pw = h + t0 + t1, w + l0 + l1
    if ph % bh or pw % bw:
        raise unsupported(op, f"padded size {ph}x{pw} is not a multiple of the block {bh}x{bw}")
    oh, ow = ph // bh, pw // bw
    want = (b * bh * bw, oh, ow, c) if len(y.shape) == 4 else (b * bh * bw, oh, c)
    check_shape(op, y, want)
    plan, covered = [], 0
    for sh in range(bh):
        r0 = next((r for r in range(oh) if r * bh + sh >= t0), oh)
        r1 = max((r + 1 for r in range(oh) if r * bh + sh - t0 < h), default=0)
        for sw in range(bw):
            q0 = next((q for q in range(ow) if q * bw + sw >= l0), ow)
            q1 = max((q + 1 for q in range(ow) if q * bw + sw - l0 < w), default=0)
            if r1 <= r0 or q1 <= q0:
                continue
            ob0 = (sh * bw + sw) * b
            loops = (Loop(b, h * w * c, oh * ow * c), Loop(r1 - r0, bh * w * c, ow * c),
                     Loop(q1 - q0, bw * c, c))
            src = (r0 * bh + sh - t0) * w * c + (q0 * bw + sw - l0) * c
            plan.append(Move(loops, run=c, src=src, dst=((ob0 * oh + r0) * ow + q0) * c))
            covered += b * (r1 - r0) * (q1 - q0) * c
    if covered < y.size:
        plan.insert(0, Fill(0, 0))
    return plan


_BLOCK = "block size any, NHWC"
SUPPORT = {
    OpType.SPACE_TO_DEPTH: OpSupport(DTYPES, _BLOCK, fold=folder(plan_depth), inputs=(act(),)),
    OpType.DEPTH_TO_SPACE: OpSupport(DTYPES, _BLOCK, fold=folder(plan_depth), inputs=(act(),)),
    OpType.SPACE_TO_BATCH_ND: OpSupport(DTYPES, "3-D or 4-D, any block and padding (pads with 0 "
                                        "as TFLite-Micro does)", fold=folder(plan_batch),
                                        inputs=(act(), index("block_shape"), index("paddings"))),
    OpType.BATCH_TO_SPACE_ND: OpSupport(DTYPES, "3-D or 4-D, any block and crops",
                                        fold=folder(plan_batch),
                                        inputs=(act(), index("block_shape"), index("crops"))),
}


def lower(op: Op, graph: Graph, opts: LowerOptions):
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    x = need_data(op, ins[0], "input", DTYPES)
    same_type(op, x, outs[0])
    fn = plan_depth if op.type in (OpType.SPACE_TO_DEPTH, OpType.DEPTH_TO_SPACE) else plan_batch
    return lowered(op, graph, fn(op, ins, outs))
