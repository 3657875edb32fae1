"""How much to trust each judge: the Dawid-Skene model and reliability weights.

`dawid_skene` fits the latent-class model of Dawid & Skene (1979), "Maximum Likelihood
Estimation of Observer Error-Rates Using the EM Algorithm", Applied Statistics 28(1):
each item has an unknown true category c (prior p_c), and judge j votes l with
probability theta_j[c, l] (its confusion matrix). EM alternates the posterior of every
item's category (E-step, eq. 2.5) and the priors and confusion matrices given those
posteriors (M-step, eqs. 2.3-2.4), starting from the judges' vote shares (section 3.1).
No human label is used.

`reliability_weights` turns accuracies into weights for `weighted` aggregation. Input is
a code matrix as in `routing.stat_result`: items in rows, judges in columns, scale
indices 0..k-1, NaN where the judge gave no usable vote.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import logsumexp

from routing.stat_result import as_code_matrix, resolve_n_categories

__all__ = [
    "DS_MAX_ITER",
    "MAX_WEIGHT",
    "MIN_WEIGHT",
    "DawidSkeneResult",
    "ReliabilityWeights",
    "WeightSource",
    "dawid_skene",
    "log_odds_weight",
    "reliability_weights",
]

DS_MAX_ITER = 10_000
"""EM rounds `dawid_skene` allows by default. Convergence is linear and slow where classes
overlap: 3- and 4-class panels routinely need 600-900 rounds to move no entry by more than
1e-6, so a cap of 100 stopped far from the fixed point. A fit that still has not converged
says so (`converged`), and `reliability_weights` logs a warning before using it."""

log = logging.getLogger(__name__)

MIN_WEIGHT = 0.05
"""Floor of a reliability weight. At or below chance accuracy the log-odds weight is zero
or negative; a plurality vote cannot use a negative weight (the optimal rule would invert
the judge's vote, which is not a verdict on the scale), so such a judge is all but muted,
and `aggregate` requires weights > 0."""
MAX_WEIGHT = 5.0
"""Ceiling of a reliability weight: log-odds 5 is accuracy 0.993 on a binary scale. A
judge that happened to match every human label in a small sample would otherwise get an
infinite weight and decide every item alone."""

WeightSource = Literal["human", "dawid_skene", "prior"]
"""Where a weight came from: agreement with human labels, the Dawid-Skene accuracy, or the
configured prior (no usable vote to estimate from)."""


class DawidSkeneResult(BaseModel):
    """A fitted Dawid-Skene model. Judges and items are in the order of the code matrix."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    n_categories: int = Field(ge=2)
    """Scale size k."""
    class_priors: tuple[float, ...]
    """p_c: estimated share of items whose true category is c."""
    confusion: tuple[tuple[tuple[float, ...], ...], ...]
    """confusion[j][c][l]: probability that judge j votes l when the true category is c
    (rows sum to 1)."""
    posteriors: tuple[tuple[float, ...], ...]
    """posteriors[i][c]: probability that item i's true category is c given all votes.
    Items without a usable vote get the class priors."""
    accuracy: tuple[float | None, ...]
    """Per judge, the expected share of its votes that are correct:
    sum over its votes of the posterior of the voted category, / its number of votes.
    None for a judge without a usable vote."""
    n_votes: tuple[int, ...]
    """Usable votes per judge."""
    iterations: int = Field(ge=0)
    """EM rounds run (each an M-step then an E-step)."""
    converged: bool
    """True when the largest change in any prior or confusion entry fell below `tol`."""
    log_likelihood: float
    """Observed-data log-likelihood of the votes at the final parameters (eq. 2.7)."""

    def posterior_array(self) -> NDArray[np.float64]:
        """Posteriors as an (items, k) array."""
        return np.array(self.posteriors, dtype=np.float64).reshape(-1, self.n_categories)

    def labels(self) -> NDArray[np.float64]:
        """The most probable category per item (the lowest index on an exact tie)."""
        return self.posterior_array().argmax(axis=1).astype(np.float64)


class ReliabilityWeights(BaseModel):
    """One weight per judge (code-matrix column order), with where each came from."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    judges: tuple[str, ...]
    """Judge names, one per column (`j0`, `j1`, ... when none were given)."""
    weights: tuple[float, ...]
    """Positive weights in [MIN_WEIGHT, MAX_WEIGHT] (a prior may lie outside)."""
    sources: tuple[WeightSource, ...]
    accuracy: tuple[float | None, ...]
    """The accuracy each weight was computed from; None for a prior."""
    n_human: tuple[int, ...]
    """Items with both a usable vote of the judge and a human label."""
    dawid_skene_converged: bool | None = None
    """Whether the Dawid-Skene fit behind the `dawid_skene` weights converged; None when no
    weight came from it."""

    def as_dict(self) -> dict[str, float]:
        """Judge name -> weight, as `routing.outcome.conclude` takes it."""
        return dict(zip(self.judges, self.weights, strict=True))


def dawid_skene(
    codes: ArrayLike,
    n_categories: int,
    *,
    max_iter: int = DS_MAX_ITER,
    tol: float = 1e-6,
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """Fit Dawid & Skene's model by EM to a code matrix (items x judges, NaN = missing).

    `smoothing` is a pseudo-count added to every confusion cell and class prior (a
    symmetric Dirichlet prior), so that a category a judge never used does not get
    probability 0 and veto every item where that judge used it; EM then climbs the
    smoothed (posterior) likelihood, so the reported raw log-likelihood may dip slightly
    at the end. Three or more judges are needed for the model to be identifiable; with two,
    EM wanders along a ridge of equally likely fits and may not converge.
    """
    arr = as_code_matrix(codes)
    if isinstance(n_categories, bool) or not isinstance(n_categories, int):
        raise ValueError(f"n_categories must be an int; got {n_categories!r}")
    present = ~np.isnan(arr)
    if not present.any():
        raise ValueError("codes holds no usable vote (all NaN)")
    k = resolve_n_categories(float(np.nanmax(arr)), n_categories)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int; got {max_iter!r}")
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive and finite; got {tol!r}")
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"smoothing must be non-negative and finite; got {smoothing!r}")

    # Items with identical votes are one pattern with a count, so each EM round costs
    # O(distinct patterns x judges x k), not O(items): a 2-judge panel on 3 values has at
    # most 16 patterns however many items it judged.
    voted: NDArray[np.bool_] = np.asarray(present.any(axis=1), dtype=np.bool_)
    filled = np.where(present, arr, -1).astype(np.int64)
    patterns, inverse, counts = np.unique(
        filled[voted], axis=0, return_inverse=True, return_counts=True
    )
    inverse = np.asarray(inverse).reshape(-1)
    weight = counts.astype(np.float64)
    # votes[p, j, l] = 1 when judge j voted l in pattern p.
    votes = ((patterns[:, :, None] == np.arange(k)) & (patterns >= 0)[:, :, None]).astype(
        np.float64
    )
    per_pattern = votes.sum(axis=1)  # patterns x k vote counts
    post = per_pattern / per_pattern.sum(axis=1, keepdims=True)

    priors, confusion = _m_step(votes, post, weight, smoothing)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - read after the loop
        post, _ = _e_step(votes, priors, confusion)
        new_priors, new_confusion = _m_step(votes, post, weight, smoothing)
        change = max(
            float(np.abs(new_priors - priors).max()),
            float(np.abs(new_confusion - confusion).max()),
        )
        priors, confusion = new_priors, new_confusion
        if change < tol:
            converged = True
            break
    post, loglik = _e_step(votes, priors, confusion)
    item_post = np.tile(priors, (arr.shape[0], 1))
    item_post[voted] = post[inverse]

    n_votes = present.sum(axis=0)
    correct = np.einsum("pjl,pl,p->j", votes, post, weight)
    accuracy = tuple(
        float(correct[j] / n_votes[j]) if n_votes[j] else None for j in range(arr.shape[1])
    )
    return DawidSkeneResult(
        n_categories=k,
        class_priors=tuple(float(p) for p in priors),
        confusion=tuple(tuple(tuple(float(x) for x in row) for row in cm) for cm in confusion),
        posteriors=tuple(tuple(float(x) for x in row) for row in item_post),
        accuracy=accuracy,
        n_votes=tuple(int(n) for n in n_votes),
        iterations=iterations,
        converged=converged,
        log_likelihood=float((weight * loglik).sum()),
    )


def _m_step(
    votes: NDArray[np.float64],
    post: NDArray[np.float64],
    weight: NDArray[np.float64],
    smoothing: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Priors (k,) and confusion matrices (judges, k, k) from the patterns' posteriors,
    each pattern weighted by its number of items."""
    k = post.shape[1]
    priors = (weight @ post + smoothing) / (weight.sum() + k * smoothing)
    confusion = np.einsum("pc,pjl->jcl", post * weight[:, None], votes) + smoothing
    totals = confusion.sum(axis=2, keepdims=True)
    # A judge that never voted on an item of category c keeps a uniform row (0/0 otherwise).
    confusion = np.divide(confusion, totals, out=np.full_like(confusion, 1.0 / k), where=totals > 0)
    return priors, confusion


def _e_step(
    votes: NDArray[np.float64], priors: NDArray[np.float64], confusion: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Posteriors (patterns, k) and each pattern's log-likelihood, in log space."""
    with np.errstate(divide="ignore"):
        log_conf = np.log(confusion)
        log_prior = np.log(priors)
    # log_joint[i, c] = log p_c + sum_j sum_l votes[i, j, l] log theta_j[c, l]; 0 * -inf = 0.
    terms = np.einsum("ijl,jcl->ic", votes, np.where(np.isfinite(log_conf), log_conf, -1e300))
    log_joint = log_prior[None, :] + terms
    loglik = logsumexp(log_joint, axis=1)
    post = np.exp(log_joint - loglik[:, None])
    return post, loglik


def log_odds_weight(accuracy: float, n_categories: int) -> float:
    """log(acc (k - 1) / (1 - acc)), clipped to [MIN_WEIGHT, MAX_WEIGHT].

    Under a symmetric k-class noise model (a judge is right with probability acc and
    otherwise picks each wrong category with probability (1 - acc) / (k - 1)), weighting
    each vote by this log-likelihood ratio makes the weighted plurality the most likely
    category (Nitzan & Paroush 1982, optimal weighted majority; the k-class form is the
    same likelihood-ratio argument). Zero at chance (acc = 1/k).
    """
    if not 0.0 <= accuracy <= 1.0 or math.isnan(accuracy):
        raise ValueError(f"accuracy must be in [0, 1]; got {accuracy!r}")
    if n_categories < 2:
        raise ValueError(f"n_categories must be at least 2; got {n_categories}")
    if accuracy >= 1.0:
        return MAX_WEIGHT
    if accuracy <= 0.0:
        return MIN_WEIGHT
    raw = math.log(accuracy * (n_categories - 1) / (1.0 - accuracy))
    return min(max(raw, MIN_WEIGHT), MAX_WEIGHT)


def reliability_weights(
    codes: ArrayLike,
    n_categories: int,
    *,
    human: ArrayLike | None = None,
    judges: Sequence[str] | None = None,
    min_human: int = 30,
    priors: Sequence[float] | None = None,
    ds: DawidSkeneResult | None = None,
) -> ReliabilityWeights:
    """A weight per judge for `weighted` aggregation, with the source of each.

    `codes` is items x judges; `human` (optional) holds one human reference code per item,
    NaN where an item has none. A judge's accuracy is its share of votes equal to the
    human label when it has at least `min_human` items with both (the direct measurement
    the product asks for once reviewers have decided enough items); otherwise its
    Dawid-Skene accuracy, estimated from agreement with the rest of the panel (fitted
    here to convergence unless `ds`, fitted on the same codes, is given). A judge without a
    usable vote keeps its prior (`priors`, default 1.0). The weight is
    `log_odds_weight(accuracy)`. If the Dawid-Skene fit did not converge (two judges, for
    instance, do not identify the model) its accuracies are still used, but a warning is
    logged naming the rounds run and `dawid_skene_converged` is False: they are not a
    fixed point of EM.
    """
    arr = as_code_matrix(codes, min_raters=1)
    n_items, n_judges = arr.shape
    present = ~np.isnan(arr)
    if present.any():
        resolve_n_categories(float(np.nanmax(arr)), n_categories)
    elif n_categories < 2:
        raise ValueError(f"n_categories must be at least 2; got {n_categories}")
    if min_human < 1:
        raise ValueError(f"min_human must be at least 1; got {min_human}")
    names = tuple(judges) if judges is not None else tuple(f"j{j}" for j in range(n_judges))
    if len(names) != n_judges or len(set(names)) != n_judges:
        raise ValueError(f"judges must name the {n_judges} columns once each; got {names}")
    prior = tuple(float(p) for p in priors) if priors is not None else (1.0,) * n_judges
    if len(prior) != n_judges or not all(math.isfinite(p) and p > 0 for p in prior):
        raise ValueError(f"priors must be {n_judges} positive finite weights; got {prior}")

    ref = np.full(n_items, np.nan)
    if human is not None:
        ref = np.asarray(human, dtype=np.float64)
        if ref.shape != (n_items,):
            raise ValueError(f"human must have one entry per item ({n_items}); got {ref.shape}")
        known = ref[~np.isnan(ref)]
        if np.any(known < 0) or np.any(known != np.round(known)) or np.any(known >= n_categories):
            raise ValueError(f"human codes must be integers in 0..{n_categories - 1} or NaN")
    labelled = present & ~np.isnan(ref)[:, None]
    n_human = labelled.sum(axis=0)

    need_ds = [j for j in range(n_judges) if n_human[j] < min_human and present[:, j].any()]
    if need_ds and ds is None and n_judges >= 2:
        ds = dawid_skene(arr, n_categories)
    if ds is not None and len(ds.accuracy) != n_judges:
        raise ValueError(f"ds was fitted on {len(ds.accuracy)} judges, codes have {n_judges}")

    if ds is not None and not ds.converged and need_ds:
        log.warning(
            "Dawid-Skene did not converge in %d EM rounds; the weights of %d judge(s) "
            "without %d human labels come from an unconverged fit",
            ds.iterations,
            len(need_ds),
            min_human,
        )
    weights: list[float] = []
    sources: list[WeightSource] = []
    accuracy: list[float | None] = []
    for j in range(n_judges):
        acc: float | None = None
        source: WeightSource = "prior"
        if n_human[j] >= min_human:
            hits = arr[labelled[:, j], j] == ref[labelled[:, j]]
            acc, source = float(hits.mean()), "human"
        elif ds is not None and ds.accuracy[j] is not None:
            acc, source = ds.accuracy[j], "dawid_skene"
        weights.append(prior[j] if acc is None else log_odds_weight(acc, n_categories))
        sources.append(source)
        accuracy.append(acc)
    return ReliabilityWeights(
        judges=names,
        weights=tuple(weights),
        sources=tuple(sources),
        accuracy=tuple(accuracy),
        n_human=tuple(int(n) for n in n_human),
        dawid_skene_converged=(
            ds.converged if ds is not None and "dawid_skene" in sources else None
        ),
    )
