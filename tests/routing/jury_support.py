"""Simulated panels for the jury-model tests: workers with known confusion matrices."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from routing.jury import JuryModel, Observation, Worker, posterior_from


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


def brute_force_can_change(
    model: JuryModel, obs: Mapping[Worker, Observation], pending: Sequence[Worker]
) -> bool:
    """Whether some combination of the pending workers' answers changes the verdict
    (what `can_change` must answer), by trying every one."""
    base = posterior_from(model, obs).value
    answers = itertools.product(range(len(model.scale)), repeat=len(pending))
    return any(
        posterior_from(model, {**obs, **dict(zip(pending, a, strict=True))}).value != base
        for a in answers
    )
