"""Identity-balanced P×K batch sampler for metric learning.

Batch-hard triplet loss needs several images of each identity in every batch: each batch holds
P distinct identities with K images each (K = `dataset.instances_per_identity`, default 4).
Identities are visited in seeded shuffled cycles, so over an epoch each appears about equally
often; an identity with fewer than K images repeats some of them (sampling with replacement
after using each once). The RNG state is JSON-serialisable (`get_state`/`set_state`), so a
resumed training draws exactly the batches the uninterrupted one would have.

Example:
    sampler = PKSampler(labels, p=8, k=4, seed=123)
    for batch in sampler:         # one epoch: len(sampler) arrays of 32 indices
        ...
    state = sampler.get_state()   # into training_state.json
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from toolchain.errors import ConfigError, DatasetError


class PKSampler:
    """Yields one epoch of P×K index batches per iteration.

    Args:
        labels: integer identity label per image (e.g. from `splits.identity_labels`).
        p: identities per batch.
        k: images per identity per batch.
        seed: seed of the sampler's own RNG.
        batches_per_epoch: default ceil(len(labels) / (p * k)), like the seed's generator.
    """

    def __init__(
        self,
        labels: Sequence[int] | np.ndarray,
        p: int,
        k: int,
        seed: int = 0,
        batches_per_epoch: int | None = None,
    ):
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise DatasetError(
                f"PKSampler needs a non-empty 1-D label array. Received shape {labels.shape}."
            )
        if int(p) < 1 or int(k) < 1:
            raise ConfigError(
                f"PKSampler: P and K must be >= 1. Received: P={p}, "
                f"K(dataset.instances_per_identity)={k}"
            )
        self.p, self.k, self.seed = int(p), int(k), int(seed)
        self.identities = np.unique(labels)
        if len(self.identities) < self.p:
            raise DatasetError(
                f"A P×K batch needs {self.p} distinct identities but the training set has "
                f"{len(self.identities)}. Lower training.batch_size or raise "
                "dataset.instances_per_identity (P = batch_size / K)."
            )
        self._members = {int(i): np.flatnonzero(labels == i) for i in self.identities}
        self.num_images = int(labels.size)
        self.batches_per_epoch = int(
            batches_per_epoch or max(1, math.ceil(self.num_images / (self.p * self.k)))
        )
        self.epoch = 0
        self._rng = np.random.default_rng(self.seed)

    @classmethod
    def from_batch_size(
        cls,
        labels: Sequence[int] | np.ndarray,
        batch_size: int,
        instances_per_identity: int = 4,
        seed: int = 0,
    ) -> PKSampler:
        """P = batch_size / K; `batch_size` must be a multiple of K."""
        k = int(instances_per_identity)
        if k < 1 or int(batch_size) % k:
            raise ConfigError(
                f"training.batch_size={batch_size} must be a multiple of "
                f"dataset.instances_per_identity={instances_per_identity} (P×K batches)."
            )
        return cls(labels, int(batch_size) // k, k, seed)

    @property
    def batch_size(self) -> int:
        return self.p * self.k

    def __len__(self) -> int:
        return self.batches_per_epoch

    def epoch_batches(self) -> list[np.ndarray]:
        """Draw the next epoch's batches (advances the RNG and the epoch counter)."""
        rng = self._rng
        slots = self.batches_per_epoch * self.p
        cycle: list[int] = []
        while len(cycle) < slots:
            cycle.extend(int(i) for i in rng.permutation(self.identities))
        batches = []
        for b in range(self.batches_per_epoch):
            chosen = cycle[b * self.p : (b + 1) * self.p]
            if len(set(chosen)) < self.p:  # a cycle boundary repeated an identity: redraw it
                chosen = [int(i) for i in rng.choice(self.identities, self.p, replace=False)]
            batch = np.empty(self.batch_size, dtype=np.int64)
            for j, ident in enumerate(chosen):
                batch[j * self.k : (j + 1) * self.k] = self._draw(ident, rng)
            batches.append(batch)
        self.epoch += 1
        return batches

    def _draw(self, ident: int, rng: np.random.Generator) -> np.ndarray:
        members = self._members[ident]
        if len(members) >= self.k:
            return rng.choice(members, self.k, replace=False)
        extra = rng.choice(members, self.k - len(members), replace=True)
        return np.concatenate([rng.permutation(members), extra])

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.epoch_batches())

    def get_state(self) -> dict[str, Any]:
        """JSON-serialisable state: seed, epoch counter and the RNG's bit-generator state."""
        return {
            "seed": self.seed,
            "p": self.p,
            "k": self.k,
            "epoch": self.epoch,
            "rng": copy.deepcopy(self._rng.bit_generator.state),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a `get_state()` result (e.g. from training_state.json)."""
        try:
            if int(state["p"]) != self.p or int(state["k"]) != self.k:
                raise ConfigError(
                    f"The saved sampler state is for P={state['p']}, K={state['k']} but this run "
                    f"uses P={self.p}, K={self.k}; resume with the same training.batch_size and "
                    "dataset.instances_per_identity."
                )
            rng = np.random.default_rng()
            rng.bit_generator.state = copy.deepcopy(state["rng"])
            self.epoch = int(state["epoch"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"Saved sampler state is malformed ({exc!r}); expected the dict "
                "PKSampler.get_state() returns."
            ) from None
        self._rng = rng
