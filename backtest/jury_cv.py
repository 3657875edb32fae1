"""Choosing the jury's dependence correction by cross-validated likelihood, on training
labels only.

`dependence_cv` takes the labels the default row's fold-0 model may use (at most
`--labels`, from the other folds), splits them into `INNER_FOLDS` inner folds, and for
each `JuryPriors.dependence` setting fits on every item's votes with the labels of the
other inner folds clamped and scores the held-out labels: the mean log P(human label |
votes) per label. No held-out accuracy and no item of fold 0 enters, so the comparison
uses only what a deployment with those labels could compute.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from backtest.datasets import Dataset
from backtest.jury import classes_for, random_labels
from routing.jury import JuryPriors, fit_votes, observations, posterior_from
from rubrics import value_key

__all__ = ["DEPENDENCE_SETTINGS", "INNER_FOLDS", "dependence_cv"]

INNER_FOLDS = 5
DEPENDENCE_SETTINGS = (0.0, 0.5, 1.0)
"""Independent (plain Dawid-Skene), a group of m workers as sqrt(m) votes, as one vote."""
_FLOOR = 1e-12


def dependence_cv(
    dataset: Dataset, fold_of: NDArray[np.int64], labels: int, seed: int, priors: JuryPriors
) -> dict[str, float]:
    """Setting (as text) -> mean held-out log-likelihood per human label."""
    items, rubric = dataset.items, dataset.rubric
    chosen = sorted(random_labels(dataset, fold_of, 0, labels, seed))
    if len(chosen) < INNER_FOLDS:
        return {}
    inner = np.random.default_rng(seed + 1).permutation(len(chosen)) % INNER_FOLDS
    classes = classes_for(dataset)
    every = [list(it.votes) for it in items]
    obs = {i: observations(rubric.scale, items[i].votes) for i in chosen}
    out: dict[str, float] = {}
    for setting in DEPENDENCE_SETTINGS:
        pri = priors.model_copy(update={"dependence": setting})
        total, count = 0.0, 0
        for g in range(INNER_FOLDS):
            train = {i for i, h in zip(chosen, inner, strict=True) if h != g}
            given = [items[i].human if i in train else () for i in range(len(items))]
            model = fit_votes(rubric, every, given, classes=classes, priors=pri)
            for i, h in zip(chosen, inner, strict=True):
                if h != g:
                    continue
                probs = posterior_from(model, obs[i]).probs
                for label in items[i].human:
                    total += math.log(max(probs.get(value_key(label), 0.0), _FLOOR))
                    count += 1
        out[f"{setting:g}"] = total / count if count else math.nan
    return out
