"""Fitting the jury model by EM (Dawid & Skene 1979), with clamped labels and priors.

Model: item i has a latent true class c (prior pi); worker w answers scale value l with
probability theta_w[c, l]; workers answer independently given c. A soft vote q enters
through its expected likelihood sum_l q_l theta_w[c, l] (EM then also splits it over l in
proportion to q_l theta_w[c, l]). A labelled item's class posterior is clamped to its
label distribution, so labels enter the M-step as observed classes and never move.

Estimation is MAP under the priors of `JuryPriors`: the class prior gets `class_prior`
pseudo-items per class; each confusion row gets `shrinkage` pseudo-votes spread as the
worker's symmetric model (its pooled accuracy on the diagonal, the rest uniform), and the
pooled accuracy a Beta prior. With `JuryPriors.none()` this is exactly the maximum-
likelihood EM of Dawid & Skene (eqs. 2.3-2.5), initialised from vote shares (section 3.1).
The pooled accuracy is re-estimated every round from the expected counts (an empirical-
Bayes plug-in), so with shrinkage the iteration is a penalised EM whose fixed point is
what `converged` reports; without it the likelihood rises monotonically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp

from judges import Vote
from routing.jury.accelerate import squarem
from routing.jury.data import JuryData, label_distribution, observations, tabulate
from routing.jury.model import JuryModel, JuryPriors, Worker
from routing.jury.temperature import fit_temperature, human_verdicts
from rubrics import Mode, Rubric, ScaleValue

__all__ = [
    "cold_start",
    "default_classes",
    "discretised_normal",
    "fit",
    "fit_votes",
    "log_joint_rows",
    "symmetric_confusion",
    "votes_data",
]

_TINY = 1e-300


def default_classes(rubric: Rubric, human_can_tie: bool) -> tuple[int, ...]:
    """Latent classes for a rubric: every scale value, except `tie` on pairwise rubrics
    whose humans cannot say tie (forced choice): a judge may still vote tie."""
    idx = tuple(range(len(rubric.scale)))
    if rubric.mode is Mode.PAIRWISE and not human_can_tie:
        tie = rubric.index("tie")
        return tuple(i for i in idx if i != tie)
    return idx


def symmetric_confusion(
    accuracy: NDArray[np.float64], classes: Sequence[int], n_observed: int
) -> NDArray[np.float64]:
    """(W, C, L) confusion of one-accuracy-per-worker models: accuracy[w] on the true
    value, the rest spread evenly over the other L - 1 values."""
    acc = np.asarray(accuracy, dtype=np.float64)
    out = np.repeat(((1.0 - acc) / (n_observed - 1))[:, None, None], len(classes), axis=1)
    out = np.repeat(out, n_observed, axis=2)
    for c, value in enumerate(classes):
        out[:, c, value] = acc
    return out


def cold_start(
    scale: Sequence[ScaleValue],
    classes: Sequence[int],
    *,
    ordinal: bool,
    numeric: bool,
    priors: JuryPriors | None = None,
) -> JuryModel:
    """The model before any data: no fitted worker (every judge reads as the prior
    symmetric model) and an even class prior. Its posterior is a plurality vote whose
    confidence grows with the margin, as a reliability-aware vote with equal judges."""
    c = len(classes)
    return JuryModel(
        scale=tuple(scale),
        classes=tuple(classes),
        ordinal=ordinal,
        numeric=numeric,
        priors=priors or JuryPriors(),
        workers=(),
        class_priors=(1.0 / c,) * c,
        confusion=(),
        accuracy=(),
        n_votes=(),
        n_items=0,
        n_labelled=0,
        n_patterns=0,
        iterations=0,
        converged=True,
        log_likelihood=0.0,
    )


def fit_votes(
    rubric: Rubric,
    items: Sequence[Sequence[Vote]],
    labels: Sequence[Sequence[ScaleValue]] | None = None,
    *,
    classes: Sequence[int] | None = None,
    priors: JuryPriors | None = None,
) -> JuryModel:
    """Fit to each item's votes and its human labels (one per annotator, `()` for none).

    `classes` defaults to `default_classes(rubric, human_can_tie)` where humans can tie
    when some given label is `tie`.
    """
    data, groups = votes_data(rubric, items, labels, classes)
    return fit(
        data,
        rubric.scale,
        ordinal=rubric.ordinal,
        numeric=rubric.numeric,
        priors=priors,
        groups=groups,
    )


def votes_data(
    rubric: Rubric,
    items: Sequence[Sequence[Vote]],
    labels: Sequence[Sequence[ScaleValue]] | None = None,
    classes: Sequence[int] | None = None,
) -> tuple[JuryData, dict[Worker, str]]:
    """`fit_votes`'s training data and each worker's dependence group (its judge's
    `family`, else the judge)."""
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"labels must have one entry per item ({len(items)}); got {len(labels)}")
    if classes is None:
        can_tie = labels is not None and any(v == "tie" for item in labels for v in item)
        classes = default_classes(rubric, can_tie)
    dist = [label_distribution(rubric.scale, classes, ls) for ls in labels] if labels else None
    data = tabulate(
        [observations(rubric.scale, v) for v in items], len(rubric.scale), classes, dist
    )
    families = {v.judge: v.family for votes in items for v in votes if v.family}
    return data, {w: families.get(w.judge, w.judge) for w in data.workers}


def fit(
    data: JuryData,
    scale: Sequence[ScaleValue],
    *,
    ordinal: bool,
    numeric: bool,
    priors: JuryPriors | None = None,
    groups: Mapping[Worker, str] | None = None,
) -> JuryModel:
    """EM to convergence (or `priors.max_iter` rounds) over pattern-grouped data, the
    fixed-point iteration accelerated by SQUAREM (`routing.jury.accelerate`).

    `groups` names each worker's dependence group (default: its judge), read when
    `priors.dependence` > 0: an answer then counts m**-dependence of its log-likelihood in
    the E-step (and in every posterior), m the size of its group."""
    pri = priors or JuryPriors()
    n_l, cls = data.n_observed, np.array(data.classes)
    if len(scale) != n_l:
        raise ValueError(f"scale has {len(scale)} values; the data has {n_l}")
    if data.n_rows == 0:
        return cold_start(scale, data.classes, ordinal=ordinal, numeric=numeric, priors=pri)
    n_w = len(data.workers)
    group = tuple((groups or {}).get(w, w.judge) for w in data.workers)
    weight = pri.evidence_weights(group)
    labelled = data.labelled
    post = _initial_posterior(data)
    soft_resp = data.soft_probs[:, None, :].repeat(cls.size, axis=1)  # uniform theta at start
    pi, theta, acc = _m_step(data, post, soft_resp, pri, ordinal)
    n_c = pi.size

    def em_step(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        pi_x, theta_x = x[:n_c], x[n_c:].reshape(theta.shape)
        post, soft_resp, _, _ = _e_step(data, pi_x, theta_x, labelled, weight)
        new_pi, new_theta, new_acc = _m_step(data, post, soft_resp, pri, ordinal)
        return np.concatenate([new_pi, new_theta.ravel()]), new_acc

    end = squarem(
        em_step, np.concatenate([pi, theta.ravel()]), acc, tol=pri.tol, max_steps=pri.max_iter
    )
    pi, theta, acc = end.x[:n_c], end.x[n_c:].reshape(theta.shape), end.aux
    iterations, converged = end.steps, end.converged
    _, _, loglik, log_joint = _e_step(data, pi, theta, labelled, weight)
    tau = _temperature(data, log_joint, pri, ordinal)
    # The votes the fit learned from: a labels-only fit's come from its labelled items.
    mass = _row_mass(data, pri)
    n_votes = np.zeros(n_w)
    n_votes += np.bincount(data.hard_worker, weights=mass[data.hard_row], minlength=n_w)
    n_votes += np.bincount(data.soft_worker, weights=mass[data.soft_row], minlength=n_w)
    return JuryModel(
        scale=tuple(scale),
        classes=data.classes,
        ordinal=ordinal,
        numeric=numeric,
        priors=pri,
        workers=data.workers,
        class_priors=tuple(float(p) for p in pi),
        confusion=tuple(tuple(tuple(float(x) for x in row) for row in m) for m in theta),
        accuracy=tuple(float(a) for a in acc),
        n_votes=tuple(float(n) for n in n_votes),
        n_items=int(data.count.sum()),
        n_labelled=int(data.count[labelled].sum()),
        n_patterns=data.n_rows,
        iterations=iterations,
        converged=converged,
        log_likelihood=float(loglik),
        groups=group,
        temperature=tau,
    )


def _temperature(
    data: JuryData, log_joint: NDArray[np.float64], pri: JuryPriors, ordinal: bool
) -> float:
    """The posterior's temperature, fitted on the labelled rows' votes (`log_joint`, the
    final E-step's unclamped log P(class, votes) per row) against their human verdicts
    (1 with fewer than `pri.temperature_labels` labelled items)."""
    labelled = data.labelled
    n_labelled = float(data.count[labelled].sum())
    if pri.temperature_labels == 0 or n_labelled < pri.temperature_labels:
        return 1.0
    verdicts = human_verdicts(data.label[labelled], data.classes, ordinal)
    return fit_temperature(log_joint[labelled], verdicts, data.count[labelled])


def _initial_posterior(data: JuryData) -> NDArray[np.float64]:
    """Vote shares over the classes per row (Dawid & Skene section 3.1), labels clamped."""
    n_r, n_c = data.n_rows, len(data.classes)
    shares = np.zeros((n_r, data.n_observed))
    np.add.at(shares, (data.hard_row, data.hard_code), 1.0)
    np.add.at(shares, data.soft_row, data.soft_probs)
    shares = shares[:, list(data.classes)]
    total = shares.sum(axis=1, keepdims=True)
    post = np.divide(shares, total, out=np.full((n_r, n_c), 1.0 / n_c), where=total > 0)
    return np.where(data.labelled[:, None], data.label, post)


def _row_mass(data: JuryData, pri: JuryPriors) -> NDArray[np.float64]:
    """How many items each row counts for in the M-step: its count, times
    `pri.unlabelled_weight` on rows without a label."""
    if pri.unlabelled_weight == 1.0:
        return data.count
    return np.where(data.labelled, data.count, pri.unlabelled_weight * data.count)


def _m_step(
    data: JuryData,
    post: NDArray[np.float64],
    soft_resp: NDArray[np.float64],
    pri: JuryPriors,
    ordinal: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Class prior (C,), confusion (W, C, L) and pooled accuracies (W,) from posteriors."""
    n_w, n_l, n_c = len(data.workers), data.n_observed, len(data.classes)
    weighted = post * _row_mass(data, pri)[:, None]  # (R, C) expected items per class
    class_mass = weighted.sum(axis=0)
    pi = (class_mass + pri.class_prior) / (class_mass.sum() + n_c * pri.class_prior)
    counts = np.zeros((n_w, n_c, n_l))
    cell = data.hard_worker * n_l + data.hard_code
    for c in range(n_c):
        counts[:, c, :] = np.bincount(
            cell, weights=weighted[data.hard_row, c], minlength=n_w * n_l
        ).reshape(n_w, n_l)
    if data.soft_row.size:
        np.add.at(counts, data.soft_worker, weighted[data.soft_row, :, None] * soft_resp)
    cls = list(data.classes)
    correct = counts[:, np.arange(n_c), cls].sum(axis=1)
    total = counts.sum(axis=(1, 2))
    p0 = pri.accuracy_for(n_l)
    a0 = pri.accuracy_strength
    if pri.shared_accuracy:
        correct, total = np.full(n_w, correct.sum()), np.full(n_w, total.sum())
    acc = np.divide(correct + a0 * p0, total + a0, out=np.full(n_w, p0), where=(total + a0) > 0)
    acc = np.clip(acc, 1e-6, 1 - 1e-6)
    target = symmetric_confusion(acc, cls, n_l)
    if pri.ordinal_target and ordinal and n_l > 2 and n_c == n_l:
        prior_counts = symmetric_confusion(np.full(n_w, p0), cls, n_l) * (a0 / n_c)
        target = discretised_normal(counts + prior_counts)
    s = pri.shrinkage_for(n_l)
    rows = counts.sum(axis=2, keepdims=True)
    if math.isinf(s):
        theta = target
    else:
        theta = np.divide(counts + s * target, rows + s, out=target.copy(), where=(rows + s) > 0)
    return pi, theta, acc


def _normal_grid(n_l: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Natural parameters (G, 2) of discretised normals on a (bias, spread) grid and
    their log P(l | c), (G, C, L): the starting points of `discretised_normal`."""
    b, sd = np.meshgrid(np.linspace(-2.0, 2.0, 41), np.geomspace(0.15, 6.0, 40), indexing="ij")
    eta = np.stack([b.ravel() / sd.ravel() ** 2, -0.5 / sd.ravel() ** 2], axis=1)
    return eta, _normal_log(eta, n_l)


def _normal_log(eta: NDArray[np.float64], n_l: int) -> NDArray[np.float64]:
    """log P(l | c) ∝ eta1 d + eta2 d^2 (d = l - c, eta2 < 0), normalised per row: (G, C, L)."""
    d = (np.arange(n_l)[None, :] - np.arange(n_l)[:, None]).astype(np.float64)
    z = eta[:, 0, None, None] * d + eta[:, 1, None, None] * d**2
    return np.asarray(z - logsumexp(z, axis=2, keepdims=True), dtype=np.float64)


_GRIDS: dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
_NEWTON_STEPS = 20


def discretised_normal(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per worker, the maximum-likelihood discretised normal error model (answer = truth
    + bias + normal noise, on the scale's positions) for its (C, L) expected counts:
    (W, C, L). In natural parameters (eta1 = bias / spread^2, eta2 = -1 / (2 spread^2))
    each row is an exponential family in (d, d^2), so the log-likelihood is concave: the
    best point of a grid starts Newton's method, which matches the expected and observed
    sums of d and d^2."""
    n_w, _, n_l = counts.shape
    if n_l not in _GRIDS:
        _GRIDS[n_l] = _normal_grid(n_l)
    eta_grid, log_grid = _GRIDS[n_l]
    ll = counts.reshape(n_w, -1) @ log_grid.reshape(log_grid.shape[0], -1).T  # (W, G)
    eta = eta_grid[np.argmax(ll, axis=1)].copy()
    d = (np.arange(n_l)[None, :] - np.arange(n_l)[:, None]).astype(np.float64)
    stats = np.stack([d, d**2])  # (2, C, L)
    rows = counts.sum(axis=2)  # (W, C)
    observed = np.einsum("wcl,scl->ws", counts, stats)  # (W, 2)
    for _ in range(_NEWTON_STEPS):
        p = np.exp(_normal_log(eta, n_l))  # (W, C, L)
        mean = np.einsum("wcl,scl->wcs", p, stats)  # (W, C, 2)
        second = np.einsum("wcl,scl,tcl->wcst", p, stats, stats)
        cov = second - mean[..., :, None] * mean[..., None, :]
        grad = observed - np.einsum("wc,wcs->ws", rows, mean)
        hess = np.einsum("wc,wcst->wst", rows, cov) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        eta = eta + step
        eta[:, 1] = np.minimum(eta[:, 1], -1e-3)  # a proper (peaked) error model
        if float(np.abs(step).max()) < 1e-10:
            break
    return np.exp(_normal_log(eta, n_l))


def _log_joint(
    data: JuryData,
    pi: NDArray[np.float64],
    theta: NDArray[np.float64],
    weight: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unnormalised log P(class, votes) per row (R, C), and the soft-vote
    responsibilities (S, C, L)."""
    n_r, n_c = data.n_rows, len(data.classes)
    with np.errstate(divide="ignore"):
        log_theta = np.log(np.maximum(theta, _TINY))
        log_pi = np.log(np.maximum(pi, _TINY))
    log_joint = np.tile(log_pi, (n_r, 1))
    terms = log_theta[data.hard_worker, :, data.hard_code] * weight[data.hard_worker, None]
    for c in range(n_c):
        log_joint[:, c] += np.bincount(data.hard_row, weights=terms[:, c], minlength=n_r)
    soft_resp = np.zeros((data.soft_row.size, n_c, data.n_observed))
    if data.soft_row.size:
        joint = data.soft_probs[:, None, :] * theta[data.soft_worker]  # (S, C, L)
        mix = joint.sum(axis=2)
        soft_resp = joint / np.maximum(mix, _TINY)[:, :, None]
        log_mix = np.log(np.maximum(mix, _TINY)) * weight[data.soft_worker, None]
        for c in range(n_c):
            log_joint[:, c] += np.bincount(data.soft_row, weights=log_mix[:, c], minlength=n_r)
    return log_joint, soft_resp


def log_joint_rows(
    data: JuryData, model: JuryModel, rows: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The normalised (tempered) log posterior over the classes (len(rows), C) of `rows`
    of `data` under `model`, which must have been fitted on `data`'s workers."""
    if model.workers != data.workers:
        raise ValueError("the model was fitted on other workers than the data's")
    weight = model.priors.evidence_weights(model.groups or [w.judge for w in model.workers])
    theta = model.confusion_array()
    log_joint, _ = _log_joint(data, np.array(model.class_priors), theta, weight)
    sub = model.temperature * log_joint[rows]
    return np.asarray(sub - logsumexp(sub, axis=1, keepdims=True), dtype=np.float64)


def _e_step(
    data: JuryData,
    pi: NDArray[np.float64],
    theta: NDArray[np.float64],
    labelled: NDArray[np.bool_],
    weight: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, NDArray[np.float64]]:
    """Posteriors (R, C), soft-vote responsibilities (S, C, L), the log-likelihood and the
    unclamped log P(class, votes) per row (R, C); `weight` (W,) tempers each worker's
    log-likelihood (1: plain Dawid-Skene)."""
    log_joint, soft_resp = _log_joint(data, pi, theta, weight)
    norm = logsumexp(log_joint, axis=1)
    post = np.exp(log_joint - norm[:, None])
    clamp = np.nan_to_num(data.label)
    row_ll = np.where(labelled, (clamp * log_joint).sum(axis=1), norm)
    post = np.where(labelled[:, None], clamp, post)
    return post, soft_resp, float((data.count * row_ll).sum()), log_joint
