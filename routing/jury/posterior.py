"""One item's posterior under a jury model, and whether more votes could change it.

`posterior` multiplies the class prior by each voting worker's likelihood of its answer
(the expected likelihood for a soft vote). A worker the model has not seen reads as the
cold-start symmetric model at the prior accuracy, so a new judge counts as "probably
right" from its first vote. `can_change` bounds, exactly, what the votes of workers not
yet asked could do: the verdict v can change only if some class c gains more log-odds
over v than it trails by, and a worker w can add at most max_l log(theta_w[c, l] /
theta_w[v, l]) to it, whatever it answers.
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

__all__ = ["can_change", "log_posterior", "posterior", "posterior_from", "worker_confusion"]

_TINY = 1e-300


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
    """Normalised log posterior over the classes (C,), and the unknown workers' keys."""
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
    top = log_joint.max()
    norm = top + np.log(np.exp(log_joint - top).sum())  # logsumexp, without scipy's overhead
    return log_joint - norm, tuple(unknown)


def posterior_from(model: JuryModel, obs: Mapping[Worker, Observation]) -> JuryVerdict:
    """The verdict from already-encoded observations (see `routing.jury.observations`)."""
    log_post, unknown = log_posterior(model, obs)
    probs = np.exp(log_post)
    best = int(np.argmax(probs))  # the lowest class on an exact tie
    values = model.class_values()
    median = expected = None
    if model.ordinal:
        median = values[int(np.searchsorted(np.cumsum(probs), 0.5 - 1e-12))]
        points = (
            np.array(values, dtype=np.float64) if model.numeric else np.array(model.classes, float)
        )
        expected = float(probs @ points)
    return JuryVerdict(
        value=values[best],
        confidence=float(min(max(probs[best], 0.0), 1.0)),
        probs={value_key(v): float(p) for v, p in zip(values, probs, strict=True)},
        median=median,
        expected=expected,
        n_votes=len(obs),
        unknown_workers=unknown,
    )


def posterior(model: JuryModel, votes: Sequence[Vote]) -> JuryVerdict:
    """The jury's posterior for one item from its votes (unusable votes are skipped)."""
    return posterior_from(model, observations(model.scale, votes))


def can_change(
    model: JuryModel, obs: Mapping[Worker, Observation], pending: Iterable[Worker]
) -> bool:
    """Whether any answers of the `pending` workers (not yet asked) could change the
    verdict of `obs`, in the worst case over what each of them could answer."""
    log_post, _ = log_posterior(model, obs)
    v = int(np.argmax(log_post))
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
    gain = weights @ best
    gap = log_post[v] - log_post
    others = np.arange(len(model.classes)) != v
    # >= : an exact tie could move the argmax to a lower class.
    return bool(np.any(gain[others] >= gap[others] - 1e-12))
