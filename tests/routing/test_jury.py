"""The jury model's EM against crowd-kit, clamped labels, soft votes, grouping, cold start."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene

from judges import Vote
from routing.jury import (
    JuryModel,
    JuryPriors,
    Worker,
    cold_start,
    fit,
    fit_votes,
    label_distribution,
    observations,
    posterior,
    posterior_from,
    tabulate,
)
from rubrics import Mode, Rubric
from tests.routing.jury_support import simulate, symmetric

SCALE3 = ("low", "mid", "high")


def three_class_panel(n: int = 150, seed: int = 6) -> tuple[np.ndarray, list[dict]]:
    """Two symmetric and two asymmetric workers on a 3-class scale (a seed on which
    crowd-kit's pandas EM converges in under 100 rounds, to keep the test quick)."""
    confusions = [
        symmetric(0.85, 3),
        symmetric(0.7, 3),
        np.array([[0.7, 0.2, 0.1], [0.15, 0.7, 0.15], [0.1, 0.3, 0.6]]),
        np.array([[0.6, 0.2, 0.2], [0.1, 0.75, 0.15], [0.15, 0.15, 0.7]]),
    ]
    return simulate(confusions, [0.5, 0.3, 0.2], n=n, seed=seed)


def crowd_kit_fit(items: list[dict], true_labels: dict[int, int] | None = None) -> DawidSkene:
    rows = [(i, w.key, code) for i, obs in enumerate(items) for w, code in obs.items()]
    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    golden = None if true_labels is None else pd.Series(true_labels)
    with warnings.catch_warnings():
        # crowd-kit 1.4 calls pandas APIs that pandas 3 deprecates; not ours to fix.
        warnings.simplefilter("ignore", getattr(pd.errors, "Pandas4Warning", FutureWarning))
        return DawidSkene(n_iter=2_000, tol=1e-12).fit(frame, true_labels=golden)


# --- against crowd-kit (Toloka's reference implementation), priors off ------------------------


def test_em_matches_crowd_kit_dawid_skene() -> None:
    truth, items = three_class_panel()
    data = tabulate(items, 3, (0, 1, 2))
    model = fit(data, SCALE3, ordinal=True, numeric=False, priors=JuryPriors.none(tol=1e-10))
    ck = crowd_kit_fit(items)
    assert model.converged
    assert model.class_priors == pytest.approx(ck.priors_.sort_index().to_numpy(), abs=1e-4)
    theta = model.confusion_array()
    for w, worker in enumerate(model.workers):
        # crowd-kit's errors_: rows (worker, observed label), columns the true label.
        ck_theta = ck.errors_.loc[worker.key].sort_index(axis=0).sort_index(axis=1).to_numpy().T
        assert theta[w] == pytest.approx(ck_theta, abs=1e-4)
    for i in range(0, len(items), 7):
        ours = posterior_from(model, items[i])
        ck_post = ck.probas_.loc[i].sort_index().to_numpy()
        assert [ours.probs[v] for v in SCALE3] == pytest.approx(ck_post, abs=1e-4)
    # And the fit finds the truth better than chance, as a sanity check on the simulation.
    found = [SCALE3.index(posterior_from(model, o).value) for o in items]
    assert np.mean(np.array(found) == truth) > 0.75


def test_clamped_labels_match_crowd_kit_golden_labels() -> None:
    truth, items = three_class_panel()
    golden = {i: int(truth[i]) for i in range(0, 150, 5)}
    labels = [
        (1.0 * (np.arange(3) == golden[i])).tolist() if i in golden else None
        for i in range(len(items))
    ]
    data = tabulate(items, 3, (0, 1, 2), labels)
    model = fit(data, SCALE3, ordinal=True, numeric=False, priors=JuryPriors.none(tol=1e-10))
    ck = crowd_kit_fit(items, golden)
    assert model.n_labelled == 30
    assert model.class_priors == pytest.approx(ck.priors_.sort_index().to_numpy(), abs=1e-4)
    for w, worker in enumerate(model.workers):
        ck_theta = ck.errors_.loc[worker.key].sort_index(axis=0).sort_index(axis=1).to_numpy().T
        assert model.confusion_array()[w] == pytest.approx(ck_theta, abs=1e-4)


# --- clamped labels ---------------------------------------------------------------------------


def contrarian_panel(seed: int = 0) -> tuple[np.ndarray, list[dict]]:
    """One honest worker (0.85) and two contrarians (0.3): the majority is right only 45% of
    the time, and the mirror image (contrarians right, honest wrong) fits the votes exactly
    as well, so only labels can say which is which."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 300)
    items = []
    for t in truth:
        answer = {
            name: int(t) if rng.random() < acc else int(1 - t)
            for name, acc in (("honest", 0.85), ("a", 0.3), ("b", 0.3))
        }
        items.append({Worker(judge=k): v for k, v in answer.items()})
    return truth, items


def accuracy(model: JuryModel, items: list[dict], truth: np.ndarray) -> float:
    got = [int(posterior_from(model, o).value) for o in items]
    return float(np.mean(np.array(got) == truth))


def test_clamped_labels_move_the_model_to_the_truth() -> None:
    truth, items = contrarian_panel()
    scale = (0, 1)
    unsupervised = fit(tabulate(items, 2, (0, 1)), scale, ordinal=True, numeric=True)
    assert accuracy(unsupervised, items, truth) < 0.5  # follows the contrarian majority
    labels = [[1.0 - t, float(t)] if i < 40 else None for i, t in enumerate(truth)]
    supervised = fit(tabulate(items, 2, (0, 1), labels), scale, ordinal=True, numeric=True)
    assert accuracy(supervised, items[40:], truth[40:]) > 0.8
    index = supervised.worker_index()
    assert supervised.accuracy[index["a"]] < 0.4 < 0.75 < supervised.accuracy[index["honest"]]
    # The contrarians are read inverted: their votes are evidence for the other class.
    theta_a = supervised.confusion_array()[index["a"]]
    assert theta_a[0, 1] > theta_a[0, 0] and theta_a[1, 0] > theta_a[1, 1]
    # A labelled item keeps its label however the votes point (a clamp, not evidence).
    labelled = tabulate(items, 2, (0, 1), labels)
    assert labelled.labelled.sum() > 0 and supervised.n_labelled == 40


def test_several_annotators_clamp_a_distribution() -> None:
    rubric = pairwise_rubric()
    assert label_distribution(rubric.scale, (0, 1, 2), ["A", "tie", "A"]) == pytest.approx(
        (2 / 3, 0, 1 / 3)
    )
    with pytest.raises(ValueError, match="not a latent class"):
        label_distribution(rubric.scale, (0, 1), ["tie"])


# --- sufficient statistics --------------------------------------------------------------------


def test_pattern_grouped_fit_equals_per_item_fit() -> None:
    _, items = simulate(
        [symmetric(0.8, 2), symmetric(0.7, 2), symmetric(0.6, 2)], [0.6, 0.4], 400, 1
    )
    labels = [[1.0, 0.0] if i % 10 == 0 else None for i in range(400)]
    grouped = tabulate(items, 2, (0, 1), labels)
    single = tabulate(items, 2, (0, 1), labels, group=False)
    assert grouped.n_rows <= 2 * 2**3 < single.n_rows == 400
    a = fit(grouped, (0, 1), ordinal=True, numeric=True)
    b = fit(single, (0, 1), ordinal=True, numeric=True)
    assert a.n_items == b.n_items == 400 and a.n_labelled == b.n_labelled == 40
    assert a.iterations == b.iterations
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-10)
    assert a.confusion_array() == pytest.approx(b.confusion_array(), abs=1e-10)
    assert a.class_priors == pytest.approx(b.class_priors, abs=1e-10)


# --- soft evidence, missing votes, cold start ------------------------------------------------


def pairwise_rubric() -> Rubric:
    return Rubric(
        id="pair",
        version=1,
        description="d",
        mode=Mode.PAIRWISE,
        scale=("A", "B", "tie"),
        criteria="c",
    )


def vote(judge: str, value: object, order: str | None = "AB", **kw: object) -> Vote:
    return Vote(judge=judge, model="m", order=order, value=value, **kw)  # type: ignore[arg-type]


def test_soft_votes_enter_as_expected_likelihood() -> None:
    rubric = pairwise_rubric()
    model = cold_start(rubric.scale, (0, 1), ordinal=False, numeric=False)
    theta = np.array([[2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6]])  # prior: halfway to 1
    soft = {"A": 0.7, "B": 0.2, "tie": 0.1}
    got = posterior(model, [vote("j", "A", distribution=soft)])
    like = theta @ np.array([0.7, 0.2, 0.1])
    assert got.probs["A"] == pytest.approx(like[0] / like.sum())
    hard = posterior(model, [vote("j", "A")])
    one_hot = posterior(model, [vote("j", "A", distribution={"A": 1.0})])
    assert one_hot.probs == pytest.approx(hard.probs)
    flat = posterior(model, [vote("j", "A", distribution=dict.fromkeys(("A", "B", "tie"), 1 / 3))])
    assert flat.probs == pytest.approx({"A": 0.5, "B": 0.5})  # an uninformative vote


def test_soft_votes_fit_like_their_hard_equivalents() -> None:
    rubric = pairwise_rubric()
    rng = np.random.default_rng(2)
    items = []
    for _ in range(120):
        t = rng.choice(["A", "B"])
        items.append(
            [
                vote(j, t if rng.random() < acc else ("B" if t == "A" else "A"))
                for j, acc in (("x", 0.9), ("y", 0.75), ("z", 0.6))
            ]
        )
    as_soft = [
        [v.model_copy(update={"distribution": {str(v.value): 1.0}}) for v in item] for item in items
    ]
    a, b = fit_votes(rubric, items), fit_votes(rubric, as_soft)
    assert b.n_patterns == a.n_patterns  # identical one-hot distributions still group
    assert a.confusion_array() == pytest.approx(b.confusion_array(), abs=1e-9)


def test_unusable_votes_are_missing_data() -> None:
    rubric = pairwise_rubric()
    model = cold_start(rubric.scale, (0, 1), ordinal=False, numeric=False)
    base = posterior(model, [vote("a", "A"), vote("b", "A")])
    with_failed = posterior(
        model,
        [
            vote("a", "A"),
            vote("b", "A"),
            vote("c", None, unscored="no_json"),
            vote("d", "B", error="timeout"),
        ],
    )
    assert with_failed == base and base.n_votes == 2


def test_cold_start_is_a_reliability_aware_plurality() -> None:
    # Binary scale, no data: every judge is right with the prior 0.75 (halfway from chance).
    model = cold_start((False, True), (0, 1), ordinal=True, numeric=False)

    def votes(*values: bool) -> list[Vote]:
        return [vote(f"j{i}", v, order=None) for i, v in enumerate(values)]

    assert posterior(model, votes(True, True, False)).confidence == pytest.approx(0.75)
    three = posterior(model, votes(True, True, True))
    assert three.value is True and three.confidence == pytest.approx(27 / 28)
    assert posterior(model, []).confidence == pytest.approx(0.5)
    assert posterior(model, votes(False, False, True)).value is False
    assert three.unknown_workers == ("j0", "j1", "j2")
    empty = fit(tabulate([], 2, (0, 1)), (False, True), ordinal=True, numeric=False)
    assert empty.n_items == 0 and empty.workers == ()


def test_an_unknown_judge_reads_as_the_prior() -> None:
    _, items = simulate(
        [symmetric(0.9, 2), symmetric(0.9, 2), symmetric(0.9, 2)], [0.5, 0.5], 300, 7
    )
    model = fit(tabulate(items, 2, (0, 1)), (0, 1), ordinal=True, numeric=True)
    new = posterior_from(model, {Worker(judge="new"): 1})
    assert new.unknown_workers == ("new",) and new.value == 1
    assert new.confidence == pytest.approx(0.75, abs=0.03)  # priors only, class prior near even


def test_ordinal_posterior_summaries() -> None:
    scale = (1, 2, 3, 4, 5)
    model = cold_start(scale, tuple(range(5)), ordinal=True, numeric=True)
    got = posterior_from(model, {Worker(judge="a"): 3, Worker(judge="b"): 4, Worker(judge="c"): 4})
    probs = np.array([got.probs[str(v)] for v in scale])
    assert got.value == 5 and got.median == 5 and got.confidence == pytest.approx(probs.max())
    assert got.expected == pytest.approx(float(probs @ np.array(scale)))
    assert sum(got.probs.values()) == pytest.approx(1)


def test_fit_reports_convergence_and_serialises() -> None:
    _, items = three_class_panel()
    data = tabulate(items, 3, (0, 1, 2))
    model = fit(data, SCALE3, ordinal=True, numeric=False)
    assert model.converged and 1 <= model.iterations < model.priors.max_iter
    assert math.isfinite(model.log_likelihood) and model.n_items == 150
    capped = fit(data, SCALE3, ordinal=True, numeric=False, priors=JuryPriors(max_iter=1))
    assert (capped.iterations, capped.converged) == (1, False)
    again = JuryModel.model_validate_json(model.model_dump_json())
    assert again == model and again.confusion_array() == pytest.approx(model.confusion_array())
    one_coin = JuryPriors(shrinkage=math.inf)
    assert JuryPriors.model_validate_json(one_coin.model_dump_json()) == one_coin


def test_one_coin_shrinkage_gives_symmetric_confusions() -> None:
    _, items = three_class_panel()
    model = fit(
        tabulate(items, 3, (0, 1, 2)),
        SCALE3,
        ordinal=True,
        numeric=False,
        priors=JuryPriors(shrinkage=math.inf),
    )
    for w, theta in enumerate(model.confusion_array()):
        acc = model.accuracy[w]
        assert np.diag(theta) == pytest.approx([acc] * 3)
        assert theta[0, 1] == pytest.approx((1 - acc) / 2)


@pytest.mark.parametrize(
    ("items", "kwargs", "message"),
    [
        ([{Worker(judge="a"): 3}], {}, "outside"),
        ([{Worker(judge="a"): (0.5, 0.5)}], {}, "non-negative probabilities"),
        ([{Worker(judge="a"): (0.0, 0.0, 0.0)}], {}, "positive total"),
        ([{Worker(judge="a"): 0}], {"labels": [[0.5, 0.2, 0.3]]}, "2 shares summing to 1"),
        ([{Worker(judge="a"): 0}], {"labels": []}, "one entry per item"),
    ],
)
def test_tabulate_rejects_bad_input(items: list[dict], kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tabulate(items, 3, (0, 1), **kwargs)


def test_votes_off_the_scale_are_rejected() -> None:
    with pytest.raises(ValueError, match="not on"):
        observations(("A", "B", "tie"), [vote("a", "C")])
