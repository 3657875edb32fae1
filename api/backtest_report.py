"""Reporting for `quorum backtest`: the text table, the JSON file and the plots."""

from __future__ import annotations

import argparse
import math
import shlex
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from api.backtest import DatasetResult, Row
from routing import AgreementEstimate
from rubrics import value_key


class BacktestReport(BaseModel):
    """The `--json` file: when and how the backtest ran, and each dataset's results."""

    model_config = ConfigDict(frozen=True)

    generated: str
    """UTC time of the run, ISO 8601."""
    command: str
    results: tuple[DatasetResult, ...]


def command_line(args: argparse.Namespace) -> str:
    """The `quorum backtest` command that reproduces a run, from its parsed arguments."""
    words = ["quorum", "backtest", *(str(p) for p in args.paths)]
    if args.all_dir:
        words += ["--all", str(args.all_dir)]
    for flag in ("json", "plot"):
        if getattr(args, flag):
            words += [f"--{flag}", str(getattr(args, flag))]
    words += ["--folds", str(args.folds), "--seed", str(args.seed)]
    return shlex.join([*words, "--min-human", str(args.min_human)])


def write_json(results: Sequence[DatasetResult], out: Path, command: str) -> None:
    """Write the machine-readable results (NaN written as null)."""
    report = BacktestReport(
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        command=command,
        results=tuple(results),
    )
    out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def _num(x: float | None, width: int = 6, digits: int = 3) -> str:
    if x is None or math.isnan(x):
        return "–".rjust(width)
    return f"{x:{width}.{digits}f}"


def _estimate(est: AgreementEstimate | None) -> str:
    if est is None:
        return f"{'–':>6}  {'':16}"
    ci = f"[{est.ci_low:.3f}, {est.ci_high:.3f}]" if not math.isnan(est.ci_low) else ""
    return f"{est.value:6.3f}  {ci:16}"


def _row_line(row: Row, width: int) -> str:
    return (
        f"  {row.name:<{width}} {row.n_items:6d}  {_num(row.coverage, 8)}  "
        f"{_num(row.accuracy, 8)}  {_estimate(row.kappa)}  {row.calls_per_item:10.1f}"
    )


def format_result(r: DatasetResult) -> str:
    """The per-dataset table with its footnotes, agreement and position figures."""
    scale = ", ".join(value_key(v) for v in r.scale)
    width = max(24, *(len(row.name) for row in r.rows))
    kappa_kind = "quadratic-weighted" if r.kappa_weights == "quadratic" else "unweighted"
    lines = [
        f"== {r.dataset}: {r.mode.value} [{scale}], {r.label_kind or 'unknown'} labels, "
        f"{len(r.judges)} judges",
        f"   {r.n_items} items; {r.n_referenced} with a human reference, "
        f"{r.n_human_ties} human ties (excluded), {r.n_unlabelled} without human labels",
        "",
        f"  {'':<{width}} {'n':>6}  {'coverage':>8}  {'accuracy':>8}  "
        f"{'kappa':>6}  {'95% CI':<16}  {'calls/item':>10}",
    ]
    judges = [row for row in r.rows if row.kind == "judge"]
    panels = [row for row in r.rows if row.kind == "panel"]
    lines += [_row_line(row, width) for row in judges]
    lines.append("  -- panels of all judges")
    lines += [_row_line(row, width) for row in panels]
    lines.append("")
    covered = "a verdict other than tie" if r.mode.value == "pairwise" else "a verdict"
    notes = [
        f"coverage: share of all items with {covered}.",
        f"accuracy: share of the {r.n_referenced} referenced items whose verdict equals the "
        "human reference (majority of labels; ordinal: median, half rounded up); "
        "no verdict counts as wrong"
        + (
            ", and so does a tie (forced choice: humans never chose tie)."
            if r.forced_choice
            else "."
        ),
        f"kappa: Cohen's kappa ({kappa_kind}) vs the human reference over items with both, "
        "95% Wald CI.",
    ]
    if r.mode.value == "pairwise":
        notes.append(
            "single order: the judge's AB vote alone; both orders: reconciled "
            "(consistent verdict kept, inconsistent -> tie); panels use reconciled verdicts."
        )
    sources = sorted({s for counts in r.weight_sources.values() for s in counts})
    tally = ", ".join(f"{s} {sum(c.get(s, 0) for c in r.weight_sources.values())}" for s in sources)
    notes.append(
        f"weighted: log-odds reliability weights, cross-fitted over {r.folds} folds (seed "
        f"{r.seed}): an item's weights come only from the human labels of the other folds "
        f"(judges with >= {r.min_human} labelled items there), else from Dawid-Skene "
        f"accuracy; judge-fold sources: {tally}."
    )
    if r.dawid_skene_iterations is not None:
        notes.append(
            "dawid-skene: posterior argmax of an unsupervised Dawid-Skene fit to the "
            f"judges' verdicts (no human label used; {r.dawid_skene_iterations} EM "
            f"iterations, {'converged' if r.dawid_skene_converged else 'NOT converged'})"
            + (
                "; with two judges the model is not identifiable, so read it as illustrative."
                if len(r.judges) < 3
                else "."
            )
        )
    lines += [textwrap.fill(n, 100, initial_indent="  * ", subsequent_indent="    ") for n in notes]
    lines.append("")
    if r.fleiss_kappa is not None:
        lines.append(
            f"  Fleiss' kappa {_estimate(r.fleiss_kappa).rstrip()} over "
            f"{r.fleiss_kappa.n_items} items with every judge usable (bootstrap CI)"
        )
    if r.krippendorff_alpha is not None:
        lines.append(
            f"  Krippendorff's alpha ({r.krippendorff_alpha.method.split('[')[-1].rstrip(']')}) "
            f"{_estimate(r.krippendorff_alpha).rstrip()} over {r.krippendorff_alpha.n_items} "
            "items (missing verdicts missing; bootstrap CI)"
        )
    if r.weights is not None:
        weights = ", ".join(
            f"{j} {w:.2f} ({s})"
            for j, w, s in zip(r.weights.judges, r.weights.weights, r.weights.sources, strict=True)
        )
        text = f"weights fitted on all labels (information only): {weights}"
        lines.append(textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="    "))
    if r.position:
        lines += ["", _position_table(r)]
    return "\n".join(lines)


def _position_table(r: DatasetResult) -> str:
    if not any(p.n_comparable for p in r.position):
        unscored = ", ".join(f"{p.judge} {p.n_unusable_votes or 0}" for p in r.position)
        text = (
            "position bias: not measurable, no judge has both orders on any item; "
            f"unscored votes: {unscored}"
        )
        return textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="    ")
    width = max(12, *(len(p.judge) for p in r.position))
    head = (
        f"  {'position bias':<{width}} {'both orders':>11}  {'conflict':>8}  "
        f"{'first won':>9}  {'first-pos rate':>14}  {'95% Wilson CI':<16}  {'unscored':>8}"
    )
    lines = [head]
    for p in r.position:
        ci = f"[{p.ci_low:.3f}, {p.ci_high:.3f}]" if p.ci_low is not None else ""
        directed = p.n_first_won + p.n_second_won
        lines.append(
            f"  {p.judge:<{width}} {p.n_comparable:11d}  {_num(p.inconsistency_rate, 8)}  "
            f"{f'{p.n_first_won}/{directed}':>9}  {_num(p.first_position_rate, 14)}  "
            f"{ci:<16}  {p.n_unusable_votes or 0:8d}"
        )
    note = (
        "conflict: share of items with both orders usable whose verdicts differ; "
        "first-pos rate: among conflicts where one position won in both orders, the share "
        "won by the response shown first (0.5 = no position preference)."
    )
    lines.append(textwrap.fill(note, 100, initial_indent="  * ", subsequent_indent="    "))
    return "\n".join(lines)


def plot_paths(out: Path, results: Sequence[DatasetResult]) -> list[Path]:
    """OUT itself for one dataset; OUT-<dataset>.png for each of several."""
    if len(results) == 1:
        return [out]
    suffix = out.suffix or ".png"
    return [out.with_name(f"{out.stem}-{r.dataset}{suffix}") for r in results]


def plot_result(r: DatasetResult, out: Path) -> None:
    """Kappa vs human per row (bars with 95% CI) and the judge-by-judge kappa heatmap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [row for row in r.rows if row.kappa is not None]
    n_j = len(r.judges)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(14, max(4.5, 0.3 * len(rows) + 1.5)), gridspec_kw={"width_ratios": [1, 1]}
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
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
