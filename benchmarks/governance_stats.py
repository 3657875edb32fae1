"""The figures of docs/statistics.md, "Governance statistics", regenerated.

    .venv/bin/python benchmarks/governance_stats.py [--worlds 2000] [--seed 1]

Prints three markdown tables: the CUSUM's run lengths at the default settings (exact,
Markov chain), the false-alarm probability when p0 is estimated from a baseline (exact,
averaged over the baseline's binomial distribution), and the simulated coverage of the
PPI interval against the judges' Wilson interval with biased judges.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import binom

from routing.governance import (
    CusumSpec,
    alarm_probability,
    average_run_length,
    baseline_p0,
    binomial_rate,
    design,
    ppi_rate,
    run_length,
)


def arl_table(false_alarm_rate: float) -> None:
    print(f"\nCUSUM, shift (odds ratio) 2, false_alarm_rate {false_alarm_rate}, p0 known\n")
    print("| p0 | p1 | h (items) | ARL0 | P(false alarm in 1000) | ARL1 | 90% delay | "
          "delay at OR 4: mean / 90% |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for p0 in (0.01, 0.02, 0.05, 0.1, 0.2):
        chart = design(p0, 2.0, false_alarm_rate)
        p4 = 4 * p0 / (1 - p0) / (1 + 4 * p0 / (1 - p0))
        r1, r4 = run_length(chart, chart.p1), run_length(chart, p4)
        print(
            f"| {p0} | {chart.p1:.4f} | {chart.h_items:.2f} | {chart.arl0:.0f} | "
            f"{alarm_probability(chart, p0, 1000):.2f} | {chart.arl1:.0f} | {r1.q90} | "
            f"{r4.mean:.0f} / {r4.q90} |"
        )


def baseline_table(baseline: int, false_alarm_rate: float) -> None:
    print(
        f"\nEstimated p0 ({baseline} baseline items, false_alarm_rate {false_alarm_rate}), "
        "exact over the baseline's binomial distribution\n"
    )
    print(
        "| true p0 | design | P(ARL0 < target) | P(false alarm in 1000) | "
        "median ARL1 at OR 2 | median delay at OR 4 |"
    )
    print("|---|---|---|---|---|---|")
    target = 1 / false_alarm_rate
    for p0 in (0.02, 0.05, 0.1):
        p1, p4 = (s * p0 / (1 - p0) / (1 + s * p0 / (1 - p0)) for s in (2.0, 4.0))
        known = design(p0, 2.0, false_alarm_rate)
        print(
            f"| {p0} | p0 known | {float(known.arl0 < target):.2f} | "
            f"{alarm_probability(known, p0, 1000):.3f} | {known.arl1:.0f} | "
            f"{average_run_length(known, p4):.0f} |"
        )
        ks = np.arange(baseline + 1)
        w = binom.pmf(ks, baseline, p0)
        keep = w > 1e-5
        ks, w = ks[keep], w[keep] / w[keep].sum()
        for confidence in (None, 0.9):
            spec = CusumSpec(
                baseline_items=baseline,
                false_alarm_rate=false_alarm_rate,
                baseline_confidence=confidence,
            )
            charts = [
                design(baseline_p0(spec, int(k), baseline), 2.0, false_alarm_rate) for k in ks
            ]
            arl0 = np.array([average_run_length(c, p0) for c in charts])
            fa = np.array([alarm_probability(c, p0, 1000) for c in charts])
            arl1 = np.array([average_run_length(c, p1) for c in charts])
            arl4 = np.array([average_run_length(c, p4) for c in charts])
            label = "point estimate" if confidence is None else f"{confidence:.0%} upper bound"
            print(
                f"| {p0} | {label} | {w @ (arl0 < target):.2f} | {w @ fa:.3f} | "
                f"{_wmedian(arl1, w):.0f} | {_wmedian(arl4, w):.0f} |"
            )


def _wmedian(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5)])


def coverage_table(worlds: int, seed: int) -> None:
    print(f"\nCoverage of 95% intervals over {worlds} worlds of N = 2000 items; judges pass")
    print("40% of the non-compliant items and fail 5% of the compliant ones\n")
    print("| true rate | audit rate | ~audited | judges' Wilson | PPI | PPI++ |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(seed)
    n_all = 2000
    for true in (0.8, 0.95):
        for audit in (0.025, 0.05, 0.1, 0.2):
            hits = {"judges": 0, "ppi": 0, "ppi++": 0}
            for _ in range(worlds):
                y = rng.random(n_all) < true
                f = np.where(rng.random(n_all) < np.where(y, 0.05, 0.4), ~y, y)
                a = rng.random(n_all) < audit
                if a.sum() < 2:
                    continue
                judges = binomial_rate(int(f.sum()), n_all)
                hits["judges"] += judges.low <= true <= judges.high
                for name, tuned in (("ppi", False), ("ppi++", True)):
                    got = ppi_rate(f, f[a], y[a], tuned=tuned)
                    hits[name] += got.low <= true <= got.high
            cells = " | ".join(f"{hits[k] / worlds:.3f}" for k in ("judges", "ppi", "ppi++"))
            print(f"| {true} | {audit} | {round(audit * n_all)} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    arl_table(0.001)
    arl_table(0.0001)
    baseline_table(200, 0.0001)
    baseline_table(1000, 0.0001)
    coverage_table(args.worlds, args.seed)


if __name__ == "__main__":
    main()
