"""Simulated panels for the jury-model tests: workers with known confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from routing.jury import Observation, Worker


def symmetric(acc: float, n_classes: int, n_observed: int | None = None) -> NDArray[np.float64]:
    """(C, L) confusion of a worker right with probability acc, wrong evenly otherwise."""
    n_l = n_observed or n_classes
    m = np.full((n_classes, n_l), (1 - acc) / (n_l - 1))
    for c in range(n_classes):
        m[c, c] = acc
    return m


def simulate(
    confusions: Sequence[NDArray[np.float64]],
    priors: Sequence[float],
    n: int,
    seed: int,
    workers: Sequence[Worker] | None = None,
    missing: float = 0.0,
) -> tuple[NDArray[np.int64], list[dict[Worker, Observation]]]:
    """True classes and each item's observations drawn from the Dawid-Skene model."""
    rng = np.random.default_rng(seed)
    names = list(workers) if workers else [Worker(judge=f"j{w}") for w in range(len(confusions))]
    truth = rng.choice(len(priors), size=n, p=np.asarray(priors))
    items: list[dict[Worker, Observation]] = [{} for _ in range(n)]
    for worker, m in zip(names, confusions, strict=True):
        cum = np.asarray(m).cumsum(axis=1)[truth]
        answers = (rng.random(n)[:, None] > cum).sum(axis=1)
        present = rng.random(n) >= missing
        for i in np.flatnonzero(present):
            items[i][worker] = int(min(answers[i], m.shape[1] - 1))
    return truth, items
