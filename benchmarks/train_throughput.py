"""Training throughput: images/s of reidtool's training vs a plain `model.fit` of the same model.

Both train the same Keras model (tinynet embedder unless --model says otherwise, the same
augmentation, batch size and training images) for the same number of epochs; the first epoch
(graph tracing, image cache fill) is excluded. reidtool's figure comes from the `epoch_seconds`
column of its training_log.csv (training + validation steps, excluding checkpoint writes), the
baseline's from the same measurement around `model.fit` on in-memory arrays with Keras's own
multi-output losses. The ratio reidtool / plain should be >= 1.0 (goal of issue 4).

Usage:
    .venv/bin/python benchmarks/train_throughput.py [--identities 32] [--per-id 8] [--epochs 4]
        [--batch 32] [--height 64] [--width 32] [--model tinynet]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "training"))


def _images(folder: Path, identities: int, per_id: int, height: int, width: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    palette = rng.integers(30, 226, size=(identities, 2, 3))
    folder.mkdir(parents=True, exist_ok=True)
    for ident in range(identities):
        for j in range(per_id):
            img = np.zeros((height, width, 3), np.float32)
            img[: height // 2] = palette[ident, 0]
            img[height // 2 :] = palette[ident, 1]
            img += rng.normal(0, 12, img.shape)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                folder / f"{ident:04d}_c1_{j}.jpg", quality=95
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=32)
    parser.add_argument("--per-id", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--model", default="tinynet")
    args = parser.parse_args()

    import keras
    import numpy as np
    from conftest import make_cfg

    from toolchain.data.images import input_bytes_from_config
    from toolchain.data.splits import build_splits, identity_labels
    from toolchain.models.embedder import build_from_config
    from toolchain.rundir import RunDir
    from toolchain.training.augmentation import build_augmentation
    from toolchain.training.callbacks import read_log
    from toolchain.training.losses import SmoothedCrossEntropy, TripletLoss
    from toolchain.training.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _images(tmp / "train", args.identities, args.per_id, args.height, args.width)
        cfg = make_cfg(tmp, epochs=args.epochs, batch_size=args.batch)
        cfg.model.input_shape = (args.height, args.width, 3)
        cfg.model.model_name = args.model

        run = RunDir(tmp / "run").create()
        train(cfg, run)
        rows = read_log(run.logs_dir / "training_log.csv")[1:]
        splits = build_splits(cfg)
        steps = max(1, math.ceil(len(splits.train) / args.batch))  # PKSampler batches per epoch
        seconds = sum(float(r["epoch_seconds"]) for r in rows)
        reid_ips = steps * args.batch * len(rows) / seconds

        # Baseline: the same model and losses through Keras's own compile/fit.
        labels, names = identity_labels(splits.train)
        val_labels, _ = identity_labels(splits.val, names)
        x = np.stack([input_bytes_from_config(r.path, cfg) for r in splits.train]).astype(
            np.float32
        )
        xv = np.stack([input_bytes_from_config(r.path, cfg) for r in splits.val]).astype(np.float32)
        aug = build_augmentation(cfg)
        model = build_from_config(cfg, len(names), augmentation_layers=[aug] if aug else None)
        model.compile(
            optimizer=keras.optimizers.Adam(0.003),
            loss={"logits": SmoothedCrossEntropy(0.1), "embedding": TripletLoss(0.3, "semi_hard")},
        )
        times = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.t)

        model.fit(
            x,
            {"logits": labels, "embedding": labels},
            batch_size=args.batch,
            epochs=args.epochs,
            validation_data=(xv, {"logits": val_labels, "embedding": val_labels}),
            callbacks=[Timer()],
            verbose=0,
        )
        plain_ips = len(x) * (len(times) - 1) / sum(times[1:])

    print(
        f"model {args.model}, input {args.height}x{args.width}, batch {args.batch}, "
        f"{steps} P×K steps/epoch, epochs 2..{args.epochs} timed"
    )
    print(f"reidtool train : {reid_ips:8.1f} images/s")
    print(f"plain model.fit: {plain_ips:8.1f} images/s")
    print(f"ratio          : {reid_ips / plain_ips:8.2f}")


if __name__ == "__main__":
    main()
