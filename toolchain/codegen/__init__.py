"""The code generator: int8 `.tflite` → bit-exact portable C99 (see docs/architecture.md).

Entry point: `generate_network(tflite_path, out_dir, name="reid", command=None, helium=False)
-> NetworkInfo`.
"""

from toolchain.codegen.emit import NetworkInfo, compile_graph, generate_network
from toolchain.codegen.ops import OPS

__all__ = ["OPS", "NetworkInfo", "compile_graph", "generate_network"]
