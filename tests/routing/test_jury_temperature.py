"""The posterior's temperature and the median verdict of ordinal scales."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from routing.jury import (
    JuryModel,
    JuryPriors,
    Worker,
    can_change,
    fit,
    fit_temperature,
    posterior_from,
    tabulate,
)
from routing.jury.temperature import human_verdicts
from tests.routing.jury_support import brute_force_can_change, simulate, symmetric


def test_temperature_by_hand() -> None:
    # Every row has log-odds 2 for class 1 and 80% of the labels say 1: the maximum of
    # the likelihood has sigmoid(2 tau) = 0.8, tau = log(4) / 2 = 0.6931.
    log_joint = np.tile([0.0, 2.0], (10, 1))
    labels = np.zeros((10, 2))
    labels[:8, 1] = 1.0
    labels[8:, 0] = 1.0
    assert fit_temperature(log_joint, labels) == pytest.approx(math.log(4) / 2, abs=1e-4)
    # Counts weigh rows: 4 rows of weight 2 saying 1 and 2 saying 0 are the same data.
    counts = np.array([2.0, 2.0, 2.0, 2.0, 1.0, 1.0])
    lab = labels[[0, 1, 2, 3, 8, 9]]
    assert fit_temperature(log_joint[:6], lab, counts) == pytest.approx(math.log(4) / 2, abs=1e-4)


def test_temperature_never_sharpens() -> None:
    # Labels that all agree with the mode would want tau -> infinity; it stays at 1.
    log_joint = np.tile([0.0, 0.5], (20, 1))
    labels = np.tile([0.0, 1.0], (20, 1))
    assert fit_temperature(log_joint, labels) == 1.0
    assert fit_temperature(np.zeros((0, 2)), np.zeros((0, 2))) == 1.0
    with pytest.raises(ValueError, match="alike"):
        fit_temperature(np.zeros((3, 2)), np.zeros((3, 3)))


def test_human_verdicts_median_half_up_and_nominal_ties() -> None:
    classes = (0, 1, 2, 3, 4)
    shares = np.array(
        [
            [0, 0, 0, 0.5, 0.5],  # 3 and 4: median 3.5, rounded up to 4
            [0, 0, 0.5, 0, 0.5],  # 2 and 4: median 3
            [0, 1 / 3, 1 / 3, 1 / 3, 0],  # 1, 2, 3: 2
        ]
    )
    got = human_verdicts(shares, classes, ordinal=True)
    assert got.argmax(axis=1).tolist() == [4, 3, 2]
    assert got.sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    nominal = human_verdicts(np.array([[0.5, 0.5, 0], [0.2, 0.2, 0.6]]), (0, 1, 2), ordinal=False)
    assert nominal.tolist() == [[0, 0, 0], [0, 0, 1]]


def _correlated_panel(n: int, seed: int) -> tuple[np.ndarray, list[dict[Worker, int]]]:
    """A binary panel whose judge `x` is asked under 5 prompts that all answer alike (one
    piece of evidence counted five times) and two independent judges."""
    truth, items = simulate(
        [symmetric(0.75, 2), symmetric(0.7, 2), symmetric(0.7, 2)], [0.5, 0.5], n, seed=seed
    )
    copies = [Worker(judge=f"x/prompt{k}") for k in range(5)]
    out = []
    for obs in items:
        answer = obs.pop(Worker(judge="j0"))
        out.append({**obs, **dict.fromkeys(copies, answer)})
    return truth, out


def _reliability(model: JuryModel, truth: np.ndarray, items: list[dict[Worker, int]]) -> float:
    """Mean confidence minus the share right (positive: overconfident)."""
    got = [posterior_from(model, o) for o in items]
    conf = np.array([g.confidence for g in got])
    right = np.array([g.value == t for g, t in zip(got, truth, strict=True)])
    return float(conf.mean() - right.mean())


def test_a_fitted_temperature_repairs_correlated_judges() -> None:
    truth, items = _correlated_panel(3000, seed=4)
    labels: list[list[float] | None] = [None] * len(items)
    for i in range(300):
        labels[i] = [1.0, 0.0] if truth[i] == 0 else [0.0, 1.0]
    data = tabulate(items, 2, (0, 1), labels)
    plain = fit(data, (0, 1), ordinal=True, numeric=True, priors=JuryPriors(temperature_labels=0))
    tempered = fit(data, (0, 1), ordinal=True, numeric=True)
    assert plain.temperature == 1.0
    # Five copies of one judge agree by construction, so EM believes them nearly always
    # right; only a strong discount of the evidence calibrates that.
    assert 0.01 < tempered.temperature < 0.5
    test_truth, test_items = _correlated_panel(4000, seed=5)
    # The independent-errors posterior is far too sure; the tempered one is calibrated.
    assert _reliability(plain, test_truth, test_items) > 0.05
    assert abs(_reliability(tempered, test_truth, test_items)) < 0.02
    # The mode never moves.
    for obs in test_items[:200]:
        assert posterior_from(plain, obs).value == posterior_from(tempered, obs).value


def test_no_temperature_below_the_label_threshold() -> None:
    truth, items = _correlated_panel(600, seed=6)
    labels: list[list[float] | None] = [None] * len(items)
    for i in range(29):
        labels[i] = [1.0, 0.0] if truth[i] == 0 else [0.0, 1.0]
    data = tabulate(items, 2, (0, 1), labels)
    assert fit(data, (0, 1), ordinal=True, numeric=True).temperature == 1.0
    labels[29] = [1.0, 0.0] if truth[29] == 0 else [0.0, 1.0]
    data = tabulate(items, 2, (0, 1), labels)
    assert fit(data, (0, 1), ordinal=True, numeric=True).temperature < 1.0


def test_a_model_stored_before_the_temperature_loads_untempered() -> None:
    _, items = simulate([symmetric(0.8, 3)] * 3, [0.4, 0.4, 0.2], 200, seed=1)
    model = fit(tabulate(items, 3, (0, 1, 2)), (0, 1, 2), ordinal=True, numeric=True)
    old = model.model_dump(mode="json")
    del old["temperature"]
    del old["priors"]["temperature_labels"], old["priors"]["ordinal_verdict"]
    loaded = JuryModel.model_validate(old)
    assert loaded.temperature == 1.0 and loaded.priors.ordinal_verdict == "median"


def _five_point_model(temperature: float, verdict: str = "median") -> JuryModel:
    confusions = [symmetric(0.5, 5), symmetric(0.45, 5), symmetric(0.4, 5), symmetric(0.4, 5)]
    _, items = simulate(confusions, [0.1, 0.2, 0.3, 0.25, 0.15], 2000, seed=3)
    scale = (1, 2, 3, 4, 5)
    priors = JuryPriors(ordinal_verdict=verdict)  # type: ignore[arg-type]
    model = fit(tabulate(items, 5, range(5)), scale, ordinal=True, numeric=True, priors=priors)
    return model.model_copy(update={"temperature": temperature})


def test_the_ordinal_verdict_is_the_posterior_median() -> None:
    model = _five_point_model(0.3)
    workers = list(model.workers)
    seen_apart = 0
    for answers in itertools.product(range(5), repeat=3):
        got = posterior_from(model, dict(zip(workers[:3], answers, strict=True)))
        cumulative = np.cumsum([got.prob(v) for v in model.scale])
        median = model.scale[int(np.searchsorted(cumulative, 0.5 - 1e-12))]
        assert got.value == got.median == median
        assert got.confidence == pytest.approx(got.prob(got.value))
        assert got.mode == max(model.scale, key=got.prob)
        seen_apart += got.mode != got.value
    assert seen_apart > 0  # the two rules differ on some answers
    by_mode = _five_point_model(0.3, "mode")
    got = posterior_from(by_mode, {workers[0]: 0, workers[1]: 4, workers[2]: 4})
    assert got.value == got.mode


@pytest.mark.parametrize("temperature", [1.0, 0.2])
def test_can_change_for_a_median_verdict(temperature: float) -> None:
    # Exact by enumeration (the default), and never "cannot" where it can with the bound
    # (max_answers=1 forces it): the cascade may ask more, never skip a judge that counts.
    model = _five_point_model(temperature)
    workers = list(model.workers)
    rng = np.random.default_rng(0)
    conservative = 0
    for _ in range(40):
        k = int(rng.integers(0, 4))
        obs = {w: int(rng.integers(0, 5)) for w in workers[:k]}
        pending = workers[k:]
        truth = brute_force_can_change(model, obs, pending)
        assert can_change(model, obs, pending) == truth
        bound = can_change(model, obs, pending, max_answers=1)
        assert bound or not truth
        conservative += bound and not truth
    assert not can_change(model, {workers[0]: 2}, [])
