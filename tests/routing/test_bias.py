"""Per-judge position bias from pairwise votes in both orders."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

from judges import Vote
from routing.bias import position_bias
from routing.position import JudgeVerdict, reconcile
from rubrics import Unscored
from tests.support.votes import pair, shown


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2))
    / (1 + z^2/n)."""
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_hand_computed_case() -> None:
    # Judge "x" on 10 items: 6 consistent; 3 conflicts where the response shown first won
    # both times, 1 where the second-shown won both times.
    items = (
        [pair("x", "A", "B")] * 3  # canonical A then A: consistent
        + [pair("x", "B", "A")] * 3  # canonical B then B: consistent
        + [pair("x", "A", "A")] * 3  # first position both times
        + [pair("x", "B", "B")]  # second position both times
    )
    (x,) = position_bias(items)
    assert (x.judge, x.n_items, x.n_comparable, x.n_inconsistent) == ("x", 10, 10, 4)
    assert x.inconsistency_rate == pytest.approx(0.4)
    assert (x.n_first_won, x.n_second_won, x.n_tie_involved) == (3, 1, 0)
    assert x.first_position_rate == pytest.approx(0.75)
    # z = 1.959964; centre (0.75 + 0.48018) / 1.96037 = 0.62753,
    # half 1.959964 * sqrt(0.046875 + 0.060023) / 1.96037 = 0.32689.
    assert (x.ci_low, x.ci_high) == pytest.approx((0.30064, 0.95441), abs=1e-5)
    assert (x.ci_low, x.ci_high) == pytest.approx(wilson(3, 4, 1.959963984540054), abs=1e-12)
    assert x.n_unusable_votes == 0


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        # Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score interval).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_interval_matches_newcombe_and_statsmodels(k: int, n: int, low: float, high: float) -> None:
    items = [pair("j", "A", "A")] * k + [pair("j", "B", "B")] * (n - k)
    (j,) = position_bias(items)
    assert (j.n_first_won, j.n_inconsistent) == (k, n)
    assert (j.ci_low, j.ci_high) == pytest.approx((low, high), abs=5e-5)
    ref = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (j.ci_low, j.ci_high) == pytest.approx(tuple(float(x) for x in ref), abs=1e-12)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.99])
def test_interval_follows_confidence(confidence: float) -> None:
    items = [pair("j", "A", "A")] * 7 + [pair("j", "B", "B")] * 5
    (j,) = position_bias(items, confidence=confidence)
    ref = proportion_confint(7, 12, alpha=1 - confidence, method="wilson")
    assert (j.ci_low, j.ci_high) == pytest.approx(tuple(float(x) for x in ref), abs=1e-12)
    assert j.confidence == confidence


def test_always_first_judge() -> None:
    items = [pair("biased", "A", "A") + pair("fair", "A", "B") for _ in range(20)]
    biased, fair = position_bias(items)
    assert (biased.inconsistency_rate, biased.first_position_rate) == (1.0, 1.0)
    assert biased.ci_high == pytest.approx(1.0)
    assert biased.ci_low == pytest.approx(proportion_confint(20, 20, method="wilson")[0])
    assert (fair.inconsistency_rate, fair.n_inconsistent) == (0.0, 0)
    assert fair.first_position_rate is None and fair.ci_low is None


def test_ties_unusable_and_single_order() -> None:
    items = [
        pair("j", "A", "tie"),  # inconsistent, no position won twice
        pair("j", "tie", "tie"),  # consistent tie
        [
            shown("j", "AB", "A"),
            shown("j", "BA", None, unscored=Unscored.EMPTY),
        ],  # one order usable
        [shown("j", "AB", "B")],  # one order asked
    ]
    (j,) = position_bias(items)
    assert (j.n_items, j.n_comparable, j.n_inconsistent, j.n_tie_involved) == (4, 2, 1, 1)
    assert j.first_position_rate is None  # the only conflict involved a tie
    assert j.n_unusable_votes == 1


def test_reconciled_verdicts_give_the_same_figures() -> None:
    items = [pair("a", "A", "A") + pair("b", "B", "A"), pair("a", "B", "B") + pair("b", "A", "A")]
    from_votes = position_bias(items)
    from_verdicts = position_bias([reconcile(item) for item in items])
    for v, r in zip(from_votes, from_verdicts, strict=True):
        assert v.model_dump(exclude={"n_unusable_votes"}) == r.model_dump(
            exclude={"n_unusable_votes"}
        )
    assert [r.n_unusable_votes for r in from_verdicts] == [None, None]


def test_missing_shown_value_is_derived_not_misread() -> None:
    # Without a shown value, reconcile would read {None} as "the second position won".
    bare = [
        Vote(judge="j", model="j", order="AB", value="A"),
        Vote(judge="j", model="j", order="BA", value="B"),
    ]
    (j,) = position_bias([bare])
    assert (j.n_first_won, j.n_second_won) == (1, 0)


def test_rejects_bad_input() -> None:
    verdict = JudgeVerdict(judge="j", value="A")
    with pytest.raises(ValueError, match="not a mix"):
        position_bias([[*pair("j", "A", "A"), verdict]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="not a mix"):
        position_bias([["A", "B"]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="confidence"):
        position_bias([pair("j", "A", "A")], confidence=1.0)
    with pytest.raises(ValueError, match="more than one"):
        position_bias([[verdict, verdict]])
    corrupt = Vote(judge="j", model="j", order="BA", value="A", shown_value="A")
    with pytest.raises(ValueError, match="does not match"):
        position_bias([[shown("j", "AB", "A"), corrupt]])
