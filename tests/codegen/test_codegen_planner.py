"""Arena planner: exact offsets and peak on hand graphs and streaming overlaps. Real models:
tests/codegen/test_codegen_families.py replays each zoo family's plan step by step
(`codegen_harness.check_plan`) before checking its bytes."""

from __future__ import annotations

import numpy as np

from toolchain.codegen.planner import Buffer, Plan, graph_buffers, plan_arena, streaming_overlap


def test_chain_reuses_freed_buffers():
    # a(0..1) -> b(1..2) -> c(2..3): a and c never overlap, so c reuses a's slot.
    plan = plan_arena([Buffer(0, 100, 0, 1), Buffer(1, 50, 1, 2), Buffer(2, 100, 2, 3)])
    assert plan.offsets == {0: 0, 2: 0, 1: 112}
    assert plan.arena_size == 112 + 64
    assert plan.lower_bound == 176
    assert plan.ratio == 1.0


def test_best_fit_picks_smallest_gap():
    bufs = [Buffer(0, 64, 0, 4), Buffer(1, 32, 0, 0), Buffer(2, 64, 0, 4), Buffer(3, 16, 2, 2)]
    plan = plan_arena(bufs)
    assert plan.offsets[0] == 0 and plan.offsets[2] == 64
    assert plan.offsets[1] == 128
    assert plan.offsets[3] == 128  # buffer 1 is dead at step 2
    assert plan.arena_size == 160


def _no_live_overlap(plan: Plan) -> bool:
    bufs = plan.buffers
    for i, a in enumerate(bufs):
        for b in bufs[i + 1 :]:
            if a.first <= b.last and b.first <= a.last:
                a0, b0 = plan.offsets[a.key], plan.offsets[b.key]
                if a0 < b0 + b.size and b0 < a0 + a.size:
                    return False
    return True


def test_search_beats_greedy_when_greedy_misses_the_bound():
    # The shape of a ResNet50V2 bottleneck: a long-lived map A, then 16 KiB and 4 KiB buffers
    # handing over. Largest-first best fit puts E beside A and leaves D on top (40 KiB); moving
    # D before E in the order packs it into 36 KiB, the busiest step's load.
    k16, k4 = 16384, 4096
    bufs = [
        Buffer(0, k16, 8, 20),
        Buffer(1, k16, 13, 14),
        Buffer(2, k4, 14, 15),
        Buffer(3, k4, 15, 16),
        Buffer(4, k16, 16, 17),
    ]
    greedy = plan_arena(bufs, search=0)
    assert greedy.offsets == {0: 0, 1: k16, 4: k16, 2: 2 * k16, 3: 2 * k16 + k4}
    assert greedy.arena_size == 40960 and greedy.lower_bound == 36864
    plan = plan_arena(bufs)
    assert plan.arena_size == plan.lower_bound == 36864
    assert _no_live_overlap(plan) and _no_live_overlap(greedy)


def _squares() -> list:
    return [("MUL", [0, 0], [1], {}), ("MUL", [1, 1], [2], {})]


def _elementwise_chain(last_op: str):
    """in → MUL(in, in) → t1 → MUL(t1, t1) → t2 → (MUL(t2, t2) | ADD(t1, t2)) → out, 1x4x4x8
    int8 (squares: elementwise ops with two activation operands, which no table folds)."""
    from toolchain.codegen.emit import compile_graph
    from toolchain.codegen.tflite_writer import TensorSpec as T
    from toolchain.codegen.tflite_writer import build_model

    shape = (1, 4, 4, 8)
    tensors = [
        T(shape, "int8", 0.05, 0),
        T(shape, "int8", 0.05, -128),
        T(shape, "int8", 1 / 256, -128),
        T(shape, "int8", 0.05, -128),
    ]
    ops = _squares()
    ops.append(("MUL", [2, 2], [3], {}) if last_op == "MUL" else ("ADD", [1, 2], [3], {}))
    return compile_graph(build_model(tensors, ops, inputs=[0], outputs=[3]))


def test_elementwise_output_overwrites_an_input_that_dies():
    comp = _elementwise_chain("MUL")
    assert comp.ctx.offsets[1] == comp.ctx.offsets[2] == 0  # the second MUL runs in place
    assert comp.plan.arena_size == comp.plan.lower_bound == 128


def test_no_in_place_when_the_input_is_read_later():
    comp = _elementwise_chain("ADD")  # t1 is read again by ADD
    assert comp.ctx.offsets[1] != comp.ctx.offsets[2]
    assert comp.plan.arena_size == comp.plan.lower_bound == 256


def test_in_place_chains_stay_bit_exact(tmp_path):
    from codegen_harness import Case, check_cases

    from toolchain.codegen.tflite_writer import TensorSpec as T
    from toolchain.codegen.tflite_writer import build_model

    shape = (1, 4, 4, 8)
    tensors = [
        T(shape, "int8", 0.05, 0),
        T(shape, "int8", 0.05, -128),
        T(shape, "int8", 1 / 256, -128),
        T(shape, "int8", 0.05, -128),
    ]
    cases = []
    for last in (("MUL", [2, 2], [3], {}), ("ADD", [1, 2], [3], {})):
        ops = [*_squares(), last]
        cases.append(Case(build_model(tensors, ops, inputs=[0], outputs=[3]), label=last[0]))
    cases.append(Case(_streaming_chain(), label="streaming overlaps"))
    check_cases(tmp_path, cases, n=6)


def test_streaming_overlap_bytes():
    # Stride 2, no top padding, rows of 10 input / 5 output bytes: output row 0 (5 bytes) must
    # end before input row 0 starts; later rows trail far behind.
    assert streaming_overlap(1, 8, 10, 4, 5, 2, 0) == 5
    # Stride 1, SAME 3x3 (pad 1): row oy still needs input row oy - 1, so two rows ahead.
    assert streaming_overlap(1, 6, 10, 6, 10, 1, 1) == 20
    # Two batches: batch 1's rows come after all of batch 0's input.
    assert streaming_overlap(2, 6, 10, 6, 10, 1, 1) == 20
    # An upsampling-like geometry (output rows longer than input rows) needs more.
    assert streaming_overlap(1, 4, 4, 4, 8, 1, 0) == 20


def _streaming_chain() -> bytes:
    """in → CONV 1x1 → t2 → DW 3x3 s1 SAME → t9 → DW 3x3 s2 SAME → t4 → MAX 3x3 s1 SAME → t5
    → AVG 2x2 s2 VALID → out; 9x7 input, 8 channels (rows of 56 bytes, then 32)."""
    from toolchain.codegen.tflite_writer import TensorSpec as T
    from toolchain.codegen.tflite_writer import build_model

    rng = np.random.default_rng(3)
    w1 = rng.integers(-127, 128, (8, 1, 1, 4)).astype(np.int8)
    w2 = rng.integers(-127, 128, (1, 3, 3, 8)).astype(np.int8)
    bias = lambda s: T((8,), "int32", [s] * 8, 0, rng.integers(-300, 300, 8).astype(np.int32))  # noqa: E731
    tensors = [
        T((1, 9, 7, 4), "int8", 0.05, -3),
        T(w1.shape, "int8", [0.01] * 8, 0, w1, 0),
        T((1, 9, 7, 8), "int8", 0.1, 2),
        T(w2.shape, "int8", [0.02] * 8, 0, w2, 3),
        T((1, 5, 4, 8), "int8", 0.2, -1),
        T((1, 5, 4, 8), "int8", 0.2, -1),
        T((1, 2, 2, 8), "int8", 0.2, -1),
        bias(0.0005),
        bias(0.002),
        T((1, 9, 7, 8), "int8", 0.15, 4),
    ]
    s1 = {"padding": 0, "stride_w": 1, "stride_h": 1, "depth_multiplier": 1}
    s2 = {"padding": 0, "stride_w": 2, "stride_h": 2, "depth_multiplier": 1}
    ops = [
        ("CONV_2D", [0, 1, 7], [2], {"padding": 1, "stride_w": 1, "stride_h": 1}),
        ("DEPTHWISE_CONV_2D", [2, 3, 8], [9], s1),
        ("DEPTHWISE_CONV_2D", [9, 3, 8], [4], s2),
        (
            "MAX_POOL_2D",
            [4],
            [5],
            {"padding": 0, "stride_w": 1, "stride_h": 1, "filter_w": 3, "filter_h": 3},
        ),
        (
            "AVERAGE_POOL_2D",
            [5],
            [6],
            {"padding": 1, "stride_w": 2, "stride_h": 2, "filter_w": 2, "filter_h": 2},
        ),
    ]
    return build_model(tensors, ops, inputs=[0], outputs=[6])


def test_row_streaming_ops_write_just_before_their_dying_input():
    from toolchain.codegen.emit import compile_graph

    comp = compile_graph(_streaming_chain())
    # t2 (504 bytes) on top; t9 starts 2 rows (112 bytes) before it, t4 one output row (32)
    # before t9, t5 two rows (64) before t4: one buffer of 208 + 504 bytes.
    assert comp.ctx.offsets == {2: 208, 9: 96, 4: 64, 5: 0}
    assert comp.plan.arena_size == comp.plan.lower_bound == 720
    # Without overlaps each step holds its input and output side by side: 512 + 512.
    buffers, _, _ = graph_buffers(comp.graph, {}, {}, {})
    assert plan_arena(buffers).arena_size == 1024


def test_helium_scratch_lives_in_the_arena_during_its_op_only():
    """Helium targets: each CONV_2D / DEPTHWISE_CONV_2D / long ADD gets its kernel's scratch in
    the arena, disjoint from every tensor live at that op; other targets pass NULL."""
    from toolchain.codegen.emit import compile_graph
    from toolchain.codegen.ops.base import kernel_define

    model = _streaming_chain()  # conv 1x1, depthwise 3x3 s1 and s2, pools
    plain, helium = compile_graph(model), compile_graph(model, helium=True)
    assert not plain.ctx.scratch_offsets
    assert "NULL);" in plain.emitters[0].emit()
    conv = kernel_define("conv_2d", "CONV_2D_SCRATCH_BYTES")
    dw = kernel_define("depthwise_conv_2d", "DEPTHWISE_CONV_2D_SCRATCH_BYTES")
    names = [em.op.name for em in helium.emitters]
    assert sorted(helium.ctx.scratch_offsets) == [
        k for k, n in enumerate(names) if n in ("CONV_2D", "DEPTHWISE_CONV_2D")
    ]
    for k, start in helium.ctx.scratch_offsets.items():
        size = conv if names[k] == "CONV_2D" else dw
        assert f"(void *)(arena + {start})" in helium.emitters[k].emit()
        assert start % 16 == 0 and start + size <= helium.plan.arena_size
        op = helium.graph.ops[k]
        for t in (*op.inputs, *op.outputs):  # the op's own tensors never overlap its scratch
            if t in helium.ctx.offsets:
                lo, hi = (
                    helium.ctx.offsets[t],
                    helium.ctx.offsets[t] + helium.graph.tensors[t].nbytes,
                )
                assert hi <= start or lo >= start + size
    assert plain.plan.arena_size < helium.plan.arena_size <= plain.plan.arena_size + max(conv, dw)
    assert helium.plan.arena_size == helium.plan.lower_bound
