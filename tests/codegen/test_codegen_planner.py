"""Arena planner: exact offsets and peak on hand graphs."""

from __future__ import annotations

from toolchain.codegen.planner import Buffer, plan_arena


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


def _elementwise_chain(last_op: str):
    """in → RELU → t1 → LOGISTIC → t2 → (RELU6(t2) | ADD(t1, t2)) → out, 1x4x4x8 int8."""
    from toolchain.codegen.emit import compile_graph
    from toolchain.codegen.tflite_writer import TensorSpec as T, build_model

    shape = (1, 4, 4, 8)
    tensors = [T(shape, "int8", 0.05, 0), T(shape, "int8", 0.05, -128),
               T(shape, "int8", 1 / 256, -128), T(shape, "int8", 0.05, -128)]
    ops = [("RELU", [0], [1], {}), ("LOGISTIC", [1], [2], {})]
    ops.append(("RELU6", [2], [3], {}) if last_op == "RELU6" else ("ADD", [1, 2], [3], {}))
    return compile_graph(build_model(tensors, ops, inputs=[0], outputs=[3]))


def test_elementwise_output_overwrites_an_input_that_dies():
    comp = _elementwise_chain("RELU6")
    assert comp.ctx.offsets[1] == comp.ctx.offsets[2] == 0  # LOGISTIC runs in place
    assert comp.plan.arena_size == comp.plan.lower_bound == 128


def test_no_in_place_when_the_input_is_read_later():
    comp = _elementwise_chain("ADD")  # t1 is read again by ADD
    assert comp.ctx.offsets[1] != comp.ctx.offsets[2]
    assert comp.plan.arena_size == comp.plan.lower_bound == 256


def test_in_place_chains_stay_bit_exact(tmp_path):
    from codegen_harness import Case, check_cases
    from toolchain.codegen.tflite_writer import TensorSpec as T, build_model

    shape = (1, 4, 4, 8)
    tensors = [T(shape, "int8", 0.05, 0), T(shape, "int8", 0.05, -128),
               T(shape, "int8", 1 / 256, -128), T(shape, "int8", 0.05, -128)]
    cases = []
    for last in (("RELU6", [2], [3], {}), ("ADD", [1, 2], [3], {})):
        ops = [("RELU", [0], [1], {}), ("LOGISTIC", [1], [2], {}), last]
        cases.append(Case(build_model(tensors, ops, inputs=[0], outputs=[3]), label=last[0]))
    check_cases(tmp_path, cases, n=4)
