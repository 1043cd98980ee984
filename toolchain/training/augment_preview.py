"""`reidtool augment-preview CONFIG`: a before/after grid of the configured augmentation.

Seeing what the augmentation does before a long training catches settings that destroy the
identity cues (colours inverted, crops losing the torso). The grid shows `n` training images
as the model receives them (decoded, colour mode, resized) and the same images after the
`data_augmentation` / `custom_data_augmentation` layer in training mode.

Example:
    augment_preview(cfg, n=8, out="augment_preview.png")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from toolchain.errors import ConfigError, DatasetError


def preview_images(cfg: Any, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(before, after): `n` training images (uint8) and their augmented versions (uint8)."""
    from toolchain.data.images import input_bytes_from_config
    from toolchain.data.splits import build_splits
    from toolchain.training.augmentation import build_augmentation

    if int(n) < 1:
        raise ConfigError(f"augment-preview --n must be >= 1; received {n}")
    layer = build_augmentation(cfg)
    if layer is None:
        raise ConfigError(
            "augment-preview: the config has no data_augmentation or "
            "custom_data_augmentation section to preview"
        )
    splits = build_splits(cfg)
    records = splits.train or splits.val
    if not records:
        raise DatasetError("augment-preview: dataset.training_path holds no images")
    step = max(1, len(records) // int(n))
    chosen = records[::step][: int(n)]
    before = np.stack([input_bytes_from_config(r.path, cfg) for r in chosen])
    after = np.asarray(layer(before.astype(np.float32), training=True))
    return before, np.clip(np.round(after), 0, 255).astype(np.uint8)


def augment_preview(cfg: Any, n: int = 8, out: str | Path | None = None) -> Path:
    """Write the before/after grid PNG and return its path (default: augment_preview.png in
    the current folder)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolchain.files import atomic_write

    before, after = preview_images(cfg, n)
    count = len(before)
    fig, axes = plt.subplots(2, count, figsize=(1.4 * count + 1, 5.5), squeeze=False)
    for row, (title, images) in enumerate((("original", before), ("augmented", after))):
        for col in range(count):
            ax = axes[row][col]
            image = images[col]
            ax.imshow(
                image[..., 0] if image.shape[-1] == 1 else image[..., :3],
                cmap="gray" if image.shape[-1] == 1 else None,
                vmin=0,
                vmax=255,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(title)
    fig.tight_layout()
    out = Path(out or "augment_preview.png")
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100), suffix=".png")
    plt.close(fig)
    return out
