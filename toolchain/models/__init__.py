"""The model zoo, the training embedder and the edge export.

- `MODELS` (`toolchain.registry.Registry("model")`): backbone builders, each registered at its
  definition site with `@register_model(name)`; importing this package registers them all.
- `embedder.build_training_model(...)`: raw pixels → {"embedding", "logits"}.
- `export.export_embedder(training_model)`: the batch-1 edge embedder (`best_model.keras`).
- `pretrained.load_pretrained(...)`: ImageNet weights or a local weights file.

Adding a model: one module with one `@register_model("name")` function, plus its import below.
"""

from __future__ import annotations

from toolchain.models.registry import MODELS, build_backbone, register_model

# Importing a family module registers its builders (one line per family).
from toolchain.models import tinynet  # noqa: E402,F401  isort: skip
from toolchain.models import mobilenet_v2  # noqa: E402,F401  isort: skip
from toolchain.models import mobilenet_v1  # noqa: E402,F401  isort: skip
from toolchain.models import osnet  # noqa: E402,F401  isort: skip
from toolchain.models import resnet50v2  # noqa: E402,F401  isort: skip
from toolchain.models import custom_model  # noqa: E402,F401  isort: skip
from toolchain.models.embedder import build_training_model, inference_embedding  # noqa: E402
from toolchain.models.export import export_embedder  # noqa: E402
from toolchain.models.pretrained import load_pretrained  # noqa: E402

__all__ = [
    "MODELS",
    "build_backbone",
    "build_training_model",
    "export_embedder",
    "inference_embedding",
    "load_pretrained",
    "register_model",
]
