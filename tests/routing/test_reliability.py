"""Dawid-Skene EM and reliability weights: recovery on simulated panels, properties, errors."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from routing.reliability import (
    MAX_WEIGHT,
    MIN_WEIGHT,
    dawid_skene,
    log_odds_weight,
    reliability_weights,
)

PROPERTIES = settings(max_examples=40, deadline=None, database=None)


def symmetric(acc: float, k: int) -> NDArray[np.float64]:
    """Confusion matrix (true in rows, vote in columns) of a judge right with prob. acc."""
    m = np.full((k, k), (1 - acc) / (k - 1))
    np.fill_diagonal(m, acc)
    return m


def simulate(
    confusions: list[NDArray[np.float64]],
    priors: list[float],
    n: int,
    seed: int,
    missing: float = 0.1,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """True classes and an items x judges code matrix drawn from the Dawid-Skene model."""
    rng = np.random.default_rng(seed)
    k = len(priors)
    truth = rng.choice(k, size=n, p=priors)
    codes = np.empty((n, len(confusions)))
    for j, m in enumerate(confusions):
        cum = m.cumsum(axis=1)[truth]
        codes[:, j] = (rng.random(n)[:, None] > cum).sum(axis=1)
    codes[rng.random(codes.shape) < missing] = np.nan
    return truth, codes


def majority(codes: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Plurality vote per item (lowest code on a tie)."""
    return np.array(
        [np.bincount(row[~np.isnan(row)].astype(int), minlength=k).argmax() for row in codes]
    )


def counted_confusion(
    codes: NDArray[np.float64], labels: NDArray[np.int64], k: int
) -> NDArray[np.float64]:
    """Each judge's confusion matrix counted against the given item labels."""
    out = np.zeros((codes.shape[1], k, k))
    for j in range(codes.shape[1]):
        ok = ~np.isnan(codes[:, j])
        np.add.at(out[j], (labels[ok], codes[ok, j].astype(int)), 1.0)
    return out / out.sum(axis=2, keepdims=True)


# --- Dawid-Skene: recovery on simulated data -----------------------------------------------


def adversarial_panel(k: int = 3) -> list[NDArray[np.float64]]:
    """Three honest judges of varying skill and one that systematically answers c + 1."""
    adversary = np.full((k, k), 0.1 / (k - 1))
    for c in range(k):
        adversary[c, (c + 1) % k] = 0.9
    return [symmetric(0.75, k), symmetric(0.7, k), symmetric(0.6, k), adversary]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dawid_skene_recovers_confusions_better_than_majority(seed: int) -> None:
    confusions = adversarial_panel()
    truth, codes = simulate(confusions, [0.5, 0.3, 0.2], n=1500, seed=seed)
    fit = dawid_skene(codes, 3, max_iter=500)
    assert fit.converged
    true_cm = np.array(confusions)
    # Mean absolute error per judge over its 9 confusion cells.
    ds_error = np.abs(np.array(fit.confusion) - true_cm).mean(axis=(1, 2))
    mv_cm = counted_confusion(codes, majority(codes, 3), 3)
    mv_error = np.abs(mv_cm - true_cm).mean(axis=(1, 2))
    assert ds_error.max() < 0.03
    assert np.all(ds_error < mv_error)
    assert ds_error[3] < mv_error[3] / 4  # the adversary's permuted matrix above all
    assert np.abs(np.array(fit.class_priors) - [0.5, 0.3, 0.2]).max() < 0.03
    ds_hits = (fit.labels() == truth).mean()
    assert ds_hits > 0.9 > 0.75 > (majority(codes, 3) == truth).mean()
    # Expected share of correct votes tracks each judge's true accuracy.
    assert fit.accuracy == pytest.approx([0.75, 0.7, 0.6, 0.05], abs=0.03)


def test_dawid_skene_result_shapes_and_invariants() -> None:
    _, codes = simulate([symmetric(0.8, 2)] * 3, [0.4, 0.6], n=50, seed=0)
    codes[0, :] = np.nan  # an item nobody judged
    fit = dawid_skene(codes, 2)
    post = fit.posterior_array()
    assert post.shape == (50, 2)
    assert np.allclose(post.sum(axis=1), 1)
    assert post[0] == pytest.approx(fit.class_priors)  # no votes: the prior
    assert np.allclose(np.array(fit.confusion).sum(axis=2), 1)
    assert sum(fit.class_priors) == pytest.approx(1)
    assert fit.n_votes == tuple(int(n) for n in (~np.isnan(codes)).sum(axis=0))
    assert math.isfinite(fit.log_likelihood) and fit.log_likelihood < 0
    assert fit.converged and fit.iterations >= 1  # run to convergence, not to a cap of 100


def test_dawid_skene_unanimous_panel_is_certain() -> None:
    codes = np.repeat(np.array([[0], [1], [2], [1]], dtype=float), 3, axis=1)
    fit = dawid_skene(codes, 3)
    assert list(fit.labels()) == [0, 1, 2, 1]
    assert fit.posterior_array().max(axis=1) == pytest.approx(1, abs=1e-3)
    assert all(a == pytest.approx(1, abs=1e-3) for a in fit.accuracy if a is not None)


def test_dawid_skene_judge_without_votes() -> None:
    codes = np.array([[0, 0, np.nan], [1, 1, np.nan], [1, 0, np.nan]])
    fit = dawid_skene(codes, 2)
    assert fit.accuracy[2] is None and fit.n_votes[2] == 0
    assert np.allclose(fit.confusion[2], 0.5)  # nothing learned: uniform rows


def test_max_iter_reports_not_converged() -> None:
    _, codes = simulate(adversarial_panel(), [0.5, 0.3, 0.2], n=200, seed=5)
    fit = dawid_skene(codes, 3, max_iter=1)
    assert (fit.iterations, fit.converged) == (1, False)


@pytest.mark.parametrize(
    ("codes", "k", "kwargs", "message"),
    [
        ([[0, -1], [1, 0]], 2, {}, "non-negative"),
        ([[0, 0.5], [1, 0]], 2, {}, "integer"),
        ([0, 1, 1], 2, {}, "2-D"),
        ([[0], [1]], 2, {}, "at least 2 raters"),
        ([[np.nan, np.nan]], 2, {}, "all NaN"),
        ([[0, 2], [1, 0]], 2, {}, "outside the scale"),
        ([[0, 1], [1, 0]], 1, {}, "at least 2"),
        ([[0, 1], [1, 0]], 2, {"max_iter": 0}, "max_iter"),
        ([[0, 1], [1, 0]], 2, {"tol": 0.0}, "tol"),
        ([[0, 1], [1, 0]], 2, {"smoothing": -1.0}, "smoothing"),
        ([[0, 1], [1, np.inf]], 2, {}, "finite"),
    ],
)
def test_dawid_skene_rejects_bad_input(
    codes: object, k: int, kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dawid_skene(codes, k, **kwargs)  # type: ignore[arg-type]


# --- Dawid-Skene: properties -----------------------------------------------------------------


@st.composite
def code_matrices(draw: st.DrawFn) -> tuple[NDArray[np.float64], int, list[int]]:
    k = draw(st.integers(2, 4))
    n_items = draw(st.integers(3, 25))
    n_judges = draw(st.integers(2, 5))
    cells = st.one_of(st.none(), st.integers(0, k - 1))
    rows = draw(
        st.lists(
            st.lists(cells, min_size=n_judges, max_size=n_judges),
            min_size=n_items,
            max_size=n_items,
        )
    )
    codes = np.array([[np.nan if c is None else c for c in row] for row in rows], dtype=float)
    if np.isnan(codes).all():
        codes[0, 0] = 0
    perm = draw(st.permutations(list(range(n_judges))))
    return codes, k, perm


@PROPERTIES
@given(code_matrices())
def test_permuting_judges_permutes_outputs(
    case: tuple[NDArray[np.float64], int, list[int]],
) -> None:
    codes, k, perm = case
    a = dawid_skene(codes, k)
    b = dawid_skene(codes[:, perm], k)
    tol = 1e-6
    assert b.posterior_array() == pytest.approx(a.posterior_array(), abs=tol)
    assert b.class_priors == pytest.approx(a.class_priors, abs=tol)
    assert np.array(b.confusion) == pytest.approx(np.array(a.confusion)[perm], abs=tol)
    assert b.n_votes == tuple(a.n_votes[p] for p in perm)
    for got, want in zip(b.accuracy, (a.accuracy[p] for p in perm), strict=True):
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert got == pytest.approx(want, abs=tol)
    assert b.log_likelihood == pytest.approx(a.log_likelihood, rel=1e-9, abs=1e-6)


# --- Reliability weights -----------------------------------------------------------------------


def test_log_odds_weight_values() -> None:
    assert log_odds_weight(0.75, 2) == pytest.approx(math.log(3))
    assert log_odds_weight(0.5, 3) == pytest.approx(math.log(2))
    assert log_odds_weight(0.5, 2) == MIN_WEIGHT  # chance: no information
    assert log_odds_weight(0.1, 3) == MIN_WEIGHT  # below chance: floored, never negative
    assert log_odds_weight(1.0, 2) == MAX_WEIGHT
    assert log_odds_weight(0.0, 5) == MIN_WEIGHT
    with pytest.raises(ValueError, match="accuracy"):
        log_odds_weight(1.5, 2)
    with pytest.raises(ValueError, match="n_categories"):
        log_odds_weight(0.5, 1)


@PROPERTIES
@given(st.floats(0, 1), st.floats(0, 1), st.integers(2, 6))
def test_weight_monotone_in_accuracy(a: float, b: float, k: int) -> None:
    low, high = sorted((a, b))
    assert MIN_WEIGHT <= log_odds_weight(low, k) <= log_odds_weight(high, k) <= MAX_WEIGHT


@PROPERTIES
@given(st.lists(st.integers(0, 40), min_size=2, max_size=6), st.integers(2, 4))
def test_human_weights_monotone_in_agreement(correct: list[int], k: int) -> None:
    """Judge j matches the human label on correct[j] of 40 items: more matches, more weight."""
    n = 40
    human = np.arange(n) % k
    codes = np.empty((n, len(correct)))
    for j, c in enumerate(correct):
        codes[:, j] = np.where(np.arange(n) < c, human, (human + 1) % k)
    w = reliability_weights(codes, k, human=human, min_human=30)
    assert w.sources == ("human",) * len(correct)
    order = np.argsort(correct, kind="stable")
    weights = np.array(w.weights)[order]
    assert np.all(np.diff(weights) >= 0)
    assert w.accuracy == pytest.approx([c / n for c in correct])


def test_weight_sources() -> None:
    confusions = [symmetric(0.9, 2), symmetric(0.8, 2), symmetric(0.7, 2)]
    truth, codes = simulate(confusions, [0.5, 0.5], n=60, seed=4, missing=0.0)
    codes = np.column_stack([codes, np.full(60, np.nan)])  # a judge that never answered
    human = truth.astype(float)
    human[40:] = np.nan  # 40 labelled items
    codes[:25, 1] = np.nan  # judge 1 has only 15 labelled items with a vote
    w = reliability_weights(
        codes, 2, human=human, judges=["a", "b", "c", "d"], min_human=30, priors=[1, 1, 1, 2.5]
    )
    assert w.sources == ("human", "dawid_skene", "human", "prior")
    assert w.n_human == (40, 15, 40, 0)
    assert w.as_dict()["d"] == 2.5 and w.accuracy[3] is None
    assert w.accuracy[0] == pytest.approx(np.mean(codes[:40, 0] == truth[:40]))
    assert all(MIN_WEIGHT <= x <= MAX_WEIGHT for x in w.weights[:3])
    unsupervised = reliability_weights(codes, 2)
    assert unsupervised.sources == ("dawid_skene", "dawid_skene", "dawid_skene", "prior")
    assert unsupervised.judges == ("j0", "j1", "j2", "j3")


def test_dawid_skene_weights_rank_judges() -> None:
    confusions = [symmetric(0.9, 3), symmetric(0.7, 3), symmetric(0.5, 3), symmetric(0.34, 3)]
    _, codes = simulate(confusions, [0.4, 0.4, 0.2], n=1000, seed=11)
    w = reliability_weights(codes, 3)
    assert list(w.weights) == sorted(w.weights, reverse=True)
    assert w.weights[3] < 0.2  # about chance: about no say


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"human": [0, 1]}, "one entry per item"),
        ({"human": [0, 1, 5]}, "human codes"),
        ({"judges": ["a"]}, "judges must name"),
        ({"judges": ["a", "a"]}, "judges must name"),
        ({"priors": [1.0, 0.0]}, "priors"),
        ({"min_human": 0}, "min_human"),
    ],
)
def test_reliability_weights_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    codes = np.array([[0, 1], [1, 1], [0, 0]], dtype=float)
    with pytest.raises(ValueError, match=message):
        reliability_weights(codes, 2, **kwargs)  # type: ignore[arg-type]


def test_reliability_weights_uses_given_fit() -> None:
    _, codes = simulate(adversarial_panel(), [0.5, 0.3, 0.2], n=100, seed=9)
    fit = dawid_skene(codes, 3)
    w = reliability_weights(codes, 3, ds=fit)
    assert w.accuracy == pytest.approx(fit.accuracy)
    with pytest.raises(ValueError, match="fitted on"):
        reliability_weights(codes[:, :3], 3, ds=fit)


def weak_three_class_panel() -> NDArray[np.float64]:
    """Three weak judges on a 3-class scale: overlapping classes, slow (linear) EM."""
    _, codes = simulate(
        [symmetric(0.55, 3), symmetric(0.5, 3), symmetric(0.45, 3)],
        [0.5, 0.3, 0.2],
        n=200,
        seed=1,
        missing=0.2,
    )
    return codes


def test_dawid_skene_runs_to_convergence_by_default() -> None:
    # This panel needs several hundred EM rounds; the old cap of 100 stopped short.
    codes = weak_three_class_panel()
    assert not dawid_skene(codes, 3, max_iter=100).converged
    fit = dawid_skene(codes, 3)
    assert fit.converged and fit.iterations > 100
    longer = dawid_skene(codes, 3, tol=1e-9)
    assert np.allclose(fit.confusion, longer.confusion, atol=1e-4)


def test_reliability_weights_warn_on_an_unconverged_fit(caplog: pytest.LogCaptureFixture) -> None:
    codes = weak_three_class_panel()
    with caplog.at_level(logging.WARNING, logger="routing.reliability"):
        stale = reliability_weights(codes, 3, ds=dawid_skene(codes, 3, max_iter=100))
    assert "did not converge in 100 EM rounds" in caplog.text
    assert stale.dawid_skene_converged is False
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="routing.reliability"):
        fitted = reliability_weights(codes, 3)  # fits to convergence itself: no warning
    assert caplog.text == "" and fitted.dawid_skene_converged is True
    assert fitted == reliability_weights(codes, 3, ds=dawid_skene(codes, 3))
    human = np.zeros(codes.shape[0])  # every judge has human labels: no fit is used
    assert reliability_weights(codes, 3, human=human).dawid_skene_converged is None
