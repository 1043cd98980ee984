"""A stand-in for ST's `stedgeai` installation, to test reidtool's wiring around it.

ST Edge AI Core is a proprietary download that cannot be installed on this machine, so these
tests use a stand-in: an executable `stedgeai` script in ST's install layout
(`<root>/Utilities/linux/stedgeai`, `<root>/Middlewares/ST/AI/{Inc,Lib/GCC/ARMCortexM55}`) that
records its argv (one JSON list per line in `<root>/argv.log`) and writes what `stedgeai
generate` writes, in the shapes ST documents: `<name>_c_info.json` (schema 2.0),
`<name>_generate_report.txt`, and a C network with the st-ai API (`stai_<name>_init`,
`_set_activations`, `_get_inputs`, `_set_outputs`, `_run`, the `STAI_<NAME>_*` macros),
plus `stai_<name>.h/.c` and `<name>_atonbuf.xSPI2.raw` for `--st-neural-art`. Its "network"
is not the model: it computes a checkable stand-in function (`standin_output`) from the input
it finds in the activations buffer, so a wrong buffer, size or copy in reidtool's adapter
shows up as wrong bytes. The runtime library is a real Cortex-M55 archive (`stai_runtime_init`)
built with arm-none-eabi-gcc. What it proves and what it cannot (ST's real code) is stated in
docs/st-tools.md.
"""

# ruff: noqa: E501  (the C and script texts below keep their natural line lengths)
from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np

VERSION = "3.0.0"

STAI_H = """/* Stand-in for ST's stai.h (tests only): the types and macros the st-ai API uses. */
#ifndef STAI_H
#define STAI_H
#include <stdint.h>
typedef int32_t stai_return_code;
typedef uint8_t *stai_ptr;
typedef int32_t stai_size;
typedef uint8_t stai_network;
typedef enum { STAI_MODE_SYNC = 0, STAI_MODE_ASYNC = 1 } stai_run_mode;
#define STAI_SUCCESS 0
#define STAI_ERROR_GENERIC 1
#define STAI_FLAG_INPUTS (1u << 0)
#define STAI_FLAG_OUTPUTS (1u << 1)
#define STAI_FLAG_ACTIVATIONS (1u << 2)
#define STAI_ALIGNED(x) __attribute__((aligned(x)))
stai_return_code stai_runtime_init(void);
#endif
"""

RUNTIME_C = """/* Stand-in for ST's runtime library (tests only). */
#include "stai.h"
int stai_standin_runtime_ready;
stai_return_code stai_runtime_init(void) { stai_standin_runtime_ready = 1; return STAI_SUCCESS; }
"""

NETWORK_H = """/* Stand-in for a stedgeai-generated {header} (tests only). */
#ifndef STANDIN_{NAME}_H
#define STANDIN_{NAME}_H
#include "stai.h"
#define STAI_{NAME}_CONTEXT_SIZE 64
#define STAI_{NAME}_FLAGS (STAI_FLAG_INPUTS)
#define STAI_{NAME}_IN_NUM 1
#define STAI_{NAME}_OUT_NUM 1
#define STAI_{NAME}_ACTIVATIONS_NUM 1
#define STAI_{NAME}_IN_1_SIZE_BYTES {in_size}
#define STAI_{NAME}_OUT_1_SIZE_BYTES {out_size}
#define STAI_{NAME}_ACTIVATION_1_SIZE_BYTES {act_size}
#define STAI_{NAME}_ACTIVATION_1_ALIGNMENT 32
stai_return_code stai_{name}_init(stai_network *network);
stai_return_code stai_{name}_set_activations(stai_network *network, const stai_ptr *activations, const stai_size n);
stai_return_code stai_{name}_get_inputs(stai_network *network, stai_ptr *inputs, stai_size *n);
stai_return_code stai_{name}_set_inputs(stai_network *network, const stai_ptr *inputs, const stai_size n);
stai_return_code stai_{name}_set_outputs(stai_network *network, const stai_ptr *outputs, const stai_size n);
stai_return_code stai_{name}_run(stai_network *network, const stai_run_mode mode);
#endif
"""

NETWORK_C = """/* Stand-in for a stedgeai-generated network (tests only): out[j] = (int8)(sum_i in[i] *
 * ((i + j) % 5 + 1) + 7 j), reading the input from where get_inputs placed it (the activations)
 * and refusing to run before the runtime, activations and output are set. */
#include <stddef.h>
#include "{header}"
extern int stai_standin_runtime_ready;
typedef struct {{ uint8_t *act; uint8_t *out; uint32_t magic; }} standin_ctx;
_Static_assert(sizeof(standin_ctx) <= STAI_{NAME}_CONTEXT_SIZE, "context fits");
stai_return_code stai_{name}_init(stai_network *network)
{{
    standin_ctx *c = (standin_ctx *)(void *)network;
    if (!stai_standin_runtime_ready) return STAI_ERROR_GENERIC;
    c->act = NULL; c->out = NULL; c->magic = 0x57A1u;
    return STAI_SUCCESS;
}}
stai_return_code stai_{name}_set_activations(stai_network *network, const stai_ptr *activations, const stai_size n)
{{
    standin_ctx *c = (standin_ctx *)(void *)network;
    if (c->magic != 0x57A1u || n != 1 || ((uintptr_t)activations[0] % 32u) != 0u) return STAI_ERROR_GENERIC;
    c->act = activations[0];
    return STAI_SUCCESS;
}}
stai_return_code stai_{name}_get_inputs(stai_network *network, stai_ptr *inputs, stai_size *n)
{{
    standin_ctx *c = (standin_ctx *)(void *)network;
    if (c->act == NULL || *n < 1) return STAI_ERROR_GENERIC;
    inputs[0] = c->act + 32; *n = 1;
    return STAI_SUCCESS;
}}
stai_return_code stai_{name}_set_inputs(stai_network *network, const stai_ptr *inputs, const stai_size n)
{{
    (void)network; (void)inputs; (void)n;
    return STAI_ERROR_GENERIC; /* inputs are allocated in the activations */
}}
stai_return_code stai_{name}_set_outputs(stai_network *network, const stai_ptr *outputs, const stai_size n)
{{
    standin_ctx *c = (standin_ctx *)(void *)network;
    if (n != 1 || outputs[0] == NULL) return STAI_ERROR_GENERIC;
    c->out = outputs[0];
    return STAI_SUCCESS;
}}
stai_return_code stai_{name}_run(stai_network *network, const stai_run_mode mode)
{{
    standin_ctx *c = (standin_ctx *)(void *)network;
    const uint8_t *x;
    uint32_t *acc;
    if (mode != STAI_MODE_SYNC || c->act == NULL || c->out == NULL) return STAI_ERROR_GENERIC;
    x = c->act + 32;
    acc = (uint32_t *)(void *)(c->act + 32 + ((STAI_{NAME}_IN_1_SIZE_BYTES + 3u) & ~3u));
    for (uint32_t j = 0; j < STAI_{NAME}_OUT_1_SIZE_BYTES; j++) {{
        acc[j] = 7u * j;
        for (uint32_t i = 0; i < STAI_{NAME}_IN_1_SIZE_BYTES; i++)
            acc[j] += (uint32_t)x[i] * ((i + j) % 5u + 1u);
    }}
    for (uint32_t j = 0; j < STAI_{NAME}_OUT_1_SIZE_BYTES; j++)
        c->out[j] = (uint8_t)(acc[j] & 0xFFu);
    return STAI_SUCCESS;
}}
"""

SCRIPT = '''#!{python}
"""Stand-in for ST's stedgeai (reidtool tests only; see tests/stedgeai/fake_stedgeai.py)."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACTS = json.loads({facts!r})
argv = sys.argv[1:]
with open(ROOT / "argv.log", "a") as log:
    log.write(json.dumps(argv) + "\\n")
if argv == ["--version"]:
    print("ST Edge AI Core v{version}-00000 standin")
    sys.exit(0)

def opt(flag, default=None):
    return argv[argv.index(flag) + 1] if flag in argv else default

if not argv or argv[0] != "generate":
    print("E103(CliArgumentError): stand-in only knows generate", file=sys.stderr)
    sys.exit(1)
model = Path(opt("--model"))
if not model.is_file():
    print(f"E102(InvalidModelError): {{model}} not found", file=sys.stderr)
    sys.exit(1)
name, out = opt("--name", "network"), Path(opt("--output"))
out.mkdir(parents=True, exist_ok=True)
NAME = name.upper()
npu = "--st-neural-art" in argv
act = FACTS["in_size"] + 32 + 4 * FACTS["out_size"] + 64
sizes = dict(name=name, NAME=NAME, in_size=FACTS["in_size"], out_size=FACTS["out_size"], act_size=act)
headers = [f"stai_{{name}}.h", f"{{name}}.h"] if npu else [f"{{name}}.h"]
for header in headers:
    (out / header).write_text(FACTS["network_h"].format(header=header, **sizes))
(out / (f"stai_{{name}}.c" if npu else f"{{name}}.c")).write_text(
    FACTS["network_c"].format(header=headers[0], **sizes))
if npu:
    (out / f"{{name}}_atonbuf.xSPI2.raw").write_bytes(bytes(range(256)) * 4)
macs = FACTS["in_size"] * FACTS["out_size"]
(out / f"{{name}}_c_info.json").write_text(json.dumps({{
    "json_schema_version": "2.0",
    "environment": {{"generated_model": {{"name": name}},
                    "tools": [{{"name": "stedgeai", "version": {{"major": 3, "minor": 0, "micro": 0}},
                               "input_model": {{"name": model.stem, "type": "tflite"}}}}]}},
    "graphs": [{{"nodes": [{{"id": 0, "name": "standin_dense", "type": "Dense", "macc": macs}},
                          {{"id": 1, "name": "standin_bias", "type": "Eltwise", "macc": FACTS["out_size"]}}]}}],
    "memory_pools": [{{"id": 0, "name": "weights", "used_size_bytes": 1024, "rights": "ACC_READ"}}],
    "buffers": [{{"id": 0, "name": "activations", "size_bytes": act}}],
    "memory_footprint": {{"weights": 1024, "activations": act,
                         "io": [FACTS["in_size"], FACTS["out_size"]], "series": "stm32n6",
                         "kernel_ram": 0, "kernel_flash": 0}},
}}, indent=1))
(out / f"{{name}}_generate_report.txt").write_text(
    "ST Edge AI Core v{version}-00000 standin\\n"
    "Exec/report summary (generate)\\n"
    f"params #           :   {{FACTS['out_size'] * 2:,}} items\\n"
    f"macc               :   {{macs + FACTS['out_size']:,}}\\n"
    "weights (ro)       :   1,024 B (1.00 KiB)\\n"
    f"activations (rw)   :   {{act:,}} B\\n"
    f"ram (total)        :   {{act:,}} B\\n")
print("stand-in generate done")
'''


def standin_output(x: np.ndarray, out_size: int) -> np.ndarray:
    """What the stand-in network answers for input bytes `x` (int8, `out_size` values)."""
    x = np.asarray(x, np.int64).reshape(-1)
    i = np.arange(x.size)
    out = [(int((x * ((i + j) % 5 + 1)).sum()) + 7 * j) & 0xFF for j in range(out_size)]
    return np.array(out, np.uint8).view(np.int8)


def make_fake_install(base: Path, in_size: int, out_size: int, version: str = "3.0") -> Path:
    """Create `base/STEdgeAI/<version>/...` with the stand-in tool; returns the executable.

    The runtime library is compiled for the Cortex-M55 when arm-none-eabi-gcc is present
    (else the archive is absent and the backend's "no NetworkRuntime" error can be tested).
    """
    root = base / "STEdgeAI" / version
    exe = root / "Utilities" / "linux" / "stedgeai"
    inc = root / "Middlewares" / "ST" / "AI" / "Inc"
    lib = root / "Middlewares" / "ST" / "AI" / "Lib" / "GCC" / "ARMCortexM55"
    for folder in (exe.parent, inc, lib):
        folder.mkdir(parents=True, exist_ok=True)
    (inc / "stai.h").write_text(STAI_H)
    facts = json.dumps(
        {"in_size": in_size, "out_size": out_size, "network_h": NETWORK_H, "network_c": NETWORK_C}
    )
    exe.write_text(SCRIPT.format(python=sys.executable, facts=facts, version=VERSION))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    src = root / "runtime_standin.c"
    src.write_text(RUNTIME_C)
    obj = root / "runtime_standin.o"
    try:
        subprocess.run(
            ["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-O2",
             "-I", str(inc), "-c", str(src), "-o", str(obj)],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            ["arm-none-eabi-ar", "rcs", str(lib / "NetworkRuntime1000_CM55_GCC.a"), str(obj)],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError:
        pass
    return exe


def recorded_argv(exe: Path) -> list[list[str]]:
    """The argv lists the stand-in recorded, in call order."""
    log = Path(exe).resolve().parents[2] / "argv.log"
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
