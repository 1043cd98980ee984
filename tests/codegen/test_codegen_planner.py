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
