"""Choosing the jury's error model on held-out label likelihood, and the ordinal model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routing.jury import JuryPriors, Worker, fit, posterior_from, tabulate
from routing.jury.data import JuryData, Observation
from routing.jury.fit import discretised_normal, log_joint_rows
from routing.jury.select import (
    _held_out,
    candidates_for,
    describe_priors,
    ranked_probability_score,
    rule_for,
    select,
    selects,
)
from tests.routing.jury_support import simulate, symmetric

FIVE = (1, 2, 3, 4, 5)


def normal_confusion(bias: float, spread: float, n: int = 5) -> np.ndarray:
    """(C, L) discretised normal: answer = truth + bias + N(0, spread^2), on the grid."""
    d = np.arange(n)[None, :] - np.arange(n)[:, None]
    z = np.exp(-((d - bias) ** 2) / (2 * spread**2))
    return z / z.sum(axis=1, keepdims=True)


def labelled_data(
    items: list[dict[Worker, Observation]], truth: np.ndarray, n_labels: int, n_classes: int
) -> JuryData:
    labels: list[tuple[float, ...] | None] = [None] * len(items)
    for i in range(n_labels):
        labels[i] = tuple(float(c == truth[i]) for c in range(n_classes))
    return tabulate(items, n_classes, tuple(range(n_classes)), labels)


def test_discretised_normal_recovers_bias_and_spread() -> None:
    # Expected counts exactly proportional to a known model on the grid (bias 0.5,
    # spread ~0.8): the grid's maximum-likelihood pair is that model.
    spreads = np.geomspace(0.15, 6.0, 40)
    spread = float(spreads[np.argmin(abs(spreads - 0.8))])
    truth = normal_confusion(0.5, spread)
    counts = 200 * truth[None]
    fitted = discretised_normal(counts)
    assert fitted.shape == (1, 5, 5)
    np.testing.assert_allclose(fitted[0], truth, atol=1e-9)


def test_ordinal_model_recovers_a_lenient_judge() -> None:
    # Three judges with distance-structured errors, one lenient by a whole step: the
    # structured model (2 parameters per judge) recovers the truth at least as well as
    # the free matrices (20 each) on 600 items with 30 labels, and finds the bias
    # (seed 0: 456 against 431 of 570 right; seeds 1-3 agree, 460/454, 459/454, 445/437).
    conf = [normal_confusion(0.0, 0.6), normal_confusion(0.0, 0.8), normal_confusion(1.0, 0.6)]
    truth, items = simulate(conf, [0.2] * 5, 600, seed=0)
    data = labelled_data(items, truth, 30, 5)
    ordinal = fit(
        data,
        FIVE,
        ordinal=True,
        numeric=True,
        priors=JuryPriors(ordinal_target=True, shrinkage=math.inf),
    )
    free = fit(data, FIVE, ordinal=True, numeric=True, priors=JuryPriors(shrinkage=0.0))
    theta = ordinal.confusion_array()
    lenient = ordinal.worker_index()["j2"]
    # Truth 3 (index 2): the lenient judge most often says 4.
    assert int(np.argmax(theta[lenient, 2])) == 3

    def hits(model: object) -> int:
        return sum(
            posterior_from(model, items[i]).value == FIVE[truth[i]]  # type: ignore[arg-type]
            for i in range(30, 600)
        )

    assert hits(ordinal) >= hits(free)


def test_held_out_moves_labels_to_unlabelled_copies() -> None:
    truth, items = simulate([symmetric(0.8, 2)] * 3, [0.5, 0.5], 60, seed=1)
    data = labelled_data(items, truth, 40, 2)
    rows = np.flatnonzero(data.labelled)
    held = np.zeros(data.n_rows)
    held[rows[:3]] = 1.0
    new, copies = _held_out(data, rows, held)
    assert new.count.sum() == data.count.sum()
    assert new.count[new.labelled].sum() == data.count[data.labelled].sum() - 3
    assert copies.tolist() == list(range(data.n_rows, data.n_rows + 3))
    for copy, origin in zip(copies, rows[:3], strict=True):
        got = sorted(
            zip(
                new.hard_worker[new.hard_row == copy],
                new.hard_code[new.hard_row == copy],
                strict=True,
            )
        )
        want = sorted(
            zip(
                data.hard_worker[data.hard_row == origin],
                data.hard_code[data.hard_row == origin],
                strict=True,
            )
        )
        assert got == want


def test_log_joint_rows_is_the_posterior() -> None:
    truth, items = simulate([symmetric(0.8, 3), symmetric(0.6, 3)], [0.3, 0.3, 0.4], 80, seed=2)
    data = labelled_data(items, truth, 10, 3)
    model = fit(data, ("a", "b", "c"), ordinal=False, numeric=False)
    got = np.exp(log_joint_rows(data, model, np.arange(data.n_rows)))
    # Each unlabelled row's first item: the same posterior as posterior_from.
    row_of = {}
    for i, obs in enumerate(items):
        row_of.setdefault(tuple(sorted((w.key, o) for w, o in obs.items())), i)
    unlabelled = np.flatnonzero(~data.labelled)
    for r in unlabelled[:10]:
        pattern = {
            data.workers[w]: int(c)
            for w, c in zip(
                data.hard_worker[data.hard_row == r],
                data.hard_code[data.hard_row == r],
                strict=True,
            )
        }
        want = posterior_from(model, pattern).probs
        np.testing.assert_allclose(got[r], [want["a"], want["b"], want["c"]], atol=1e-12)


def test_select_prefers_free_matrices_for_a_position_biased_judge() -> None:
    # One judge in two orders says "first shown" 70% of the time: a one-accuracy model
    # cannot represent it, so its held-out log score is worse than the shrunk matrices'.
    fair = symmetric(0.85, 2)
    first_a = np.array([[1.0, 0.0], [0.7, 0.3]])  # AB: says A (shown first) 70% when B is right
    first_b = np.array([[0.3, 0.7], [0.0, 1.0]])  # BA: says B 70% when A is right
    workers = [Worker(judge=n, order=o) for n in ("f1", "f2", "b") for o in ("AB", "BA")]
    truth, items = simulate([fair, fair, fair, fair, first_a, first_b], [0.5, 0.5], 400, 5, workers)
    data = labelled_data(items, truth, 100, 2)
    cands = candidates_for(2, ordinal=False)
    sel = select(data, ("A", "B"), cands, ordinal=False, numeric=False, seed=0)
    assert describe_priors(cands[1]) == "one-coin"
    assert sel.scores[1] < sel.scores[0]
    assert sel.index == 0
    assert sel.scores[sel.index] == max(sel.scores)
    assert sel.n_labelled == 100


def _bloc_panel(n: int, seed: int) -> tuple[np.ndarray, list[dict[Worker, Observation]]]:
    """A binary panel: one 0.65-accurate judge asked under 3 prompts that answer alike (a
    bloc wrong together) and two independent 0.8-accurate judges."""
    truth, items = simulate(
        [symmetric(0.65, 2), symmetric(0.8, 2), symmetric(0.8, 2)], [0.5, 0.5], n, seed=seed
    )
    copies = [Worker(judge=f"x/prompt{k}") for k in range(3)]
    out: list[dict[Worker, Observation]] = []
    for obs in items:
        answer = obs.pop(Worker(judge="j0"))
        out.append({**obs, **dict.fromkeys(copies, answer)})
    return truth, out


@pytest.mark.parametrize("seed", [0, 2])
def test_labels_alone_beat_em_misled_by_a_correlated_bloc(seed: int) -> None:
    # EM over 2,000 unlabelled items reads the bloc's agreement as accuracy and follows
    # it (about its 0.65); estimated on the 100 human labels alone, the bloc's copies
    # are 0.65 each and the two honest judges outvote them when they agree. The held-out
    # log score sees it and picks a labels-only candidate.
    truth, items = _bloc_panel(2000, seed)
    data = labelled_data(items, truth, 100, 2)
    cands = candidates_for(2, ordinal=False)
    sel = select(data, (0, 1), cands, ordinal=False, numeric=False, seed=0)
    assert describe_priors(sel.chosen).endswith("labels-only")
    assert max(sel.scores[:2]) < min(sel.scores[2:]) - 0.1
    test_truth, test_items = _bloc_panel(3000, seed + 100)

    def accuracy(priors: JuryPriors) -> float:
        model = fit(data, (0, 1), ordinal=False, numeric=False, priors=priors)
        got = [posterior_from(model, o).value for o in test_items]
        return float(np.mean(np.array(got) == test_truth))

    assert accuracy(cands[0]) < 0.7
    assert accuracy(sel.chosen) > 0.8
    bloc = fit(data, (0, 1), ordinal=False, numeric=False, priors=sel.chosen)
    x0 = bloc.workers.index(Worker(judge="x/prompt0"))
    assert 0.5 < bloc.accuracy[x0] < 0.8  # its labelled accuracy, not its agreement


def test_a_labels_only_fit_learns_nothing_from_unlabelled_items() -> None:
    truth, items = simulate([symmetric(0.8, 2)] * 3, [0.3, 0.7], 600, seed=1)
    lo = JuryPriors(unlabelled_weight=0.0)
    full = fit(labelled_data(items, truth, 60, 2), (0, 1), ordinal=False, numeric=False, priors=lo)
    alone = fit(
        labelled_data(items[:60], truth, 60, 2), (0, 1), ordinal=False, numeric=False, priors=lo
    )
    np.testing.assert_allclose(full.confusion_array(), alone.confusion_array(), atol=1e-12)
    np.testing.assert_allclose(full.class_priors, alone.class_priors, atol=1e-12)
    # its votes (and so the intervals on its accuracies) are the labelled items' only
    np.testing.assert_allclose(full.n_votes, alone.n_votes)
    assert sum(full.n_votes) == 3 * 60
    assert full.n_items == 600 and full.n_labelled == 60 and full.converged


def test_select_keeps_the_default_with_too_few_labels() -> None:
    truth, items = simulate([symmetric(0.8, 2)] * 3, [0.5, 0.5], 100, seed=4)
    data = labelled_data(items, truth, 10, 2)
    sel = select(data, ("A", "B"), candidates_for(2, False), ordinal=False, numeric=False)
    assert sel.index == 0 and sel.chosen == JuryPriors()
    assert all(math.isnan(s) for s in sel.scores)


def test_candidates() -> None:
    assert [describe_priors(c) for c in candidates_for(3, ordinal=False)] == [
        "shrunk",
        "one-coin",
        "equal judges",
        "shrunk labels-only",
        "one-coin labels-only",
        "equal judges labels-only",
    ]
    five = candidates_for(5, ordinal=True)
    assert five[0] == JuryPriors()
    assert [describe_priors(c) for c in five] == [
        "shrunk",
        "one-coin",
        "ordinal",
        "equal judges",
        "shrunk labels-only",
        "one-coin labels-only",
        "ordinal labels-only",
        "equal judges labels-only",
    ]
    assert len(candidates_for(2, ordinal=True)) == 6  # a binary scale has no distance
    # a base that is already labels-only is not listed twice
    lo = JuryPriors(unlabelled_weight=0.0)
    assert len(candidates_for(2, ordinal=False, base=lo)) == 3
    truth, items = simulate([symmetric(0.8, 2)], [0.5, 0.5], 5, seed=0)
    with pytest.raises(ValueError, match="candidate"):
        select(labelled_data(items, truth, 0, 2), ("A", "B"), (), ordinal=False, numeric=False)


def test_ranked_probability_score_worked_example() -> None:
    # Forecast (0.2, 0.5, 0.3), the truth the middle class: cumulative (0.2, 0.7) against
    # (0, 1), RPS = 0.2^2 + 0.3^2 = 0.13 (Epstein 1969; Wilks, Statistical Methods in the
    # Atmospheric Sciences, section 8.4.8). A perfect forecast scores 0, and a forecast
    # one step off scores less than one two steps off (the log score cannot tell them apart).
    probs = np.array([[0.2, 0.5, 0.3], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    label = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(ranked_probability_score(probs, label), [0.13, 0.0, 2.0, 1.0])
    assert rule_for(True, 5) == "rps" and rule_for(True, 2) == "log" and rule_for(False, 3) == "log"


def test_the_selection_policy_by_scale() -> None:
    # "scale" (the service's): nominal, binary and pairwise scales, not ordinal ones of
    # more than two values; an ordinal scale of two values is a binary one.
    assert selects("scale", ordinal=False, n_values=2)
    assert selects("scale", ordinal=False, n_values=3)  # pairwise A / B / tie
    assert selects("scale", ordinal=True, n_values=2)
    assert not selects("scale", ordinal=True, n_values=5)
    assert selects("all", ordinal=True, n_values=5)
    assert not selects("none", ordinal=False, n_values=2)


def test_equal_judges_vote_by_plurality_with_one_pooled_accuracy() -> None:
    # Five judges of accuracies 0.6-0.95 on a 3-value scale: the equal-judges model gives
    # every worker one accuracy, and on every item whose plurality leads by two votes or more its
    # verdict is that plurality (counted here by hand), whatever the judges' own accuracies.
    accs = [0.6, 0.7, 0.8, 0.9, 0.95]
    truth, items = simulate([symmetric(a, 3) for a in accs], [0.3, 0.3, 0.4], 500, seed=3)
    data = labelled_data(items, truth, 0, 3)
    eq = JuryPriors(shrinkage=math.inf, shared_accuracy=True)
    model = fit(data, (0, 1, 2), ordinal=False, numeric=False, priors=eq)
    assert model.converged and len(set(model.accuracy)) == 1
    strict = 0
    for obs in items:
        counts = np.bincount([o for o in obs.values()], minlength=3)
        top = np.flatnonzero(counts == counts.max())
        if top.size == 1 and counts.max() - np.sort(counts)[-2] >= 2:
            strict += 1
            assert posterior_from(model, obs).value == int(top[0])
    assert strict > 300
    # without the pooling, the same fit gives each judge its own accuracy
    coin = fit(
        data,
        (0, 1, 2),
        ordinal=False,
        numeric=False,
        priors=eq.model_copy(update={"shared_accuracy": False}),
    )
    assert len(set(coin.accuracy)) == 5


def test_a_labels_only_equal_judges_fit_is_the_labelled_share_of_correct_votes() -> None:
    truth, items = simulate([symmetric(0.7, 2), symmetric(0.9, 2)], [0.5, 0.5], 400, seed=5)
    pri = JuryPriors(shrinkage=math.inf, shared_accuracy=True, unlabelled_weight=0.0)
    model = fit(
        labelled_data(items, truth, 80, 2), (0, 1), ordinal=False, numeric=False, priors=pri
    )
    right = sum(int(o == truth[i]) for i in range(80) for o in items[i].values())
    votes = sum(len(items[i]) for i in range(80))
    p0, a0 = pri.accuracy_for(2), pri.accuracy_strength
    expected = (right + a0 * p0) / (votes + a0)  # the Beta-prior posterior mean
    np.testing.assert_allclose(model.accuracy, [expected, expected], rtol=1e-9)
