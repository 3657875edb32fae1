"""Choosing the jury's error model on held-out likelihood of the human labels.

`select` scores candidate `JuryPriors` by K-fold cross-validation over the labelled items
of pattern-grouped training data: for each inner fold the held-out items' labels are
removed (their votes stay, as unlabelled items), each candidate is fitted, and scored by
the mean log posterior probability of the held-out human labels given the votes (the log
score, a proper scoring rule: it rewards a model for putting probability where humans
do, not for confident argmaxes). The best mean wins; on an exact tie, or with fewer than
`MIN_LABELS` labelled items, the first candidate (the default) is kept. Only votes and
labels the deployment has enter, so the service runs it at every refit; no accuracy on
any held-out set is looked at. `candidates_for` is the fixed menu, the same for every
panel of a kind of scale (docs/statistics.md says why these).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from routing.jury.data import JuryData
from routing.jury.fit import fit, log_joint_rows
from routing.jury.model import JuryModel, JuryPriors, Worker
from rubrics import ScaleValue

__all__ = [
    "MIN_LABELS",
    "SELECTION_FOLDS",
    "PriorSelection",
    "candidates_for",
    "fit_selected",
    "select",
]

SELECTION_FOLDS = 5
"""Inner folds of the cross-validation."""
MIN_LABELS = 20
"""Fewer labelled items than this: no selection, the first candidate."""
_FLOOR = 1e-12
"""Probability floor of a held-out label (log 1e-12 = -27.6 nats at worst)."""


class PriorSelection(BaseModel):
    """The chosen priors and each candidate's cross-validated log score."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    chosen: JuryPriors
    index: int
    """Position of `chosen` among the candidates."""
    scores: tuple[float, ...]
    """Per candidate, mean held-out log P(label | votes) per labelled item (NaN: not run)."""
    n_labelled: int
    """Labelled items the selection ran over."""


def candidates_for(
    n_observed: int, ordinal: bool, base: JuryPriors | None = None
) -> tuple[JuryPriors, ...]:
    """The menu: `base` (the default shrinkage s = L towards one accuracy per worker), the
    full confusion matrix (s = 0) and the one-accuracy model alone (s = inf); on ordinal
    scales of more than two values also the discretised-normal error model alone (a bias
    and a spread per worker) and the full matrix shrunk towards it (s = L)."""
    pri = base or JuryPriors()
    out = [
        pri,
        pri.model_copy(update={"shrinkage": 0.0}),
        pri.model_copy(update={"shrinkage": math.inf}),
    ]
    if ordinal and n_observed > 2:
        out += [
            pri.model_copy(update={"ordinal_target": True, "shrinkage": math.inf}),
            pri.model_copy(update={"ordinal_target": True, "shrinkage": None}),
        ]
    return tuple(out)


def _held_out(
    data: JuryData, rows: NDArray[np.int64], held: NDArray[np.float64]
) -> tuple[JuryData, NDArray[np.int64]]:
    """`data` with `held[r]` of each labelled row r's items moved to an unlabelled copy of
    r (appended); returns it and the copies' row numbers."""
    n_r = data.n_rows
    take = rows[held[rows] > 0]
    copy_of = {int(r): n_r + k for k, r in enumerate(take)}
    count = data.count.copy()
    count[take] -= held[take]
    hard = np.isin(data.hard_row, take)
    soft = np.isin(data.soft_row, take)
    remap = np.vectorize(copy_of.__getitem__, otypes=[np.int64])
    n_c = len(data.classes)
    new = JuryData(
        workers=data.workers,
        n_observed=data.n_observed,
        classes=data.classes,
        count=np.concatenate([count, held[take]]),
        hard_row=np.concatenate(
            [data.hard_row, remap(data.hard_row[hard]) if hard.any() else []]
        ).astype(np.int64),
        hard_worker=np.concatenate([data.hard_worker, data.hard_worker[hard]]),
        hard_code=np.concatenate([data.hard_code, data.hard_code[hard]]),
        soft_row=np.concatenate(
            [data.soft_row, remap(data.soft_row[soft]) if soft.any() else []]
        ).astype(np.int64),
        soft_worker=np.concatenate([data.soft_worker, data.soft_worker[soft]]),
        soft_probs=np.concatenate([data.soft_probs, data.soft_probs[soft]]),
        label=np.concatenate([data.label, np.full((take.size, n_c), np.nan)]),
    )
    return new, np.array([copy_of[int(r)] for r in take], dtype=np.int64)


def select(
    data: JuryData,
    scale: Sequence[ScaleValue],
    candidates: Sequence[JuryPriors],
    *,
    ordinal: bool,
    numeric: bool,
    groups: Mapping[Worker, str] | None = None,
    folds: int = SELECTION_FOLDS,
    seed: int = 0,
    min_labels: int = MIN_LABELS,
) -> PriorSelection:
    """The candidate with the best K-fold held-out log score of the labelled items."""
    if not candidates:
        raise ValueError("select needs at least one candidate")
    rows = np.flatnonzero(data.labelled)
    units = np.repeat(rows, np.round(data.count[rows]).astype(np.int64))
    nan = (math.nan,) * len(candidates)
    if len(candidates) == 1 or units.size < max(min_labels, folds):
        return PriorSelection(chosen=candidates[0], index=0, scores=nan, n_labelled=units.size)
    fold_of = np.random.default_rng(seed).permutation(units.size) % folds
    splits = []
    for g in range(folds):
        held = np.bincount(units[fold_of == g], minlength=data.n_rows).astype(np.float64)
        splits.append((*_held_out(data, rows, held), held))
    scores: list[float] = []
    for pri in candidates:
        total = 0.0
        for split, copies, held in splits:
            model = fit(split, scale, ordinal=ordinal, numeric=numeric, priors=pri, groups=groups)
            log_post = log_joint_rows(split, model, copies)
            origin = rows[held[rows] > 0]
            total += float(
                (
                    held[origin]
                    * (data.label[origin] * np.maximum(log_post, math.log(_FLOOR))).sum(1)
                ).sum()
            )
        scores.append(total / units.size)
    best = max(range(len(candidates)), key=lambda k: (scores[k], -k))
    return PriorSelection(
        chosen=candidates[best], index=best, scores=tuple(scores), n_labelled=int(units.size)
    )


def fit_selected(
    data: JuryData,
    scale: Sequence[ScaleValue],
    candidates: Sequence[JuryPriors],
    *,
    ordinal: bool,
    numeric: bool,
    groups: Mapping[Worker, str] | None = None,
    seed: int = 0,
) -> tuple[JuryModel, PriorSelection]:
    """`select`, then the chosen candidate fitted on all of `data`."""
    sel = select(
        data, scale, candidates, ordinal=ordinal, numeric=numeric, groups=groups, seed=seed
    )
    model = fit(data, scale, ordinal=ordinal, numeric=numeric, priors=sel.chosen, groups=groups)
    return model, sel
