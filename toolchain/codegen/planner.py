"""The arena planner: tensor lifetimes from the schedule, best-fit offsets into one arena.

Every intermediate tensor lives from the step that writes it to the last step that reads it.
Buffers are placed largest first; each goes into the smallest gap (among buffers whose
lifetimes overlap it) that fits, else on top of them. Ops that allow it (RESHAPE, SQUEEZE)
make their output an alias of their input: one buffer, lifetime the union of both. The plan
reports the arena size and the liveness lower bound (max over steps of the live bytes), so
the quality of the placement is visible (their ratio is 1.0 when the placement is optimal).

Example:
    plan = plan_arena([Buffer(0, 100, 0, 1), Buffer(1, 50, 1, 2)])
    plan.offsets, plan.arena_size, plan.lower_bound
"""

from __future__ import annotations

from dataclasses import dataclass, field

from toolchain.codegen.graph import Graph

ALIGN = 16


@dataclass(frozen=True)
class Buffer:
    """One arena buffer: an id, its size in bytes and the first/last schedule step using it."""

    key: int
    size: int
    first: int
    last: int


@dataclass
class Plan:
    offsets: dict[int, int]
    arena_size: int
    lower_bound: int
    buffers: list[Buffer] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.arena_size / self.lower_bound if self.lower_bound else 1.0


def _align(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def plan_arena(buffers: list[Buffer], align: int = ALIGN) -> Plan:
    """Place `buffers` in one arena; every offset is a multiple of `align`.

    Args:
        buffers: the buffers with their lifetimes (steps inclusive).
        align: offset and size alignment in bytes.

    Returns:
        A `Plan` with the offset of each buffer key, the arena size (aligned) and the
        liveness lower bound (aligned sizes summed over the busiest step).
    """
    order = sorted(buffers, key=lambda b: (-_align(b.size, align), b.first, b.key))
    placed: list[tuple[int, int, Buffer]] = []  # (offset, aligned size, buffer)
    offsets: dict[int, int] = {}
    for buf in order:
        size = _align(buf.size, align)
        live = sorted((off, sz) for off, sz, other in placed
                      if other.first <= buf.last and buf.first <= other.last)
        best: tuple[int, int] | None = None  # (gap size, offset)
        cursor = 0
        for off, sz in live:
            gap = off - cursor
            if gap >= size and (best is None or gap < best[0]):
                best = (gap, cursor)
            cursor = max(cursor, off + sz)
        offset = best[1] if best is not None else cursor
        offsets[buf.key] = offset
        placed.append((offset, size, buf))
    arena = max((off + sz for off, sz, _ in placed), default=0)
    steps = {s for b in buffers for s in (b.first, b.last)}
    lower = max((sum(_align(b.size, align) for b in buffers if b.first <= s <= b.last)
                 for s in steps), default=0)
    return Plan(offsets, arena, lower, list(buffers))


def graph_buffers(
    graph: Graph, aliases: dict[int, int], in_place: dict[int, list[int]] | None = None
) -> tuple[list[Buffer], dict[int, int]]:
    """Buffers of the graph's intermediate tensors and the tensor → buffer key map.

    Args:
        graph: the scheduled graph; its input and output tensors live outside the arena
            (the caller's `in` and `out`), constants live in the weights blob.
        aliases: output tensor → input tensor it always shares storage with (RESHAPE...).
        in_place: output tensor → input tensors it may overwrite (elementwise ops); the first
            one whose storage nobody reads after this step is taken.

    Returns:
        (buffers keyed by their root tensor index, tensor index → buffer key).
    """
    external = set(graph.inputs) | set(graph.outputs)
    root: dict[int, int] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def key_of(t: int) -> int:
        while t in root and root[t] != t:
            t = root[t]
        return t

    last_read: dict[int, int] = {}
    for step, op in enumerate(graph.ops):
        for t in op.inputs:
            last_read[t] = step
    members: dict[int, set[int]] = {}

    def dies_at(t: int, step: int) -> bool:
        """No tensor sharing t's storage is read after `step`."""
        return all(last_read.get(m, -1) <= step for m in members.get(key_of(t), {t}))

    for step, op in enumerate(graph.ops):
        for t in op.outputs:
            if t in external or graph.tensors[t].is_const:
                continue
            src = aliases.get(t)
            if src is None:
                src = next((i for i in (in_place or {}).get(t, []) if i in root and dies_at(i, step)), None)
            if src is not None and src not in external and not graph.tensors[src].is_const:
                root[t] = key_of(src)
            else:
                root[t] = t
            k = key_of(t)
            members.setdefault(k, {k}).add(t)
            first.setdefault(k, step)
            last[k] = max(last.get(k, step), step)
        for t in op.inputs:
            if t in root:
                k = key_of(t)
                last[k] = max(last.get(k, step), step)
    sizes: dict[int, int] = {}
    for t in root:
        k = key_of(t)
        sizes[k] = max(sizes.get(k, 0), graph.tensors[t].nbytes)
    buffers = [Buffer(k, sizes[k], first[k], last[k]) for k in sorted(sizes)]
    return buffers, {t: key_of(t) for t in root}
