"""Drift of a stream of verdicts: a Bernoulli CUSUM with a stated false-alarm rate.

One stream is the 0/1 non-compliance (1 = not compliant) of the decided, applicable
verdicts of one (subject model, use case, criterion), in completion order. The chart is
the Bernoulli CUSUM of Reynolds & Stoumbos (1999, "A CUSUM chart for monitoring a
proportion when inspecting continuously", J Quality Technology 31:87-108): against an
in-control rate p0 and the out-of-control rate p1 given by an odds ratio `shift`,

    S_t = max(0, S_{t-1} + x_t - gamma),   gamma = ln((1-p0)/(1-p1)) / ln(OR)

(the log-likelihood ratio of p1 against p0 divided by ln OR), alarming when S_t >= h.
Among detectors with the same in-control ARL it has the least worst-case delay for a
change to p1 (Lorden's criterion; Moustakides 1986).

An exact chart on a grid. The increments 1 - gamma and -gamma are replaced by integers
+up and -down with up / down the closest fraction to (1 - gamma) / gamma (relative error
below 0.1%, which moves the p1 the chart is tuned for by far less than p1 is known), so
S lives on the integers 0..h-1 and the chart that runs is exactly the finite Markov chain
of Brook & Evans (1972): its average run lengths are solved exactly, not approximated.
h is the smallest integer threshold whose in-control average run length (ARL0, from S=0)
is at least 1 / false_alarm_rate; the chart records the ARL0 it reaches.

Baseline. When p0 is not given, the first `baseline_items` verdicts of the stream are
counted, not monitored, and the chart is designed then, for the one-sided Clopper-Pearson
upper bound of the baseline rate at `baseline_confidence` (0.9). A CUSUM's in-control ARL
falls as the true rate rises, so whenever the true p0 is below that bound (probability at
least 0.9 over the baseline draw) the realised ARL0 is at least the target: the stated
false-alarm rate holds for 9 streams in 10, the "guaranteed conditional performance" of
Gandy & Kvaloy (2013, Scand J Stat 40:647), exact here instead of bootstrapped. The price
is a longer delay than with a known p0 (docs/statistics.md, "Governance statistics").
With `baseline_confidence: null` the chart uses the Jeffreys estimate (k + 0.5) / (n + 1):
it misses the target ARL0 for almost half the baselines, and one baseline in ten gives
several times the stated false alarms (Jones, Champ & Rigdon 2004 on CUSUMs with
estimated parameters).

After an alarm S restarts at 0 with the same chart (p0 is not re-estimated: the baseline
describes the model as it was accepted). Assumes independent verdicts with a constant
rate while in control. It detects a sustained increase of the non-compliance rate; it
does not detect a decrease (an improvement), a change inside the baseline, a transient
blip shorter than the delay, or a drift slow enough to be absorbed into the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from fractions import Fraction
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.sparse import coo_array, eye_array
from scipy.sparse.linalg import spsolve
from scipy.stats import beta as beta_dist

__all__ = [
    "CusumChart",
    "CusumSpec",
    "CusumState",
    "RunLength",
    "alarm_probability",
    "average_run_length",
    "baseline_p0",
    "design",
    "run_length",
    "start",
    "update",
    "update_many",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
_MAX_STATES = 500_000


class CusumSpec(BaseModel):
    """How a stream is watched: what in-control means, what shift to detect, how often a
    false alarm is tolerated."""

    model_config = _FROZEN

    p0: float | None = Field(default=None, gt=0.0, lt=1.0)
    """In-control non-compliance rate; None: estimated from the first `baseline_items`."""
    baseline_items: int = Field(default=1000, ge=10, le=1_000_000)
    """Verdicts counted to estimate p0 before monitoring starts (ignored with p0)."""
    baseline_confidence: float | None = Field(default=0.9, gt=0.0, lt=1.0)
    """With an estimated p0: design for the baseline rate's upper confidence bound at this
    level, so that ARL0 >= the target with this probability; None: the point estimate."""
    shift: float = Field(default=2.0, gt=1.0, le=1000.0)
    """The increase to detect, as an odds ratio: p1 / (1 - p1) = shift * p0 / (1 - p0)."""
    false_alarm_rate: float = Field(default=0.0001, ge=1e-6, lt=0.5)
    """Tolerated false alarms per in-control item: the target ARL0 is its inverse."""


class CusumChart(BaseModel):
    """A designed chart: the integer increments, the threshold and its run lengths."""

    model_config = _FROZEN

    p0: float = Field(gt=0.0, lt=1.0)
    """In-control non-compliance rate the chart is designed for (with an estimated p0:
    the baseline's upper confidence bound, see `baseline_p0`)."""
    p1: float = Field(gt=0.0, lt=1.0)
    """Out-of-control rate it is tuned to detect."""
    gamma: float = Field(gt=0.0, lt=1.0)
    """Reynolds & Stoumbos's reference value (the chart's drift per compliant item)."""
    up: int = Field(ge=1)
    """Grid step added on a non-compliant verdict."""
    down: int = Field(ge=1)
    """Grid step subtracted on a compliant one."""
    h: int = Field(ge=1)
    """Threshold on the grid: alarm when S >= h."""
    arl0: float = Field(gt=0.0)
    """Exact in-control average run length from S = 0 (>= the target)."""
    arl1: float = Field(gt=0.0)
    """Exact average run length from S = 0 when the rate is p1: the detection delay."""

    @property
    def h_items(self) -> float:
        """The threshold in Reynolds & Stoumbos's units (net non-compliant items)."""
        return self.h * (1.0 - self.gamma) / self.up


class CusumState(BaseModel):
    """The stored state of one stream's detector (JSON-serialisable, frozen)."""

    model_config = _FROZEN

    spec: CusumSpec
    """The settings it runs with."""
    chart: CusumChart | None = None
    """None while the baseline is being counted."""
    baseline_n: int = Field(default=0, ge=0)
    """Verdicts counted into the baseline so far."""
    baseline_k: int = Field(default=0, ge=0)
    """Non-compliant verdicts among them."""
    s: int = Field(default=0, ge=0)
    """The CUSUM statistic on the grid (0 <= s < chart.h)."""
    items: int = Field(default=0, ge=0)
    """Verdicts seen in total, baseline included."""
    since_reset: int = Field(default=0, ge=0)
    """Monitored verdicts since monitoring started or since the last alarm."""
    alarms: int = Field(default=0, ge=0)
    """Alarms raised so far."""

    @property
    def statistic(self) -> float:
        """S as a share of the threshold (0 while in baseline; an alarm is at 1)."""
        return 0.0 if self.chart is None else self.s / self.chart.h


def _p1(p0: float, shift: float) -> float:
    odds = shift * p0 / (1.0 - p0)
    return odds / (1.0 + odds)


def _steps(gamma: float) -> tuple[int, int]:
    ratio = (1.0 - gamma) / gamma
    for den in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 10_000):
        frac = Fraction(ratio).limit_denominator(den)
        if frac > 0 and abs(float(frac) - ratio) <= 1e-3 * ratio:
            return frac.numerator, frac.denominator
    frac = Fraction(ratio).limit_denominator(100_000)
    return max(frac.numerator, 1), frac.denominator


def _arl(up: int, down: int, h: int, p: float) -> float:
    """Average run length from S = 0 of the grid chart when each verdict is 1 w.p. p."""
    # states 0..h-1; L = 1 + Q L, Q[i, i+up] = p (if < h), Q[i, max(0, i-down)] = 1-p
    idx = np.arange(h)
    ups = idx[idx + up < h]
    rows = np.concatenate([idx, ups])
    cols = np.concatenate([np.maximum(idx - down, 0), ups + up])
    vals = np.concatenate([np.full(h, 1.0 - p), np.full(ups.size, p)])
    q = coo_array((vals, (rows, cols)), shape=(h, h)).tocsc()
    sol = spsolve((eye_array(h, format="csc") - q).tocsc(), np.ones(h))
    return float(np.atleast_1d(sol)[0])


@lru_cache(maxsize=512)
def _design(p0: float, shift: float, target: float) -> CusumChart:
    p1 = _p1(p0, shift)
    gamma = math.log((1.0 - p0) / (1.0 - p1)) / math.log(shift)
    up, down = _steps(gamma)
    lo, hi = 1, max(up, 1)
    while _arl(up, down, hi, p0) < target:
        lo, hi = hi, hi * 2
        if hi > _MAX_STATES:
            raise ValueError(
                f"no chart within {_MAX_STATES} states for p0={p0}, shift={shift}, "
                f"ARL0={target}: raise false_alarm_rate or p0"
            )
    while lo < hi:  # smallest h with ARL0(h) >= target (ARL0 grows with h)
        mid = (lo + hi) // 2
        if _arl(up, down, mid, p0) >= target:
            hi = mid
        else:
            lo = mid + 1
    return CusumChart(
        p0=p0,
        p1=p1,
        gamma=gamma,
        up=up,
        down=down,
        h=hi,
        arl0=_arl(up, down, hi, p0),
        arl1=_arl(up, down, hi, p1),
    )


def design(p0: float, shift: float = 2.0, false_alarm_rate: float = 0.0001) -> CusumChart:
    """The chart for in-control rate p0 that detects an odds-ratio `shift` with at most
    `false_alarm_rate` false alarms per in-control item (ARL0 >= 1 / rate)."""
    CusumSpec(p0=p0, shift=shift, false_alarm_rate=false_alarm_rate)  # validates
    return _design(float(p0), float(shift), 1.0 / false_alarm_rate)


class RunLength(BaseModel):
    """The run-length distribution of a chart from S = 0 at a true rate p."""

    model_config = _FROZEN

    p: float = Field(ge=0.0, le=1.0)
    """True non-compliance rate."""
    mean: float
    """Average run length (items to the first alarm)."""
    median: int
    """Median run length."""
    q90: int
    """90% of runs alarm within this many items."""
    q99: int
    """99% of runs alarm within this many items."""


def _chart_of(chart: CusumChart | CusumSpec) -> CusumChart:
    if isinstance(chart, CusumChart):
        return chart
    if chart.p0 is None:
        raise ValueError("a spec without p0 has no chart until its baseline is counted")
    return _design(chart.p0, chart.shift, 1 / chart.false_alarm_rate)


def average_run_length(chart: CusumChart | CusumSpec, p: float) -> float:
    """Exact average run length (items to the first alarm) from S = 0 at a true rate p
    (of a chart, or of the chart of a spec that gives p0)."""
    chart = _chart_of(chart)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p!r}")
    return math.inf if p == 0.0 else _arl(chart.up, chart.down, chart.h, p)


def run_length(chart: CusumChart | CusumSpec, p: float, *, max_items: int = 200_000) -> RunLength:
    """Mean and quantiles of the items to the first alarm, from S = 0, at true rate p.

    From S = 0 is the slowest start (a CUSUM's run length falls as its start rises), so
    after a change mid-stream these are upper bounds on the detection delay, given no
    alarm before the change. Quantiles past `max_items` are reported as `max_items`.
    A spec that gives p0 stands for its chart.
    """
    chart = _chart_of(chart)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p!r}")
    if p == 0.0:  # an all-compliant stream never alarms
        return RunLength(p=p, mean=math.inf, median=max_items, q90=max_items, q99=max_items)
    mean = _arl(chart.up, chart.down, chart.h, p)
    marks = {0.5: 0, 0.9: 0, 0.99: 0}
    for t, alive in enumerate(_survival(chart, p, max_items), start=1):
        for q in marks:
            if marks[q] == 0 and 1.0 - alive >= q:
                marks[q] = t
        if marks[0.99]:
            break
    return RunLength(
        p=p,
        mean=mean,
        median=marks[0.5] or max_items,
        q90=marks[0.9] or max_items,
        q99=marks[0.99] or max_items,
    )


def _survival(chart: CusumChart, p: float, items: int) -> Iterator[float]:
    """P(no alarm in the first t items) from S = 0, for t = 1..items (the Markov chain
    of the grid chart iterated: the distribution over the states 0..h-1 not yet alarmed)."""
    up, down, h = chart.up, chart.down, chart.h
    alive = np.zeros(h)
    alive[0] = 1.0
    for _ in range(items):
        nxt = np.zeros(h)
        nxt[0] += (1.0 - p) * alive[: min(down, h)].sum()
        if h > down:
            nxt[: h - down] += (1.0 - p) * alive[down:]
        if h > up:
            nxt[up:] += p * alive[: h - up]
        alive = nxt
        yield float(alive.sum())


def alarm_probability(chart: CusumChart | CusumSpec, p: float, items: int) -> float:
    """Exact probability of at least one alarm within `items` verdicts from S = 0 at a
    true rate p (the false-alarm probability of a stream of that length when p = p0)."""
    chart = _chart_of(chart)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p!r}")
    if items < 0:
        raise ValueError(f"items must be >= 0; got {items}")
    alive = 1.0
    for survived in _survival(chart, p, items):
        alive = survived
    return 1.0 - alive


def baseline_p0(spec: CusumSpec, k: int, n: int) -> float:
    """The p0 a chart is designed for after a baseline of n verdicts with k non-compliant:
    the one-sided Clopper-Pearson upper bound at `spec.baseline_confidence`, or the
    Jeffreys estimate (k + 0.5) / (n + 1) when that is None."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"a baseline needs 0 <= k <= n and n >= 1; got k={k}, n={n}")
    jeffreys = (k + 0.5) / (n + 1)
    if spec.baseline_confidence is None:
        return jeffreys
    if k == n:
        return max(jeffreys, 1.0 - 0.5 / (n + 1))
    return float(beta_dist.ppf(spec.baseline_confidence, k + 1, n - k))


def start(spec: CusumSpec) -> CusumState:
    """A new stream's state: designed at once when p0 is given, else in baseline."""
    chart = None if spec.p0 is None else _design(spec.p0, spec.shift, 1 / spec.false_alarm_rate)
    return CusumState(spec=spec, chart=chart)


def _as_outcome(x: object) -> int:
    if isinstance(x, bool | np.bool_):
        return int(x)
    if isinstance(x, int | np.integer) and x in (0, 1):
        return int(x)
    raise ValueError(f"a verdict is 0/1 or a bool (1 = not compliant); got {x!r}")


def update(state: CusumState, x: bool | int) -> tuple[CusumState, bool]:
    """Feed one verdict (1 / True = not compliant); returns the new state and whether it
    alarmed. After an alarm the statistic restarts at 0."""
    new, alarms = update_many(state, (x,))
    return new, bool(alarms)


def update_many(state: CusumState, xs: Iterable[bool | int]) -> tuple[CusumState, list[int]]:
    """Feed verdicts in order; returns the new state and the 0-based positions in `xs` of
    the verdicts that raised an alarm."""
    spec, chart = state.spec, state.chart
    bn, bk, s, items, since, alarms = (
        state.baseline_n,
        state.baseline_k,
        state.s,
        state.items,
        state.since_reset,
        state.alarms,
    )
    raised: list[int] = []
    for i, raw in enumerate(xs):
        x = _as_outcome(raw)
        items += 1
        if chart is None:
            bn, bk = bn + 1, bk + x
            if bn >= spec.baseline_items:
                chart = _design(baseline_p0(spec, bk, bn), spec.shift, 1 / spec.false_alarm_rate)
            continue
        since += 1
        s = s + chart.up if x else max(0, s - chart.down)
        if s >= chart.h:
            raised.append(i)
            alarms += 1
            s, since = 0, 0
    new = CusumState(
        spec=spec,
        chart=chart,
        baseline_n=bn,
        baseline_k=bk,
        s=s,
        items=items,
        since_reset=since,
        alarms=alarms,
    )
    return new, raised
