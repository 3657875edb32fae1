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

from routing.governance import alarm_probability, binomial_rate, design, ppi_rate, run_length


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


def baseline_table(baseline: int) -> None:
    print(f"\nFalse alarms within 1000 items when p0 is estimated from {baseline} items\n")
    print("| true p0 | known p0 | estimated p0 (mean over baselines) |")
    print("|---|---|---|")
    for p0 in (0.02, 0.05, 0.1):
        known = alarm_probability(design(p0), p0, 1000)
        ks = np.arange(baseline + 1)
        w = binom.pmf(ks, baseline, p0)
        keep = w > 1e-6
        est = (
            sum(
                wk * alarm_probability(design((k + 0.5) / (baseline + 1)), p0, 1000)
                for k, wk in zip(ks[keep], w[keep], strict=True)
            )
            / w[keep].sum()
        )
        print(f"| {p0} | {known:.2f} | {est:.2f} |")


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
    baseline_table(200)
    baseline_table(1000)
    coverage_table(args.worlds, args.seed)


if __name__ == "__main__":
    main()
