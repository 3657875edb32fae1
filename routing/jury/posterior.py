"""One item's posterior under a jury model, and whether more votes could change it.

`posterior` multiplies the class prior by each voting worker's likelihood of its answer
(the expected likelihood for a soft vote) and tempers the product by the model's
temperature. A worker the model has not seen reads as the cold-start symmetric model at
the prior accuracy, so a new judge counts as "probably right" from its first vote. The
verdict is the posterior mode, or the median on ordinal scales of more than two classes
(`JuryModel.median_verdict`).

`can_change` bounds what the votes of workers not yet asked could do. A worker w can add
at most G_w[c] = max_l log(theta_w[c, l] / theta_w[v, l]) to class c's log-odds over the
verdict v, whatever it answers; G[c] sums them (times the temperature). A mode v can
change only if some class c gains more than it trails by: exact. A median v can move
down only if sum_{c < v} p_c exp(G[c]) >= p_v (the mass below v can at most grow by
those factors relative to v's, and it must come to outweigh everything from v up), and
up likewise: sufficient, so the cascade may ask a judge it did not need, never skip one
that could change the verdict. For a median verdict with few pending workers
(`MAX_ANSWERS` combinations of answers) every combination is tried instead: exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from judges import Vote
from routing.jury.data import Observation, observations
from routing.jury.fit import symmetric_confusion
from routing.jury.model import JuryModel, JuryVerdict, Worker
from rubrics import value_key

__all__ = [
    "can_change",
    "log_posterior",
    "posterior",
    "posterior_from",
    "verdict_index",
    "worker_confusion",
]

_TINY = 1e-300
MAX_ANSWERS = 1 << 14
"""Combinations of pending answers `can_change` enumerates for a median verdict (16,384:
7 workers on a 4-point scale, 6 on a 5-point one); beyond, the sufficient bound."""


def worker_confusion(model: JuryModel, worker: Worker) -> NDArray[np.float64]:
    """theta for `worker`, (C, L): fitted, or the cold-start symmetric model if unknown."""
    row = model._index.get(worker.key)
    if row is not None:
        return model.confusion_array()[row]
    n_l = len(model.scale)
    acc = np.array([model.priors.accuracy_for(n_l)])
    return symmetric_confusion(acc, model.classes, n_l)[0]


def log_posterior(
    model: JuryModel, obs: Mapping[Worker, Observation]
) -> tuple[NDArray[np.float64], tuple[str, ...]]:
    """Normalised (tempered) log posterior over the classes (C,), and the unknown
    workers' keys."""
    log_joint = np.log(np.maximum(np.array(model.class_priors), _TINY))
    index = model._index
    theta_all = model.confusion_array() if model.workers else None
    unknown: list[str] = []
    weights = model.weights_for(list(obs))
    for (worker, o), weight in zip(obs.items(), weights, strict=True):
        row = index.get(worker.key)
        if row is not None and theta_all is not None:
            theta = theta_all[row]
        else:
            theta = worker_confusion(model, worker)
            unknown.append(worker.key)
        if isinstance(o, int):
            logs = model._log_theta[row][:, o] if row is not None else np.log(theta[:, o])
            log_joint = log_joint + weight * logs
        else:
            q = np.asarray(o, dtype=np.float64)
            log_joint = log_joint + weight * np.log(np.maximum(theta @ (q / q.sum()), _TINY))
    if model.temperature != 1.0:
        log_joint = model.temperature * log_joint
    top = log_joint.max()
    norm = top + np.log(np.exp(log_joint - top).sum())  # logsumexp, without scipy's overhead
    return log_joint - norm, tuple(unknown)


def verdict_index(model: JuryModel, log_post: NDArray[np.float64]) -> int:
    """The verdict's class index: the posterior median (the lowest class whose cumulative
    probability reaches 1/2) where `model.median_verdict`, else the mode (the lowest on
    an exact tie)."""
    if model.median_verdict:
        return _median_index(np.exp(log_post))
    return int(np.argmax(log_post))


def _median_index(probs: NDArray[np.float64]) -> int:
    """The lowest class whose cumulative probability reaches 1/2."""
    cumulative = np.cumsum(probs)
    return min(int(np.searchsorted(cumulative, 0.5 - 1e-12)), len(cumulative) - 1)


def posterior_from(model: JuryModel, obs: Mapping[Worker, Observation]) -> JuryVerdict:
    """The verdict from already-encoded observations (see `routing.jury.observations`)."""
    log_post, unknown = log_posterior(model, obs)
    probs = np.exp(log_post)
    best = verdict_index(model, log_post)
    values = model.class_values()
    median = expected = None
    if model.ordinal:
        median = values[_median_index(probs)]
        points = (
            np.array(values, dtype=np.float64) if model.numeric else np.array(model.classes, float)
        )
        expected = float(probs @ points)
    return JuryVerdict(
        value=values[best],
        confidence=float(min(max(probs[best], 0.0), 1.0)),
        probs={value_key(v): float(p) for v, p in zip(values, probs, strict=True)},
        median=median,
        mode=values[int(np.argmax(probs))],
        expected=expected,
        n_votes=len(obs),
        unknown_workers=unknown,
    )


def posterior(model: JuryModel, votes: Sequence[Vote]) -> JuryVerdict:
    """The jury's posterior for one item from its votes (unusable votes are skipped)."""
    return posterior_from(model, observations(model.scale, votes))


def can_change(
    model: JuryModel,
    obs: Mapping[Worker, Observation],
    pending: Iterable[Worker],
    *,
    max_answers: int = MAX_ANSWERS,
) -> bool:
    """Whether any answers of the `pending` workers (not yet asked) could change the
    verdict of `obs`, in the worst case over what each of them could answer. A median
    verdict is checked against every combination of answers when there are at most
    `max_answers` of them, else by the sufficient bound of the module docstring."""
    log_post, _ = log_posterior(model, obs)
    v = verdict_index(model, log_post)
    later = list(pending)
    if not later:
        return False
    # A pending worker's group size counts the workers already answered, as in the posterior.
    weights = model.weights_for([*obs, *later])[len(obs) :]
    rows = [model._index.get(w.key) for w in later]
    log_theta = np.stack(
        [
            model._log_theta[r]
            if r is not None
            else np.log(np.maximum(worker_confusion(model, w), _TINY))
            for w, r in zip(later, rows, strict=True)
        ]
    )  # (P, C, L)
    # Each pending worker's largest possible log-odds gain of every class over v.
    best = (log_theta - log_theta[:, v : v + 1, :]).max(axis=2)  # (P, C)
    gain = model.temperature * (weights @ best)
    if model.median_verdict:
        return _median_can_change(model, log_post, v, log_theta, weights, gain, max_answers)
    gap = log_post[v] - log_post
    others = np.arange(len(model.classes)) != v
    # >= : an exact tie could move the argmax to a lower class.
    return bool(np.any(gain[others] >= gap[others] - 1e-12))


def _median_can_change(
    model: JuryModel,
    log_post: NDArray[np.float64],
    v: int,
    log_theta: NDArray[np.float64],
    weights: NDArray[np.float64],
    gain: NDArray[np.float64],
    max_answers: int,
) -> bool:
    """`can_change` for a median verdict v: exact over every combination of the pending
    workers' answers when there are at most `max_answers`, else the sufficient bound."""
    n_p, _, n_l = log_theta.shape
    if n_l**n_p <= max_answers:
        # Every combination at once: (N, P) answers -> (N, C) tempered log posteriors.
        answers = np.indices((n_l,) * n_p).reshape(n_p, -1).T
        added = np.zeros((answers.shape[0], log_post.size))
        for p in range(n_p):
            added += weights[p] * log_theta[p][:, answers[:, p]].T
        grown = log_post + model.temperature * added
        grown -= grown.max(axis=1, keepdims=True)
        cumulative = np.cumsum(np.exp(grown), axis=1)
        cumulative /= cumulative[:, -1:]
        medians = (cumulative < 0.5 - 1e-12).sum(axis=1)
        return bool(np.any(medians != v))
    # How far the mass on each side of v could grow relative to v's (log scale).
    grown = log_post + gain
    below, above = grown[:v], grown[v + 1 :]
    margin = log_post[v] - 1e-12
    return bool(
        (below.size and _logsumexp(below) >= margin) or (above.size and _logsumexp(above) >= margin)
    )


def _logsumexp(x: NDArray[np.float64]) -> float:
    top = float(x.max())
    return top + float(np.log(np.exp(x - top).sum()))
