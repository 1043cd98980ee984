"""The run directory (CONTRACTS §2) and its metrics.json (CONTRACTS §3).

Every stage writes into one `RunDir`; `update_metrics` merges a stage's block into
metrics.json atomically, so a chain records each step's figures in one file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolchain.errors import ReidtoolError
from toolchain.files import atomic_write_json


@dataclass(frozen=True)
class RunDir:
    """Paths of one run. Folder names follow `general.logs_dir`, `general.saved_models_dir`
    and `quantization.export_dir`."""

    root: Path
    logs_name: str = "logs"
    saved_models_name: str = "saved_models"
    quantized_models_name: str = "quantized_models"

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def logs_dir(self) -> Path:
        return self.root / self.logs_name

    @property
    def saved_models_dir(self) -> Path:
        return self.root / self.saved_models_name

    @property
    def quantized_models_dir(self) -> Path:
        return self.root / self.quantized_models_name

    @property
    def firmware_dir(self) -> Path:
        return self.root / "firmware"

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.json"

    @property
    def device_log_path(self) -> Path:
        return self.root / "device_embeddings.log"

    def create(self) -> RunDir:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def read_metrics(self) -> dict[str, Any]:
        if not self.metrics_path.exists():
            return {}
        try:
            return json.loads(self.metrics_path.read_text())
        except json.JSONDecodeError as err:
            raise ReidtoolError(f"{self.metrics_path} is not valid JSON: {err}") from err

    def update_metrics(self, section: str, values: dict[str, Any]) -> dict[str, Any]:
        """Merge `values` into metrics.json[section] (replacing keys it names) and save atomically."""
        metrics = self.read_metrics()
        block = dict(metrics.get(section) or {})
        block.update(values)
        metrics[section] = block
        atomic_write_json(self.metrics_path, metrics)
        return metrics
