"""Per-item agreement: Fleiss' P_i, the weighted vote margin and the ordinal spread."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from routing import fleiss_p_i, item_agreement
from tests.support.examples import FLEISS_1971
from tests.support.library import HELPFULNESS, PAIRWISE, SAFETY

# --- Fleiss' P_i --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "votes, expected",
    [
        ([5, 5, 5], 1.0),
        ([5, 5, 3], 1 / 3),
        ([1, 3, 5], 0.0),
        ([5, 5], 1.0),
        ([5, 3], 0.0),
        ([4, 4, 2, 2], 1 / 3),  # 2 * (2 * 1) agreeing ordered pairs of 4 * 3
        ([4, 4, 4, 2], 1 / 2),
        (["pass", "pass", "fail"], 1 / 3),
        (["A", "B", "tie"], 0.0),
    ],
)
def test_fleiss_p_i_worked_values(votes: list[object], expected: float) -> None:
    assert fleiss_p_i(votes) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("votes", [[], [5], ["A"]])
def test_fleiss_p_i_is_undefined_under_two_votes(votes: list[object]) -> None:
    assert fleiss_p_i(votes) is None  # type: ignore[arg-type]


def test_fleiss_p_i_tells_bool_and_int_votes_apart_by_text() -> None:
    # value_key keeps True ("true") and 1 ("1") distinct.
    assert fleiss_p_i([True, 1]) == 0.0


def statsmodels_p_i(counts: np.ndarray) -> np.ndarray:
    """The per-item term of statsmodels' fleiss_kappa: (sum_j n_ij^2 - n) / (n (n - 1))."""
    n = counts.sum(axis=1)[0]
    return ((counts**2).sum(axis=1) - n) / (n * (n - 1))


@given(
    st.integers(2, 7).flatmap(
        lambda raters: st.lists(
            st.lists(st.integers(1, 5), min_size=raters, max_size=raters), min_size=2, max_size=12
        )
    )
)
def test_fleiss_p_i_matches_statsmodels(items: list[list[int]]) -> None:
    counts, _ = aggregate_raters(np.array(items))
    ours = [fleiss_p_i(row) for row in items]
    assert ours == pytest.approx(list(statsmodels_p_i(counts)))
    # And through fleiss_kappa itself: kappa = (P_bar - P_e) / (1 - P_e), so P_bar is the
    # mean of the per-item terms.
    p_cat = counts.sum(axis=0) / counts.sum()
    p_e = float((p_cat**2).sum())
    assume(p_e < 1 - 1e-9)  # all votes in one category: kappa is undefined
    p_bar = fleiss_kappa(counts, method="fleiss") * (1 - p_e) + p_e
    assert float(np.mean(ours)) == pytest.approx(p_bar)


def test_fleiss_p_i_on_the_fleiss_1971_table() -> None:
    # The worked example of Wikipedia's "Fleiss' kappa" page, as statsmodels'
    # stats/tests/test_inter_rater.py holds it (`table0`, whose last column is P_i):
    # 10 subjects, 14 raters, 5 categories.
    table = FLEISS_1971
    expanded = [[c for c, n in enumerate(row) for _ in range(n)] for row in table]
    ours = [fleiss_p_i(votes) for votes in expanded]
    published = [1.000, 0.253, 0.308, 0.440, 0.330, 0.462, 0.242, 0.176, 0.286, 0.286]
    assert ours == pytest.approx(published, abs=5e-4)
    assert ours == pytest.approx(list(statsmodels_p_i(table)))
    # Wikipedia's worked example of the same table: P_bar = 0.378, kappa = 0.210.
    assert float(np.mean(ours)) == pytest.approx(0.378, abs=5e-4)
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)


# --- item_agreement -----------------------------------------------------------------------


def unit(*values: object) -> list[tuple[object, float]]:
    return [(v, 1.0) for v in values]


def test_item_agreement_for_a_two_one_split() -> None:
    a = item_agreement(HELPFULNESS, unit(5, 5, 3), total_votes=4)  # type: ignore[arg-type]
    assert a.usable_votes == 3
    assert a.total_votes == 4
    assert a.fleiss_p_i == pytest.approx(1 / 3)
    assert a.margin == pytest.approx(1 / 3)  # (2 - 1) / 3
    assert a.spread == 2  # positions 4 and 2
    assert a.position_consistency is None


@pytest.mark.parametrize(
    "votes, margin",
    [
        (unit(4, 4, 4), 1.0),
        (unit(4), 1.0),
        (unit(1, 5), 0.0),
        (unit(1, 3, 5), 0.0),
        (unit(2, 2, 2, 3), 0.5),
        ([(5, 2.0), (3, 1.0)], 1 / 3),
        ([(5, 1.0), (5, 1.0), (1, 3.0)], 0.2),  # the weighted winner leads by (3 - 2) / 5
    ],
)
def test_margin_is_the_weighted_lead_over_the_runner_up(
    votes: list[tuple[object, float]], margin: float
) -> None:
    a = item_agreement(HELPFULNESS, votes, total_votes=len(votes))  # type: ignore[arg-type]
    assert a.margin == pytest.approx(margin)


def test_p_i_ignores_weights_while_margin_uses_them() -> None:
    a = item_agreement(HELPFULNESS, [(5, 9.0), (3, 1.0)], total_votes=2)
    assert a.fleiss_p_i == 0.0
    assert a.margin == pytest.approx(0.8)


@pytest.mark.parametrize(
    "rubric, votes, spread",
    [
        (HELPFULNESS, unit(1, 3, 5), 4),
        (HELPFULNESS, unit(3, 3), 0),
        (HELPFULNESS, unit(2), 0),
        (SAFETY, unit("fail", "pass"), 1),
        (PAIRWISE, unit("A", "B"), None),  # not ordinal: no spread
    ],
)
def test_spread_on_ordinal_scales(rubric, votes, spread) -> None:  # type: ignore[no-untyped-def]
    assert item_agreement(rubric, votes, total_votes=len(votes)).spread == spread


def test_no_usable_votes() -> None:
    a = item_agreement(HELPFULNESS, [], total_votes=3)
    assert (a.usable_votes, a.total_votes) == (0, 3)
    assert a.fleiss_p_i is None
    assert a.margin is None
    assert a.spread is None


def test_position_consistency_is_passed_through() -> None:
    a = item_agreement(PAIRWISE, unit("A", "A"), total_votes=2, position_consistency=0.5)
    assert a.position_consistency == 0.5
