"""Calibrating the confidence threshold against human verdicts, with a guarantee.

The method is that of Jung, Brahman & Choi, "Trust or Escalate: LLM Judges with Provable
Guarantees for Human Agreement" (ICLR 2025, arXiv 2407.18370), section 2. Given n items
that humans reviewed, each with the panel's confidence c_i and whether the panel's
verdict agreed with the human (a_i = 1) or not (a_i = 0), `calibrate` picks the lowest
threshold lambda such that, with probability at least 1 - delta over the draw of those
items,

    P(the panel disagrees with the human | c >= lambda) <= alpha

for a future item. Items at or above lambda are auto-decided; the rest go to humans.

Method (fixed-sequence testing). For a candidate lambda, let n(lambda) be the number of
calibration items with c >= lambda and k(lambda) the disagreements among them. The null
hypothesis H0(lambda): "the risk above lambda exceeds alpha" has the exact binomial
p-value p(lambda) = P(Bin(n(lambda), alpha) <= k(lambda)). Candidates are tested from
the highest (most conservative) down, while p <= delta; the answer is the lowest one
reached before the first failure. Testing in a fixed order and stopping at the first
failure controls the family-wise error at delta with no multiplicity correction, so
every certified threshold, the chosen one included, has risk <= alpha with probability
at least 1 - delta. p(lambda) <= delta exactly when the one-sided Clopper-Pearson upper
bound on the risk at level 1 - delta is <= alpha, which is how the paper states it.

Candidates are the distinct observed confidences (a threshold between two of them
selects the same items as the one above it), optionally thinned to `max_candidates`
quantiles. The grid uses the confidences only, never the agreement labels.

Where the walk starts. A candidate is tested only when enough items lie at or above it
that one disagreement among them could still pass (`min_robust_items`: the smallest n
with P(Bin(n, alpha) <= 1) <= delta; 18 for alpha = 0.2, 38 for alpha = 0.1 and 77 for
alpha = 0.05, at delta = 0.1). Candidates with fewer items above are skipped, not failed.
The reason is the walk's one weakness: it ends at its first failure, so a walk that
began where a single disagreement fails would let one item (a hard case, or one
reviewer's slip, which counts as a disagreement) decide the whole calibration. The floor
depends on alpha and delta only, never on the data, so the sequence is still fixed
before any label is read and the guarantee is unchanged; it is a choice of power. An
explicit `min_items` replaces it with max(min_items, `min_certifiable_items`), the
fewest items that could pass with no disagreement at all (the paper's released code
uses 30). If the first tested candidate fails (or none has enough items), nothing is
certified: the threshold is +inf, coverage 0, and every item goes to humans.

Assumptions, and how to meet them:

- Exchangeability: calibration items and future items are draws from the same
  distribution. The guarantee is void after a change of judges, prompts, rubric or
  aggregation, or a shift in traffic; recalibrate on items judged under the current
  panel. It bounds the disagreement rate of future items on average, not the rate seen
  in every window (a finite window can exceed alpha by chance), and not for each item.
- An unselected sample: the calibration items must be a random sample, drawn with a
  probability that does not depend on the confidence, the verdict or the content, of the
  traffic the threshold gates (items that pass the quorum, agreement and position
  checks). Human verdicts on items that were routed to humans *because* they looked
  uncertain (low confidence, low agreement, below quorum, position-inconsistent) are a
  biased sample: they are selected by the panel's own signals and say nothing about the
  items above the current floor. Do not pool them in.
- Using the audit sample: Quorum's `audit_rate` sends a random share of otherwise
  auto-decided items to humans, drawn from a hash of the evaluation id; those audited
  items are such a sample, but only of confidences at or above the floor in force when
  they were drawn, so on their own they can certify only thresholds at or above that
  floor. Items below the floor that failed no other check were all reviewed anyway;
  keep those whose audit draw is below the same `audit_rate`. Audited items plus these
  form one uniform sample at rate `audit_rate` of the whole gated traffic, at every
  confidence, and that is the input here.
- The human verdict is the reference: reviewer error counts as panel disagreement.
  Reviewers should not see the panel's verdict or confidence, or agreement is inflated.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import beta as beta_dist
from scipy.stats import binom

from routing.calibration_floor import (
    check_unit,
    min_certifiable_items,
    min_robust_items,
    reviews_to_certify,
    testing_floor,
)

__all__ = [
    "Calibration",
    "CurvePoint",
    "calibrate",
    "disagreement_p_value",
    "min_certifiable_items",
    "min_robust_items",
    "reviews_to_certify",
    "risk_upper_bound",
    "testing_floor",
]


class CurvePoint(BaseModel):
    """One candidate threshold on the routing curve: what auto-deciding at or above it buys
    (coverage) and costs (risk), with its test."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    threshold: float
    """The candidate confidence threshold (an observed confidence)."""
    n_above: int = Field(ge=1)
    """Calibration items with confidence >= threshold."""
    disagreements: int = Field(ge=0)
    """Of those, items where the panel's verdict differed from the human's."""
    coverage: float = Field(ge=0.0, le=1.0)
    """n_above / n_items: the share that would be auto-decided."""
    risk: float = Field(ge=0.0, le=1.0)
    """disagreements / n_above: the empirical disagreement rate above the threshold."""
    p_value: float = Field(ge=0.0, le=1.0)
    """P(Bin(n_above, alpha) <= disagreements): the p-value of H0 "risk > alpha"."""
    tested: bool
    """Whether the walk tested it (enough items above; see `Calibration.min_testable`)."""
    certified: bool
    """Whether it was tested and passed before the walk's first failure."""


class Calibration(BaseModel):
    """The calibrated threshold, its guarantee, and the routing curve it was chosen from."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    threshold: float
    """Auto-decide items with confidence >= threshold; +inf when nothing is certified."""
    certified: bool
    """True when some threshold passed; False means route every item to humans."""
    alpha: float = Field(gt=0.0, lt=1.0)
    """The target disagreement rate among auto-decided items."""
    delta: float = Field(gt=0.0, lt=1.0)
    """The allowed probability that the guarantee fails (the test's error rate)."""
    n_items: int = Field(ge=1)
    """Calibration items (human-reviewed)."""
    n_above: int = Field(ge=0)
    """Calibration items with confidence >= threshold (0 when not certified)."""
    disagreements: int = Field(ge=0)
    """Disagreements with the human among those items."""
    coverage: float = Field(ge=0.0, le=1.0)
    """n_above / n_items: the share of calibration items the threshold auto-decides."""
    risk: float
    """Empirical disagreement rate above the threshold; NaN when no item is above."""
    risk_upper: float = Field(ge=0.0, le=1.0)
    """One-sided Clopper-Pearson upper bound on that rate at level 1 - delta (<= alpha
    when certified; 1.0 when no item is above)."""
    p_value: float
    """The binomial p-value at the threshold (<= delta when certified); NaN when not."""
    min_items: int | None = Field(default=None, ge=1)
    """The requested minimum number of items above a candidate before testing it; None
    for the default, `min_robust_items(alpha, delta)`."""
    min_testable: int = Field(ge=1)
    """The minimum actually applied (`testing_floor`)."""
    curve: tuple[CurvePoint, ...]
    """Every candidate, highest threshold first: the routing curve (coverage vs risk)."""


def disagreement_p_value(n_above: int, disagreements: int, alpha: float) -> float:
    """The exact binomial p-value of H0 "risk > alpha": P(Bin(n_above, alpha) <= k)."""
    check_unit("alpha", alpha)
    if n_above < 1 or not 0 <= disagreements <= n_above:
        raise ValueError(
            f"need n_above >= 1 and 0 <= disagreements <= n_above; "
            f"got {n_above} and {disagreements}"
        )
    return float(binom.cdf(disagreements, n_above, alpha))


def risk_upper_bound(n_above: int, disagreements: int, delta: float) -> float:
    """One-sided Clopper-Pearson upper bound, at level 1 - delta, on a disagreement rate
    from `disagreements` of `n_above` items; 1.0 when n_above is 0."""
    check_unit("delta", delta)
    if n_above < 0 or not 0 <= disagreements <= n_above:
        raise ValueError(
            f"need n_above >= 0 and 0 <= disagreements <= n_above; "
            f"got {n_above} and {disagreements}"
        )
    if disagreements >= n_above:
        return 1.0
    return float(beta_dist.ppf(1.0 - delta, disagreements + 1, n_above - disagreements))


def calibrate(
    confidence: ArrayLike,
    agree: ArrayLike,
    *,
    alpha: float,
    delta: float = 0.05,
    min_items: int | None = None,
    max_candidates: int | None = None,
) -> Calibration:
    """The lowest confidence threshold certified to keep disagreement with humans <= alpha
    with probability >= 1 - delta (fixed-sequence testing; see the module docstring).

    `confidence` (one per item, in [0, 1]) and `agree` (1 where the panel's verdict matched
    the human's, else 0) are 1-D and aligned. `max_candidates` thins the grid of distinct
    confidences to that many quantiles. Raises ValueError on bad input.
    """
    conf, agr = _check_items(confidence, agree)
    check_unit("alpha", alpha)
    check_unit("delta", delta)
    min_testable = testing_floor(alpha, delta, min_items)
    if max_candidates is not None and (
        isinstance(max_candidates, bool)
        or not isinstance(max_candidates, int)
        or max_candidates < 2
    ):
        raise ValueError(f"max_candidates must be None or an integer >= 2; got {max_candidates!r}")

    n = conf.size
    candidates = _candidates(conf, max_candidates)
    n_above, k = _counts_above(conf, agr, candidates)
    p = binom.cdf(k, n_above, alpha)
    # n_above grows as the threshold falls, so the tested candidates are a suffix.
    tested = n_above >= min_testable
    order = np.flatnonzero(tested)
    passed = p[order] <= delta
    n_passed = int(passed.size if passed.all() else np.argmin(passed))
    certified = np.zeros(candidates.size, dtype=bool)
    certified[order[:n_passed]] = True

    curve = tuple(
        CurvePoint(
            threshold=float(candidates[j]),
            n_above=int(n_above[j]),
            disagreements=int(k[j]),
            coverage=float(n_above[j] / n),
            risk=float(k[j] / n_above[j]),
            p_value=float(p[j]),
            tested=bool(tested[j]),
            certified=bool(certified[j]),
        )
        for j in range(candidates.size)
    )
    if n_passed == 0:
        return Calibration(
            threshold=math.inf,
            certified=False,
            alpha=alpha,
            delta=delta,
            n_items=n,
            n_above=0,
            disagreements=0,
            coverage=0.0,
            risk=math.nan,
            risk_upper=1.0,
            p_value=math.nan,
            min_items=min_items,
            min_testable=min_testable,
            curve=curve,
        )
    chosen = curve[int(order[n_passed - 1])]
    return Calibration(
        threshold=chosen.threshold,
        certified=True,
        alpha=alpha,
        delta=delta,
        n_items=n,
        n_above=chosen.n_above,
        disagreements=chosen.disagreements,
        coverage=chosen.coverage,
        risk=chosen.risk,
        risk_upper=risk_upper_bound(chosen.n_above, chosen.disagreements, delta),
        p_value=chosen.p_value,
        min_items=min_items,
        min_testable=min_testable,
        curve=curve,
    )


def _check_items(
    confidence: ArrayLike, agree: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Validate aligned 1-D confidence (finite, in [0, 1]) and agree (0/1) arrays."""
    conf = _numeric_1d("confidence", confidence)
    agr = _numeric_1d("agree", agree)
    if conf.size != agr.size:
        raise ValueError(
            f"confidence and agree must have the same length; got {conf.size} and {agr.size}"
        )
    if conf.size == 0:
        raise ValueError("no items: calibration needs human-reviewed items")
    if not np.all(np.isfinite(conf)):
        raise ValueError("confidence must be finite (no NaN or inf)")
    if np.any((conf < 0.0) | (conf > 1.0)):
        raise ValueError("confidence must lie in [0, 1]")
    if not np.all((agr == 0.0) | (agr == 1.0)):
        raise ValueError("agree must be 0 or 1 (1: the panel's verdict matched the human's)")
    return conf, agr == 1.0


def _numeric_1d(name: str, values: ArrayLike) -> NDArray[np.float64]:
    """`values` as a 1-D float64 array; ValueError when not numeric or not 1-D."""
    arr = np.asarray(values)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name} must be numeric; got {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real; got {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per item); got shape {arr.shape}")
    return arr.astype(np.float64)


def _candidates(conf: NDArray[np.float64], max_candidates: int | None) -> NDArray[np.float64]:
    """Candidate thresholds, highest first: the distinct confidences, or at most
    `max_candidates` of their quantiles (observed values, the extremes included)."""
    distinct = np.unique(conf)
    if max_candidates is not None and distinct.size > max_candidates:
        probs = np.linspace(0.0, 1.0, max_candidates)
        distinct = np.unique(np.quantile(conf, probs, method="inverted_cdf"))
    return distinct[::-1]


def _counts_above(
    conf: NDArray[np.float64], agr: NDArray[np.bool_], candidates: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each candidate: items with confidence >= it, and disagreements among them."""
    order = np.argsort(-conf, kind="stable")
    cum_disagree = np.cumsum(~agr[order])
    ascending = conf[order][::-1]
    n_above = (conf.size - np.searchsorted(ascending, candidates, side="left")).astype(np.int64)
    return n_above, cum_disagree[n_above - 1].astype(np.int64)
