"""n/a in aggregation, agreement, confidence and kappa: a category of its own, aggregated
and agreed on like any other answer, outside the ordinal order, nominal for kappa."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from routing import Aggregation, aggregate, confidence, item_agreement
from routing.panel_stats import level_for, panel_agreement, weighting_for
from tests.rubrics.test_not_applicable import na_rubric, scored_na


def test_majority_counts_na_as_a_category_and_breaks_ties_to_the_applicable_answer() -> None:
    r = na_rubric()
    assert aggregate(r, [("n/a", 1), ("n/a", 1), ("pass", 1)], Aggregation.MAJORITY).value == "n/a"
    tally = aggregate(r, [("n/a", 1), ("fail", 1)], Aggregation.MAJORITY)
    assert tally.value == "fail"
    assert tally.distribution == {"fail": 0.5, "n/a": 0.5}


def test_median_and_mean_take_na_only_with_a_majority_of_the_votes() -> None:
    s = scored_na()
    votes = [(5, 1.0), (4, 1.0), ("n/a", 1.0), ("n/a", 1.0), (1, 1.0)]
    # n/a holds 2 of 5: the applicable votes decide; their lower median of 1, 4, 5 is 4
    assert aggregate(s, votes, Aggregation.MEDIAN).value == 4
    assert aggregate(s, votes, Aggregation.MEAN).value == 3  # (5+4+1)/3 = 3.33 -> 3
    assert aggregate(s, votes, Aggregation.MEAN).mean_index == pytest.approx(7 / 3)
    majority_na = [(5, 1.0), ("n/a", 1.0), ("n/a", 1.0)]
    assert aggregate(s, majority_na, Aggregation.MEDIAN).value == "n/a"
    assert aggregate(s, majority_na, Aggregation.MEAN).value == "n/a"


def test_agreement_counts_na_as_a_category_and_leaves_it_out_of_the_spread() -> None:
    s = scored_na()
    a = item_agreement(s, [(5, 1.0), ("n/a", 1.0), ("n/a", 1.0)], total_votes=3)
    assert a.fleiss_p_i == pytest.approx(1 / 3)  # one agreeing pair of three
    assert a.spread == 0  # only the 5 is on the order
    assert a.usable_votes == 3


def test_confidence_counts_na_as_exact_agreement_only() -> None:
    s = scored_na()
    # median verdict 4; the n/a vote agrees with it by 0 (not by its "distance")
    conf = confidence(s, [(4, 1.0), (4, 1.0), ("n/a", 1.0)], 4, Aggregation.MEDIAN)
    assert conf == pytest.approx((2 + 1) / (3 + 2))


def test_kappa_treats_na_as_a_nominal_category() -> None:
    s = scored_na()
    assert weighting_for(s) == "none" and level_for(s) == "nominal"
    rng = np.random.default_rng(7)
    truth = rng.integers(0, len(s.scale), size=40)
    noisy = np.where(rng.random((40, 3)) < 0.7, truth[:, None], rng.integers(0, 6, (40, 3)))
    stats = panel_agreement(s, ["a", "b", "c"], noisy.astype(float), n_boot=20)
    table, _ = aggregate_raters(noisy, n_cat=len(s.scale))
    assert stats.fleiss_kappa is not None
    assert stats.fleiss_kappa.value == pytest.approx(sm_fleiss_kappa(table, method="fleiss"))
    expected = cohen_kappa_score(noisy[:, 0], noisy[:, 1])  # unweighted: n/a is nominal
    assert stats.cohen_kappa["a"]["b"] == pytest.approx(expected)
