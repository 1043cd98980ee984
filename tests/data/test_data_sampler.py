"""toolchain.data.sampler: P×K batches, balance, replacement for small identities, resume."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from toolchain.data.sampler import PKSampler
from toolchain.errors import ConfigError, DatasetError


def _labels():
    # 10 identities with 1..10 images each (55 images), shuffled order.
    labels = np.repeat(np.arange(10), np.arange(1, 11))
    return np.random.default_rng(0).permutation(labels)


def test_each_batch_has_p_identities_times_k_images():
    labels = _labels()
    sampler = PKSampler(labels, p=4, k=3, seed=7)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 5  # ceil(55 / 12)
    for batch in batches:
        assert batch.shape == (12,) and batch.dtype == np.int64
        ids = labels[batch].reshape(4, 3)
        assert (ids == ids[:, :1]).all()  # each block of K is one identity
        assert len(set(ids[:, 0])) == 4  # P distinct identities
        for block in batch.reshape(4, 3):
            n_images = int((labels == labels[block[0]]).sum())
            if n_images >= 3:  # no repeats unless the identity has fewer than K images
                assert len(set(block)) == 3
            else:
                assert set(block) == set(np.flatnonzero(labels == labels[block[0]]))


def test_identities_are_visited_evenly_over_epochs():
    labels = _labels()
    sampler = PKSampler(labels, p=5, k=2, seed=1)
    counts = Counter()
    for _ in range(20):
        for batch in sampler:
            counts.update(labels[batch[::2]].tolist())
    assert set(counts) == set(range(10))
    assert max(counts.values()) - min(counts.values()) <= 2  # shuffled cycles: near-equal


def test_state_round_trip_through_json_reproduces_the_next_epochs():
    labels = _labels()
    a = PKSampler(labels, p=4, k=4, seed=3)
    list(a)
    state = json.loads(json.dumps(a.get_state()))
    expected = [list(a), list(a)]
    b = PKSampler(labels, p=4, k=4, seed=999)
    b.set_state(state)
    got = [list(b), list(b)]
    assert b.epoch == a.epoch == 3
    for e, g in zip(expected, got, strict=True):
        for x, y in zip(e, g, strict=True):
            np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(expected[0], expected[1], strict=True))


def test_same_seed_same_batches_different_seed_different():
    labels = _labels()
    one = list(PKSampler(labels, 4, 2, seed=5))
    two = list(PKSampler(labels, 4, 2, seed=5))
    other = list(PKSampler(labels, 4, 2, seed=6))
    assert all(np.array_equal(x, y) for x, y in zip(one, two, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(one, other, strict=True))


def test_bad_arguments_are_named():
    labels = _labels()
    with pytest.raises(DatasetError, match="needs 11 distinct identities.*has 10"):
        PKSampler(labels, p=11, k=2)
    with pytest.raises(ConfigError, match="batch_size=30 must be a multiple of.*=4"):
        PKSampler.from_batch_size(labels, 30, 4)
    assert PKSampler.from_batch_size(labels, 32, 4).p == 8
    sampler = PKSampler(labels, 4, 4)
    with pytest.raises(ConfigError, match="P=2, K=4 but this run uses P=4, K=4"):
        sampler.set_state(PKSampler(labels, 2, 4).get_state())
    with pytest.raises(ConfigError, match="malformed"):
        sampler.set_state({"p": 4, "k": 4})
