"""The Markdown tables about the jury's fit (`backtest.markdown` writes them): the
dependence correction's cross-validated likelihood, calibration in the large, and EM
convergence per fold."""

from __future__ import annotations

import math
from collections.abc import Sequence

from backtest.results import DatasetResult
from backtest.text import cell, fixed

__all__ = ["cv_table", "em_table", "reliability_table"]


def cv_table(results: Sequence[DatasetResult]) -> list[str]:
    cvs = [(r.dataset, r.jury.dependence_cv) for r in results if r.jury and r.jury.dependence_cv]
    if not cvs:
        return []
    keys = list(cvs[0][1])
    lines = [
        "| dataset | " + " | ".join(f"dependence {k}" for k in keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    wins = dict.fromkeys(keys, 0)
    same = 0
    for name, cv in cvs:
        values = [cv.get(k, -math.inf) for k in keys]
        if max(values) - min(values) < 1e-9:  # no worker shares a group: the same model
            same += 1
            lines.append(f"| {cell(name)} | {' | '.join(fixed(v) for v in values)} |")
            continue
        best = keys[values.index(max(values))]
        wins[best] += 1
        cells = [f"**{fixed(cv[k])}**" if k == best else fixed(cv[k]) for k in keys]
        lines.append(f"| {cell(name)} | {' | '.join(cells)} |")
    lines.append("| best on | " + " | ".join(f"{wins[k]} sets" for k in keys) + " |")
    lines += [
        "",
        f"Identical on {same} sets: no two workers share a judge or family there (one "
        "presentation per judge), so the correction changes nothing. Bold: the best.",
    ]
    return lines


def reliability_table(results: Sequence[DatasetResult]) -> list[str]:
    lines = [
        "| dataset | jury accuracy | mean confidence | ECE (10 bins) | untempered: accuracy, "
        "mean confidence, ECE |",
        "|---|---:|---:|---:|---|",
    ]
    rows = 0
    for r in results:
        rel = r.jury.reliability if r.jury else None
        if rel is None:
            continue
        rows += 1
        lines.append(
            f"| {cell(r.dataset)} | {rel.accuracy:.3f} | {rel.mean_confidence:.3f} | "
            f"**{rel.ece:.3f}** | {rel.plain_accuracy:.3f}, {rel.plain_mean_confidence:.3f}, "
            f"{rel.plain_ece:.3f} |"
        )
    if not rows:
        return []
    return [
        *lines,
        "",
        "Over the items with a human reference, the default row's confidence (the posterior "
        "probability of its verdict, tempered as the service reports it) against the share "
        "of verdicts that match the humans; ECE: the item-weighted mean of |share right - "
        "mean confidence| over 10 equal-width confidence bins (0: a probability). "
        "Untempered: the same fold models at temperature 1 (on ordinal scales their "
        "median verdict moves too).",
    ]


def em_table(results: Sequence[DatasetResult]) -> list[str]:
    lines = [
        "| dataset | EM rounds per fold (default row) | converged | patterns | error model "
        "per fold (held-out label likelihood) | posterior temperature per fold | weighted row: "
        "Dawid-Skene behind its weights converged |",
        "|---|---|---|---:|---|---|---|",
    ]
    for r in results:
        if r.jury is None:
            continue
        rounds = ", ".join(str(f.iterations) for f in r.jury.folds)
        conv = all(f.converged for f in r.jury.folds)
        flag = r.weights_dawid_skene_converged
        flag_text = "no DS weight" if flag is None else ("yes" if flag else "**NO**")
        patterns = max(f.n_patterns for f in r.jury.folds)
        chosen = ", ".join(f.error_model or "shrunk" for f in r.jury.folds)
        taus = ", ".join(f"{f.temperature:.3g}" for f in r.jury.folds)
        lines.append(
            f"| {cell(r.dataset)} | {rounds} | {conv} | {patterns} | {chosen} | {taus} | "
            f"{flag_text} |"
        )
    return lines
