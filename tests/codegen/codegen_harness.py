"""Test harness of the code generator: build standalone executables from generated C and
compare their bytes with the oracle's.

Several networks go into ONE executable (each generated under its own prefix, kernels compiled
once) to keep the number of compiles, and so the suite's time, down. The executable reads N
inputs per network from a file and writes N outputs; the arena is filled with a junk pattern
before every run so a read of an unwritten byte shows up as a mismatch.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.codegen import generate_network
from toolchain.codegen.emit import KERNELS_DIR
from toolchain.oracle import Oracle

HOST_FLAGS = [
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffp-contract=off",
    "-O1",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
]
ARM_FLAGS = [
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffp-contract=off",
    "-O2",
    "-mcpu=cortex-m55",
    "-mthumb",
    "-mfloat-abi=hard",
]


@dataclass
class Case:
    """One network to check: its model bytes and inputs (N, *input_shape[1:])."""

    model: bytes
    inputs: np.ndarray | None = None
    label: str = ""


def random_inputs(oracle: Oracle, n: int, rng: np.random.Generator) -> np.ndarray:
    shape = (n, *oracle.input_shape[1:])
    dt = oracle.input_dtype
    if dt == np.float32:
        return rng.normal(0, 3, shape).astype(np.float32)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max + 1, shape).astype(dt)


def _main_c(names: list[str]) -> str:
    incs = "".join(f'#include "{n}_network.h"\n' for n in names)
    table = ",\n".join(
        f'    {{"{n}", {n}_network_run, {n.upper()}_INPUT_SIZE, {n.upper()}_OUTPUT_SIZE, '
        f"{n.upper()}_ARENA_SIZE}}"
        for n in names
    )
    return f"""#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
{incs}
typedef struct {{ const char *name; int (*run)(const void *, void *, uint8_t *);
                 size_t in_size, out_size, arena_size; }} net_t;
static const net_t nets[] = {{
{table}
}};

int main(int argc, char **argv)
{{
    size_t k;
    if (argc != 2) {{ return 2; }}
    for (k = 0; k < sizeof(nets) / sizeof(nets[0]); ++k) {{
        char path[4096];
        FILE *f;
        long size;
        size_t n, i;
        uint8_t *in, *out, *arena;
        snprintf(path, sizeof path, "%s/%s.in", argv[1], nets[k].name);
        f = fopen(path, "rb");
        if (!f) {{ return 3; }}
        fseek(f, 0, SEEK_END); size = ftell(f); fseek(f, 0, SEEK_SET);
        n = (size_t)size / nets[k].in_size;
        in = malloc((size_t)size + 1);
        out = malloc(n * nets[k].out_size + 1);
        arena = malloc(nets[k].arena_size + 16);
        if (!in || !out || !arena || fread(in, 1, (size_t)size, f) != (size_t)size) {{ return 4; }}
        fclose(f);
        for (i = 0; i < n; ++i) {{
            memset(arena, 0xA5, nets[k].arena_size);
            uint8_t *dst = out + i * nets[k].out_size;
            if (nets[k].run(in + i * nets[k].in_size, dst, arena) != 0) {{ return 5; }}
        }}
        snprintf(path, sizeof path, "%s/%s.out", argv[1], nets[k].name);
        f = fopen(path, "wb");
        if (!f || fwrite(out, 1, n * nets[k].out_size, f) != n * nets[k].out_size) {{ return 6; }}
        fclose(f);
        free(in); free(out); free(arena);
    }}
    return 0;
}}
"""


def build_executable(
    work: Path,
    models: list[bytes],
    gcc: str = "gcc",
    flags: list[str] | None = None,
    compile_only: bool = False,
) -> tuple[Path, list]:
    """Generate every model under prefix n<k> and link them with the kernels into one program."""
    work.mkdir(parents=True, exist_ok=True)
    names, infos, sources, incs = [], [], [], []
    for k, model in enumerate(models):
        name = f"n{k}"
        d = work / name
        (work / f"{name}.tflite").write_bytes(model)
        info = generate_network(work / f"{name}.tflite", d, name=name, command="pytest")
        names.append(name)
        infos.append(info)
        sources += [d / f"{name}_network.c", d / f"{name}_weights.S"]
        incs.append(f"-I{d}")
    kernels = sorted(
        {
            f.name
            for info in infos
            for f in info.files
            if f.parent.name == "kernels" and f.suffix == ".c"
        }
    )
    sources += [KERNELS_DIR / k for k in kernels]
    (work / "main.c").write_text(_main_c(names))
    flags = HOST_FLAGS if flags is None else flags
    exe = work / "net"
    if compile_only:
        objs = []
        for src in sources:
            obj = work / (src.parent.name + "_" + src.name + ".o")
            _run([gcc, *flags, *incs, "-c", str(src), "-o", str(obj)])
            objs.append(obj)
        return work, infos
    _run([gcc, *flags, *incs, str(work / "main.c"), *map(str, sources), "-o", str(exe), "-lm"])
    return exe, infos


def check_plan(comp) -> dict[str, int]:
    """Replay a compiled graph's schedule: at each step, the op's output bytes may meet only its
    own dying input, and only as the planner allows (alias, in place at the same offset, or a
    streaming overlap starting at least S bytes before it); never another live tensor.

    Returns how often each kind of sharing happened: {"alias", "in_place", "overlap"}.
    """
    graph, offsets = comp.graph, comp.ctx.offsets
    first, last = {}, {}
    for step, op in enumerate(graph.ops):
        for t in op.outputs:
            first.setdefault(t, step)
        for t in op.inputs:
            last[t] = step
    kinds = {"alias": 0, "in_place": 0, "overlap": 0}
    for step, em in enumerate(comp.emitters):
        out = em.op.outputs[0]
        if out not in offsets:
            continue
        lo, hi = offsets[out], offsets[out] + graph.tensors[out].nbytes
        assert 0 <= lo and hi <= comp.plan.arena_size, f"step {step}: output outside the arena"
        for t in offsets:
            if t == out or not first[t] <= step <= last.get(t, first[t]):
                continue
            t_lo, t_hi = offsets[t], offsets[t] + graph.tensors[t].nbytes
            if hi <= t_lo or t_hi <= lo:
                continue
            where = f"step {step} {em.op.name}: output {out} meets tensor {t}"
            assert last.get(t) == step and t in em.op.inputs, f"{where}, still live"
            if em.aliases_input():
                kinds["alias"] += 1
            elif t in em.in_place_inputs():
                assert lo == t_lo, f"{where} at another offset"
                kinds["in_place"] += 1
            else:
                s = em.overlap_bytes()
                assert s is not None and lo <= t_lo - s, f"{where}: overlap beyond {s} bytes"
                kinds["overlap"] += 1
    return kinds


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(
            f"command failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr[-6000:]}"
        )


def check_cases(work: Path, cases: list[Case], n: int = 3, seed: int = 0) -> dict[str, object]:
    """Run every case through the C executable and the oracle; assert identical bytes."""
    if shutil.which("gcc") is None:
        raise AssertionError("gcc is needed for the code generator tests")
    rng = np.random.default_rng(seed)
    exe, infos = build_executable(work, [c.model for c in cases])
    data = work / "data"
    data.mkdir(exist_ok=True)
    oracles = []
    for k, case in enumerate(cases):
        oracle = Oracle(case.model)
        xs = case.inputs if case.inputs is not None else random_inputs(oracle, n, rng)
        case.inputs = xs
        (data / f"n{k}.in").write_bytes(np.ascontiguousarray(xs).tobytes())
        oracles.append(oracle)
    proc = subprocess.run([str(exe), str(data)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"executable failed ({proc.returncode}):\n{proc.stderr[-6000:]}"
    failures = []
    for k, (case, oracle) in enumerate(zip(cases, oracles, strict=True)):
        want = oracle.run(case.inputs)
        got = np.frombuffer((data / f"n{k}.out").read_bytes(), want.dtype).reshape(want.shape)
        if want.tobytes() != got.tobytes():
            bad = np.flatnonzero(want.reshape(-1).view(np.uint8) != got.reshape(-1).view(np.uint8))
            diff = np.abs(want.astype(np.float64) - got.astype(np.float64)).max()
            failures.append(
                f"{case.label or k}: {bad.size} bytes differ (max abs diff {diff}), "
                f"first at {bad[:5].tolist()}"
            )
    assert not failures, "C output differs from the oracle:\n" + "\n".join(failures)
    return {"infos": infos}


def fuzz(
    work: Path,
    seconds: float,
    seed: int = 0,
    batch: int = 16,
    save_dir: Path | None = None,
    ops: list[str] | None = None,
) -> dict[str, object]:
    """Differential fuzzing for about `seconds`: random single-op models (toolchain.codegen.fuzz)
    through the generated C and the oracle. Models the oracle itself refuses are skipped;
    models our generator refuses and models whose bytes differ are reported (and saved to
    `save_dir` as .tflite files, the regression cases). `ops` limits the op names drawn."""
    import hashlib
    import time

    from toolchain.codegen.emit import compile_graph
    from toolchain.codegen.fuzz import random_model
    from toolchain.errors import CodegenError

    rng = np.random.default_rng(seed)
    deadline = time.monotonic() + seconds
    report: dict[str, object] = {"cases": 0, "oracle_refused": 0, "refused": [], "failures": []}
    round_no = 0
    while time.monotonic() < deadline:
        cases = []
        while len(cases) < batch:
            label, model = random_model(rng, ops)
            try:
                Oracle(model).run(random_inputs(Oracle(model), 1, rng))
            except Exception:  # the oracle's own prepare refuses it: not a valid model
                report["oracle_refused"] += 1
                continue
            try:
                compile_graph(model)
            except CodegenError as err:
                report["refused"].append(f"{label}: {err}")
                _save(save_dir, label, model)
                continue
            cases.append(Case(model, label=label))
        try:
            check_cases(work / f"round{round_no}", cases, n=2, seed=seed + round_no)
        except AssertionError as err:
            report["failures"].append(str(err)[:4000])
            for case in cases:  # which one: each alone
                try:
                    check_cases(
                        work / f"alone{round_no}_{hashlib.sha1(case.model).hexdigest()[:8]}",
                        [case],
                        n=2,
                    )
                except AssertionError:
                    _save(save_dir, case.label, case.model)
        report["cases"] += len(cases)
        round_no += 1
    return report


def _save(save_dir: Path | None, label: str, model: bytes) -> None:
    import hashlib

    if save_dir is None:
        return
    save_dir.mkdir(parents=True, exist_ok=True)
    name = label.split()[0] + "_" + hashlib.sha1(model).hexdigest()[:12] + ".tflite"
    (save_dir / name).write_bytes(model)
