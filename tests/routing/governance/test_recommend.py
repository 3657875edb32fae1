"""The recommendation: the production model with the best lower bound."""

from __future__ import annotations

import numpy as np
import pytest

from routing.governance import Candidate, binomial_rate, ppi_rate, rank


def test_three_lucky_items_do_not_win() -> None:
    got = rank(
        [
            Candidate(model="lucky", zone="production", rate=binomial_rate(3, 3)),
            Candidate(model="steady", zone="production", rate=binomial_rate(970, 1000)),
        ],
        use_case="support-bot",
        profile="security",
    )
    assert got.model == "steady"
    assert [(r.model, r.position) for r in got.ranking] == [("steady", 1), ("lucky", 2)]
    assert got.reason == (
        "steady has the highest lower 95% bound (0.957) in production for use case "
        "support-bot and profile security"
    )
    lucky = got.ranking[1]
    assert lucky.reason == "judges' lower bound 0.439 (rate 1.000, n=3) vs 0.957 for steady"


def test_only_production_models_are_eligible() -> None:
    got = rank(
        [
            Candidate(model="q", zone="quarantine", rate=binomial_rate(1000, 1000)),
            Candidate(model="c", zone="candidate", rate=binomial_rate(1000, 1000)),
            Candidate(model="p", zone="production", rate=binomial_rate(80, 100)),
            Candidate(model="empty", zone="production"),
        ]
    )
    assert got.model == "p"
    assert [(r.model, r.eligible) for r in got.ranking] == [
        ("p", True),
        ("c", False),
        ("empty", False),
        ("q", False),
    ]
    assert got.ranking[3].reason == "in quarantine, not production"
    assert got.ranking[2].reason.startswith("in production but no decided item")
    assert got.ranking[3].n == 1000  # its figures are listed all the same


def test_the_corrected_rate_ranks_when_there_is_one() -> None:
    rng = np.random.default_rng(2)
    f = (rng.random(1000) < 0.98).astype(float)
    y = f[:100].copy()
    y[:15] = 0  # the audit finds this model's judges lenient
    corrected = ppi_rate(f, f[:100], y)
    got = rank(
        [
            Candidate(
                model="a",
                zone="production",
                rate=binomial_rate(int(f.sum()), 1000),
                corrected=corrected,
            ),
            Candidate(model="b", zone="production", rate=binomial_rate(930, 1000)),
        ]
    )
    assert got.model == "b"
    a = next(r for r in got.ranking if r.model == "a")
    assert (a.estimate, a.n, a.n_audited, a.low) == ("corrected", 1000, 100, corrected.low)


def test_ties_go_to_more_items_then_to_the_name() -> None:
    same = binomial_rate(50, 50)
    got = rank(
        [
            Candidate(model="z", zone="production", rate=same),
            Candidate(model="a", zone="production", rate=same),
        ]
    )
    assert [r.model for r in got.ranking] == ["a", "z"]
    assert "tie on the bound" in got.ranking[1].reason
    # equal lower bounds with different n cannot come from Wilson; build them directly
    big = same.model_copy(update={"n": 60, "k": 60})
    got = rank(
        [
            Candidate(model="a", zone="production", rate=same),
            Candidate(model="z", zone="production", rate=big),
        ]
    )
    assert got.model == "z"


def test_no_model_qualifies() -> None:
    got = rank([Candidate(model="q", zone="quarantine", rate=binomial_rate(9, 10))], use_case="x")
    assert got.model is None
    assert got.reason == "no model in production has a compliance figure for use case x"
    assert rank([]).model is None


def test_a_model_listed_twice_is_refused() -> None:
    c = Candidate(model="a", zone="production")
    with pytest.raises(ValueError, match="listed twice"):
        rank([c, c])
