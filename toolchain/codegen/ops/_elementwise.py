"""Shared prepare steps of the binary elementwise ops (ADD, SUB, MUL): broadcasting.

The C kernels walk a 4-D output; each input gets per-dimension element strides with 0 where
it is broadcast, following numpy/TFLite broadcasting of right-aligned shapes. Neighbouring
dimensions that both inputs walk as one are merged (and size-1 dimensions dropped), so the
innermost dimension is as long as possible: same-shape inputs become one row, a per-channel
gate [1,1,1,C] against [1,H,W,C] becomes H*W rows of C (the Helium rows of
mve_elementwise.h run on those).
"""

from __future__ import annotations

from toolchain.codegen.ops.base import INT8, OpEmitter


def broadcast_shape(em: OpEmitter) -> dict[str, list[int]]:
    """`broadcast_shape_t` fields for inputs 0 and 1 against the output."""
    a, b, y = em.inputs[0], em.inputs[1], em.outputs[0]
    for t in (a, b, y):
        if len(t.shape) > 4:
            raise em.fail(f"{t.describe()}: expected rank <= 4, received rank {len(t.shape)}")
    dims = [1] * (4 - len(y.shape)) + list(y.shape)

    def strides(t) -> list[int]:
        shape = [1] * (4 - len(t.shape)) + list(t.shape)
        out = [0] * 4
        step = 1
        for k in range(3, -1, -1):
            if shape[k] == dims[k]:
                out[k] = step if shape[k] > 1 else 0
            elif shape[k] != 1:
                raise em.fail(f"{t.describe()} does not broadcast to the output shape {y.shape}")
            step *= shape[k]
        return out

    return coalesce(dims, strides(a), strides(b))


def coalesce(dims: list[int], stride1: list[int], stride2: list[int]) -> dict[str, list[int]]:
    """The same walk with dimension k merged into k + 1 when, in both inputs,
    stride[k] == stride[k + 1] * dims[k + 1]; size-1 dimensions dropped; padded to rank 4."""
    merged: list[list[int]] = []  # innermost first: [dim, stride1, stride2]
    for d, s1, s2 in reversed(list(zip(dims, stride1, stride2, strict=True))):
        if d == 1:
            continue
        if merged and s1 == merged[-1][1] * merged[-1][0] and s2 == merged[-1][2] * merged[-1][0]:
            merged[-1][0] *= d
        else:
            merged.append([d, s1, s2])
    merged += [[1, 0, 0]] * (4 - len(merged))
    merged.reverse()
    return {
        "dims": [m[0] for m in merged],
        "stride1": [m[1] for m in merged],
        "stride2": [m[2] for m in merged],
    }


def check_binary(em: OpEmitter) -> None:
    em.need_inputs(2)
    for t in (em.inputs[0], em.inputs[1], em.outputs[0]):
        em.need_dtype(t, INT8)
        em.need_per_tensor(t)


def emit_binary(em: OpEmitter, struct: str, func: str, scratch: bool = False) -> str:
    """The kernel call; `scratch`: the kernel takes the op's arena scratch as last argument."""
    c = em.ctx
    shape = ", ".join(f".{k} = {{{', '.join(map(str, v))}}}" for k, v in em.shape.items())
    extra = f", {c.scratch(em.op)}" if scratch else ""
    return f"static const broadcast_shape_t s = {{{shape}}};\n" + em.call(
        struct,
        em.params,
        f"{func}(&p, &s, {c.ptr(em.op.inputs[0], True)}, {c.ptr(em.op.inputs[1], True)}, "
        f"{c.ptr(em.op.outputs[0])}{extra});",
    )
