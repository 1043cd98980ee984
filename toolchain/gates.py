"""`--fail-under KEY=VALUE` gates on metrics.json (CONTRACTS §3).

KEY is a dotted path into metrics.json (`device.mAP`) or a bare key of the block being
evaluated (`mAP` with block `device`). A failed gate raises `GateFailedError` (exit code 1)
with one line naming the key, the figure and the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from toolchain.errors import ReidtoolError, UsageError


class GateFailedError(ReidtoolError):
    """A `--fail-under` threshold was not reached: exit code 1."""


def parse_gate(text: str) -> tuple[str, float]:
    """'device.mAP=0.7' → ('device.mAP', 0.7)."""
    key, sep, value = text.partition("=")
    try:
        if not sep or not key.strip():
            raise ValueError
        return key.strip(), float(value)
    except ValueError:
        raise UsageError(
            f"--fail-under {text!r}: expected KEY=NUMBER, e.g. device.mAP=0.7"
        ) from None


def lookup(metrics: Mapping[str, Any], key: str, block: str | None = None) -> Any:
    """The figure `key` names: a dotted path, else a key of `block`."""
    paths = [key.split(".")]
    if block and "." not in key:
        paths.insert(0, [block, key])
    for path in paths:
        node: Any = metrics
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            return node
    where = f" (nor {block}.{key})" if block and "." not in key else ""
    raise UsageError(f"--fail-under {key}: metrics.json has no {key}{where}")


def check_fail_under(
    metrics: Mapping[str, Any], gates: Iterable[str], block: str | None = None
) -> None:
    """Raise `GateFailedError` naming every gate whose figure is below its threshold."""
    failed = []
    for gate in gates:
        key, threshold = parse_gate(gate)
        value = lookup(metrics, key, block)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise UsageError(f"--fail-under {key}: {value!r} is not a number")
        if value < threshold:
            failed.append(f"{key} = {value:.4f} < {threshold}")
    if failed:
        raise GateFailedError("gate failed: " + "; ".join(failed))
