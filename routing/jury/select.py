"""Choosing the jury's error model on held-out scores of the human labels.

`select` scores candidate `JuryPriors` by K-fold cross-validation over the labelled items
of pattern-grouped training data: for each inner fold the held-out items' labels are
removed (their votes stay, as unlabelled items), each candidate is fitted, and scored on
the held-out labels by a proper scoring rule (`rule_for`: the log score, or the ranked
probability score on ordinal scales of more than two classes). The best mean wins; on an
exact tie, or with fewer than `MIN_LABELS` labelled items, the first candidate (the
default) is kept. Only votes and labels a deployment has enter, and no accuracy on any
held-out set is looked at. `candidates_for` is the fixed menu, the same for every panel
of a kind of scale.

Where it runs (`selects`, the `Selection` policy "scale", the service's and the
backtest's default): on nominal, binary and pairwise scales, where the verdict is the
posterior mode and the log score is the proper score of the posterior that mode is read
from; not on ordinal scales of more than two values, where the verdict is the posterior
median and Quorum's figure is the quadratic kappa, which no proper score of the
posterior tried (log, RPS) tracks: choosing by the RPS lowered the kappa on 5 of 6 hanna
criteria. docs/statistics.md has the figures, and says that this split was seen in them
before its reason was written down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

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
    "ScoringRule",
    "Selection",
    "candidates_for",
    "describe_priors",
    "fit_by_policy",
    "fit_selected",
    "ranked_probability_score",
    "rule_for",
    "select",
    "selects",
]

SELECTION_FOLDS = 5
"""Inner folds of the cross-validation."""
MIN_LABELS = 20
"""Fewer labelled items than this: no selection, the first candidate."""
_FLOOR = 1e-12
"""Probability floor of a held-out label (log 1e-12 = -27.6 nats at worst)."""


ScoringRule = Literal["log", "rps"]
Selection = Literal["scale", "all", "none"]
"""Where the error model is chosen on held-out labels: "scale" (the default: every scale
but ordinal ones of more than two values), "all" or "none" (the fixed default prior)."""


def selects(selection: Selection, ordinal: bool, n_values: int) -> bool:
    """Whether a panel's error model is chosen on held-out labels under `selection`."""
    if selection == "scale":
        return not (ordinal and n_values > 2)
    return selection == "all"


def rule_for(ordinal: bool, n_classes: int) -> ScoringRule:
    """The ranked probability score (Epstein 1969) on ordinal scales of more than two
    classes, the log score otherwise. Both are proper; the RPS is bounded and counts how
    far on the scale the probability lies from the label, where the log score counts only
    the probability on the label, so one confidently wrong posterior (correlated judges
    make many: docs/statistics.md) can outweigh everything else."""
    return "rps" if ordinal and n_classes > 2 else "log"


def ranked_probability_score(
    probs: NDArray[np.float64], label: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per row, sum_k (F_k - O_k)^2 over the first C - 1 cumulative shares of the forecast
    `probs` and of the label distribution (Epstein 1969, unnormalised; 0 is perfect)."""
    gap = np.cumsum(np.asarray(probs) - np.asarray(label), axis=1)[:, :-1]
    return np.asarray((gap**2).sum(axis=1), dtype=np.float64)


class PriorSelection(BaseModel):
    """The chosen priors and each candidate's cross-validated log score."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    candidates: tuple[JuryPriors, ...]
    """The menu, in the order of the scores."""
    chosen: JuryPriors
    index: int
    """Position of `chosen` among the candidates."""
    rule: ScoringRule
    """The scoring rule that chose."""
    scores: tuple[float, ...]
    """Per candidate, the mean held-out score by `rule` (higher is better; NaN: not run)."""
    log_scores: tuple[float, ...]
    """Per candidate, mean held-out log P(label | votes) per labelled item."""
    rps_scores: tuple[float, ...]
    """Per candidate, mean held-out negative ranked probability score per labelled item."""
    n_labelled: int
    """Labelled items the selection ran over."""


def candidates_for(
    n_observed: int, ordinal: bool, base: JuryPriors | None = None
) -> tuple[JuryPriors, ...]:
    """The menu: `base` (the default: each confusion matrix shrunk with s = L towards one
    accuracy per worker) and the parsimonious models alone, which cannot overfit a
    confusion matrix: one accuracy per worker (s = inf); on ordinal scales of more than two
    values the discretised-normal error model (a bias and a spread per worker); and one
    accuracy for the whole panel (`shared_accuracy`: the equal-judges model, whose verdict
    is the plurality of the votes). Then each of these estimated from the labelled items
    alone (`unlabelled_weight` 0).

    Why the equal-judges model: it is the end of the hierarchy (full matrices, shrunk, one
    accuracy per worker, one for all), with a single parameter. Weights estimated from a
    few hundred items often lose to equal weights, because their estimation error costs
    more than the differences they find ("the forecast combination puzzle": Clemen 1989,
    Smith & Wallis 2009), and accuracies EM estimates from agreement are inflated for
    judges that are wrong together; equal weights have neither problem. Without it a
    panel could not choose the naive vote even where the labels say it predicts best.

    Why the labels-only variants: EM on unlabelled items helps only as far as the model is
    right (Cozman & Cohen 2003, "unlabeled data can degrade classification performance of
    generative classifiers"). Judges whose errors are correlated agree on items where they
    are wrong together, and EM reads that agreement as accuracy; estimated on human
    verdicts alone, their confusion matrices are not inflated by it. Which of them
    predicts the held-out labels better is what the selection measures."""
    pri = base or JuryPriors()
    coin = {"shrinkage": math.inf, "ordinal_target": False}
    out = [pri, pri.model_copy(update={**coin, "shared_accuracy": False})]
    if ordinal and n_observed > 2:
        out.append(pri.model_copy(update={**coin, "ordinal_target": True}))
    out.append(pri.model_copy(update={**coin, "shared_accuracy": True}))
    out += [c.model_copy(update={"unlabelled_weight": 0.0}) for c in out]
    return tuple(dict.fromkeys(out))


def describe_priors(priors: JuryPriors) -> str:
    """A candidate's name: `one-coin`, `full`, `shrunk` (s = L), `ordinal`, `ordinal-shrunk`,
    `equal judges` (one accuracy for the panel), `shared accuracy` (shrunk towards it), or
    the shrinkage figure; followed by ` labels-only` when it is estimated from the
    labelled items alone."""
    if priors.unlabelled_weight == 0.0:
        return (
            describe_priors(priors.model_copy(update={"unlabelled_weight": 1.0})) + " labels-only"
        )
    s = priors.shrinkage
    if priors.shared_accuracy:
        return "equal judges" if s is not None and math.isinf(s) else "shared accuracy"
    if priors.ordinal_target:
        return "ordinal" if s is not None and math.isinf(s) else "ordinal-shrunk"
    if s is None:
        return "shrunk"
    if math.isinf(s):
        return "one-coin"
    return "full" if s == 0 else f"shrinkage {s:g}"


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
    rule: ScoringRule | None = None,
) -> PriorSelection:
    """The candidate with the best K-fold held-out score of the labelled items, by `rule`
    (default `rule_for`: the ranked probability score on ordinal scales of more than two
    classes, the log score otherwise); both scores are reported."""
    if not candidates:
        raise ValueError("select needs at least one candidate")
    n_c = len(data.classes)
    rule = rule or rule_for(ordinal, n_c)
    rows = np.flatnonzero(data.labelled)
    units = np.repeat(rows, np.round(data.count[rows]).astype(np.int64))
    nan = (math.nan,) * len(candidates)
    if len(candidates) == 1 or units.size < max(min_labels, folds):
        return PriorSelection(
            candidates=tuple(candidates), chosen=candidates[0], index=0, rule=rule,
            scores=nan, log_scores=nan, rps_scores=nan, n_labelled=units.size,
        )  # fmt: skip
    fold_of = np.random.default_rng(seed).permutation(units.size) % folds
    splits = []
    for g in range(folds):
        held = np.bincount(units[fold_of == g], minlength=data.n_rows).astype(np.float64)
        splits.append((*_held_out(data, rows, held), held))
    logs: list[float] = []
    rpss: list[float] = []
    for pri in candidates:
        log_total = rps_total = 0.0
        for split, copies, held in splits:
            model = fit(split, scale, ordinal=ordinal, numeric=numeric, priors=pri, groups=groups)
            log_post = log_joint_rows(split, model, copies)
            origin = rows[held[rows] > 0]
            label = data.label[origin]
            log_item = (label * np.maximum(log_post, math.log(_FLOOR))).sum(axis=1)
            rps_item = -ranked_probability_score(np.exp(log_post), label)
            log_total += float((held[origin] * log_item).sum())
            rps_total += float((held[origin] * rps_item).sum())
        logs.append(log_total / units.size)
        rpss.append(rps_total / units.size)
    scores = rpss if rule == "rps" else logs
    best = max(range(len(candidates)), key=lambda k: (scores[k], -k))
    return PriorSelection(
        candidates=tuple(candidates),
        chosen=candidates[best],
        index=best,
        rule=rule,
        scores=tuple(scores),
        log_scores=tuple(logs),
        rps_scores=tuple(rpss),
        n_labelled=int(units.size),
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


def fit_by_policy(
    data: JuryData,
    scale: Sequence[ScaleValue],
    selection: Selection,
    *,
    ordinal: bool,
    numeric: bool,
    priors: JuryPriors | None = None,
    groups: Mapping[Worker, str] | None = None,
) -> tuple[JuryModel, PriorSelection | None]:
    """The model the service and the backtest fit under a `Selection` policy: where
    `selects` says, the error model chosen among `candidates_for(..., priors)` on held-out
    labels (with the selection); elsewhere `priors` as given (and None)."""
    if selects(selection, ordinal, len(scale)):
        menu = candidates_for(len(scale), ordinal, priors)
        return fit_selected(data, scale, menu, ordinal=ordinal, numeric=numeric, groups=groups)
    model = fit(data, scale, ordinal=ordinal, numeric=numeric, priors=priors, groups=groups)
    return model, None
