"""The posterior's temperature: how much of the independent-errors evidence to believe.

The jury model multiplies every worker's likelihood as if their errors were independent
given the truth. Judges that share a model family, a prompt or a training set are not,
so the product counts one piece of evidence several times and the posterior is too sure
of itself (docs/statistics.md: on hanna a held-out human label gets -6 to -11 nats).
Temperature scaling (Guo et al. 2017, "On calibration of modern neural networks") is the
standard one-parameter repair: the posterior over the classes is

    p_tau(c | votes) ∝ exp(tau * log P(c, votes))

with tau fitted by maximum likelihood on the labelled items. It scales the whole log
joint, class prior included, so **it never changes the argmax** (nor which judges could
change it: `can_change` compares log-odds, all scaled alike); it changes the confidence,
the posterior median and the expected score. The log-likelihood of the labels is concave
in tau (tau * z_y minus a log-sum-exp that is convex in tau), so a bounded scalar search
finds the one maximum.

tau is fitted to each labelled item's *human verdict*, the one value its labels settle
on (`human_verdicts`: the median of several annotators on an ordinal scale, half rounded
up; the most frequent label otherwise), because that is what the confidence claims to
be the probability of: the verdict being the humans' answer. Fitted to the annotators'
shares instead, it would also spread the posterior by how much annotators disagree with
each other, which the latent true value does not do (on hanna, three annotators per item,
that halves tau and pulls every median towards the middle of the scale).

tau is kept in (0, 1]: the reason for it is over-counted evidence, which only a tau below
1 corrects; a model that is *under*-confident on its labelled items (strong priors, few
votes) keeps tau = 1 rather than being sharpened on a few dozen labels. The labelled
items also shaped the confusion matrices, so their fitted posteriors are slightly
optimistic and tau errs towards 1 (the safe side: less correction, never more).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

__all__ = ["MIN_TEMPERATURE", "fit_temperature", "human_verdicts", "label_log_likelihood"]

MIN_TEMPERATURE = 1e-3
"""The smallest temperature searched (1000 workers' worth of evidence read as one)."""


def label_log_likelihood(
    log_joint: NDArray[np.float64],
    labels: NDArray[np.float64],
    counts: NDArray[np.float64],
    tau: float,
) -> float:
    """sum_r counts[r] sum_c labels[r, c] log p_tau(c | row r): rows (R, C) of log P(c,
    votes), label distributions (R, C) and row counts (R,)."""
    log_post = log_softmax(tau * log_joint, axis=1)
    return float((counts * (labels * log_post).sum(axis=1)).sum())


def human_verdicts(
    labels: NDArray[np.float64], classes: tuple[int, ...], ordinal: bool
) -> NDArray[np.float64]:
    """One-hot (R, C) human verdicts of label distributions (R, C) over `classes` (scale
    indices, ascending): on ordinal scales the median scale position of the labels, a
    half rounded up (two annotators saying 3 and 4 give 4); otherwise the most frequent
    label. A row without one verdict (a tie between the most frequent nominal labels, a
    median between two classes on no class) is all zeros, so it carries no weight."""
    lab = np.asarray(labels, dtype=np.float64)
    out = np.zeros_like(lab)
    if lab.size == 0:
        return out
    positions = np.asarray(classes, dtype=np.float64)
    for r, row in enumerate(lab):
        if ordinal:
            cumulative = np.cumsum(row) / row.sum()
            low = int(np.searchsorted(cumulative, 0.5 - 1e-9))
            high = int(np.searchsorted(cumulative, 0.5 + 1e-9, side="right"))
            high = min(high, len(classes) - 1)
            middle = np.floor((positions[low] + positions[high]) / 2 + 0.5)
            hit = np.flatnonzero(positions == middle)
            if hit.size:
                out[r, hit[0]] = 1.0
        else:
            top = np.flatnonzero(np.isclose(row, row.max()))
            if top.size == 1:
                out[r, top[0]] = 1.0
    return out


def fit_temperature(
    log_joint: NDArray[np.float64],
    labels: NDArray[np.float64],
    counts: NDArray[np.float64] | None = None,
) -> float:
    """The maximum-likelihood temperature in [MIN_TEMPERATURE, 1] for labelled rows:
    `log_joint` (R, C) the unnormalised log P(class, votes) of each row (its votes only,
    not its label), `labels` (R, C) each row's label distribution, `counts` (R,) its
    weight (default 1). 1 when there is no row."""
    lj = np.asarray(log_joint, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.float64)
    if lj.ndim != 2 or lab.shape != lj.shape:
        raise ValueError(f"log_joint and labels must be (R, C) alike; got {lj.shape}, {lab.shape}")
    w = np.ones(lj.shape[0]) if counts is None else np.asarray(counts, dtype=np.float64)
    if w.shape != (lj.shape[0],):
        raise ValueError(f"counts must have one entry per row ({lj.shape[0]}); got {w.shape}")
    if lj.shape[0] == 0 or float(w.sum()) <= 0:
        return 1.0
    # A class with probability 0 under the model (log 0) stays impossible at any tau.
    lj = np.where(np.isfinite(lj), lj, -1e300)

    def loss(tau: float) -> float:
        return -label_log_likelihood(lj, lab, w, tau)

    best = minimize_scalar(
        loss, bounds=(MIN_TEMPERATURE, 1.0), method="bounded", options={"xatol": 1e-5}
    )
    tau = float(best.x)
    # The bounded search never evaluates the end points: keep 1 when it is no worse.
    return 1.0 if loss(1.0) <= loss(tau) else tau
