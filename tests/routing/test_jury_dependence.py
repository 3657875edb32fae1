"""The jury's dependence correction (`JuryPriors.dependence`) and the worked example of
docs/statistics.md, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from judges import Vote
from routing.jury import (
    JuryModel,
    JuryPriors,
    Worker,
    can_change,
    cold_start,
    fit,
    fit_votes,
    posterior_from,
    tabulate,
)
from rubrics import Mode, Rubric
from tests.routing.jury_support import brute_force_can_change, simulate, symmetric

PAIR = Rubric(
    id="p", version=1, description="d", mode=Mode.PAIRWISE, scale=("A", "B", "tie"), criteria="c"
)


def _pairwise_cold(dependence: float) -> JuryModel:
    return cold_start(
        PAIR.scale, (0, 1), ordinal=False, numeric=False, priors=JuryPriors(dependence=dependence)
    )


def test_a_judges_two_orders_count_as_one_vote_at_dependence_one() -> None:
    # X says A in both orders, Y says B once. Independent: 2 votes to 1, each vote a
    # likelihood ratio of 4 (prior accuracy 2/3 on A/B/tie against 1/6 for each wrong
    # value), so odds 4 for A; dependence 1: X's two readings weigh as one, 1 vote to 1.
    obs = {Worker(judge="X", order="AB"): 0, Worker(judge="X", order="BA"): 0}
    obs[Worker(judge="Y", order="AB")] = 1
    independent = posterior_from(_pairwise_cold(0.0), obs)
    assert independent.value == "A"
    assert independent.confidence == pytest.approx(4 / 5)
    one_vote = posterior_from(_pairwise_cold(1.0), obs)
    assert one_vote.prob("A") == pytest.approx(0.5)
    half = posterior_from(_pairwise_cold(0.5), obs)  # X as sqrt(2) votes: odds 4**(sqrt2 - 1)
    odds = 4 ** (math.sqrt(2) - 1)
    assert half.prob("A") == pytest.approx(odds / (1 + odds))


def test_fit_votes_groups_a_family() -> None:
    votes = [
        [
            Vote(judge="m1", model="m1", family="llama", value="A", order="AB"),
            Vote(judge="m2", model="m2", family="llama", value="A", order="AB"),
            Vote(judge="g", model="g", value="B" if i % 4 == 0 else "A", order="AB"),
        ]
        for i in range(12)
    ]
    model = fit_votes(PAIR, votes, priors=JuryPriors(dependence=1.0))
    assert dict(zip((w.key for w in model.workers), model.groups, strict=True)) == {
        "g|AB": "g",
        "m1|AB": "llama",
        "m2|AB": "llama",
    }
    weights = model.weights_for(list(model.workers))
    assert weights.tolist() == [1.0, 0.5, 0.5]


@pytest.mark.parametrize("seed", range(3))
def test_can_change_stays_exact_with_dependence(seed: int) -> None:
    workers = [Worker(judge=j, order=o) for j in ("a", "b", "c") for o in ("AB", "BA")]
    confusions = [symmetric(acc, 3) for acc in (0.9, 0.8, 0.7, 0.7, 0.6, 0.55)]
    _, items = simulate(confusions, [0.5, 0.3, 0.2], 300, seed=seed, workers=workers)
    data = tabulate(items, 3, (0, 1, 2), workers=workers)
    model = fit(data, (0, 1, 2), ordinal=True, numeric=True, priors=JuryPriors(dependence=1.0))
    assert model.weights_for(workers).tolist() == [0.5] * 6
    rng = np.random.default_rng(seed)
    for _ in range(30):
        k = int(rng.integers(0, 5))
        obs = {w: int(rng.integers(0, 3)) for w in workers[:k]}
        assert can_change(model, obs, workers[k:]) == brute_force_can_change(
            model, obs, workers[k:]
        )


def test_dependence_zero_is_plain_dawid_skene() -> None:
    workers = [Worker(judge=j, order=o) for j in ("a", "b") for o in ("AB", "BA")]
    confusions = [symmetric(acc, 2) for acc in (0.9, 0.8, 0.7, 0.65)]
    _, items = simulate(confusions, [0.6, 0.4], 200, seed=1, workers=workers)
    data = tabulate(items, 2, (0, 1), workers=workers)
    plain = fit(data, (False, True), ordinal=True, numeric=False)
    tempered = fit(
        data, (False, True), ordinal=True, numeric=False, priors=JuryPriors(dependence=0.5)
    )
    assert plain.log_likelihood != pytest.approx(tempered.log_likelihood)
    again = fit(data, (False, True), ordinal=True, numeric=False, priors=JuryPriors(dependence=0))
    assert again.confusion == plain.confusion and again.class_priors == plain.class_priors


# --- the worked example of docs/statistics.md -------------------------------------------------


def worked_model(dependence: float = 0.0) -> JuryModel:
    """Three judges on a [false, true] scale, priors 0.4 / 0.6; J3 says true on almost
    everything, so its `true` is weak evidence."""
    confusion = (
        ((0.8, 0.2), (0.1, 0.9)),  # J1: accurate
        ((0.6, 0.4), (0.3, 0.7)),  # J2: weak
        ((0.5, 0.5), (0.05, 0.95)),  # J3: lenient
    )
    return JuryModel(
        scale=(False, True),
        classes=(0, 1),
        ordinal=True,
        numeric=False,
        priors=JuryPriors(dependence=dependence),
        workers=tuple(Worker(judge=j) for j in ("J1", "J2", "J3")),
        class_priors=(0.4, 0.6),
        confusion=confusion,
        accuracy=(0.85, 0.65, 0.7),
        n_votes=(100.0, 100.0, 100.0),
        n_items=100,
        n_labelled=0,
        n_patterns=8,
        iterations=1,
        converged=True,
        log_likelihood=0.0,
        groups=("J1", "fam", "fam"),
    )


def test_worked_example_by_hand() -> None:
    j1, j2, j3 = (Worker(judge=j) for j in ("J1", "J2", "J3"))
    votes = {j1: 0, j2: 1, j3: 1}  # J1 false; J2 and J3 true
    # P(false) ∝ 0.4 * 0.8 * 0.4 * 0.5 = 0.064; P(true) ∝ 0.6 * 0.1 * 0.7 * 0.95 = 0.0399.
    verdict = posterior_from(worked_model(), votes)
    assert verdict.value is False
    assert verdict.confidence == pytest.approx(0.064 / (0.064 + 0.0399))  # 0.616
    # J2 and J3 in one family at dependence 1: each counts half a vote.
    # P(false) ∝ 0.4 * 0.8 * sqrt(0.4 * 0.5); P(true) ∝ 0.6 * 0.1 * sqrt(0.7 * 0.95): 0.745.
    f, t = 0.32 * math.sqrt(0.20), 0.06 * math.sqrt(0.665)
    assert posterior_from(worked_model(1.0), votes).confidence == pytest.approx(f / (f + t))
    # After J1 alone: 0.32 against 0.06 (0.842). J2 and J3 could add at most
    # log(0.7 / 0.4) + log(0.95 / 0.5) = 1.20 to true's log-odds; true trails by
    # log(0.32 / 0.06) = 1.67, so the cascade stops after one judge.
    first = posterior_from(worked_model(), {j1: 0})
    assert first.confidence == pytest.approx(0.32 / 0.38)
    assert not can_change(worked_model(), {j1: 0}, [j2, j3])
    # J1 saying true instead: 0.08 against 0.54, yet not settled: lenient J3 saying false
    # is strong evidence (0.5 / 0.05 = 10); with J2's false too, false wins 0.024 to 0.0081.
    assert can_change(worked_model(), {j1: 1}, [j2, j3])
    assert posterior_from(worked_model(), {j1: 1, j2: 0, j3: 0}).confidence == pytest.approx(
        0.024 / (0.024 + 0.0081)
    )
    # Alone, the weak J2 saying true (0.16 against 0.42) can be overturned by J1 and J3.
    assert can_change(worked_model(), {j2: 1}, [j1, j3])
