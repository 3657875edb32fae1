"""The jury model's values: its workers, its priors, a fitted model and one item's verdict.

A *worker* is one judge in one presentation: pairwise `(judge, "AB")` and `(judge, "BA")`
are two workers with their own confusion matrices (position bias is a difference between
them), pointwise `(judge, None)`, and `(judge, None, reversed_scale=True)` for the
best-first reading of a `scale_swap` panel. Shapes: W workers, C latent classes (the
scale values a true answer can take), L observed categories (every scale value, so a
judge may vote `tie` even where no true answer is a tie).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rubrics import Order, ScaleValue, value_key

__all__ = ["JuryModel", "JuryPriors", "JuryVerdict", "Worker"]


class Worker(BaseModel):
    """One judge in one presentation (order shown, scale direction)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    judge: str
    """The judge's configured name."""
    order: Order | None = None
    """Pairwise: which response was shown first; None for pointwise or order-averaged votes."""
    reversed_scale: bool = False
    """Pointwise `scale_swap`: the reading with the scale listed best-first."""

    @cached_property
    def key(self) -> str:
        """A stable text key: `judge`, `judge|AB`, `judge|reversed`."""
        parts = [self.judge, *([self.order] if self.order else [])]
        return "|".join([*parts, *(["reversed"] if self.reversed_scale else [])])


class JuryPriors(BaseModel):
    """The Dirichlet priors of the jury model (MAP estimation), and the EM stopping rule.

    Each worker's confusion row theta[c, :] has a Dirichlet prior with `shrinkage`
    pseudo-counts spread as the worker's *symmetric* model: accuracy a on the diagonal and
    (1 - a) / (L - 1) on every other category. a itself is the worker's pooled share of
    correct votes, with a Beta prior of `accuracy_strength` pseudo-votes at mean
    `prior_accuracy`. A worker with no data is therefore exactly the symmetric model at the
    prior accuracy ("probably right, uncertain"), and the full confusion matrix takes over
    as its votes accumulate (each row needs about `shrinkage` votes to weigh as much as the
    prior). See docs/statistics.md for why these defaults.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, ser_json_inf_nan="constants"
    )

    prior_accuracy: float | None = Field(default=None, gt=0.0, lt=1.0)
    """Prior mean accuracy of a new worker; None: halfway between chance (1/L) and 1."""
    accuracy_strength: float = Field(default=4.0, ge=0.0)
    """Beta pseudo-votes behind `prior_accuracy` (0: the pooled accuracy alone)."""
    shrinkage: float | None = Field(default=None, ge=0.0)
    """Pseudo-counts per confusion row pulled towards the symmetric model; None: L (one per
    cell on average); 0: the full confusion matrix unshrunk; `inf`: the symmetric model
    only (one accuracy per worker)."""
    class_prior: float = Field(default=1.0, ge=0.0)
    """Pseudo-items per latent class added to the class prior (Laplace's rule at 1)."""
    tol: float = Field(default=1e-7, gt=0.0)
    """Converged when no prior or confusion entry moves by more than this in a round."""
    max_iter: int = Field(default=10_000, ge=1)
    """EM rounds allowed; the fit reports whether it converged within them."""
    ordinal_target: bool = False
    """Ordinal scales of more than two values: shrink towards each worker's discretised
    normal error model (a bias and a spread, fitted by maximum likelihood on a grid)
    instead of the symmetric one, so an error of one step is likelier than one of four."""
    dependence: float = Field(default=0.0, ge=0.0, le=1.0)
    """Correction for workers whose errors are correlated (docs/statistics.md): the m
    workers of one group (a judge's presentations, or every judge of one `family`) each
    count m**-dependence of a vote's log-likelihood. 0: independent (plain Dawid-Skene);
    1: a group weighs as one vote; 0.5: as sqrt(m) votes."""
    temperature_labels: int = Field(default=30, ge=0)
    """Labelled items from which the posterior's temperature is fitted
    (`routing.jury.temperature`); with fewer, or 0, the temperature is 1 (the plain
    independent-errors posterior). 30: the fewest items above a threshold that the
    routing calibration's released code (Jung et al.) tests."""
    unlabelled_weight: float = Field(default=1.0, ge=0.0, le=1.0)
    """How much an item without a human label counts in the M-step: 1, the semi-supervised
    EM of Dawid & Skene with the labels clamped; 0, the class prior and the confusion
    matrices from the labelled items alone (the unlabelled items are still read, never
    learned from)."""
    shared_accuracy: bool = False
    """One accuracy for every worker of the panel (the pooled share of correct votes over
    all of them) instead of one per worker. With `shrinkage` inf this is the equal-judges
    model, whose verdict is the plurality of the votes (a close call may go to the class
    prior) and whose confidence grows with the margin."""
    ordinal_verdict: Literal["median", "mode"] = "median"
    """Ordinal scales of more than two classes: the verdict is the posterior median (the
    Bayes decision under absolute error: one step off costs less than four) or the
    posterior mode (under 0-1 loss). Nominal, pairwise and binary scales: the mode."""

    @classmethod
    def none(cls, *, tol: float = 1e-7, max_iter: int = 10_000) -> Self:
        """No prior at all: the maximum-likelihood Dawid-Skene fit (EM of Dawid & Skene
        1979), with its plain posterior (no temperature)."""
        return cls(
            prior_accuracy=None,
            accuracy_strength=0.0,
            shrinkage=0.0,
            class_prior=0.0,
            tol=tol,
            max_iter=max_iter,
            temperature_labels=0,
        )

    def evidence_weights(self, groups: Sequence[str]) -> NDArray[np.float64]:
        """Per worker, the share of a vote's log-likelihood its answer counts for, from
        each worker's group: m**-dependence for a group of m workers."""
        sizes = Counter(groups)
        return np.array([float(sizes[g]) ** -self.dependence for g in groups])

    def accuracy_for(self, n_observed: int) -> float:
        """The prior mean accuracy on a scale of `n_observed` categories."""
        if self.prior_accuracy is not None:
            return self.prior_accuracy
        return (1.0 + 1.0 / n_observed) / 2.0

    def shrinkage_for(self, n_observed: int) -> float:
        """Pseudo-counts per confusion row on a scale of `n_observed` categories."""
        return float(n_observed) if self.shrinkage is None else self.shrinkage


class JuryModel(BaseModel):
    """A fitted (or cold-start) jury model: frozen, JSON-serialisable, versionable by its
    training counts and fit figures."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    scale: tuple[ScaleValue, ...] = Field(min_length=2)
    """Observed categories (L): the rubric's scale, worst first."""
    classes: tuple[int, ...] = Field(min_length=2)
    """Latent classes (C) as indices into `scale`, ascending."""
    ordinal: bool
    """Whether the scale is ordered (posterior median and expected position are defined)."""
    numeric: bool
    """Whether the scale values are numbers (the expected score is in scale units)."""
    priors: JuryPriors
    """The priors the model was fitted with; they also stand in for unknown workers."""
    workers: tuple[Worker, ...]
    """The fitted workers (W), in a stable order."""
    class_priors: tuple[float, ...]
    """pi[c], shape (C,): the share of items whose true value is class c."""
    confusion: tuple[tuple[tuple[float, ...], ...], ...]
    """theta[w][c][l], shape (W, C, L): P(worker w answers scale value l | truth class c)."""
    accuracy: tuple[float, ...]
    """Per worker, the pooled accuracy behind its symmetric shrinkage target."""
    n_votes: tuple[float, ...]
    """Per worker, the usable votes (soft votes count 1) it was fitted on: with
    `priors.unlabelled_weight` 0, those of the labelled items only."""
    n_items: int = Field(ge=0)
    """Items in the training data (each pattern row weighted by its count)."""
    n_labelled: int = Field(ge=0)
    """Of those, items with a clamped human label."""
    n_patterns: int = Field(ge=0)
    """Distinct rows the fit ran over (identical unlabelled vote patterns merged)."""
    iterations: int = Field(ge=0)
    """EM rounds run."""
    converged: bool
    """Whether the largest parameter change fell below `priors.tol`."""
    log_likelihood: float
    """Observed-data log-likelihood of the unlabelled votes and labelled (votes, label)
    pairs at the final parameters (no prior terms; tempered when `priors.dependence` > 0);
    0 for a cold-start model."""
    groups: tuple[str, ...] = ()
    """Per worker, the group whose errors may be correlated (its judge's `family`, else
    the judge); empty: each worker's judge. Read only when `priors.dependence` > 0."""
    temperature: float = Field(default=1.0, gt=0.0, le=1.0)
    """tau of the posterior p(c | votes) ∝ exp(tau log P(c, votes)), fitted on the
    labelled items (`routing.jury.temperature`); 1: the plain posterior (cold start, or
    fewer than `priors.temperature_labels` labels). It never changes the posterior mode."""

    @model_validator(mode="after")
    def _shapes(self) -> Self:
        w, c, n_l = len(self.workers), len(self.classes), len(self.scale)
        if len(self.class_priors) != c:
            raise ValueError(f"class_priors must have {c} entries; got {len(self.class_priors)}")
        if len(self.confusion) != w or any(
            len(m) != c or any(len(r) != n_l for r in m) for m in self.confusion
        ):
            raise ValueError(f"confusion must have shape ({w}, {c}, {n_l})")
        if len(self.accuracy) != w or len(self.n_votes) != w:
            raise ValueError(f"accuracy and n_votes must have one entry per worker ({w})")
        if any(not 0 <= i < n_l for i in self.classes) or list(self.classes) != sorted(
            set(self.classes)
        ):
            raise ValueError(f"classes must be distinct ascending indices into the {n_l} values")
        if len({wk.key for wk in self.workers}) != w:
            raise ValueError("workers must be distinct")
        if self.groups and len(self.groups) != w:
            raise ValueError(f"groups must be empty or have one entry per worker ({w})")
        return self

    def group_of(self, worker: Worker) -> str:
        """The worker's dependence group: as fitted, else its judge."""
        row = self._index.get(worker.key)
        return self.groups[row] if self.groups and row is not None else worker.judge

    def weights_for(self, workers: Sequence[Worker]) -> NDArray[np.float64]:
        """Evidence weights (see `JuryPriors.dependence`) of `workers`: a group's size is
        its fitted workers plus any of `workers` the model has not seen."""
        if self.priors.dependence == 0:
            return np.ones(len(workers))
        sizes = self._group_sizes.copy()
        sizes.update(self.group_of(w) for w in workers if w.key not in self._index)
        return np.array(
            [float(sizes[self.group_of(w)]) ** -self.priors.dependence for w in workers]
        )

    def confusion_array(self) -> NDArray[np.float64]:
        """theta as a (W, C, L) array (a read-only view, computed once)."""
        return self._theta

    def worker_index(self) -> dict[str, int]:
        """Worker key -> row of `confusion`."""
        return dict(self._index)

    @cached_property
    def _theta(self) -> NDArray[np.float64]:
        shape = (len(self.workers), len(self.classes), len(self.scale))
        arr = np.array(self.confusion, dtype=np.float64).reshape(shape)
        arr.flags.writeable = False
        return arr

    @cached_property
    def _log_theta(self) -> NDArray[np.float64]:
        with np.errstate(divide="ignore"):
            arr = np.log(np.maximum(self._theta, 1e-300))
        arr.flags.writeable = False
        return arr

    @cached_property
    def _group_sizes(self) -> Counter[str]:
        return Counter(self.groups or tuple(wk.judge for wk in self.workers))

    @cached_property
    def _index(self) -> dict[str, int]:
        return {w.key: i for i, w in enumerate(self.workers)}

    @property
    def median_verdict(self) -> bool:
        """Whether the verdict is the posterior median (ordinal, more than two classes,
        `priors.ordinal_verdict` "median") rather than the posterior mode."""
        return self.ordinal and len(self.classes) > 2 and self.priors.ordinal_verdict == "median"

    def class_values(self) -> tuple[ScaleValue, ...]:
        """The latent classes as scale values."""
        return tuple(self.scale[i] for i in self.classes)


class JuryVerdict(BaseModel):
    """The jury's posterior for one item."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    value: ScaleValue
    """The verdict: the posterior median on ordinal scales of more than two classes
    (`JuryModel.median_verdict`), else the posterior mode (the lower class on an exact
    tie)."""
    confidence: float = Field(ge=0.0, le=1.0)
    """The posterior probability of the verdict (tempered: `JuryModel.temperature`)."""
    probs: dict[str, float]
    """Posterior probability per latent class, keyed by value text (`value_key`)."""
    median: ScaleValue | None
    """Ordinal scales: the posterior median (the lowest class with cumulative >= 1/2)."""
    mode: ScaleValue | None = None
    """The posterior mode (argmax), whatever the verdict rule."""
    expected: float | None
    """Ordinal scales: the posterior mean, in scale units on numeric scales, else in scale
    positions (0 = worst)."""
    n_votes: int = Field(ge=0)
    """Usable votes that entered (one per worker)."""
    unknown_workers: tuple[str, ...] = ()
    """Workers absent from the model, read with the cold-start prior."""

    def prob(self, value: ScaleValue) -> float:
        """The posterior probability of `value` (0 for a value that is not a class)."""
        return self.probs.get(value_key(value), 0.0)
