"""Properties of the governance statistics (Hypothesis), and the pinned public surface."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import routing.governance as governance
from routing.governance import (
    CusumSpec,
    binomial_rate,
    ppi_rate,
    start,
    update,
    update_many,
)

# The service (api/services/governance*, api/config) imports these names: a rename is a
# change of contract (/work/notes/GOV.md, section B).
PUBLIC = {
    "ZONES", "Action", "Bucket", "Candidate", "Change", "CorrectedRate", "CusumChart",
    "CusumSpec", "CusumState", "Decision", "DriftSignal", "Estimate", "FigureKey", "Figures",
    "Policies", "Policy", "Ranked", "Rate", "RateFigure", "Recommendation", "RunLength",
    "Trend", "TrendPoint", "Window", "Zone", "alarm_probability", "average_run_length",
    "baseline_p0", "binomial_rate", "design", "evaluate", "format_window", "next_zone",
    "parse_window", "ppi_rate", "rank", "rate_difference", "required_figures", "run_length",
    "start", "trend", "update", "update_many",
}  # fmt: skip


def test_the_public_surface_is_pinned() -> None:
    assert set(governance.__all__) == PUBLIC


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 5000))
    return draw(st.integers(0, n)), n


@given(counts(), st.floats(0.5, 0.999))
def test_wilson_contains_the_rate_and_mirrors(kn: tuple[int, int], level: float) -> None:
    k, n = kn
    rate, mirror = binomial_rate(k, n, level), binomial_rate(n - k, n, level)
    assert rate.low <= rate.value <= rate.high
    assert abs(rate.low - (1 - mirror.high)) < 1e-12
    assert abs(rate.high - (1 - mirror.low)) < 1e-12


@given(counts())
def test_wilson_widens_with_the_level(kn: tuple[int, int]) -> None:
    narrow, wide = binomial_rate(*kn, level=0.9), binomial_rate(*kn, level=0.99)
    assert wide.low <= narrow.low and narrow.high <= wide.high


@settings(max_examples=50)
@given(st.integers(0, 2**32 - 1), st.integers(3, 60), st.integers(0, 300))
def test_perfect_judges_need_no_correction(seed: int, n_aud: int, n_rest: int) -> None:
    rng = np.random.default_rng(seed)
    f = (rng.random(n_aud + n_rest) < 0.7).astype(float)
    got = ppi_rate(f, f[:n_aud], f[:n_aud])
    want = f[n_aud:].mean() if n_rest else f.mean()
    assert abs(got.value - want) < 1e-12
    assert got.low <= got.value <= got.high


@settings(max_examples=50)
@given(st.lists(st.booleans(), max_size=300), st.integers(0, 300))
def test_feeding_in_two_parts_is_feeding_at_once(xs: list[bool], cut: int) -> None:
    spec = CusumSpec(baseline_items=40, false_alarm_rate=0.01)
    whole, alarms = update_many(start(spec), xs)
    first, a1 = update_many(start(spec), xs[:cut])
    second, a2 = update_many(first, xs[cut:])
    assert second == whole
    assert alarms == a1 + [i + len(xs[:cut]) for i in a2]


@settings(max_examples=50)
@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_more_non_compliance_never_lowers_the_statistic(xs: list[bool]) -> None:
    """The CUSUM is monotone: turning any verdict to non-compliant raises S or alarms
    no later (the coupling behind "from S = 0 is the slowest start")."""
    spec = CusumSpec(p0=0.1, false_alarm_rate=0.01)
    worse = [True, *xs[1:]]
    a, b = start(spec), start(spec)
    for x, y in zip(xs, worse, strict=True):
        a, alarm_a = update(a, x)
        b, alarm_b = update(b, y)
        if alarm_b or alarm_a:
            assert b.alarms >= a.alarms
            break
        assert b.s >= a.s
