"""Run generated networks on the virtual Cortex-M55 (qemu-m55) in one firmware image.

Several networks (each generated under its own prefix n<k>) are linked with the kernels and the
qemu-m55 board support (startup, linker script, UART, SysTick instruction counter rendered from
firmware_templates, exactly as for a real project) behind a test `main.c` that runs every
network on inputs compiled into the image, prints each output in hex and the instruction count
of each run on the UART, and ends QEMU through semihosting. One compile and one QEMU run check
a whole matrix of layers, so the QEMU share of the suite stays small.

Example:
    elf = build_m55_image(tmp, [model_bytes], [inputs])
    result = run_m55_image(elf)          # result.outputs[0] = (N, output bytes)
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toolchain.boards.project import network_as_dict, render_project
from toolchain.codegen import generate_network

QEMU = "qemu-system-arm"
REFERENCE = "-DREID_REFERENCE_KERNELS"

MAIN_C = r"""/* Test image: every network on its compiled-in inputs; output on the UART. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "kernels/requantize.h"
#include "kernels/mve_s8.h"
{includes}
#include "cases.h"

#define ARENA_SIZE {arena}
static uint8_t arena[ARENA_SIZE] __attribute__((aligned(16)));
static uint8_t out_buf[{out_max}] __attribute__((aligned(16)));

static void put(const char *s) {{ board_uart_write((const uint8_t *)s, strlen(s)); }}

static void put_u64(uint64_t v)
{{
    char buf[24];
    int n = 0;
    do {{ buf[n++] = (char)('0' + v % 10u); v /= 10u; }} while (v);
    while (n) {{ board_uart_write((const uint8_t *)&buf[--n], 1); }}
}}

static void put_hex(const uint8_t *p, size_t n)
{{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {{
        uint8_t two[2] = {{ (uint8_t)digits[p[i] >> 4], (uint8_t)digits[p[i] & 15u] }};
        board_uart_write(two, 2);
    }}
}}

{profile}
static void semihosting_exit(void)
{{
    register uint32_t r0 __asm__("r0") = 0x18u;    /* SYS_EXIT */
    register uint32_t r1 __asm__("r1") = 0x20026u; /* ADP_Stopped_ApplicationExit */
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
}}

#if REID_MVE
/* requantize_x4 against requantize() on pseudo-random and edge lanes. */
static uint32_t rng_state = 0x12345678u;
static uint32_t rng(void)
{{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 17; rng_state ^= rng_state << 5;
    return rng_state;
}}

static void requantize_check(uint32_t rounds)
{{
    static const int32_t edge[] = {{ INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX }};
    uint64_t checked = 0, bad = 0;
    for (uint32_t r = 0; r < rounds; r++) {{
        int32_t x[4], m[4], s[4], got[4];
        for (int j = 0; j < 4; j++) {{
            uint32_t kind = rng() % 8u;
            x[j] = (int32_t)(rng() >> (rng() % 32u)) * ((rng() & 1u) ? 1 : -1);
            if (kind == 0) {{ x[j] = edge[rng() % 6u]; }}
            m[j] = (int32_t)((rng() >> 1) | 0x40000000u); /* QuantizeMultiplier: [2^30, 2^31) */
            s[j] = (int32_t)(rng() % 62u) - 31;
            if (kind == 1) {{ m[j] = INT32_MIN; x[j] = INT32_MIN; s[j] = 0; }}
            if (kind == 2) {{ s[j] = -(int32_t)(rng() % 4u); }} /* small right shifts: many ties */
        }}
        vst1q_s32(got, requantize_x4(vld1q_s32(x), vld1q_s32(m), vld1q_s32(s)));
        for (int j = 0; j < 4; j++) {{
            checked++;
            bad += got[j] != requantize(x[j], m[j], s[j]);
        }}
    }}
    put("RQ "); put_u64(checked); put(" "); put_u64(bad); put("\n");
}}
#endif

int main(void)
{{
    board_init();
    put("START\n");
{runs}
#if REID_MVE
    requantize_check({rq_rounds}u);
#endif
    put("DONE\n");
    semihosting_exit();
    return 0;
}}
"""

RUN_C = """    for (uint32_t i = 0; i < {n}u; i++) {{
        uint64_t t0, t1;
        memset(arena, 0xA5, ARENA_SIZE);
        t0 = board_counter_read();
        int rc = {name}_network_run(in_{name} + i * {in_size}u, out_buf, arena);
        t1 = board_counter_read();
        put("O {k} "); put_u64(i); put(" "); put_u64(t1 - t0); put(" "); put_u64((uint64_t)rc);
        put(" "); put_hex(out_buf, {out_size}u); put("\\n");
    }}
"""


PROFILE_C = r"""
#ifdef {NAME}_PROFILING
static uint64_t {name}_layer_start;
void {name}_profile_begin(int layer) {{ (void)layer; {name}_layer_start = board_counter_read(); }}
void {name}_profile_end(int layer)
{{
    uint64_t t = board_counter_read() - {name}_layer_start;
    put("L {k} "); put_u64((uint64_t)layer); put(" "); put_u64(t); put("\n");
}}
#endif
"""


@dataclass
class M55Result:
    """What one QEMU run printed: per network, outputs (N, bytes) and instruction counts."""

    outputs: list[list[bytes]] = field(default_factory=list)
    counts: list[list[int]] = field(default_factory=list)
    layers: list[list[int]] = field(default_factory=list)  # profile=True: per layer, last run
    requantize_checked: int = 0
    requantize_bad: int = 0
    log: str = ""


def build_m55_image(
    work: Path,
    models: list[bytes],
    inputs: list[np.ndarray],
    extra_cflags: str = "",
    requantize_rounds: int = 0,
    profile: bool = False,
) -> Path:
    """Generate every model as n<k> into `work`, render the qemu-m55 board files, write the
    test main and build; returns the ELF. `inputs[k]` holds N whole input tensors;
    `profile`: the networks also report each layer's instruction count (M55Result.layers)."""
    work.mkdir(parents=True, exist_ok=True)
    infos = []
    for k, model in enumerate(models):
        path = work / f"n{k}.tflite"
        path.write_bytes(model)
        infos.append(generate_network(path, work, name=f"n{k}", command="pytest", helium=True))
    render_project(
        work,
        board="qemu-m55",
        name="n0",
        network=network_as_dict(infos[0]),
        digest=infos[0].model_hash,
        command="pytest",
    )
    for stale in ("protocol.c", "protocol.h"):  # the test main replaces the application
        (work / stale).unlink(missing_ok=True)
    cases, runs = [], []
    for k, (info, xs) in enumerate(zip(infos, inputs, strict=True)):
        data = np.ascontiguousarray(xs).tobytes()
        in_size = int(np.prod(info.input_shape)) * np.dtype(info.input_dtype).itemsize
        out_size = int(np.prod(info.output_shape)) * np.dtype(info.output_dtype).itemsize
        assert len(data) % in_size == 0
        body = ",".join(str(b) for b in data)
        cases.append(
            f"static const uint8_t in_n{k}[{len(data)}] "
            f'__attribute__((aligned(16), section(".reid_weights"))) = {{{body}}};'
        )  # in the weights' region (QSPI on qemu-m55): large inputs would overflow ITCM
        runs.append(
            RUN_C.format(
                n=len(data) // in_size, name=f"n{k}", k=k, in_size=in_size, out_size=out_size
            )
        )
    (work / "cases.h").write_text("#include <stdint.h>\n" + "\n".join(cases) + "\n")
    includes = "".join(f'#include "n{k}_network.h"\n' for k in range(len(models)))
    out_max = max(int(np.prod(i.output_shape)) * np.dtype(i.output_dtype).itemsize for i in infos)
    arena = max(max(i.arena_size for i in infos), 16)
    profile_c = ""
    if profile:
        profile_c = "".join(
            PROFILE_C.format(NAME=f"N{k}", name=f"n{k}", k=k) for k in range(len(models))
        )
        extra_cflags += "".join(f" -DN{k}_PROFILING" for k in range(len(models)))
    (work / "main.c").write_text(
        MAIN_C.format(
            profile=profile_c,
            includes=includes,
            arena=arena,
            out_max=out_max,
            runs="".join(runs),
            rq_rounds=requantize_rounds,
        )
    )
    proc = subprocess.run(
        ["make", "-C", str(work), "-s", f"EXTRA_CFLAGS={extra_cflags}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"m55 image build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )
    return work / "firmware.elf"


def fuzz_models(ops: list[str], n: int, seed: int) -> list[tuple[str, bytes]]:
    """`n` random single-op models of `ops` from the code generator's fuzzer (fixed seed) that
    the oracle accepts, labelled "fuzz ..."."""
    from toolchain.codegen.fuzz import random_model
    from toolchain.oracle import Oracle

    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        label, model = random_model(rng, ops)
        try:
            Oracle(model)
        except Exception:  # the oracle's own prepare refuses it: not a valid model
            continue
        out.append(("fuzz " + label, model))
    return out


def oracle_mismatches(
    labels: list[str], models: list[bytes], inputs: list[np.ndarray], outputs: list[list[bytes]]
) -> list[str]:
    """One line per (network, input) whose board output differs from the oracle's bytes."""
    from toolchain.oracle import Oracle

    failures = []
    for label, model, xs, got in zip(labels, models, inputs, outputs, strict=True):
        oracle = Oracle(model)
        if len(got) != len(xs):
            failures.append(f"{label}: {len(got)} outputs for {len(xs)} inputs")
            continue
        for i, out in enumerate(got):
            ref = oracle.invoke(xs[i]).tobytes()
            if out != ref:
                bad = np.flatnonzero(np.frombuffer(out, np.uint8) != np.frombuffer(ref, np.uint8))
                failures.append(
                    f"{label}, input {i}: {bad.size} of {len(ref)} bytes differ, "
                    f"first at {bad[:5].tolist()}"
                )
    return failures


def _start_qemu(elf: Path, *options: str, stdout: int = subprocess.PIPE) -> subprocess.Popen:
    """QEMU mps3-an547 running `elf` (no monitor, semihosting exit) with extra `options`, in its
    own process group (killed whole on a timeout); stderr piped, text mode."""
    cmd = [
        QEMU,
        "-M",
        "mps3-an547",
        "-nographic",
        "-monitor",
        "none",
        "-semihosting-config",
        "enable=on,target=native",
        *options,
        "-kernel",
        str(elf),
    ]
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_m55_image(elf: Path, n_models: int, timeout: float = 300.0) -> M55Result:
    """Run the image on QEMU mps3-an547 (`-icount shift=0`, semihosting exit) and parse it."""
    proc = _start_qemu(elf, "-icount", "shift=0", "-serial", "stdio")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(
            f"QEMU did not finish within {timeout} s:\n{out[-2000:]}\n{err[-2000:]}"
        ) from None
    if "DONE" not in out:
        raise AssertionError(
            f"the image did not finish (exit {proc.returncode}):\n{out[-2000:]}\n{err[-2000:]}"
        )
    result = M55Result(
        outputs=[[] for _ in range(n_models)],
        counts=[[] for _ in range(n_models)],
        layers=[[] for _ in range(n_models)],
        log=out,
    )
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == ["O"]:
            k, rc = int(parts[1]), int(parts[4])
            if rc != 0:
                raise AssertionError(f"network n{k} returned {rc}")
            result.counts[k].append(int(parts[3]))
            result.outputs[k].append(bytes.fromhex(parts[5]) if len(parts) > 5 else b"")
        elif parts[:1] == ["L"]:
            k, layer = int(parts[1]), int(parts[2])
            if layer == 0:
                result.layers[k] = []
            result.layers[k].append(int(parts[3]))
        elif parts[:1] == ["L"]:
            k, layer = int(parts[1]), int(parts[2])
            if layer == 0:  # keep the last run's layers
                result.layers[k] = []
            result.layers[k].append(int(parts[3]))
        elif parts[:1] == ["RQ"]:
            result.requantize_checked, result.requantize_bad = int(parts[1]), int(parts[2])
    return result


def objdump(elf: Path, function: str) -> str:
    """Disassembly of one function with the MVE mnemonics (objdump needs -m armv8.1-m.main)."""
    proc = subprocess.run(
        [
            "arm-none-eabi-objdump",
            "-d",
            "-m",
            "armv8.1-m.main",
            f"--disassemble={function}",
            str(elf),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout


def mnemonics(elf: Path, *functions: str) -> set[str]:
    """The instruction mnemonics of these functions of the ELF (MVE ones included)."""
    return {
        line.split("\t")[2].strip()
        for function in functions
        for line in objdump(elf, function).splitlines()
        if line.count("\t") >= 2
    }


def _mnemonics_by_address(elf: Path) -> dict[int, str]:
    proc = subprocess.run(
        ["arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", str(elf)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    table = {}
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].strip().endswith(":"):
            try:
                table[int(parts[0].strip()[:-1], 16)] = parts[2].strip()
            except ValueError:
                continue
    return table


def is_mve(mnemonic: str) -> bool:
    """Helium (and FP) instructions all begin with v; VPUSH/VPOP only save registers."""
    return mnemonic.startswith("v") and mnemonic not in ("vpush", "vpop")


def mve_instruction_share(
    elf: Path, n_models: int, timeout: float = 1800.0
) -> list[tuple[int, int]]:
    """(MVE instructions, all instructions) executed by each network's first run, counted from
    QEMU's translation-block trace (`-d in_asm,exec,nochain`: every executed block is logged,
    its instructions classified from the ELF's disassembly). Build without profiling."""
    names = {f"n{k}_network_run": k for k in range(n_models)}
    mnemonic = _mnemonics_by_address(elf)
    proc = _start_qemu(
        elf, "-serial", "null", "-d", "in_asm,exec,nochain", stdout=subprocess.DEVNULL
    )
    blocks: dict[int, tuple[int, int]] = {}
    result = [[0, 0] for _ in range(n_models)]
    done = set()
    block: list[int] | None = None
    active = None
    try:
        for line in proc.stderr:
            if line.startswith("IN:"):
                block = []
            elif block is not None and line.startswith("0x"):
                block.append(int(line.split(":", 1)[0], 16))
            elif block is not None:
                if block:  # QEMU's disassembler splits MVE encodings: keep objdump's starts
                    starts = [a for a in block if a in mnemonic]
                    blocks[block[0]] = (sum(is_mve(mnemonic[a]) for a in starts), len(starts))
                block = None
            if line.startswith("Trace"):
                pc = int(line.split("[", 1)[1].split("/")[1], 16)
                symbol = line.rsplit("]", 1)[1].strip()
                if active is None and symbol in names and names[symbol] not in done:
                    active = names[symbol]
                elif active is not None and symbol == "board_counter_read":
                    done.add(active)
                    active = None
                if active is not None:
                    mve, n = blocks.get(pc, (0, 0))
                    result[active][0] += mve
                    result[active][1] += n
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return [(m, n) for m, n in result]
