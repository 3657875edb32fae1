"""The jury rows of `quorum backtest`: the jury model (`routing.jury`) cross-fitted on
recorded votes with a limited number of human labels, as a deployment with N reviews.

Items are split into folds (the weighted panel's folds). The items of fold f get their
verdict and confidence from a model fitted on *every* item's votes (votes are not labels:
the service fits on all stored votes too) with human labels clamped on at most `labels`
items of the *other* folds, so no item's own label ever shapes the model that judges it,
and no model sees more than `labels` labels. Two ways to pick those labels:

- `cross_fit` (the default row): a random sample of the other folds' labelled items
  (seed `seed + f`), what a deployment that reviewed N random items has;
- `production`: what the service itself would get. The jury is first fitted with no
  label (the unsupervised start); the items its default routing policy sends to humans
  (posterior confidence below the panel default `min_confidence`, `ROUTING_FLOOR`) plus a
  random audit sample (`audit_rate` of the rest) are the labelled items, capped at N (a
  random N of them if more), and the model is refitted on them.

`cascade` replays the jury asking one judge (in every presentation) per wave in file
order, stopping with `routing.sequential.jury_stop_rule`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from backtest.datasets import Dataset
from backtest.strategies import ask_in_waves
from judges import Vote
from routing import RoutingPolicy
from routing.jury import (
    JuryModel,
    JuryPriors,
    Selection,
    default_classes,
    describe_priors,
    fit_by_policy,
    observations,
    posterior_from,
    votes_data,
)
from routing.sequential import Presentation, jury_stop_rule, waves
from rubrics import ScaleValue

__all__ = [
    "DEFAULT_AUDIT_RATE",
    "DEFAULT_LABELS",
    "ROUTING_FLOOR",
    "CrossFit",
    "FoldFit",
    "cascade",
    "classes_for",
    "cross_fit",
    "fold_assignment",
    "plurality",
    "presentations_of",
    "production_labels",
    "random_labels",
    "verdicts_of",
]

DEFAULT_LABELS = 100
"""Human labels any fold's model may use (`--labels`)."""
DEFAULT_AUDIT_RATE = 0.1
"""Share of auto-decided items audited in the production case (`--audit-rate`)."""
_floor = RoutingPolicy().min_confidence
ROUTING_FLOOR: float = 0.6 if _floor is None else _floor
"""The production case's routing threshold: the service's default `min_confidence` of a
panel, applied to the jury's posterior confidence (no calibration is possible before the
first labels exist)."""


class FoldFit(BaseModel):
    """One fold's model: how many labels it used and how its EM went."""

    model_config = ConfigDict(frozen=True)

    fold: int
    n_labelled: int
    n_routed: int | None = None
    """Production case: other-fold labelled items the unsupervised jury sent to humans."""
    n_audited: int | None = None
    """Production case: other-fold labelled items drawn by the random audit."""
    iterations: int
    converged: bool
    n_patterns: int
    log_likelihood: float
    temperature: float = 1.0
    """The posterior's temperature the fold's model fitted on its labels."""
    error_model: str | None = None
    """With the selection: the error model chosen on held-out label likelihood."""
    selection_scores: dict[str, float] | None = None
    """With the selection: each candidate's mean held-out log P(label | votes)."""


@dataclass(frozen=True)
class CrossFit:
    """Per item: the verdict of its fold's model (None without a usable vote), the
    confidence (0 without a verdict), the posterior mode (the verdict itself except on
    ordinal scales of more than two classes, whose verdict is the median); per fold the
    model."""

    verdicts: list[ScaleValue | None]
    confidence: NDArray[np.float64]
    modes: list[ScaleValue | None]
    models: list[JuryModel]
    fits: list[FoldFit]
    plain_verdicts: list[ScaleValue | None]
    """The same models untempered (temperature 1): the verdict and its confidence."""
    plain_confidence: NDArray[np.float64]


def fold_assignment(n: int, folds: int, seed: int) -> NDArray[np.int64]:
    """Item -> fold, the weighted panel's assignment (`backtest.replay`)."""
    return np.asarray(np.random.default_rng(seed).permutation(n) % folds, dtype=np.int64)


def classes_for(dataset: Dataset) -> tuple[int, ...]:
    """The latent classes: `tie` is one only where some human said tie (the rubric's
    "humans can tie", which the service takes from its panel configuration)."""
    can_tie = any(label == "tie" for item in dataset.items for label in item.human)
    return default_classes(dataset.rubric, can_tie)


def random_labels(
    dataset: Dataset, fold_of: NDArray[np.int64], fold: int, cap: int, seed: int
) -> set[int]:
    """At most `cap` labelled items of the other folds, drawn at random (seed + fold)."""
    pool = [i for i, it in enumerate(dataset.items) if fold_of[i] != fold and it.human]
    return _sample(pool, cap, seed + fold)


def _sample(pool: Sequence[int], cap: int, seed: int) -> set[int]:
    if len(pool) <= cap:
        return set(pool)
    rng = np.random.default_rng(seed)
    return {int(i) for i in rng.choice(pool, size=cap, replace=False)}


def cross_fit(
    dataset: Dataset,
    fold_of: NDArray[np.int64],
    labels_for: Callable[[int], set[int]],
    priors: JuryPriors | None = None,
    extra: Callable[[int], dict[str, int]] | None = None,
    select: Selection = "scale",
) -> CrossFit:
    """Each fold's model fitted on every item's votes and the human labels of the items
    `labels_for(fold)` (which must lie outside the fold); each item judged by its fold's
    model. `select`: where each fold's error model is chosen among `candidates_for` by
    held-out likelihood of its own labels (`routing.jury.selects`; "scale" is what the
    service does)."""
    items, scale = dataset.items, dataset.rubric.scale
    n, folds = len(items), int(fold_of.max()) + 1 if len(items) else 0
    classes = classes_for(dataset)
    every = [list(it.votes) for it in items]
    obs = [observations(scale, v) for v in every]
    verdicts: list[ScaleValue | None] = [None] * n
    modes: list[ScaleValue | None] = [None] * n
    plain: list[ScaleValue | None] = [None] * n
    conf, plain_conf = np.zeros(n), np.zeros(n)
    models, fits = [], []
    for f in range(folds):
        chosen = labels_for(f)
        if any(fold_of[i] == f for i in chosen):
            raise ValueError(f"fold {f}'s labels include items of fold {f}")
        labels = [items[i].human if i in chosen else () for i in range(n)]
        chosen_model: dict[str, object] = {}
        rubric = dataset.rubric
        data, groups = votes_data(rubric, every, labels, classes)
        model, sel = fit_by_policy(
            data,
            scale,
            select,
            ordinal=rubric.ordinal,
            numeric=rubric.numeric,
            priors=priors,
            groups=groups,
        )
        if sel is not None:
            chosen_model = {
                "error_model": describe_priors(sel.chosen),
                "selection_scores": {
                    describe_priors(c): v for c, v in zip(sel.candidates, sel.scores, strict=True)
                },
            }
        models.append(model)
        fits.append(
            FoldFit(
                fold=f,
                n_labelled=model.n_labelled,
                iterations=model.iterations,
                converged=model.converged,
                n_patterns=model.n_patterns,
                log_likelihood=model.log_likelihood,
                temperature=model.temperature,
                **chosen_model,
                **(extra(f) if extra else {}),
            )
        )
        untempered = model.model_copy(update={"temperature": 1.0})
        for i in np.flatnonzero(fold_of == f):
            if obs[i]:
                p = posterior_from(model, obs[i])
                verdicts[i], modes[i], conf[i] = p.value, p.mode, p.confidence
                q = posterior_from(untempered, obs[i])
                plain[i], plain_conf[i] = q.value, q.confidence
    return CrossFit(verdicts, conf, modes, models, fits, plain, plain_conf)


def production_labels(
    dataset: Dataset,
    fold_of: NDArray[np.int64],
    cap: int,
    audit_rate: float,
    seed: int,
    priors: JuryPriors | None = None,
) -> tuple[Callable[[int], set[int]], Callable[[int], dict[str, int]]]:
    """The production case's label choice: per fold, the other folds' labelled items that
    the unsupervised jury routes to humans (confidence < ROUTING_FLOOR) or the audit draws
    (a fixed uniform draw per item < audit_rate), capped at `cap` (a random subset)."""
    items = dataset.items
    n = len(items)
    start = cross_fit(dataset, np.zeros(n, dtype=np.int64), lambda f: set(), priors)
    routed = start.confidence < ROUTING_FLOOR  # no verdict: confidence 0, routed
    audited = ~routed & (np.random.default_rng(seed).random(n) < audit_rate)
    chosen: dict[int, set[int]] = {}
    counts: dict[int, dict[str, int]] = {}

    def labels_for(f: int) -> set[int]:
        if f not in chosen:
            other = [i for i in range(n) if fold_of[i] != f and items[i].human]
            counts[f] = {
                "n_routed": sum(bool(routed[i]) for i in other),
                "n_audited": sum(bool(audited[i]) for i in other),
            }
            chosen[f] = _sample([i for i in other if routed[i] or audited[i]], cap, seed + f)
        return chosen[f]

    return labels_for, lambda f: counts[f]


def presentations_of(votes: Sequence[Sequence[Vote]]) -> tuple[Presentation, ...]:
    """Every (order, reversed scale) the recorded votes were asked in: a judge not yet
    asked is assumed to answer in each (which can only make the exact rule stop later)."""
    seen = {(v.order, v.reversed_scale) for vs in votes for v in vs}
    return tuple(sorted(seen, key=lambda p: (p[0] or "", p[1])))


def cascade(
    dataset: Dataset,
    fold_of: NDArray[np.int64],
    models: Sequence[JuryModel],
    threshold: float,
) -> list[tuple[Vote, ...]]:
    """Each item's votes collected by the jury asking one judge per wave (file order),
    stopping by `jury_stop_rule` with its fold's model (quorum 1; `threshold` inf: the
    exact rule alone, so the verdict is the parallel jury's)."""
    every = [list(it.votes) for it in dataset.items]
    shown = presentations_of(every)
    plan = waves(list(dataset.judges), 1, 1)
    # A threshold of 0 (every item certified) stops after the first wave: any posterior
    # clears it; jury_stop_rule wants a positive one, and the smallest positive is the same.
    stop_at = max(threshold, math.ulp(0.0))
    rules = [jury_stop_rule(m, shown, threshold=stop_at, quorum=1) for m in models]
    return [ask_in_waves(v, plan, rules[fold_of[i]]) for i, v in enumerate(every)]


def verdicts_of(
    dataset: Dataset,
    fold_of: NDArray[np.int64],
    models: Sequence[JuryModel],
    asked: Sequence[Sequence[Vote]],
) -> list[ScaleValue | None]:
    """The fold model's verdict on each item's collected votes (None without a usable one)."""
    out: list[ScaleValue | None] = []
    for i, votes in enumerate(asked):
        obs = observations(dataset.rubric.scale, votes)
        out.append(posterior_from(models[fold_of[i]], obs).value if obs else None)
    return out


def plurality(dataset: Dataset, votes: Sequence[Vote]) -> ScaleValue | None:
    """The issue's naive baseline: every usable raw vote (judge x order) one vote; the most
    frequent value, None on a tie of the top counts."""
    counts: dict[int, int] = {}
    for v in votes:
        idx = dataset.rubric.index(v.value) if v.usable else None
        if idx is not None:
            counts[idx] = counts.get(idx, 0) + 1
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return dataset.rubric.scale[ranked[0][0]]
