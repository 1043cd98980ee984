"""`training.distribution`: where the training runs.

- unset / `none` / `default`: one device (TensorFlow's default strategy).
- `mirrored`: `tf.distribute.MirroredStrategy` over every local GPU (or the logical CPU devices
  configured by the caller). Each global P×K batch is split into contiguous per-replica slices,
  so with P divisible by the number of replicas every replica gets whole identity groups and
  its triplet loss sees positives for every anchor. Gradients are summed across replicas and
  the step divides the loss by the replica count, so updates equal single-device ones.
- `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy` for several machines. Every
  machine runs the same `reidtool train` command with the same config and its own `TF_CONFIG`
  environment variable, e.g. on worker 0 of two:
  `TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
  "task": {"type": "worker", "index": 0}}'` (one line).
  The global batch is `training.batch_size`; worker 0 (the chief) writes the run directory.
  It needs the machines to reach each other on the listed ports; it is not exercised by the
  test suite (no network in tests).
"""

from __future__ import annotations

import logging
from typing import Any

from toolchain.errors import ConfigError

log = logging.getLogger(__name__)

CHOICES = ("none", "default", "mirrored", "multi_worker")


def get_strategy(name: Any):
    """The `tf.distribute.Strategy` for a `training.distribution` value."""
    import tensorflow as tf

    key = "none" if name in (None, "", False) else str(name).lower()
    if key in ("none", "default"):
        return tf.distribute.get_strategy()
    if key == "mirrored":
        return tf.distribute.MirroredStrategy()
    if key == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(
        f"training.distribution: expected one of {', '.join(CHOICES)}; received {name!r}"
    )


def check_batch_split(strategy, identities_per_batch: int) -> None:
    """Replicas must receive whole identity groups: P divisible by the number of replicas."""
    replicas = int(strategy.num_replicas_in_sync)
    if replicas > 1 and identities_per_batch % replicas:
        raise ConfigError(
            f"training.distribution: {replicas} replicas need the identities per batch "
            f"(P = batch_size / dataset.instances_per_identity = {identities_per_batch}) to be a "
            f"multiple of {replicas}, so each replica gets whole identity groups"
        )
