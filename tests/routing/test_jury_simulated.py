"""The jury model on simulated panels: position bias, calibration, the stop bound, symmetry."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judges import Vote
from routing.jury import (
    Worker,
    can_change,
    cold_start,
    fit,
    fit_votes,
    posterior,
    posterior_from,
    tabulate,
)
from routing.sequential import jury_stop_rule, presentations
from rubrics import Mode, Rubric
from tests.routing.jury_support import brute_force_can_change, simulate, symmetric

PROPERTIES = settings(max_examples=30, deadline=None, database=None)
PAIRWISE = Rubric(
    id="pair", version=1, description="d", mode=Mode.PAIRWISE, scale=("A", "B", "tie"), criteria="c"
)


def biased_pairwise_votes(n: int, seed: int) -> tuple[list[str], list[list[Vote]]]:
    """Two fair judges (right 80% in either order) and one that picks the response shown
    first 70% of the time whatever the truth, else answers right. Canonical frame."""
    rng = np.random.default_rng(seed)
    truth = [str(t) for t in rng.choice(["A", "B"], size=n)]
    items = []
    for t in truth:
        votes = []
        for order in ("AB", "BA"):
            first = "A" if order == "AB" else "B"
            for judge in ("fair1", "fair2"):
                right = rng.random() < 0.8
                votes.append(
                    Vote(judge=judge, model="m", order=order, value=t if right else _other(t))
                )
            value = first if rng.random() < 0.7 else t
            votes.append(Vote(judge="biased", model="m", order=order, value=value))
        items.append(votes)
    return truth, items


def _other(v: str) -> str:
    return "B" if v == "A" else "A"


def test_first_position_bias_is_recovered_with_the_truth() -> None:
    truth, items = biased_pairwise_votes(600, seed=0)
    model = fit_votes(PAIRWISE, items)
    assert model.class_values() == ("A", "B")  # no human tie: tie is no latent class
    index = model.worker_index()
    theta = model.confusion_array()
    ab, ba = theta[index["biased|AB"]], theta[index["biased|BA"]]
    # Shown AB, the biased judge says A for a true B 70% of the time; shown BA, B for a true A.
    assert ab[1, 0] == pytest.approx(0.7, abs=0.07) and ab[0, 0] == pytest.approx(1.0, abs=0.03)
    assert ba[0, 1] == pytest.approx(0.7, abs=0.07) and ba[1, 1] == pytest.approx(1.0, abs=0.03)
    fair = theta[index["fair1|AB"]]
    assert np.diag(fair[:, :2]) == pytest.approx([0.8, 0.8], abs=0.06)
    verdicts = [posterior(model, v).value for v in items]
    jury = np.mean([v == t for v, t in zip(verdicts, truth, strict=True)])
    raw = [[v.value for v in vs] for vs in items]
    plurality = np.mean(
        [
            max(set(r), key=r.count) == t if r.count("A") != r.count("B") else False
            for r, t in zip(raw, truth, strict=True)
        ]
    )
    assert jury > 0.93 and jury > plurality + 0.05


def test_posterior_is_calibrated_on_simulated_data() -> None:
    # Reliability diagram: fit on one sample, read a fresh sample from the same panel; in
    # every confidence bin with >= 100 items, the share right is within three binomial
    # standard errors of the mean posterior confidence. (Fitted on a few thousand items
    # the plug-in posterior is visibly overconfident: estimated confusions are noisier than
    # the truth. That is a real limit of the model, which the calibrated threshold absorbs.)
    confusions = [
        symmetric(0.75, 3),
        symmetric(0.65, 3),
        symmetric(0.6, 3),
        np.array([[0.5, 0.4, 0.1], [0.2, 0.6, 0.2], [0.1, 0.3, 0.6]]),
    ]
    priors = [0.5, 0.3, 0.2]
    _, train = simulate(confusions, priors, 20000, seed=11, missing=0.2)
    model = fit(tabulate(train, 3, (0, 1, 2)), (0, 1, 2), ordinal=True, numeric=True)
    truth, test = simulate(confusions, priors, 6000, seed=12, missing=0.2)
    got = [posterior_from(model, o) for o in test]
    conf = np.array([g.confidence for g in got])
    right = np.array([g.value == t for g, t in zip(got, truth, strict=True)])
    edges = np.linspace(1 / 3, 1.0, 7)
    checked = 0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf >= lo) & (conf < hi) if hi < 1 else (conf >= lo)
        if inside.sum() >= 100:
            checked += 1
            p = conf[inside].mean()
            se = np.sqrt(p * (1 - p) / inside.sum())
            assert right[inside].mean() == pytest.approx(p, abs=3 * se)
    assert checked >= 4
    assert abs(right.mean() - conf.mean()) < 0.02  # calibration in the large


# --- can_change: exact worst case -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_can_change_equals_enumerating_every_answer(seed: int) -> None:
    confusions = [
        symmetric(0.9, 3),
        symmetric(0.6, 3),
        symmetric(0.7, 3),
        symmetric(0.55, 3),
        np.array([[0.4, 0.5, 0.1], [0.1, 0.8, 0.1], [0.3, 0.1, 0.6]]),
    ]
    _, items = simulate(confusions, [0.4, 0.4, 0.2], 400, seed=seed)
    model = fit(tabulate(items, 3, (0, 1, 2)), (0, 1, 2), ordinal=True, numeric=True)
    workers = list(model.workers)
    rng = np.random.default_rng(seed)
    for _ in range(40):
        k = int(rng.integers(0, 4))
        asked = workers[:k]
        obs = {w: int(rng.integers(0, 3)) for w in asked}
        pending = workers[k:]
        assert can_change(model, obs, pending) == brute_force_can_change(model, obs, pending)
    assert not can_change(model, {workers[0]: 0}, [])


def test_jury_stop_rule_stops_when_sure_or_settled() -> None:
    _truth, items = biased_pairwise_votes(400, seed=3)
    model = fit_votes(PAIRWISE, items)
    shown = presentations(PAIRWISE, position_swap=True, scale_swap=False)
    assert shown == (("AB", False), ("BA", False))
    settled_only = jury_stop_rule(model, shown, threshold=float("inf"))
    sure = jury_stop_rule(model, shown, threshold=0.9)
    votes = items[0]
    fair1 = [v for v in votes if v.judge == "fair1"]
    # With nothing asked the verdict can always change; settled_only never stops on
    # confidence, so it stops exactly when the rest cannot change the verdict.
    assert not settled_only([], ["fair1", "fair2", "biased"])
    assert settled_only(fair1, ["fair2", "biased"]) == (
        not can_change(
            model,
            {Worker(judge=v.judge, order=v.order): PAIRWISE.scale.index(v.value) for v in fair1},
            [Worker(judge=j, order=o) for j in ("fair2", "biased") for o in ("AB", "BA")],
        )
    )
    consistent = [Vote(judge="fair1", model="m", order=o, value="A") for o in ("AB", "BA")]
    assert sure(consistent, ["fair2", "biased"]) == (posterior(model, consistent).confidence >= 0.9)
    assert jury_stop_rule(model, shown, threshold=0.5, quorum=2)(consistent, ["fair2"]) is False
    assert jury_stop_rule(model, shown, threshold=0.5, quorum=2)(consistent, []) is True
    with pytest.raises(ValueError, match="quorum"):
        jury_stop_rule(model, shown, threshold=0.9, quorum=0)


def test_a_stop_on_settled_alone_keeps_the_parallel_verdict() -> None:
    _truth, items = biased_pairwise_votes(300, seed=4)
    model = fit_votes(PAIRWISE, items)
    stop = jury_stop_rule(
        model, presentations(PAIRWISE, position_swap=True, scale_swap=False), threshold=float("inf")
    )
    judges = ["fair1", "fair2", "biased"]
    saved = 0
    for votes in items:
        asked: list[Vote] = []
        for k, judge in enumerate(judges):
            asked += [v for v in votes if v.judge == judge]
            if stop(asked, judges[k + 1 :]):
                break
        saved += len(votes) - len(asked)
        assert posterior(model, asked).value == posterior(model, votes).value
    assert saved > 0


# --- symmetries (Hypothesis) ------------------------------------------------------------------

pair_votes = st.lists(
    st.tuples(
        st.sampled_from(["j0", "j1", "j2", "j3"]),
        st.sampled_from(["AB", "BA"]),
        st.sampled_from(["A", "B", "tie"]),
    ),
    max_size=8,
)


def mirror(v: Vote) -> Vote:
    value = {"A": "B", "B": "A"}.get(str(v.value), v.value)
    return v.model_copy(update={"value": value, "order": "BA" if v.order == "AB" else "AB"})


def _votes(raw: list[tuple[str, str, str]]) -> list[Vote]:
    return [Vote(judge=j, model="m", order=o, value=val) for j, o, val in raw]  # type: ignore[arg-type]


@PROPERTIES
@given(pair_votes)
def test_swapping_a_and_b_mirrors_a_pairwise_verdict(raw: list[tuple[str, str, str]]) -> None:
    _, items = biased_pairwise_votes(200, seed=5)
    model = fit_votes(PAIRWISE, items)
    mirrored_model = fit_votes(PAIRWISE, [[mirror(v) for v in vs] for vs in items])
    a = posterior(model, _votes(raw))
    b = posterior(mirrored_model, [mirror(v) for v in _votes(raw)])
    assert b.probs["A"] == pytest.approx(a.probs["B"], abs=1e-6)
    assert b.probs["B"] == pytest.approx(a.probs["A"], abs=1e-6)
    if abs(a.probs["A"] - a.probs["B"]) > 1e-6:
        assert b.value == {"A": "B", "B": "A"}[str(a.value)]


@PROPERTIES
@given(st.permutations([0, 1, 2]), st.integers(0, 10_000))
def test_relabelling_the_classes_permutes_the_posterior(perm: list[int], seed: int) -> None:
    confusions = [
        symmetric(0.8, 3),
        symmetric(0.6, 3),
        np.array([[0.5, 0.3, 0.2], [0.1, 0.7, 0.2], [0.2, 0.2, 0.6]]),
    ]
    _, items = simulate(confusions, [0.5, 0.3, 0.2], 120, seed=seed, missing=0.1)
    relabel = [{w: perm[c] for w, c in o.items()} for o in items]
    a = fit(tabulate(items, 3, (0, 1, 2)), (0, 1, 2), ordinal=False, numeric=False)
    b = fit(tabulate(relabel, 3, (0, 1, 2)), (0, 1, 2), ordinal=False, numeric=False)
    for o, r in list(zip(items, relabel, strict=True))[:20]:
        pa, pb = posterior_from(a, o), posterior_from(b, r)
        for c in range(3):
            assert pb.probs[str(perm[c])] == pytest.approx(pa.probs[str(c)], abs=1e-5)


@PROPERTIES
@given(st.lists(st.sampled_from([False, True]), max_size=9))
def test_cold_start_verdict_is_the_plurality(values: list[bool]) -> None:
    model = cold_start((False, True), (0, 1), ordinal=True, numeric=False)
    got = posterior(model, [Vote(judge=f"j{i}", model="m", value=v) for i, v in enumerate(values)])
    yes, no = values.count(True), values.count(False)
    if yes != no:
        assert got.value is (yes > no)
    odds = 3.0 ** abs(yes - no)  # each net vote multiplies the odds by 0.75 / 0.25
    assert got.confidence == pytest.approx(odds / (1 + odds))
