"""The Bernoulli CUSUM: design, exact run lengths checked by simulation, the stored state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import beta, binom

from routing.governance import (
    CusumChart,
    CusumSpec,
    CusumState,
    alarm_probability,
    average_run_length,
    baseline_p0,
    design,
    run_length,
    start,
    update,
    update_many,
)


def simulate(chart: CusumChart, x: np.ndarray) -> np.ndarray:
    """The chart run on streams in columns (items in rows, 1 = not compliant), vectorised;
    returns the 0-based item of each stream's first alarm, -1 when none."""
    s = np.zeros(x.shape[1], dtype=np.int64)
    first = np.full(x.shape[1], -1)
    for t in range(x.shape[0]):
        s = np.where(x[t], s + chart.up, np.maximum(s - chart.down, 0))
        alarmed = s >= chart.h
        first[alarmed & (first < 0)] = t
        s[alarmed] = 0
    return first


def run_lengths(chart: CusumChart, p: float, runs: int, seed: int) -> np.ndarray:
    """Items to the first alarm of `runs` streams at rate p, each run until it alarms."""
    rng = np.random.default_rng(seed)
    s = np.zeros(runs, dtype=np.int64)
    length = np.zeros(runs, dtype=np.int64)
    alive = np.ones(runs, dtype=bool)
    t = 0
    while alive.any():
        t += 1
        x = rng.random(runs) < p
        s = np.where(x, s + chart.up, np.maximum(s - chart.down, 0))
        done = alive & (s >= chart.h)
        length[done] = t
        alive &= ~done
    return length


def test_chart_follows_reynolds_stoumbos() -> None:
    # Reynolds & Stoumbos (1999) eq. (3): p1 from the odds ratio, gamma the reference value
    chart = design(0.01, shift=2.0, false_alarm_rate=0.001)
    p1 = 0.02 / 1.01
    assert chart.p1 == pytest.approx(p1)
    gamma = math.log(0.99 / (1 - p1)) / math.log(2.0)
    assert chart.gamma == pytest.approx(gamma)
    assert chart.up / chart.down == pytest.approx((1 - gamma) / gamma, rel=1e-3)
    assert (
        chart.arl0 >= 1000 > average_run_length(chart.model_copy(update={"h": chart.h - 1}), 0.01)
    )


@pytest.mark.parametrize("p", [0.5, 0.3, 0.7])
@pytest.mark.parametrize("h", [1, 2, 7, 25])
def test_arl_of_a_unit_step_chart_is_the_random_walk_one(p: float, h: int) -> None:
    """With up = down = 1 the chart is a simple random walk held at 0 and absorbed at h.
    Its mean time from 0 is sum of d_i, d_0 = 1/p, d_i = (1 + q d_(i-1)) / p (first-step
    analysis, Feller 1968, ch. XIV), and h (h + 1) when p = 1/2."""
    chart = CusumChart(p0=0.4, p1=0.5, gamma=0.5, up=1, down=1, h=h, arl0=1.0, arl1=1.0)
    d, total = 1 / p, 1 / p
    for _ in range(h - 1):
        d = (1 + (1 - p) * d) / p
        total += d
    # rel 1e-6: the sparse LU loses digits on ARLs of 1e9 (h = 25 at p = 0.3)
    assert average_run_length(chart, p) == pytest.approx(total, rel=1e-6)
    if p == 0.5:
        assert average_run_length(chart, p) == pytest.approx(h * (h + 1), rel=1e-10)


@pytest.mark.parametrize(("p0", "p"), [(0.1, 0.1), (0.1, 0.182), (0.02, 0.02), (0.02, 0.06)])
def test_markov_chain_arl_matches_simulation(p0: float, p: float) -> None:
    """The exact (Brook & Evans) average run length against 3000 simulated runs."""
    chart = design(p0, shift=2.0, false_alarm_rate=0.005)
    lengths = run_lengths(chart, p, runs=3000, seed=int(p * 1e4))
    want = run_length(chart, p)
    se = lengths.std(ddof=1) / math.sqrt(lengths.size)
    assert abs(lengths.mean() - want.mean) < 4 * se
    assert abs(np.mean(lengths <= want.q90) - 0.9) < 4 * math.sqrt(0.09 / lengths.size)


def test_no_drift_on_stationary_streams_at_the_stated_rate() -> None:
    """4000 seeded in-control streams of 2000 verdicts (p0 = 0.05 known, the default 1e-4
    false alarms per item): the share with a false alarm is within binomial tolerance of
    the chart's exact probability, which is at most the stated 1 - (1 - 1e-4)^2000."""
    chart = design(0.05)
    runs, length = 4000, 2000
    x = np.random.default_rng(7).random((length, runs)) < 0.05
    share = np.mean(simulate(chart, x) >= 0)
    exact = alarm_probability(chart, 0.05, length)
    stated = 1 - (1 - CusumSpec().false_alarm_rate) ** length
    tol = 4 * math.sqrt(exact * (1 - exact) / runs)
    assert abs(share - exact) < tol
    assert exact <= stated
    assert share <= stated + tol


def test_false_alarm_share_matches_a_higher_stated_rate() -> None:
    chart = design(0.1, false_alarm_rate=0.002)
    runs, length = 4000, 400
    x = np.random.default_rng(8).random((length, runs)) < 0.1
    share = np.mean(simulate(chart, x) >= 0)
    exact = alarm_probability(chart, 0.1, length)
    assert abs(share - exact) < 4 * math.sqrt(exact * (1 - exact) / runs)
    assert exact <= 1 - (1 - 0.002) ** length


@pytest.mark.parametrize("confidence", [None, 0.9])
def test_false_alarms_with_an_estimated_baseline(confidence: float | None) -> None:
    """p0 estimated from 200 baseline verdicts: the false-alarm share over the next 500
    matches the exact probability averaged over the baselines drawn. With the point
    estimate (None) that average exceeds the known-p0 chart's; designing for the 90%
    upper bound brings it below."""
    spec = CusumSpec(baseline_items=200, false_alarm_rate=0.001, baseline_confidence=confidence)
    runs, p0, length = 3000, 0.05, 500
    rng = np.random.default_rng(11)
    k = rng.binomial(200, p0, size=runs)
    share, expected = 0.0, 0.0
    for kk in np.unique(k):
        chart = design(baseline_p0(spec, int(kk), 200), spec.shift, spec.false_alarm_rate)
        group = int(np.sum(k == kk))
        x = rng.random((length, group)) < p0
        share += np.sum(simulate(chart, x) >= 0)
        expected += group * alarm_probability(chart, p0, length)
    share, expected = share / runs, expected / runs
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / runs)
    known = alarm_probability(design(p0, false_alarm_rate=0.001), p0, length)
    assert (expected > known) if confidence is None else (expected < known)


def test_the_upper_bound_design_meets_arl0_for_nine_baselines_in_ten() -> None:
    """Exact over the baseline distribution (Bin(300, 0.05)): the share of baselines
    whose chart has ARL0 < 1 / false_alarm_rate at the true p0 is at most 1 - 0.9."""
    spec = CusumSpec(baseline_items=300, false_alarm_rate=0.001)
    ks = np.arange(3, 32)
    weights = binom.pmf(ks, 300, 0.05)
    charts = [design(baseline_p0(spec, int(k), 300), false_alarm_rate=0.001) for k in ks]
    short = sum(
        w for c, w in zip(charts, weights, strict=True) if average_run_length(c, 0.05) < 1000
    )
    assert weights.sum() > 0.999
    assert 0.01 < short <= 0.1


def test_baseline_p0() -> None:
    # one-sided Clopper-Pearson upper bound: the beta quantile (Clopper & Pearson 1934)
    spec = CusumSpec()
    assert baseline_p0(spec, 50, 1000) == pytest.approx(beta.ppf(0.9, 51, 950))
    assert baseline_p0(spec, 0, 1000) == pytest.approx(1 - 0.1 ** (1 / 1000))
    assert baseline_p0(spec.model_copy(update={"baseline_confidence": None}), 3, 9) == 0.35
    assert baseline_p0(spec, 10, 10) < 1
    with pytest.raises(ValueError, match="baseline"):
        baseline_p0(spec, 3, 2)


def test_degradation_is_detected_within_the_documented_delay() -> None:
    """Streams at p0 = 0.05 that degrade to the odds-ratio-2 rate p1 after 300 verdicts:
    among those without a false alarm before, the mean delay is at most ARL1 and 90% are
    detected within the documented 90% delay (both from S = 0, the slowest start)."""
    chart = design(0.05)
    doc = run_length(chart, chart.p1)
    runs, change, after = 3000, 300, 3 * doc.q99
    rng = np.random.default_rng(5)
    p = np.r_[np.full(change, 0.05), np.full(after, chart.p1)]
    x = rng.random((change + after, runs)) < p[:, None]
    first = simulate(chart, x[:change])
    clean = first < 0
    delay = simulate(chart, x[change:, clean]) + 1
    assert np.all(delay > 0)
    se = delay.std(ddof=1) / math.sqrt(delay.size)
    assert delay.mean() <= doc.mean + 4 * se
    assert np.mean(delay <= doc.q90) >= 0.9 - 4 * math.sqrt(0.09 / delay.size)


def test_a_large_degradation_is_caught_fast() -> None:
    chart = design(0.05)
    leak = run_length(chart, 0.3)
    assert leak.q90 < 50 < run_length(chart, chart.p1).median
    rng = np.random.default_rng(3)
    stream = np.r_[rng.random(1000) < 0.05, rng.random(200) < 0.3].astype(int)
    _, alarms = update_many(start(CusumSpec(p0=0.05)), stream.tolist())
    assert next(a for a in alarms if a >= 1000) < 1000 + leak.q99


def test_update_many_is_the_chart() -> None:
    chart = design(0.1, false_alarm_rate=0.01)
    x = np.random.default_rng(1).random((2000, 8)) < 0.15
    first = simulate(chart, x)
    for j in range(8):
        _, alarms = update_many(start(CusumSpec(p0=0.1, false_alarm_rate=0.01)), x[:, j])
        assert (alarms[0] if alarms else -1) == first[j]


def test_baseline_then_monitoring_then_reset() -> None:
    state = start(CusumSpec(baseline_items=20, false_alarm_rate=0.01, baseline_confidence=None))
    assert state.chart is None and state.statistic == 0.0
    state, alarms = update_many(state, [0] * 18 + [1, 1])
    assert alarms == [] and state.chart is not None
    assert state.chart.p0 == pytest.approx(2.5 / 21)  # Jeffreys: (k + 1/2) / (n + 1)
    assert (state.baseline_n, state.baseline_k, state.s, state.since_reset) == (20, 2, 0, 0)
    alarmed = False
    count = 0
    while not alarmed:
        state, alarmed = update(state, True)
        count += 1
    assert count == math.ceil(state.chart.h / state.chart.up)
    assert (state.s, state.since_reset, state.alarms, state.items) == (0, 0, 1, 20 + count)
    state, _ = update(state, 1)
    assert 0 < state.statistic < 1 and state.since_reset == 1


def test_state_round_trips_through_json() -> None:
    state, _ = update_many(start(CusumSpec(p0=0.2)), [1, 0, 1, 1, 0])
    again = CusumState.model_validate_json(state.model_dump_json())
    assert again == state
    assert update(again, 1) == update(state, 1)


def test_compliant_stream_stays_at_zero() -> None:
    state, alarms = update_many(start(CusumSpec(p0=0.05)), [False] * 500)
    assert alarms == [] and state.s == 0 and state.items == 500


@pytest.mark.parametrize("x", [2, -1, 0.5, "1", None])
def test_update_rejects_a_non_binary_verdict(x: object) -> None:
    with pytest.raises(ValueError, match="0/1"):
        update(start(CusumSpec(p0=0.1)), x)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p0": 0.0},
        {"p0": 1.0},
        {"shift": 1.0},
        {"false_alarm_rate": 0.0},
        {"false_alarm_rate": 0.5},
        {"baseline_items": 5},
        {"baseline_confidence": 1.0},
        {"window": 3},
    ],
)
def test_spec_rejects_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CusumSpec(**kwargs)  # type: ignore[arg-type]


def test_a_spec_with_p0_stands_for_its_chart() -> None:
    spec = CusumSpec(p0=0.05)
    chart = design(0.05)
    assert run_length(spec, 0.1) == run_length(chart, 0.1)
    assert average_run_length(spec, 0.05) == chart.arl0
    assert alarm_probability(spec, 0.05, 100) == alarm_probability(chart, 0.05, 100)
    with pytest.raises(ValueError, match="without p0"):
        run_length(CusumSpec(), 0.1)


def test_run_length_rejects_a_bad_rate() -> None:
    with pytest.raises(ValueError, match="p must be"):
        run_length(design(0.1), 1.5)
    with pytest.raises(ValueError, match="p must be"):
        alarm_probability(design(0.1), -0.1, 10)
    assert run_length(design(0.1), 0.0).mean == math.inf
    assert average_run_length(design(0.1), 0.0) == math.inf
    with pytest.raises(ValueError, match="p must be"):
        average_run_length(design(0.1), 2.0)
