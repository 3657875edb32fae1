"""The `--plot` figures of `quorum backtest`: per dataset, kappa against the human
reference per row, the judge-by-judge kappa heatmap and the routing curve."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backtest.report import MIN_PRINTED_AUTO
from backtest.results import DatasetResult

__all__ = ["plot_paths", "plot_result"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def plot_paths(out: Path, results: Sequence[DatasetResult]) -> list[Path]:
    """OUT itself for one dataset; OUT-<dataset>.png for each of several, the name made
    safe for a file name (`team/set one` -> `team_set_one`) and numbered where two
    datasets would share one (`-2`, `-3`): no figure overwrites another."""
    if len(results) == 1:
        return [out]
    suffix = out.suffix or ".png"
    paths: list[Path] = []
    taken: set[str] = set()
    for r in results:
        stem = f"{out.stem}-{_SAFE.sub('_', r.dataset).strip('.') or 'dataset'}"
        name, n = stem, 1
        while name.lower() in taken:  # case-insensitive file systems too
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.lower())
        paths.append(out.with_name(name + suffix))
    return paths


def plot_result(r: DatasetResult, out: Path) -> None:
    """Kappa vs human per row (bars with 95% CI), the judge-by-judge kappa heatmap, and the
    routing curve (share to humans vs agreement of the auto-decided items)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [row for row in r.rows if row.kappa is not None]
    n_j = len(r.judges)
    fig, (left, right, curve) = plt.subplots(
        1,
        3,
        figsize=(20, max(4.5, 0.3 * len(rows) + 1.5)),
        gridspec_kw={"width_ratios": [1, 1, 0.9]},
    )
    values = [row.kappa.value for row in rows if row.kappa]
    lows = [row.kappa.value - row.kappa.ci_low for row in rows if row.kappa]
    highs = [row.kappa.ci_high - row.kappa.value for row in rows if row.kappa]
    colours = ["tab:blue" if row.kind == "judge" else "tab:orange" for row in rows]
    ypos = np.arange(len(rows))
    left.barh(ypos, values, xerr=[lows, highs], color=colours, capsize=2)
    left.set_yticks(ypos, [row.name for row in rows], fontsize=7)
    left.invert_yaxis()
    left.axvline(0, color="black", linewidth=0.8)
    kind = "quadratic-weighted" if r.kappa_weights == "quadratic" else "Cohen's"
    left.set_xlabel(f"{kind} kappa vs human (95% CI); blue judges, orange panels")
    left.set_title(f"{r.dataset}: agreement with the human reference", fontsize=10)

    if r.judge_kappa is not None:
        grid = r.judge_kappa.values()
        image = right.imshow(grid, vmin=-1, vmax=1, cmap="RdBu")
        right.set_xticks(range(n_j), r.judges, rotation=90, fontsize=6)
        right.set_yticks(range(n_j), r.judges, fontsize=6)
        if n_j <= 12:
            for i in range(n_j):
                for j in range(n_j):
                    if not np.isnan(grid[i, j]):
                        right.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=6)
        fig.colorbar(image, ax=right, shrink=0.8)
        right.set_title(f"judge-by-judge {kind} kappa (reconciled verdicts)", fontsize=10)
    else:
        right.axis("off")
    _plot_routing(curve, r)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def _plot_routing(ax: Any, r: DatasetResult) -> None:
    """Auto-decision agreement vs share to humans per default panel (all referenced items;
    thresholds leaving fewer than MIN_PRINTED_AUTO auto-decided items left out); stars: each
    certified threshold of the first split on its held-out half; dotted: 1 - alpha."""
    if not r.routing:
        ax.axis("off")
        return
    for colour, a in zip(("tab:green", "tab:purple"), r.routing, strict=False):
        points = [p for p in a.curve if p.n_auto >= MIN_PRINTED_AUTO] or a.curve
        xs = [p.to_humans for p in points]
        ys = [p.auto_agreement for p in points]
        ax.plot(xs, ys, marker="o", markersize=3, color=colour, label=f"{a.aggregation} panel")
        stars: dict[tuple[float, float], list[str]] = {}
        for c in a.calibration:
            held = c.split.held_out
            if c.split.calibration.certified and held.n_above:
                stars.setdefault((1 - held.coverage, 1 - held.risk), []).append(f"{c.alpha:g}")
        for (x, y), alphas in stars.items():
            ax.plot([x], [y], marker="*", markersize=12, color=colour, linestyle="none")
            ax.annotate(
                f"alpha {', '.join(alphas)}",
                (x, y),
                textcoords="offset points",
                xytext=(6, -10),
                fontsize=7,
                color=colour,
            )
    for alpha in sorted({c.alpha for a in r.routing for c in a.calibration}):
        ax.axhline(1 - alpha, color="grey", linestyle=":", linewidth=0.8)
        ax.text(1.0, 1 - alpha, f"1 - {alpha:g}", fontsize=7, color="grey", ha="right")
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("share of items sent to humans (confidence below the threshold)")
    ax.set_ylabel("agreement of the auto-decided items with humans")
    ax.set_title("routing curve; stars: certified thresholds on the held-out half", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
