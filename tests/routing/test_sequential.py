"""The sequential strategy's stopping rule is exact: stopping early never changes the
verdict that asking every judge would give (majority and weighted)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing import Aggregation, aggregate
from routing.sequential import confident, settled, stop_rule, waves
from rubrics import LIBRARY_DIR, load_rubrics
from tests.support.votes import votes_of

RUBRICS = load_rubrics([LIBRARY_DIR])
HELPFUL = RUBRICS["helpfulness"]


def full_value(values: list[int | None], weights: dict[str, float], agg: Aggregation) -> object:
    usable = [(v, weights[f"j{i}"]) for i, v in enumerate(values) if v is not None]
    return aggregate(HELPFUL, usable, agg).value


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=1, max_size=9),
    weights=st.lists(st.floats(0.1, 3.0), min_size=9, max_size=9),
    wave=st.integers(1, 4),
    weighted=st.booleans(),
)
def test_stopping_early_never_changes_the_verdict(
    values: list[int | None], weights: list[float], wave: int, weighted: bool
) -> None:
    agg = Aggregation.WEIGHTED if weighted else Aggregation.MAJORITY
    w = {f"j{i}": weights[i] for i in range(len(values))}
    votes = votes_of(values)
    asked = len(values)
    for end in range(wave, len(values) + wave, wave):
        pending = [v.judge for v in votes[end:]]
        if not pending or settled(HELPFUL, votes[:end], pending, agg, w, quorum=1):
            asked = min(end, len(values))
            break
    early = full_value(values[:asked], w, agg)
    assert early == full_value(values, w, agg)


def test_unanimous_first_wave_settles_and_a_split_does_not() -> None:
    w = {f"j{i}": 1.0 for i in range(5)}
    agree = votes_of([4, 4, 4])
    assert settled(HELPFUL, agree, ["j3", "j4"], Aggregation.MAJORITY, w, quorum=3)
    split = votes_of([4, 4, 2])
    assert not settled(HELPFUL, split, ["j3", "j4"], Aggregation.MAJORITY, w, quorum=3)
    # 4,4 against 2 with one judge left: 2 - 1 = 1 is not > 1 (a tie could still follow)
    assert not settled(HELPFUL, split, ["j3"], Aggregation.MAJORITY, w, quorum=3)
    assert not settled(HELPFUL, agree, ["j3"], Aggregation.MEAN, w, quorum=3)
    assert settled(HELPFUL, agree, [], Aggregation.MEAN, w, quorum=3)


def test_cascade_stops_on_confidence() -> None:
    w = {f"j{i}": 1.0 for i in range(5)}
    assert confident(HELPFUL, votes_of([5, 5, 5]), Aggregation.MAJORITY, w, 2, 0.75)
    assert not confident(HELPFUL, votes_of([5, 3]), Aggregation.MAJORITY, w, 2, 0.75)
    assert not confident(HELPFUL, votes_of([5]), Aggregation.MAJORITY, w, 2, 0.5)  # quorum


def test_waves_default_to_the_quorum() -> None:
    assert waves("abcdef", None, 4) == [tuple("abcd"), tuple("ef")]
    assert waves("abcde", 2, 3) == [("a", "b"), ("c", "d"), ("e",)]
    with pytest.raises(ValueError, match="wave size"):
        waves("ab", None, 0)


def test_stop_rule_picks_the_strategy_predicate() -> None:
    w = {f"j{i}": 1.0 for i in range(5)}
    sequential = stop_rule("sequential", HELPFUL, Aggregation.MAJORITY, w, 3, 0.99)
    cascade = stop_rule("cascade", HELPFUL, Aggregation.MAJORITY, w, 3, 0.75)
    strict = stop_rule("cascade", HELPFUL, Aggregation.MAJORITY, w, 3, 0.9)
    unanimous, split = votes_of([4, 4, 4]), votes_of([4, 4, 2])
    assert sequential(unanimous, ["j3", "j4"]) and not sequential(split, ["j3", "j4"])
    assert cascade(unanimous, ["j3", "j4"])  # 4/5 = 0.8
    # 0.8 < 0.9, but a 3-0 lead with 2 judges left is settled: the cascade stops anyway.
    assert strict(unanimous, ["j3", "j4"])
    assert not strict(votes_of([4, 4]), ["j2", "j3", "j4"])  # neither confident nor settled
    with pytest.raises(ValueError, match="does not ask in waves"):
        stop_rule("parallel", HELPFUL, Aggregation.MAJORITY, w, 3, 0.75)  # type: ignore[arg-type]
